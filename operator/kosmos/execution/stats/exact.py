"""Exact-arithmetic one-way ANOVA for data that arrive as decimal text (CSV, manifests).

Called by :func:`kosmos.execution.stats.anova.compute_anova` when the groups hold ``str``,
``Decimal`` or ``Fraction`` values. Rounding such data to float64 alone moves F by up to
7e-5 relative on NIST StRD SmLs07-09 (13 constant leading digits), so the sums of squares
are computed exactly: every value is scaled to an integer over a common denominator and
the sums use Python integers; only the final quantities are rounded (once) to float.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["ExactAnova", "exact_oneway"]


@dataclass(frozen=True, slots=True)
class ExactAnova:
    """Exact sums of squares of a one-way layout, with the group means."""

    ss_between: Fraction
    ss_within: Fraction
    means: tuple[Fraction, ...]
    n: tuple[int, ...]

    @property
    def ss_total(self) -> Fraction:
        return self.ss_between + self.ss_within


def exact_oneway(groups: list[list[Fraction]]) -> ExactAnova:
    """Exact between- and within-group sums of squares of ``groups`` (rational values)."""
    denominator = math.lcm(*{f.denominator for g in groups for f in g})
    sums: list[int] = []
    squares: list[int] = []
    for g in groups:
        ints = [f.numerator * (denominator // f.denominator) for f in g]
        sums.append(sum(ints))
        squares.append(sum(i * i for i in ints))
    n = tuple(len(g) for g in groups)
    n_total = sum(n)
    scale = denominator * denominator
    within = sum(
        (Fraction(q) - Fraction(s * s, k) for q, s, k in zip(squares, sums, n, strict=True)),
        start=Fraction(0),
    )
    grand = sum(sums)
    between = sum(
        (Fraction(s * s, k) for s, k in zip(sums, n, strict=True)), start=Fraction(0)
    ) - Fraction(grand * grand, n_total)
    means = tuple(Fraction(s, k * denominator) for s, k in zip(sums, n, strict=True))
    return ExactAnova(between / scale, within / scale, means, n)
