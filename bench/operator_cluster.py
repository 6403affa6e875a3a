"""Rounds of the operator benchmark: an emulated cluster, a canned Job controller and one
operator process (Kosmos' or the empty baseline), given N Experiments.

Used by ``bench/operator.py``. ``run_round`` submits N Experiments at once and times them on
the emulator's clock (``bench/operator_emulator.py``), then times probes submitted one at a
time on top; ``run_resting`` starts an operator over N finished Experiments put straight into
the store and reads its memory once it is idle. The operator runs in its own process
(``bench/operator_worker.py``) so that its CPU time and resident memory are its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import kmock

import kosmos
from bench.operator_emulator import TimedEmulator
from kosmos.operator.planning import plan_for
from kosmos.operator.settings import OperatorSettings
from kosmos.testing import SLEEP_CSV, experiment_body, sleep_spec
from kosmos.testing.emulator import EXPERIMENTS
from kosmos.testing.fake_controller import FakeJobController, PodOutcome
from kosmos.testing.programs import run_program

__all__ = ["NAMESPACE", "Resting", "Round", "canned_outcome", "run_resting", "run_round"]

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "bench"
_MARKER = "KOSMOS-ENVELOPE "
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def canned_outcome() -> PodOutcome:
    """What the pod of the sleep Welch t-test reports: one real run of its generated program
    (the trusted runner, no sandbox), replayed for every Job of the benchmark."""
    plan = plan_for(experiment_body("canned", spec=sleep_spec(), uid="u", generation=1),
                    OperatorSettings.defaults())
    with tempfile.TemporaryDirectory(prefix="kosmos-bench-") as tmp:
        envelope = run_program(plan.program, Path(tmp), inputs={"dataset": ("csv", SLEEP_CSV)},
                               parameters=plan.parameters)
    envelope.pop("stdout", None)
    envelope.pop("stderr", None)
    if not envelope.get("success"):
        raise RuntimeError(f"the canned run failed: {envelope.get('error')}")
    compact: dict[str, Any] = {
        "kosmosEnvelope": 1, "success": True, "errorKind": None, "error": None,
        "resultsBytes": len(json.dumps(envelope.get("results"))), "artifacts": []}
    log = "\n" + _MARKER + json.dumps(envelope, separators=(",", ":")) + "\n"
    return PodOutcome(exit_code=0, log=log, termination_message=json.dumps(compact))


@dataclass
class Round:
    """What one operator did with N Experiments submitted at once, then with probes."""

    which: str
    size: int
    marks: dict[str, dict[str, float]]  # by Experiment: created, job, done, terminal
    wall_seconds: float  # first Experiment created to last terminal
    operator_cpu_seconds: float  # the operator process, over the batch
    emulator_cpu_seconds: float  # this process (emulator and fake controller), over the batch
    rss_mb: float  # the operator process, once the batch was terminal
    requests: int  # API requests served over the batch
    finished: int
    errors: int  # ERROR lines in the operator's log, failures of the fake controller
    calls: dict[str, int] = field(default_factory=dict)  # requests over the batch, by kind
    probes: list[dict[str, float]] = field(default_factory=list)
    template: dict[str, Any] | None = None  # one finished Experiment, as stored

    def latencies(self, start: str, end: str, *, probes: bool = False) -> list[float]:
        rows = self.probes if probes else list(self.marks.values())
        return sorted(m[end] - m[start] for m in rows if start in m and end in m)


@dataclass
class Resting:
    """An operator started over N finished Experiments, once it was idle."""

    which: str
    size: int
    rss_mb: float  # idle, over the N
    rss_after_result_mb: float  # idle again, after one more Experiment ran to its result
    startup_cpu_seconds: float  # from ready to idle: listing and resuming the N
    requests: int  # served from ready to idle
    errors: int


def _proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _log_errors(log: Path) -> int:
    return sum(line.startswith("ERROR") for line in log.read_text(errors="replace").splitlines())


@contextlib.asynccontextmanager
async def _operator(url: str, which: str, log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    # The operator imports the same kosmos as this process, and this repository's bench.
    paths = [str(Path(kosmos.__file__).resolve().parents[1]), str(REPO),
             os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.operator_worker", url, which, cwd=REPO, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=stderr)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        if line.strip() != b"ready":
            raise RuntimeError(f"the {which} operator did not start: {log.read_text()[-2000:]}")
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout=15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _settle(emulator: TimedEmulator, pid: int, *, quiet: float = 0.5,
                  timeout: float = 60) -> None:
    """Wait until no request is served and the operator burns no CPU for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, calm_since = (emulator.served, _proc_cpu_seconds(pid)), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = (emulator.served, _proc_cpu_seconds(pid))
        if now[0] != last[0] or now[1] - last[1] > 0.03:
            last, calm_since = now, time.monotonic()
        elif time.monotonic() - calm_since >= quiet:
            return


async def _submit(session: aiohttp.ClientSession, url: str, name: str) -> None:
    body = experiment_body(name, namespace=NAMESPACE, spec=sleep_spec())
    group = f"{EXPERIMENTS.group}/{EXPERIMENTS.version}"
    path = f"{url}/apis/{group}/namespaces/{NAMESPACE}/experiments"
    async with session.post(path, json=body) as response:
        response.raise_for_status()


