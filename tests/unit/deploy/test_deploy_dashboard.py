"""dashboards/kosmos.json loads, and every metric its PromQL names is one the operator exports."""

from __future__ import annotations

import json
import re
from typing import Any

from conftest import REPO
from kosmos.operator.metrics import Metrics

DASHBOARD = REPO / "dashboards" / "kosmos.json"
# Metric names in our queries: the operator's namespaces only (PromQL functions never match).
_METRIC = re.compile(r"\b((?:controller_runtime|kosmos)_[a-z0-9_]+)\b")


def _exported_names() -> set[str]:
    """Every series name the operator's registry can expose, by metric type."""
    suffixes = {
        "counter": ("_total",),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("", "_sum", "_count"),
    }
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def _targets(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = list(dashboard["panels"])
    for panel in dashboard["panels"]:
        panels.extend(panel.get("panels", []))
    return [t for p in panels for t in p.get("targets", [])]


def test_dashboard_is_grafana_json_with_unique_panel_ids() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"]
    assert dashboard["title"]
    assert dashboard["schemaVersion"] >= 36
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all({"x", "y", "w", "h"} <= p["gridPos"].keys() for p in dashboard["panels"])


def test_every_queried_metric_is_exported_by_the_operator() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exported = _exported_names()
    queried = {name for target in _targets(dashboard) for name in _METRIC.findall(target["expr"])}
    queried |= {
        name
        for v in dashboard["templating"]["list"]
        for name in _METRIC.findall(json.dumps(v.get("query", "")))
    }
    assert queried, "the dashboard queries no operator metric"
    assert queried <= exported, (
        f"not exported by kosmos.operator.metrics: {sorted(queried - exported)}"
    )


def test_dashboard_covers_reconciles_errors_durations_phases_and_failure_kinds() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = " ".join(t["expr"] for t in _targets(dashboard))
    for needed in (
        "controller_runtime_reconcile_total",
        "controller_runtime_reconcile_errors_total",
        "controller_runtime_reconcile_time_seconds_bucket",
        "kosmos_experiments",
        "kosmos_sandbox_failures_total",
        "by (phase)",
        "by (error_kind)",
    ):
        assert needed in exprs, needed


def test_every_query_has_a_reference_and_the_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for target in _targets(dashboard):
        assert target["refId"]
        assert target["datasource"]["uid"] == "${datasource}"
