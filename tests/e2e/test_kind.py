"""End to end on a kind cluster: images, chart, examples, statistics, no network, OOM -> memory.

Needs a Docker engine, ``kind`` (>= 0.24, whose kindnet enforces NetworkPolicy), ``helm`` and
``kubectl`` on PATH; skips with the missing piece named otherwise. .github/workflows/e2e.yml
runs it on a hosted runner. ``KOSMOS_E2E_CLUSTER=<name>`` reuses an existing kind cluster
and leaves it running (for debugging); by default a fresh cluster is created and deleted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = Path(__file__).resolve().parent / "manifests"
OPERATOR_IMAGE = "kosmos-operator:e2e"
SANDBOX_IMAGE = "kosmos-sandbox:e2e"
NAMESPACE = "kosmos-system"
RESEARCH = "research"
WAIT = "420s"

pytestmark = [pytest.mark.kind, pytest.mark.slow, pytest.mark.timeout(2400)]


def _run(
    *args: str, input_text: str | None = None, check: bool = True, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), input=input_text, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def missing_prerequisite() -> str | None:
    """Why this machine cannot run the kind tests (every missing piece), or None when it can."""
    problems = [
        f"`{tool}` is not installed"
        for tool in ("kind", "helm", "kubectl", "docker")
        if shutil.which(tool) is None
    ]
    if shutil.which("docker") is not None:
        try:
            info = subprocess.run(
                ["docker", "info", "--format", "{{.ServerVersion}}"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if info.returncode != 0:
                detail = (info.stderr.strip().splitlines() or ["no output"])[-1]
                problems.insert(0, f"`docker` cannot reach a container engine ({detail})")
        except subprocess.TimeoutExpired:
            problems.insert(0, "`docker info` timed out: no container engine answers")
    if not problems:
        return None
    return "kind end-to-end tests need a Docker engine, kind, helm and kubectl: " + "; ".join(
        problems
    )


def _kind_version() -> tuple[int, int]:
    match = re.search(r"v(\d+)\.(\d+)", _run("kind", "version").stdout)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


@dataclass
class Cluster:
    name: str
    kubeconfig: Path

    def kubectl(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return _run("kubectl", "--kubeconfig", str(self.kubeconfig), *args, **kwargs)

    def helm(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _run("helm", "--kubeconfig", str(self.kubeconfig), *args)

    def experiment(self, name: str) -> dict[str, Any]:
        return json.loads(
            self.kubectl("-n", RESEARCH, "get", "experiment", name, "-o", "json").stdout
        )

    def diagnostics(self) -> str:
        parts = []
        for args in (
            ("get", "experiments,jobs,pods,networkpolicies,resourcequotas", "-A", "-o", "wide"),
            ("-n", NAMESPACE, "logs", "deployment/kosmos-operator", "--tail", "200"),
        ):
            parts.append(self.kubectl(*args, check=False).stdout)
        return "\n".join(parts)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    reason = missing_prerequisite()
    if reason:
        pytest.skip(reason)
    kubeconfig = tmp_path_factory.mktemp("kind") / "kubeconfig"
    reuse = os.environ.get("KOSMOS_E2E_CLUSTER")
    name = reuse or f"kosmos-e2e-{uuid.uuid4().hex[:6]}"
    if reuse:
        kubeconfig.write_text(_run("kind", "get", "kubeconfig", "--name", name).stdout)
    else:
        _run(
            "kind",
            "create",
            "cluster",
            "--name",
            name,
            "--kubeconfig",
            str(kubeconfig),
            "--wait",
            "180s",
        )
    try:
        yield Cluster(name, kubeconfig)
    finally:
        if not reuse:
            _run("kind", "delete", "cluster", "--name", name, check=False)


@pytest.fixture(scope="module")
def installed(cluster: Cluster) -> Cluster:
    """Both images built and loaded, the chart installed, the research namespace ready."""
    _run(
        "docker",
        "build",
        "-t",
        OPERATOR_IMAGE,
        "-f",
        str(REPO / "Dockerfile"),
        str(REPO),
        timeout=1800,
    )
    _run(
        "docker",
        "build",
        "-t",
        SANDBOX_IMAGE,
        "-f",
        str(REPO / "sandbox-image" / "Dockerfile"),
        str(REPO),
        timeout=1800,
    )
    for image in (OPERATOR_IMAGE, SANDBOX_IMAGE):
        _run("kind", "load", "docker-image", image, "--name", cluster.name, timeout=900)
    cluster.helm(
        "upgrade",
        "--install",
        "kosmos",
        str(REPO / "charts" / "kosmos"),
        "--namespace",
        NAMESPACE,
        "--create-namespace",
        "--wait",
        "--timeout",
        "10m",
        "--set",
        "image.repository=kosmos-operator",
        "--set",
        "image.tag=e2e",
        "--set",
        "image.pullPolicy=Never",
        "--set",
        f"settings.sandbox.image={SANDBOX_IMAGE}",
        "--set",
        "settings.sandbox.image_pull_policy=Never",
    )
    cluster.kubectl("create", "namespace", RESEARCH, check=False)
    cluster.kubectl(
        "-n", NAMESPACE, "rollout", "status", "deployment/kosmos-operator", "--timeout", WAIT
    )
    return cluster


def _apply_and_wait(cluster: Cluster, manifest: Path, name: str, condition: str) -> dict[str, Any]:
    cluster.kubectl("-n", RESEARCH, "apply", "-f", str(manifest))
    waited = cluster.kubectl(
        "-n",
        RESEARCH,
        "wait",
        f"experiment/{name}",
        f"--for={condition}",
        f"--timeout={WAIT}",
        check=False,
    )
    assert waited.returncode == 0, (
        f"{name} never met {condition}: {waited.stderr}\n{cluster.diagnostics()}"
    )
    return cluster.experiment(name)


def _statistic(experiment: dict[str, Any]) -> dict[str, Any]:
    status = experiment["status"]
    assert status["phase"] == "Succeeded", json.dumps(status, indent=2)
    return status["statistics"][0]


def test_sleep_example_reports_rs_welch_t_test(installed: Cluster) -> None:
    experiment = _apply_and_wait(
        installed, REPO / "examples" / "sleep-welch-t.yaml", "sleep-drug", "condition=Ready"
    )
    entry = _statistic(experiment)
    # R: t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p-value = 0.07939
    assert entry["statistic"] == pytest.approx(-1.8608, abs=5e-5)
    assert entry["df"] == pytest.approx(17.776, abs=5e-4)
    assert entry["pValue"] == pytest.approx(0.07939, abs=5e-6)


def test_plantgrowth_example_reports_rs_one_way_anova(installed: Cluster) -> None:
    experiment = _apply_and_wait(
        installed, REPO / "examples" / "plantgrowth-anova.yaml", "plant-growth", "condition=Ready"
    )
    entry = _statistic(experiment)
    # R: anova(lm(weight ~ group, data = PlantGrowth)): F = 4.8461, p = 0.01591
    assert entry["statistic"] == pytest.approx(4.8461, abs=5e-5)
    assert entry["pValue"] == pytest.approx(0.01591, abs=5e-6)


_PROBE = (
    "import socket, sys\n"
    "def attempt(f):\n"
    "    try:\n"
    "        f(); return 'open'\n"
    "    except OSError as e:\n"
    "        return 'blocked:' + type(e).__name__\n"
    "socket.setdefaulttimeout(4)\n"
    "dns = attempt(lambda: socket.getaddrinfo('kubernetes.default.svc.cluster.local', 443))\n"
    "tcp = attempt(lambda: socket.create_connection((sys.argv[1], 443)).close())\n"
    "print(dns, tcp)\n"
)


def test_sandbox_pod_cannot_reach_the_network(installed: Cluster) -> None:
    if _kind_version() < (0, 24):
        pytest.skip(
            "kind < 0.24: kindnet does not enforce NetworkPolicy, so isolation cannot be observed"
        )
    api_ip = installed.kubectl(
        "get", "service", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP}"
    ).stdout
    # Control: the same probe from the operator pod (no deny-all policy) reaches DNS and the API.
    control = installed.kubectl(
        "-n", NAMESPACE, "exec", "deployment/kosmos-operator", "--", "python", "-c", _PROBE, api_ip
    ).stdout.split()
    assert control == ["open", "open"], control

    _apply_and_wait(
        installed,
        MANIFESTS / "sandbox-sleeper.yaml",
        "e2e-sleeper",
        "jsonpath={.status.phase}=Running",
    )
    pod = ""
    for _ in range(60):
        pods = installed.kubectl(
            "-n",
            RESEARCH,
            "get",
            "pods",
            "-l",
            "kosmos.dev/experiment=e2e-sleeper",
            "--field-selector=status.phase=Running",
            "-o",
            "jsonpath={.items[0].metadata.name}",
            check=False,
        )
        pod = pods.stdout.strip()
        if pod:
            break
        installed.kubectl(
            "-n",
            RESEARCH,
            "wait",
            "pods",
            "-l",
            "kosmos.dev/experiment=e2e-sleeper",
            "--for=condition=Ready",
            "--timeout=5s",
            check=False,
        )
    assert pod, installed.diagnostics()
    probe = installed.kubectl(
        "-n", RESEARCH, "exec", pod, "--", "python", "-I", "-S", "-c", _PROBE, api_ip
    ).stdout.split()
    assert probe[0].startswith("blocked"), f"DNS resolved from the sandbox: {probe}"
    assert probe[1].startswith("blocked"), f"TCP to the API server from the sandbox: {probe}"
    policies = json.loads(
        installed.kubectl("-n", RESEARCH, "get", "networkpolicies", "-o", "json").stdout
    )["items"]
    assert any(
        p["spec"]["policyTypes"] == ["Ingress", "Egress"] and not p["spec"].get("egress")
        for p in policies
    )
    installed.kubectl(
        "-n", RESEARCH, "delete", "experiment", "e2e-sleeper", "--wait=false", check=False
    )


def test_oom_killed_run_is_reported_as_memory(installed: Cluster) -> None:
    experiment = _apply_and_wait(
        installed, MANIFESTS / "oom.yaml", "e2e-oom", "jsonpath={.status.phase}=Failed"
    )
    execution = experiment["status"]["execution"]
    assert execution["errorKind"] == "memory", json.dumps(experiment["status"], indent=2)
    assert "memory" in (execution.get("error") or "").lower()
