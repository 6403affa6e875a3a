"""Pearson, Spearman and Kendall tau-b correlation tests as in R's ``cor.test``.

Called through :func:`kosmos.execution.statistics.compute_correlation`. Wraps
``scipy.stats.pearsonr`` (t-based p, Fisher-z interval, as R), ``scipy.stats.kendalltau``
(tau-b; exact null distribution for n < 50 without ties, as R, else the tie-corrected normal
approximation) and ``scipy.stats.spearmanr`` (exact permutation p for small n without
ties via :mod:`.exact_rank`, as R's AS 89, else the t approximation).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import special, stats

from kosmos.execution.stats._validation import (
    Alternative,
    ConstantInputError,
    InsufficientDataError,
    InvalidOptionError,
    check_confidence_level,
    option,
    paired_samples,
)
from kosmos.execution.stats.exact_rank import spearman_exact_p
from kosmos.execution.stats.results import CorrelationResult, EffectSize

__all__ = ["CorrelationMethod", "compute_correlation"]


class CorrelationMethod(StrEnum):
    PEARSON = "pearson"
    SPEARMAN = "spearman"
    KENDALL = "kendall"


def _fisher_interval(r: float, se: float, level: float, alt: Alternative) -> tuple[float, float]:
    """Interval on the Fisher z scale with standard error ``se``, mapped back by tanh."""
    z = math.atanh(max(min(r, 1.0), -1.0)) if abs(r) < 1 else math.copysign(math.inf, r)
    if alt is Alternative.TWO_SIDED:
        q = float(special.ndtri(0.5 + level / 2.0))
        return math.tanh(z - q * se), math.tanh(z + q * se)
    q = float(special.ndtri(level))
    if alt is Alternative.GREATER:
        return math.tanh(z - q * se), 1.0
    return -1.0, math.tanh(z + q * se)


def _has_ties(a: np.ndarray) -> bool:
    s = np.sort(a)
    return bool(np.any(s[1:] == s[:-1]))


def _exact_choice(requested: bool | None, small: bool, ties: bool) -> bool:
    if requested is None:
        return small and not ties
    if requested and ties:
        raise InvalidOptionError("exact=True is unavailable with ties (as in R); use exact=False")
    return bool(requested)


def _tie_sums(a: np.ndarray) -> tuple[float, float, float]:
    _, counts = np.unique(a, return_counts=True)
    t = counts[counts > 1].astype(np.float64)
    return (
        float(np.sum(t * (t - 1))),
        float(np.sum(t * (t - 1) * (2 * t + 5))),
        float(np.sum(t * (t - 1) * (t - 2))),
    )


def _kendall_z(tau: float, a: np.ndarray, b: np.ndarray) -> float:
    """R's tie-corrected z for Kendall's S (cor.test, exact = FALSE, continuity = FALSE)."""
    n = float(a.size)
    x1, xt, x2 = _tie_sums(a)
    y1, yt, y2 = _tie_sums(b)
    t0 = n * (n - 1) / 2
    s = tau * math.sqrt((t0 - x1 / 2) * (t0 - y1 / 2))
    var_s = (
        (n * (n - 1) * (2 * n + 5) - xt - yt) / 18
        + x1 * y1 / (2 * n * (n - 1))
        + x2 * y2 / (9 * n * (n - 1) * (n - 2))
    )
    return s / math.sqrt(var_s)


def compute_correlation(
    x: Any,
    y: Any,
    *,
    method: str = "pearson",
    alternative: str = "two-sided",
    confidence_level: float = 0.95,
    exact: bool | None = None,
    nan_policy: str = "raise",
) -> CorrelationResult:
    """Correlation coefficient with its test and confidence interval (R's ``cor.test``).

    Parameters
    ----------
    x, y : array_like
        Paired observations of equal length.
    method : {"pearson", "spearman", "kendall"}, keyword-only
        Kendall's coefficient is tau-b (tie-corrected).
    alternative : {"two-sided", "less", "greater"}, keyword-only
    confidence_level : float, keyword-only
    exact : bool or None, keyword-only
        Exact null distribution for Kendall and Spearman. None (default) follows R:
        exact for Kendall when n < 50, for Spearman when n < 1290, and never with ties.
    nan_policy : {"raise", "omit"}, keyword-only
        ``omit`` drops incomplete pairs.

    Returns
    -------
    CorrelationResult
        ``correlation``, ``p_value``, ``ci_low``, ``ci_high``, ``n``, ``method``, ``statistic``
        (t for Pearson, S for Spearman, T or z for Kendall, as R prints), ``exact``. The
        interval is Fisher's z for Pearson (as R), with the Bonett-Wright (2000) standard
        error for Spearman and Fieller et al. (1957) for Kendall (R prints none for those).

    Raises
    ------
    ConstantInputError
        x or y is constant (the correlation is undefined).
    InsufficientDataError, LengthMismatchError, NonFiniteInputError, EmptyInputError

    References
    ----------
    .. [1] R Core Team, ``cor.test`` (stats). https://stat.ethz.ch/R-manual/R-devel/library/stats/html/cor.test.html
    .. [2] Best, D. J. & Roberts, D. E. (1975). Algorithm AS 89. Appl. Stat. 24, 377-379.
    .. [3] Bonett, D. G. & Wright, T. A. (2000). Sample size requirements for estimating
       Pearson, Kendall and Spearman correlations. Psychometrika 65, 23-28.

    Examples
    --------
    >>> from kosmos.execution.statistics import compute_correlation
    >>> x = [44.4, 45.9, 41.9, 53.3, 44.7, 44.1, 50.7, 45.2, 60.1]
    >>> y = [2.6, 3.1, 2.5, 5.0, 3.6, 4.0, 5.2, 2.8, 3.8]
    >>> r = compute_correlation(x, y)
    >>> round(r.correlation, 7), round(r.statistic, 4), round(r.p_value, 4)
    (0.5711816, 1.8411, 0.1082)
    """
    how = option(method, CorrelationMethod, "method")
    alt = option(alternative, Alternative, "alternative")
    level = check_confidence_level(confidence_level)
    min_n = 3 if how is CorrelationMethod.PEARSON else 2
    a, b = paired_samples(x, y, nan_policy=nan_policy, min_n=min_n)
    n = a.size
    for name, arr in (("x", a), ("y", b)):
        if arr.min() == arr.max():
            raise ConstantInputError(f"{name} is constant; its correlation is undefined")
    if how is CorrelationMethod.PEARSON:
        res = stats.pearsonr(a, b, alternative=alt.value)
        r = float(res.statistic)
        df = float(n - 2)
        t = r * math.sqrt(df / (1.0 - r * r)) if abs(r) < 1 else math.copysign(math.inf, r)
        if n > 3:
            ci = res.confidence_interval(confidence_level=level)
            lo, hi = float(ci.low), float(ci.high)
        else:
            lo = hi = math.nan
        return CorrelationResult(
            test="pearson",
            correlation=r,
            p_value=float(res.pvalue),
            ci_low=lo,
            ci_high=hi,
            confidence_level=level,
            n=n,
            method="pearson",
            alternative=alt.value,
            statistic=t,
            statistic_name="t",
            df=df,
            exact=False,
            effect_size=EffectSize("pearson_r", r, lo, hi, level),
        )
    if how is CorrelationMethod.KENDALL:
        # ties only matter where an exact distribution is possible (R: n < 50)
        ties = (n < 50 or bool(exact)) and (_has_ties(a) or _has_ties(b))
        use_exact = _exact_choice(exact, n < 50, ties)
        res = stats.kendalltau(
            a, b, alternative=alt.value, method="exact" if use_exact else "asymptotic"
        )
        tau = float(res.statistic)
        if use_exact:
            # R prints T, the number of concordant pairs: (tau + 1) * n(n-1)/4 without ties.
            statistic, name = float(round((tau + 1.0) * n * (n - 1) / 4.0)), "T"
        else:
            statistic, name = _kendall_z(tau, a, b), "z"
        se = math.sqrt(0.437 / (n - 4)) if n > 4 else math.nan
        lo, hi = _fisher_interval(tau, se, level, alt) if n > 4 else (math.nan, math.nan)
        return CorrelationResult(
            test="kendall_tau_b",
            correlation=tau,
            p_value=float(res.pvalue),
            ci_low=lo,
            ci_high=hi,
            confidence_level=level,
            n=n,
            method="kendall",
            alternative=alt.value,
            statistic=statistic,
            statistic_name=name,
            df=None,
            exact=use_exact,
            effect_size=EffectSize("kendall_tau_b", tau, lo, hi, level),
        )
    res = stats.spearmanr(a, b, alternative=alt.value)
    rho = float(res.statistic)
    s_stat = (n**3 - n) * (1.0 - rho) / 6.0  # R's S = sum of squared rank differences
    ties = (n < 1290 or bool(exact)) and (_has_ties(a) or _has_ties(b))
    use_exact = _exact_choice(exact, n < 1290, ties)
    p = spearman_exact_p(s_stat, n, alt.value) if use_exact else float(res.pvalue)
    if not use_exact and n < 3:
        raise InsufficientDataError("Spearman's test with ties needs at least 3 pairs")
    se = math.sqrt((1.0 + rho * rho / 2.0) / (n - 3)) if n > 3 else math.nan
    lo, hi = _fisher_interval(rho, se, level, alt) if n > 3 else (math.nan, math.nan)
    return CorrelationResult(
        test="spearman",
        correlation=rho,
        p_value=p,
        ci_low=lo,
        ci_high=hi,
        confidence_level=level,
        n=n,
        method="spearman",
        alternative=alt.value,
        statistic=s_stat,
        statistic_name="S",
        df=None,
        exact=use_exact,
        effect_size=EffectSize("spearman_rho", rho, lo, hi, level),
    )
