"""The operator process of the operator benchmark: Kosmos' real operator or the empty baseline.

Started by ``bench/operator_cluster.py`` as ``python -m bench.operator_worker URL kosmos|baseline``
so that its resident memory is its own. Both log in to the emulator at URL through the same
``@kopf.on.login`` path, use the same kopf settings and the same ``KubeClient``; the baseline
only creates a minimal Job on create and marks the Experiment Succeeded when its Job completes.
Prints ``ready`` once kopf is ready; stops on SIGTERM (kopf's own signal handling).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

import kopf

from kosmos.api.spec import API_GROUP, API_VERSION
from kosmos.operator.client import Connection, KubeClient
from kosmos.operator.handlers import Runtime
from kosmos.operator.main import operator_task
from kosmos.operator.naming import LABEL_EXPERIMENT, LABEL_MANAGED_BY, MANAGED_BY
from kosmos.operator.settings import OperatorSettings

__all__ = ["baseline_registry", "main"]

_EXPERIMENTS = {"group": API_GROUP, "version": API_VERSION, "plural": "experiments"}


def _settings() -> OperatorSettings:
    return OperatorSettings(metrics_port=0, liveness_port=0)


def _configure(settings: kopf.OperatorSettings, ours: OperatorSettings) -> None:
    """The kopf settings Kosmos' operator applies at start-up, so both sides store state alike."""
    prefix = ours.annotation_prefix
    settings.persistence.finalizer = ours.finalizer
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=prefix)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=prefix)
    settings.posting.level = logging.WARNING


def _minimal_job(body: Mapping[str, Any]) -> dict[str, Any]:
    meta = body["metadata"]
    labels = {LABEL_MANAGED_BY: MANAGED_BY, LABEL_EXPERIMENT: meta["name"]}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "labels": labels},
        "spec": {"template": {"metadata": {"labels": labels}, "spec": {
            "restartPolicy": "Never", "containers": [{"name": "sandbox", "image": "busybox"}]}}},
    }


def baseline_registry(url: str) -> tuple[kopf.OperatorRegistry, KubeClient]:
    """The empty operator: the least a kopf operator must do to turn an Experiment into a Job
    and a completed Job into a terminal status, with Kosmos' own client and kopf settings."""
    registry = kopf.OperatorRegistry()
    client = KubeClient(Connection(server=url))
    ours = _settings()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=url, default_namespace="default")

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        _configure(settings, ours)

    @kopf.on.create(registry=registry, **_EXPERIMENTS)  # type: ignore[arg-type]
    async def created(body: kopf.Body, **_: Any) -> None:
        await client.create_object(_minimal_job(body))

    @kopf.on.event("batch", "v1", "jobs", labels={LABEL_MANAGED_BY: MANAGED_BY}, registry=registry)
    async def job_event(body: kopf.Body, **_: Any) -> None:
        conditions = (body.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions):
            meta = body["metadata"]
            await client.patch_status(meta["namespace"], meta["labels"][LABEL_EXPERIMENT],
                                      {"phase": "Succeeded"})

    _ = (login, configure, created, job_event)
    return registry, client


async def _announce(ready: asyncio.Event) -> None:
    await ready.wait()
    print("ready", flush=True)


async def _serve(url: str, which: str) -> None:
    ready = asyncio.Event()
    announcer = asyncio.create_task(_announce(ready))
    if which == "kosmos":
        def login(**_: Any) -> kopf.ConnectionInfo:
            return kopf.ConnectionInfo(server=url, default_namespace="default")

        runtime = Runtime(settings=_settings(), login=login)
        try:
            await operator_task(runtime, ready_flag=ready)
        finally:
            await runtime.close()
    else:
        registry, client = baseline_registry(url)
        try:
            await kopf.operator(registry=registry, standalone=True, clusterwide=True,
                                ready_flag=ready)
        finally:
            await client.close()
    announcer.cancel()


def main(argv: list[str]) -> int:
    url, which = argv
    logging.basicConfig(level=os.environ.get("KOSMOS_BENCH_LOG", "WARNING"))
    asyncio.run(_serve(url, which))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
