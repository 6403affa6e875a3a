"""Standardised effect sizes and their confidence intervals, shared by the test modules.

Called by :mod:`.ttest`, :mod:`.anova` and :mod:`.correlation`. Intervals for d invert the
noncentral t distribution and intervals for eta squared the noncentral F distribution (as R's
effectsize and MBESS do). The distribution functions are scipy.special's (nctdtr, ncfdtr: the
same values as scipy.stats.nct/ncf.cdf without the per-call overhead, which dominated small
samples).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy import optimize, special

from kosmos.execution.stats._validation import Alternative
from kosmos.execution.stats.results import EffectSize

__all__ = ["cohens_d_family", "eta_squared_ci", "hedges_j", "noncentral_t_interval"]


def hedges_j(df: float) -> float:
    """Exact small-sample bias correction J(df) = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2))."""
    if df <= 1:
        return float("nan")
    return math.exp(
        special.gammaln(df / 2) - 0.5 * math.log(df / 2) - special.gammaln((df - 1) / 2)
    )


def _solve_decreasing(f: Callable[[float], float], guess: float, scale: float) -> float:
    """Root of a decreasing function, bracketing outward from ``guess`` by ``scale`` steps."""
    lo, hi = guess - scale, guess + scale
    for _ in range(60):
        if f(lo) > 0:
            break
        lo -= scale
        scale *= 2
    for _ in range(60):
        if f(hi) < 0:
            break
        hi += scale
        scale *= 2
    return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12))


def noncentral_t_interval(
    t: float, df: float, confidence_level: float, alternative: Alternative
) -> tuple[float, float]:
    """Confidence interval for the noncentrality parameter of an observed ``t`` on ``df``."""
    spread = math.sqrt(1.0 + t * t / (2.0 * df)) * 2.0

    def bound(prob: float) -> float:
        return _solve_decreasing(lambda ncp: float(special.nctdtr(df, ncp, t)) - prob, t, spread)

    if alternative is Alternative.TWO_SIDED:
        tail = (1.0 - confidence_level) / 2.0
        return bound(1.0 - tail), bound(tail)
    if alternative is Alternative.GREATER:
        return bound(confidence_level), math.inf
    return -math.inf, bound(1.0 - confidence_level)


def cohens_d_family(
    d: float,
    *,
    scale: float,
    df: float,
    confidence_level: float,
    alternative: Alternative,
    d_name: str,
    g_name: str,
) -> tuple[EffectSize, EffectSize]:
    """Cohen's d and Hedges' g with noncentral-t intervals; ``scale`` maps d to t (t = d / scale).

    ``scale`` is sqrt(1/n1 + 1/n2) for two samples and sqrt(1/n) for one sample or paired
    differences (Lakens 2013; R effectsize::cohens_d).
    """
    t = d / scale
    lo, hi = noncentral_t_interval(t, df, confidence_level, alternative)
    d_es = EffectSize(d_name, d, lo * scale, hi * scale, confidence_level)
    j = hedges_j(df)
    g_es = EffectSize(g_name, d * j, lo * scale * j, hi * scale * j, confidence_level)
    return d_es, g_es


def eta_squared_ci(
    f: float, df1: float, df2: float, confidence_level: float
) -> tuple[float, float]:
    """Two-sided interval for eta squared by inverting the noncentral F (Steiger 2004).

    lambda bounds solve ncf.cdf(F; df1, df2, lambda) = 1 - a/2 and a/2;
    eta^2 = lambda / (lambda + N)
    with N = df1 + df2 + 1.
    """
    n_total = df1 + df2 + 1.0
    tail = (1.0 - confidence_level) / 2.0

    def cdf(lam: float) -> float:
        return (
            float(special.ncfdtr(df1, df2, lam, f)) if lam > 0 else float(special.fdtr(df1, df2, f))
        )

    def bound(prob: float) -> float:
        if cdf(0.0) <= prob:
            return 0.0
        hi = max(1.0, f * df1)
        while cdf(hi) > prob:
            hi *= 2.0
        return float(optimize.brentq(lambda lam: cdf(lam) - prob, 0.0, hi, xtol=1e-10, rtol=1e-12))

    lam_lo, lam_hi = bound(1.0 - tail), bound(tail)
    return lam_lo / (lam_lo + n_total), lam_hi / (lam_hi + n_total)
