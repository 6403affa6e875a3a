"""Student, Welch, paired and one-sample t-tests as in R's ``t.test``, with Cohen's d and Hedges' g.

Called through :func:`kosmos.execution.statistics.compute_ttest`. Means and variances are
computed once with numpy (two-pass); p-values and quantiles come from scipy's t distribution
(``scipy.special.stdtr``/``stdtrit``, what ``scipy.stats.ttest_ind`` uses), so the result
equals ``scipy.stats.ttest_ind``/``ttest_rel``/``ttest_1samp`` and R's ``t.test``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from kosmos.execution.stats._effects import cohens_d_family
from kosmos.execution.stats._validation import (
    Alternative,
    ConstantInputError,
    InsufficientDataError,
    check_confidence_level,
    essentially_constant,
    option,
    paired_samples,
    sample,
)
from kosmos.execution.stats.results import TTestResult

__all__ = ["compute_ttest"]


def _p_and_ci(
    t: float, df: float, *, estimate: float, se: float, alt: Alternative, level: float
) -> tuple[float, float, float]:
    if alt is Alternative.TWO_SIDED:
        p = 2.0 * float(special.stdtr(df, -abs(t)))
        q = float(special.stdtrit(df, 0.5 + level / 2.0))
        return min(p, 1.0), estimate - q * se, estimate + q * se
    q = float(special.stdtrit(df, level))
    if alt is Alternative.LESS:
        return float(special.stdtr(df, t)), -math.inf, estimate + q * se
    return float(special.stdtr(df, -t)), estimate - q * se, math.inf


def compute_ttest(
    group1: Any,
    group2: Any = None,
    *,
    paired: bool = False,
    equal_var: bool = False,
    mu: float = 0.0,
    alternative: str = "two-sided",
    confidence_level: float = 0.95,
    nan_policy: str = "raise",
) -> TTestResult:
    """t-test of one sample, paired samples or two independent samples (Welch by default, as R).

    Parameters
    ----------
    group1, group2 : array_like
        The samples. Without ``group2``: a one-sample test of ``mean(group1) == mu``.
    paired : bool, keyword-only
        Test the differences ``group1 - group2`` (``nan_policy="omit"`` drops incomplete pairs).
    equal_var : bool, keyword-only
        Student's pooled-variance test instead of Welch's (ignored when one-sample or paired).
    mu : float, keyword-only
        Hypothesised mean (difference).
    alternative : {"two-sided", "less", "greater"}, keyword-only
    confidence_level : float, keyword-only
        Level of the intervals for the mean (difference) and the effect sizes.
    nan_policy : {"raise", "omit"}, keyword-only

    Returns
    -------
    TTestResult
        ``statistic``, ``p_value``, ``df``, ``mean_difference``, ``ci_low``/``ci_high`` (R's
        interval: for the mean in a one-sample test, for the mean difference otherwise),
        ``effect_size`` (Hedges' g; ``hedges_g`` pooled-SD for two samples, ``hedges_gz`` for
        paired differences), ``cohens_d`` (``cohens_d`` / ``cohens_dz``), ``n``, ``method``.

    Raises
    ------
    ConstantInputError
        When the standard error is below ``10 * eps * |mean|`` (R: "data are essentially constant").
    InsufficientDataError, EmptyInputError, NonFiniteInputError, LengthMismatchError

    References
    ----------
    .. [1] R Core Team, ``t.test`` (stats), https://stat.ethz.ch/R-manual/R-devel/library/stats/html/t.test.html
    .. [2] Lakens, D. (2013). Calculating and reporting effect sizes. Front. Psychol. 4:863.
    .. [3] Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size.
       J. Educ. Stat. 6(2), 107-128.

    Examples
    --------
    >>> from kosmos.execution.statistics import compute_ttest
    >>> drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    >>> drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    >>> r = compute_ttest(drug1, drug2)
    >>> r.test, round(r.statistic, 4), round(r.df, 3), round(r.p_value, 5)
    ('welch_t', -1.8608, 17.776, 0.07939)
    """
    alt = option(alternative, Alternative, "alternative")
    level = check_confidence_level(confidence_level)
    mu = float(mu)
    if paired:
        if group2 is None:
            raise InsufficientDataError("a paired t-test needs group2")
        a, b = paired_samples(
            group1, group2, names=("group1", "group2"), nan_policy=nan_policy, min_n=2
        )
        means = (float(np.mean(a)), float(np.mean(b)))
        return _one_sample(a - b, means=means, paired=True, mu=mu, alt=alt, level=level)
    if group2 is None:
        x = sample(group1, name="group1", nan_policy=nan_policy, min_n=2)
        return _one_sample(x, means=None, paired=False, mu=mu, alt=alt, level=level)
    min_n = 1 if equal_var else 2
    x = sample(group1, name="group1", nan_policy=nan_policy, min_n=min_n)
    y = sample(group2, name="group2", nan_policy=nan_policy, min_n=min_n)
    return _two_sample(x, y, welch=not equal_var, mu=mu, alt=alt, level=level)


def _one_sample(
    x: np.ndarray,
    *,
    means: tuple[float, float] | None,
    paired: bool,
    mu: float,
    alt: Alternative,
    level: float,
) -> TTestResult:
    """One-sample t-test of ``x`` (the differences, when paired)."""
    n = x.size
    m = float(np.mean(x))
    sd = float(np.std(x, ddof=1))
    se = sd / math.sqrt(n)
    if essentially_constant(se, m):
        what = "the paired differences" if paired else "group1"
        raise ConstantInputError(f"{what} are essentially constant (standard error {se:g})")
    df = float(n - 1)
    t = (m - mu) / se
    p, lo, hi = _p_and_ci(t, df, estimate=m, se=se, alt=alt, level=level)
    d_name = "cohens_dz" if paired else "cohens_d"
    d_es, g_es = cohens_d_family(
        (m - mu) / sd,
        scale=1.0 / math.sqrt(n),
        df=df,
        confidence_level=level,
        alternative=alt,
        d_name=d_name,
        g_name=d_name.replace("cohens_d", "hedges_g"),
    )
    return TTestResult(
        test="paired_t" if paired else "one_sample_t",
        statistic=t,
        p_value=p,
        df=df,
        mean_difference=m if paired else m - mu,
        ci_low=lo,
        ci_high=hi,
        confidence_level=level,
        alternative=alt.value,
        n=(n,),
        means=means if means is not None else (m,),
        standard_error=se,
        effect_size=g_es,
        cohens_d=d_es,
        method="paired" if paired else "one-sample",
        mu=mu,
    )


def _two_sample(
    x: np.ndarray, y: np.ndarray, *, welch: bool, mu: float, alt: Alternative, level: float
) -> TTestResult:
    """Welch's or Student's two-sample t-test, with pooled-SD Cohen's d and Hedges' g."""
    nx, ny = x.size, y.size
    if nx + ny < 3:
        raise InsufficientDataError("Student's t-test needs at least 3 observations in total")
    mx, my = float(np.mean(x)), float(np.mean(y))
    vx = float(np.var(x, ddof=1)) if nx > 1 else 0.0
    vy = float(np.var(y, ddof=1)) if ny > 1 else 0.0
    df_pooled = float(nx + ny - 2)
    v_pooled = ((nx - 1) * vx + (ny - 1) * vy) / df_pooled
    if welch:
        sx2, sy2 = vx / nx, vy / ny
        se = math.sqrt(sx2 + sy2)
        df = (sx2 + sy2) ** 2 / (sx2 * sx2 / (nx - 1) + sy2 * sy2 / (ny - 1)) if se > 0 else 0.0
    else:
        se = math.sqrt(v_pooled * (1.0 / nx + 1.0 / ny))
        df = df_pooled
    if essentially_constant(se, mx, my):
        raise ConstantInputError(f"the data are essentially constant (standard error {se:g})")
    diff = mx - my
    t = (diff - mu) / se
    p, lo, hi = _p_and_ci(t, df, estimate=diff, se=se, alt=alt, level=level)
    d_es, g_es = cohens_d_family(
        (diff - mu) / math.sqrt(v_pooled),
        scale=math.sqrt(1.0 / nx + 1.0 / ny),
        df=df_pooled,
        confidence_level=level,
        alternative=alt,
        d_name="cohens_d",
        g_name="hedges_g",
    )
    return TTestResult(
        test="welch_t" if welch else "student_t",
        statistic=t,
        p_value=p,
        df=df,
        mean_difference=diff,
        ci_low=lo,
        ci_high=hi,
        confidence_level=level,
        alternative=alt.value,
        n=(nx, ny),
        means=(mx, my),
        standard_error=se,
        effect_size=g_es,
        cohens_d=d_es,
        method="welch" if welch else "student",
        mu=mu,
    )