async def _submit_all(session: aiohttp.ClientSession, url: str, names: list[str],
                      parallel: int) -> None:
    queue = list(reversed(names))

    async def submitter() -> None:
        while queue:
            await _submit(session, url, queue.pop())

    await asyncio.gather(*(submitter() for _ in range(parallel)))


async def _until_terminal(emulator: TimedEmulator, count: int, timeout: float) -> None:
    emulator.finished.clear()
    emulator.expected = count
    if emulator.terminal < count:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(emulator.finished.wait(), timeout=timeout)


async def _round(which: str, size: int, outcome: PodOutcome, *, probes: int, timeout: float,
                 parallel: int) -> Round:
    async with TimedEmulator() as emulator, kmock.Server(emulator) as server, \
            aiohttp.ClientSession() as session:
        url = str(server.url).rstrip("/")
        with tempfile.TemporaryDirectory(prefix="kosmos-bench-operator-") as tmp:
            log = Path(tmp, "operator.log")
            async with FakeJobController(emulator, url, outcome_for=lambda _job: outcome,
                                         concurrency=64) as jobs, \
                    _operator(url, which, log) as proc:
                await _submit(session, url, "warm-up")  # imports and caches: not counted
                await _until_terminal(emulator, 1, 60)
                await _settle(emulator, proc.pid)
                emulator.marks.pop("warm-up", None)
                emulator.terminal = 0
                cpu, served, own = _proc_cpu_seconds(proc.pid), emulator.served, time.process_time()
                calls = emulator.calls.copy()
                await _submit_all(session, url, [f"exp-{i:05d}" for i in range(size)], parallel)
                await _until_terminal(emulator, size, timeout)
                cpu = _proc_cpu_seconds(proc.pid) - cpu
                own = time.process_time() - own
                served = emulator.served - served
                calls = emulator.calls - calls
                rss = _proc_rss_mb(proc.pid)
                marks = dict(emulator.marks)
                first = next(iter(marks), None)
                stored = emulator.objects[EXPERIMENTS, NAMESPACE, first].raw if first else None
                template = copy.deepcopy(stored) if stored and stored.get("status") else None
                await _settle(emulator, proc.pid)
                probe_marks = []
                for i in range(probes):  # one at a time, on top of the N already there
                    await _submit(session, url, f"probe-{i:03d}")
                    await _until_terminal(emulator, size + i + 1, 30)
                    probe_marks.append(emulator.marks.pop(f"probe-{i:03d}", {}))
            errors = _log_errors(log) + len(jobs.errors)
    ends = [m["terminal"] for m in marks.values() if "terminal" in m]
    starts = [m["created"] for m in marks.values() if "created" in m]
    wall = max(ends) - min(starts) if ends and starts else float("nan")
    return Round(which=which, size=size, marks=marks, wall_seconds=wall, operator_cpu_seconds=cpu,
                 emulator_cpu_seconds=own, rss_mb=rss, requests=served, finished=len(ends),
                 errors=errors, calls=dict(calls), probes=probe_marks, template=template)


async def _resting(which: str, size: int, template: dict[str, Any], outcome: PodOutcome) -> Resting:
    async with TimedEmulator() as emulator, kmock.Server(emulator) as server, \
            aiohttp.ClientSession() as session:
        emulator.preload(template, (f"done-{i:05d}" for i in range(size)))
        url = str(server.url).rstrip("/")
        with tempfile.TemporaryDirectory(prefix="kosmos-bench-operator-") as tmp:
            log = Path(tmp, "operator.log")
            async with FakeJobController(emulator, url, outcome_for=lambda _job: outcome), \
                    _operator(url, which, log) as proc:
                cpu, served = _proc_cpu_seconds(proc.pid), emulator.served
                await _settle(emulator, proc.pid, quiet=1.0, timeout=240)
                rss = _proc_rss_mb(proc.pid)
                cpu, served = _proc_cpu_seconds(proc.pid) - cpu, emulator.served - served
                await _submit(session, url, "one-more")
                await _until_terminal(emulator, 1, 60)
                await _settle(emulator, proc.pid)
                after = _proc_rss_mb(proc.pid)
            errors = _log_errors(log)
    return Resting(which=which, size=size, rss_mb=rss, rss_after_result_mb=after,
                   startup_cpu_seconds=cpu, requests=served, errors=errors)


def run_round(which: str, size: int, outcome: PodOutcome, *, probes: int = 0,
              timeout: float = 240.0, parallel: int = 8) -> Round:
    """A fresh emulator and operator; ``size`` Experiments submitted at once (``parallel``
    submitters) until all are terminal or ``timeout``; then ``probes`` more, one at a time."""
    return asyncio.run(_round(which, size, outcome, probes=probes, timeout=timeout,
                              parallel=parallel))


def run_resting(which: str, size: int, template: dict[str, Any], outcome: PodOutcome) -> Resting:
    """A fresh emulator holding ``size`` copies of ``template`` (a finished Experiment) and a
    fresh operator over them, measured once idle, and again after one more Experiment ran."""
    return asyncio.run(_resting(which, size, template, outcome))
