"""Tests of p-value adjustment, assumption checks, rank tests and chi-square (beyond goldens)."""

from __future__ import annotations

import itertools
import json
import os
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats as st
from statsmodels.stats.multitest import multipletests

from kosmos.execution.statistics import (
    ConstantInputError,
    EmptyInputError,
    InsufficientDataError,
    InvalidOptionError,
    LengthMismatchError,
    NonFiniteInputError,
    StatisticsError,
    adjust_pvalues,
    check_bartlett,
    check_homogeneity,
    check_normality,
    compute_chi_square,
    compute_correlation,
    compute_kruskal,
    compute_mannwhitney,
    compute_wilcoxon,
)

# ../shared/reference beside the repository, or KOSMOS_REFERENCE_DIR (as tests/conftest.py).
_REFERENCE_DIR = Path(os.environ.get("KOSMOS_REFERENCE_DIR")
                      or Path(__file__).resolve().parents[4] / "shared" / "reference")
_PLANT_CASE = _REFERENCE_DIR / "r_cases" / "07_plantgrowth_oneway_anova.json"
PLANTS = json.loads(_PLANT_CASE.read_text())["inputs"]["groups"]


@pytest.mark.parametrize(
    ("method", "sm"), [("bonferroni", "bonferroni"), ("holm", "holm"), ("fdr_bh", "fdr_bh")]
)
def test_adjusted_p_values_agree_with_statsmodels(method: str, sm: str) -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 0.2, 25)
    ours = adjust_pvalues(p, method=method)
    assert ours.adjusted == pytest.approx(tuple(multipletests(p, method=sm)[1]), rel=1e-12)


def test_holm_and_bh_on_a_hand_worked_vector() -> None:
    p = [0.01, 0.02, 0.03, 0.04, 0.05]
    assert adjust_pvalues(p, method="holm").adjusted == pytest.approx(
        (0.05, 0.08, 0.09, 0.09, 0.09)
    )
    assert adjust_pvalues(p, method="fdr_bh").adjusted == pytest.approx((0.05,) * 5)


def test_nan_p_values_stay_nan_and_are_not_counted_like_r() -> None:
    out = adjust_pvalues([0.01, float("nan"), 0.04, None], method="bonferroni")
    assert out.n_tests == 2
    assert out.adjusted[0] == pytest.approx(0.02)
    assert out.adjusted[2] == pytest.approx(0.08)
    assert math.isnan(out.adjusted[1])
    assert math.isnan(out.adjusted[3])
    assert out.to_dict()["adjusted"][1] is None


def test_adjusted_p_values_are_monotone_in_the_raw_order() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 40)
    for method in ("holm", "fdr_bh", "bonferroni"):
        adj = np.array(adjust_pvalues(p, method=method).adjusted)
        order = np.argsort(p)
        assert np.all(np.diff(adj[order]) >= 0)
        assert np.all(adj >= p)
        assert np.all(adj <= 1)


def test_bad_p_values_and_methods_raise() -> None:
    with pytest.raises(StatisticsError):
        adjust_pvalues([0.5, 1.5])
    with pytest.raises(InvalidOptionError):
        adjust_pvalues([0.5], method="hochberg")


def test_shapiro_matches_scipy_and_r_rules() -> None:
    ctrl = PLANTS["ctrl"]
    r = check_normality(ctrl)
    ref = st.shapiro(ctrl)
    assert (r.statistic, r.p_value) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))
    assert r.test == "shapiro_wilk"
    assert not r.violated(0.05)
    with pytest.raises(ConstantInputError):
        check_normality([2.0] * 10)
    with pytest.raises(InsufficientDataError):
        check_normality([1.0, 2.0])


def test_homogeneity_names_its_centre() -> None:
    groups = list(PLANTS.values())
    bf = check_homogeneity(groups)
    lev = check_homogeneity(groups, center="mean")
    assert (bf.test, bf.center, lev.test, lev.center) == (
        "brown_forsythe",
        "median",
        "levene",
        "mean",
    )
    assert bf.p_value == pytest.approx(st.levene(*groups, center="median").pvalue)
    assert lev.p_value == pytest.approx(st.levene(*groups, center="mean").pvalue)
    assert bf.to_dict()["df"] == [2.0, 27.0]
    with pytest.raises(InvalidOptionError):
        check_homogeneity(groups, center="trimmed")
    with pytest.raises(ConstantInputError):
        check_bartlett([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])


