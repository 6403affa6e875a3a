"""Pure builders of every Kubernetes object the operator creates: spec in, dict out.

Each ``<thing>_for`` returns a complete manifest with a deterministic name, labels and owner
references, so reconcile can get-or-create it repeatedly. Called by reconcile and render;
imports neither kopf nor kubernetes.
"""

from __future__ import annotations

import json
import math
from typing import Any

from kosmos.api.errors import ManifestError
from kosmos.operator.naming import LABEL_MANAGED_BY, LABEL_RUN, MANAGED_BY, RunPlan
from kosmos.operator.settings import OperatorSettings

__all__ = [
    "CONTAINER_NAME",
    "JOB_DIR",
    "WORKSPACE_DIR",
    "configmap_for",
    "input_filename",
    "job_for",
    "job_json_for",
    "network_policy_for",
    "priority_class_for",
    "resource_quota_for",
]

CONTAINER_NAME = "sandbox"
JOB_DIR = "/etc/kosmos/job"
WORKSPACE_DIR = "/workspace"
TERMINATION_LOG = "/dev/termination-log"
_TMP_SIZE_MB = 64

# checkov cannot know that a batch Job has no endpoint to probe, or that the image is pinned
# by the operator's settings; each skip carries its reason (README, "Policy checks").
_CHECKOV_SKIPS = {
    "checkov.io/skip1": "CKV_K8S_8=A run-to-completion Job has no liveness endpoint to probe.",
    "checkov.io/skip2": "CKV_K8S_9=A run-to-completion Job serves no traffic, so no readiness probe.",
    "checkov.io/skip3": "CKV_K8S_15=The image is pinned by tag or digest in the operator settings; IfNotPresent avoids a pull per run.",
    "checkov.io/skip4": "CKV_K8S_43=Digest pinning is the operator's setting (sandbox.image); tags are allowed for development.",
}


def input_filename(name: str, fmt: str) -> str:
    """Where an input lives in the mounted job directory (ConfigMap keys cannot hold '/')."""
    return f"input-{name}.{fmt}"


def job_json_for(plan: RunPlan, settings: OperatorSettings) -> dict[str, Any]:
    """The runner's job file (see kosmos.execution.runner): paths relative to the mount."""
    return {
        "program": "program.py",
        "parameters": plan.parameters,
        "inputs": [
            {"name": spec.name, "format": str(spec.format), "path": input_filename(spec.name, str(spec.format))}
            for spec in plan.spec.inputs
        ],
        "artifacts_dir": f"{WORKSPACE_DIR}/artifacts",
        "sys_path": list(settings.sandbox.site_packages),
        "max_results_bytes": settings.results.max_results_bytes,
    }


def configmap_for(plan: RunPlan, settings: OperatorSettings) -> dict[str, Any]:
    """The run's immutable ConfigMap: program.py, job.json and the inline inputs.

    Raises ManifestError when the data is over the ConfigMap size limit; inputs that large
    belong in their own ConfigMap, referenced with ``configMapKeyRef``.
    """
    data = {
        "program.py": plan.program,
        "job.json": json.dumps(job_json_for(plan, settings), indent=1, sort_keys=True),
    }
    for spec in plan.spec.inputs:
        if spec.inline is not None:
            data[input_filename(spec.name, str(spec.format))] = spec.inline
    size = sum(len(key.encode()) + len(value.encode()) for key, value in data.items())
    limit = settings.results.max_configmap_bytes
    if size > limit:
        sizes = ", ".join(f"{key}={len(value.encode())}" for key, value in sorted(data.items()))
        raise ManifestError(
            f"the program and inline inputs take {size} bytes, over the ConfigMap limit of {limit} "
            f"bytes ({sizes}); put large inputs in their own ConfigMap and use configMapKeyRef",
            field="spec.inputs",
        )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": plan.metadata(),
        "immutable": True,
        "data": data,
    }


def _quantity_mb(megabytes: int) -> str:
    return f"{megabytes}Mi"


def _projected_sources(plan: RunPlan) -> list[dict[str, Any]]:
    sources: list[dict[str, Any]] = [{"configMap": {"name": plan.name}}]
    for spec in plan.spec.inputs:
        ref = spec.config_map_key_ref
        if ref is not None:
            path = input_filename(spec.name, str(spec.format))
            sources.append({"configMap": {"name": ref.name, "items": [{"key": ref.key, "path": path}]}})
    return sources


