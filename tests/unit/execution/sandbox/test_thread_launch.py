"""The launch thread starts a run as a forked child would, and leaves the calling process as it was."""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from kosmos.api.errors import ErrorKind
from kosmos.execution.result import ExecutionResult
from kosmos.execution.sandbox import (
    LocalSandbox,
    SandboxSettings,
    SandboxUnavailableError,
    cgroups,
    thread_launch,
)
from kosmos.execution.sandbox.base import ResourceLimits, RunRequest

pytestmark = pytest.mark.sandbox

V1_MEMORY = Path("/sys/fs/cgroup/memory")
UID_RANGE = (1_600_000_000, 4096)
_RUN_PARENT = Path(cgroups.v1_parent("memory"))
PROGRAM = """
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
ballast = bytearray(48 << 20)
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
results = {key: status[key].split() for key in ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapAmb")}
"""


def _needs_root_and_v1() -> None:
    if os.geteuid() != 0:
        pytest.skip("the launch thread is the root path; this test runs as uid %d" % os.geteuid())
    if not os.access(V1_MEMORY / "cgroup.procs", os.W_OK):
        pytest.skip(f"needs a writable cgroup v1 memory hierarchy at {V1_MEMORY}")
    if not thread_launch.supported():
        pytest.skip("no known setresuid/setgroups syscall numbers for this machine")


def _sandbox(**settings: Any) -> LocalSandbox:
    try:
        return LocalSandbox(SandboxSettings(uid_range=UID_RANGE, **settings))
    except SandboxUnavailableError as exc:
        pytest.skip(f"no bubblewrap sandbox on this machine: {exc}")


def _thread_state(tid: int | None = None) -> dict[str, Any]:
    """What a launch thread changes for a while: ids, groups, cgroups, cwd, mount namespace."""
    task = f"/proc/self/task/{tid}" if tid else "/proc/thread-self"
    status = dict(line.split(":", 1) for line in Path(f"{task}/status").read_text().splitlines())
    return {
        "ids": [status[key].split() for key in ("Uid", "Gid", "Groups")],
        "cgroup": Path(f"{task}/cgroup").read_text(),
        "cwd": os.readlink(f"{task}/cwd"),
        "mnt": os.readlink(f"{task}/ns/mnt"),
    }


def _dumpable() -> int:
    return ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE


def _subreaper() -> int:
    flag = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(37, ctypes.byref(flag), 0, 0, 0)  # PR_GET_CHILD_SUBREAPER
    return flag.value


def _run_from_worker(box: LocalSandbox, request: RunRequest,
                     watch: list[tuple[set[int], set[int]]] | None = None) -> tuple[ExecutionResult, dict[str, Any], dict[str, Any]]:
    """Run in a worker thread; return the result and the worker's state before and after.

    ``watch`` collects samples of the tasks in the run's memory cgroup while it runs: (the
    run's own, threads of this process).
    """
    seen: dict[str, Any] = {}
    existing = set(_RUN_PARENT.glob("run-*"))

    def work() -> None:
        seen["before"] = _thread_state()
        seen["result"] = box.run(request)
        seen["after"] = _thread_state()

    worker = threading.Thread(target=work)
    worker.start()
    while watch is not None and worker.is_alive():
        for group in set(_RUN_PARENT.glob("run-*")) - existing:
            with contextlib.suppress(OSError):
                own = {int(tid) for tid in os.listdir("/proc/self/task")}
                tids = {int(tid) for tid in (group / "tasks").read_text().split()}
                if tids:
                    watch.append((tids - own, tids & own))
    worker.join(timeout=120)
    return seen["result"], seen["before"], seen["after"]


def _assert_unprivileged(output: dict[str, list[str]], first_uid: int) -> None:
    uid, gid = output["Uid"], output["Gid"]
    assert len(set(uid)) == 1 and len(set(gid)) == 1, output  # real, effective, saved, fs alike
    assert first_uid <= int(uid[0]) < first_uid + UID_RANGE[1]
    assert output["Groups"] == []
    for key in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(output[key][0], 16) == 0, (key, output[key])


