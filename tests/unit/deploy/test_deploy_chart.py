"""The chart renders to valid Kubernetes objects that do what the issue asks of them."""

from __future__ import annotations

import json
import os
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from generate import settings_schema  # deploy/generate.py
from helmlite import UnsupportedTemplateError, render_chart

from conftest import CHART, REPO, by_kind, render_objects
from kosmos import __version__
from kosmos.operator.builders import priority_class_for, resource_quota_for
from kosmos.operator.settings import OperatorSettings

K8S_VERSION = "1.33"


def _values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))


def _schema() -> dict[str, Any]:
    return json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))


def test_values_validate_against_the_values_schema() -> None:
    schema = _schema()
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(_values())


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


@pytest.mark.parametrize(
    "override",
    [
        {"settings": {"sandbox": {"imagee": "x"}}},
        {"settings": {"limits": {"max_memory_mb": 0}}},
        {"settings": {"metrics_prot": 9090}},
        {"image": {"pullPolicy": "Sometimes"}},
        {"metrics": {"serviceMonitor": {"enabled": "yes"}}},
    ],
    ids=[
        "misspelt-setting",
        "zero-memory",
        "misspelt-top-level-setting",
        "pull-policy",
        "non-boolean",
    ],
)
def test_values_schema_refuses_misspelt_or_out_of_range_values(override: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(_schema()).validate(_merged(_values(), override))


def test_values_schema_settings_are_generated_from_the_settings_model() -> None:
    assert _schema()["properties"]["settings"] == settings_schema(), (
        "run: PYTHONPATH=operator python3 deploy/generate.py"
    )


def test_chart_setting_defaults_equal_the_operator_defaults() -> None:
    assert _values()["settings"] == OperatorSettings.defaults().model_dump(mode="json")


def test_chart_crd_is_the_generated_crd() -> None:
    chart_crd = (CHART / "crds" / "experiments.kosmos.dev.yaml").read_bytes()
    assert chart_crd == (REPO / "crds" / "experiments.kosmos.dev.yaml").read_bytes(), (
        "run: cp crds/experiments.kosmos.dev.yaml charts/kosmos/crds/"
    )


def test_chart_dashboard_is_the_repository_dashboard() -> None:
    assert (CHART / "dashboards" / "kosmos.json").read_bytes() == (
        REPO / "dashboards" / "kosmos.json"
    ).read_bytes()


def test_chart_version_matches_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["appVersion"] == __version__


@pytest.mark.parametrize(
    "values",
    [
        None,
        {"settings": {"namespaces": ["research", "teaching"]}},
        {"metrics": {"serviceMonitor": {"enabled": True}}, "priorityClass": {"create": False}},
        {
            "grafana": {"dashboard": {"enabled": False}},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "podAnnotations": {"a": "b"},
            "serviceAccount": {"annotations": {"x": "y"}},
        },
    ],
    ids=["defaults", "namespaced", "servicemonitor", "options"],
)
def test_rendered_chart_validates_against_kubernetes_schemas(values: dict[str, Any] | None) -> None:
    objects = render_objects(values)
    assert objects
    for obj in objects:
        if obj["kind"] == "ServiceMonitor":
            continue  # a prometheus-operator CRD, not in the Kubernetes schemas
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_every_namespaced_object_is_in_the_release_namespace() -> None:
    for obj in render_objects(namespace="ops"):
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding", "PriorityClass"):
            assert "namespace" not in obj["metadata"]
        else:
            assert obj["metadata"]["namespace"] == "ops", obj["kind"]


def test_operator_deployment_runs_one_replica_recreated_with_a_liveness_probe(
    chart_objects: list[dict[str, Any]],
) -> None:
    (deployment,) = by_kind(chart_objects, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    (container,) = spec["template"]["spec"]["containers"]
    probe = container["livenessProbe"]["httpGet"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert probe == {"path": "/healthz", "port": "liveness"}
    assert ports == {"metrics": 8080, "liveness": 8081}
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    assert container["args"] == ["operator"]


def test_operator_pod_meets_the_restricted_pod_security_standard(
    chart_objects: list[dict[str, Any]],
) -> None:
    (deployment,) = by_kind(chart_objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["runAsUser"] != 0


def test_operator_environment_loads_back_into_the_same_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Helm reads numbers as float64: 1000000 must not reach the operator as "1e+06".
    values = {
        "settings": {
            "results": {"max_configmap_bytes": 1000000},
            "resync_seconds": 12.5,
            "namespaces": ["research"],
            "sandbox": {"runtime_class_name": "gvisor"},
        }
    }
    (deployment,) = by_kind(render_objects(values), "Deployment")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    for name in [k for k in os.environ if k.startswith("KOSMOS_")]:
        monkeypatch.delenv(name)
    for variable in env:
        monkeypatch.setenv(variable["name"], variable["value"])
    loaded = OperatorSettings.from_env()
    assert loaded.results.max_configmap_bytes == 1_000_000
    assert loaded.resync_seconds == 12.5
    assert loaded.namespaces == ("research",)
    assert loaded.sandbox.runtime_class_name == "gvisor"
    defaults = OperatorSettings.defaults().model_dump()
    expected = {
        **defaults,
        "resync_seconds": 12.5,
        "namespaces": ("research",),
        "results": {**defaults["results"], "max_configmap_bytes": 1_000_000},
        "sandbox": {**defaults["sandbox"], "runtime_class_name": "gvisor"},
    }
    assert loaded.model_dump() == expected


def test_metrics_service_selects_the_operator_pod(chart_objects: list[dict[str, Any]]) -> None:
    (service,) = by_kind(chart_objects, "Service")
    (deployment,) = by_kind(chart_objects, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"


def test_service_monitor_is_optional_and_scrapes_the_metrics_port() -> None:
    assert not by_kind(render_objects(), "ServiceMonitor")
    (monitor,) = by_kind(
        render_objects({"metrics": {"serviceMonitor": {"enabled": True}}}), "ServiceMonitor"
    )
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"


def test_priority_class_is_the_one_the_operator_builds_and_scopes_the_quota(
    chart_objects: list[dict[str, Any]],
) -> None:
    settings = OperatorSettings.defaults()
    (priority_class,) = by_kind(chart_objects, "PriorityClass")
    expected = priority_class_for(settings)
    for key in ("value", "globalDefault", "preemptionPolicy", "description"):
        assert priority_class[key] == expected[key]
    assert priority_class["metadata"]["name"] == expected["metadata"]["name"]
    quota = resource_quota_for("research", settings)
    assert quota["spec"]["scopeSelector"]["matchExpressions"][0]["values"] == [
        priority_class["metadata"]["name"]
    ]
    assert not by_kind(render_objects({"priorityClass": {"create": False}}), "PriorityClass")


def test_dashboard_config_map_is_labelled_for_the_grafana_sidecar(
    chart_objects: list[dict[str, Any]],
) -> None:
    (config_map,) = by_kind(chart_objects, "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["kosmos.json"]) == json.loads(
        (REPO / "dashboards" / "kosmos.json").read_text()
    )


def test_notes_name_the_deployment_and_the_crd_upgrade() -> None:
    notes = render_chart(CHART)["NOTES.txt"]
    assert "deployment/kosmos-operator" in notes
    assert "helm show crds" in notes


def test_renderer_refuses_template_features_it_does_not_implement(tmp_path: Any) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "Chart.yaml").write_text("name: x\nversion: 0.1.0\n")
    (tmp_path / "values.yaml").write_text("a: 1\n")
    (tmp_path / "templates" / "x.yaml").write_text('{{ lookup "v1" "Secret" "ns" "name" }}\n')
    with pytest.raises(UnsupportedTemplateError):
        render_chart(tmp_path)