def _container_for(plan: RunPlan, settings: OperatorSettings, image: str) -> dict[str, Any]:
    resources = plan.spec.resources
    threads = str(max(1, math.ceil(resources.cpu_cores)))
    limits = {
        "cpu": resources.cpu,
        "memory": _quantity_mb(resources.memory_mb),
        "ephemeral-storage": _quantity_mb(resources.max_file_size_mb + settings.sandbox.workspace_size_mb),
    }
    sandbox = settings.sandbox
    command = [
        sandbox.python_path, "-I", "-S", sandbox.runner_path, f"{JOB_DIR}/job.json",
        "--stdout-envelope", "--termination-log", TERMINATION_LOG,
    ]
    return {
        "name": CONTAINER_NAME,
        "image": image,
        "imagePullPolicy": sandbox.image_pull_policy,
        "command": command,
        "workingDir": WORKSPACE_DIR,
        "env": [
            {"name": "HOME", "value": WORKSPACE_DIR},
            {"name": "TMPDIR", "value": "/tmp"},  # noqa: S108 - a size-capped emptyDir, not the host's /tmp
            {"name": "MPLCONFIGDIR", "value": "/tmp/matplotlib"},  # noqa: S108 - same emptyDir
            {"name": "MPLBACKEND", "value": "Agg"},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            {"name": "PYTHONHASHSEED", "value": "0"},
            {"name": "OMP_NUM_THREADS", "value": threads},
            {"name": "OPENBLAS_NUM_THREADS", "value": threads},
            {"name": "MKL_NUM_THREADS", "value": threads},
        ],
        "resources": {"requests": dict(limits), "limits": dict(limits)},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": sandbox.run_as_user,
            "runAsGroup": sandbox.run_as_user,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {"name": "job", "mountPath": JOB_DIR, "readOnly": True},
            {"name": "workspace", "mountPath": WORKSPACE_DIR},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the pod's own emptyDir
        ],
    }


def job_for(plan: RunPlan, settings: OperatorSettings) -> dict[str, Any]:
    """The Job that runs the program once under restricted pod security and hard limits."""
    spec = plan.spec
    sandbox = settings.sandbox
    image = spec.image or sandbox.image
    runtime_class = spec.runtime_class_name or sandbox.runtime_class_name
    pod_annotations = {
        "kosmos.dev/code-hash": plan.code_hash,
        # Service meshes must not add a proxy that would open the network or keep the pod alive.
        "sidecar.istio.io/inject": "false",
        "linkerd.io/inject": "disabled",
        "kuma.io/sidecar-injection": "disabled",
        **_CHECKOV_SKIPS,
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "hostNetwork": False,
        "hostPID": False,
        "hostIPC": False,
        "priorityClassName": sandbox.priority_class_name,
        "terminationGracePeriodSeconds": 5,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": sandbox.run_as_user,
            "runAsGroup": sandbox.run_as_user,
            "fsGroup": sandbox.run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container_for(plan, settings, image)],
        "volumes": [
            {"name": "job", "projected": {"defaultMode": 0o444, "sources": _projected_sources(plan)}},
            {"name": "workspace", "emptyDir": {"sizeLimit": _quantity_mb(spec.resources.max_file_size_mb + sandbox.workspace_size_mb)}},
            {"name": "tmp", "emptyDir": {"sizeLimit": _quantity_mb(_TMP_SIZE_MB)}},
        ],
    }
    if runtime_class:
        pod_spec["runtimeClassName"] = runtime_class
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": plan.metadata(annotations=dict(_CHECKOV_SKIPS)),
        "spec": {
            "backoffLimit": 0,
            "completions": 1,
            "parallelism": 1,
            "activeDeadlineSeconds": spec.resources.timeout_seconds,
            "ttlSecondsAfterFinished": spec.ttl_seconds_after_finished,
            "template": {
                "metadata": {"labels": plan.pod_labels, "annotations": pod_annotations},
                "spec": pod_spec,
            },
        },
    }


def network_policy_for(plan: RunPlan, settings: OperatorSettings) -> dict[str, Any]:
    """Deny all ingress and egress (DNS included) for the run's pods.

    Egress is opened only when the spec asks for network access *and* the operator's policy
    allows it; ingress is never opened.
    """
    allow_egress = plan.spec.resources.network_access and settings.sandbox.allow_network
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": plan.metadata(),
        "spec": {
            "podSelector": {"matchLabels": {LABEL_RUN: plan.name}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [{}] if allow_egress else [],
        },
    }


def resource_quota_for(namespace: str, settings: OperatorSettings) -> dict[str, Any]:
    """The namespace's cap on sandbox pods only, scoped by the sandbox PriorityClass.

    Shared by every Experiment of the namespace, so it has no owner: deleting one Experiment
    must not lift the cap on the others.
    """
    quota = settings.quota
    storage = _quantity_mb(quota.ephemeral_storage_mb)
    memory = _quantity_mb(quota.memory_mb)
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {
            "name": quota.name,
            "namespace": namespace,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY, "app.kubernetes.io/part-of": "kosmos"},
        },
        "spec": {
            "hard": {
                "pods": str(quota.pods),
                "requests.cpu": quota.cpu,
                "limits.cpu": quota.cpu,
                "requests.memory": memory,
                "limits.memory": memory,
                "requests.ephemeral-storage": storage,
                "limits.ephemeral-storage": storage,
            },
            "scopeSelector": {
                "matchExpressions": [
                    {"scopeName": "PriorityClass", "operator": "In", "values": [settings.sandbox.priority_class_name]}
                ]
            },
        },
    }


def priority_class_for(settings: OperatorSettings) -> dict[str, Any]:
    """The cluster-wide PriorityClass of sandbox pods: low, never preempting others."""
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {
            "name": settings.sandbox.priority_class_name,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY, "app.kubernetes.io/part-of": "kosmos"},
        },
        "value": 0,
        "globalDefault": False,
        "preemptionPolicy": "Never",
        "description": "Kosmos sandbox pods; the kosmos-sandbox ResourceQuota is scoped to this class.",
    }

