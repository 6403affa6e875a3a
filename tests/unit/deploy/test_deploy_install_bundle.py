"""deploy/install.yaml: generated from kosmos.install, valid, and equal to the chart's defaults."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml
from generate import render  # deploy/generate.py

from conftest import REPO, render_objects
from kosmos.api.crd import crd_manifest
from kosmos.install import install_manifests

BUNDLE = REPO / "deploy" / "install.yaml"
# Labels only Helm sets; everything else must be the same in the chart and the bundle.
_HELM_ONLY_LABELS = ("app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "helm.sh/chart")


def test_committed_bundle_is_up_to_date() -> None:
    assert BUNDLE.read_text(encoding="utf-8") == render(), (
        "run: PYTHONPATH=operator python3 deploy/generate.py"
    )


@pytest.mark.parametrize(
    "document",
    list(yaml.safe_load_all(BUNDLE.read_text(encoding="utf-8"))),
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_bundle_object_validates_against_kubernetes_1_33(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, "1.33", strict=True)


def test_bundle_holds_the_generated_crd() -> None:
    crds = [
        d
        for d in yaml.safe_load_all(BUNDLE.read_text(encoding="utf-8"))
        if d["kind"] == "CustomResourceDefinition"
    ]
    assert crds == [crd_manifest()]
    assert crds == [
        yaml.safe_load((REPO / "crds" / "experiments.kosmos.dev.yaml").read_text(encoding="utf-8"))
    ]


def test_bundle_namespace_enforces_restricted_pod_security() -> None:
    (namespace,) = [d for d in install_manifests() if d["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    def strip(labels: dict[str, str] | None) -> dict[str, str]:
        return {k: v for k, v in (labels or {}).items() if k not in _HELM_ONLY_LABELS}

    obj = yaml.safe_load(yaml.safe_dump(obj))
    obj["metadata"]["labels"] = strip(obj["metadata"].get("labels"))
    template = obj.get("spec", {}).get("template", {}) if isinstance(obj.get("spec"), dict) else {}
    if "metadata" in template:
        template["metadata"]["labels"] = strip(template["metadata"].get("labels"))
    if obj["kind"] in ("ClusterRole", "Role"):
        obj["rules"] = sorted(
            (
                {
                    "apiGroups": r["apiGroups"],
                    "resources": r["resources"],
                    "verbs": sorted(r["verbs"]),
                }
                for r in obj["rules"]
            ),
            key=lambda r: (r["apiGroups"], r["resources"]),
        )
    return obj


def test_chart_defaults_render_the_same_objects_as_the_bundle() -> None:
    chart = {
        (o["kind"], o["metadata"]["name"]): _comparable(o)
        for o in render_objects()
        if o["kind"] != "ConfigMap"
    }
    bundle = {
        (o["kind"], o["metadata"]["name"]): _comparable(o)
        for o in install_manifests()
        if o["kind"]
        not in ("Namespace", "CustomResourceDefinition")  # helm: --create-namespace, crds/
    }
    assert sorted(chart) == sorted(bundle)
    for key, obj in bundle.items():
        assert chart[key] == obj, key
