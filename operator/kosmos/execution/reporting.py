"""Build an Experiment's status from what a run produced: the one path for CLI and operator.

Pure: spec, generated-program facts and an ExecutionResult in, ``ExperimentStatus`` out.
Called by ``kosmos.execution.local_run`` (``kosmos run``) and by the operator's reconcile.
What a program reported is checked here entry by entry, so malformed statistics cost a
warning, never the run's status; an optimizer that reported failure fails the run.
"""

from __future__ import annotations

import dataclasses
import math
import types
from datetime import UTC, datetime
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

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
    "checked_statistics",
    "failed_before_run_status",
    "now_rfc3339",
    "optimizer_failure",
    "run_verdict",
    "status_for",
    "terminal_conditions",
]

# Keys by which results are recognised as an optimizer's report: the optimization template's
# names and those of scipy's OptimizeResult (which user programs often return as they are).
_OPTIMIZER_KEYS = frozenset({"optimum", "objectiveValue", "x", "fun"})

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


def _kind_of(annotation: Any, *, plural: bool = False) -> str:
    """A field's type in words: ``float | list[float]`` -> "a number or a list of numbers"."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return " or ".join(_kind_of(a, plural=plural) for a in members)
    if get_origin(annotation) is list:
        return f"a list of {_kind_of(get_args(annotation)[0], plural=True)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        required = [f.alias or n for n, f in annotation.model_fields.items() if f.is_required()]
        noun = "objects" if plural else "an object"
        return f"{noun} with {' and '.join(repr(r) for r in required)}" if required else noun
    words = {
        float: ("a number", "numbers"),
        int: ("an integer", "integers"),
        str: ("a string", "strings"),
        bool: ("true or false", "booleans"),
    }
    return words.get(annotation, (str(annotation), str(annotation)))[plural]


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{text if len(text) <= 40 else text[:37] + '...'} ({type(value).__name__})"


def _problems(raw: dict[str, Any], exc: ValidationError) -> list[str]:
    """One phrase per malformed field of a statistics entry: its path, expected type, value."""
    out: list[str] = []
    for error in exc.errors():
        model: type[BaseModel] | None = StatisticEntry
        value: Any = raw
        path: list[str] = []
        annotation: Any = None
        for part in error["loc"]:  # field aliases, then pydantic's union tags and list indexes
            fields = {f.alias or n: f for n, f in model.model_fields.items()} if model else {}
            if not isinstance(part, str) or part not in fields:
                break
            path.append(part)
            annotation = fields[part].annotation
            value = value.get(part) if isinstance(value, dict) else None
            nested = [a for a in (get_args(annotation) or (annotation,)) if isinstance(a, type)]
            model = next((a for a in nested if issubclass(a, BaseModel)), None)
        name = ".".join(path) or "entry"
        expected = _kind_of(annotation) if annotation is not None else error["msg"].lower()
        if error["type"] == "missing":
            phrase = f"{name}: missing (expected {expected})"
        else:
            phrase = f"{name}: expected {expected}, got {_shown(value)}"
        if phrase not in out:  # a union reports one error per member
            out.append(phrase)
    return out


def checked_statistics(
    results: dict[str, Any] | None,
) -> tuple[list[tuple[dict[str, Any], StatisticEntry]], list[str]]:
    """The well-formed entries of ``results["statistics"]`` and a warning per entry left out.

    Each kept entry comes as (the dict the program reported, its ``StatisticEntry``). An entry
    that does not fit the status schema (or whose p-value lies outside [0, 1]) is left out of
    ``status.statistics`` and of the analysis, with a warning naming it, the field and the
    type expected; the program's ``results`` keep it as reported.
    """
    reported = (results or {}).get("statistics")
    if reported is None:
        return [], []
    if not isinstance(reported, list):
        return [], [
            "results.statistics was left out of status.statistics: expected a list of objects "
            f"with 'test', got {_shown(reported)}."
        ]
    kept: list[tuple[dict[str, Any], StatisticEntry]] = []
    warnings: list[str] = []
    for index, raw in enumerate(reported):
        if not isinstance(raw, dict):
            problems = [f"expected an object with 'test', got {_shown(raw)}"]
        else:
            try:
                entry = StatisticEntry.model_validate(raw)
            except ValidationError as exc:
                problems = _problems(raw, exc)
            else:
                p = entry.p_value
                if p is None or (math.isfinite(p) and 0.0 <= p <= 1.0):
                    kept.append((raw, entry))
                    continue
                problems = [f"pValue: expected a number in [0, 1], got {_shown(raw.get('pValue'))}"]
        warnings.append(
            f"statistics[{index}] was left out of status.statistics: {'; '.join(problems)}."
        )
    return kept, warnings


def _is_optimizer_report(results: dict[str, Any] | None) -> bool:
    if not results:
        return False
    return isinstance(results.get("success"), bool) and not _OPTIMIZER_KEYS.isdisjoint(results)


def optimizer_failure(results: dict[str, Any] | None) -> str | None:
    """Why the optimizer failed, when ``results`` is an optimizer's report of ``success: false``.

    scipy.optimize does not raise when it fails; it says so in ``success`` and ``message``, which
    the optimization template (and programs returning an ``OptimizeResult``) pass on.
    """
    if results is None or not _is_optimizer_report(results) or results["success"] is not False:
        return None
    message = str(results.get("message") or "").strip() or "no message"
    method = results.get("method")
    return f'the optimizer did not converge: "{message}"' + (f" ({method})" if method else "")


def run_verdict(result: ExecutionResult) -> ExecutionResult:
    """The run as judged from what it reported: a failed optimizer makes it a runtime failure.

    The program ran, but what it was run for did not happen, so ``kosmos run`` exits non-zero
    and the Experiment ends Failed; the results stay in the status. Callers that report the
    outcome elsewhere (events, metrics) judge the same way.
    """
    output = result.output if isinstance(result.output, dict) else None
    failure = optimizer_failure(output) if result.success else None
    if failure is None:
        return result
    return dataclasses.replace(result, success=False, error_kind=ErrorKind.RUNTIME, error=failure)


def analysis_for(results: dict[str, Any] | None, alpha: float | None = None) -> Analysis | None:
    """The ``status.analysis`` block for a program's results, or None when there is nothing."""
    kept, warnings = checked_statistics(results)
    return _analysis(results, [raw for raw, _ in kept], warnings, alpha)


