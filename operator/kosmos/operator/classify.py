"""What a run's Job and pod say: still pending, running, or done with which ExecutionResult.

Pure: Job, pod, pod log and Events in, ``RunObservation`` out. Failures are classified from
pod and Job status (OOMKilled -> memory, DeadlineExceeded -> timeout, image pull, unschedulable
and over-quota -> infrastructure, non-zero exit -> runtime); a missing or malformed envelope
ends the run too, so nothing stays Running forever. Called by reconcile.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from kosmos.api.errors import ErrorKind
from kosmos.execution.result import ExecutionResult

__all__ = [
    "ENVELOPE_MARKER",
    "IMAGE_PULL_REASONS",
    "Envelope",
    "RunObservation",
    "RunState",
    "job_finished",
    "observe_run",
    "parse_envelope",
    "parse_termination_message",
]

ENVELOPE_MARKER = "KOSMOS-ENVELOPE "  # the runner's stdout marker (kosmos.execution.runner)
IMAGE_PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
_CONFIG_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError", "RunContainerError"})


class RunState(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    DONE = "Done"


@dataclass(frozen=True)
class RunObservation:
    """The state of a run; ``result`` is set when DONE. ``delete_job`` stops a stuck pod."""

    state: RunState
    reason: str = ""
    message: str = ""
    result: ExecutionResult | None = None
    delete_job: bool = False


@dataclass(frozen=True)
class Envelope:
    """The runner's envelope found in a pod log, with the program's output before it."""

    data: dict[str, Any] | None
    stdout: str
    malformed: bool = False


def parse_envelope(log: str | None) -> Envelope:
    """Find the last ``KOSMOS-ENVELOPE {json}`` line; anything unparsable is ``malformed``."""
    if not log:
        return Envelope(data=None, stdout="")
    lines = log.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(ENVELOPE_MARKER):
            stdout = "\n".join(lines[:index]).rstrip("\n")
            try:
                data = json.loads(lines[index][len(ENVELOPE_MARKER):])
            except ValueError:
                return Envelope(data=None, stdout=stdout, malformed=True)
            if not isinstance(data, dict) or data.get("kosmosEnvelope") != 1 or "success" not in data:
                return Envelope(data=None, stdout=stdout, malformed=True)
            return Envelope(data=data, stdout=stdout)
    return Envelope(data=None, stdout=log, malformed=False)


def parse_termination_message(text: str | None) -> dict[str, Any] | None:
    """The runner's compact JSON from the termination message, or None."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("kosmosEnvelope") == 1 else None


