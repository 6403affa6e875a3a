"""Deterministic names, labels and owner references of one Experiment run (pure).

A *run* is one execution of one generation of an Experiment. Every child object of a run is
named ``<experiment>-g<generation>-<hash8>``, where the hash covers the generated program and
the spec, so repeating a reconcile finds the same objects and a spec change makes new ones.
Called by the builders, reconcile and render.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from kosmos.api.spec import API_GROUP, API_VERSION, KIND, ExperimentSpec

__all__ = [
    "LABEL_EXPERIMENT",
    "LABEL_GENERATION",
    "LABEL_MANAGED_BY",
    "LABEL_RUN",
    "LABEL_SANDBOX",
    "MANAGED_BY",
    "RunPlan",
    "owner_reference_for",
    "run_hash_for",
    "run_name_for",
]

MANAGED_BY = "kosmos"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_EXPERIMENT = f"{API_GROUP}/experiment"
LABEL_RUN = f"{API_GROUP}/run"
LABEL_GENERATION = f"{API_GROUP}/generation"
LABEL_SANDBOX = f"{API_GROUP}/sandbox"
ANNOTATION_CODE_HASH = f"{API_GROUP}/code-hash"
_MAX_NAME = 63


def run_hash_for(spec: ExperimentSpec, code_hash: str) -> str:
    """sha256 over the program and the whole spec: what makes a run different from another."""
    canonical = json.dumps(
        {"code": code_hash, "spec": spec.model_dump(mode="json", by_alias=True)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_name_for(experiment_name: str, generation: int, run_hash: str) -> str:
    """``<name>-g<generation>-<hash8>``, cut to a DNS label (63 characters)."""
    suffix = f"-g{generation}-{run_hash.removeprefix('sha256:')[:8]}"
    base = experiment_name[: _MAX_NAME - len(suffix)].rstrip("-.")
    return f"{base}{suffix}"


def owner_reference_for(name: str, uid: str) -> dict[str, Any]:
    """The controller owner reference that makes the garbage collector delete a child."""
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": KIND,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


@dataclass(frozen=True)
class RunPlan:
    """Everything the builders need about one run; computed once by reconcile or render."""

    experiment_name: str
    namespace: str
    uid: str | None
    generation: int
    spec: ExperimentSpec
    program: str
    code_hash: str
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def run_hash(self) -> str:
        return run_hash_for(self.spec, self.code_hash)

    @property
    def name(self) -> str:
        """The name shared by the run's ConfigMap, NetworkPolicy and Job."""
        return run_name_for(self.experiment_name, self.generation, self.run_hash)

    @property
    def labels(self) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": "kosmos-sandbox",
            "app.kubernetes.io/part-of": "kosmos",
            "app.kubernetes.io/component": "experiment-run",
            LABEL_MANAGED_BY: MANAGED_BY,
            LABEL_EXPERIMENT: self.experiment_name,
            LABEL_RUN: self.name,
            LABEL_GENERATION: str(self.generation),
        }

    @property
    def pod_labels(self) -> dict[str, str]:
        return {**self.labels, LABEL_SANDBOX: "true"}

    @property
    def owner_references(self) -> list[dict[str, Any]]:
        if not self.uid:
            return []
        return [owner_reference_for(self.experiment_name, self.uid)]

    def metadata(self, *, name: str | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
        """Object metadata of a child: name, namespace, labels, owner, code-hash annotation."""
        meta: dict[str, Any] = {
            "name": name or self.name,
            "namespace": self.namespace,
            "labels": dict(self.labels),
            "annotations": {ANNOTATION_CODE_HASH: self.code_hash, **(annotations or {})},
        }
        if self.owner_references:
            meta["ownerReferences"] = self.owner_references
        return meta
