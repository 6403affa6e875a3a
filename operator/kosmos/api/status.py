"""Pydantic models of the Experiment status: what ``kosmos run`` prints and the operator writes.

Pure data; built by ``kosmos.execution.status`` (local) and ``kosmos.operator`` (cluster).
Full precision is kept here; rounding happens only for display.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from kosmos.api.errors import ErrorKind

__all__ = [
    "Analysis",
    "Condition",
    "ConditionStatus",
    "ConditionType",
    "EffectSize",
    "ExecutionStatus",
    "ExperimentStatus",
    "Phase",
    "StatisticEntry",
]


class Phase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class ConditionType(StrEnum):
    """kstatus-style condition types plus the terminal ones."""

    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", use_enum_values=True
    )

    def to_dict(self) -> dict[str, Any]:
        """camelCase dict for YAML, JSON and the Kubernetes API, without unset optionals."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Condition(_Model):
    """A Kubernetes-style condition (metav1.Condition shape)."""

    type: str = Field(description="Ready, Reconciling, Stalled, Succeeded or Failed.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(description="Stable CamelCase reason.")
    message: str = Field(default="", description="Human-readable detail.")
    last_transition_time: str | None = Field(default=None, description="RFC 3339 time of the last change.")
    observed_generation: int | None = Field(default=None, description="Generation this condition describes.")


class ExecutionStatus(_Model):
    """How the program ran: outcome, error kind and measurements."""

    success: bool = Field(description="True when the program ran to completion and reported results.")
    exit_code: int | None = Field(default=None, description="Exit code of the sandboxed process.")
    error_kind: ErrorKind | None = Field(default=None, description="One of the Kosmos error kinds.")
    error: str | None = Field(default=None, description="What went wrong, in one line.")
    traceback: str | None = Field(default=None, description="The program's traceback, when it raised.")
    execution_time: float | None = Field(default=None, description="Wall-clock seconds of the run.")
    peak_memory_mb: float | None = Field(default=None, alias="peakMemoryMB", description="Peak resident memory in MiB.")
    cpu_usage: float | None = Field(default=None, description="CPU time over wall time, percent of one core.")
    output_size_bytes: int | None = Field(default=None, description="Bytes the program wrote to stdout and stderr.")
    stdout: str | None = Field(default=None, description="The program's standard output (capped).")
    stderr: str | None = Field(default=None, description="The program's standard error (capped).")
    output_truncated: bool = Field(default=False, description="True when stdout or stderr was cut at the cap.")
    measurement: dict[str, str] = Field(
        default_factory=dict, description="How each measurement was taken (e.g. cgroup memory.max_usage_in_bytes)."
    )
    backend: str | None = Field(default=None, description="Where it ran: local sandbox or kubernetes.")
    image: str | None = Field(default=None, description="Sandbox image (cluster) or the one recorded for it.")


class EffectSize(_Model):
    name: str = Field(description="e.g. hedges_g, cohens_d, eta_squared, pearson_r, cramers_v.")
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    magnitude: str | None = Field(default=None, description="Conventional label (Cohen 1988 and others).")


class StatisticEntry(_Model):
    """One statistical test as reported in status; test-specific extra fields are kept."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", use_enum_values=True
    )

    test: str = Field(description="The exact variant, e.g. welch_t, student_t, one_way_anova.")
    statistic: float | None = None
    df: float | list[float] | None = Field(default=None, description="Degrees of freedom (two for F).")
    p_value: float | None = None
    n: list[int] | int | None = Field(default=None, description="Sample size(s).")
    effect_size: EffectSize | None = None


class Analysis(_Model):
    significant: bool | None = Field(default=None, description="p below alpha (after adjustment, with several tests).")
    alpha: float = 0.05
    p_value: float | None = None
    adjusted_p_values: list[float] | None = None
    adjustment_method: str | None = None
    effect_magnitude: str | None = None
    interpretation: str = ""
    warnings: list[str] = Field(default_factory=list)


class ExperimentStatus(_Model):
    phase: Phase = Field(default=Phase.PENDING, description="Pending, Running, Succeeded or Failed.")
    observed_generation: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
    start_time: str | None = None
    completion_time: str | None = None
    code_hash: str | None = Field(default=None, description="sha256 of the program that ran.")
    execution: ExecutionStatus | None = None
    results: dict[str, Any] | None = Field(default=None, description="The JSON object the program reported.")
    results_truncated: bool = Field(default=False, description="True when results were cut at the size cap.")
    artifacts: list[str] = Field(default_factory=list, description="Files the program saved (names only).")
    statistics: list[StatisticEntry] = Field(default_factory=list)
    analysis: Analysis | None = None
