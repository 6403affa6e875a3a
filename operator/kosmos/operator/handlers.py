"""Thin kopf decorators: every trigger calls the one ``reconcile``; errors are mapped here only.

``register(registry, runtime)`` adds the handlers to a kopf registry, so tests and
``kosmos operator`` can each run their own operator. Validation failures become
``kopf.PermanentError`` (no retries); API and infrastructure failures ``kopf.TemporaryError``.
Called by ``kosmos.operator.main`` and ``kosmos.testing``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import kopf

from kosmos.api.errors import KosmosError
from kosmos.api.spec import API_GROUP, API_VERSION
from kosmos.operator.builders import priority_class_for
from kosmos.operator.client import Connection, KubeClient
from kosmos.operator.metrics import CONTROLLER, Metrics
from kosmos.operator.naming import LABEL_EXPERIMENT, LABEL_MANAGED_BY, LABEL_SANDBOX, MANAGED_BY
from kosmos.operator.planning import ProgramSource
from kosmos.operator.reconcile import TERMINAL_PHASES, ReconcileContext, ReconcileOutcome, reconcile
from kosmos.operator.settings import OperatorSettings

__all__ = ["Runtime", "default_login", "register"]

_log = logging.getLogger("kosmos.operator")
LoginFn = Callable[..., Awaitable[kopf.ConnectionInfo | None] | kopf.ConnectionInfo | None]


def default_login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In a pod: the service account; elsewhere: the kubeconfig."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


@dataclass
class Runtime:
    """The operator's process-wide state, passed explicitly to every handler."""

    settings: OperatorSettings
    metrics: Metrics = field(default_factory=Metrics)
    login: LoginFn = default_login
    generator: ProgramSource | None = None
    connection: Connection | None = None
    _ctx: ReconcileContext | None = None
    _locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)

    @property
    def ctx(self) -> ReconcileContext:
        if self._ctx is None:
            if self.connection is None:
                raise kopf.TemporaryError("not logged in to the API server yet", delay=1)
            self._ctx = ReconcileContext(client=KubeClient(self.connection), settings=self.settings,
                                         generator=self.generator)
        return self._ctx

    def lock(self, namespace: str, name: str) -> asyncio.Lock:
        """One reconcile at a time per Experiment, whichever watch stream triggered it."""
        return self._locks.setdefault((namespace, name), asyncio.Lock())

    async def close(self) -> None:
        if self._ctx is not None:
            await self._ctx.client.close()


def _post_events(body: Mapping[str, Any], outcome: ReconcileOutcome) -> None:
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message[:1024])  # type: ignore[arg-type]


async def _reconcile_with_edges(runtime: Runtime, body: Mapping[str, Any], retry: int = 0) -> None:
    """Run reconcile under the Experiment's lock, record metrics and map errors to kopf's."""
    meta = body.get("metadata", {})
    namespace, name = meta.get("namespace") or "default", meta["name"]
    metrics = runtime.metrics
    started = time.perf_counter()
    try:
        async with runtime.lock(namespace, name):
            # Whatever triggered us may carry a stale body: reconcile the object as it is now.
            fresh = await runtime.ctx.client.read_object(f"{API_GROUP}/{API_VERSION}", "Experiment", namespace, name)
            if fresh is None:
                return
            body = fresh
            outcome = await reconcile(body, runtime.ctx)
    except KosmosError as exc:
        metrics.reconcile_errors_total.labels(controller=CONTROLLER).inc()
        metrics.reconcile_total.labels(controller=CONTROLLER, result="error").inc()
        raise kopf.TemporaryError(f"{exc.message}", delay=min(60.0, 2.0 ** min(retry, 6))) from exc
    finally:
        metrics.reconcile_time_seconds.labels(controller=CONTROLLER).observe(time.perf_counter() - started)
    metrics.reconcile_total.labels(controller=CONTROLLER, result="success").inc()
    metrics.observe_phase(namespace, name, outcome.phase)
    if outcome.phase in TERMINAL_PHASES and outcome.previous_phase != outcome.phase:
        metrics.observe_finished(
            phase=outcome.phase,
            error_kind=str(outcome.result.error_kind) if outcome.result and outcome.result.error_kind else (
                "validation" if outcome.refused else None),
            run_seconds=outcome.run_seconds, result_bytes=outcome.result_bytes)
    _post_events(body, outcome)
    if outcome.refused:
        raise kopf.PermanentError(f"Experiment {namespace}/{name} refused: {outcome.refused}")


