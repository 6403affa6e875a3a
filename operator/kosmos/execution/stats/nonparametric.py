"""Rank tests as in R: Kruskal-Wallis, Mann-Whitney U (wilcox.test) and Wilcoxon signed rank.

Called through :mod:`kosmos.execution.statistics`. Wraps ``scipy.stats.kruskal``,
``mannwhitneyu`` and ``wilcoxon`` (exact), choosing exact or normal-approximation p-values by
R's rule (exact when n < 50 and there are no ties or zero differences) unless told otherwise,
and adds rank-based effect sizes (rank epsilon squared, rank-biserial correlations). The
signed-rank normal approximation is evaluated from the ranks Kosmos already needs for V and
the effect size (R's formula, equal to scipy's asymptotic branch; tested against both), so
that a large sample is sorted once rather than twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import special, stats

from kosmos.execution.stats._validation import (
    Alternative,
    ConstantInputError,
    InsufficientDataError,
    InvalidOptionError,
    option,
    paired_samples,
    sample,
    sample_groups,
)
from kosmos.execution.stats.results import EffectSize, RankTestResult

__all__ = ["PValueMethod", "compute_kruskal", "compute_mannwhitney", "compute_wilcoxon"]

_R_EXACT_LIMIT = 50  # R's wilcox.test: exact p-values when n < 50 without ties


class PValueMethod(StrEnum):
    AUTO = "auto"
    EXACT = "exact"
    ASYMPTOTIC = "asymptotic"


def _has_ties(a: np.ndarray) -> bool:
    s = np.sort(a)
    return bool(np.any(s[1:] == s[:-1]))


def _ranks_with_ties(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks of ``a`` and the sizes of its tie groups, from a single sort."""
    order = np.argsort(a, kind="stable")
    sorted_a = a[order]
    new_group = np.empty(a.size, dtype=bool)
    new_group[0] = True
    np.not_equal(sorted_a[1:], sorted_a[:-1], out=new_group[1:])
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.append(starts, a.size))
    average = starts + (sizes + 1) / 2.0  # 1-based average rank of each group
    ranks = np.empty(a.size)
    ranks[order] = np.repeat(average, sizes)
    return ranks, sizes[sizes > 1].astype(np.float64)


def _signed_rank_normal_p(
    v: float, n: int, tie_sizes: np.ndarray, alt: Alternative, continuity: bool
) -> float:
    """R's wilcox.test normal approximation for V (tie-corrected variance, optional continuity).

    The same formula as ``scipy.stats.wilcoxon(method="asymptotic")``; evaluated here from the
    ranks already computed so that large samples are not ranked twice.
    """
    z = v - n * (n + 1) / 4.0
    sigma = math.sqrt(
        n * (n + 1) * (2 * n + 1) / 24.0 - float(np.sum(tie_sizes**3 - tie_sizes)) / 48.0
    )
    if continuity:
        z -= {
            Alternative.TWO_SIDED: math.copysign(0.5, z) if z else 0.0,
            Alternative.GREATER: 0.5,
            Alternative.LESS: -0.5,
        }[alt]
    z /= sigma
    if alt is Alternative.TWO_SIDED:
        return 2.0 * float(special.ndtr(-abs(z)))
    return float(special.ndtr(-z)) if alt is Alternative.GREATER else float(special.ndtr(z))


def _z_interval(r: float, se: float, level: float, alt: Alternative) -> tuple[float, float]:
    """Interval for a correlation-like effect on the Fisher z scale."""
    z = math.atanh(max(min(r, 1 - 1e-15), -1 + 1e-15))
    if alt is Alternative.TWO_SIDED:
        q = float(special.ndtri(0.5 + level / 2))
        return math.tanh(z - q * se), math.tanh(z + q * se)
    q = float(special.ndtri(level))
    if alt is Alternative.GREATER:
        return math.tanh(z - q * se), 1.0
    return -1.0, math.tanh(z + q * se)


