"""Build the bubblewrap command line for one run (pure: data in, argv out).

Called by ``local.py``. The sandbox sees: /usr and the libc pieces read-only, the interpreter,
site-packages and the kosmos package read-only under /opt, the job read-only at /job, a
fresh size- and inode-capped tmpfs at /workspace (also /tmp), bwrap's /dev read-only with a
size-capped /dev/shm in it. Nothing else of the host.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SANDBOX_JOB", "SANDBOX_WORKSPACE", "BwrapPlan", "bwrap_argv", "sandbox_env"]

SANDBOX_JOB = "/job"
SANDBOX_WORKSPACE = "/workspace"


@dataclass(frozen=True)
class BwrapPlan:
    """Inputs of :func:`bwrap_argv`: paths as the bwrap process sees them."""

    binds: Sequence[tuple[str, str]]  # (source as bwrap sees it, target in sandbox), read-only
    job_dir: str
    workspace_dir: str
    tmp_dir: str
    command: Sequence[str]
    env: dict[str, str]
    info_fd: int
    network: bool = False
    merged_usr: bool = True
    hostname: str = "kosmos"
    seccomp_fd: int | None = None  # compiled BPF (seccomp.py), read by bwrap
    shm_bytes: int = 64 << 20  # /dev/shm is a tmpfs of this size; the rest of /dev is read-only


def sandbox_env(*, threads: int, lib_dirs: Sequence[str]) -> dict[str, str]:
    """The whole environment of the program: nothing inherited from the host."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": SANDBOX_WORKSPACE,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "OPENBLAS_NUM_THREADS": str(threads),
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "NUMEXPR_NUM_THREADS": str(threads),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if lib_dirs:
        env["LD_LIBRARY_PATH"] = ":".join(lib_dirs)
    return env


def bwrap_argv(plan: BwrapPlan) -> list[str]:
    """The bwrap argv (argv[0] is "bwrap"; the caller execs the real binary)."""
    argv = ["bwrap", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session",
            "--hostname", plan.hostname, "--info-fd", str(plan.info_fd)]
    if not plan.network:
        argv.append("--unshare-net")
    if plan.seccomp_fd is not None:
        argv += ["--seccomp", str(plan.seccomp_fd)]
    argv += ["--ro-bind", "/usr", "/usr"]
    for name in ("lib", "lib64", "bin", "sbin"):
        if plan.merged_usr:
            argv += ["--symlink", f"usr/{name}", f"/{name}"]
        else:
            argv += ["--ro-bind-try", f"/{name}", f"/{name}"]
    argv += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
             "--ro-bind-try", "/etc/localtime", "/etc/localtime"]
    if plan.network:
        argv += ["--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf",
                 "--ro-bind-try", "/etc/ssl", "/etc/ssl"]
    for source, target in plan.binds:
        argv += ["--ro-bind", source, target]
    argv += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(plan.shm_bytes), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
             "--ro-bind", plan.job_dir, SANDBOX_JOB,
             "--bind", plan.workspace_dir, SANDBOX_WORKSPACE,
             "--bind", plan.tmp_dir, "/tmp",
             "--chdir", SANDBOX_WORKSPACE, "--clearenv"]
    for key, value in sorted(plan.env.items()):
        argv += ["--setenv", key, value]
    argv += ["--", *plan.command]
    return argv
