"""`kosmos operator` as a platform engineer starts it: a process, a kubeconfig, KOSMOS_* settings.

The emulated API server runs in the test; the operator is the real command in a subprocess,
logged in through a kubeconfig file, serving Prometheus metrics and kopf's liveness endpoint.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import yaml

from kosmos.testing import experiment_body, sleep_spec
from kosmos.testing.emulator import objects_of
from kosmos.testing.harness import wait_for

pytestmark = pytest.mark.timeout(120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kubeconfig_for(url: str, folder: Path) -> Path:
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "emulator",
        "clusters": [{"name": "emulator", "cluster": {"server": url}}],
        "users": [{"name": "tester", "user": {"token": "test-token"}}],
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "tester"}}],
    }
    path = folder / "kubeconfig"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def test_the_operator_command_reconciles_and_serves_metrics_and_liveness(cluster, api, tmp_path):
    emulator, url = cluster
    metrics_port, liveness_port = free_port(), free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(kubeconfig_for(url, tmp_path)),
        "KOSMOS_METRICS_PORT": str(metrics_port),
        "KOSMOS_LIVENESS_PORT": str(liveness_port),
        "KOSMOS_RESYNC_SECONDS": "1",
    }
    log = (tmp_path / "operator.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "kosmos.cli", "operator"], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        refused = sleep_spec(parameters={"test": "no_such_test", "value": "extra", "group": "group"})
        await api.create_experiment(experiment_body("refused", spec=refused))
        body = await wait_for(lambda: api.terminal("refused"), timeout=60, what="refused terminal")
        assert body["status"]["phase"] == "Failed"
        assert body["status"]["execution"]["errorKind"] == "validation"
        assert objects_of(emulator, "jobs", "batch") == []

        await api.create_experiment(experiment_body("sleep-drug", spec=sleep_spec()))
        (job,) = await wait_for(lambda: objects_of(emulator, "jobs", "batch"), timeout=60, what="a Job")
        assert job["metadata"]["ownerReferences"][0]["name"] == "sleep-drug"

        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{metrics_port}/metrics") as r:
                assert r.status == 200
                metrics = await r.text()
            async with session.get(f"http://127.0.0.1:{liveness_port}/healthz") as r:
                assert r.status == 200
        assert 'controller_runtime_reconcile_total{controller="experiment",result="success"}' in metrics
        assert "kosmos_experiments" in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 30)
        log.close()
    assert code == 0, (tmp_path / "operator.log").read_text()
