"""Tests of ResultAnalyzer and the effect-size magnitude labels."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from kosmos.api.status import Analysis, StatisticEntry
from kosmos.execution.analyzer import ResultAnalyzer
from kosmos.execution.effect_sizes import conventions, magnitude, rule_for
from kosmos.execution.statistics import (
    check_homogeneity,
    check_normality,
    compute_anova,
    compute_chi_square,
    compute_correlation,
    compute_kruskal,
    compute_ttest,
)

# ../shared/reference beside the repository, or KOSMOS_REFERENCE_DIR (as tests/conftest.py).
_REFERENCE_DIR = Path(os.environ.get("KOSMOS_REFERENCE_DIR")
                      or Path(__file__).resolve().parents[4] / "shared" / "reference")
REFERENCE = _REFERENCE_DIR
SLEEP = json.loads((REFERENCE / "r_cases" / "01_sleep_welch_t.json").read_text())["inputs"]
PLANTS = json.loads((REFERENCE / "r_cases" / "07_plantgrowth_oneway_anova.json").read_text())[
    "inputs"
]["groups"]
CONVENTIONS = json.loads((REFERENCE / "effect_size_conventions.json").read_text())
CAUSAL = re.compile(r"\b(caus\w*|because|leads? to|proves?|due to|results? in)\b", re.IGNORECASE)


def _sleep_results() -> dict:
    r = compute_ttest(SLEEP["x_group1"], SLEEP["y_group2"])
    return {"statistics": [r.to_dict()], "alpha": 0.05}


@pytest.mark.parametrize(
    ("key", "effect"),
    [
        ("label_test_vectors_cohen1988_d", "hedges_g"),
        ("label_test_vectors_cohen1988_r", "pearson_r"),
        ("label_test_vectors_field2013_eta2", "eta_squared"),
    ],
)
def test_magnitude_labels_follow_the_reference_boundary_vectors(key: str, effect: str) -> None:
    for value, label in CONVENTIONS[key]:
        assert magnitude(effect, value) == label, value


def test_a_value_on_a_threshold_takes_the_higher_label() -> None:
    rule = rule_for("cohens_d")
    assert rule is not None
    for threshold, label in zip(rule.thresholds, rule.labels[1:], strict=True):
        assert rule.label(threshold) == label
        assert rule.label(np.nextafter(threshold, 0)) != label


def test_shipped_conventions_match_the_reference_file() -> None:
    shipped = conventions()
    for family in ("cohens_d_hedges_g_glass_delta", "correlation_r", "cohens_f"):
        assert shipped[family] == CONVENTIONS[family]
    assert "Cohen" in shipped["cohens_w"]["cohen1988"]["source"]


def test_cramers_v_is_labelled_as_cohens_w_for_larger_tables() -> None:
    assert magnitude("cramers_v", 0.25, table_shape=(2, 2)) == "small"
    assert magnitude("cramers_v", 0.25, table_shape=(3, 3)) == "medium"  # w = 0.354


def test_sleep_analysis_reports_welch_t_not_significant_with_medium_effect() -> None:
    out = ResultAnalyzer().analyze(results=_sleep_results(), experiment_type="statistical_test")
    assert out["significance"] is False
    assert out["significant"] is False
    assert out["p_value"] == pytest.approx(0.07939, abs=5e-6)
    assert out["adjusted_p_values"] is None
    assert out["effect_size"]["name"] == "hedges_g"
    assert out["effect_magnitude"] == out["effect_size"]["magnitude"] == "medium"
    assert (
        out["effect_size"]["ci_low"] < out["effect_size"]["value"] < out["effect_size"]["ci_high"]
    )
    text = out["interpretation"]
    for needle in (
        "Welch",
        "t(17.78) = -1.861",
        "p = 0.0794",
        "not statistically significant",
        "95% CI",
        "medium",
        "lower",
        "small",
    ):
        assert needle in text, needle
    assert text.count(". ") <= 1  # one or two sentences
    assert not CAUSAL.search(text)


def test_analysis_maps_onto_the_status_model() -> None:
    out = ResultAnalyzer().analyze(results=_sleep_results(), experiment_type="statistical_test")
    Analysis(
        significant=out["significant"],
        alpha=out["alpha"],
        p_value=out["p_value"],
        adjusted_p_values=out["adjusted_p_values"],
        adjustment_method=out["adjustment_method"],
        effect_magnitude=out["effect_magnitude"],
        interpretation=out["interpretation"],
        warnings=out["warnings"],
    )
    StatisticEntry.model_validate(_sleep_results()["statistics"][0])


def test_alpha_defaults_to_the_alpha_the_program_reported() -> None:
    results = _sleep_results() | {"alpha": 0.1}
    out = ResultAnalyzer().analyze(results=results)
    assert out["alpha"] == 0.1
    assert out["significance"] is True
    assert ResultAnalyzer().analyze(results=results, alpha=0.05)["significance"] is False


def test_several_tests_are_holm_adjusted_and_named() -> None:
    results = {"statistics": [compute_anova(PLANTS).to_dict(), compute_kruskal(PLANTS).to_dict()]}
    out = ResultAnalyzer().analyze(results=results)
    assert out["adjustment_method"] == "holm"
    p1, _p2 = 0.015909958325622912, 0.018423755731471966
    assert out["adjusted_p_values"] == pytest.approx(
        [2 * p1, 2 * p1], rel=1e-12
    )  # Holm: max(2*p1, p2)
    assert out["p_value"] == pytest.approx(p1, rel=1e-12)
    assert "Holm-adjusted" in out["interpretation"]


def test_correlation_analysis_shape_gets_a_fisher_interval_and_label() -> None:
    out = ResultAnalyzer().analyze(
        results={"correlation": 0.8, "p_value": 0.001, "n": 30},
        experiment_type="correlation_analysis",
    )
    assert out["significance"] is True
    assert out["effect_magnitude"] == "large"
    assert out["effect_size"]["ci_low"] == pytest.approx(0.6177, abs=1e-4)
    assert out["effect_size"]["ci_high"] == pytest.approx(
        0.9007, abs=1e-4
    )  # tanh(atanh(.8) + 1.96/sqrt(27))
    assert "positive association" in out["interpretation"]
    assert not CAUSAL.search(out["interpretation"])


def test_t_statistic_shape_is_understood() -> None:
    out = ResultAnalyzer().analyze(
        results={"t_statistic": 2.5, "p_value": 0.02, "df": 38, "cohens_d": 0.79, "n": [20, 20]},
        experiment_type="hypothesis_test",
    )
    assert out["significance"] is True
    assert out["effect_magnitude"] == "medium"


def test_tiny_effect_with_tiny_p_at_large_n_is_warned() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 20000), rng.normal(0.05, 1, 20000)
    out = ResultAnalyzer().analyze(results=compute_ttest(a, b))
    assert out["p_value"] < 0.01
    assert out["effect_magnitude"] == "very small"
    assert any("very small" in w and "n = 40000" in w for w in out["warnings"])


def test_large_effect_not_significant_at_small_n_is_warned() -> None:
    out = ResultAnalyzer().analyze(results=compute_ttest([1.0, 2.0, 3.5], [2.5, 4.0, 5.5]))
    assert out["significance"] is False
    assert out["effect_magnitude"] == "large"
    assert any("underpowered" in w for w in out["warnings"])


def test_violated_assumptions_name_the_better_suited_test() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 200), rng.normal(0, 4, 200)
    results = [compute_ttest(a, b, equal_var=True), check_homogeneity([a, b])]
    text = ResultAnalyzer().analyze(results=results)["interpretation"]
    assert "Brown-Forsythe" in text
    assert "Welch's t-test is better suited" in text
    skewed = rng.exponential(1, 300)
    results = [compute_correlation(skewed, skewed + rng.normal(0, 1, 300)), check_normality(skewed)]
    text = ResultAnalyzer().analyze(results=results)["interpretation"]
    assert "Shapiro-Wilk" in text
    assert "Spearman" in text


def test_small_expected_counts_are_warned() -> None:
    out = ResultAnalyzer().analyze(results=compute_chi_square([[3, 1], [1, 4]]))
    assert any("Fisher" in w for w in out["warnings"])


def test_results_without_a_test_give_an_empty_analysis() -> None:
    out = ResultAnalyzer().analyze(results={"mean": 3.0}, experiment_type="data_analysis")
    assert out["significance"] is None
    assert out["effect_size"] is None
    assert "No statistical test" in out["interpretation"]


def test_interpretation_names_the_groups_the_program_reported() -> None:
    results = _sleep_results() | {"groupOrder": ["drug 1", "drug 2"]}
    text = ResultAnalyzer().analyze(results=results)["interpretation"]
    assert "the mean of group 'drug 1' is lower than that of group 'drug 2'" in text


def _welch(p: float, **extra: object) -> dict:
    return {"test": "welch_t", "statistic": 2.0, "df": 78.0, "pValue": p, "n": [40, 40]} | extra


def test_p_values_the_program_adjusted_keep_its_method_and_values() -> None:
    from kosmos.execution.statistics import adjust_pvalues  # noqa: PLC0415

    p = [0.01, 0.04, 0.03]
    for declared in ("fdr_bh", "BH"):
        results = {"adjustment": declared, "statistics": [_welch(v) for v in p]}
        out = ResultAnalyzer().analyze(results=results)
        assert out["adjustment_method"] == "fdr_bh"
        assert out["adjusted_p_values"] == list(adjust_pvalues(p, method="fdr_bh").adjusted)
        assert out["adjusted_p_values"] == [0.03, 0.04, 0.04]
        assert "Benjamini-Hochberg-adjusted over 3 tests: 0.03" in out["interpretation"]
        assert "Holm" not in out["interpretation"]


def test_an_adjustment_the_analyzer_does_not_know_is_said_not_silently_replaced() -> None:
    results = {"adjustment": "storey_q", "statistics": [_welch(0.01), _welch(0.04)]}
    out = ResultAnalyzer().analyze(results=results)
    assert out["adjustment_method"] == "holm"
    assert out["warnings"][0] == (
        "The results report p-values adjusted by 'storey_q', which the analysis does not know; "
        "the analysis adjusted the tests with holm instead."
    )


def test_interpretation_names_the_variable_and_the_groups_of_a_reference_comparison() -> None:
    results = {"reference": "control", "other": "treated",
               "statistics": [_welch(0.01, variable="geneA"), _welch(0.2, variable="geneB")]}
    out = ResultAnalyzer().analyze(results=results)
    assert out["interpretation"].startswith("Welch's two-sample t-test of 'geneA': t(78) = 2, ")
    results["statistics"][0]["effectSize"] = {"name": "hedges_g", "value": 0.7}
    text = ResultAnalyzer().analyze(results=results)["interpretation"]
    assert text.endswith("the mean of group 'treated' is higher than that of group 'control'.")


def test_interpretation_names_the_pair_of_a_correlation_matrix_entry() -> None:
    entry = {"test": "spearman", "pValue": 0.001, "n": 30, "x": "height", "y": "weight",
             "effectSize": {"name": "spearman_rho", "value": -0.6}}
    text = ResultAnalyzer().analyze(results={"statistics": [entry]})["interpretation"]
    assert text.startswith(
        "Spearman rank correlation test between 'height' and 'weight': p = 0.001,"
    )
    assert "a negative association" in text


def test_a_p_value_outside_zero_one_is_warned_and_does_not_break_the_adjustment() -> None:
    results = {"statistics": [_welch(2.0), _welch(0.01), _welch(0.02)]}
    out = ResultAnalyzer().analyze(results=results)
    assert out["warnings"][0] == (
        "Test 1 (welch_t) reported p = 2, outside [0, 1]; it was treated as not reported."
    )
    assert out["p_value"] is None
    assert out["adjusted_p_values"] == [0.02, 0.02]  # Holm over the two valid tests


def test_an_optimizers_report_is_read_for_convergence() -> None:
    failed = {"x": [1.0, 2.0], "fun": 3.5, "success": False, "nit": 200,
              "message": "Maximum number of iterations has been exceeded."}
    out = ResultAnalyzer().analyze(results=failed, experiment_type="optimization")
    assert out["converged"] is False
    assert out["significance"] is None
    assert out["interpretation"] == (
        "No minimum was found: the optimizer stopped without converging at x = (1, 2)."
    )
    assert out["warnings"] == [
        'The optimizer did not converge: "Maximum number of iterations has been exceeded." '
        "(200 iterations); the point it reports is where it stopped, not a minimum."
    ]
    converged = failed | {"success": True, "method": "differential_evolution"}
    out = ResultAnalyzer().analyze(results=converged, experiment_type="optimization")
    assert out["converged"] is True
    assert out["interpretation"] == (
        "The optimizer (differential_evolution) converged to a minimum of the objective (3.5) "
        "at x = (1, 2)."
    )
