"""ResultAnalyzer: significance, effect size, magnitude and a plain-language interpretation.

Called by ``kosmos.execution.reporting.analysis_for`` (status ``analysis``) and by library
users (``ResultAnalyzer().analyze(results=..., experiment_type=...)``). Pure: it reads the
``StatisticEntry`` dicts a program reported (``results["statistics"]``), result objects of
:mod:`kosmos.execution.statistics`, or the documented Kosmos shapes such as
``{"correlation": r, "p_value": p, "n": n}``, and never recomputes a test from data it does
not have. Several tests are adjusted for multiplicity (Holm by default). The wording states
associations and differences, never causes.
"""

from __future__ import annotations

import math
from typing import Any

from kosmos.execution.effect_sizes import magnitude
from kosmos.execution.statistics import adjust_pvalues
from kosmos.execution.stats.describe import (
    ASSUMPTION_TESTS,
    SMALL_SAMPLE,
    assumption_note,
    describe_effect,
    describe_test,
    entries_from,
    sample_sizes,
)

__all__ = ["ResultAnalyzer"]

_LARGE_N_FOR_TINY = 100  # "large n" for the tiny-but-significant warning


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class ResultAnalyzer:
    """Turn reported test results into the status ``analysis`` block.

    Parameters
    ----------
    adjustment_method : {"holm", "bonferroni", "fdr_bh"}
        Multiplicity adjustment when one experiment reports several tests.
    """

    def __init__(self, *, adjustment_method: str = "holm") -> None:
        self.adjustment_method = adjustment_method

    def analyze(
        self,
        results: Any = None,
        experiment_type: str | None = None,
        alpha: float | None = None,
    ) -> dict[str, Any]:
        """Analyse one experiment's results.

        Returns a dict with ``significance`` (and its alias ``significant``), ``alpha``,
        ``p_value`` (of the primary, first, test), ``adjusted_p_values`` and
        ``adjustment_method`` (with several tests, else None), ``effect_size`` (name, value,
        ci_low, ci_high, magnitude), ``effect_magnitude``, ``interpretation`` (one or two
        sentences), ``warnings``, ``tests`` (one summary per test) and ``assumptions``.

        Examples
        --------
        >>> from kosmos.execution.analyzer import ResultAnalyzer
        >>> out = ResultAnalyzer().analyze(
        ...     results={"correlation": 0.62, "p_value": 0.003, "n": 20},
        ...     experiment_type="correlation_analysis",
        ... )
        >>> out["significance"], out["effect_magnitude"]
        (True, 'large')
        """
        entries = entries_from(results, experiment_type)
        level = _number(alpha)
        if level is None and isinstance(results, dict):
            level = _number(results.get("alpha"))
        level = 0.05 if level is None else level
        tests = [e for e in entries if e.get("test") not in ASSUMPTION_TESTS]
        checks = [e for e in entries if e.get("test") in ASSUMPTION_TESTS]
        for e in tests:
            checks.extend(a for a in e.get("assumptions", []) or [] if isinstance(a, dict))
        if not tests:
            return self._empty(level, "No statistical test was reported, so nothing was analysed.")

        p_values = [_number(e.get("pValue")) for e in tests]
        adjusted: list[float | None] = list(p_values)
        method = None
        if sum(p is not None for p in p_values) > 1:
            adj = adjust_pvalues(p_values, method=self.adjustment_method)
            adjusted = [None if math.isnan(a) else a for a in adj.adjusted]
            method = adj.method

        summaries = [
            self._summary(e, p, a, level) for e, p, a in zip(tests, p_values, adjusted, strict=True)
        ]
        primary, first = summaries[0], tests[0]
        warnings = self._warnings(first, primary, level, method)
        order = results.get("groupOrder") if isinstance(results, dict) else None
        labels = (
            (str(order[0]), str(order[1])) if isinstance(order, list) and len(order) == 2 else None
        )
        interpretation = self._interpret(
            first,
            primary,
            checks=checks,
            level=level,
            method=method,
            n_tests=len(tests),
            labels=labels,
        )
        return {
            "significance": primary["significant"],
            "significant": primary["significant"],
            "alpha": level,
            "p_value": primary["p_value"],
            "adjusted_p_values": (
                [a for a in adjusted if a is not None] if method is not None else None
            ),
            "adjustment_method": method,
            "effect_size": primary["effect_size"],
            "effect_magnitude": (primary["effect_size"] or {}).get("magnitude"),
            "interpretation": interpretation,
            "warnings": warnings,
            "tests": summaries,
            "assumptions": [
                {
                    "test": c.get("test"),
                    "p_value": _number(c.get("pValue")),
                    "violated": _number(c.get("pValue")) is not None and float(c["pValue"]) < level,
                }
                for c in checks
            ],
            "experiment_type": experiment_type,
        }

    @staticmethod
    def _empty(level: float, text: str) -> dict[str, Any]:
        return {
            "significance": None,
            "significant": None,
            "alpha": level,
            "p_value": None,
            "adjusted_p_values": None,
            "adjustment_method": None,
            "effect_size": None,
            "effect_magnitude": None,
            "interpretation": text,
            "warnings": [],
            "tests": [],
            "assumptions": [],
        }

    @staticmethod
    def _summary(
        entry: dict[str, Any], p: float | None, adjusted: float | None, level: float
    ) -> dict[str, Any]:
        decisive = adjusted if adjusted is not None else p
        effect = entry.get("effectSize") or None
        effect_out = None
        if isinstance(effect, dict) and _number(effect.get("value")) is not None:
            shape = entry.get("tableShape")
            effect_out = {
                "name": effect.get("name"),
                "value": _number(effect.get("value")),
                "ci_low": _number(effect.get("ciLow")),
                "ci_high": _number(effect.get("ciHigh")),
                "magnitude": magnitude(
                    str(effect.get("name")),
                    _number(effect.get("value")),
                    table_shape=tuple(shape)
                    if isinstance(shape, list) and len(shape) == 2
                    else None,
                ),
            }
        return {
            "test": entry.get("test"),
            "statistic": _number(entry.get("statistic")),
            "df": entry.get("df"),
            "p_value": p,
            "adjusted_p_value": adjusted,
            "significant": None if decisive is None else decisive < level,
            "effect_size": effect_out,
            "n": entry.get("n"),
        }

    @staticmethod
    def _warnings(
        entry: dict[str, Any], summary: dict[str, Any], level: float, method: str | None
    ) -> list[str]:
        out: list[str] = []
        p = summary["p_value"]
        effect = summary["effect_size"] or {}
        label = effect.get("magnitude")
        sizes = sample_sizes(entry)
        total = sum(sizes) if sizes else None
        if (
            p is not None
            and p < 0.01
            and label in ("very small", "tiny")
            and (total or 0) >= _LARGE_N_FOR_TINY
        ):
            out.append(
                f"Statistically significant (p = {p:.3g}) but the effect is {label} "
                f"({effect.get('name')} = {effect.get('value'):.3g}) at n = {total}: with this "
                "many "
                "observations even a negligible difference reaches significance; judge practical "
                "relevance by the effect size."
            )
        if (
            p is not None
            and p >= level
            and label == "large"
            and sizes
            and min(sizes) < SMALL_SAMPLE
        ):
            out.append(
                f"A large effect ({effect.get('name')} = {effect.get('value'):.3g}) was not "
                f"significant (p = {p:.3g}) with small samples (n = {', '.join(map(str, sizes))}): "
                "the test is likely underpowered and the interval is wide; this is not evidence "
                "of no effect."
            )
        if method is not None and p is not None and p < level and summary["significant"] is False:
            out.append(
                f"p = {p:.3g} is below alpha = {level:g} but not after {method} adjustment for "
                "the several tests reported."
            )
        expected_min = _number(entry.get("expectedMin"))
        if expected_min is not None and expected_min < 5:
            out.append(
                f"The smallest expected count is {expected_min:.3g} (< 5): the chi-squared "
                "approximation may be poor; an exact test (Fisher) is better suited."
            )
        return out

    @staticmethod
    def _interpret(
        entry: dict[str, Any],
        summary: dict[str, Any],
        *,
        checks: list[dict[str, Any]],
        level: float,
        method: str | None,
        n_tests: int,
        labels: tuple[str, str] | None = None,
    ) -> str:
        first = describe_test(entry, summary, level, method, n_tests)
        parts = [describe_effect(entry, summary["effect_size"], labels)]
        note = assumption_note(entry, checks, level)
        if note:
            parts.append(note)
        sizes = sample_sizes(entry)
        if sizes and min(sizes) < SMALL_SAMPLE:
            parts.append(
                f"the sample is small (n = {', '.join(map(str, sizes))}), "
                "so estimates are imprecise"
            )
        second = "; ".join(p for p in parts if p)
        return f"{first} {second}."
