"""The rlimits of one run and the tiny launcher that applies them inside the sandbox.

Called by ``local.py``. The limits are set by the first code that runs in the sandbox (before
the runner and the program): RLIMIT_NPROC counts per user namespace there, so it counts only
this run's processes even when the sandbox uid is shared. Soft and hard limits are both set
(CPU: hard = soft + 1 s, so SIGXCPU comes first and SIGKILL catches programs that ignore it).
"""

from __future__ import annotations

import math
import resource

from kosmos.execution.sandbox.base import ResourceLimits

__all__ = ["LAUNCHER", "encode", "rlimits_for"]

# Runs as `python -I -S -c LAUNCHER LIMITS USAGE_FD RUNNER ARGS...`; LIMITS is "res:soft:hard,...".
# On the way out it reports its rusage (self + reaped children) on USAGE_FD: the fallback
# measurement when no cgroup exists (the program could alter it; the result says so).
LAUNCHER = (
    "import resource as r,sys,runpy,os\n"
    "for s in sys.argv[1].split(','):\n"
    " k,a,b=map(int,s.split(':'));r.setrlimit(k,(a,b))\n"
    "u=int(sys.argv[2]);os.set_inheritable(u,False);sys.argv=sys.argv[3:]\n"
    "try:\n"
    " runpy.run_path(sys.argv[0],run_name='__main__')\n"
    "finally:\n"
    " a=r.getrusage(r.RUSAGE_SELF);b=r.getrusage(r.RUSAGE_CHILDREN)\n"
    " os.write(u,('%f %d'%(a.ru_utime+a.ru_stime+b.ru_utime+b.ru_stime,max(a.ru_maxrss,b.ru_maxrss))).encode())\n"
)


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
