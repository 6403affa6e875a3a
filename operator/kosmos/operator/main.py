"""``kosmos operator``: run the kopf operator with metrics and a liveness endpoint.

Called by the CLI (``run_operator(settings)``); everything else comes in through ``settings``.
"""

from __future__ import annotations

import asyncio
import logging

import kopf
from prometheus_client import start_http_server

from kosmos.operator.handlers import Runtime, register
from kosmos.operator.metrics import Metrics
from kosmos.operator.settings import OperatorSettings

__all__ = ["operator_task", "run_operator"]


async def operator_task(runtime: Runtime, *, stop_flag: asyncio.Event | None = None,
                        ready_flag: asyncio.Event | None = None, liveness_endpoint: str | None = None) -> None:
    """The operator as a coroutine on the current loop (tests and benchmarks run it this way)."""
    registry = register(kopf.OperatorRegistry(), runtime)
    namespaces = list(runtime.settings.namespaces)
    await kopf.operator(
        registry=registry,
        standalone=True,  # one replica: no peering
        clusterwide=not namespaces,
        namespaces=namespaces,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
        liveness_endpoint=liveness_endpoint,
    )


def run_operator(settings: OperatorSettings | None = None) -> None:
    """Block running the operator: Prometheus on ``metrics_port``, liveness on ``liveness_port``."""
    settings = settings or OperatorSettings.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    runtime = Runtime(settings=settings, metrics=Metrics())
    if settings.metrics_port:
        start_http_server(settings.metrics_port, registry=runtime.metrics.registry)
    liveness = f"http://0.0.0.0:{settings.liveness_port}/healthz" if settings.liveness_port else None
    asyncio.run(operator_task(runtime, liveness_endpoint=liveness))
