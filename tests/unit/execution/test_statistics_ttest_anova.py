"""Golden and degenerate-input tests of compute_ttest and compute_anova.

Golden values are R's printed output (../shared/reference/r_cases, sources cited in each
file) compared at half a unit in the last printed digit, and NIST StRD certified values.
"""

from __future__ import annotations

import json
import os
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

from kosmos.api.errors import ErrorKind, KosmosError
from kosmos.execution.statistics import (
    ConstantInputError,
    EmptyInputError,
    InsufficientDataError,
    InvalidOptionError,
    LengthMismatchError,
    NonFiniteInputError,
    StatisticsError,
    ZeroVarianceError,
    compute_anova,
    compute_ttest,
)

# ../shared/reference beside the repository, or KOSMOS_REFERENCE_DIR (as tests/conftest.py).
_REFERENCE_DIR = Path(os.environ.get("KOSMOS_REFERENCE_DIR")
                      or Path(__file__).resolve().parents[4] / "shared" / "reference")
REFERENCE = _REFERENCE_DIR
GOLDEN = Path(__file__).resolve().parents[2] / "golden"


def _half_unit(text: str) -> float:
    """Half a unit in the last printed digit of ``text`` (R's rounding of what it printed)."""
    mantissa = text.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(text.lower().split("e")[1]) if "e" in text.lower() else 0
    return 0.5 * 10.0 ** (exponent - decimals)


def assert_printed(value: float, text: str) -> None:
    """``value`` rounds to R's printed ``text``."""
    assert abs(value - float(text)) <= _half_unit(text) * (1 + 1e-9), (value, text)


def _case(name: str) -> dict:
    return json.loads((REFERENCE / "r_cases" / name).read_text())


def _lre(certified: float, value: float) -> float:
    return math.inf if value == certified else -math.log10(abs(value - certified) / abs(certified))


# --- R cases ---------------------------------------------------------------------------


def test_sleep_welch_t_matches_r_to_printed_digits() -> None:
    case = _case("01_sleep_welch_t.json")
    r = compute_ttest(case["inputs"]["x_group1"], case["inputs"]["y_group2"])
    text = case["expected_text"]
    assert r.test == "welch_t"
    assert_printed(r.statistic, text["t"])
    assert_printed(r.df, text["df"])
    assert_printed(r.p_value, text["p_value"])
    assert_printed(r.ci_low, text["ci95_low"])
    assert_printed(r.ci_high, text["ci95_high"])
    assert_printed(r.means[0], text["mean_x"])
    assert_printed(r.means[1], text["mean_y"])


def test_sleep_welch_anova_matches_r_oneway_test() -> None:
    case = _case("01_sleep_welch_t.json")
    r = compute_anova([case["inputs"]["x_group1"], case["inputs"]["y_group2"]], welch=True)
    assert r.test == "welch_anova"
    assert_printed(r.f_statistic, "3.4626")
    assert_printed(r.df_between, "1.000")
    assert_printed(r.df_within, "17.776")
    assert_printed(r.p_value, "0.07939")


@pytest.mark.parametrize("as_text", [False, True], ids=["float", "decimal-text"])
def test_plantgrowth_anova_matches_r_anova_table(as_text: bool) -> None:
    case = _case("07_plantgrowth_oneway_anova.json")
    groups = list(case["inputs"]["groups"].values())
    if as_text:
        groups = [[repr(v) for v in g] for g in groups]
    r = compute_anova(groups)
    text = case["expected_text"]
    assert r.df == (2.0, 27.0)
    assert_printed(r.ss_between, text["ss_between"])
    assert_printed(r.ss_within, text["ss_within"])
    assert_printed(r.ms_between, text["ms_between"])
    assert_printed(r.ms_within, text["ms_within"])
    assert_printed(r.f_statistic, text["F"])
    assert_printed(r.p_value, text["p_value"])
    assert r.eta_squared == pytest.approx(3.76634 / (3.76634 + 10.49209), rel=1e-12)


