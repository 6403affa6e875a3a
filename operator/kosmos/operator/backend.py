"""The Executor's ``kubernetes`` backend: run a program as an Experiment in a cluster.

``Executor(backend="kubernetes").execute(code, input_data)`` submits an Experiment carrying the
program as ``spec.code`` with inline inputs and the resource limits, waits (bounded) for its
terminal status and returns the same ``ExecutionResult`` as the local backend. Registered in
``kosmos.execution.executor.BACKENDS`` by ``kosmos.operator`` on import.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
import uuid
from collections.abc import Mapping
from typing import Any

from kosmos.api.errors import ErrorKind
from kosmos.api.spec import API_GROUP, API_VERSION, KIND
from kosmos.execution.result import ExecutionResult
from kosmos.operator.client import ApiError, Connection, KubeClient

__all__ = ["KubernetesBackend", "experiment_for_request", "kubernetes_backend", "result_from_status"]

_TERMINAL = ("Succeeded", "Failed")


def experiment_for_request(request: Any, *, name: str, namespace: str, image: str | None) -> dict[str, Any]:
    """The Experiment manifest for one ``RunRequest`` (code, inputs, parameters, limits)."""
    limits = request.limits
    cpu = getattr(limits, "cpu_count", 1) or 1
    resources = {
        "cpu": f"{int(round(float(cpu) * 1000))}m",
        "memoryMB": int(getattr(limits, "memory_mb", 512)),
        "timeoutSeconds": int(getattr(limits, "timeout_seconds", 300)),
        "maxFileSizeMB": int(getattr(limits, "max_file_size_mb", 100)),
        "networkAccess": bool(getattr(limits, "network_access", False)),
    }
    spec: dict[str, Any] = {
        "code": request.code,
        "parameters": dict(request.parameters or {}),
        "inputs": [{"name": f.name, "format": f.format, "inline": f.text} for f in request.inputs],
        "resources": resources,
    }
    if image or getattr(request, "docker_image", None):
        spec["image"] = image or request.docker_image
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"app.kubernetes.io/created-by": "kosmos-executor"}},
        "spec": spec,
    }


def result_from_status(status: Mapping[str, Any], *, image: str | None = None) -> ExecutionResult:
    """Map an Experiment's terminal status back to the ExecutionResult the local backend returns."""
    execution = status.get("execution") or {}
    kind = execution.get("errorKind")
    return ExecutionResult(
        success=status.get("phase") == "Succeeded" and bool(execution.get("success", True)),
        output=status.get("results"),
        error=execution.get("error"),
        error_kind=ErrorKind(kind) if kind else None,
        traceback=execution.get("traceback"),
        exit_code=execution.get("exitCode"),
        stdout=execution.get("stdout") or "",
        stderr=execution.get("stderr") or "",
        output_truncated=bool(execution.get("outputTruncated")),
        results_truncated=bool(status.get("resultsTruncated")),
        execution_time=execution.get("executionTime"),
        peak_memory_mb=execution.get("peakMemoryMB"),
        cpu_usage=execution.get("cpuUsage"),
        output_size_bytes=execution.get("outputSizeBytes"),
        artifacts={name: b"" for name in status.get("artifacts") or []},
        measurement=dict(execution.get("measurement") or {}),
        backend="kubernetes",
        docker_image=execution.get("image") or image,
    )


def _default_connection() -> Connection:
    import kopf  # noqa: PLC0415 - kopf's own login helpers read the service account or kubeconfig

    settings = kopf.OperatorSettings()
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(settings=settings)
    if info is None:
        raise ApiError("no Kubernetes credentials found (neither a service account nor a kubeconfig)")
    return Connection.from_info(info)


class KubernetesBackend:
    """Submits one Experiment per run and polls its status until it is terminal."""

    name = "kubernetes"

    def __init__(self, *, connection: Connection | None = None, namespace: str = "default",
                 image: str | None = None, poll_interval_seconds: float = 0.5,
                 extra_wait_seconds: float = 120.0, delete_after: bool = True) -> None:
        self._connection = connection
        self.namespace = namespace
        self.image = image
        self.poll_interval_seconds = poll_interval_seconds
        self.extra_wait_seconds = extra_wait_seconds
        self.delete_after = delete_after

    def run(self, request: Any) -> ExecutionResult:
        """Synchronous, like the local backend; safe to call from inside a running event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.run_async(request))
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self.run_async(request)).result()

    async def run_async(self, request: Any) -> ExecutionResult:
        connection = self._connection or _default_connection()
        client = KubeClient(connection)
        name = f"kosmos-exec-{uuid.uuid4().hex[:10]}"
        body = experiment_for_request(request, name=name, namespace=self.namespace, image=self.image)
        timeout = float(body["spec"]["resources"]["timeoutSeconds"]) + self.extra_wait_seconds
        try:
            await client.create_experiment(body)
            deadline = time.monotonic() + timeout
            while True:
                current = await client.read_object(f"{API_GROUP}/{API_VERSION}", KIND, self.namespace, name)
                status = (current or {}).get("status") or {}
                if status.get("phase") in _TERMINAL:
                    return result_from_status(status, image=self.image)
                if current is None or time.monotonic() > deadline:
                    what = "was deleted" if current is None else f"reached no terminal phase within {timeout:.0f} s"
                    return ExecutionResult(success=False, error_kind=ErrorKind.INFRASTRUCTURE, backend="kubernetes",
                                           error=f"Experiment {self.namespace}/{name} {what} (timeout waiting for the operator)")
                await asyncio.sleep(self.poll_interval_seconds)
        except ApiError as exc:
            return ExecutionResult(success=False, error_kind=ErrorKind.INFRASTRUCTURE, backend="kubernetes",
                                   error=f"the Kubernetes API refused the run: {exc.message}")
        finally:
            if self.delete_after:
                try:
                    await client.delete_object(f"{API_GROUP}/{API_VERSION}", KIND, self.namespace, name)
                except ApiError:
                    pass
            await client.close()


def kubernetes_backend(*, docker_image: str | None = None, connection: Connection | None = None,
                       namespace: str = "default", **_: Any) -> KubernetesBackend:
    """The factory registered as ``BACKENDS["kubernetes"]``."""
    return KubernetesBackend(connection=connection, namespace=namespace, image=docker_image)
