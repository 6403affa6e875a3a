"""Spawn bwrap for one run and supervise it: deadline, process-tree kill, output caps, rusage.

Called by ``local.py``. Before bwrap runs, the run joins its cgroup, enters a private mount
namespace (plus a user namespace when not root), bind-mounts the directories the sandbox uid
cannot reach from an fd opened earlier, mounts the run's tmpfs (size and inode capped), hands
an fd of that tmpfs to the supervisor, and drops to the run's uid. As root with cgroup v1 (or
none) a launch thread does this and bwrap starts with vfork (``thread_launch.py``); otherwise a
forked child does it in a ``preexec_fn``. Killing bwrap's child (pid 1 of the run's pid
namespace) kills every process of the run.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import selectors
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kosmos.execution.sandbox.mounts import check, libc, mount_run, write
from kosmos.execution.sandbox.thread_launch import ThreadLaunch

__all__ = ["ChildSetup", "ProcessOutcome", "SpawnError", "run_supervised"]

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER, _PR_GET_CHILD_SUBREAPER = 36, 37


class SpawnError(RuntimeError):
    """The sandbox could not be set up (an infrastructure failure, not the program's)."""


@dataclass(frozen=True)
class ChildSetup:
    """What the child does between fork and exec (see the module docstring)."""

    uid: int
    gid: int
    as_root: bool
    cgroup_procs: Sequence[str]
    stage_fd: int | None
    stage_target: str
    workspace_target: str
    workspace_bytes: int
    workspace_inodes: int
    thread_launch: bool = False  # root, cgroup v1 or none: see thread_launch.py
    cgroup_leave: Sequence[str] = ()  # the caller's own cgroup files, for the launch thread


@dataclass
class ProcessOutcome:
    """What supervision observed; the caller turns it into an ExecutionResult."""

    wait_status: int = 0
    stdout: bytes = b""
    stderr: bytes = b""
    output_bytes: int = 0
    truncated: bool = False
    timed_out: bool = False
    output_limited: bool = False
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    maxrss_kib: int = 0
    child_pid: int | None = None
    gone_after_deadline: float | None = None
    workspace_fd: int | None = None
    info: dict[str, int] = field(default_factory=dict)
    usage: tuple[float, int] | None = None
    launch: str = ""

    @property
    def exit_code(self) -> int | None:
        return os.waitstatus_to_exitcode(self.wait_status)


def _child(setup: ChildSetup, sock: socket.socket) -> Callable[[], None]:
    def run() -> None:
        try:
            libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
            for path in setup.cgroup_procs:
                write(path, "0")
            if setup.stage_fd is not None:
                os.fchdir(setup.stage_fd)  # unshare() carries the cwd into the new namespace
            if setup.as_root:
                check(libc.unshare(_CLONE_NEWNS), "unshare(mount)")
            else:
                uid, gid = os.getuid(), os.getgid()
                check(libc.unshare(_CLONE_NEWNS | _CLONE_NEWUSER), "unshare(user, mount)")
                write("/proc/self/setgroups", "deny")
                write("/proc/self/uid_map", f"{uid} {uid} 1")
                write("/proc/self/gid_map", f"{gid} {gid} 1")
            ws = mount_run(setup)
            socket.send_fds(sock, [b"ok"], [ws])
            os.close(ws)
            if setup.as_root:
                os.setgroups([])
                os.setresgid(setup.gid, setup.gid, setup.gid)
                os.setresuid(setup.uid, setup.uid, setup.uid)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                sock.send(f"error: {exc}".encode()[:4000])
            raise
        finally:
            sock.close()

    return run


class _Subreaper:
    """Adopt orphaned descendants while runs are supervised, and only then.

    bwrap's outer process exits without reaping the run's pid 1, which would otherwise linger as
    a zombie of the host's init; we reap it ourselves. With no run going the flag goes back to
    what it was, so a long-lived caller does not inherit the orphans of its own children.
    """

    _lock = threading.Lock()
    _users = 0
    _before = ctypes.c_int(0)

    def __enter__(self) -> None:
        with self._lock:
            if _Subreaper._users == 0:
                libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(_Subreaper._before), 0, 0, 0)
                libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
            _Subreaper._users += 1

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            _Subreaper._users -= 1
            if _Subreaper._users == 0:
                libc.prctl(_PR_SET_CHILD_SUBREAPER, _Subreaper._before.value, 0, 0, 0)


