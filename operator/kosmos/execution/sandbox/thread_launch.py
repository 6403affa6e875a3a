"""Start bwrap with vfork from a thread prepared as the run's child would be (root, cgroup v1 or none).

Called by ``process.py``. A ``preexec_fn`` makes Python fork the whole calling process, whose
page tables grow with what it has imported (2 ms here for 32 MiB, 5 ms with pandas and scipy
loaded). Linux keeps the mount namespace, the cgroup (v1) and the credentials per thread, so a
fresh thread can take the child's place before the spawn and let ``subprocess`` use vfork:

1. ``unshare(CLONE_FS)`` (the thread's own cwd), ``fchdir`` to the hidden interpreter's fd,
   ``unshare(CLONE_NEWNS)``, make every mount private, bind the interpreter from the cwd,
   mount the run's tmpfs and open an fd of it;
2. join the run's cgroups by writing "0" to their ``tasks`` files (only this thread moves, so
   the kernel takes no global lock), and drop this thread's groups, gid and uid with raw
   syscalls (glibc's wrappers would change every thread), keeping the saved ids at 0;
3. spawn bwrap: the vfork child inherits all three, and ``execve`` sets the saved ids to the
   run's uid and gid, so bwrap and everything under it hold no privilege;
4. restore the thread's ids, leave the cgroups, and wait until the run is over: bwrap's
   ``--die-with-parent`` watches the thread that spawned it, so the thread outlives the run.

Non-root runs (which need a user namespace, refused to threads of a multithreaded process)
and cgroup v2 (which moves only whole processes into a domain cgroup) keep the forked child.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kosmos.execution.sandbox.mounts import check, libc, mount_run, write

if TYPE_CHECKING:
    from kosmos.execution.sandbox.process import ChildSetup

__all__ = ["ThreadLaunch", "supported"]

_CLONE_FS, _CLONE_NEWNS = 0x00000200, 0x00020000
_PR_GET_DUMPABLE, _PR_SET_DUMPABLE = 3, 4
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
# (setgroups, setresuid, setresgid) by machine; elsewhere the forked child is used.
_SYSCALLS = {"x86_64": (116, 117, 119), "aarch64": (159, 147, 149)}
log = logging.getLogger(__name__)
_libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def supported() -> bool:
    """Whether this machine's syscall numbers are known (the caller also needs root)."""
    return platform.machine() in _SYSCALLS


class _ThreadIds:
    """This thread's groups, gid and uid, changed and restored without touching other threads.

    A change of ids makes the whole process undumpable; the last thread to restore its ids
    sets the flag back to what it was before the first one dropped them.
    """

    _lock = threading.Lock()
    _dropped = 0
    _dumpable = 1

    def __init__(self) -> None:
        self.setgroups, self.setresuid, self.setresgid = _SYSCALLS[platform.machine()]
        self.groups = os.getgroups()

    def _groups(self, groups: Sequence[int]) -> None:
        array = (ctypes.c_uint * max(1, len(groups)))(*groups)
        check(int(libc.syscall(self.setgroups, len(groups), array)), "setgroups")

    def drop(self, uid: int, gid: int) -> None:
        with _ThreadIds._lock:
            if _ThreadIds._dropped == 0:
                _ThreadIds._dumpable = libc.prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0)
            _ThreadIds._dropped += 1
        libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
        self._groups([])
        check(int(libc.syscall(self.setresgid, gid, gid, 0)), "setresgid")
        check(int(libc.syscall(self.setresuid, uid, uid, 0)), "setresuid")

    def restore(self) -> None:
        try:
            check(int(libc.syscall(self.setresuid, 0, 0, 0)), "restore setresuid")
            check(int(libc.syscall(self.setresgid, 0, 0, 0)), "restore setresgid")
            self._groups(self.groups)
        finally:
            with _ThreadIds._lock:
                _ThreadIds._dropped -= 1
                if _ThreadIds._dropped == 0 and _ThreadIds._dumpable == 1:
                    libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)


class ThreadLaunch:
    """One run's launch thread: :meth:`start` returns (process, workspace fd); :meth:`finish` ends it.

    ``setup`` is the run's :class:`~kosmos.execution.sandbox.process.ChildSetup`; ``leave``
    are the ``tasks`` files of the caller's own cgroups, written when the spawn is done.
    """

    def __init__(self, setup: ChildSetup, *, leave: Sequence[str]) -> None:
        self.setup = setup
        self.leave = list(leave)
        self._ready = threading.Event()
        self._done = threading.Event()
        self._outcome: tuple[subprocess.Popen[bytes], int] | BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="kosmos-sandbox-launch", daemon=True)

    def start(self, spawn: Callable[[], subprocess.Popen[bytes]]) -> tuple[subprocess.Popen[bytes], int]:
        """Prepare the thread, run ``spawn`` in it, and return its process and the workspace fd."""
        self._spawn = spawn
        self._thread.start()
        try:
            self._ready.wait()
        except BaseException:  # interrupted (SIGINT, SIGTERM): nothing it starts may run unsupervised
            self._ready.wait()
            if isinstance(self._outcome, tuple):
                proc, ws = self._outcome
                proc.kill()
                proc.wait()
                os.close(ws)
            self.finish()
            raise
        outcome = self._outcome
        if isinstance(outcome, BaseException):
            self.finish()
            raise outcome
        assert outcome is not None
        return outcome

    def finish(self) -> None:
        """Let the thread end (after the run: its end would kill bwrap) and wait for it."""
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _main(self) -> None:
        try:
            ws = self._prepare()
            try:
                self._outcome = (self._spawn_as_run(), ws)
            except BaseException:
                os.close(ws)
                raise
        except BaseException as exc:  # handed to the caller, raised there
            self._outcome = exc
        finally:
            self._ready.set()
        self._done.wait()

    def _prepare(self) -> int:
        setup = self.setup
        check(libc.unshare(_CLONE_FS), "unshare(fs)")  # from here on cwd is this thread's own
        if setup.stage_fd is not None:
            os.fchdir(setup.stage_fd)  # unshare(CLONE_NEWNS) carries the cwd into the new namespace
        check(libc.unshare(_CLONE_NEWNS), "unshare(mount)")
        return mount_run(setup)

    def _spawn_as_run(self) -> subprocess.Popen[bytes]:
        setup = self.setup
        ids = _ThreadIds()
        proc: subprocess.Popen[bytes] | None = None
        dropped = False
        try:
            for path in setup.cgroup_procs:
                write(path, "0")
            dropped = True
            ids.drop(setup.uid, setup.gid)
            proc = self._spawn()
            return proc
        finally:
            try:
                if dropped:
                    ids.restore()
            except OSError:
                if proc is not None:  # a thread that cannot get its ids back ends the run
                    proc.kill()
                    proc.wait()
                raise
            for path in self.leave if setup.cgroup_procs else ():
                try:
                    write(path, "0")
                except OSError as exc:  # the thread leaves the group when it ends, before its removal
                    log.warning("The launch thread could not leave the run's cgroup through %s: %s", path, exc)
