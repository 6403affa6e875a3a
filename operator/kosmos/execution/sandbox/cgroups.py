"""Per-run cgroups: memory and pids limits, CPU quota, measurements and kill (v2 or v1).

Called by ``local.py``. v2 needs a delegated, writable subtree (our own cgroup's parent
or a ``kosmos`` child) with the memory and pids controllers; v1 needs writable memory and
pids hierarchies (root). When neither is writable, :func:`create` returns None and the
caller falls back to RLIMIT_AS / RLIMIT_NPROC, saying so in the result.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
import uuid
from dataclasses import dataclass, field

__all__ = [
    "RunCgroup", "create", "sweep_stale", "v1_parent"]

_ROOT = "/sys/fs/cgroup"


def _write(path: str, value: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(value)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def _keyed(text: str | None, key: str) -> int:
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == key:
            return int(parts[1])
    return 0


@dataclass
class RunCgroup:
    """One run's cgroup(s); ``dirs`` are the leaf directories (one for v2, one per v1 controller)."""

    version: int
    dirs: dict[str, str] = field(default_factory=dict)

    @property
    def procs_files(self) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in dict.fromkeys(self.dirs.values())]

    def describe(self) -> str:
        return f"cgroup v{self.version} " + ",".join(sorted(self.dirs))

    def join_paths(self) -> list[str]:
        """Files the forked child writes "0" (itself) to before exec: v1 one per controller.

        On v1 the single-threaded child moves its one thread through ``tasks``: the kernel then
        skips the global cgroup_threadgroup_rwsem, whose write side waits an RCU grace period
        (10-20 ms here) on every ``cgroup.procs`` write. Moving the only thread moves the
        process, and everything it forks or execs stays in the group. v2 refuses thread
        moves between domain cgroups, so it writes ``cgroup.procs``.
        """
        if self.version == 1:
            return [os.path.join(d, "tasks") for d in dict.fromkeys(self.dirs.values())]
        return self.procs_files

    def origin_paths(self) -> list[str]:
        """v1: the ``tasks`` files of the calling thread's own groups in the run's hierarchies.

        A launch thread (``thread_launch.py``) joins the run's groups to spawn into them, then
        writes "0" to these to go back.
        """
        if self.version != 1:
            return []
        own = _own_v1_groups("/proc/thread-self/cgroup")
        return [os.path.join(_ROOT, ctrl, own[ctrl].lstrip("/"), "tasks") for ctrl in self.dirs if ctrl in own]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for path in self.procs_files:
            found.update(int(p) for p in (_read(path) or "").split())
        return found

    def peak_memory_bytes(self) -> int | None:
        d = self.dirs.get("memory")
        if d is None:
            return None
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        text = _read(os.path.join(d, name))
        return int(text) if text and text.strip().isdigit() else None

    def cpu_seconds(self) -> float | None:
        if self.version == 1:
            d = self.dirs.get("cpuacct")
            text = _read(os.path.join(d, "cpuacct.usage")) if d else None
            return int(text) / 1e9 if text and text.strip().isdigit() else None
        d = self.dirs.get("memory")
        text = _read(os.path.join(d, "cpu.stat")) if d else None
        return _keyed(text, "usage_usec") / 1e6 if text else None

    def oom_killed(self) -> bool:
        d = self.dirs.get("memory")
        if d is None:
            return False
        if self.version == 1:
            text = _read(os.path.join(d, "memory.oom_control"))
            if _keyed(text, "oom_kill"):
                return True
            failcnt = _read(os.path.join(d, "memory.failcnt"))
            return bool(failcnt and failcnt.strip() != "0" and _keyed(text, "under_oom"))
        return _keyed(_read(os.path.join(d, "memory.events")), "oom_kill") > 0

    def pids_limit_hit(self) -> bool:
        d = self.dirs.get("pids")
        return d is not None and _keyed(_read(os.path.join(d, "pids.events")), "max") > 0

    def kill(self) -> None:
        """SIGKILL every process in the cgroup (v2: cgroup.kill; v1: repeat until empty)."""
        if self.version == 2:
            with contextlib.suppress(OSError):
                _write(os.path.join(self.dirs["memory"], "cgroup.kill"), "1")
                return
        own = os.getpid()  # a launch thread still in the group must not take this process down
        for _ in range(100):
            pids = self.pids() - {own}
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self, *, wait_seconds: float = 2.0) -> None:
        """Kill what is left and rmdir the leaves (waits for the kernel to empty them)."""
        deadline = time.monotonic() + wait_seconds
        for d in dict.fromkeys(self.dirs.values()):
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    self.kill()
                    time.sleep(0.005)


@functools.cache
def _v2_base() -> str | None:
    """The delegated v2 parent of the run groups, found once per process (or None)."""
    for mount in (_ROOT, os.path.join(_ROOT, "unified")):
        controllers = _read(os.path.join(mount, "cgroup.controllers"))
        if controllers is None:
            continue
        own = _read("/proc/self/cgroup") or ""
        rel = next((line[3:] for line in own.splitlines() if line.startswith("0::")), "/")
        base = os.path.join(mount, rel.strip().lstrip("/"), "kosmos")
        available = (_read(os.path.join(os.path.dirname(base), "cgroup.controllers")) or "").split()
        if not {"memory", "pids"} <= set(available):
            continue  # (a v2 hierarchy beside v1 controllers has none to give): leave it untouched
        try:
            os.makedirs(base, exist_ok=True)
        except OSError:
            continue
        if os.access(base, os.W_OK):
            with contextlib.suppress(OSError):
                _write(os.path.join(base, "cgroup.subtree_control"), "+memory +pids +cpu")
            if {"memory", "pids"} <= set((_read(os.path.join(base, "cgroup.subtree_control")) or "").split()):
                return base
    return None


