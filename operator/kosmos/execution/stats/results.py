"""Frozen result objects of the statistics layer, each with a status-shaped ``to_dict()``.

Returned by every public function of :mod:`kosmos.execution.statistics`; ``to_dict()`` gives
the camelCase ``StatisticEntry`` shape of ``kosmos.api.status`` at full precision. Non-finite
numbers (an infinite one-sided confidence bound, say) become ``None`` so the dict is valid JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AdjustedPValues",
    "AnovaResult",
    "AssumptionResult",
    "ChiSquareResult",
    "CorrelationResult",
    "EffectSize",
    "RankTestResult",
    "TTestResult",
    "json_number",
]


def json_number(value: Any) -> Any:
    """Return ``value`` as a plain float/int, or None when it is missing or not finite."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    v = float(value)
    return v if math.isfinite(v) else None


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """Drop missing values and make every number JSON-safe (lists and nested dicts included)."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out[key] = _clean(value) if key != "effectSize" else value
        elif isinstance(value, (list, tuple)):
            out[key] = [json_number(v) if not isinstance(v, str) else v for v in value]
        elif isinstance(value, str):
            out[key] = value
        else:
            num = json_number(value)
            if num is not None:
                out[key] = num
    return out


@dataclass(frozen=True)
class EffectSize:
    """An effect size with its confidence interval (bounds None when not defined)."""

    name: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    confidence_level: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": json_number(self.value),
            "ciLow": json_number(self.ci_low),
            "ciHigh": json_number(self.ci_high),
        }


def _effect(es: EffectSize | None) -> dict[str, Any] | None:
    return es.to_dict() if es is not None else None


@dataclass(frozen=True)
class TTestResult:
    """A one-sample, paired, Student or Welch t-test (R's ``t.test``)."""

    test: str
    statistic: float
    p_value: float
    df: float
    mean_difference: float
    ci_low: float
    ci_high: float
    confidence_level: float
    alternative: str
    n: tuple[int, ...]
    means: tuple[float, ...]
    standard_error: float
    effect_size: EffectSize
    cohens_d: EffectSize
    method: str
    mu: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = {
            "test": self.test,
            "statistic": self.statistic,
            "df": self.df,
            "pValue": self.p_value,
            "n": list(self.n) if len(self.n) > 1 else self.n[0],
            "effectSize": _effect(self.effect_size),
            "cohensD": _effect(self.cohens_d),
            "method": self.method,
            "alternative": self.alternative,
            "meanDifference": self.mean_difference,
            "means": list(self.means),
            "mu": self.mu,
            "standardError": self.standard_error,
            "ciLow": self.ci_low,
            "ciHigh": self.ci_high,
            "confidenceLevel": self.confidence_level,
        }
        return _clean(d)


@dataclass(frozen=True)
class AnovaResult:
    """A one-way ANOVA (Fisher's F or Welch's heteroscedastic F, R's ``oneway.test``)."""

    test: str
    f_statistic: float
    p_value: float
    df_between: float
    df_within: float
    ss_between: float | None
    ss_within: float | None
    ms_between: float | None
    ms_within: float | None
    eta_squared: float | None
    omega_squared: float | None
    effect_size: EffectSize | None
    n: tuple[int, ...]
    method: str
    exact: bool = False

    @property
    def statistic(self) -> float:
        return self.f_statistic

    @property
    def df(self) -> tuple[float, float]:
        return (self.df_between, self.df_within)

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "test": self.test,
                "statistic": self.f_statistic,
                "df": [self.df_between, self.df_within],
                "pValue": self.p_value,
                "n": list(self.n),
                "effectSize": _effect(self.effect_size),
                "method": self.method,
                "ssBetween": self.ss_between,
                "ssWithin": self.ss_within,
                "msBetween": self.ms_between,
                "msWithin": self.ms_within,
                "etaSquared": self.eta_squared,
                "omegaSquared": self.omega_squared,
                "exactArithmetic": self.exact,
            }
        )


@dataclass(frozen=True)
class CorrelationResult:
    """Pearson, Spearman or Kendall tau-b correlation (R's ``cor.test``)."""

    test: str
    correlation: float
    p_value: float
    ci_low: float | None
    ci_high: float | None
    confidence_level: float
    n: int
    method: str
    alternative: str
    statistic: float
    statistic_name: str
    df: float | None
    exact: bool
    effect_size: EffectSize

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "test": self.test,
                "statistic": self.statistic,
                "statisticName": self.statistic_name,
                "df": self.df,
                "pValue": self.p_value,
                "n": self.n,
                "effectSize": _effect(self.effect_size),
                "method": self.method,
                "alternative": self.alternative,
                "correlation": self.correlation,
                "ciLow": self.ci_low,
                "ciHigh": self.ci_high,
                "confidenceLevel": self.confidence_level,
                "exact": self.exact,
            }
        )


@dataclass(frozen=True)
class RankTestResult:
    """Kruskal-Wallis, Mann-Whitney U or Wilcoxon signed-rank test."""

    test: str
    statistic: float
    statistic_name: str
    p_value: float
    n: tuple[int, ...]
    method: str
    alternative: str | None
    effect_size: EffectSize
    df: float | None = None
    exact: bool = False
    continuity: bool | None = None
    extras: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "test": self.test,
            "statistic": self.statistic,
            "statisticName": self.statistic_name,
            "df": self.df,
            "pValue": self.p_value,
            "n": list(self.n) if len(self.n) > 1 else self.n[0],
            "effectSize": _effect(self.effect_size),
            "method": self.method,
            "alternative": self.alternative,
            "exact": self.exact,
            "continuity": self.continuity,
        }
        d.update(self.extras)
        return _clean(d)


@dataclass(frozen=True)
class ChiSquareResult:
    """Pearson's chi-squared test of independence on a contingency table, with Cramer's V."""

    test: str
    statistic: float
    p_value: float
    df: float
    n: int
    shape: tuple[int, int]
    correction: bool
    expected_min: float
    effect_size: EffectSize
    method: str

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "test": self.test,
                "statistic": self.statistic,
                "df": self.df,
                "pValue": self.p_value,
                "n": self.n,
                "effectSize": _effect(self.effect_size),
                "method": self.method,
                "tableShape": list(self.shape),
                "yatesCorrection": self.correction,
                "expectedMin": self.expected_min,
            }
        )


@dataclass(frozen=True)
class AssumptionResult:
    """An assumption check: Shapiro-Wilk, Levene / Brown-Forsythe or Bartlett."""

    test: str
    statistic: float
    p_value: float
    n: tuple[int, ...]
    method: str
    df: tuple[float, ...] | float | None = None
    center: str | None = None

    def violated(self, alpha: float = 0.05) -> bool:
        """True when the check rejects its null (normality, equal variances) at ``alpha``."""
        return self.p_value < alpha

    def to_dict(self) -> dict[str, Any]:
        df: Any = list(self.df) if isinstance(self.df, tuple) else self.df
        return _clean(
            {
                "test": self.test,
                "statistic": self.statistic,
                "df": df,
                "pValue": self.p_value,
                "n": list(self.n) if len(self.n) > 1 else self.n[0],
                "method": self.method,
                "center": self.center,
            }
        )


@dataclass(frozen=True)
class AdjustedPValues:
    """p-values adjusted for multiple testing; NaN inputs stay NaN and are not counted (as R)."""

    method: str
    p_values: tuple[float, ...]
    adjusted: tuple[float, ...]
    n_tests: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "pValues": [json_number(p) for p in self.p_values],
            "adjusted": [json_number(p) for p in self.adjusted],
            "nTests": self.n_tests,
        }
