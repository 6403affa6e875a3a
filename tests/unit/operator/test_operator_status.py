"""Status is computed then diffed; conditions keep their transition times; metrics stay bounded."""

from __future__ import annotations

from prometheus_client import generate_latest

from kosmos.operator.client import RBAC_RULES, cluster_rules, namespaced_rules
from kosmos.operator.conditions import in_progress_conditions, merge_transition_times
from kosmos.operator.metrics import Metrics
from kosmos.operator.reconcile import _cap_results, status_patch


def test_status_patch_holds_only_changed_keys_and_removes_stale_ones():
    old = {"phase": "Succeeded", "results": {"a": 1}, "observedGeneration": 1}
    new = {"phase": "Pending", "observedGeneration": 2}
    assert status_patch(old, new) == {"phase": "Pending", "observedGeneration": 2, "results": None}
    assert status_patch(new, dict(new)) == {}


def test_unchanged_conditions_keep_their_last_transition_time():
    old = in_progress_conditions(reason="JobCreated", message="", generation=1, now="2026-01-01T00:00:00Z")
    new = in_progress_conditions(reason="PodRunning", message="", generation=1, now="2026-01-01T00:05:00Z")
    merged = merge_transition_times(new, old)
    assert {c["lastTransitionTime"] for c in merged} == {"2026-01-01T00:00:00Z"}
    assert {c["reason"] for c in merged} == {"PodRunning"}
    assert all(c["observedGeneration"] == 1 for c in merged)


def test_in_progress_conditions_are_kstatus_reconciling():
    by_type = {c["type"]: c["status"] for c in in_progress_conditions(reason="r", message="m", generation=3, now="t")}
    assert by_type == {"Ready": "False", "Reconciling": "True", "Stalled": "False"}


def test_oversized_results_keep_statistics_and_small_keys_and_name_what_went():
    status = {"results": {"statistics": [{"test": "welch_t"}], "alpha": 0.01, "n": 3, "blob": "x" * 10_000}}
    capped = _cap_results(status, 1000)
    assert capped["results"] == {"statistics": [{"test": "welch_t"}], "alpha": 0.01, "n": 3,
                                 "droppedKeys": {"blob": 10_002}}
    assert capped["resultsTruncated"] is True


def test_results_under_the_cap_are_left_as_they_are():
    status = {"results": {"alpha": 0.01}, "resultsTruncated": False}
    assert _cap_results(status, 1000) == {"results": {"alpha": 0.01}, "resultsTruncated": False}


def test_metrics_use_controller_runtime_names_and_no_per_experiment_labels():
    metrics = Metrics()
    metrics.observe_phase("ns", "exp-1", "Running")
    metrics.observe_phase("ns", "exp-2", "Running")
    metrics.observe_phase("ns", "exp-1", "Succeeded")
    metrics.observe_finished(phase="Failed", error_kind="memory", run_seconds=3.0, result_bytes=100)
    metrics.reconcile_total.labels(controller="experiment", result="success").inc()
    text = generate_latest(metrics.registry).decode()
    for name in ("controller_runtime_reconcile_total", "controller_runtime_reconcile_errors_total",
                 "controller_runtime_reconcile_time_seconds", "kosmos_experiments", "kosmos_run_duration_seconds",
                 "kosmos_sandbox_failures_total", "kosmos_result_bytes"):
        assert name in text
    assert 'kosmos_experiments{phase="Running"} 1.0' in text
    assert 'kosmos_experiments{phase="Succeeded"} 1.0' in text
    assert "exp-1" not in text and 'kosmos_sandbox_failures_total{error_kind="memory"} 1.0' in text
    metrics.observe_phase("ns", "exp-2", None)
    assert 'kosmos_experiments{phase="Running"} 0.0' in generate_latest(metrics.registry).decode()


def test_rbac_is_declared_beside_the_calls_and_covers_what_the_operator_touches():
    resources = {(r.api_group, r.resource) for r in RBAC_RULES}
    assert {("batch", "jobs"), ("", "configmaps"), ("networking.k8s.io", "networkpolicies"),
            ("", "resourcequotas"), ("", "pods/log"), ("kosmos.dev", "experiments/status")} <= resources
    assert cluster_rules() == [{"apiGroups": ["scheduling.k8s.io"], "resources": ["priorityclasses"],
                                "verbs": ["create", "get"]}]
    assert all("*" not in rule["verbs"] for rule in namespaced_rules())