async def _reconcile_owner(runtime: Runtime, child: Mapping[str, Any]) -> None:
    """A Job or pod changed: reconcile the Experiment it belongs to, read fresh from the API."""
    meta = child.get("metadata", {})
    name = (meta.get("labels") or {}).get(LABEL_EXPERIMENT)
    if not name:
        return
    await _reconcile_with_edges(runtime, {"metadata": {"namespace": meta.get("namespace"), "name": name}})


def register(registry: kopf.OperatorRegistry, runtime: Runtime) -> kopf.OperatorRegistry:
    """Add every handler of the operator to ``registry`` (closing over ``runtime``)."""
    experiments = {"group": API_GROUP, "version": API_VERSION, "plural": "experiments", "registry": registry}
    settings = runtime.settings

    @kopf.on.login(registry=registry)
    async def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        info = runtime.login(**kwargs)
        if asyncio.iscoroutine(info):
            info = await info
        if info is not None:
            first = runtime.connection is None
            runtime.connection = Connection.from_info(info)
            if first:
                await ensure_priority_class(runtime)
        return info  # type: ignore[return-value]

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        prefix = runtime.settings.annotation_prefix
        settings.persistence.finalizer = runtime.settings.finalizer
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=prefix)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=prefix)
        settings.posting.level = logging.WARNING  # our own Events are posted explicitly
        settings.posting.reporting_component = "kosmos-operator"

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        await runtime.close()

    @kopf.on.resume(**experiments)  # type: ignore[arg-type]
    @kopf.on.create(**experiments)  # type: ignore[arg-type]
    @kopf.on.update(field="spec", **experiments)  # type: ignore[arg-type]
    async def experiment_changed(body: kopf.Body, retry: int, **_: Any) -> None:
        await _reconcile_with_edges(runtime, body, retry)

    @kopf.timer(interval=settings.resync_seconds, initial_delay=settings.resync_seconds,  # type: ignore[arg-type]
                when=lambda status, **_: status.get("phase") not in TERMINAL_PHASES, **experiments)
    async def experiment_resync(body: kopf.Body, retry: int, **_: Any) -> None:
        await _reconcile_with_edges(runtime, body, retry)

    @kopf.on.delete(optional=True, **experiments)  # type: ignore[arg-type]
    async def experiment_deleted(body: kopf.Body, **_: Any) -> None:
        meta = body.get("metadata", {})
        runtime.metrics.observe_phase(meta.get("namespace") or "default", meta["name"], None)
        runtime._locks.pop((meta.get("namespace") or "default", meta["name"]), None)

    @kopf.on.event("batch", "v1", "jobs", labels={LABEL_MANAGED_BY: MANAGED_BY}, registry=registry)
    async def job_event(body: kopf.Body, type: str | None, **_: Any) -> None:  # noqa: A002 - kopf's name
        if type in ("ADDED", "MODIFIED", "DELETED", None):
            await _reconcile_owner(runtime, body)

    @kopf.on.event("", "v1", "pods", labels={LABEL_SANDBOX: "true"}, registry=registry)
    async def pod_event(body: kopf.Body, type: str | None, **_: Any) -> None:  # noqa: A002 - kopf's name
        if type in ("MODIFIED", None):
            await _reconcile_owner(runtime, body)

    _ = (login, configure, cleanup, experiment_changed, experiment_resync, experiment_deleted, job_event, pod_event)
    return registry


async def ensure_priority_class(runtime: Runtime) -> None:
    """Create the sandbox PriorityClass if missing (best effort: the chart also installs it)."""
    try:
        await runtime.ctx.client.create_object(priority_class_for(runtime.settings))
    except KosmosError as exc:
        _log.warning("Could not ensure PriorityClass %s: %s", runtime.settings.sandbox.priority_class_name, exc)
