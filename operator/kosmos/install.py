"""The plain install bundle: every object a cluster needs to run Kosmos without Helm.

Pure: settings in, a list of Kubernetes objects out. ``deploy/generate.py`` writes
``deploy/install.yaml`` from it (the committed bundle) and ``kosmos install-manifests`` prints
it. The chart in ``charts/kosmos`` renders the same objects from its default values; a test
(tests/unit/deploy) keeps the two, the operator's declared RBAC and the generated CRD in step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kosmos import __version__
from kosmos.api.crd import crd_manifest
from kosmos.operator.builders import priority_class_for
from kosmos.operator.client import cluster_rules, namespaced_rules
from kosmos.operator.settings import OperatorSettings

__all__ = [
    "DEFAULT_NAMESPACE",
    "OPERATOR_IMAGE",
    "install_manifests",
    "operator_rbac_for",
    "settings_env",
]

DEFAULT_NAMESPACE = "kosmos-system"
OPERATOR_IMAGE = f"ghcr.io/kosmos-dev/kosmos-operator:{__version__}"
_NAME = "kosmos-operator"
_UID = 65532
_SELECTOR = {"app.kubernetes.io/name": "kosmos", "app.kubernetes.io/component": "operator"}


def _labels(component: str = "operator") -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "kosmos",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "kosmos",
        "app.kubernetes.io/version": __version__,
    }


def _env_value(value: Any) -> str:
    """Format a setting as pydantic-settings parses it back (lists as JSON, as Helm prints them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Helm's toString prints 30.0 as "30"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), separators=(",", ":"))
    return str(value)


def settings_env(settings: OperatorSettings) -> list[dict[str, str]]:
    """The ``KOSMOS_*`` variables that make ``OperatorSettings.from_env()`` equal ``settings``.

    Every leaf is written (sorted, ``None`` left out), so the Deployment shows the whole
    configuration rather than only what differs from the built-in defaults.
    """
    env: list[dict[str, str]] = []
    tree = settings.model_dump(mode="json")
    for key in sorted(tree):
        value = tree[key]
        if isinstance(value, Mapping):
            env.extend(
                {
                    "name": f"KOSMOS_{key.upper()}__{field.upper()}",
                    "value": _env_value(value[field]),
                }
                for field in sorted(value)
                if value[field] is not None
            )
        elif value is not None:
            env.append({"name": f"KOSMOS_{key.upper()}", "value": _env_value(value)})
    return env


def operator_rbac_for(settings: OperatorSettings, *, namespace: str) -> list[dict[str, Any]]:
    """ServiceAccount, (Cluster)Roles and bindings granting exactly what the operator declares.

    Cluster-wide (no ``settings.namespaces``): one ClusterRole with every rule. Namespaced: a
    Role per watched namespace with the namespaced rules, and a ClusterRole with only the
    cluster-scoped ones (PriorityClass).
    """
    subject = [{"kind": "ServiceAccount", "name": _NAME, "namespace": namespace}]
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": _NAME, "namespace": namespace, "labels": _labels()},
        }
    ]
    cluster_wide = not settings.namespaces
    rules = (namespaced_rules() if cluster_wide else []) + cluster_rules()
    objects.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": _NAME, "labels": _labels()},
            "rules": rules,
        }
    )
    objects.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": _NAME, "labels": _labels()},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": _NAME,
            },
            "subjects": subject,
        }
    )
    for watched in [] if cluster_wide else settings.namespaces:
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": _NAME, "namespace": watched, "labels": _labels()},
                "rules": namespaced_rules(),
            }
        )
        objects.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": _NAME, "namespace": watched, "labels": _labels()},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": _NAME},
                "subjects": subject,
            }
        )
    return objects


def _deployment(settings: OperatorSettings, *, namespace: str, image: str) -> dict[str, Any]:
    ports = [{"name": "metrics", "containerPort": settings.metrics_port, "protocol": "TCP"}]
    container: dict[str, Any] = {
        "name": "operator",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["operator"],
        "env": settings_env(settings),
        "ports": [
            *ports,
            {"name": "liveness", "containerPort": settings.liveness_port, "protocol": "TCP"},
        ],
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "liveness"},
            "initialDelaySeconds": 15,
            "periodSeconds": 20,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": _UID,
            "runAsGroup": _UID,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - the pod's emptyDir
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": _NAME, "namespace": namespace, "labels": _labels()},
        "spec": {
            "replicas": 1,  # kopf runs standalone (no peering): never two at once
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": dict(_SELECTOR)},
            "template": {
                "metadata": {"labels": {**_labels(), **_SELECTOR}},
                "spec": {
                    "serviceAccountName": _NAME,
                    "automountServiceAccountToken": True,
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": _UID,
                        "runAsGroup": _UID,
                        "fsGroup": _UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def _metrics_service(settings: OperatorSettings, *, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{_NAME}-metrics", "namespace": namespace, "labels": _labels()},
        "spec": {
            "type": "ClusterIP",
            "selector": dict(_SELECTOR),
            "ports": [
                {
                    "name": "metrics",
                    "port": settings.metrics_port,
                    "targetPort": "metrics",
                    "protocol": "TCP",
                }
            ],
        },
    }


def install_manifests(
    settings: OperatorSettings | None = None,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    image: str = OPERATOR_IMAGE,
) -> list[dict[str, Any]]:
    """Namespace, CRD, RBAC, sandbox PriorityClass, operator Deployment and metrics Service."""
    settings = settings or OperatorSettings.defaults()
    namespace_object = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": {
                **_labels(),
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
            },
        },
    }
    return [
        namespace_object,
        crd_manifest(),
        *operator_rbac_for(settings, namespace=namespace),
        priority_class_for(settings),
        _deployment(settings, namespace=namespace, image=image),
        _metrics_service(settings, namespace=namespace),
    ]
