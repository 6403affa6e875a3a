"""Shared types of the sandbox backends: limits, the run request, settings and the Protocol.

Used by the executor (which builds :class:`RunRequest`) and by every backend (which turns it
into an :class:`~kosmos.execution.result.ExecutionResult`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from kosmos.api.errors import ErrorKind, KosmosError

if TYPE_CHECKING:
    from kosmos.api.spec import Resources
    from kosmos.execution.result import ExecutionResult

__all__ = [
    "InputFile",
    "ResourceLimits",
    "RunRequest",
    "SandboxBackend",
    "SandboxSettings",
    "SandboxUnavailableError",
]


class SandboxUnavailableError(KosmosError):
    """No isolation is available on this machine; the message says what is missing."""

    kind = ErrorKind.INFRASTRUCTURE


# (field, whole numbers only, largest value): beyond these the kernel's own limits overflow
_LIMIT_RANGES = (
    ("cpu_count", False, 1024), ("memory_mb", True, 1 << 20), ("timeout_seconds", False, 7 * 86400),
    ("max_file_size_mb", True, 1 << 20), ("max_processes", True, 1 << 15),
    ("cpu_time_seconds", False, 7 * 86400 * 1024),
)


@dataclass(frozen=True)
class ResourceLimits:
    """Hard limits of one run (the documented ``resource_limits`` keys).

    ``cpu_count`` cores (thread counts and the cgroup CPU quota), ``memory_mb`` MiB (cgroup
    memory limit, else RLIMIT_AS), ``timeout_seconds`` of wall clock, ``max_file_size_mb``
    per file (RLIMIT_FSIZE), ``network_access`` (only honoured when the policy allows it).
    ``cpu_time_seconds`` (RLIMIT_CPU) defaults to ``timeout_seconds * cpu_count``;
    ``max_processes`` caps processes and threads (cgroup pids and RLIMIT_NPROC).
    """

    cpu_count: float = 1.0
    memory_mb: int = 512
    timeout_seconds: float = 300.0
    max_file_size_mb: int = 100
    network_access: bool = False
    cpu_time_seconds: float | None = None
    max_processes: int = 64

    def __post_init__(self) -> None:
        for name, whole, most in _LIMIT_RANGES:
            value = getattr(self, name)
            if name == "cpu_time_seconds" and value is None:
                continue
            kind = "a whole number" if whole else "a number"
            if (not isinstance(value, int if whole else (int, float)) or isinstance(value, bool)
                    or not math.isfinite(value) or not 0 < value <= most):
                raise ValueError(f"resource_limits.{name} must be {kind} in (0, {most:g}], got {value!r}")

    @classmethod
    def from_mapping(cls, values: ResourceLimits | dict[str, Any] | None) -> ResourceLimits:
        """Accept the documented dict form (unknown keys are refused, naming them)."""
        if values is None:
            return cls()
        if isinstance(values, cls):
            return values
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown resource_limits keys {unknown}; expected some of {sorted(known)}")
        return cls(**values)

    @classmethod
    def from_resources(cls, resources: Resources) -> ResourceLimits:
        """Convert a manifest's ``spec.resources``."""
        return cls(
            cpu_count=resources.cpu_cores,
            memory_mb=resources.memory_mb,
            timeout_seconds=float(resources.timeout_seconds),
            max_file_size_mb=resources.max_file_size_mb,
            network_access=resources.network_access,
        )

    @property
    def threads(self) -> int:
        """Threads a numerical library may start: whole cores, at least one."""
        return max(1, math.ceil(self.cpu_count))

    @property
    def cpu_seconds(self) -> float:
        if self.cpu_time_seconds is not None:
            return self.cpu_time_seconds
        return self.timeout_seconds * max(1.0, self.cpu_count)


@dataclass(frozen=True)
class SandboxSettings:
    """Machine-level knobs of the local sandbox (sizes in bytes or MiB as named)."""

    max_output_bytes: int = 1 << 20
    max_artifact_bytes: int = 16 << 20
    max_results_bytes: int = 1 << 20
    workspace_mb: int | None = None
    workspace_inodes: int = 10_000
    max_open_files: int = 1024
    allow_network: bool = False
    uid_range: tuple[int, int] = (1_500_000_000, 65_536)
    workspace_root: str | None = None
    cgroup: str = "auto"  # auto | v2 | v1 | none
    launch: str = "auto"  # auto (a launch thread and vfork where possible) | fork (always a forked child)
    seccomp: bool = True  # the seccomp filter of seccomp.py, where libseccomp is available

    def workspace_bytes(self, limits: ResourceLimits) -> int:
        mb = self.workspace_mb if self.workspace_mb is not None else limits.max_file_size_mb + 64
        return mb << 20


@dataclass(frozen=True)
class InputFile:
    """One input as the runner loads it: ``name``, ``format`` (csv | json) and its text."""

    name: str
    format: str
    text: str


@dataclass(frozen=True)
class RunRequest:
    """Everything a backend needs to run one program."""

    code: str
    limits: ResourceLimits
    inputs: tuple[InputFile, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    docker_image: str | None = None


class SandboxBackend(Protocol):
    """A place programs run: the local sandbox or a Kubernetes Job."""

    name: str

    def run(self, request: RunRequest) -> ExecutionResult: ...
