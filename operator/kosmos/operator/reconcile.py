"""The one idempotent reconcile of an Experiment: ensure the run's children, observe, write status.

Level-triggered: every kopf handler (create, update, resume, Job and pod events, timer) calls
``reconcile`` with the Experiment as it is now; the outcome depends only on that body, the
children found through the API and the clock. Status is computed, then diffed, and only the
changed keys are patched. Domain errors propagate (``ApiError``); the handlers map them to
kopf errors. Called by ``kosmos.operator.handlers``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kosmos.api.errors import ErrorKind, KosmosError
from kosmos.api.status import Phase
from kosmos.execution import reporting
from kosmos.execution.result import ExecutionResult
from kosmos.execution.runner import cap_results
from kosmos.operator.builders import CONTAINER_NAME, configmap_for, job_for, network_policy_for, resource_quota_for
from kosmos.operator.classify import RunObservation, RunState, job_finished, observe_run
from kosmos.operator.client import KubeClient
from kosmos.operator.conditions import in_progress_conditions, merge_transition_times
from kosmos.operator.naming import LABEL_EXPERIMENT, LABEL_RUN, RunPlan
from kosmos.operator.planning import ProgramSource, generation_of, plan_for
from kosmos.operator.settings import OperatorSettings

__all__ = ["TERMINAL_PHASES", "Event", "ReconcileContext", "ReconcileOutcome", "reconcile", "status_patch"]

TERMINAL_PHASES = frozenset({Phase.SUCCEEDED.value, Phase.FAILED.value})
_CHILD_KINDS = (("batch/v1", "Job"), ("v1", "ConfigMap"), ("networking.k8s.io/v1", "NetworkPolicy"))


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event to post about the Experiment (the handler layer posts it)."""

    type: str
    reason: str
    message: str


@dataclass
class ReconcileOutcome:
    """What one reconcile did; read by the handlers for events, metrics and error mapping."""

    phase: str
    previous_phase: str | None
    patch: dict[str, Any] | None = None
    events: list[Event] = field(default_factory=list)
    result: ExecutionResult | None = None
    refused: str | None = None  # a validation failure: the handler raises PermanentError
    run_seconds: float | None = None
    result_bytes: int | None = None


