"""Operator benchmarks: Kosmos' real operator against an empty kopf handler on the same
in-process API emulator, for latency, throughput, CPU and memory, and how each grows with N.

Run by ``python -m bench [operator] [--quick]`` (``bench/__main__.py`` calls ``run``). Each
round starts a fresh kmock emulator in this process and one operator in its own process:
Kosmos' (``kosmos.operator``, as ``kosmos operator`` runs it) or the baseline, which has the
same login, kopf settings and ``KubeClient`` and only creates a minimal Job on create and marks
the Experiment Succeeded when its Job completes (``bench/operator_worker.py``). The Job side is
``kosmos.testing.FakeJobController`` replaying one real run's pod log and termination message,
so the sandbox is not timed. Times come from the emulator's clock as requests are applied.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from typing import Any

from bench.operator_cluster import Resting, Round, canned_outcome, run_resting, run_round

__all__ = ["run"]

_TARGET_RATIO = 1.5
_TARGET_MB = 150.0
_HEADLINE = 1000


def _median_ms(values: Sequence[float]) -> float:
    return statistics.median(values) * 1000 if values else math.nan


def _p90_ms(values: Sequence[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)] * 1000


def _per_experiment(r: Round, value: float) -> float:
    return value / r.size if r.size else math.nan


def _throughput(r: Round) -> float:
    return r.finished / r.wall_seconds if r.wall_seconds > 0 else math.nan


def _ratio(ours: float, bare: float) -> float:
    return ours / bare if bare and not math.isnan(bare) else math.nan


def _latency_rows(base: Round, ours: Round) -> list[list[Any]]:
    rows = []
    for label, start, end in (("create -> Job", "created", "job"),
                              ("Job done -> status", "done", "terminal")):
        for where, probes in (("one at a time", True), (f"batch of {ours.size}", False)):
            for stat, fn in (("median", _median_ms), ("p90", _p90_ms)):
                b = fn(base.latencies(start, end, probes=probes))
                k = fn(ours.latencies(start, end, probes=probes))
                rows.append([f"{label}, {where}, {stat} (ms)", b, k, _ratio(k, b)])
    return rows


def _headline(base: Round, ours: Round) -> dict[str, Any]:
    rows = _latency_rows(base, ours)
    tb, tk = _throughput(base), _throughput(ours)
    rows.append([f"throughput, batch of {ours.size} (terminal/s; ratio = baseline/Kosmos)", tb, tk,
                 _ratio(tb, tk)])
    cb = _per_experiment(base, base.operator_cpu_seconds) * 1000
    ck = _per_experiment(ours, ours.operator_cpu_seconds) * 1000
    rows.append(["operator CPU per Experiment (ms)", cb, ck, _ratio(ck, cb)])
    qb, qk = _per_experiment(base, base.requests), _per_experiment(ours, ours.requests)
    rows.append(["API requests per Experiment (both sides)", qb, qk, _ratio(qk, qb)])
    rows.append(["operator RSS after the batch (MB)", base.rss_mb, ours.rss_mb,
                 _ratio(ours.rss_mb, base.rss_mb)])
    missed = [row[0] for row in rows[:-3] if not row[3] <= _TARGET_RATIO]
    return {
        "title": f"Operator vs an empty kopf handler, {ours.size} Experiments "
                 "(in-process emulator)",
        "columns": ["measure", "empty handler", "Kosmos", "ratio Kosmos/empty"],
        "rows": rows,
        "notes": [
            f"target: every ratio <= {_TARGET_RATIO}; not met: {', '.join(missed) or 'none'}",
            "empty handler: kopf.on.create POSTs a minimal Job (one container, Kosmos' labels) and "
            "kopf.on.event on Jobs merge-patches status.phase=Succeeded on Complete; same kopf "
            "settings, login, KubeClient and emulator as Kosmos, so the ratio is what Kosmos' "
            "reconcile (quota, NetworkPolicy, ConfigMap, Job, observation, status) adds to a "
            "kopf operator that turns an Experiment into a Job and a Job into a status",
            "create -> Job: Experiment POST applied to Job POST applied; Job done -> status: the "
            "fake controller's Job Complete patch applied to the terminal status patch applied "
            "(pod terminated, termination message and log were written just before)",
            "one at a time: probes submitted singly after the batch is terminal and idle, on top "
            f"of its {ours.size} Experiments ({len(ours.probes)} probes); batch: all {ours.size} "
            "submitted at once by 8 concurrent clients, so batch latency is mostly queueing",
            "throughput: batch size over first creation to last terminal status; the empty "
            "handler's is bounded by the emulator and fake controller (one process, one core): "
            f"they used {base.emulator_cpu_seconds:.1f} s CPU for it against "
            f"{base.operator_cpu_seconds:.1f} s in its operator; Kosmos: "
            f"{ours.emulator_cpu_seconds:.1f} s and {ours.operator_cpu_seconds:.1f} s",
            "emulator: kosmos.testing's KosmosEmulator with the kmock 0.8 fixes of "
            "bench/operator_emulator.py (dispatch and lookups no longer scan every request and "
            "object served so far; a consistent list-then-watch); without them the emulator, "
            "not the operator, set the pace (with kmock as shipped, 97% of its time went to "
            "request filtering at 200 Experiments; a label LIST cost 13 ms at 1,000 pods) and "
            "lost watch events stalled Experiments until the 30 s resync",
            f"finished: empty {base.finished}/{base.size}, Kosmos {ours.finished}/{ours.size}; "
            f"errors logged: empty {base.errors}, Kosmos {ours.errors}",
            f"requests per Experiment, empty handler: {_mix(base)}",
            f"requests per Experiment, Kosmos: {_mix(ours)}",
            *_PROFILE_NOTES,
        ],
    }


def _mix(r: Round) -> str:
    """The kinds of API request per Experiment, most frequent first (both sides of the API)."""
    top = sorted(r.calls.items(), key=lambda item: -item[1])
    return ", ".join(f"{kind} {count / r.size:.1f}" for kind, count in top if count >= r.size / 2)


_PROFILE_NOTES = [
    "why Kosmos misses the ratio targets: each Experiment is reconciled several times (create, "
    "then every Job and pod event: 'GET experiments' above counts them), each reconcile reads "
    "the Job and lists pods, create adds three label-selector LISTs of older runs' children, and "
    "kopf adds, then removes, a finalizer on every Experiment because the resync timer needs "
    "one while it runs (PATCH experiments ~3 per Experiment against 1). py-spy of the operator "
    "(300 Experiments) before planning was cached had plan_for at 31% of its CPU (a new "
    "CodeGenerator, so jinja2 recompiled its templates, ~9%, and ast.parse re-validated the same "
    "program, 23%); the operator now keeps one generator for the built-in templates and "
    "validates each program once, which took its CPU per Experiment from ~54 to ~24 ms and "
    "one-at-a-time create -> Job from ~26 to ~13 ms in this bench",
    "next steps: skip the older-run LISTs and the Job/pod reads when the Job already exists "
    "and status.observedGeneration matches, reconcile on Job events only (not on every pod "
    "event), and drop the resync timer in favour of Job events plus a daemon only for Running "
    "Experiments, so kopf stops adding and removing its finalizer",
]


def _scaling(rounds: Sequence[Round]) -> dict[str, Any]:
    rows = []
    for r in rounds:
        c2j = r.latencies("created", "job", probes=True)
        d2s = r.latencies("done", "terminal", probes=True)
        cpu_ms = _per_experiment(r, r.operator_cpu_seconds) * 1000
        rows.append([r.which, r.size, _median_ms(c2j), _p90_ms(c2j), _median_ms(d2s), _p90_ms(d2s),
                     r.wall_seconds, _throughput(r), cpu_ms, _per_experiment(r, r.requests),
                     r.rss_mb])
    return {
        "title": "How the operator's costs grow with the number of Experiments",
        "columns": ["operator", "N", "create->Job p50 ms", "p90 ms", "done->status p50 ms",
                    "p90 ms", "batch s", "terminal/s", "CPU ms/Exp", "requests/Exp", "RSS MB"],
        "rows": rows,
        "notes": [
            "latencies: probes one at a time on top of N; batch: N submitted at once; CPU: the "
            "operator process over the batch; RSS: after the batch (its high-water mark)",
            "Kosmos' RSS after a batch grows with N mostly from the burst (N reconciles in flight "
            "at once; CPython keeps the freed arenas); the next table separates it",
        ],
    }


def _memory(resting: Sequence[Resting]) -> dict[str, Any]:
    by = {(m.which, m.size): m for m in resting}
    sizes = sorted({m.size for m in resting})
    rows = []
    for size in sizes:
        base, ours = by[("baseline", size)], by[("kosmos", size)]
        rows.append([size, base.rss_mb, ours.rss_mb, ours.rss_after_result_mb,
                     _ratio(ours.rss_after_result_mb, base.rss_after_result_mb),
                     base.startup_cpu_seconds / size * 1000,
                     ours.startup_cpu_seconds / size * 1000])
    small, large = sizes[0], sizes[-1]
    worst = by[("kosmos", large)]
    met = worst.rss_after_result_mb <= _TARGET_MB

    def slope_kb(which: str) -> float:
        if large == small:
            return math.nan
        return (by[(which, large)].rss_mb - by[(which, small)].rss_mb) / (large - small) * 1024

    return {
        "title": "Operator resident memory over N finished Experiments",
        "columns": ["N", "empty handler MB", "Kosmos MB (idle)", "Kosmos MB (+1 result)",
                    "ratio (+1 result)", "empty start-up CPU ms/Exp", "Kosmos start-up CPU ms/Exp"],
        "rows": rows,
        "notes": [
            f"target: Kosmos <= {_TARGET_MB:.0f} MB at 10,000 Experiments; "
            f"{'met' if met else 'not met'} at N={large} ({worst.rss_after_result_mb:.0f} MB)",
            "N finished Experiments (copies of one the operator under test finished, with its "
            "annotations and status) are put straight into the emulator's store, no Jobs or pods "
            "(as after the Jobs' TTL); the operator starts, lists and resumes them, and RSS is "
            "read once neither it nor the emulator has worked for 1 s; '+1 result': after one "
            "more Experiment ran to Succeeded, which is when Kosmos first imports scipy",
            (f"growth per Experiment (N={small}..{large}): empty handler "
             f"{slope_kb('baseline'):.1f} KB, Kosmos {slope_kb('kosmos'):.1f} KB; "
             if large > small else "")
            + f"the first result adds {worst.rss_after_result_mb - worst.rss_mb:.0f} MB to Kosmos: "
            "kosmos.execution.analyzer imports numpy and scipy (+74 MB at import alone; kopf, "
            "aiohttp and Kosmos' handlers take ~69 MB)",
            "why (tracemalloc of Kosmos over 5,000 resting Experiments, run once): the live "
            "Python heap was 77 MB, 64 MB of it the bodies of kopf's initial LIST still held by "
            "its per-object workers (they idle out after kopf's batching.idle_timeout, 5 s); "
            "Kosmos' own state was ~0.2 KB per Experiment (Runtime._locks); the rest of its "
            "margin over the empty handler is high-water: every Experiment is resumed at once "
            "and each reconcile GETs a fresh copy (traced peak 122 MB), and CPython keeps arenas",
            "next steps: keep scipy out of the operator process (analyse in the sandbox pod, "
            "whose runner has scipy, or in a worker process); skip the fresh GET when resuming "
            "an Experiment whose listed status is terminal for its generation; bound resume "
            "concurrency; kopf's ~12 KB per watched object stays (the empty handler alone is "
            "over the target at 10,000)",
        ],
    }


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    sizes = (10, 100) if quick else (10, 100, _HEADLINE)
    memory_sizes = (1000,) if quick else (1000, 10_000)
    probes = 5 if quick else 20
    outcome = canned_outcome()
    rounds: list[Round] = []
    for size in sizes:
        for which in ("baseline", "kosmos"):
            rounds.append(run_round(which, size, outcome, probes=probes))
    templates = {r.which: r.template for r in rounds if r.template is not None}
    resting = [run_resting(which, size, templates[which], outcome)
               for size in memory_sizes for which in ("baseline", "kosmos")]
    largest = max(sizes)
    base, ours = (next(r for r in rounds if r.which == w and r.size == largest)
                  for w in ("baseline", "kosmos"))
    tables = [_headline(base, ours), _scaling(rounds), _memory(resting)]
    if quick:
        tables[0]["notes"].insert(0, f"--quick: {largest} Experiments, not {_HEADLINE}")
    tables[0]["notes"].append(f"machine: {os.cpu_count()} CPUs; the operator and the emulator "
                              "each run in their own process")
    return tables
