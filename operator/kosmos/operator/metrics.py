"""Prometheus metrics: controller-runtime names for the reconcile loop, plus domain metrics.

No label carries a per-Experiment value (name, uid): cardinality stays bounded by the number
of phases and error kinds. Called by the handlers; served by ``kosmos.operator.main``.
"""

from __future__ import annotations

from collections import Counter as _Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from kosmos.api.errors import ErrorKind
from kosmos.api.status import Phase

__all__ = ["CONTROLLER", "Metrics"]

CONTROLLER = "experiment"
_DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
_BYTES_BUCKETS = (256, 1024, 4096, 16384, 65536, 262144, 1048576)


class Metrics:
    """All metrics of one operator process, in their own registry (tests make several)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.reconcile_total = Counter(
            "controller_runtime_reconcile_total", "Total number of reconciliations per controller.",
            ["controller", "result"], registry=r)
        self.reconcile_errors_total = Counter(
            "controller_runtime_reconcile_errors_total", "Total number of reconciliation errors per controller.",
            ["controller"], registry=r)
        self.reconcile_time_seconds = Histogram(
            "controller_runtime_reconcile_time_seconds", "Length of time per reconciliation per controller.",
            ["controller"], registry=r)
        self.experiments = Gauge("kosmos_experiments", "Experiments known to the operator, by phase.",
                                 ["phase"], registry=r)
        self.run_duration_seconds = Histogram(
            "kosmos_run_duration_seconds", "Seconds from the start of a run to its terminal status.",
            ["phase"], buckets=_DURATION_BUCKETS, registry=r)
        self.sandbox_failures_total = Counter(
            "kosmos_sandbox_failures_total", "Runs that ended Failed, by error kind.", ["error_kind"], registry=r)
        self.result_bytes = Histogram(
            "kosmos_result_bytes", "Size of the results written to status, in bytes.",
            buckets=_BYTES_BUCKETS, registry=r)
        self._phases: dict[tuple[str, str], str] = {}
        self._tally: _Tally[str] = _Tally()
        for phase in Phase:
            self.experiments.labels(phase=phase.value).set(0)
        for kind in ErrorKind:
            self.sandbox_failures_total.labels(error_kind=kind.value)

    def observe_phase(self, namespace: str, name: str, phase: str | None) -> None:
        """Track one Experiment's phase (None: it is gone) and refresh the by-phase gauge."""
        key = (namespace, name)
        before = self._phases.pop(key, None) if phase is None else self._phases.get(key)
        if phase is not None:
            self._phases[key] = phase
        if before == phase:
            return
        if before is not None:
            self._tally[before] -= 1
            self.experiments.labels(phase=before).set(self._tally[before])
        if phase is not None:
            self._tally[phase] += 1
            self.experiments.labels(phase=phase).set(self._tally[phase])

    def observe_finished(self, *, phase: str, error_kind: str | None, run_seconds: float | None,
                         result_bytes: int | None) -> None:
        if run_seconds is not None:
            self.run_duration_seconds.labels(phase=phase).observe(run_seconds)
        if error_kind:
            self.sandbox_failures_total.labels(error_kind=error_kind).inc()
        if result_bytes is not None:
            self.result_bytes.observe(result_bytes)
