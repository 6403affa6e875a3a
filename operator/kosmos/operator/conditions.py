"""kstatus-style conditions of an Experiment (Ready, Reconciling, Stalled, Succeeded, Failed).

Pure. Terminal conditions come from ``kosmos.execution.reporting`` (the same as ``kosmos run``);
this module adds the in-progress ones and keeps ``lastTransitionTime`` stable across
reconciles when a condition's status did not change. Called by reconcile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kosmos.api.status import ConditionStatus, ConditionType

__all__ = ["in_progress_conditions", "merge_transition_times"]


def in_progress_conditions(*, reason: str, message: str, generation: int, now: str) -> list[dict[str, Any]]:
    """Conditions of a run that is pending or running: Reconciling=True, Ready=False."""

    def condition(ctype: ConditionType, status: ConditionStatus) -> dict[str, Any]:
        return {
            "type": str(ctype),
            "status": str(status),
            "reason": reason,
            "message": message,
            "lastTransitionTime": now,
            "observedGeneration": generation,
        }

    return [
        condition(ConditionType.READY, ConditionStatus.FALSE),
        condition(ConditionType.RECONCILING, ConditionStatus.TRUE),
        condition(ConditionType.STALLED, ConditionStatus.FALSE),
    ]


def merge_transition_times(
    new: Sequence[Mapping[str, Any]], old: Sequence[Mapping[str, Any]] | None
) -> list[dict[str, Any]]:
    """Keep the old lastTransitionTime for each condition whose status is unchanged."""
    previous = {c.get("type"): c for c in old or []}
    merged = []
    for cond in new:
        item = dict(cond)
        before = previous.get(item.get("type"))
        if before is not None and before.get("status") == item.get("status") and before.get("lastTransitionTime"):
            item["lastTransitionTime"] = before["lastTransitionTime"]
        merged.append(item)
    return merged