def _reap(pid: int | None, timeout: float = 10.0) -> tuple[float, int]:
    """Wait until ``pid`` (pid 1 of the run's namespace) is reaped: then every process of the run is gone."""
    if pid is None:
        return 0.0, 0
    pidfd = None
    try:
        while True:
            try:
                done, _status, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                return 0.0, 0  # reaped by bwrap itself, or not ours
            if done:
                return usage.ru_utime + usage.ru_stime, usage.ru_maxrss
            if pidfd is None:
                try:
                    pidfd = os.pidfd_open(pid)  # a child we have not reaped: its pid is not reused
                except ProcessLookupError:
                    continue
            elif not select.select([pidfd], [], [], timeout)[0]:
                return 0.0, 0
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _usage(reported: bytes, *, wall: float) -> tuple[float, int] | None:
    """The runner's "CPU_SECONDS RSS_KIB" report, or None when it is not one a run could make
    (the program shares the runner's process and can write to the fd as well)."""
    try:
        cpu_text, rss_text = reported.decode("ascii").split()
        cpu, rss = float(cpu_text), int(rss_text)
    except (UnicodeDecodeError, ValueError):
        return None
    if not (0 <= cpu <= wall * (os.cpu_count() or 1) + 1) or not 0 <= rss < 1 << 40:  # nan fails too
        return None
    return cpu, rss


def _kill_tree(proc: subprocess.Popen[bytes], child_pid: int | None, extra: Callable[[], None] | None) -> None:
    for pid in (child_pid, proc.pid):
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    if extra is not None:
        extra()


def run_supervised(argv: Sequence[str], *, executable: str, setup: ChildSetup, info_pipe: tuple[int, int],
                   usage_pipe: tuple[int, int],
                   timeout_seconds: float, max_output_bytes: int,
                   kill_extra: Callable[[], None] | None = None, extra_fds: tuple[int, ...] = ()) -> ProcessOutcome:
    """Run bwrap and supervise it until every process of the run is gone (``extra_fds``: also bwrap's)."""
    with _Subreaper():
        return _run_supervised(argv, executable=executable, setup=setup, info_pipe=info_pipe,
                               usage_pipe=usage_pipe, timeout_seconds=timeout_seconds,
                               max_output_bytes=max_output_bytes, kill_extra=kill_extra, extra_fds=extra_fds)


def _run_supervised(argv: Sequence[str], *, executable: str, setup: ChildSetup, info_pipe: tuple[int, int],
                    usage_pipe: tuple[int, int], timeout_seconds: float, max_output_bytes: int,
                    kill_extra: Callable[[], None] | None, extra_fds: tuple[int, ...]) -> ProcessOutcome:
    outcome = ProcessOutcome()
    info_r, info_w = info_pipe
    usage_r, usage_w = usage_pipe
    started = time.monotonic()
    launch = ThreadLaunch(setup, leave=setup.cgroup_leave) if setup.thread_launch else None
    try:
        if launch is not None:
            proc, outcome.workspace_fd = _start_in_thread(launch, argv, executable, (info_w, usage_w, *extra_fds))
            outcome.launch = "a launch thread set up the run and started bwrap with vfork"
        else:
            proc, outcome.workspace_fd = _start_forked(argv, executable, setup, (info_w, usage_w, *extra_fds))
            outcome.launch = "a forked child set up the run and exec'd bwrap (preexec_fn)"
    except SpawnError:
        os.close(info_r)
        os.close(usage_r)
        raise
    finally:
        os.close(info_w)
        os.close(usage_w)
    try:
        return _supervise(proc, outcome, started=started, info_r=info_r, usage_r=usage_r,
                          timeout_seconds=timeout_seconds, max_output_bytes=max_output_bytes,
                          kill_extra=kill_extra)
    finally:
        if launch is not None:
            launch.finish()


def _start_in_thread(launch: ThreadLaunch, argv: Sequence[str], executable: str,
                     pass_fds: tuple[int, ...]) -> tuple[subprocess.Popen[bytes], int]:
    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(list(argv), executable=executable, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={}, pass_fds=pass_fds,
                                start_new_session=True)
    try:
        return launch.start(spawn)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SpawnError(f"could not start the sandbox: {type(exc).__name__}: {exc}") from exc


