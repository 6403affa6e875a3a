"""Assumption checks: Shapiro-Wilk normality, Levene / Brown-Forsythe and Bartlett variance tests.

Called through :mod:`kosmos.execution.statistics` and by the analyzer, which names a violated
assumption and the better-suited test in its interpretation. Wraps ``scipy.stats.shapiro``,
``levene`` and ``bartlett`` after the validation gate.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import stats

from kosmos.execution.stats._validation import (
    ConstantInputError,
    StatisticsError,
    option,
    sample,
    sample_groups,
)
from kosmos.execution.stats.results import AssumptionResult

__all__ = ["Center", "check_bartlett", "check_homogeneity", "check_normality"]


class Center(StrEnum):
    """Centre of Levene's deviations: the median (Brown-Forsythe, robust) or the mean (Levene)."""

    MEDIAN = "median"
    MEAN = "mean"


def check_normality(x: Any, *, nan_policy: str = "raise") -> AssumptionResult:
    """Shapiro-Wilk test of normality (R's ``shapiro.test``), for 3 <= n <= 5000.

    Parameters
    ----------
    x : array_like
    nan_policy : {"raise", "omit"}, keyword-only

    Returns
    -------
    AssumptionResult
        ``test="shapiro_wilk"``, ``statistic`` (W), ``p_value``; ``violated(alpha)``.

    Raises
    ------
    ConstantInputError
        All values are identical (R: "all 'x' values are identical").
    InsufficientDataError
        n < 3.
    StatisticsError
        n > 5000 (beyond the range of Royston's approximation, as in R).

    References
    ----------
    .. [1] Royston, P. (1995). Remark AS R94. Appl. Stat. 44, 547-551.

    Examples
    --------
    >>> from kosmos.execution.statistics import check_normality
    >>> r = check_normality([4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14])
    >>> round(r.statistic, 4), round(r.p_value, 4)
    (0.9567, 0.7475)
    """
    a = sample(x, nan_policy=nan_policy, min_n=3)
    if a.size > 5000:
        raise StatisticsError(
            f"Shapiro-Wilk is defined for 3 <= n <= 5000 (as R's shapiro.test); got n = {a.size}"
        )
    if a.min() == a.max():
        raise ConstantInputError("all values are identical; normality cannot be tested")
    res = stats.shapiro(a)
    return AssumptionResult(
        test="shapiro_wilk",
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        n=(a.size,),
        method="Shapiro-Wilk normality test",
    )


def check_homogeneity(
    groups: Iterable[Any], *, center: str = "median", nan_policy: str = "raise"
) -> AssumptionResult:
    """Test equal variances: Brown-Forsythe (``center="median"``, default) or Levene (``"mean"``).

    Parameters
    ----------
    groups : iterable of array_like
    center : {"median", "mean"}, keyword-only
        ``median`` is the Brown-Forsythe variant (R's ``car::leveneTest`` default), robust
        to non-normality; ``mean`` is Levene's original test.
    nan_policy : {"raise", "omit"}, keyword-only

    Returns
    -------
    AssumptionResult
        ``test`` "brown_forsythe" or "levene", ``statistic`` (W, an F on ``df``), ``p_value``,
        ``center``.

    References
    ----------
    .. [1] Brown, M. B. & Forsythe, A. B. (1974). Robust tests for the equality of
       variances. J. Am. Stat. Assoc. 69, 364-367.
    .. [2] Levene, H. (1960). Robust tests for equality of variances. In Contributions to
       Probability and Statistics, 278-292.

    Examples
    --------
    >>> from kosmos.execution.statistics import check_homogeneity
    >>> r = check_homogeneity([[4.17, 5.58, 5.18, 6.11], [4.81, 4.17, 4.41, 3.59, 5.87]])
    >>> r.test, r.center
    ('brown_forsythe', 'median')
    """
    how = option(center, Center, "center")
    arrays = sample_groups(groups, nan_policy=nan_policy, min_n=2)
    if all(g.min() == g.max() for g in arrays):
        raise ConstantInputError("every group is constant; variances cannot be compared")
    res = stats.levene(*arrays, center=how.value)
    n = tuple(g.size for g in arrays)
    return AssumptionResult(
        test="brown_forsythe" if how is Center.MEDIAN else "levene",
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        n=n,
        method=(
            "Brown-Forsythe (Levene, median-centred)"
            if how is Center.MEDIAN
            else "Levene (mean-centred)"
        ),
        df=(float(len(n) - 1), float(sum(n) - len(n))),
        center=how.value,
    )


def check_bartlett(groups: Iterable[Any], *, nan_policy: str = "raise") -> AssumptionResult:
    """Bartlett's test of equal variances (R's ``bartlett.test``); sensitive to non-normality.

    Parameters
    ----------
    groups : iterable of array_like
    nan_policy : {"raise", "omit"}, keyword-only

    Returns
    -------
    AssumptionResult
        ``test="bartlett"``, ``statistic`` (K^2, chi-squared on ``df`` = k - 1), ``p_value``.

    Raises
    ------
    ConstantInputError
        A group has zero variance (its log-variance is undefined).

    References
    ----------
    .. [1] Bartlett, M. S. (1937). Properties of sufficiency and statistical tests.
       Proc. R. Soc. A 160, 268-282.

    Examples
    --------
    >>> from kosmos.execution.statistics import check_bartlett
    >>> r = check_bartlett([[4.17, 5.58, 5.18, 6.11], [4.81, 4.17, 4.41, 3.59, 5.87]])
    >>> r.test, r.df
    ('bartlett', 1.0)
    """
    arrays = sample_groups(groups, nan_policy=nan_policy, min_n=2)
    for i, g in enumerate(arrays):
        if np.var(g) == 0:
            raise ConstantInputError(f"group {i + 1} is constant; Bartlett's test is undefined")
    res = stats.bartlett(*arrays)
    return AssumptionResult(
        test="bartlett",
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        n=tuple(g.size for g in arrays),
        method="Bartlett test of homogeneity of variances",
        df=float(len(arrays) - 1),
    )
