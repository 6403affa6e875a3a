"""The local process sandbox: bubblewrap namespaces, cgroups and rlimits around the runner.

Called by :mod:`kosmos.execution.executor`; :class:`LocalSandbox` is the backend, the other
modules are its parts (discovery, argv building, cgroups, rlimits, process supervision and
the workspace).
"""

from kosmos.execution.sandbox.base import (
    ResourceLimits,
    RunRequest,
    SandboxBackend,
    SandboxSettings,
    SandboxUnavailableError,
)
from kosmos.execution.sandbox.local import LocalSandbox, UnsandboxedRunner

__all__ = [
    "LocalSandbox",
    "ResourceLimits",
    "RunRequest",
    "SandboxBackend",
    "SandboxSettings",
    "SandboxUnavailableError",
    "UnsandboxedRunner",
]