def test_ttest_agrees_with_scipy_for_every_variant() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 15), rng.normal(0.5, 2, 12)
    for equal_var in (False, True):
        for alt in ("two-sided", "less", "greater"):
            ref = st.ttest_ind(a, b, equal_var=equal_var, alternative=alt)
            r = compute_ttest(a, b, equal_var=equal_var, alternative=alt)
            assert r.statistic == pytest.approx(ref.statistic, rel=1e-12)
            assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10)
            assert r.df == pytest.approx(ref.df, rel=1e-12)
            ci = ref.confidence_interval(0.95)
            assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    c = rng.normal(0.3, 1, 15)
    ref = st.ttest_rel(a, c)
    r = compute_ttest(a, c, paired=True)
    assert (r.test, r.cohens_d.name) == ("paired_t", "cohens_dz")
    assert r.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    ref = st.ttest_1samp(a, 0.2)
    r = compute_ttest(a, mu=0.2)
    assert r.test == "one_sample_t"
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10)


def test_hedges_g_is_cohens_d_times_exact_j_and_d_interval_contains_d() -> None:
    case = _case("01_sleep_welch_t.json")
    r = compute_ttest(case["inputs"]["x_group1"], case["inputs"]["y_group2"])
    d, g = r.cohens_d, r.effect_size
    df = 18
    j = math.gamma(df / 2) / (math.sqrt(df / 2) * math.gamma((df - 1) / 2))
    assert g.value == pytest.approx(d.value * j, rel=1e-12)
    assert d.ci_low < d.value < d.ci_high
    # the noncentral-t bounds put the observed pooled t at the 97.5% / 2.5% points
    t = d.value / math.sqrt(0.2)
    assert st.nct.cdf(t, df, d.ci_low / math.sqrt(0.2)) == pytest.approx(0.975, abs=1e-8)
    assert st.nct.cdf(t, df, d.ci_high / math.sqrt(0.2)) == pytest.approx(0.025, abs=1e-8)


def test_one_sided_interval_is_open_and_to_dict_stays_json() -> None:
    r = compute_ttest([1.0, 2.0, 3.5, 4.0], [2.0, 3.0, 5.0, 6.5], alternative="less")
    assert r.ci_low == -math.inf
    d = r.to_dict()
    assert "ciLow" not in d
    json.dumps(d, allow_nan=False)
    assert d["effectSize"]["ciLow"] is None


# --- NIST StRD -------------------------------------------------------------------------

NIST = sorted((REFERENCE / "nist_anova").glob("*.json"))


@pytest.mark.parametrize("path", NIST, ids=[p.stem for p in NIST])
def test_nist_anova_from_decimal_text_agrees_to_nine_digits(path: Path) -> None:
    data = json.loads(path.read_text())
    cert = data["certified"]
    r = compute_anova([[repr(v) for v in g] for g in data["groups"]])
    assert r.exact
    for key, value in [
        ("f_statistic", r.f_statistic),
        ("between_ss", r.ss_between),
        ("within_ss", r.ss_within),
        ("between_ms", r.ms_between),
        ("within_ms", r.ms_within),
        ("r_squared", r.eta_squared),
    ]:
        assert _lre(cert[key], value) >= 9, (key, value, cert[key])
    assert r.df == (cert["between_df"], cert["within_df"])


@pytest.mark.parametrize("path", NIST, ids=[p.stem for p in NIST])
def test_nist_anova_from_float_agrees_with_exact_float_answer_to_ten_digits(path: Path) -> None:
    data = json.loads(path.read_text())
    exact = data["float64_input_exact"]
    r = compute_anova([np.array(g) for g in data["groups"]])
    assert not r.exact
    assert _lre(exact["f_statistic"], r.f_statistic) >= 10
    assert _lre(exact["between_ss"], r.ss_between) >= 10
    assert _lre(exact["within_ss"], r.ss_within) >= 10


def test_decimal_objects_take_the_exact_path() -> None:
    r = compute_anova([[Decimal("1.1"), Decimal("1.3")], [Decimal("2.0"), Decimal("2.4")]])
    assert r.exact
    assert r.ss_within == pytest.approx(0.1, rel=1e-15)


# --- degenerate input --------------------------------------------------------------------


