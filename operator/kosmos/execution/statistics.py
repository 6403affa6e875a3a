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
from kosmos.execution.stats.adjust import AdjustMethod, adjust_pvalues
from kosmos.execution.stats.anova import compute_anova
from kosmos.execution.stats.assumptions import (
    Center,
    check_bartlett,
    check_homogeneity,
    check_normality,
)
from kosmos.execution.stats.chisquare import compute_chi_square, contingency_table
from kosmos.execution.stats.correlation import CorrelationMethod, compute_correlation
from kosmos.execution.stats.nonparametric import (
    PValueMethod,
    compute_kruskal,
    compute_mannwhitney,
    compute_wilcoxon,
)
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
    "AdjustMethod",
    "AdjustedPValues",
    "Alternative",
    "AnovaResult",
    "AssumptionResult",
    "Center",
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
    "PValueMethod",
    "RankTestResult",
    "StatisticsError",
    "TTestResult",
    "ZeroVarianceError",
    "adjust_pvalues",
    "check_bartlett",
    "check_homogeneity",
    "check_normality",
    "compute_anova",
    "compute_chi_square",
    "compute_correlation",
    "compute_kruskal",
    "compute_mannwhitney",
    "compute_ttest",
    "compute_wilcoxon",
    "contingency_table",
]
