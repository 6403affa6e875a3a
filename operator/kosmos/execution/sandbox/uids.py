"""Per-run uids for root: a fresh unprivileged host uid per concurrent run, held by a lock file.

Called by ``local.py`` when Kosmos runs as root, so runs cannot signal or ptrace each other and
RLIMIT_NPROC counts one run only. The lock (flock) is released when the run ends or the
process dies, so a crashed host never leaks a uid.
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
    """Yield a uid in [first, first + count) that no other live run holds."""
    os.makedirs(_LOCK_DIR, mode=0o700, exist_ok=True)
    start = random.randrange(count)  # noqa: S311 - spreading, not secrecy
    for step in range(count):
        uid = first + (start + step) % count
        fd = os.open(os.path.join(_LOCK_DIR, str(uid)), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield uid
        finally:
            os.close(fd)
        return
    raise RuntimeError(f"no free sandbox uid in [{first}, {first + count})")
