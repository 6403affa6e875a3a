"""Plain-language magnitude labels for effect sizes, read from shipped conventions.

Called by :mod:`kosmos.execution.analyzer`. The thresholds and their sources live in
``kosmos/execution/stats/conventions.json`` (a copy of the research reference: Cohen 1988,
Field 2013 and others). Intervals are half-open ``[lower, upper)`` as in R's effectsize
(``rules(..., right = FALSE)``): a value exactly on a threshold takes the higher label.
Labels describe size only; Cohen presented them as a last resort when the field has no
better benchmark.
"""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["MagnitudeRule", "conventions", "magnitude", "rule_for"]

# Effect-size name (as in StatisticEntry.effectSize.name) -> (family, rule set) in the file.
_RULE_BY_EFFECT: dict[str, tuple[str, str]] = {
    **dict.fromkeys(
        ["cohens_d", "hedges_g", "cohens_dz", "hedges_gz", "glass_delta", "cohens_dav"],
        ("cohens_d_hedges_g_glass_delta", "cohen1988"),
    ),
    **dict.fromkeys(
        [
            "pearson_r",
            "spearman_rho",
            "kendall_tau_b",
            "rank_biserial",
            "rank_biserial_paired",
            "r",
        ],
        ("correlation_r", "cohen1988"),
    ),
    **dict.fromkeys(
        [
            "eta_squared",
            "omega_squared",
            "epsilon_squared",
            "eta_squared_from_f",
            "rank_epsilon_squared",
            "partial_eta_squared",
        ],
        ("eta_squared_omega_squared_epsilon_squared", "field2013"),
    ),
    "cohens_f": ("cohens_f", "cohen1988"),
    "cohens_f_squared": ("cohens_f_squared", "cohen1988"),
    "cramers_v": ("cohens_w", "cohen1988"),
    "phi": ("cohens_w", "cohen1988"),
    "cohens_w": ("cohens_w", "cohen1988"),
}


@dataclass(frozen=True)
class MagnitudeRule:
    """Thresholds (ascending, on |value|) and the len(thresholds) + 1 labels between them."""

    family: str
    name: str
    thresholds: tuple[float, ...]
    labels: tuple[str, ...]
    source: str

    def label(self, value: float) -> str:
        """Label of |value|; intervals are half-open, so a threshold takes the higher label."""
        return self.labels[bisect.bisect_right(self.thresholds, abs(value))]


@lru_cache(maxsize=1)
def conventions() -> dict[str, Any]:
    """The shipped conventions file, parsed once."""
    text = resources.files("kosmos.execution.stats").joinpath("conventions.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def rule_for(effect_name: str) -> MagnitudeRule | None:
    """The magnitude rule used for an effect size name, or None when none is conventional."""
    key = _RULE_BY_EFFECT.get(effect_name)
    if key is None:
        return None
    family, name = key
    entry = conventions()[family][name]
    return MagnitudeRule(
        family=family,
        name=name,
        thresholds=tuple(float(t) for t in entry["thresholds"]),
        labels=tuple(entry["labels"]),
        source=str(entry["source"]),
    )


def magnitude(
    effect_name: str, value: float | None, *, table_shape: tuple[int, int] | None = None
) -> str | None:
    """Conventional label of an effect size (None when unknown or the value is missing).

    Cramer's V is first converted to Cohen's w = V * sqrt(min(r, c) - 1) when the table
    shape is known (for a 2 x 2 table V = phi = w).
    """
    if value is None or not math.isfinite(value):
        return None
    rule = rule_for(effect_name)
    if rule is None:
        return None
    if effect_name == "cramers_v" and table_shape is not None:
        value = value * math.sqrt(max(min(table_shape) - 1, 1))
    return rule.label(value)
