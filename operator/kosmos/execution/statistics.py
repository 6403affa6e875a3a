"""Statistical tests for Kosmos experiments: scipy-backed, validated, with effect sizes.

The public facade of the statistics layer (DESIGN.md, "Library API"). Generated programs
call it inside the sandbox, and :mod:`kosmos.execution.analyzer` reads its results. Every
function validates its input through one gate (NaN policy, sample size, constant data),
returns a frozen result with named fields and a ``to_dict()`` in the status
``StatisticEntry`` shape, and raises a named :class:`StatisticsError` on degenerate input
instead of returning NaN. The implementation lives in :mod:`kosmos.execution.stats`.
"""

from __future__ import annotations

from kosmos.execution.stats._validation import (
    Alternative,
    ConstantInputError,
    EmptyInputError,
    InsufficientDataError,
    InvalidOptionError,
    LengthMismatchError,
    NanPolicy,
    NonFiniteInputError,
    StatisticsError,
    ZeroVarianceError,
)
from kosmos.execution.stats.anova import compute_anova
from kosmos.execution.stats.correlation import CorrelationMethod, compute_correlation
from kosmos.execution.stats.results import (
    AdjustedPValues,
    AnovaResult,
    AssumptionResult,
    ChiSquareResult,
    CorrelationResult,
    EffectSize,
    RankTestResult,
    TTestResult,
)
from kosmos.execution.stats.ttest import compute_ttest

__all__ = [
    "AdjustedPValues",
    "Alternative",
    "AnovaResult",
    "AssumptionResult",
    "ChiSquareResult",
    "ConstantInputError",
    "CorrelationMethod",
    "CorrelationResult",
    "EffectSize",
    "EmptyInputError",
    "InsufficientDataError",
    "InvalidOptionError",
    "LengthMismatchError",
    "NanPolicy",
    "NonFiniteInputError",
    "RankTestResult",
    "StatisticsError",
    "TTestResult",
    "ZeroVarianceError",
    "compute_anova",
    "compute_correlation",
    "compute_ttest",
]