def _start_forked(argv: Sequence[str], executable: str, setup: ChildSetup,
                  pass_fds: tuple[int, ...]) -> tuple[subprocess.Popen[bytes], int | None]:
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        proc = subprocess.Popen(  # noqa: PLW1509 - preexec_fn is the only pre-exec hook we have
            list(argv), executable=executable, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env={}, pass_fds=pass_fds, start_new_session=True,
            preexec_fn=_child(setup, child_sock),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        parent_sock.setblocking(False)
        said = []  # the child says "ok" before it drops privileges; a later failure is in exc
        with contextlib.suppress(OSError):
            while True:
                said.append(parent_sock.recv(4096).decode(errors="replace"))
        errors = [text for text in said if text.startswith("error")]
        detail = errors[-1] if errors else f"{type(exc).__name__}: {exc}"
        parent_sock.close()
        raise SpawnError(f"could not start the sandbox: {detail}") from exc
    finally:
        child_sock.close()
    try:
        parent_sock.settimeout(5.0)
        _msg, fds, _flags, _addr = socket.recv_fds(parent_sock, 16, 1)
        return proc, (fds[0] if fds else None)
    except OSError:
        return proc, None
    finally:
        parent_sock.close()


def _supervise(proc: subprocess.Popen[bytes], outcome: ProcessOutcome, *, started: float, info_r: int,
               usage_r: int, timeout_seconds: float, max_output_bytes: int,
               kill_extra: Callable[[], None] | None) -> ProcessOutcome:
    deadline = started + timeout_seconds
    pidfd = os.pidfd_open(proc.pid)
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    buffers: dict[int, bytearray] = {out_fd: bytearray(), err_fd: bytearray()}
    info = bytearray()
    reported = bytearray()
    for fd in (*buffers, info_r, usage_r):
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    sel.register(pidfd, selectors.EVENT_READ)
    exited = False
    killed_at: float | None = None
    try:
        while len(sel.get_map()) > 0:
            now = time.monotonic()
            if killed_at is None and now >= deadline:
                outcome.timed_out = True
                killed_at = now
                _kill_tree(proc, outcome.child_pid, kill_extra)
            if killed_at is not None and now - killed_at > 10:
                break  # the kernel owes us EOF; do not hang the caller forever
            wait = None if killed_at is not None else max(0.0, deadline - now)
            if killed_at is not None:
                wait = 0.5
            for key, _ in sel.select(wait):
                fd = key.fd  # type: ignore[assignment]
                if fd == pidfd:
                    sel.unregister(pidfd)
                    exited = True
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(fd)
                    continue
                if fd == usage_r:
                    reported += chunk[: max(0, 201 - len(reported))]  # the program can write here too
                    continue
                if fd == info_r:
                    info += chunk
                    with contextlib.suppress(ValueError):
                        outcome.info = json.loads(info.decode())
                        outcome.child_pid = outcome.info.get("child-pid")
                    continue
                outcome.output_bytes += len(chunk)
                room = max_output_bytes - sum(len(b) for b in buffers.values())
                buffers[fd] += chunk[: max(0, room)]
                if outcome.output_bytes > max_output_bytes and killed_at is None:
                    outcome.truncated = outcome.output_limited = True
                    killed_at = time.monotonic()
                    _kill_tree(proc, outcome.child_pid, kill_extra)
            if exited and killed_at is None and len(sel.get_map()) == 0:
                break
    finally:
        sel.close()
        os.close(pidfd)
        os.close(info_r)
        os.close(usage_r)
        if not exited:
            _kill_tree(proc, outcome.child_pid, kill_extra)
        _pid, status, usage = os.wait4(proc.pid, 0)
        inner_cpu, inner_rss = _reap(outcome.child_pid)
        ended = time.monotonic()
        proc.returncode = os.waitstatus_to_exitcode(status)
        for stream in (proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()
    outcome.wait_status = status
    outcome.wall_seconds = ended - started
    outcome.cpu_seconds = usage.ru_utime + usage.ru_stime + inner_cpu
    outcome.maxrss_kib = max(usage.ru_maxrss, inner_rss)
    if killed_at is not None:
        outcome.gone_after_deadline = ended - deadline if outcome.timed_out else None
    outcome.usage = _usage(bytes(reported), wall=outcome.wall_seconds)
    outcome.stdout, outcome.stderr = bytes(buffers[out_fd]), bytes(buffers[err_fd])
    return outcome