def compute_kruskal(groups: Iterable[Any], *, nan_policy: str = "raise") -> RankTestResult:
    """Kruskal-Wallis rank sum test (R's ``kruskal.test``, tie-corrected chi-squared p-value).

    Parameters
    ----------
    groups : iterable of array_like (or a dict of them)
    nan_policy : {"raise", "omit"}, keyword-only

    Returns
    -------
    RankTestResult
        ``statistic`` (H), ``df`` (k - 1), ``p_value``, ``effect_size`` (rank epsilon squared
        H / (n - 1), no interval).

    Raises
    ------
    ConstantInputError
        All observations are equal (H is undefined).

    References
    ----------
    .. [1] Kruskal, W. H. & Wallis, W. A. (1952). Use of ranks in one-criterion variance
       analysis. J. Am. Stat. Assoc. 47, 583-621.
    .. [2] Tomczak, M. & Tomczak, E. (2014). The need to report effect size estimates
       revisited. Trends Sport Sci. 21(1), 19-25.

    Examples
    --------
    >>> from kosmos.execution.statistics import compute_kruskal
    >>> x = [2.9, 3.0, 2.5, 2.6, 3.2]
    >>> y = [3.8, 2.7, 4.0, 2.4]
    >>> z = [2.8, 3.4, 3.7, 2.2, 2.0]
    >>> r = compute_kruskal([x, y, z])
    >>> round(r.statistic, 4), r.df, round(r.p_value, 4)
    (0.7714, 2.0, 0.68)
    """
    if isinstance(groups, dict):
        groups = list(groups.values())
    arrays = sample_groups(groups, nan_policy=nan_policy, min_n=1)
    every = np.concatenate(arrays)
    if every.min() == every.max():
        raise ConstantInputError("all observations are identical; Kruskal-Wallis H is undefined")
    res = stats.kruskal(*arrays)
    h = float(res.statistic)
    n_total = every.size
    return RankTestResult(
        test="kruskal_wallis",
        statistic=h,
        statistic_name="H",
        p_value=float(res.pvalue),
        n=tuple(g.size for g in arrays),
        method="Kruskal-Wallis rank sum test",
        alternative=None,
        effect_size=EffectSize("rank_epsilon_squared", h / (n_total - 1)),
        df=float(len(arrays) - 1),
    )


def compute_mannwhitney(
    group1: Any,
    group2: Any,
    *,
    alternative: str = "two-sided",
    method: str = "auto",
    continuity: bool = True,
    confidence_level: float = 0.95,
    nan_policy: str = "raise",
) -> RankTestResult:
    """Mann-Whitney U / Wilcoxon rank sum test (R's ``wilcox.test(x, y)``).

    Parameters
    ----------
    group1, group2 : array_like
    alternative : {"two-sided", "less", "greater"}, keyword-only
        "greater": ``group1`` tends to be larger.
    method : {"auto", "exact", "asymptotic"}, keyword-only
        ``auto`` follows R: exact when both samples have fewer than 50 values and there
        are no ties, else the tie-corrected normal approximation.
    continuity : bool, keyword-only
        Continuity correction of the normal approximation (R's ``correct = TRUE``).
    confidence_level : float, keyword-only
        Level of the rank-biserial interval.
    nan_policy : {"raise", "omit"}, keyword-only

    Returns
    -------
    RankTestResult
        ``statistic`` (W = U of ``group1``, as R prints), ``p_value``, ``exact``,
        ``effect_size`` (rank-biserial r = 2U / (n1 n2) - 1, positive when ``group1`` tends
        to be larger; Fisher-z interval with SE sqrt((n1 + n2 + 1) / (3 n1 n2))).

    Raises
    ------
    ConstantInputError
        Every observation is equal.
    InvalidOptionError
        ``method="exact"`` with ties (no exact distribution is available).

    References
    ----------
    .. [1] R Core Team, ``wilcox.test`` (stats). https://stat.ethz.ch/R-manual/R-devel/library/stats/html/wilcox.test.html
    .. [2] Kerby, D. S. (2014). The simple difference formula: an approach to teaching
       nonparametric correlation. Compr. Psychol. 3, 11.IT.3.1.

    Examples
    --------
    >>> from kosmos.execution.statistics import compute_mannwhitney
    >>> x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    >>> y = [1.15, 0.88, 0.90, 0.74, 1.21]
    >>> r = compute_mannwhitney(x, y, alternative="greater")
    >>> r.statistic, round(r.p_value, 4)
    (35.0, 0.1272)
    """
    alt = option(alternative, Alternative, "alternative")
    how = option(method, PValueMethod, "method")
    x = sample(group1, name="group1", nan_policy=nan_policy, min_n=1)
    y = sample(group2, name="group2", nan_policy=nan_policy, min_n=1)
    both = np.concatenate([x, y])
    if both.min() == both.max():
        raise ConstantInputError("all observations are identical; the rank sum test is undefined")
    small = x.size < _R_EXACT_LIMIT and y.size < _R_EXACT_LIMIT
    ties = (small or how is PValueMethod.EXACT) and _has_ties(both)  # only matters for exact
    if how is PValueMethod.AUTO:
        exact = small and not ties
    else:
        exact = how is PValueMethod.EXACT
        if exact and ties:
            raise InvalidOptionError("method='exact' is unavailable with ties; use 'asymptotic'")
    res = stats.mannwhitneyu(
        x,
        y,
        use_continuity=continuity,
        alternative=alt.value,
        method="exact" if exact else "asymptotic",
    )
    u = float(res.statistic)
    n1, n2 = x.size, y.size
    r = 2.0 * u / (n1 * n2) - 1.0
    lo, hi = _z_interval(r, math.sqrt((n1 + n2 + 1) / (3.0 * n1 * n2)), confidence_level, alt)
    return RankTestResult(
        test="mann_whitney_u",
        statistic=u,
        statistic_name="W",
        p_value=float(res.pvalue),
        n=(n1, n2),
        method="Wilcoxon rank sum test" + ("" if exact else " (normal approximation)"),
        alternative=alt.value,
        effect_size=EffectSize("rank_biserial", r, lo, hi, confidence_level),
        exact=exact,
        continuity=None if exact else continuity,
    )


