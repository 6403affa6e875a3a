"""The committed CRD is exactly what the models generate, structural, and valid Kubernetes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from kosmos.api.crd import CRD_FILENAME, GENERATED_HEADER, crd_manifest
from kosmos.cli import dump

KUBERNETES_VERSION = "1.33.0"


def test_committed_crd_matches_the_models(repo: Path) -> None:
    committed = (repo / "crds" / CRD_FILENAME).read_text(encoding="utf-8")
    assert committed == GENERATED_HEADER + dump(crd_manifest(), "yaml"), (
        "crds/ drifted from kosmos.api: run `kosmos crd > crds/experiments.kosmos.dev.yaml`"
    )


def test_crd_validates_against_the_kubernetes_schema() -> None:
    kubernetes_validate.validate(crd_manifest(), KUBERNETES_VERSION, strict=True)


def _walk(node: dict[str, Any], path: str) -> list[str]:
    """Structural-schema violations below ``node`` (apiextensions v1 rules we rely on)."""
    problems = []
    if "type" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        problems.append(f"{path}: no type")
    for junctor in ("anyOf", "oneOf", "allOf", "$ref"):
        if junctor in node:
            problems.append(f"{path}: uses {junctor}")
    if isinstance(node.get("exclusiveMinimum"), (int, float)) and not isinstance(node.get("exclusiveMinimum"), bool):
        problems.append(f"{path}: numeric exclusiveMinimum")
    for name, sub in node.get("properties", {}).items():
        problems += _walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        problems += _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        problems += _walk(node["additionalProperties"], f"{path}{{}}")
    return problems


def test_crd_schema_is_structural_with_descriptions() -> None:
    version = crd_manifest()["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    assert _walk(schema, "") == []
    spec = schema["properties"]["spec"]["properties"]
    assert spec["resources"]["properties"]["memoryMB"]["description"] == "Memory limit in MiB."
    assert spec["resources"]["properties"]["timeoutSeconds"]["minimum"] == 0
    assert spec["resources"]["properties"]["timeoutSeconds"]["exclusiveMinimum"] is True


def test_crd_has_status_subresource_printer_columns_short_name_and_category() -> None:
    crd = crd_manifest()
    names = crd["spec"]["names"]
    assert names["shortNames"] == ["exp"]
    assert names["categories"] == ["kosmos"]
    version = crd["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns == {
        "Phase": ".status.phase",
        "Type": ".spec.type",
        "P-Value": ".status.analysis.pValue",
        "Effect": ".status.analysis.effectMagnitude",
        "Age": ".metadata.creationTimestamp",
    }


def test_crd_accepts_the_examples_shape(repo: Path) -> None:
    """Every example's spec uses only fields the CRD declares (pruning would drop others)."""
    props = crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    for path in sorted((repo / "examples").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))["spec"]
        assert set(spec) <= set(props), f"{path.name}: {set(spec) - set(props)}"
