"""Per-run uids for root: a fresh unprivileged host uid per concurrent run, held by a lock file.

Called by ``local.py`` when Kosmos runs as root, so runs cannot signal or ptrace each other and
RLIMIT_NPROC counts one run only. The lock (flock) is released when the run ends or the
process dies, so a crashed host never leaks a uid; a lease that ends removes its lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
from collections.abc import Iterator

__all__ = ["lease_uid"]

_LOCK_DIR = "/run/kosmos-uids"


@contextlib.contextmanager
def lease_uid(first: int, count: int) -> Iterator[int]:
    """Yield a uid in [first, first + count) that no other live run holds.

    The lock file goes when the lease ends (unlinked while still locked); a process that opened
    it just before and locks it afterwards sees the path no longer names its file and moves on.
    """
    os.makedirs(_LOCK_DIR, mode=0o700, exist_ok=True)
    start = random.randrange(count)  # noqa: S311 - spreading, not secrecy
    for step in range(count):
        uid = first + (start + step) % count
        path = os.path.join(_LOCK_DIR, str(uid))
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not _still_named(fd, path):
                raise BlockingIOError  # unlinked by the holder we waited behind: not a lease
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield uid
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            os.close(fd)
        return
    raise RuntimeError(f"no free sandbox uid in [{first}, {first + count})")


def _still_named(fd: int, path: str) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)
