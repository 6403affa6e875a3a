"""The Kubernetes operator: kopf handlers (thin), pure manifest builders, reconcile, metrics.

Importing this package registers the Executor's ``kubernetes`` backend (the factory imports
its module only when a Kubernetes Executor is created).
"""

from __future__ import annotations

from typing import Any

__all__: list[str] = []


def _kubernetes_backend(**kwargs: Any) -> Any:
    from kosmos.operator.backend import kubernetes_backend  # noqa: PLC0415 - aiohttp only when used

    return kubernetes_backend(**kwargs)


def _register() -> None:
    try:
        from kosmos.execution.executor import register_backend  # noqa: PLC0415
    except ImportError:  # a slim install without the executor
        return
    register_backend("kubernetes", _kubernetes_backend)


_register()
