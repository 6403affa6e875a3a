"""One-way ANOVA (Fisher's F, exact for decimal text) and Welch's heteroscedastic F.

Called through :func:`kosmos.execution.statistics.compute_anova`. The float path is a
two-pass centred algorithm: each group is shifted by one data value (exact by Sterbenz's
lemma when the data share leading digits), its mean refined by a second pass, and the group
totals combined with ``math.fsum``; this reaches the exact ANOVA of the float64 inputs to
better than 10 significant digits on all NIST StRD ANOVA datasets, where the textbook
``sum(x^2) - n*mean^2`` formula loses every digit. Decimal text goes to :mod:`.exact`.
p-values come from scipy's F distribution (``scipy.special.fdtrc``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy import special

from kosmos.execution.stats._effects import eta_squared_ci
from kosmos.execution.stats._validation import (
    ConstantInputError,
    InsufficientDataError,
    ZeroVarianceError,
    check_confidence_level,
    essentially_constant,
    exact_sample,
    is_text_sequence,
    sample_groups,
)
from kosmos.execution.stats.exact import exact_oneway
from kosmos.execution.stats.results import AnovaResult, EffectSize

__all__ = ["compute_anova"]

_EPS = float(np.finfo(np.float64).eps)


def _group_list(groups: Iterable[Any]) -> list[Any]:
    if isinstance(groups, dict):
        return list(groups.values())
    if isinstance(groups, np.ndarray) and groups.ndim == 2:
        return list(groups)
    return list(groups)


def _holds_text(group: Any) -> bool:
    """True for decimal text / Decimal / Fraction values (lists, Series or str/object arrays)."""
    if isinstance(group, np.ndarray):
        return group.dtype.kind in "USO" and group.size > 0 and is_text_sequence([group.flat[0]])
    values = list(group)
    return is_text_sequence(values)


def _float_sums(groups: list[np.ndarray]) -> tuple[float, float, list[float]]:
    """SS_between, SS_within and group means by the shifted, refined two-pass algorithm."""
    shift = float(groups[0][0])
    centred_means: list[float] = []
    within_parts: list[float] = []
    buffer = np.empty(max(g.size for g in groups))  # one scratch array: no allocation per pass
    for g in groups:
        y = buffer[: g.size]
        np.subtract(g, shift, out=y)
        m = float(y.mean())
        np.subtract(y, m, out=y)
        s = float(y.sum())
        np.multiply(y, y, out=y)  # pairwise-summed squares; BLAS dot was slower and less exact here
        # Corrected two-pass (Chan, Golub & LeVeque 1983): remove the residual bias of the mean.
        within_parts.append(float(y.sum()) - s * s / g.size)
        centred_means.append(m + s / g.size)
    n = [g.size for g in groups]
    n_total = sum(n)
    grand = math.fsum(k * m for k, m in zip(n, centred_means, strict=True)) / n_total
    between = math.fsum(k * (m - grand) ** 2 for k, m in zip(n, centred_means, strict=True))
    return between, math.fsum(within_parts), [m + shift for m in centred_means]


def _fisher(
    ss_between: float, ss_within: float, n: tuple[int, ...], *, exact: bool, confidence_level: float
) -> AnovaResult:
    k, n_total = len(n), sum(n)
    df_b, df_w = float(k - 1), float(n_total - k)
    ms_b, ms_w = ss_between / df_b, ss_within / df_w
    f = ms_b / ms_w
    p = float(special.fdtrc(df_b, df_w, f))
    ss_total = ss_between + ss_within
    eta2 = ss_between / ss_total
    omega2 = (ss_between - df_b * ms_w) / (ss_total + ms_w)
    lo, hi = eta_squared_ci(f, df_b, df_w, confidence_level)
    return AnovaResult(
        test="one_way_anova",
        f_statistic=f,
        p_value=p,
        df_between=df_b,
        df_within=df_w,
        ss_between=ss_between,
        ss_within=ss_within,
        ms_between=ms_b,
        ms_within=ms_w,
        eta_squared=eta2,
        omega_squared=omega2,
        effect_size=EffectSize("eta_squared", eta2, lo, hi, confidence_level),
        n=n,
        method="fisher",
        exact=exact,
    )


def _exact_fisher(raw: list[Any], nan_policy: str, confidence_level: float) -> AnovaResult:
    groups = [
        exact_sample(g, name=f"group {i + 1}", nan_policy=nan_policy, min_n=1)
        for i, g in enumerate(raw)
    ]
    result = exact_oneway(groups)
    k, n_total = len(result.n), sum(result.n)
    if n_total <= k:
        raise InsufficientDataError(f"{n_total} observations in {k} groups leave no residual df")
    if result.ss_within == 0:
        raise ConstantInputError("every group is constant (within-group sum of squares is 0)")
    ms_b = result.ss_between / (k - 1)
    ms_w = result.ss_within / (n_total - k)
    f = float(ms_b / ms_w)
    ss_total = result.ss_total
    base = _fisher(
        float(result.ss_between),
        float(result.ss_within),
        result.n,
        exact=True,
        confidence_level=confidence_level,
    )
    # Round each reported quantity once from its exact value.
    omega2 = (result.ss_between - (k - 1) * ms_w) / (ss_total + ms_w)
    eta2 = result.ss_between / ss_total
    p = float(special.fdtrc(float(k - 1), float(n_total - k), f))
    es = base.effect_size
    assert es is not None
    return AnovaResult(
        test="one_way_anova",
        f_statistic=f,
        p_value=p,
        df_between=base.df_between,
        df_within=base.df_within,
        ss_between=float(result.ss_between),
        ss_within=float(result.ss_within),
        ms_between=float(ms_b),
        ms_within=float(ms_w),
        eta_squared=float(eta2),
        omega_squared=float(omega2),
        effect_size=EffectSize(
            "eta_squared", float(eta2), es.ci_low, es.ci_high, es.confidence_level
        ),
        n=result.n,
        method="fisher",
        exact=True,
    )


def _welch(groups: list[np.ndarray], confidence_level: float) -> AnovaResult:
    """R's ``oneway.test(var.equal = FALSE)`` (Welch 1951)."""
    n = np.array([g.size for g in groups], dtype=np.float64)
    means = np.array([np.mean(g) for g in groups])
    variances = np.array([np.var(g, ddof=1) for g in groups])
    for i, (v, m) in enumerate(zip(variances, means, strict=True)):
        if essentially_constant(math.sqrt(v / n[i]), m):
            raise ZeroVarianceError(
                f"group {i + 1} has zero variance; Welch's ANOVA weights n/s^2 are undefined "
                "(use compute_anova(welch=False) or compute_kruskal)"
            )
    k = len(groups)
    w = n / variances
    sum_w = float(np.sum(w))
    grand = float(np.sum(w * means)) / sum_w
    tmp = float(np.sum((1.0 - w / sum_w) ** 2 / (n - 1.0))) / (k * k - 1)
    f = float(np.sum(w * (means - grand) ** 2)) / ((k - 1) * (1.0 + 2.0 * (k - 2) * tmp))
    df_b, df_w = float(k - 1), 1.0 / (3.0 * tmp)
    p = float(special.fdtrc(df_b, df_w, f))
    eta2 = f * df_b / (f * df_b + df_w)  # effectsize::F_to_eta2 for a Welch F
    lo, hi = eta_squared_ci(f, df_b, df_w, confidence_level)
    return AnovaResult(
        test="welch_anova",
        f_statistic=f,
        p_value=p,
        df_between=df_b,
        df_within=df_w,
        ss_between=None,
        ss_within=None,
        ms_between=None,
        ms_within=None,
        eta_squared=eta2,
        omega_squared=None,
        effect_size=EffectSize("eta_squared_from_f", eta2, lo, hi, confidence_level),
        n=tuple(int(k) for k in n),
        method="welch",
    )


