"""Helpers of the red-team suite: the suite's private uid range and leftover-process checks."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

__all__ = ["UID_RANGE", "processes_in_uid_range", "wait_for"]

# A uid range of its own, so leftovers are counted for this suite only.
UID_RANGE = (1_600_000_000, 4096)


def processes_in_uid_range(first: int, count: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        real = int(line.split()[1])
                        if first <= real < first + count:
                            found.append(int(entry))
                        break
        except OSError:
            continue
    return found


def wait_for(condition: Callable[[], bool], timeout: float = 1.0) -> bool:
    end = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.01)


