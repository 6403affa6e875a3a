"""The red team again, from a process running as uid 65534 that cannot reach the interpreter.

Proves the unprivileged path: a user namespace of the caller's uid, the interpreter bound from
a directory fd opened before the privilege drop, RLIMIT_AS and RLIMIT_NPROC (counted in the
run's user namespace) in place of cgroups.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from redteam_cases import CASES

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, pytest.mark.usefixtures("sandbox_available")]

GONE_MARGIN_SECONDS = 1.5
_HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def replay() -> dict[str, dict]:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to uid 65534 (the suite already runs unprivileged otherwise)")
    env = {"PYTHONPATH": str(_HERE.parent.parent / "operator"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, str(_HERE / "unprivileged_replay.py"), str(os.getpid())],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {row["id"]: row for row in map(json.loads, proc.stdout.splitlines())}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_program_as_unprivileged_user_ends_in_its_one_error_kind(case, replay) -> None:
    row = replay[case.id]
    assert row["kind"] == case.kind, f"{case.id}: {row['error']}\n{row['traceback']}"
    assert row["leftover"] == [], f"{case.id}: processes of uid 65534 left: {row['leftover']}"
    assert "65534 (caller)" in row["measurement"]["isolation"]
    if case.kind == "timeout":
        assert row["execution_time"] <= case.resource_limits()["timeout_seconds"] + GONE_MARGIN_SECONDS
    if case.kind == "memory":
        assert "memory" in row["error"]
        assert row["measurement"]["memory_limit"].startswith("RLIMIT_AS per process (no writable cgroup): ")
    if case.error_contains:
        assert case.error_contains in (row["error"] or "") + (row["traceback"] or "")
    if case.expect_results is not None:
        for key, value in case.expect_results.items():
            assert row["output"][key] == value