def compute_anova(
    groups: Iterable[Any],
    *,
    welch: bool = False,
    nan_policy: str = "raise",
    confidence_level: float = 0.95,
) -> AnovaResult:
    """One-way ANOVA of two or more groups: Fisher's F, or Welch's F with ``welch=True``.

    Parameters
    ----------
    groups : iterable of array_like (or a dict of them)
        The samples. Groups of decimal text (``str``), ``Decimal`` or ``Fraction`` are
        analysed in exact arithmetic (Fisher's F only), which NIST StRD SmLs07-09 need.
    welch : bool, keyword-only
        Welch's test for unequal variances (R's ``oneway.test(var.equal = FALSE)``).
    nan_policy : {"raise", "omit"}, keyword-only
    confidence_level : float, keyword-only
        Level of the two-sided interval for eta squared (noncentral F inversion).

    Returns
    -------
    AnovaResult
        ``f_statistic``, ``p_value``, ``df_between``, ``df_within``, ``ss_between``,
        ``ss_within``, ``ms_between``, ``ms_within``, ``eta_squared``, ``omega_squared``,
        ``effect_size``, ``n``, ``method`` ("fisher" or "welch"). Sums of squares are None
        for Welch's test, whose effect size is eta squared recovered from F.

    Raises
    ------
    ConstantInputError
        Every group is (essentially) constant, so F is undefined.
    ZeroVarianceError
        ``welch=True`` and a group has zero variance.
    InsufficientDataError, EmptyInputError, NonFiniteInputError

    References
    ----------
    .. [1] NIST/ITL Statistical Reference Datasets, ANOVA. https://www.itl.nist.gov/div898/strd/anova/
    .. [2] Welch, B. L. (1951). On the comparison of several mean values: an alternative
       approach. Biometrika 38, 330-336.
    .. [3] Chan, T. F., Golub, G. H. & LeVeque, R. J. (1983). Algorithms for computing the
       sample variance. Am. Stat. 37(3), 242-247.

    Examples
    --------
    >>> from kosmos.execution.statistics import compute_anova
    >>> ctrl = [4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14]
    >>> trt1 = [4.81, 4.17, 4.41, 3.59, 5.87, 3.83, 6.03, 4.89, 4.32, 4.69]
    >>> trt2 = [6.31, 5.12, 5.54, 5.50, 5.37, 5.29, 4.92, 6.15, 5.80, 5.26]
    >>> r = compute_anova([ctrl, trt1, trt2])
    >>> round(r.f_statistic, 4), round(r.p_value, 5), r.df
    (4.8461, 0.01591, (2.0, 27.0))
    """
    level = check_confidence_level(confidence_level)
    raw = _group_list(groups)
    if len(raw) < 2:
        raise InsufficientDataError(f"{len(raw)} group(s) given; ANOVA needs at least 2")
    if not welch and all(_holds_text(g) for g in raw):
        return _exact_fisher([list(g) for g in raw], nan_policy, level)
    arrays = sample_groups(raw, nan_policy=nan_policy, min_n=2 if welch else 1)
    if welch:
        return _welch(arrays, level)
    n = tuple(g.size for g in arrays)
    if sum(n) <= len(n):
        raise InsufficientDataError(
            f"{sum(n)} observations in {len(n)} groups leave no residual df"
        )
    ss_b, ss_w, means = _float_sums(arrays)
    ms_w = ss_w / (sum(n) - len(n))
    if essentially_constant(math.sqrt(max(ms_w, 0.0)), *means):
        raise ConstantInputError(
            "the data are essentially constant within every group (within-group variance "
            f"{ms_w:g}); F is undefined"
        )
    return _fisher(ss_b, ss_w, n, exact=False, confidence_level=level)
