"""The Executor's kubernetes backend runs a program through the operator, like the local one."""

from __future__ import annotations

import asyncio

import pytest
import yaml

import kosmos.operator  # noqa: F401 - registers the kubernetes backend
from kosmos.execution.executor import BACKENDS, Executor
from kosmos.testing import SLEEP_CSV
from kosmos.testing.harness import running_operator

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def kubeconfig(cluster, tmp_path, monkeypatch):
    _, url = cluster
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "emulator",
        "clusters": [{"name": "emulator", "cluster": {"server": url}}],
        "users": [{"name": "tester", "user": {"token": "test-token"}}],
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "tester", "namespace": "default"}}],
    }))
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return path


def test_importing_the_operator_registers_the_kubernetes_backend():
    assert "kubernetes" in BACKENDS


async def test_executor_with_the_kubernetes_backend_returns_the_program_results(cluster, jobs, kubeconfig, operator_settings):
    _, url = cluster
    code = "df = input_data['dataset']\nresults = {'n': int(len(df)), 'mean': float(df['extra'].mean())}\n"
    async with running_operator(url, operator_settings):
        executor = Executor(backend="kubernetes", resource_limits={"cpu_count": 1, "memory_mb": 512, "timeout_seconds": 60})
        result = await asyncio.to_thread(executor.execute, code, {"dataset": SLEEP_CSV})
    assert result.success, result.error
    assert result.backend == "kubernetes"
    assert result.output["n"] == 20
    assert result.output["mean"] == pytest.approx(1.54)


async def test_a_failing_program_reports_its_error_kind_through_the_kubernetes_backend(cluster, jobs, kubeconfig, operator_settings):
    _, url = cluster
    async with running_operator(url, operator_settings):
        executor = Executor(backend="kubernetes")
        result = await asyncio.to_thread(executor.execute, "raise KeyError('missing')\n")
    assert not result.success
    assert str(result.error_kind) == "runtime"
    assert "missing" in result.error