def _condition(obj: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    for cond in obj.get("status", {}).get("conditions") or []:
        if cond.get("type") == ctype and cond.get("status") == "True":
            return dict(cond)
    return None


def job_finished(job: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Job's terminal condition (Complete, Failed, or a DeadlineExceeded FailureTarget)."""
    for ctype in ("Complete", "Failed", "SuccessCriteriaMet"):
        cond = _condition(job, ctype)
        if cond is not None:
            return cond
    target = _condition(job, "FailureTarget")
    if target is not None and target.get("reason") == "DeadlineExceeded":
        return target
    return None


def _container_status(pod: Mapping[str, Any] | None) -> Mapping[str, Any]:
    statuses = (pod or {}).get("status", {}).get("containerStatuses") or []
    return statuses[0] if statuses else {}


def _age_seconds(timestamp: str | None, now: datetime) -> float:
    if not timestamp:
        return 0.0
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (now - then).total_seconds()


def _cap(text: str, limit: int) -> tuple[str, bool]:
    raw = text.encode()
    if len(raw) <= limit:
        return text, False
    return raw[:limit].decode(errors="ignore"), True


def _failed(kind: ErrorKind, message: str, *, exit_code: int | None = None, stdout: str = "",
            image: str | None = None, delete_job: bool = False, reason: str = "") -> RunObservation:
    result = ExecutionResult(
        success=False, error=message, error_kind=kind, exit_code=exit_code, stdout=stdout,
        backend="kubernetes", docker_image=image, output_size_bytes=len(stdout.encode()) if stdout else None,
    )
    return RunObservation(RunState.DONE, reason=reason or str(kind), message=message, result=result, delete_job=delete_job)


def _from_envelope(
    envelope: Envelope, terminated: Mapping[str, Any], *, image: str | None, max_output_bytes: int
) -> ExecutionResult:
    data = envelope.data or {}
    stdout, truncated = _cap(envelope.stdout, max_output_bytes)
    kind = data.get("errorKind")
    timings = data.get("timings") or {}
    run_seconds = timings.get("runSeconds")
    measurement = {"executionTime": "runner timings.runSeconds (program only, inside the pod)"}
    if run_seconds is None:
        measurement = {}
    return ExecutionResult(
        success=bool(data.get("success")) and kind is None,
        output=data.get("results"),
        error=data.get("error"),
        error_kind=ErrorKind(kind) if kind else None,
        traceback=data.get("traceback"),
        exit_code=terminated.get("exitCode"),
        stdout=stdout,
        output_truncated=truncated,
        results_truncated=bool(data.get("resultsTruncated")),
        execution_time=float(run_seconds) if run_seconds is not None else None,
        output_size_bytes=len(envelope.stdout.encode()),
        artifacts={name: b"" for name in data.get("artifacts") or []},
        measurement=measurement,
        backend="kubernetes",
        docker_image=image,
    )


def _finished_run(
    job: Mapping[str, Any], done: Mapping[str, Any], pod: Mapping[str, Any] | None, log: str | None,
    *, timeout_seconds: int, memory_mb: int, image: str | None, max_output_bytes: int,
) -> RunObservation:
    container = _container_status(pod)
    terminated = (container.get("state") or {}).get("terminated") or (container.get("lastState") or {}).get("terminated") or {}
    exit_code = terminated.get("exitCode")
    if done.get("reason") == "DeadlineExceeded":
        return _failed(ErrorKind.TIMEOUT, f"the run hit its timeout of {timeout_seconds} seconds "
                       "(Job activeDeadlineSeconds, DeadlineExceeded)", exit_code=exit_code, image=image,
                       reason="DeadlineExceeded")
    if terminated.get("reason") == "OOMKilled":
        return _failed(ErrorKind.MEMORY, f"the program ran out of memory: it exceeded the memory limit of "
                       f"{memory_mb} MiB and was killed (OOMKilled)", exit_code=exit_code, image=image,
                       reason="OOMKilled")
    envelope = parse_envelope(log)
    if envelope.data is not None:
        result = _from_envelope(envelope, terminated, image=image, max_output_bytes=max_output_bytes)
        return RunObservation(RunState.DONE, reason="Envelope", message="", result=result)
    compact = parse_termination_message(terminated.get("message"))
    stdout, _ = _cap(envelope.stdout, max_output_bytes)
    what = "malformed" if envelope.malformed else "missing"
    if compact is not None and compact.get("errorKind"):
        return _failed(ErrorKind(compact["errorKind"]), str(compact.get("error") or compact["errorKind"]),
                       exit_code=exit_code, stdout=stdout, image=image, reason="TerminationMessage")
    if exit_code not in (None, 0):
        detail = terminated.get("reason") or "Error"
        return _failed(ErrorKind.RUNTIME, f"the program exited with code {exit_code} ({detail}) and its result "
                       f"envelope was {what}", exit_code=exit_code, stdout=stdout, image=image, reason="NonZeroExit")
    if pod is None:
        reason = done.get("reason") or done.get("type", "")
        return _failed(ErrorKind.INFRASTRUCTURE, f"the Job finished ({done.get('type')}: {reason}) but its pod is "
                       f"gone, so the result could not be read {done.get('message') or ''}".strip(),
                       image=image, reason="PodGone")
    return _failed(ErrorKind.INFRASTRUCTURE, f"the run finished but its result envelope was {what} in the pod "
                   "log", exit_code=exit_code, stdout=stdout, image=image, reason=f"Envelope{what.title()}")


def _stuck_pod(
    job: Mapping[str, Any], pod: Mapping[str, Any] | None, events: Sequence[Mapping[str, Any]],
    *, now: datetime, grace_seconds: float, image: str | None,
) -> RunObservation | None:
    container = _container_status(pod)
    waiting = (container.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason", "")
    if reason in IMAGE_PULL_REASONS:
        return _failed(ErrorKind.INFRASTRUCTURE, f"the sandbox image {image} could not be pulled ({reason}): "
                       f"{waiting.get('message', '')}".strip(), image=image, delete_job=True, reason=reason)
    if reason in _CONFIG_REASONS:
        return _failed(ErrorKind.INFRASTRUCTURE, f"the sandbox container could not start ({reason}): "
                       f"{waiting.get('message', '')}".strip(), image=image, delete_job=True, reason=reason)
    if pod is not None:
        for cond in pod.get("status", {}).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False" and cond.get("reason") == "Unschedulable":
                if _age_seconds(cond.get("lastTransitionTime"), now) >= grace_seconds:
                    return _failed(ErrorKind.INFRASTRUCTURE, f"the sandbox pod could not be scheduled "
                                   f"(Unschedulable): {cond.get('message', '')}".strip(), image=image,
                                   delete_job=True, reason="Unschedulable")
                return RunObservation(RunState.PENDING, reason="Unschedulable", message=str(cond.get("message", "")))
        return None
    for event in events:
        message = str(event.get("message", ""))
        if event.get("reason") == "FailedCreate" and "exceeded quota" in message:
            if _age_seconds(job.get("metadata", {}).get("creationTimestamp"), now) >= grace_seconds:
                return _failed(ErrorKind.INFRASTRUCTURE, f"the sandbox pod was refused by the namespace quota: "
                               f"{message}", image=image, delete_job=True, reason="QuotaExceeded")
            return RunObservation(RunState.PENDING, reason="QuotaExceeded", message=message)
    return None


def observe_run(
    job: Mapping[str, Any],
    pod: Mapping[str, Any] | None,
    log: str | None,
    *,
    events: Sequence[Mapping[str, Any]] = (),
    now: datetime,
    timeout_seconds: int,
    memory_mb: int,
    grace_seconds: float,
    max_output_bytes: int,
) -> RunObservation:
    """Classify one run from its Job, its (first) pod, the pod's log tail and Job Events."""
    template = job.get("spec", {}).get("template", {}).get("spec", {})
    image = (template.get("containers") or [{}])[0].get("image")
    done = job_finished(job)
    if done is not None:
        return _finished_run(job, done, pod, log, timeout_seconds=timeout_seconds, memory_mb=memory_mb,
                             image=image, max_output_bytes=max_output_bytes)
    stuck = _stuck_pod(job, pod, events, now=now, grace_seconds=grace_seconds, image=image)
    if stuck is not None:
        return stuck
    container = _container_status(pod)
    if (container.get("state") or {}).get("running") or (pod or {}).get("status", {}).get("phase") == "Running":
        return RunObservation(RunState.RUNNING, reason="PodRunning", message="The program is running in its sandbox pod.")
    if (container.get("state") or {}).get("terminated"):
        # The container ended but the Job controller has not marked the Job yet: wait for it.
        return RunObservation(RunState.RUNNING, reason="PodTerminated", message="The sandbox pod finished; waiting for the Job.")
    return RunObservation(RunState.PENDING, reason="JobCreated", message="The Job is waiting for its pod to start.")