def compute_wilcoxon(
    x: Any,
    y: Any = None,
    *,
    mu: float = 0.0,
    alternative: str = "two-sided",
    method: str = "auto",
    continuity: bool = True,
    confidence_level: float = 0.95,
    nan_policy: str = "raise",
) -> RankTestResult:
    """Wilcoxon signed rank test of ``x - mu`` or of paired differences ``x - y - mu``.

    Parameters
    ----------
    x, y : array_like
        One sample, or paired samples (incomplete pairs dropped with ``nan_policy="omit"``).
    mu : float, keyword-only
        Hypothesised location (shift) of the differences.
    alternative : {"two-sided", "less", "greater"}, keyword-only
    method : {"auto", "exact", "asymptotic"}, keyword-only
        ``auto`` follows R: exact when fewer than 50 non-zero differences and no ties or
        zeros, else the normal approximation with tie correction; zeros are dropped
        (``zero_method="wilcox"``, as R).
    continuity : bool, keyword-only
    confidence_level : float, keyword-only
    nan_policy : {"raise", "omit"}, keyword-only

    Returns
    -------
    RankTestResult
        ``statistic`` (V = sum of positive ranks, as R prints), ``p_value``, ``exact``,
        ``effect_size`` (matched-pairs rank-biserial (V+ - V-) / (V+ + V-)).

    Raises
    ------
    ConstantInputError
        Every difference equals ``mu`` (no non-zero difference to rank).

    References
    ----------
    .. [1] R Core Team, ``wilcox.test`` (stats).
    .. [2] Wilcoxon, F. (1945). Individual comparisons by ranking methods.
       Biometrics Bull. 1, 80-83.

    Examples
    --------
    >>> from kosmos.execution.statistics import compute_wilcoxon
    >>> x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    >>> y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    >>> r = compute_wilcoxon(x, y, alternative="greater")
    >>> r.statistic, round(r.p_value, 5)
    (40.0, 0.01953)
    """
    alt = option(alternative, Alternative, "alternative")
    how = option(method, PValueMethod, "method")
    if y is None:
        d = sample(x, name="x", nan_policy=nan_policy, min_n=1) - float(mu)
        test_n: tuple[int, ...] = (d.size,)
    else:
        a, b = paired_samples(x, y, nan_policy=nan_policy, min_n=1)
        d = a - b - float(mu)
        test_n = (a.size,)
    zeros = bool(np.any(d == 0))
    nonzero = d[d != 0] if zeros else d
    if nonzero.size == 0:
        raise ConstantInputError("every difference is zero; the signed rank test is undefined")
    ranks, tie_sizes = _ranks_with_ties(np.abs(nonzero))
    ties = tie_sizes.size > 0
    if how is PValueMethod.AUTO:
        exact = nonzero.size < _R_EXACT_LIMIT and not ties and not zeros
    else:
        exact = how is PValueMethod.EXACT
        if exact and (ties or zeros):
            raise InvalidOptionError(
                "method='exact' is unavailable with ties or zeros; use 'asymptotic'"
            )
    if not exact and nonzero.size < 2:
        raise InsufficientDataError(
            "the normal approximation needs at least 2 non-zero differences"
        )
    n = nonzero.size
    v_plus = float(ranks[nonzero > 0].sum())
    total = n * (n + 1) / 2.0
    if exact:
        p_value = float(stats.wilcoxon(nonzero, alternative=alt.value, method="exact").pvalue)
    else:
        p_value = _signed_rank_normal_p(v_plus, n, tie_sizes, alt, continuity)
    r = (2.0 * v_plus - total) / total
    se = math.sqrt((2 * n + 1) / (3.0 * (n + 1)) * 2.0 / n)
    lo, hi = _z_interval(r, se, confidence_level, alt)
    p_value = min(p_value, 1.0)
    return RankTestResult(
        test="wilcoxon_signed_rank",
        statistic=v_plus,
        statistic_name="V",
        p_value=p_value,
        n=test_n,
        method=(
            "Wilcoxon signed rank " + ("exact test" if exact else "test (normal approximation)")
        ),
        alternative=alt.value,
        effect_size=EffectSize("rank_biserial_paired", r, lo, hi, confidence_level),
        exact=exact,
        continuity=None if exact else continuity,
        extras={"nNonZero": float(n), "mu": float(mu)},
    )
