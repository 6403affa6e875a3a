"""ResultAnalyzer: significance, effect size, magnitude and a plain-language interpretation.

Called by ``kosmos.execution.reporting.analysis_for`` (status ``analysis``) and by library
users (``ResultAnalyzer().analyze(results=..., experiment_type=...)``). Pure: it reads the
``StatisticEntry`` dicts a program reported (``results["statistics"]``), result objects of
:mod:`kosmos.execution.statistics`, or the documented Kosmos shapes such as
``{"correlation": r, "p_value": p, "n": n}``, and never recomputes a test from data it does
not have. Several tests are adjusted for multiplicity: by the method the results say they were
adjusted with (``"adjustment": "fdr_bh"`` from the data_analysis template), else Holm. An
optimizer's report (``experiment_type="optimization"``) is read for convergence. The wording
states associations and differences, never causes.
"""

from __future__ import annotations

import math
from typing import Any

from kosmos.execution.effect_sizes import magnitude
from kosmos.execution.statistics import AdjustMethod, adjust_pvalues
from kosmos.execution.stats.describe import (
    ASSUMPTION_TESTS,
    SMALL_SAMPLE,
    assumption_note,
    describe_effect,
    describe_optimization,
    describe_test,
    entries_from,
    sample_sizes,
)

__all__ = ["ResultAnalyzer"]

_LARGE_N_FOR_TINY = 100  # "large n" for the tiny-but-significant warning
_DEFAULT_ALPHA = 0.05
# Names programs give the adjustment they applied (R's p.adjust names included).
_ADJUSTMENT_ALIASES = {"bh": "fdr_bh", "fdr": "fdr_bh", "benjamini-hochberg": "fdr_bh"}


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _level(alpha: Any, results: Any) -> tuple[float, list[str]]:
    """The significance level: the caller's, else the one the results report, else 0.05."""
    given, source = alpha, "alpha"
    if given is None and isinstance(results, dict) and results.get("alpha") is not None:
        given, source = results["alpha"], "results.alpha"
    if given is None:
        return _DEFAULT_ALPHA, []
    level = _number(given)
    if level is not None and 0 < level < 1:
        return level, []
    return _DEFAULT_ALPHA, [
        f"{source} = {given!r} is not a number between 0 and 1; alpha = {_DEFAULT_ALPHA:g} "
        "was used."
    ]


def _labels(results: Any) -> tuple[str, str] | None:
    """Labels of the two groups a two-sample test compared, in the order it compared them."""
    if not isinstance(results, dict):
        return None
    order = results.get("groupOrder")
    if isinstance(order, list) and len(order) == 2:
        return str(order[0]), str(order[1])
    reference, other = results.get("reference"), results.get("other")
    if isinstance(reference, str) and isinstance(other, str):
        return other, reference  # differential_expression tests `other` against `reference`
    return None


class ResultAnalyzer:
    """Turn reported test results into the status ``analysis`` block.

    Parameters
    ----------
    adjustment_method : {"holm", "bonferroni", "fdr_bh"}
        Multiplicity adjustment when one experiment reports several tests.
    """

    def __init__(self, *, adjustment_method: str = "holm") -> None:
        self.adjustment_method = adjustment_method

    def _adjustment(self, results: Any) -> tuple[str, list[str]]:
        """The method the results were adjusted with (kept, not contradicted), else our own."""
        declared = None
        if isinstance(results, dict):
            declared = results.get("adjustment", results.get("adjustmentMethod"))
        if not isinstance(declared, str):
            return self.adjustment_method, []
        name = _ADJUSTMENT_ALIASES.get(declared.lower(), declared.lower())
        if name in {m.value for m in AdjustMethod}:
            return name, []
        return self.adjustment_method, [
            f"The results report p-values adjusted by {declared!r}, which the analysis does not "
            f"know; the analysis adjusted the tests with {self.adjustment_method} instead."
        ]

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
        sentences; it names the variable or pair of variables the primary test is about when
        the entry says, and the groups by label), ``warnings``, ``tests`` (one summary per test)
        and ``assumptions``. With ``experiment_type="optimization"`` the results are an
        optimizer's report: no significance, ``converged``, and an interpretation that claims
        no optimum when the optimizer did not converge.

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
        level, notes = _level(alpha, results)
        if experiment_type == "optimization" and isinstance(results, dict):
            return self._optimization(results, level, notes)
        entries = entries_from(results, experiment_type)
        tests = [e for e in entries if e.get("test") not in ASSUMPTION_TESTS]
        checks = [e for e in entries if e.get("test") in ASSUMPTION_TESTS]
        for e in tests:
            checks.extend(a for a in e.get("assumptions", []) or [] if isinstance(a, dict))
        if not tests:
            out = self._empty(level, "No statistical test was reported, so nothing was analysed.")
            out["warnings"] = notes
            return out

        p_values = [_number(e.get("pValue")) for e in tests]
        for index, p in enumerate(p_values):
            if p is not None and not 0 <= p <= 1:
                notes.append(
                    f"Test {index + 1} ({tests[index].get('test')}) reported p = {p:g}, outside "
                    "[0, 1]; it was treated as not reported."
                )
                p_values[index] = None
        adjusted: list[float | None] = list(p_values)
        method = None
        if sum(p is not None for p in p_values) > 1:
            chosen, unknown = self._adjustment(results)
            notes.extend(unknown)
            adj = adjust_pvalues(p_values, method=chosen)
            adjusted = [None if math.isnan(a) else a for a in adj.adjusted]
            method = adj.method

        summaries = [
            self._summary(e, p, a, level) for e, p, a in zip(tests, p_values, adjusted, strict=True)
        ]
        primary, first = summaries[0], tests[0]
        warnings = [*notes, *self._warnings(first, primary, level, method)]
        interpretation = self._interpret(
            first,
            primary,
            checks=checks,
            level=level,
            method=method,
            n_tests=len(tests),
            labels=_labels(results),
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

    def _optimization(
        self, results: dict[str, Any], level: float, notes: list[str]
    ) -> dict[str, Any]:
        """An optimizer's report: did it converge, and where; no test, so no significance."""
        out = self._empty(level, "")
        interpretation, warnings = describe_optimization(results)
        out.update(
            interpretation=interpretation,
            warnings=[*notes, *warnings],
            converged=results.get("success") is not False,
            experiment_type="optimization",
        )
        return out

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
