"""Exact-arithmetic one-way ANOVA for data that arrive as decimal text (CSV, manifests).

Called by :func:`kosmos.execution.stats.anova.compute_anova` when the groups hold ``str``,
``Decimal`` or ``Fraction`` values. Rounding such data to float64 alone moves F by up to
7e-5 relative on NIST StRD SmLs07-09 (13 constant leading digits), so the sums of squares
are computed exactly: the group sums and sums of squares of ``Decimal`` values in decimal
arithmetic with enough precision that nothing rounds (an inexact step raises), or of
``Fraction`` values as integers over a common denominator; the sums of squares follow as
fractions and only the final quantities are rounded (once) to float.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

__all__ = ["ExactAnova", "exact_oneway"]


@dataclass(frozen=True)
class ExactAnova:
    """Exact sums of squares of a one-way layout, with the group means."""

    ss_between: Fraction
    ss_within: Fraction
    means: tuple[Fraction, ...]
    n: tuple[int, ...]

    @property
    def ss_total(self) -> Fraction:
        return self.ss_between + self.ss_within


def _group_sums(group: list[Decimal | Fraction]) -> tuple[Fraction, Fraction]:
    """Exact sum and sum of squares of one group."""
    decimals = [v for v in group if isinstance(v, Decimal)]
    if len(decimals) == len(group):
        context = decimal.Context(prec=decimal.MAX_PREC, traps=[decimal.Inexact, decimal.Rounded])
        with decimal.localcontext(context):
            total = sum(decimals, Decimal(0))
            squares = sum((v * v for v in decimals), Decimal(0))
        return Fraction(total), Fraction(squares)
    fractions = [Fraction(v) for v in group]
    denominator = math.lcm(*{f.denominator for f in fractions})
    ints = [f.numerator * (denominator // f.denominator) for f in fractions]
    return (
        Fraction(sum(ints), denominator),
        Fraction(sum(i * i for i in ints), denominator * denominator),
    )


def exact_oneway(groups: list[list[Decimal | Fraction]]) -> ExactAnova:
    """Exact between- and within-group sums of squares of ``groups`` (exact values)."""
    sums = [_group_sums(g) for g in groups]
    n = tuple(len(g) for g in groups)
    n_total = sum(n)
    within = sum((q - s * s / k for (s, q), k in zip(sums, n, strict=True)), start=Fraction(0))
    grand = sum((s for s, _ in sums), start=Fraction(0))
    between = (
        sum((s * s / k for (s, _), k in zip(sums, n, strict=True)), start=Fraction(0))
        - grand * grand / n_total
    )
    means = tuple(s / k for (s, _), k in zip(sums, n, strict=True))
    return ExactAnova(between, within, means, n)
