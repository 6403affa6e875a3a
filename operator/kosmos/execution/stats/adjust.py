"""Multiple-testing adjustment of p-values, as R's ``p.adjust``.

Called through :func:`kosmos.execution.statistics.adjust_pvalues` and by the analyzer when
one experiment reports several tests. NaN p-values stay NaN and are not counted in the
number of tests (R's default ``n = length(p[!is.na(p)])``); the adjusted values are
monotone in the order of the raw p-values.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import numpy as np

from kosmos.execution.stats._validation import StatisticsError, option
from kosmos.execution.stats.results import AdjustedPValues

__all__ = ["AdjustMethod", "adjust_pvalues"]


class AdjustMethod(StrEnum):
    BONFERRONI = "bonferroni"
    HOLM = "holm"
    FDR_BH = "fdr_bh"


def adjust_pvalues(p_values: Iterable[float | None], *, method: str = "holm") -> AdjustedPValues:
    """Adjust p-values for multiple comparisons (Bonferroni, Holm or Benjamini-Hochberg).

    Parameters
    ----------
    p_values : iterable of float
        Raw p-values in [0, 1]; NaN (or None) marks a test without a p-value.
    method : {"holm", "bonferroni", "fdr_bh"}, keyword-only
        Holm's step-down (default; controls the family-wise error rate and is uniformly more
        powerful than Bonferroni), Bonferroni, or Benjamini-Hochberg's false discovery rate.

    Returns
    -------
    AdjustedPValues
        ``adjusted`` in the input order, ``method``, ``n_tests`` (non-missing p-values).

    Raises
    ------
    StatisticsError
        A p-value outside [0, 1] or infinite.

    References
    ----------
    .. [1] R Core Team, ``p.adjust`` (stats). https://stat.ethz.ch/R-manual/R-devel/library/stats/html/p.adjust.html
    .. [2] Holm, S. (1979). A simple sequentially rejective multiple test procedure.
       Scand. J. Stat. 6, 65-70.
    .. [3] Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate.
       J. R. Stat. Soc. B 57, 289-300.

    Examples
    --------
    >>> from kosmos.execution.statistics import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04, 0.03, float("nan")], method="holm").adjusted
    (0.03, 0.06, 0.06, nan)
    """
    how = option(method, AdjustMethod, "method")
    raw = np.array([np.nan if p is None else float(p) for p in p_values], dtype=np.float64)
    present = ~np.isnan(raw)
    p = raw[present]
    if np.any((p < 0) | (p > 1)):
        raise StatisticsError("p-values must lie in [0, 1]")
    n = p.size
    adjusted = np.full(raw.shape, np.nan)
    if n:
        if how is AdjustMethod.BONFERRONI:
            out = np.minimum(1.0, n * p)
        elif how is AdjustMethod.HOLM:
            order = np.argsort(p, kind="stable")
            steps = (n - np.arange(n)) * p[order]
            out = np.empty(n)
            out[order] = np.minimum(1.0, np.maximum.accumulate(steps))
        else:
            order = np.argsort(-p, kind="stable")
            steps = n / (n - np.arange(n)) * p[order]
            out = np.empty(n)
            out[order] = np.minimum(1.0, np.minimum.accumulate(steps))
        adjusted[present] = out
    return AdjustedPValues(
        method=how.value,
        p_values=tuple(float(v) for v in raw),
        adjusted=tuple(float(v) for v in adjusted),
        n_tests=int(n),
    )