def test_rank_tests_raise_on_constant_or_degenerate_input() -> None:
    with pytest.raises(ConstantInputError):
        compute_kruskal([[1.0, 1.0], [1.0, 1.0, 1.0]])
    with pytest.raises(ConstantInputError):
        compute_mannwhitney([2.0, 2.0], [2.0, 2.0, 2.0])
    with pytest.raises(ConstantInputError):
        compute_wilcoxon([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(InvalidOptionError):
        compute_mannwhitney([1.0, 2.0, 2.0], [3.0, 4.0], method="exact")
    with pytest.raises(LengthMismatchError):
        compute_wilcoxon([1.0, 2.0], [1.0])
    with pytest.raises(NonFiniteInputError):
        compute_kruskal([[1.0, float("nan")], [2.0, 3.0]])
    with pytest.raises(EmptyInputError):
        compute_mannwhitney([], [1.0])


def test_mann_whitney_with_ties_uses_the_corrected_normal_approximation_like_r() -> None:
    x, y = [1, 2, 2, 3, 4, 5], [3, 3, 4, 6, 7, 7, 8]
    r = compute_mannwhitney(x, y)
    ref = st.mannwhitneyu(x, y, method="asymptotic", use_continuity=True)
    assert not r.exact
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert r.effect_size.name == "rank_biserial"
    assert r.effect_size.value == pytest.approx(2 * r.statistic / 42 - 1)


def test_correlation_raises_on_constant_and_mismatched_input() -> None:
    with pytest.raises(ConstantInputError):
        compute_correlation([1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0])
    with pytest.raises(LengthMismatchError):
        compute_correlation([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(InsufficientDataError):
        compute_correlation([1.0, 2.0], [2.0, 1.0])
    with pytest.raises(InvalidOptionError):
        compute_correlation([1.0, 2.0, 2.0], [1.0, 3.0, 2.0], method="kendall", exact=True)


def test_kendall_with_ties_is_tau_b_with_rs_tie_corrected_z() -> None:
    x = [1, 2, 2, 3, 4, 4, 5, 6]
    y = [2, 1, 3, 3, 5, 6, 6, 7]
    r = compute_correlation(x, y, method="kendall")
    ref = st.kendalltau(x, y, variant="b")
    assert not r.exact
    assert r.statistic_name == "z"
    assert r.correlation == pytest.approx(ref.statistic)
    assert r.p_value == pytest.approx(2 * st.norm.sf(abs(r.statistic)), rel=1e-9)


def test_spearman_exact_p_matches_full_enumeration_for_small_n() -> None:
    x = [3.1, 1.2, 5.5, 4.4, 2.0, 6.7, 8.1]
    y = [2.0, 1.5, 4.0, 6.1, 3.3, 5.0, 7.7]
    r = compute_correlation(x, y, method="spearman")
    rx, ry = st.rankdata(x), st.rankdata(y)
    s_obs = float(np.sum((rx - ry) ** 2))
    sums = [
        sum((i - p) ** 2 for i, p in enumerate(perm)) for perm in itertools.permutations(range(7))
    ]
    p_low = np.mean(np.array(sums) <= s_obs + 1e-9)
    assert r.exact
    assert r.p_value == pytest.approx(min(1.0, 2 * p_low), rel=1e-12)


def test_chi_square_cramers_v_and_degenerate_tables() -> None:
    r = compute_chi_square([[762, 327, 468], [484, 239, 477]])
    assert r.effect_size.value == pytest.approx(math.sqrt(r.statistic / (2757 * 1)))
    assert r.effect_size.ci_low < r.effect_size.value < r.effect_size.ci_high
    r2 = compute_chi_square(["a", "a", "b", "b", "a", "b"], ["x", "y", "x", "y", "x", "x"])
    assert r2.shape == (2, 2)
    assert r2.n == 6
    with pytest.raises(StatisticsError):
        compute_chi_square([[1, 0], [2, 0]])
    with pytest.raises(InsufficientDataError):
        compute_chi_square([[1, 2, 3]])
    with pytest.raises(StatisticsError):
        compute_chi_square([[1, -2], [3, 4]])


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
@pytest.mark.parametrize("continuity", [True, False])
def test_signed_rank_normal_approximation_equals_scipy_with_ties_and_zeros(
    alternative: str, continuity: bool
) -> None:
    rng = np.random.default_rng(11)
    x = rng.integers(0, 8, 120).astype(float)
    y = rng.integers(0, 8, 120).astype(float) + 0.5 * rng.integers(0, 2, 120)
    r = compute_wilcoxon(x, y, alternative=alternative, continuity=continuity)
    ref = st.wilcoxon(
        x,
        y,
        zero_method="wilcox",
        correction=continuity,
        alternative=alternative,
        method="asymptotic",
    )
    assert not r.exact
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    d = (x - y)[x != y]
    ranks = st.rankdata(np.abs(d))
    assert r.statistic == pytest.approx(ranks[d > 0].sum())


def _every_result() -> list[object]:
    groups = list(PLANTS.values())
    a, b = groups[0], groups[1]
    return [
        compute_correlation(a, b),
        compute_correlation(a, b, method="spearman", alternative="less"),
        compute_correlation(a, b, method="kendall"),
        compute_kruskal(groups),
        compute_mannwhitney(a, b, alternative="greater"),
        compute_wilcoxon(a, b),
        compute_chi_square([[10, 20], [30, 5]]),
        check_normality(a),
        check_homogeneity(groups),
        check_bartlett(groups),
        adjust_pvalues([0.01, float("nan")]),
    ]


def test_every_result_is_frozen_and_its_dict_is_strict_json_and_a_status_entry() -> None:
    from dataclasses import FrozenInstanceError

    from kosmos.api.status import StatisticEntry

    for result in _every_result():
        with pytest.raises(FrozenInstanceError):
            result.p_value = 0.5  # type: ignore[attr-defined]
        d = result.to_dict()  # type: ignore[attr-defined]
        json.dumps(d, allow_nan=False)
        if "test" in d:
            entry = StatisticEntry.model_validate(d)
            assert entry.p_value == d["pValue"]
