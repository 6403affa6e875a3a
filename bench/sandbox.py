"""Sandbox start overhead: each isolation layer, and the whole local sandbox, over a bare start.

Run by ``python -m bench sandbox [--quick]`` (``bench/__main__.py``). Every row is a whole
process start timed from this process, all rows interleaved round by round (the order rotates)
so load on a shared machine hits them alike. The commands come from the sandbox's own builders
(``discovery``, ``bubblewrap``, ``rlimits``, ``workspace``); the full row is
``LocalSandbox.run`` exactly as the Executor calls it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kosmos.execution.sandbox import cgroups, discovery, local, process, rlimits, seccomp, workspace
from kosmos.execution.sandbox.base import ResourceLimits, RunRequest, SandboxSettings
from kosmos.execution.sandbox.bubblewrap import BwrapPlan, bwrap_argv, sandbox_env

__all__ = ["run"]

TARGET_MS = 10.0
PROGRAM = "results = {}"
BARE, BWRAP, SECCOMP = (
    "bare: python -I -S pass.py",
    "bubblewrap only (namespaces + binds)",
    "bubblewrap + seccomp filter",
)
RUNNER = "bare: runner.py + program, same interpreter"
RLIMITS = "runner with --rlimits and --usage-fd (no namespaces)"
IN_BOX = "bwrap + seccomp + runner with rlimits, no host setup"
NO_CGROUP, FULL = "LocalSandbox.run, cgroup='none'", "LocalSandbox.run (full, as the Executor)"
FORKED = "LocalSandbox.run, launch='fork' (forked child, no launch thread)"
SPAWN, INSIDE = "spawn: namespaces, tmpfs, cgroup join, uid drop, exec bwrap", "bwrap + runner until exit"
_SECCOMP_FD = "SECCOMP_FD"  # placeholder in an argv: a fresh memfd of the filter per start


def _host(tc: discovery.Toolchain, path: str) -> str:
    """The host path behind a path as the sandbox sees it (inverse of the toolchain's binds)."""
    for tree in tc.trees:
        if path == tree.target or path.startswith(tree.target + "/"):
            return tree.host + path[len(tree.target) :]
        tail = tree.target[len(path) :]
        if tree.target.startswith(path + "/") and tree.host.endswith(tail):
            return tree.host[: len(tree.host) - len(tail)]  # a parent of a bound tree
    return path


class _Rows:
    """The argv of every spawned row and the two sandboxes, built once in a scratch directory."""

    def __init__(self, tmp: Path, usage_fd: int, info_fd: int) -> None:
        tc = discovery.discover()
        limits = ResourceLimits()
        self.fds = (usage_fd, info_fd)  # two fds: bwrap closes its info fd after writing to it
        self.bwrap_exe = tc.bwrap
        self.request = RunRequest(code=PROGRAM, limits=limits)
        self.boxes = {NO_CGROUP: local.LocalSandbox(SandboxSettings(cgroup="none")),
                      FORKED: local.LocalSandbox(SandboxSettings(launch="fork")),
                      FULL: local.LocalSandbox()}
        limits_arg = rlimits.encode(rlimits.rlimits_for(limits, memory_by_cgroup=False,
                                                        max_open_files=1024))
        (tmp / "pass.py").write_text("pass\n", encoding="utf-8")
        for name in ("ws", "tmp"):
            (tmp / name).mkdir()
        host_path = [_host(tc, p) for p in tc.sys_path]
        host_job = workspace.make_job_dir(PROGRAM, (), {}, sys_path=host_path,
                                          max_results_bytes=1 << 20, root=str(tmp),
                                          artifacts_dir=str(tmp / "artifacts"))
        box_job = workspace.make_job_dir(PROGRAM, (), {}, sys_path=list(tc.sys_path),
                                         max_results_bytes=1 << 20, root=str(tmp))
        self.env = sandbox_env(threads=limits.threads, lib_dirs=[_host(tc, d) for d in tc.lib_dirs])
        py, pass_py = tc.python_host, str(tmp / "pass.py")

        def bwrap(job_dir: str, command: list[str], *, filtered: bool) -> list[str]:
            argv = bwrap_argv(BwrapPlan(
                binds=[(t.host, t.target) for t in tc.trees], job_dir=job_dir,
                workspace_dir=str(tmp / "ws"), tmp_dir=str(tmp / "tmp"),
                command=[tc.python_sandbox, *command], info_fd=info_fd, merged_usr=tc.merged_usr,
                env=sandbox_env(threads=limits.threads, lib_dirs=tc.lib_dirs), seccomp_fd=-1 if filtered else None))
            return [_SECCOMP_FD if a == "-1" and argv[i - 1] == "--seccomp" else a for i, a in enumerate(argv)]

        rlimit_args = ["--rlimits", limits_arg, "--usage-fd", str(usage_fd)]
        self.layers = {
            BARE: [py, "-I", "-S", pass_py],
            BWRAP: bwrap(str(tmp), ["-I", "-S", "/job/pass.py"], filtered=False),
            SECCOMP: bwrap(str(tmp), ["-I", "-S", "/job/pass.py"], filtered=True),
        }
        runner_host = [py, "-I", "-S", _host(tc, tc.runner_sandbox), f"{host_job}/job.json",
                       "--result", str(tmp / "result.json")]
        self.runner = {
            RUNNER: runner_host,
            RLIMITS: [*runner_host, *rlimit_args],
            IN_BOX: bwrap(box_job, [tc.runner_sandbox, "/job/job.json", "--result",
                                    f"/workspace/{workspace.RESULT_NAME}", *rlimit_args], filtered=True),
        }
        self.bpf = seccomp.compiled().bpf

    def _spawn(self, argv: list[str]) -> Callable[[], object]:
        exe = self.bwrap_exe if argv[0] == "bwrap" else argv[0]
        if _SECCOMP_FD not in argv:
            return lambda: subprocess.run(argv, executable=exe, capture_output=True, check=True,
                                          env=self.env, pass_fds=self.fds)

        def filtered() -> object:
            fd = os.memfd_create("bench-seccomp", os.MFD_CLOEXEC)
            try:
                os.write(fd, self.bpf)
                os.lseek(fd, 0, os.SEEK_SET)
                real = [str(fd) if a == _SECCOMP_FD else a for a in argv]
                return subprocess.run(real, executable=exe, capture_output=True, check=True,
                                      env=self.env, pass_fds=(*self.fds, fd))
            finally:
                os.close(fd)
        return filtered

    def _sandboxed(self, box: local.LocalSandbox) -> Callable[[], object]:
        def call() -> None:
            result = box.run(self.request)
            if not result.success:
                raise RuntimeError(f"the sandbox run failed: {result.error}")
        return call

    def timers(self) -> dict[str, Callable[[], object]]:
        spawned = {k: self._spawn(v) for k, v in {**self.layers, **self.runner}.items()}
        return {**spawned, **{k: self._sandboxed(box) for k, box in self.boxes.items()}}


def _measure(timers: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    names = list(timers)
    for name in names:
        timers[name]()  # warm the page cache, discovery and the cgroup hierarchy
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            timers[name]()
            times[name].append((time.perf_counter() - started) * 1e3)
    return times


def _rows(times: dict[str, list[float]], names: list[str]) -> list[list[Any]]:
    """median, p90, and the medians of per-round differences and ratios over the first row."""
    bare = times[names[0]]
    out = []
    for name in names:
        t = times[name]
        p90 = statistics.quantiles(t, n=10, method="inclusive")[-1]
        out.append([name, statistics.median(t), p90,
                    statistics.median(a - b for a, b in zip(t, bare, strict=True)),
                    statistics.median(a / b for a, b in zip(t, bare, strict=True))])
    return out


@contextlib.contextmanager
def _phases(acc: dict[str, float]) -> Iterator[None]:
    """Add the time spent in each function ``LocalSandbox.run`` calls to ``acc`` (ms).

    ``subprocess.Popen`` (which process.py calls) is wrapped module-wide, only while profiling.
    """
    targets = [(cgroups, "create", "cgroup create"), (workspace, "make_job_dir", "job dir"),
               (process, "_start_in_thread", SPAWN), (process, "_start_forked", SPAWN),
               (local, "run_supervised", "supervised"),
               (process, "_reap", "reap"), (local.LocalSandbox, "_result", "result reading"),
               (cgroups.RunCgroup, "remove", "cleanup"), (workspace, "remove_job_dir", "cleanup")]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in targets]
    for (obj, name, label), (_, _, original) in zip(targets, saved, strict=True):
        def timed(*args: Any, _f: Any = original, _label: str = label, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                acc[_label] += (time.perf_counter() - started) * 1e3
        setattr(obj, name, functools.wraps(original)(timed))
    try:
        yield
    finally:
        for obj, name, original in saved:
            setattr(obj, name, original)


def _profile(rows: _Rows, runs: int) -> dict[str, dict[str, float]]:
    """Median ms per phase of each sandbox, the two sandboxes alternating."""
    samples: dict[str, dict[str, list[float]]] = {k: defaultdict(list) for k in rows.boxes}
    for _ in range(runs):
        for key, box in rows.boxes.items():
            acc: dict[str, float] = defaultdict(float)
            with _phases(acc):
                started = time.perf_counter()
                box.run(rows.request)
                total = (time.perf_counter() - started) * 1e3
            inside = acc.pop("supervised") - acc[SPAWN] - acc["reap"]
            acc[INSIDE] = inside
            acc["other (uid lease, argv)"] = total - sum(acc.values())
            for phase, value in acc.items():
                samples[key][phase].append(value)
    return {k: {p: statistics.median(v) for p, v in s.items()} for k, s in samples.items()}


def _ms(value: float) -> str:
    """A difference of two rows; a negative one means machine noise outweighed it in this run."""
    return f"{value:.1f} ms" + (" (negative: noise outweighed it in this run)" if value < 0 else "")


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="utf-8") as handle:
        line = next(line for line in handle if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _verdict(layers: dict[str, float], full: dict[str, float], times: dict[str, float],
             prof: dict[str, dict[str, float]], runs: int) -> list[str]:
    """Notes that split the full overhead by the rows and the profile, and name the next steps."""
    phases = "; ".join(f"{k} {v:.1f}" for k, v in sorted(prof[FULL].items(), key=lambda kv: -kv[1]))
    none, forked = prof[NO_CGROUP], prof[FORKED]
    attach = prof[FULL][SPAWN] - none[SPAWN]
    return [
        f"profile of the full run (median ms per phase over {runs} runs, by wrapping the functions "
        f"LocalSandbox.run calls), full {sum(prof[FULL].values()):.1f} ms, cgroup='none' "
        f"{sum(none.values()):.1f} ms: {phases}.",
        f"where the {full[FULL]:.1f} ms of overhead go (differences of the rows): the rlimits "
        f"and usage report in the runner {_ms(full[RLIMITS])}; bwrap with the seccomp filter "
        f"around it {_ms(full[IN_BOX] - full[RLIMITS])} (on pass.py: bubblewrap alone "
        f"{layers[BWRAP]:.1f} ms for 6 namespaces, about 35 mount calls and pivot_root, the "
        f"filter {_ms(layers[SECCOMP] - layers[BWRAP])} more); host-side setup without cgroups "
        f"{_ms(full[NO_CGROUP] - full[IN_BOX])} (spawn {none[SPAWN]:.1f} ms from a launch thread: "
        "unshare, bind and tmpfs mounts, uid drop, vfork and exec of bwrap; bwrap + runner until "
        f"exit {none[INSIDE]:.1f} ms against {times[IN_BOX]:.1f} ms started directly; reap "
        f"{none['reap']:.1f} ms on a pidfd; uid lease, job dir, envelope and cleanup); cgroups "
        f"{_ms(full[FULL] - full[NO_CGROUP])}, of which the attach {attach:.1f} ms (the launch "
        "thread writes 0 to each v1 tasks file: moving one thread skips cgroup_threadgroup_rwsem, "
        "whose write side waits an RCU grace period, 10-20 ms here, on every cgroup.procs write).",
        f"the forked child (launch='fork', the path of non-root runs and of cgroup v2) costs "
        f"{_ms(full[FORKED] - full[FULL])} more than the launch thread: its spawn takes "
        f"{forked[SPAWN]:.1f} ms against {prof[FULL][SPAWN]:.1f} ms, because a preexec_fn makes "
        f"Python fork this whole {_rss_mib():.0f} MiB process instead of vfork (about 5 ms once "
        "pandas and scipy are loaded), and on cgroup v2 its cgroup.procs write waits for RCU.",
        "next steps, largest first: (1) bubblewrap, the largest part left: fewer mounts (a "
        "minimal /dev saves about 0.3 ms, no /dev about 1 ms, measured by hand); (2) on cgroup v2, spawn straight into the run's "
        "cgroup (clone3 with CLONE_INTO_CGROUP, which Python does not expose) instead of the "
        "forked child; (3) create the next run's cgroup ahead of time; a warm pool of pre-started "
        "sandboxes is the only way to hide namespace creation entirely.",
    ]


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    """Two tables: the layers on a trivial program, and the full sandbox on the runner."""
    runs = 5 if quick else 30
    with tempfile.TemporaryDirectory(prefix="kosmos-bench-") as tmp:
        fds = os.open(os.devnull, os.O_WRONLY), os.open(os.devnull, os.O_WRONLY)
        try:
            rows = _Rows(Path(tmp), *fds)
            times = _measure(rows.timers(), runs)
            prof = _profile(rows, runs)
        finally:
            for fd in fds:
                os.close(fd)
    layers = _rows(times, list(rows.layers))
    full = _rows(times, [*rows.runner, *rows.boxes])
    overhead = full[-1][3]
    columns = ["path", "median ms", "p90 ms", "overhead over bare (median, ms)", "ratio over bare"]
    target = ["target: full sandbox overhead < 10 ms (median)", "met" if overhead < TARGET_MS
              else "NOT met", "", overhead, f"gap {overhead - TARGET_MS:+.1f} ms"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [{
        "title": "Sandbox layers: a trivial program (pass.py) over a bare start of the interpreter",
        "columns": columns,
        "rows": layers,
        "notes": [
            f"{runs} runs per row, all rows interleaved (order rotated each round) after one "
            "warm-up each; overhead and ratio are medians of per-round differences and ratios "
            "against the bare row of the same round, so they need not equal the difference of "
            "the medians.",
            f"interpreter {discovery.discover().python_host} (the real binary discovery resolves, "
            "not a shim) and the same environment (bubblewrap.sandbox_env) in every row.",
            "bubblewrap rows: bubblewrap.bwrap_argv with the toolchain's binds, started directly "
            "by this process (no cgroup, tmpfs, uid drop or supervision); the filter is "
            "seccomp.compiled(), handed over in a fresh memfd per start as LocalSandbox does.",
            f"machine: {os.cpu_count()} CPUs shared with other jobs, load average {load} at the "
            "end.",
        ],
    }, {
        "title": "Full local sandbox start overhead: runner with `results = {}` over bare runner",
        "columns": columns,
        "rows": [*full, target],
        "notes": [
            "bare: the same interpreter runs runner.py on a job with the same program and sys_path "
            "(host paths) and writes its result file: what the program costs without a sandbox. "
            "Its start includes the site-packages .pth files (here one imports certifi) in both "
            "rows alike.",
            "full: LocalSandbox.run timed whole: uid lease (as root), cgroup create/attach/remove, "
            "job dir, tmpfs workspace, launch thread, bwrap and seccomp filter, the runner's rlimits "
            "(the default ResourceLimits), supervision, envelope reading; every run gets a fresh "
            "uid, cgroup, tmpfs and namespaces (no pool, no reuse).",
            *_verdict({r[0]: r[3] for r in layers}, {r[0]: r[3] for r in full},
                      {r[0]: r[1] for r in full}, prof, runs),
            "published start times for comparison (other systems and machines): Firecracker about "
            "125 ms to guest init, E2B about 150 ms, gVisor 81-280 ms, a Kubernetes pod seconds.",
        ],
    }]


if __name__ == "__main__":  # pragma: no cover - manual use
    from bench.__main__ import format_table

    for table in run(quick=True):
        print(format_table(table))
