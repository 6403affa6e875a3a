"""Build an Experiment's status from what a run produced: the one path for CLI and operator.

Pure: spec, generated-program facts and an ExecutionResult in, ``ExperimentStatus`` out.
Called by ``kosmos.execution.local_run`` (``kosmos run``) and by the operator's reconcile.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kosmos.api.errors import ErrorKind
from kosmos.api.status import (
    Analysis,
    Condition,
    ConditionStatus,
    ConditionType,
    ExecutionStatus,
    ExperimentStatus,
    Phase,
    StatisticEntry,
)
from kosmos.execution.result import ExecutionResult

__all__ = [
    "REASON_BY_KIND",
    "analysis_for",
    "failed_before_run_status",
    "now_rfc3339",
    "status_for",
    "terminal_conditions",
]

# Stable CamelCase condition reasons, one per error kind.
REASON_BY_KIND: dict[ErrorKind, str] = {
    ErrorKind.SYNTAX: "SyntaxError",
    ErrorKind.VALIDATION: "ValidationFailed",
    ErrorKind.RUNTIME: "ProgramFailed",
    ErrorKind.TIMEOUT: "Timeout",
    ErrorKind.CPU: "CPULimitExceeded",
    ErrorKind.MEMORY: "MemoryLimitExceeded",
    ErrorKind.OUTPUT_LIMIT: "OutputLimitExceeded",
    ErrorKind.FILE_SIZE: "FileSizeLimitExceeded",
    ErrorKind.PROCESS_LIMIT: "ProcessLimitExceeded",
    ErrorKind.DATA: "DataError",
    ErrorKind.INFRASTRUCTURE: "InfrastructureError",
}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def terminal_conditions(
    *, succeeded: bool, reason: str, message: str, generation: int | None, now: str
) -> list[Condition]:
    """kstatus conditions of a finished run: Ready and the terminal one; Stalled on failure."""

    def condition(ctype: ConditionType, status: ConditionStatus) -> Condition:
        return Condition(
            type=ctype,
            status=status,
            reason=reason,
            message=message,
            last_transition_time=now,
            observed_generation=generation,
        )

    true, false = ConditionStatus.TRUE, ConditionStatus.FALSE
    if succeeded:
        return [
            condition(ConditionType.READY, true),
            condition(ConditionType.RECONCILING, false),
            condition(ConditionType.SUCCEEDED, true),
        ]
    return [
        condition(ConditionType.READY, false),
        condition(ConditionType.RECONCILING, false),
        condition(ConditionType.STALLED, true),
        condition(ConditionType.FAILED, true),
    ]


def analysis_for(results: dict[str, Any] | None, alpha: float | None = None) -> Analysis | None:
    """The ``status.analysis`` block for a program's results, or None when it holds no test."""
    if not results or not results.get("statistics"):
        return None
    from kosmos.execution.analyzer import ResultAnalyzer  # noqa: PLC0415 - scipy only when needed

    level = float(alpha if alpha is not None else results.get("alpha", 0.05))
    raw = ResultAnalyzer().analyze(results=results, experiment_type="statistical_test", alpha=level)
    effect = raw.get("effect_size") or {}
    return Analysis(
        significant=raw.get("significant", raw.get("significance")),
        alpha=float(raw.get("alpha", level)),
        p_value=raw.get("p_value"),
        adjusted_p_values=raw.get("adjusted_p_values"),
        adjustment_method=raw.get("adjustment_method"),
        effect_magnitude=raw.get("effect_magnitude") or effect.get("magnitude"),
        interpretation=str(raw.get("interpretation", "")),
        warnings=list(raw.get("warnings", [])),
    )


def status_for(
    result: ExecutionResult,
    *,
    code_hash: str | None,
    generation: int | None,
    start_time: str,
    completion_time: str | None = None,
    alpha: float | None = None,
) -> ExperimentStatus:
    """The terminal status of a run, computed from its ExecutionResult."""
    completion = completion_time or now_rfc3339()
    results = result.output if result.success else (result.output or None)
    statistics = [StatisticEntry.model_validate(s) for s in (results or {}).get("statistics", [])]
    analysis = analysis_for(results, alpha) if result.success else None
    if result.success:
        reason, message = "Succeeded", "The program ran in the sandbox and reported its results."
        if analysis is not None and analysis.interpretation:
            message = analysis.interpretation
    else:
        kind = result.error_kind or ErrorKind.RUNTIME
        reason, message = REASON_BY_KIND[ErrorKind(kind)], result.error or str(kind)
    return ExperimentStatus(
        phase=Phase.SUCCEEDED if result.success else Phase.FAILED,
        observed_generation=generation,
        conditions=terminal_conditions(
            succeeded=result.success, reason=reason, message=message, generation=generation, now=completion
        ),
        start_time=start_time,
        completion_time=completion,
        code_hash=code_hash,
        execution=result.to_status(),
        results=results,
        results_truncated=result.results_truncated,
        artifacts=sorted(result.artifacts),
        statistics=statistics,
        analysis=analysis,
    )


def failed_before_run_status(
    kind: ErrorKind,
    message: str,
    *,
    generation: int | None,
    code_hash: str | None = None,
    start_time: str | None = None,
) -> ExperimentStatus:
    """Status of an Experiment refused before anything ran (validation, syntax, data)."""
    now = now_rfc3339()
    return ExperimentStatus(
        phase=Phase.FAILED,
        observed_generation=generation,
        conditions=terminal_conditions(
            succeeded=False, reason=REASON_BY_KIND[kind], message=message, generation=generation, now=now
        ),
        start_time=start_time or now,
        completion_time=now,
        code_hash=code_hash,
        execution=ExecutionStatus(success=False, error_kind=kind, error=message),
    )
