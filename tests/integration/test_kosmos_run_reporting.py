"""`kosmos run` on what programs report: malformed statistics and a failed optimizer.

The user's reproductions, end to end in the local sandbox: a run never crashes on what its
program reported and never loses it; a failed optimizer exits 1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.sandbox


def _run(repo: Path, tmp_path: Path, spec: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    path = tmp_path / "experiment.yaml"
    manifest = {
        "apiVersion": "kosmos.dev/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "reported"},
        "spec": spec,
    }
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "kosmos.cli", "run", str(path), "-o", "json"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return done.returncode, json.loads(done.stdout) if done.stdout else {}, done.stderr


@pytest.mark.parametrize(
    ("statistics", "warning"),
    [
        (
            '"nope"',
            "results.statistics was left out of status.statistics: expected a list of "
            "objects with 'test', got 'nope' (str).",
        ),
        (
            '[{"test": "mine", "pValue": "small"}]',
            "statistics[0] was left out of status.statistics: pValue: expected a number, "
            "got 'small' (str).",
        ),
        (
            '[{"pValue": 0.01}]',
            "statistics[0] was left out of status.statistics: test: missing (expected a string).",
        ),
    ],
)
def test_malformed_statistics_keep_the_run_succeeded_with_a_named_warning(
    repo: Path, tmp_path: Path, statistics: str, warning: str
) -> None:
    code, experiment, stderr = _run(
        repo, tmp_path, {"code": f"results = {{'statistics': {statistics}}}\n"}
    )
    assert code == 0, stderr
    status = experiment["status"]
    assert status["phase"] == "Succeeded"
    assert status["execution"]["success"] is True
    assert status["results"] == {"statistics": json.loads(statistics)}
    assert status["statistics"] == []
    assert status["analysis"]["warnings"] == [warning]


def test_an_optimizer_that_does_not_converge_exits_1_failed_as_runtime(
    repo: Path, tmp_path: Path
) -> None:
    spec = {
        "type": "optimization",
        "parameters": {"objective": "9**9**9**9 + x", "variables": {"x": [0, 1]}},
    }
    code, experiment, stderr = _run(repo, tmp_path, spec)
    assert code == 1, stderr
    status = experiment["status"]
    assert status["phase"] == "Failed"
    assert status["execution"]["errorKind"] == "runtime"
    assert status["execution"]["error"].startswith("the optimizer did not converge: ")
    assert status["results"]["success"] is False
    assert status["results"]["optimum"] == {"x": 0.5}
    (warning,) = status["analysis"]["warnings"]
    assert warning.startswith(
        f'The optimizer did not converge: "{status["results"]["message"].strip()}"'
    )
    assert status["analysis"]["interpretation"].startswith("No minimum was found: ")