def test_two_samples_of_one_repeated_constant_raise_instead_of_a_p_value() -> None:
    a, b = [1.1] * 7, [2.3] * 11  # rounding noise in the variances
    with pytest.warns(RuntimeWarning, match="catastrophic cancellation"):
        assert st.ttest_ind(a, b, equal_var=False).pvalue < 1e-200  # what scipy reports
    with pytest.raises(ConstantInputError, match="essentially constant"):
        compute_ttest(a, b)
    with pytest.raises(ConstantInputError):
        compute_ttest([5.0] * 8, mu=1.0)
    with pytest.raises(ConstantInputError):
        compute_ttest([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], paired=True)


def test_welch_allows_one_constant_group_like_r() -> None:
    r = compute_ttest([1.0, 1.0, 1.0], [2.0, 3.0, 4.5])
    assert 0 < r.p_value < 1


def test_statistics_errors_report_data_kind() -> None:
    with pytest.raises(StatisticsError) as info:
        compute_ttest([])
    assert isinstance(info.value, EmptyInputError)
    assert isinstance(info.value, KosmosError)
    assert info.value.kind is ErrorKind.DATA


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: compute_ttest([1.0]), InsufficientDataError),
        (lambda: compute_ttest([1.0, np.nan, 3.0], [1.0, 2.0]), NonFiniteInputError),
        (lambda: compute_ttest([1.0, np.inf, 3.0], [1.0, 2.0]), NonFiniteInputError),
        (lambda: compute_ttest([1.0, 2.0, 3.0], [1.0, 2.0], paired=True), LengthMismatchError),
        (lambda: compute_ttest([1.0, 2.0], [1.0, 3.0], alternative="bigger"), InvalidOptionError),
        (lambda: compute_anova([[1.0, 2.0]]), InsufficientDataError),
        (lambda: compute_anova([[1.0], [2.0]]), InsufficientDataError),
        (lambda: compute_anova([[1.0, 1.0], [2.0, 2.0]]), ConstantInputError),
        (lambda: compute_anova([["1.0", "1.0"], ["2.0", "2.0"]]), ConstantInputError),
        (lambda: compute_anova([[], [1.0, 2.0]]), EmptyInputError),
        (lambda: compute_anova([[1.0, 1.0], [2.0, 3.0]], welch=True), ZeroVarianceError),
        (lambda: compute_anova([["1.0", "nan"], ["2.0", "3.1"]]), NonFiniteInputError),
        (lambda: compute_anova([["1.0", "abc"], ["2.0", "3.1"]]), StatisticsError),
    ],
)
def test_degenerate_input_raises_the_named_error(call, error) -> None:
    with pytest.raises(error):
        call()


def test_nan_policy_omit_drops_missing_values_and_pairs() -> None:
    r = compute_ttest([1.0, np.nan, 3.0, 4.0], [2.0, 5.0, 6.0, 8.0], nan_policy="omit")
    assert r.n == (3, 4)
    r = compute_ttest([1.0, np.nan, 3.0, 4.0], [2.0, 5.0, 6.0, 8.5], paired=True, nan_policy="omit")
    assert r.n == (3,)
    r = compute_anova([["1.0", "nan", "2.0"], ["2.0", "3.1"]], nan_policy="omit")
    assert r.n == (2, 2)


def test_string_arrays_and_series_take_the_exact_path() -> None:
    data = json.loads((REFERENCE / "nist_anova" / "SmLs09.json").read_text())
    text = [[repr(v) for v in g] for g in data["groups"]]
    as_arrays = compute_anova([np.array(g) for g in text])
    as_series = compute_anova([pd.Series(g, dtype=object) for g in text])
    assert as_arrays.exact
    assert as_series.exact
    assert as_arrays.f_statistic == as_series.f_statistic == data["certified"]["f_statistic"]


def test_fractions_and_decimals_mix_in_exact_arithmetic() -> None:
    r = compute_anova([[Fraction(1, 3), Fraction(2, 3), Decimal("1.5")], ["2.0", "2.5", "3.25"]])
    assert r.exact
    assert r.ss_within == float(Fraction(109, 72))
    assert r.ss_between == float(Fraction(147, 32))
