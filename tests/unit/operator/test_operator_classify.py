"""Pod and Job status are classified into the Kosmos error kinds; nothing waits forever."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kosmos.operator.classify import RunState, observe_run, parse_envelope, parse_termination_message

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
IMAGE = "ghcr.io/kosmos-dev/kosmos-sandbox:0.1.0"


def job(*conditions, created="2026-12-03T11:59:00Z"):
    return {"metadata": {"name": "j", "creationTimestamp": created},
            "spec": {"template": {"spec": {"containers": [{"image": IMAGE}]}}},
            "status": {"conditions": [dict(c, status="True") for c in conditions]}}


def pod(*, terminated=None, waiting=None, running=False, conditions=()):
    state = {}
    if terminated is not None:
        state["terminated"] = terminated
    if waiting is not None:
        state["waiting"] = waiting
    if running:
        state["running"] = {"startedAt": "2026-12-03T11:59:30Z"}
    return {"metadata": {"name": "p"}, "status": {"phase": "Running" if running else "Pending",
                                                  "conditions": list(conditions),
                                                  "containerStatuses": [{"name": "sandbox", "state": state}]}}


def envelope_log(**fields):
    data = {"kosmosEnvelope": 1, "success": True, "errorKind": None, "error": None, "traceback": None,
            "results": {"x": 1}, "resultsTruncated": False, "artifacts": [], "timings": {"runSeconds": 0.25}}
    data.update(fields)
    return "printed by the program\nKOSMOS-ENVELOPE " + json.dumps(data) + "\n"


def observe(j, p=None, log=None, events=(), now=NOW):
    return observe_run(j, p, log, events=events, now=now, timeout_seconds=60, memory_mb=512,
                       grace_seconds=120, max_output_bytes=1024)


COMPLETE = {"type": "Complete", "reason": "CompletionsReached"}
FAILED = {"type": "Failed", "reason": "BackoffLimitExceeded"}


def test_a_complete_job_with_an_envelope_succeeds_with_its_results_and_stdout():
    obs = observe(job(COMPLETE), pod(terminated={"exitCode": 0, "reason": "Completed"}), envelope_log())
    assert obs.state is RunState.DONE
    assert obs.result.success and obs.result.output == {"x": 1}
    assert obs.result.stdout == "printed by the program"
    assert obs.result.execution_time == 0.25
    assert obs.result.backend == "kubernetes"


def test_oom_killed_job_reports_memory_error():
    obs = observe(job(FAILED), pod(terminated={"exitCode": 137, "reason": "OOMKilled"}), "")
    assert str(obs.result.error_kind) == "memory" and "memory" in obs.result.error


def test_deadline_exceeded_job_reports_timeout_error():
    obs = observe(job({"type": "Failed", "reason": "DeadlineExceeded"}), pod(terminated={"exitCode": 137, "reason": "Error"}))
    assert str(obs.result.error_kind) == "timeout" and "timeout" in obs.result.error


def test_a_failure_target_for_the_deadline_already_ends_the_run():
    obs = observe(job({"type": "FailureTarget", "reason": "DeadlineExceeded"}), pod(running=True))
    assert obs.state is RunState.DONE and str(obs.result.error_kind) == "timeout"


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"])
def test_image_pull_errors_are_infrastructure_and_stop_the_job(reason):
    obs = observe(job(), pod(waiting={"reason": reason, "message": "not found"}))
    assert str(obs.result.error_kind) == "infrastructure" and reason in obs.result.error
    assert obs.delete_job


def test_an_unschedulable_pod_waits_for_the_grace_period_then_fails_as_infrastructure():
    recent = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "no nodes",
              "lastTransitionTime": "2026-12-03T11:59:00Z"}
    assert observe(job(), pod(conditions=[recent])).state is RunState.PENDING
    later = observe(job(), pod(conditions=[recent]), now=NOW + timedelta(minutes=5))
    assert str(later.result.error_kind) == "infrastructure" and "Unschedulable" in later.result.error


def test_a_job_refused_by_the_quota_fails_as_infrastructure_after_the_grace_period():
    events = [{"reason": "FailedCreate", "message": 'pods "j-x" is forbidden: exceeded quota: kosmos-sandbox'}]
    assert observe(job(), None, events=events).state is RunState.PENDING
    obs = observe(job(), None, events=events, now=NOW + timedelta(minutes=5))
    assert str(obs.result.error_kind) == "infrastructure" and "quota" in obs.result.error


def test_a_non_zero_exit_without_envelope_is_a_runtime_error():
    obs = observe(job(FAILED), pod(terminated={"exitCode": 2, "reason": "Error"}), "Traceback...\n")
    assert str(obs.result.error_kind) == "runtime" and "code 2" in obs.result.error


def test_a_malformed_envelope_ends_the_run_instead_of_leaving_it_running():
    obs = observe(job(COMPLETE), pod(terminated={"exitCode": 0}), "KOSMOS-ENVELOPE {not json\n")
    assert obs.state is RunState.DONE and "malformed" in obs.result.error


def test_a_missing_log_falls_back_to_the_termination_message():
    message = json.dumps({"kosmosEnvelope": 1, "success": False, "errorKind": "data", "error": "bad csv"})
    obs = observe(job(FAILED), pod(terminated={"exitCode": 3, "message": message}), None)
    assert str(obs.result.error_kind) == "data" and obs.result.error == "bad csv"


def test_a_finished_job_whose_pod_is_gone_fails_as_infrastructure():
    obs = observe(job(COMPLETE), None, None)
    assert obs.state is RunState.DONE and str(obs.result.error_kind) == "infrastructure"


def test_the_runner_error_kind_is_kept_from_the_envelope():
    log = envelope_log(success=False, errorKind="runtime", error="ValueError: boom", results=None)
    obs = observe(job(FAILED), pod(terminated={"exitCode": 1, "reason": "Error"}), log)
    assert str(obs.result.error_kind) == "runtime" and obs.result.error == "ValueError: boom"
    assert obs.result.exit_code == 1


def test_stdout_is_capped_with_a_truncation_flag():
    log = "x" * 5000 + "\n" + envelope_log()
    obs = observe(job(COMPLETE), pod(terminated={"exitCode": 0}), log)
    assert len(obs.result.stdout) <= 1024 and obs.result.output_truncated


def test_a_running_pod_is_running_and_a_fresh_job_is_pending():
    assert observe(job(), pod(running=True)).state is RunState.RUNNING
    assert observe(job(), None).state is RunState.PENDING


def test_envelope_parsing_takes_the_last_marker_line():
    env = parse_envelope("KOSMOS-ENVELOPE not-json\n" + envelope_log())
    assert env.data is not None and not env.malformed
    assert parse_envelope(None).data is None
    assert parse_termination_message("garbage") is None
