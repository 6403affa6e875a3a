"""statistical_test template: every test runs through the real runner and matches R or scipy.

R values are those R printed (tolerance: half a unit in the last printed digit); scipy values
come from direct calls on the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from kosmos.execution import statistics as kstats
from kosmos.execution.code_generator import CodeGenerator
from kosmos.testing.factories import PLANT_GROWTH_CSV, SLEEP_CSV
from kosmos.testing.programs import run_program

SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
PLANTS = {
    "ctrl": [4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14],
    "trt1": [4.81, 4.17, 4.41, 3.59, 5.87, 3.83, 6.03, 4.89, 4.32, 4.69],
    "trt2": [6.31, 5.12, 5.54, 5.50, 5.37, 5.29, 4.92, 6.15, 5.80, 5.26],
}


def _needs(name: str) -> Any:
    return pytest.mark.skipif(
        not hasattr(kstats, name), reason=f"kosmos.execution.statistics has no {name} yet (issue 3)"
    )


def _run(
    tmp_path: Path, parameters: dict[str, Any], csv: str, name: str = "dataset"
) -> dict[str, Any]:
    code = CodeGenerator().generate("statistical_test", parameters)
    envelope = run_program(code, tmp_path, inputs={name: ("csv", csv)})
    assert envelope["success"], envelope["error"] + "\n" + (envelope["traceback"] or "")
    return envelope["results"]


def _close_to_printed(value: float, printed: str) -> None:
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    assert abs(value - float(printed)) <= 0.5 * 10**-decimals, (value, printed)


def test_welch_t_on_sleep_matches_r_with_group_one_minus_group_two(tmp_path: Path) -> None:
    results = _run(tmp_path, {"test": "ttest", "value": "extra", "group": "group"}, SLEEP_CSV)
    entry = results["statistics"][0]
    # R: t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p-value = 0.07939
    _close_to_printed(entry["statistic"], "-1.8608")
    _close_to_printed(entry["df"], "17.776")
    _close_to_printed(entry["pValue"], "0.07939")
    assert results["groupOrder"] == ["1", "2"]
    assert results["comparison"] == "1 - 2"
    assert results["groups"]["1"]["n"] == 10
    assert results["groups"]["2"]["mean"] == pytest.approx(2.33)
    assert results["groups"]["1"]["sd"] == pytest.approx(np.std(SLEEP_1, ddof=1))
    assert results["alpha"] == 0.05


def test_group_order_is_sorted_levels_not_order_of_appearance(tmp_path: Path) -> None:
    rows = (
        "value,group\n"
        + "".join(f"{v},b\n" for v in SLEEP_2)
        + "".join(f"{v},a\n" for v in SLEEP_1)
    )
    results = _run(tmp_path, {"test": "ttest", "value": "value", "group": "group"}, rows)
    assert results["groupOrder"] == ["a", "b"]
    assert results["statistics"][0]["statistic"] == pytest.approx(
        stats.ttest_ind(SLEEP_1, SLEEP_2, equal_var=False).statistic
    )


def test_student_t_with_equal_var_matches_scipy(tmp_path: Path) -> None:
    results = _run(
        tmp_path, {"test": "ttest", "value": "extra", "group": "group", "equalVar": True}, SLEEP_CSV
    )
    expected = stats.ttest_ind(SLEEP_1, SLEEP_2, equal_var=True)
    entry = results["statistics"][0]
    assert entry["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert entry["pValue"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert entry["df"] == pytest.approx(18)


def test_paired_t_on_sleep_matches_r(tmp_path: Path) -> None:
    results = _run(
        tmp_path, {"test": "paired_ttest", "value": "extra", "group": "group"}, SLEEP_CSV
    )
    entry = results["statistics"][0]
    # R: with(sleep, t.test(extra[group == 1], extra[group == 2], paired = TRUE)):
    # t = -4.0621, df = 9, p-value = 0.002833
    _close_to_printed(entry["statistic"], "-4.0621")
    _close_to_printed(entry["pValue"], "0.002833")
    assert entry["df"] == pytest.approx(9)


def test_one_sample_t_uses_mu_and_matches_scipy(tmp_path: Path) -> None:
    results = _run(tmp_path, {"test": "one_sample_ttest", "value": "extra", "mu": 1.0}, SLEEP_CSV)
    expected = stats.ttest_1samp(SLEEP_1 + SLEEP_2, 1.0)
    assert results["statistics"][0]["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert results["statistics"][0]["pValue"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert results["mu"] == 1.0


def test_one_way_anova_on_plant_growth_matches_r(tmp_path: Path) -> None:
    results = _run(
        tmp_path, {"test": "anova", "value": "weight", "group": "group"}, PLANT_GROWTH_CSV
    )
    entry = results["statistics"][0]
    # R: anova(lm(weight ~ group, data = PlantGrowth)): F = 4.8461, Pr(>F) = 0.01591
    _close_to_printed(entry["statistic"], "4.8461")
    _close_to_printed(entry["pValue"], "0.01591")
    assert results["groupOrder"] == ["ctrl", "trt1", "trt2"]


def test_welch_anova_on_sleep_matches_r_oneway_test(tmp_path: Path) -> None:
    results = _run(tmp_path, {"test": "welch_anova", "value": "extra", "group": "group"}, SLEEP_CSV)
    # R: oneway.test(extra ~ group, data = sleep): F = 3.4626, denom df = 17.776, p-value = 0.07939
    _close_to_printed(results["statistics"][0]["statistic"], "3.4626")
    _close_to_printed(results["statistics"][0]["pValue"], "0.07939")


@_needs("compute_kruskal")
def test_kruskal_on_plant_growth_matches_scipy(tmp_path: Path) -> None:
    results = _run(
        tmp_path, {"test": "kruskal", "value": "weight", "group": "group"}, PLANT_GROWTH_CSV
    )
    expected = stats.kruskal(*PLANTS.values())
    assert results["statistics"][0]["statistic"] == pytest.approx(expected.statistic, rel=1e-9)
    assert results["statistics"][0]["pValue"] == pytest.approx(expected.pvalue, rel=1e-6)


@_needs("compute_mannwhitney")
def test_mann_whitney_on_plant_growth_treatments_matches_scipy(tmp_path: Path) -> None:
    csv = "weight,group\n" + "".join(f"{w},{g}\n" for g in ("trt1", "trt2") for w in PLANTS[g])
    results = _run(tmp_path, {"test": "mannwhitney", "value": "weight", "group": "group"}, csv)
    # no ties and n < 50: exact, as R's wilcox.test (W = 16, p-value = 0.008931)
    expected = stats.mannwhitneyu(
        PLANTS["trt1"], PLANTS["trt2"], alternative="two-sided", method="exact"
    )
    assert results["statistics"][0]["statistic"] == pytest.approx(expected.statistic)
    assert results["statistics"][0]["pValue"] == pytest.approx(expected.pvalue, rel=1e-6)


@pytest.mark.parametrize("method", ["pearson", "spearman", "kendall"])
def test_correlation_of_two_columns_matches_scipy(tmp_path: Path, method: str) -> None:
    csv = "a,b\n" + "".join(f"{x},{y}\n" for x, y in zip(SLEEP_1, SLEEP_2, strict=True))
    results = _run(tmp_path, {"test": "correlation", "x": "a", "y": "b", "method": method}, csv)
    direct = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}[
        method
    ](SLEEP_1, SLEEP_2)
    assert results["statistics"][0]["correlation"] == pytest.approx(direct.statistic, rel=1e-9)
    if method == "pearson":
        assert results["statistics"][0]["pValue"] == pytest.approx(direct.pvalue, rel=1e-9)
    assert set(results["variables"]) == {"a", "b"}


@_needs("compute_chi_square")
def test_chi_square_on_two_categorical_columns_matches_scipy(tmp_path: Path) -> None:
    table = np.array([[12, 5, 9], [7, 14, 6]])
    rows = ["x", "y"]
    cols = ["p", "q", "r"]
    csv = "row,col\n" + "".join(
        f"{rows[i]},{cols[j]}\n" for i in range(2) for j in range(3) for _ in range(table[i, j])
    )
    results = _run(tmp_path, {"test": "chi_square", "x": "row", "y": "col"}, csv)
    expected = stats.chi2_contingency(table)
    assert results["table"]["counts"] == table.tolist()
    assert results["statistics"][0]["statistic"] == pytest.approx(expected.statistic, rel=1e-9)


def test_rows_with_missing_values_are_dropped_and_counted(tmp_path: Path) -> None:
    csv = SLEEP_CSV + ",1,11\n"
    results = _run(tmp_path, {"test": "ttest", "value": "extra", "group": "group"}, csv)
    assert results["droppedRows"] == 1
    _close_to_printed(results["statistics"][0]["statistic"], "-1.8608")


def test_first_input_is_used_when_none_is_called_dataset(tmp_path: Path) -> None:
    results = _run(
        tmp_path, {"test": "ttest", "value": "extra", "group": "group"}, SLEEP_CSV, name="sleep"
    )
    assert results["input"] == "sleep"


def test_three_groups_for_a_two_group_test_fail_with_a_clear_data_error(tmp_path: Path) -> None:
    code = CodeGenerator().generate(
        "statistical_test", {"test": "ttest", "value": "weight", "group": "group"}
    )
    envelope = run_program(code, tmp_path, inputs={"dataset": ("csv", PLANT_GROWTH_CSV)})
    assert not envelope["success"]
    assert "exactly two groups in column 'group', found 3: ctrl, trt1, trt2" in envelope["error"]
    assert envelope["errorKind"] == "data"


def test_non_numeric_value_column_names_the_column(tmp_path: Path) -> None:
    code = CodeGenerator().generate(
        "statistical_test", {"test": "anova", "value": "group", "group": "weight"}
    )
    envelope = run_program(code, tmp_path, inputs={"dataset": ("csv", PLANT_GROWTH_CSV)})
    assert not envelope["success"]
    assert "'group' is not numeric" in envelope["error"]


def test_a_json_input_of_records_is_read_as_a_table(tmp_path: Path) -> None:
    records = [{"extra": v, "group": 1} for v in SLEEP_1] + [
        {"extra": v, "group": 2} for v in SLEEP_2
    ]
    code = CodeGenerator().generate(
        "statistical_test", {"test": "ttest", "value": "extra", "group": "group"}
    )
    envelope = run_program(code, tmp_path, inputs={"dataset": ("json", json.dumps(records))})
    assert envelope["success"], envelope["error"]
    _close_to_printed(envelope["results"]["statistics"][0]["statistic"], "-1.8608")


def test_constant_data_fails_with_the_statistics_error_not_a_confident_p_value(
    tmp_path: Path,
) -> None:
    csv = "v,g\n" + "".join(f"1.5,{g}\n" for g in "aaaabbbb")
    code = CodeGenerator().generate(
        "statistical_test", {"test": "ttest", "value": "v", "group": "g"}
    )
    envelope = run_program(code, tmp_path, inputs={"dataset": ("csv", csv)})
    assert not envelope["success"]
    assert envelope["errorKind"] == "data"
    assert envelope["error"] == (
        "ConstantInputError: the data are essentially constant (standard error 0)"
    )
