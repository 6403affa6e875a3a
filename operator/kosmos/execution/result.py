"""ExecutionResult: what one run of a program produced, the same for every executor backend.

Built by the sandbox backends from the runner's envelope and their own measurements; read by
library users, the CLI and the status builder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kosmos.api.errors import ErrorKind
from kosmos.api.status import ExecutionStatus

__all__ = ["ExecutionResult"]


@dataclass(frozen=True)
class ExecutionResult:
    """The outcome of one sandboxed run.

    ``output`` is the JSON object the program reported (its ``results`` variable); ``error_kind``
    is one of :class:`~kosmos.api.errors.ErrorKind` when ``success`` is false.
    """

    success: bool
    output: dict[str, Any] | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    traceback: str | None = None
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    output_truncated: bool = False
    results_truncated: bool = False
    execution_time: float | None = None
    peak_memory_mb: float | None = None
    cpu_usage: float | None = None
    output_size_bytes: int | None = None
    artifacts: dict[str, bytes] = field(default_factory=dict)
    measurement: dict[str, str] = field(default_factory=dict)
    backend: str = "local"
    docker_image: str | None = None

    @property
    def error_type(self) -> str | None:
        """Alias kept for callers of the documented Kosmos API."""
        return None if self.error_kind is None else str(self.error_kind)

    def to_status(self, *, include_output_text: bool = True) -> ExecutionStatus:
        """The ``status.execution`` block for this run."""
        return ExecutionStatus(
            success=self.success,
            exit_code=self.exit_code,
            error_kind=self.error_kind,
            error=self.error,
            traceback=self.traceback,
            execution_time=self.execution_time,
            peak_memory_mb=self.peak_memory_mb,
            cpu_usage=self.cpu_usage,
            output_size_bytes=self.output_size_bytes,
            stdout=self.stdout if include_output_text and self.stdout else None,
            stderr=self.stderr if include_output_text and self.stderr else None,
            output_truncated=self.output_truncated,
            measurement=dict(self.measurement),
            backend=self.backend,
            image=self.docker_image,
        )
