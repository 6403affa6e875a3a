"""reconcile builds a finished run's status with the same reporting code as `kosmos run`.

A small in-memory client stands in for the API: one finished Job, its pod and its log; the
status patch reconcile writes is what the tests read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kosmos.execution.runner import ENVELOPE_MARKER
from kosmos.operator.reconcile import ReconcileContext, reconcile
from kosmos.operator.settings import OperatorSettings
from kosmos.testing import experiment_body, failed_optimizer_report, sleep_spec

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class FinishedRunClient:
    """The API as reconcile sees it once the run's Job has completed with ``results``."""

    def __init__(self, results: dict[str, Any]) -> None:
        envelope = {
            "kosmosEnvelope": 1,
            "success": True,
            "errorKind": None,
            "error": None,
            "traceback": None,
            "results": results,
            "resultsTruncated": False,
            "artifacts": [],
            "timings": {"runSeconds": 0.25},
        }
        self.log = f"{ENVELOPE_MARKER}{json.dumps(envelope)}\n"
        self.patches: list[dict[str, Any]] = []

    async def read_object(
        self, api_version: str, kind: str, namespace: str | None, name: str
    ) -> dict[str, Any]:
        return {
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": "2026-12-03T11:59:00Z",
            },
            "status": {
                "conditions": [{"type": "Complete", "status": "True"}],
                "completionTime": "2026-12-03T11:59:50Z",
            },
        }

    async def list_objects(
        self, api_version: str, kind: str, namespace: str | None, labels: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        if kind != "Pod":
            return []
        terminated = {"exitCode": 0, "reason": "Completed"}
        return [
            {
                "metadata": {"name": "run-pod", "creationTimestamp": "2026-12-03T11:59:01Z"},
                "status": {
                    "phase": "Succeeded",
                    "containerStatuses": [{"name": "sandbox", "state": {"terminated": terminated}}],
                },
            }
        ]

    async def read_pod_log(
        self, namespace: str, name: str, *, tail_lines: int, container: str
    ) -> str:
        return self.log

    async def patch_status(
        self, namespace: str, name: str, status: Mapping[str, Any]
    ) -> dict[str, Any]:
        self.patches.append(dict(status))
        return {}


async def _reconciled(results: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    client = FinishedRunClient(results)
    spec = sleep_spec(type=None, code="results = {'statistics': []}\n", parameters={})
    body = experiment_body(
        "reported", spec=spec, uid="0b6e3f5e-2f43-4c1e-9d7a-5b8f2a1c9e10", generation=1
    )
    ctx = ReconcileContext(client=client, settings=OperatorSettings.defaults(), now=lambda: NOW)  # type: ignore[arg-type]
    outcome = await reconcile(body, ctx)
    (patch,) = client.patches
    return patch, outcome


async def test_reconcile_keeps_a_run_whose_statistics_are_malformed_and_names_the_bad_entry():
    reported = {
        "statistics": [
            {"test": "mine", "pValue": "small"},
            {"pValue": 0.01},
            {"test": "welch_t", "statistic": 2.0, "pValue": 0.04},
        ]
    }
    status, outcome = await _reconciled(reported)
    assert status["phase"] == "Succeeded"
    assert outcome.phase == "Succeeded"
    assert status["execution"]["success"] is True
    assert status["results"] == reported
    assert status["statistics"] == [{"test": "welch_t", "statistic": 2.0, "pValue": 0.04}]
    assert status["analysis"]["warnings"][:2] == [
        "statistics[0] was left out of status.statistics: pValue: expected a number, "
        "got 'small' (str).",
        "statistics[1] was left out of status.statistics: test: missing (expected a string).",
    ]
    assert status["analysis"]["pValue"] == 0.04


async def test_reconcile_keeps_a_run_whose_statistics_are_not_a_list():
    status, _ = await _reconciled({"statistics": "nope"})
    assert status["phase"] == "Succeeded"
    assert status["results"] == {"statistics": "nope"}
    assert status["statistics"] == []
    assert status["analysis"]["warnings"] == [
        "results.statistics was left out of status.statistics: expected a list of objects with "
        "'test', got 'nope' (str)."
    ]


async def test_reconcile_fails_a_run_whose_optimizer_did_not_converge_and_keeps_its_results():
    reported = failed_optimizer_report()
    status, outcome = await _reconciled(reported)
    assert status["phase"] == "Failed"
    assert outcome.phase == "Failed"
    assert status["execution"]["errorKind"] == "runtime"
    assert status["execution"]["error"] == 'the optimizer did not converge: "ABNORMAL:" (L-BFGS-B)'
    assert status["results"] == reported
    assert status["analysis"]["warnings"][0].startswith(
        'The optimizer did not converge: "ABNORMAL:"'
    )
