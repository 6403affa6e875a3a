"""The package's layers point one way and its pure layers do no I/O (import-linter contracts).

The contracts live in pyproject.toml ([tool.importlinter]); this runs them as CI would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_linter_keeps_every_contract_of_pyproject() -> None:
    command = shutil.which("lint-imports")
    assert command, "lint-imports comes with the test extra (import-linter)"
    env = {**os.environ, "PYTHONPATH": str(REPO / "operator")}
    done = subprocess.run([command, "--no-cache"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Layers point one way KEPT" in done.stdout
    assert "Pure layers do no I/O with the cluster or processes KEPT" in done.stdout
    assert "0 broken" in done.stdout
