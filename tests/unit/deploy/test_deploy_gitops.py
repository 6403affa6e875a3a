"""The Argo CD health check in docs/gitops.md, run in Lua on the statuses the operator writes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from conftest import REPO
from kosmos.execution.reporting import terminal_conditions
from kosmos.operator.conditions import in_progress_conditions

# Argo CD runs health checks in gopher-lua, a Lua 5.1: use lupa's Lua 5.1 build.
lupa = pytest.importorskip(
    "lupa.lua51", reason="lupa (Lua 5.1 runtime) is needed to run the Argo CD health check"
)

NOW = "2026-01-01T00:00:00Z"


def _health_script() -> str:
    text = (REPO / "docs" / "gitops.md").read_text(encoding="utf-8")
    block = re.search(r"argocd-health-lua: begin.*?```lua\n(.*?)```", text, re.S)
    assert block, "the Lua block between the argocd-health-lua markers is missing"
    return block.group(1)


def _health(obj: dict[str, Any]) -> tuple[str, str]:
    """Run the script as Argo CD does: a global ``obj``, the returned table ``hs``."""
    runtime = lupa.LuaRuntime(unpack_returned_tuples=True)

    def to_lua(value: Any) -> Any:
        if isinstance(value, dict):
            return runtime.table_from({k: to_lua(v) for k, v in value.items()})
        if isinstance(value, list):
            return runtime.table_from([to_lua(v) for v in value])
        return value

    runtime.globals().obj = to_lua(obj)
    hs = runtime.execute(_health_script())
    return hs["status"], hs["message"]


def _experiment(status: dict[str, Any] | None, *, generation: int = 1) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "kosmos.dev/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "sleep-drug", "generation": generation},
    }
    if status is not None:
        obj["status"] = status
    return obj


def _conditions(items: list[Any]) -> list[dict[str, Any]]:
    return [
        c if isinstance(c, dict) else c.model_dump(by_alias=True, exclude_none=True, mode="json")
        for c in items
    ]


def test_new_experiment_without_status_is_progressing() -> None:
    assert _health(_experiment(None))[0] == "Progressing"


def test_running_experiment_is_progressing() -> None:
    conditions = in_progress_conditions(
        reason="JobRunning", message="Job is running", generation=1, now=NOW
    )
    status, message = _health(
        _experiment({"phase": "Running", "observedGeneration": 1, "conditions": conditions})
    )
    assert status == "Progressing"
    assert "JobRunning" in message


def test_succeeded_experiment_is_healthy() -> None:
    conditions = _conditions(
        terminal_conditions(succeeded=True, reason="Succeeded", message="ok", generation=1, now=NOW)
    )
    assert (
        _health(
            _experiment({"phase": "Succeeded", "observedGeneration": 1, "conditions": conditions})
        )[0]
        == "Healthy"
    )


def test_failed_experiment_is_degraded_with_the_reason() -> None:
    conditions = _conditions(
        terminal_conditions(
            succeeded=False,
            reason="MemoryLimitExceeded",
            message="memory limit of 256 MiB exceeded",
            generation=1,
            now=NOW,
        )
    )
    status, message = _health(
        _experiment({"phase": "Failed", "observedGeneration": 1, "conditions": conditions})
    )
    assert status == "Degraded"
    assert message.startswith("MemoryLimitExceeded: memory limit")


def test_status_of_an_older_generation_is_progressing() -> None:
    conditions = _conditions(
        terminal_conditions(succeeded=True, reason="Succeeded", message="ok", generation=1, now=NOW)
    )
    status, message = _health(
        _experiment(
            {"phase": "Succeeded", "observedGeneration": 1, "conditions": conditions}, generation=2
        )
    )
    assert status == "Progressing"
    assert "generation 2" in message
