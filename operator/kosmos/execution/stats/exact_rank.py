"""Null distributions of rank statistics that R evaluates exactly (Spearman's S, AS 89).

Called by :mod:`.correlation`. scipy's ``spearmanr`` offers only the t approximation, whereas
R's ``cor.test(method = "spearman")`` uses algorithm AS 89 for n < 1290 without ties: the
exact permutation distribution for n <= 9 and an Edgeworth series above. Reproduced here so
that p-values match R's printed digits (R's src/library/stats/src/prho.c and R/cor.test.R).
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np
from scipy import special

__all__ = ["spearman_exact_p"]

_N_SMALL = 9  # R: exact enumeration up to n = 9, Edgeworth series above
_EDGEWORTH = (
    0.2274,
    0.2531,
    0.1745,
    0.0758,
    0.1033,
    0.3932,
    0.0879,
    0.0151,
    0.0072,
    0.0831,
    0.0131,
    4.6e-4,
)


@lru_cache(maxsize=_N_SMALL)
def _s_distribution(n: int) -> np.ndarray:
    """Sorted values of S = sum (i - p(i))^2 over all n! permutations p."""
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64)
    return np.sort(((perms - np.arange(n)) ** 2).sum(axis=1))


def _prho(n: int, s: float, *, lower_tail: bool) -> float:
    """AS 89 as in R: P[S >= s], or P[S < s] when ``lower_tail``."""
    if n <= 1:
        return 0.0 if lower_tail else 1.0
    if s <= 0:
        return 0.0 if lower_tail else 1.0
    n3 = n * (n * n - 1) / 3.0
    if s > n3:
        return 1.0 if lower_tail else 0.0
    if n <= _N_SMALL:
        dist = _s_distribution(n)
        total = dist.size
        at_least = total - int(np.searchsorted(dist, s, side="left"))
        return (total - at_least) / total if lower_tail else at_least / total
    c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12 = _EDGEWORTH
    y = float(n)
    b = 1.0 / y
    x = (6.0 * (s - 1) * b / (y * y - 1) - 1) * math.sqrt(y - 1)
    y = x * x
    u = (
        x
        * b
        * (
            c1
            + b * (c2 + c3 * b)
            + y
            * (
                -c4
                + b * (c5 + c6 * b)
                - y * b * (c7 + c8 * b - y * (c9 - c10 * b + y * b * (c11 - c12 * y)))
            )
        )
    )
    y = u / math.exp(y / 2.0)
    pv = (-y if lower_tail else y) + float(special.ndtr(x if lower_tail else -x))
    return min(max(pv, 0.0), 1.0)


def spearman_exact_p(s: float, n: int, alternative: str) -> float:
    """R's p-value for Spearman's S = (n^3 - n)(1 - rho)/6 without ties (n < 1290)."""

    def lower(q: float) -> float:  # P[S <= q]; S is even without ties, so R asks P[S < q + 2]
        return _prho(n, round(q) + 2, lower_tail=True)

    def upper(q: float) -> float:  # P[S >= q]
        return _prho(n, round(q), lower_tail=False)

    if alternative == "greater":
        return lower(s)
    if alternative == "less":
        return upper(s)
    p = upper(s) if s > (n**3 - n) / 6.0 else lower(s)
    return min(2.0 * p, 1.0)
