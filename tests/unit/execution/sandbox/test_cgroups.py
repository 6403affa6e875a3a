"""Run cgroups left behind by a killed supervisor are swept by the next process."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from kosmos.execution.sandbox import cgroups

PARENT = Path("/sys/fs/cgroup/memory/kosmos")


@pytest.mark.skipif(not os.access(PARENT, os.W_OK), reason=f"needs a writable cgroup v1 memory hierarchy at {PARENT}")
def test_an_empty_stale_run_group_is_removed_and_a_busy_one_is_kept(monkeypatch) -> None:
    monkeypatch.setattr(cgroups, "_STALE_SECONDS", -1.0)
    monkeypatch.setattr(cgroups, "_swept", set())
    stale = PARENT / f"run-{uuid.uuid4().hex[:12]}"
    busy = PARENT / f"run-{uuid.uuid4().hex[:12]}"
    other = PARENT / f"keep-{uuid.uuid4().hex[:8]}"
    for group in (stale, busy, other):
        group.mkdir()
    pid = os.fork()
    if pid == 0:  # a process that lives in the busy group until it is killed
        (busy / "cgroup.procs").write_text("0")
        os.execv("/bin/sleep", ["sleep", "30"])
    try:
        while not (busy / "cgroup.procs").read_text().strip():
            os.sched_yield()
        assert cgroups.sweep_stale(str(PARENT)) >= 1
        assert not stale.exists()
        assert busy.exists()
        assert other.exists()
        assert cgroups.sweep_stale(str(PARENT)) == 0  # once per parent and process
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        for group in (busy, other):
            group.rmdir()
