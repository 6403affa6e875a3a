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


TCP_BUFFERS = """
import socket
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(100)
pairs, total = [], 0
for _ in range(40):
    client = socket.create_connection(server.getsockname())
    peer, _addr = server.accept()
    client.setblocking(False)
    try:
        while True:
            total += client.send(b"t" * 65536)
    except (BlockingIOError, OSError):
        pass
    pairs.append((client, peer))
results = {"mib_in_flight": total >> 20}
"""


@pytest.mark.sandbox
@pytest.mark.skipif(os.geteuid() != 0 or not os.access(PARENT.parent / "cgroup.procs", os.W_OK),
                    reason="needs root and a writable cgroup v1 memory hierarchy")
def test_socket_buffers_of_a_run_are_charged_to_its_memory_group() -> None:
    from kosmos.execution.executor import Executor  # noqa: PLC0415

    result = Executor(resource_limits={"timeout_seconds": 30, "memory_mb": 64}).execute(TCP_BUFFERS)
    assert result.success, result.error
    assert result.output["mib_in_flight"] <= 64  # 149 MiB before memory.kmem.tcp.limit_in_bytes was set
