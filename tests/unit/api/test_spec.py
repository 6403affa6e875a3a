"""The Experiment models reject bad manifests with messages that name field, value and expectation."""

from __future__ import annotations

from typing import Any

import pytest

from kosmos.api.errors import ErrorKind, ManifestError
from kosmos.api.spec import Experiment, Resources
from kosmos.execution.local_run import load_manifest


def manifest(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "statistical_test",
        "parameters": {"test": "ttest", "value": "extra", "group": "group"},
        "inputs": [{"name": "dataset", "format": "csv", "inline": "extra,group\n1,a\n"}],
    }
    base.update(spec)
    return {"apiVersion": "kosmos.dev/v1alpha1", "kind": "Experiment", "metadata": {"name": "x"}, "spec": base}


def test_valid_manifest_parses_camel_case_into_snake_case_fields() -> None:
    experiment = load_manifest(manifest(resources={"memoryMB": 256, "timeoutSeconds": 9, "maxFileSizeMB": 3}))
    assert experiment.spec.resources == Resources(
        cpu="1", memory_mb=256, timeout_seconds=9, max_file_size_mb=3, network_access=False
    )
    assert experiment.spec.inputs[0].name == "dataset"


def test_negative_timeout_names_the_field_the_value_and_the_bound() -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest(resources={"timeoutSeconds": -5}))
    message = str(caught.value)
    assert "spec.resources.timeoutSeconds" in message
    assert "-5" in message
    assert "greater than 0" in message
    assert caught.value.field == "spec.resources.timeoutSeconds"
    assert caught.value.kind is ErrorKind.VALIDATION


def test_bad_cpu_quantity_is_refused_with_an_example_of_a_good_one() -> None:
    with pytest.raises(ManifestError, match=r"spec\.resources\.cpu: got '2 cores'; expected a Kubernetes CPU quantity"):
        load_manifest(manifest(resources={"cpu": "2 cores"}))


def test_unknown_spec_field_is_named() -> None:
    with pytest.raises(ManifestError, match=r"spec\.timeout: got 5; extra inputs are not permitted"):
        load_manifest(manifest(timeout=5))


def test_input_needs_exactly_one_source() -> None:
    with pytest.raises(ManifestError, match=r"spec\.inputs\[0\].*exactly one of 'inline' or 'configMapKeyRef'"):
        load_manifest(manifest(inputs=[{"name": "dataset"}]))


def test_type_or_code_is_required() -> None:
    with pytest.raises(ManifestError, match="give either 'type'"):
        load_manifest(manifest(type=None))


def test_wrong_api_version_is_named() -> None:
    data = manifest()
    data["apiVersion"] = "kosmos.dev/v1"
    with pytest.raises(ManifestError, match=r"apiVersion: got 'kosmos.dev/v1'; input should be 'kosmos.dev/v1alpha1'"):
        load_manifest(data)


def test_yaml_with_two_documents_is_refused() -> None:
    with pytest.raises(ManifestError, match="exactly one Experiment document, found 2"):
        load_manifest("a: 1\n---\nb: 2\n")


def test_resources_convert_millicores() -> None:
    assert Resources(cpu="500m").cpu_cores == 0.5
    assert Experiment.model_validate(manifest()).spec.resources.cpu_cores == 1.0


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("timeoutSeconds", True, "valid integer"),
        ("timeoutSeconds", "30", "valid integer"),
        ("memoryMB", 256.5, "valid integer"),
        ("networkAccess", "no", "valid boolean"),
    ],
)
def test_resources_take_their_own_types_only(field: str, value: object, expected: str) -> None:
    """YAML `true` is not one second, and `"no"` is not a network decision."""
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest(resources={field: value}))
    assert caught.value.field == f"spec.resources.{field}"
    assert f"spec.resources.{field}: got {value!r}; input should be a {expected}" in str(caught.value)
