"""Executor: run a program with hard limits and return an ExecutionResult (the library API).

Called by library users, ``kosmos run`` and the operator. Backends are looked up in
:data:`BACKENDS` (name -> factory); "local" is the bubblewrap sandbox, and the Kubernetes
backend registers itself there from ``kosmos.operator``.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kosmos.execution.result import ExecutionResult
from kosmos.execution.sandbox import (
    LocalSandbox,
    ResourceLimits,
    RunRequest,
    SandboxBackend,
    SandboxSettings,
    SandboxUnavailableError,
    UnsandboxedRunner,
)
from kosmos.execution.sandbox.base import InputFile

__all__ = ["BACKENDS", "Executor", "ResourceLimits", "SandboxUnavailableError", "register_backend"]

log = logging.getLogger(__name__)

BackendFactory = Callable[..., SandboxBackend]


def _local(*, settings: SandboxSettings | None = None, unsafe_no_sandbox: bool = False, **_: Any) -> SandboxBackend:
    if unsafe_no_sandbox:
        return UnsandboxedRunner(settings)
    return LocalSandbox(settings)


BACKENDS: dict[str, BackendFactory] = {"local": _local}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Add a backend (the Kubernetes one registers itself from ``kosmos.operator``)."""
    BACKENDS[name] = factory


def _input_files(input_data: Mapping[str, Any] | None, inputs: Iterable[tuple[str, str, str]] | None) -> tuple[InputFile, ...]:
    files: list[InputFile] = []
    for name, fmt, text in inputs or ():
        files.append(InputFile(str(name), str(fmt), str(text)))
    for name, value in (input_data or {}).items():
        if hasattr(value, "to_csv"):
            buffer = io.StringIO()
            value.to_csv(buffer, index=False)
            files.append(InputFile(str(name), "csv", buffer.getvalue()))
        elif isinstance(value, str):
            files.append(InputFile(str(name), "csv", value))
        else:
            files.append(InputFile(str(name), "json", json.dumps(value)))
    return tuple(files)


class Executor:
    """Run generated or user programs in a sandbox.

    ``resource_limits`` takes the documented keys (``cpu_count``, ``memory_mb``,
    ``timeout_seconds``, ``max_file_size_mb``, ``network_access``) or a :class:`ResourceLimits`.
    Raises :class:`SandboxUnavailableError` when no isolation exists, unless
    ``unsafe_no_sandbox`` is true (then it warns loudly and records it in the result).
    """

    def __init__(self, docker_image: str | None = None, resource_limits: ResourceLimits | Mapping[str, Any] | None = None,
                 *, backend: str = "local", unsafe_no_sandbox: bool = False,
                 settings: SandboxSettings | None = None) -> None:
        self.docker_image = docker_image
        self.resource_limits = ResourceLimits.from_mapping(dict(resource_limits) if isinstance(resource_limits, Mapping) else resource_limits)
        self.backend_name = backend
        self.unsafe_no_sandbox = unsafe_no_sandbox
        factory = BACKENDS.get(backend)
        if factory is None:
            raise ValueError(f"unknown executor backend {backend!r}; known: {sorted(BACKENDS)}")
        if unsafe_no_sandbox:
            log.warning("UNSAFE: Executor created with unsafe_no_sandbox=True; programs will run WITHOUT isolation")
        self._backend = factory(settings=settings, unsafe_no_sandbox=unsafe_no_sandbox, docker_image=docker_image)

    @property
    def backend(self) -> SandboxBackend:
        return self._backend

    def execute(self, code: str, input_data: Mapping[str, Any] | None = None, *,
                parameters: Mapping[str, Any] | None = None,
                inputs: Iterable[tuple[str, str, str]] | None = None) -> ExecutionResult:
        """Run ``code`` and return what happened; never raises for program failures."""
        request = RunRequest(code=code, limits=self.resource_limits, inputs=_input_files(input_data, inputs),
                             parameters=dict(parameters or {}), docker_image=self.docker_image)
        return self._backend.run(request)
