"""The rlimits of one run, encoded for the runner's ``--rlimits`` (which sets them in the sandbox).

Called by ``local.py``. The runner sets them before it reads the job or runs the program:
RLIMIT_NPROC counts per user namespace there, so it counts only this run's processes even
when the sandbox uid is shared. Soft and hard limits are both set
(CPU: hard = soft + 1 s, so SIGXCPU comes first and SIGKILL catches programs that ignore it).
"""

from __future__ import annotations

import math
import resource

from kosmos.execution.sandbox.base import ResourceLimits

__all__ = ["encode", "rlimits_for"]


def rlimits_for(limits: ResourceLimits, *, memory_by_cgroup: bool, max_open_files: int,
                extra_processes: int = 4) -> dict[int, tuple[int, int]]:
    """resource -> (soft, hard). RLIMIT_AS only when no cgroup enforces memory."""
    cpu = max(1, math.ceil(limits.cpu_seconds))
    fsize = limits.max_file_size_mb << 20
    out = {
        resource.RLIMIT_CPU: (cpu, cpu + 1),
        resource.RLIMIT_FSIZE: (fsize, fsize),
        resource.RLIMIT_NPROC: (limits.max_processes + extra_processes,) * 2,
        resource.RLIMIT_NOFILE: (max_open_files, max_open_files),
        resource.RLIMIT_CORE: (0, 0),
    }
    if not memory_by_cgroup:
        out[resource.RLIMIT_AS] = (limits.memory_mb << 20,) * 2
    return out


def encode(rlimits: dict[int, tuple[int, int]]) -> str:
    return ",".join(f"{k}:{a}:{b}" for k, (a, b) in sorted(rlimits.items()))