@dataclass
class ReconcileContext:
    """What reconcile needs besides the body: API client, settings, clock, caches."""

    client: KubeClient
    settings: OperatorSettings
    generator: ProgramSource | None = None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    quota_namespaces: set[str] = field(default_factory=set)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch turning ``old`` into ``new`` at the top level (None removes a key)."""
    patch = {key: value for key, value in new.items() if old.get(key) != value}
    patch.update({key: None for key in old if key not in new})
    return patch


def _cap_results(status: dict[str, Any], limit: int) -> dict[str, Any]:
    """Keep status under the cap the way the runner does: largest values go first, recorded."""
    results = status.get("results")
    if not isinstance(results, dict):
        return status
    status["results"], dropped = cap_results(results, limit)
    status["resultsTruncated"] = bool(status.get("resultsTruncated")) or dropped
    return status


def _terminal_status(result: ExecutionResult, plan: RunPlan, *, start: str, completion: str) -> dict[str, Any]:
    alpha = plan.parameters.get("alpha")
    status = reporting.status_for(  # an analysis that cannot run becomes a warning in status
        result, code_hash=plan.code_hash, generation=plan.generation, start_time=start,
        completion_time=completion, alpha=float(alpha) if isinstance(alpha, (int, float)) else None,
    )
    return status.to_dict()


def _refused_status(exc: KosmosError, generation: int, start: str | None) -> dict[str, Any]:
    kind = exc.kind if exc.kind in (ErrorKind.SYNTAX, ErrorKind.VALIDATION, ErrorKind.DATA) else ErrorKind.VALIDATION
    return reporting.failed_before_run_status(kind, exc.message, generation=generation, start_time=start).to_dict()


async def _ensure_children(plan: RunPlan, ctx: ReconcileContext, outcome: ReconcileOutcome) -> dict[str, Any]:
    """Get-or-create quota, NetworkPolicy, ConfigMap, then the Job (in that order), and
    delete the children of older runs of this Experiment."""
    client, settings = ctx.client, ctx.settings
    configmap = configmap_for(plan, settings)  # may refuse an oversized run before anything exists
    if settings.quota.enabled and plan.namespace not in ctx.quota_namespaces:
        await client.create_object(resource_quota_for(plan.namespace, settings))
        ctx.quota_namespaces.add(plan.namespace)
    await client.create_object(network_policy_for(plan, settings))
    await client.create_object(configmap)
    job, created = await client.create_object(job_for(plan, settings))
    if created:
        outcome.events.append(Event("Normal", "Created", f"Created Job {plan.namespace}/{plan.name}"))
    for api_version, kind in _CHILD_KINDS:
        for child in await client.list_objects(api_version, kind, plan.namespace, {LABEL_EXPERIMENT: plan.experiment_name}):
            meta = child["metadata"]
            if meta.get("labels", {}).get(LABEL_RUN) != plan.name and await client.delete_object(
                api_version, kind, plan.namespace, meta["name"]
            ):
                outcome.events.append(Event("Normal", "Deleted", f"Deleted {kind} {meta['name']} of an older run"))
    return job


async def _observe(job: Mapping[str, Any], plan: RunPlan, ctx: ReconcileContext) -> RunObservation:
    client, settings = ctx.client, ctx.settings
    pods = await client.list_objects("v1", "Pod", plan.namespace, {LABEL_RUN: plan.name})
    pods.sort(key=lambda p: p.get("metadata", {}).get("creationTimestamp") or "")
    pod = pods[-1] if pods else None
    log = None
    if pod is not None and job_finished(job) is not None:
        log = await client.read_pod_log(plan.namespace, pod["metadata"]["name"],
                                        tail_lines=settings.results.log_tail_lines, container=CONTAINER_NAME)
    events: list[dict[str, Any]] = []
    if pod is None and job_finished(job) is None:
        events = await client.list_events_for(plan.namespace, "Job", plan.name)
    return observe_run(
        job, pod, log, events=events, now=ctx.now(), timeout_seconds=plan.spec.resources.timeout_seconds,
        memory_mb=plan.spec.resources.memory_mb, grace_seconds=settings.stuck_pod_grace_seconds,
        max_output_bytes=settings.results.max_output_bytes,
    )


async def reconcile(body: Mapping[str, Any], ctx: ReconcileContext) -> ReconcileOutcome:
    """Bring one Experiment one step closer to a terminal status; safe to repeat at any time."""
    meta = body.get("metadata", {})
    old: dict[str, Any] = dict(body.get("status") or {})
    generation = generation_of(body)
    phase = old.get("phase")
    outcome = ReconcileOutcome(phase=phase or Phase.PENDING.value, previous_phase=phase)
    if meta.get("deletionTimestamp"):
        return outcome
    if phase in TERMINAL_PHASES and old.get("observedGeneration") == generation:
        return outcome
    now = _rfc3339(ctx.now())
    same_run = old.get("observedGeneration") == generation
    start = old.get("startTime") if same_run else None
    try:
        plan = plan_for(body, ctx.settings, generator=ctx.generator)
        job = await ctx.client.read_object("batch/v1", "Job", plan.namespace, plan.name)
        if job is None and same_run and phase in (Phase.PENDING, Phase.RUNNING) and old.get("codeHash") == plan.code_hash:
            observation: RunObservation | None = RunObservation(
                RunState.DONE, reason="JobGone", result=ExecutionResult(
                    success=False, error_kind=ErrorKind.INFRASTRUCTURE, backend="kubernetes",
                    error="the run's Job was deleted before it reported a result"))
        else:
            if job is None:
                job = await _ensure_children(plan, ctx, outcome)
            observation = None
    except KosmosError as exc:
        if exc.kind not in (ErrorKind.SYNTAX, ErrorKind.VALIDATION, ErrorKind.DATA):
            raise
        new = _refused_status(exc, generation, start or now)
        outcome.refused = exc.message
        outcome.events.append(Event("Warning", "ValidationFailed", exc.message))
        return await _write(body, old, new, outcome, ctx)
    if observation is None:
        assert job is not None
        observation = await _observe(job, plan, ctx)
    if observation.state is RunState.DONE and observation.result is not None:
        if observation.delete_job:
            await ctx.client.delete_object("batch/v1", "Job", plan.namespace, plan.name)
        completion = (job or {}).get("status", {}).get("completionTime") or now
        new = _cap_results(_terminal_status(observation.result, plan, start=start or now, completion=now),
                           ctx.settings.results.max_results_bytes)
        result = reporting.run_verdict(observation.result)  # judged as the status was (failed optimizer)
        outcome.result = result
        outcome.run_seconds = _seconds_between(start or now, completion)
        outcome.result_bytes = len(json.dumps(new.get("results") or {}))
        outcome.events.append(
            Event("Normal", "Succeeded", f"Experiment {plan.namespace}/{plan.experiment_name} succeeded")
            if result.success else
            Event("Warning", "Failed", f"Run failed ({result.error_kind}): {result.error}")
        )
    else:
        new = {
            "phase": Phase.RUNNING.value if observation.state is RunState.RUNNING else Phase.PENDING.value,
            "observedGeneration": generation,
            "conditions": in_progress_conditions(reason=observation.reason, message=observation.message,
                                                 generation=generation, now=now),
            "startTime": start or now,
            "codeHash": plan.code_hash,
        }
    return await _write(body, old, new, outcome, ctx)


def _seconds_between(start: str, end: str) -> float | None:
    try:
        first = datetime.fromisoformat(start.replace("Z", "+00:00"))
        last = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (last - first).total_seconds())


async def _write(
    body: Mapping[str, Any], old: dict[str, Any], new: dict[str, Any], outcome: ReconcileOutcome,
    ctx: ReconcileContext,
) -> ReconcileOutcome:
    """Patch only what changed; events about a phase are kept only when the phase changed."""
    new["conditions"] = merge_transition_times(new.get("conditions") or [], old.get("conditions"))
    patch = status_patch(old, new)
    outcome.phase = new.get("phase", outcome.phase)
    if outcome.phase == outcome.previous_phase and old.get("observedGeneration") == new.get("observedGeneration"):
        outcome.events = [e for e in outcome.events if e.reason not in ("Succeeded", "Failed", "ValidationFailed")]
    if patch:
        meta = body["metadata"]
        await ctx.client.patch_status(meta.get("namespace") or "default", meta["name"], patch)
        outcome.patch = patch
    return outcome
