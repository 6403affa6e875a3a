"""The mounts every run's setup makes in its private mount namespace, and the syscall helpers.

Called by ``process.py`` (in a forked child) and ``thread_launch.py`` (in a launch thread),
after the mount namespace is unshared with the cwd at the hidden interpreter's fd.
"""

from __future__ import annotations

import ctypes
import os
from typing import Protocol

__all__ = ["check", "libc", "mount_run", "write"]

_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
libc = ctypes.CDLL(None, use_errno=True)


class _Setup(Protocol):
    uid: int
    gid: int
    stage_fd: int | None
    stage_target: str
    workspace_target: str
    workspace_bytes: int
    workspace_inodes: int


def check(result: int, what: str) -> None:
    """Raise OSError with ``what`` when a libc call returned non-zero."""
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def write(path: str, text: str) -> None:
    """One write(2) to a kernel file (cgroup, /proc), unbuffered."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def mount_run(setup: _Setup) -> int:
    """Make every mount private, bind the interpreter from the cwd, mount the run's tmpfs.

    Returns an O_PATH fd of the tmpfs (its ``workspace`` and ``tmp`` owned by the run's uid):
    the supervisor reads the results through it after the namespace is gone.
    """
    check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
    if setup.stage_fd is not None:
        check(libc.mount(b".", setup.stage_target.encode(), None, _MS_BIND | _MS_REC, None),
              "bind the interpreter")
    os.chdir("/")
    opts = (f"size={setup.workspace_bytes},nr_inodes={setup.workspace_inodes},mode=0700,"
            f"uid={setup.uid},gid={setup.gid}")
    check(libc.mount(b"tmpfs", setup.workspace_target.encode(), b"tmpfs",
                     _MS_NOSUID | _MS_NODEV, opts.encode()), "mount the workspace tmpfs")
    for name in ("workspace", "tmp"):
        path = os.path.join(setup.workspace_target, name)
        os.mkdir(path, 0o700)
        os.chown(path, setup.uid, setup.gid)
    return os.open(setup.workspace_target, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
