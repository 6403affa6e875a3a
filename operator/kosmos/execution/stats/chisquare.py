"""Pearson's chi-squared test of independence with Cramer's V (R's ``chisq.test``).

Called through :func:`kosmos.execution.statistics.compute_chi_square`. Wraps
``scipy.stats.chi2_contingency`` (Yates' continuity correction on 2x2 tables by default, as
R) and adds Cramer's V with an interval from the noncentral chi-squared distribution.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from kosmos.execution.stats._validation import (
    InsufficientDataError,
    LengthMismatchError,
    NonFiniteInputError,
    StatisticsError,
    check_confidence_level,
)
from kosmos.execution.stats.results import ChiSquareResult, EffectSize

__all__ = ["compute_chi_square", "contingency_table"]


def contingency_table(x: Any, y: Any) -> np.ndarray:
    """Cross-tabulate two categorical sequences (missing values, None or NaN, are refused)."""
    xs, ys = list(x), list(y)
    if len(xs) != len(ys):
        raise LengthMismatchError(f"x and y must have the same length, got {len(xs)} and {len(ys)}")
    for v in (*xs, *ys):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            raise NonFiniteInputError("categorical data contain missing values; drop them first")
    rows = {v: i for i, v in enumerate(sorted(set(xs), key=str))}
    cols = {v: i for i, v in enumerate(sorted(set(ys), key=str))}
    table = np.zeros((len(rows), len(cols)))
    for a, b in zip(xs, ys, strict=True):
        table[rows[a], cols[b]] += 1
    return table


def _noncentral_interval(
    chi2: float, df: float, n: float, k: int, level: float
) -> tuple[float, float]:
    """Cramer's V bounds from lambda solving ncx2.cdf(chi2; df, lambda) = 1 - a/2 and a/2."""
    tail = (1 - level) / 2

    def cdf(lam: float) -> float:
        return float(special.chndtr(chi2, df, lam)) if lam > 0 else float(special.chdtr(df, chi2))

    def bound(prob: float) -> float:
        if cdf(0.0) <= prob:
            return 0.0
        hi = max(1.0, chi2)
        while cdf(hi) > prob:
            hi *= 2
        return float(optimize.brentq(lambda lam: cdf(lam) - prob, 0.0, hi, xtol=1e-10))

    def v(lam: float) -> float:
        return min(1.0, math.sqrt(lam / (n * (k - 1))))

    return v(bound(1 - tail)), v(bound(tail))


def compute_chi_square(
    table: Any, y: Any = None, *, correction: bool = True, confidence_level: float = 0.95
) -> ChiSquareResult:
    """Chi-squared test of independence of a contingency table, with Cramer's V.

    Parameters
    ----------
    table : array_like of counts (r x c), or a categorical sequence when ``y`` is given
    y : sequence, optional
        Second categorical variable; the table is then ``table`` x ``y`` cross-tabulated.
    correction : bool, keyword-only
        Yates' continuity correction for 2x2 tables (R's ``correct = TRUE``).
    confidence_level : float, keyword-only
        Level of the interval for Cramer's V (noncentral chi-squared inversion).

    Returns
    -------
    ChiSquareResult
        ``statistic`` (X-squared), ``df``, ``p_value``, ``n``, ``expected_min`` (R warns below
        5), ``effect_size`` (Cramer's V from the uncorrected statistic).

    Raises
    ------
    InsufficientDataError
        Fewer than two non-empty rows or columns.
    StatisticsError
        Negative counts, or an all-zero row or column.

    References
    ----------
    .. [1] R Core Team, ``chisq.test`` (stats). https://stat.ethz.ch/R-manual/R-devel/library/stats/html/chisq.test.html
    .. [2] Cramer, H. (1946). Mathematical Methods of Statistics, p. 282.

    Examples
    --------
    >>> from kosmos.execution.statistics import compute_chi_square
    >>> m = [[762, 327, 468], [484, 239, 477]]  # R's chisq.test example (gender x party)
    >>> r = compute_chi_square(m)
    >>> round(r.statistic, 3), r.df, f"{r.p_value:.3g}"
    (30.07, 2.0, '2.95e-07')
    """
    level = check_confidence_level(confidence_level)
    counts = contingency_table(table, y) if y is not None else np.asarray(table, dtype=np.float64)
    if counts.ndim != 2:
        raise StatisticsError(
            f"a contingency table must be two-dimensional, got shape {counts.shape}"
        )
    if not np.all(np.isfinite(counts)):
        raise NonFiniteInputError("the contingency table contains NaN or infinite counts")
    if np.any(counts < 0):
        raise StatisticsError("the contingency table contains negative counts")
    if counts.shape[0] < 2 or counts.shape[1] < 2:
        raise InsufficientDataError(
            f"a {counts.shape[0]}x{counts.shape[1]} table has nothing to compare"
        )
    if np.any(counts.sum(axis=0) == 0) or np.any(counts.sum(axis=1) == 0):
        raise StatisticsError(
            "a row or column of the table sums to zero; expected counts are undefined"
        )
    res = stats.chi2_contingency(counts, correction=correction)
    n = float(counts.sum())
    expected = np.asarray(res.expected_freq)
    uncorrected = float(np.sum((counts - expected) ** 2 / expected))
    k = min(counts.shape)
    v = math.sqrt(uncorrected / (n * (k - 1)))
    df = float(res.dof)
    lo, hi = _noncentral_interval(uncorrected, df, n, k, level)
    applied = correction and df == 1
    return ChiSquareResult(
        test="chi_square",
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        df=df,
        n=round(n),
        shape=(int(counts.shape[0]), int(counts.shape[1])),
        correction=applied,
        expected_min=float(np.min(res.expected_freq)),
        effect_size=EffectSize("cramers_v", v, lo, hi, level),
        method="Pearson's Chi-squared test"
        + (" with Yates' continuity correction" if applied else ""),
    )