def test_a_root_run_is_started_by_a_launch_thread_in_its_cgroup_and_the_caller_is_left_as_it_was() -> None:
    _needs_root_and_v1()
    box = _sandbox()
    main_before, dumpable_before = _thread_state(threading.main_thread().native_id), _dumpable()
    subreaper_before = _subreaper()

    samples: list[tuple[set[int], set[int]]] = []
    request = RunRequest(code=PROGRAM + "import time\ntime.sleep(0.5)\n", limits=ResourceLimits(timeout_seconds=60))
    result, before, after = _run_from_worker(box, request, watch=samples)

    assert result.success, result.error
    assert result.measurement["launch"] == "a launch thread set up the run and started bwrap with vfork"
    # the launch thread is in the group only while it spawns: once it has left, no thread of ours comes back
    left = next((i for i, (_run, ours) in enumerate(samples) if not ours), None)
    assert left is not None, f"a thread of this process stayed in the run's group: {samples[-1]}"
    assert all(not ours for _run, ours in samples[left:])
    assert all(run for run, _ours in samples[left:]) and len(samples) - left > 10
    _assert_unprivileged(result.output, UID_RANGE[0])
    assert result.measurement["peak_memory_mb"].startswith("cgroup v1")
    assert result.peak_memory_mb >= 48  # the program's pages were charged to the run's memory cgroup
    assert after == before
    assert _thread_state(threading.main_thread().native_id) == main_before
    assert _dumpable() == dumpable_before == 1
    assert _subreaper() == subreaper_before == 0  # only while runs are supervised


def test_a_forked_launch_gives_the_program_the_same_view() -> None:
    _needs_root_and_v1()
    result = _sandbox(launch="fork").run(RunRequest(code=PROGRAM, limits=ResourceLimits(timeout_seconds=60)))

    assert result.success, result.error
    assert result.measurement["launch"] == "a forked child set up the run and exec'd bwrap (preexec_fn)"
    _assert_unprivileged(result.output, UID_RANGE[0])
    assert result.peak_memory_mb >= 48


def test_a_spawn_that_fails_in_the_launch_thread_is_an_infrastructure_error_and_undoes_the_thread() -> None:
    _needs_root_and_v1()
    box = _sandbox()
    box.toolchain = dataclasses.replace(box.toolchain, bwrap="/nonexistent/kosmos-bwrap")
    groups_before = sorted(p.name for p in _RUN_PARENT.glob("run-*"))

    result, before, after = _run_from_worker(box, RunRequest(code="results = {}", limits=ResourceLimits()))

    assert result.error_kind is ErrorKind.INFRASTRUCTURE
    assert result.error.startswith("could not start the sandbox: FileNotFoundError")
    assert "/nonexistent/kosmos-bwrap" in result.error
    assert after == before
    assert sorted(p.name for p in _RUN_PARENT.glob("run-*")) == groups_before
    assert result.to_status().error_kind == "infrastructure"  # a failed run still reports its status


def test_an_interrupted_start_kills_what_the_thread_spawned_and_ends_the_thread(monkeypatch) -> None:
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import time  # noqa: PLC0415

    spawned: list[subprocess.Popen[bytes]] = []

    def slow_spawn(self: thread_launch.ThreadLaunch) -> subprocess.Popen[bytes]:
        time.sleep(0.3)  # the interrupt arrives while the caller waits for this
        spawned.append(subprocess.Popen(["/bin/sleep", "30"]))
        return spawned[-1]

    monkeypatch.setattr(thread_launch.ThreadLaunch, "_prepare", lambda self: os.open("/", os.O_PATH))
    monkeypatch.setattr(thread_launch.ThreadLaunch, "_spawn_as_run", slow_spawn)
    launch = thread_launch.ThreadLaunch(None, leave=())  # type: ignore[arg-type]

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    try:
        with pytest.raises(KeyboardInterrupt):
            launch.start(lambda: None)  # type: ignore[arg-type, return-value]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert spawned[0].returncode == -signal.SIGKILL
    assert not launch._thread.is_alive()  # noqa: SLF001
