"""The chart's and the bundle's RBAC grant exactly what kosmos.operator.client declares."""

from __future__ import annotations

from typing import Any

from generate import render_rbac_rules_template  # deploy/generate.py

from conftest import CHART, by_kind, render_objects
from kosmos.install import install_manifests
from kosmos.operator.client import cluster_rules, namespaced_rules
from kosmos.operator.settings import OperatorSettings


def _normalised(
    rules: list[dict[str, Any]],
) -> list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    """One (group, resource, verbs) row per group and resource: order and grouping don't matter."""
    rows = {}
    for rule in rules:
        assert set(rule) <= {"apiGroups", "resources", "verbs"}, f"unexpected rule fields: {rule}"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                key = (group, resource)
                rows[key] = tuple(sorted(set(rows.get(key, ())) | set(rule["verbs"])))
    return sorted((k[0:1], k[1:2], v) for k, v in rows.items())


def test_cluster_wide_chart_grants_exactly_the_declared_rules() -> None:
    objects = render_objects()
    (role,) = by_kind(objects, "ClusterRole")
    assert _normalised(role["rules"]) == _normalised(namespaced_rules() + cluster_rules())
    assert not by_kind(objects, "Role")


def test_namespaced_chart_grants_namespaced_rules_only_in_watched_namespaces() -> None:
    objects = render_objects({"settings": {"namespaces": ["research", "teaching"]}})
    (cluster_role,) = by_kind(objects, "ClusterRole")
    assert _normalised(cluster_role["rules"]) == _normalised(cluster_rules())
    roles = by_kind(objects, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["research", "teaching"]
    for role in roles:
        assert _normalised(role["rules"]) == _normalised(namespaced_rules())
    bindings = by_kind(objects, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["research", "teaching"]


def test_rbac_binds_the_operator_service_account() -> None:
    objects = render_objects(namespace="ops")
    (account,) = by_kind(objects, "ServiceAccount")
    (deployment,) = by_kind(objects, "Deployment")
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    )
    for binding in by_kind(objects, "ClusterRoleBinding") + by_kind(objects, "RoleBinding"):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "ops"}
        ]


def test_no_rule_uses_wildcards_or_escalating_verbs() -> None:
    for role in by_kind(render_objects(), "ClusterRole"):
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
            assert "secrets" not in rule["resources"]


def test_install_bundle_grants_exactly_the_declared_rules() -> None:
    (role,) = by_kind(install_manifests(), "ClusterRole")
    assert _normalised(role["rules"]) == _normalised(namespaced_rules() + cluster_rules())
    namespaced = install_manifests(
        OperatorSettings.defaults().model_copy(update={"namespaces": ("research",)})
    )
    (cluster_role,) = by_kind(namespaced, "ClusterRole")
    assert _normalised(cluster_role["rules"]) == _normalised(cluster_rules())
    (role,) = by_kind(namespaced, "Role")
    assert role["metadata"]["namespace"] == "research"
    assert _normalised(role["rules"]) == _normalised(namespaced_rules())


def test_chart_rules_template_is_generated_from_the_operator_declaration() -> None:
    committed = (CHART / "templates" / "_rbac_rules.tpl").read_text(encoding="utf-8")
    assert committed == render_rbac_rules_template(), (
        "run: PYTHONPATH=operator python3 deploy/generate.py"
    )