def _dropped_keys_warning(results: dict[str, Any] | None) -> list[str]:
    """Say which keys the size cap left out (the runner records them under ``droppedKeys``)."""
    dropped = (results or {}).get("droppedKeys")
    if not isinstance(dropped, dict) or not dropped:
        return []
    named = ", ".join(f"{key} ({size} bytes)" for key, size in list(dropped.items())[:5])
    more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
    return [f"The results were over the size cap; these keys were left out: {named}{more}."]


def _analysis(
    results: dict[str, Any] | None,
    statistics: list[dict[str, Any]],
    warnings: list[str],
    alpha: float | None,
) -> Analysis | None:
    """Analyse the well-formed ``statistics`` (or an optimizer's report); never raises."""
    optimizer = _is_optimizer_report(results)
    truncated = _dropped_keys_warning(results)
    if not statistics and not optimizer:
        if not warnings:
            return Analysis(warnings=truncated) if truncated else None
        return Analysis(
            interpretation="None of the reported statistics could be read (see the warnings), "
            "so nothing was analysed.",
            warnings=[*warnings, *truncated],
        )
    warnings = [*warnings, *truncated]
    readable = {**(results or {}), "statistics": statistics}
    try:
        from kosmos.execution.analyzer import ResultAnalyzer  # noqa: PLC0415 - scipy only when needed

        raw = ResultAnalyzer().analyze(
            results=readable,
            experiment_type="optimization" if optimizer and not statistics else "statistical_test",
            alpha=alpha,
        )
    except Exception as exc:  # whatever a program reported must never cost the run its status
        return Analysis(
            interpretation="The reported results could not be analysed (see the warnings).",
            warnings=[*warnings, f"The analysis failed: {type(exc).__name__}: {exc}"],
        )
    effect = raw.get("effect_size") or {}
    return Analysis(
        significant=raw.get("significant", raw.get("significance")),
        alpha=float(raw.get("alpha") or 0.05),
        p_value=raw.get("p_value"),
        adjusted_p_values=raw.get("adjusted_p_values"),
        adjustment_method=raw.get("adjustment_method"),
        effect_magnitude=raw.get("effect_magnitude") or effect.get("magnitude"),
        interpretation=str(raw.get("interpretation", "")),
        warnings=[*warnings, *raw.get("warnings", [])],
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
    """The terminal status of a run, computed from its ExecutionResult.

    Never raises on what the program reported: malformed statistics are left out with a
    warning in the analysis. A run whose optimizer reported ``success: false`` ends Failed
    (error kind ``runtime``) with its results and analysis kept.
    """
    completion = completion_time or now_rfc3339()
    output = result.output
    if output is not None and not isinstance(output, dict):
        output = {"value": output}
    results = output if result.success else (output or None)
    kept, warnings = checked_statistics(results)
    statistics = [entry for _, entry in kept]
    analysis = (
        _analysis(results, [raw for raw, _ in kept], warnings, alpha) if result.success else None
    )
    result = run_verdict(result)
    if result.success:
        reason, message = "Succeeded", "The program ran in the sandbox and reported its results."
        if analysis is not None and analysis.interpretation:
            message = analysis.interpretation
        if result.backend.endswith("unsafe-no-sandbox"):
            message = "UNSAFE: the program ran WITHOUT a sandbox (--unsafe-no-sandbox). " + message.replace(
                "The program ran in the sandbox and reported its results.", "It reported its results.")
    else:
        kind = result.error_kind or ErrorKind.RUNTIME
        reason, message = REASON_BY_KIND[ErrorKind(kind)], result.error or str(kind)
    return ExperimentStatus(
        phase=Phase.SUCCEEDED if result.success else Phase.FAILED,
        observed_generation=generation,
        conditions=terminal_conditions(
            succeeded=result.success,
            reason=reason,
            message=message,
            generation=generation,
            now=completion,
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
            succeeded=False,
            reason=REASON_BY_KIND[kind],
            message=message,
            generation=generation,
            now=now,
        ),
        start_time=start_time or now,
        completion_time=now,
        code_hash=code_hash,
        execution=ExecutionStatus(success=False, error_kind=kind, error=message),
    )
