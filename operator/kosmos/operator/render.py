"""Every object the operator would create for one Experiment manifest (``kosmos render``).

Pure: the same planning and builders reconcile uses, without an API server. Called by the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from kosmos.operator.builders import (
    configmap_for,
    job_for,
    network_policy_for,
    priority_class_for,
    resource_quota_for,
)
from kosmos.operator.planning import ProgramSource, plan_for
from kosmos.operator.settings import OperatorSettings

__all__ = ["render_objects", "render_yaml"]


def render_objects(
    experiment: Mapping[str, Any],
    settings: OperatorSettings | None = None,
    *,
    generator: ProgramSource | None = None,
) -> list[dict[str, Any]]:
    """The PriorityClass, ResourceQuota, NetworkPolicy, ConfigMap and Job for a manifest.

    Owner references appear only when the manifest carries ``metadata.uid`` (as one read
    back from a cluster does). Raises ManifestError / ProgramRejected like reconcile would
    report them in status.
    """
    settings = settings or OperatorSettings.defaults()
    plan = plan_for(experiment, settings, generator=generator)
    objects: list[dict[str, Any]] = [priority_class_for(settings)]
    if settings.quota.enabled:
        objects.append(resource_quota_for(plan.namespace, settings))
    objects += [
        network_policy_for(plan, settings),
        configmap_for(plan, settings),
        job_for(plan, settings),
    ]
    return objects


def render_yaml(objects: list[dict[str, Any]]) -> str:
    """One YAML stream, documents separated by ``---``, keys in builder order."""
    return yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False, width=100)
