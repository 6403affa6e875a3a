"""The one vocabulary of failure kinds, shared by the library, the CLI, status and metrics."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ErrorKind", "KosmosError", "ManifestError"]


class ErrorKind(StrEnum):
    """Why an experiment did not succeed (DESIGN.md, "Error kinds")."""

    SYNTAX = "syntax"
    VALIDATION = "validation"
    RUNTIME = "runtime"
    TIMEOUT = "timeout"
    CPU = "cpu"
    MEMORY = "memory"
    OUTPUT_LIMIT = "output_limit"
    FILE_SIZE = "file_size"
    PROCESS_LIMIT = "process_limit"
    DATA = "data"
    INFRASTRUCTURE = "infrastructure"


class KosmosError(Exception):
    """Base of the domain errors; each carries the error kind it reports as."""

    kind: ErrorKind = ErrorKind.INFRASTRUCTURE

    def __init__(self, message: str, *, kind: ErrorKind | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ManifestError(KosmosError):
    """An Experiment manifest is invalid; the message names the field, value and expectation."""

    kind = ErrorKind.VALIDATION

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