def _create_v2(memory_bytes: int, pids: int, cpu_count: float) -> RunCgroup | None:
    base = _v2_base()
    if base is None:
        return None
    sweep_stale(base)
    leaf = os.path.join(base, f"run-{uuid.uuid4().hex[:12]}")
    try:
        os.mkdir(leaf)
        _write(os.path.join(leaf, "memory.max"), str(memory_bytes))
        with contextlib.suppress(OSError):
            _write(os.path.join(leaf, "memory.swap.max"), "0")
        _write(os.path.join(leaf, "pids.max"), str(pids))
        with contextlib.suppress(OSError):
            _write(os.path.join(leaf, "cpu.max"), f"{int(cpu_count * 100_000)} 100000")
    except OSError:
        with contextlib.suppress(OSError):
            os.rmdir(leaf)
        return None
    return RunCgroup(2, {"memory": leaf, "pids": leaf, "cpu": leaf})


def _own_v1_groups(path: str = "/proc/self/cgroup") -> dict[str, str]:
    """controller -> this process's (or thread's) group path in that v1 hierarchy."""
    own: dict[str, str] = {}
    for line in (_read(path) or "").splitlines():
        _id, controllers, rel = line.split(":", 2)
        for ctrl in controllers.split(","):
            if ctrl:
                own[ctrl] = rel.strip()
    return own


def v1_parent(controller: str, own: dict[str, str] | None = None) -> str:
    """Where this process's run groups go in a v1 hierarchy: a ``kosmos`` child of its own group,
    so whatever limits the caller runs under bind its runs too (``own``: its groups, if read)."""
    rel = (_own_v1_groups() if own is None else own).get(controller, "/").lstrip("/")
    return os.path.join(_ROOT, controller, rel, "kosmos")


def _create_v1(memory_bytes: int, pids: int, cpu_count: float) -> RunCgroup | None:
    name = f"run-{uuid.uuid4().hex[:12]}"
    group = RunCgroup(1)
    own = _own_v1_groups()
    try:
        for ctrl in ("memory", "pids", "cpuacct", "cpu"):
            mount = os.path.join(_ROOT, ctrl)
            if not os.path.isfile(os.path.join(mount, "cgroup.procs")):
                if ctrl in ("memory", "pids"):
                    raise OSError(f"no v1 {ctrl} hierarchy")
                continue
            parent = v1_parent(ctrl, own)
            sweep_stale(parent)
            leaf = os.path.join(parent, name)
            os.makedirs(leaf)
            group.dirs[ctrl] = leaf
        mem = group.dirs["memory"]
        _write(os.path.join(mem, "memory.limit_in_bytes"), str(memory_bytes))
        with contextlib.suppress(OSError):
            _write(os.path.join(mem, "memory.memsw.limit_in_bytes"), str(memory_bytes))
        with contextlib.suppress(OSError):
            _write(os.path.join(mem, "memory.swappiness"), "0")
        with contextlib.suppress(OSError):  # v1 charges socket buffers only once this is set
            _write(os.path.join(mem, "memory.kmem.tcp.limit_in_bytes"), str(memory_bytes))
        _write(os.path.join(group.dirs["pids"], "pids.max"), str(pids))
        if "cpu" in group.dirs:
            with contextlib.suppress(OSError):
                _write(os.path.join(group.dirs["cpu"], "cpu.cfs_period_us"), "100000")
                _write(os.path.join(group.dirs["cpu"], "cpu.cfs_quota_us"), str(int(cpu_count * 100_000)))
    except OSError:
        group.remove(wait_seconds=0)
        return None
    return group


_STALE_SECONDS = 300.0
_swept: set[str] = set()


def sweep_stale(parent: str) -> int:
    """Remove empty ``run-*`` groups older than five minutes under ``parent``.

    A run whose supervisor was killed with SIGKILL cannot remove its cgroup; the next run in
    a new process does (once per parent and process). Live groups are never empty; rmdir
    refuses a group that still has a process. Returns how many went.
    """
    if parent in _swept:
        return 0
    _swept.add(parent)
    removed = 0
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(parent) as entries:
        for entry in entries:
            if not entry.name.startswith("run-") or not entry.is_dir(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > _STALE_SECONDS and not _read(
                        os.path.join(entry.path, "cgroup.procs")):
                    os.rmdir(entry.path)
                    removed += 1
    return removed


def create(mode: str, *, memory_bytes: int, pids: int, cpu_count: float) -> RunCgroup | None:
    """A fresh cgroup for one run, or None when no hierarchy is writable (or mode is "none")."""
    if mode in ("auto", "v2"):
        group = _create_v2(memory_bytes, pids, cpu_count)
        if group is not None or mode == "v2":
            return group
    if mode in ("auto", "v1"):
        return _create_v1(memory_bytes, pids, cpu_count)
    return None
