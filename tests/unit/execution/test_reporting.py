"""status_for: what a program reported becomes status without ever losing the run.

Malformed statistics are left out with a warning that names them; an optimizer that did not
converge fails the run with its results kept; results the data_analysis template already
adjusted keep that adjustment in the analysis. The template cases run the real generated
program (runner, no sandbox) on Fisher's iris data, versicolor against virginica.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from kosmos.execution.code_generator import CodeGenerator
from kosmos.execution.reporting import status_for
from kosmos.execution.result import ExecutionResult
from kosmos.testing import failed_optimizer_report
from kosmos.testing.programs import run_program

REPO = Path(__file__).resolve().parents[3]
IRIS_VARIABLES = ["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"]


def _status(results: Any, **kwargs: Any) -> dict[str, Any]:
    result = ExecutionResult(success=True, output=results, exit_code=0)
    return status_for(
        result, code_hash=None, generation=1, start_time="2026-01-01T00:00:00Z", **kwargs
    ).to_dict()


def _left_out(index: int, problem: str) -> str:
    return f"statistics[{index}] was left out of status.statistics: {problem}."


@pytest.mark.parametrize(
    ("statistics", "warning"),
    [
        (
            "nope",
            "results.statistics was left out of status.statistics: expected a list of "
            "objects with 'test', got 'nope' (str).",
        ),
        (
            [{"test": "mine", "pValue": "small"}],
            _left_out(0, "pValue: expected a number, got 'small' (str)"),
        ),
        ([{"pValue": 0.01}], _left_out(0, "test: missing (expected a string)")),
        ([3], _left_out(0, "expected an object with 'test', got 3 (int)")),
        (
            [{"test": "mine", "pValue": 1.5}],
            _left_out(0, "pValue: expected a number in [0, 1], got 1.5 (float)"),
        ),
        (
            [{"test": "mine", "effectSize": {"value": "big"}}],
            _left_out(
                0,
                "effectSize.name: missing (expected a string); "
                "effectSize.value: expected a number, got 'big' (str)",
            ),
        ),
        (
            [{"test": "mine", "df": "many", "n": [3, "x"]}],
            _left_out(
                0,
                "df: expected a number or a list of numbers, got 'many' (str); "
                "n: expected a list of integers or an integer, got [3, 'x'] (list)",
            ),
        ),
    ],
)
def test_malformed_statistics_are_left_out_with_a_warning_naming_entry_field_and_type(
    statistics: Any, warning: str
) -> None:
    results = {"statistics": statistics, "note": "kept"}
    status = _status(results)
    assert status["phase"] == "Succeeded"
    assert status["execution"]["success"] is True
    assert status["results"] == results
    assert status["statistics"] == []
    assert status["analysis"]["warnings"] == [warning]
    assert status["analysis"]["interpretation"] == (
        "None of the reported statistics could be read (see the warnings), so nothing was analysed."
    )
    assert "significant" not in status["analysis"]  # no test left, so no decision


def test_well_formed_statistics_beside_malformed_ones_are_kept_and_analysed_alone() -> None:
    good = {"test": "welch_t", "statistic": -1.86, "df": 17.78, "pValue": 0.0794, "n": [10, 10]}
    results = {"statistics": [{"test": "mine", "pValue": "small"}, good, {"pValue": 0.01}]}
    status = _status(results)
    assert status["phase"] == "Succeeded"
    assert status["statistics"] == [good]
    analysis = status["analysis"]
    assert analysis["pValue"] == 0.0794
    assert "adjustmentMethod" not in analysis  # one test left: nothing to adjust
    assert analysis["warnings"][:2] == [
        _left_out(0, "pValue: expected a number, got 'small' (str)"),
        _left_out(2, "test: missing (expected a string)"),
    ]
    assert analysis["interpretation"].startswith("Welch's two-sample t-test: t(17.78) = -1.86,")


def test_an_alpha_the_program_reported_that_is_not_a_level_is_warned_and_replaced() -> None:
    status = _status({"alpha": "five percent", "statistics": [{"test": "t", "pValue": 0.04}]})
    assert status["analysis"]["alpha"] == 0.05
    assert status["analysis"]["significant"] is True
    assert status["analysis"]["warnings"] == [
        "results.alpha = 'five percent' is not a number between 0 and 1; alpha = 0.05 was used."
    ]


FAILED_OPTIMIZATION = failed_optimizer_report()  # the template's report for 9**9**9**9 + x


def test_an_optimizer_that_did_not_converge_fails_the_run_as_runtime_and_keeps_its_results() -> (
    None
):
    status = _status(FAILED_OPTIMIZATION)
    assert status["phase"] == "Failed"
    assert status["execution"]["success"] is False
    assert status["execution"]["exitCode"] == 0
    assert status["execution"]["errorKind"] == "runtime"
    assert status["execution"]["error"] == 'the optimizer did not converge: "ABNORMAL:" (L-BFGS-B)'
    assert status["results"] == FAILED_OPTIMIZATION
    failed = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert failed["Failed"] == ("True", "ProgramFailed")
    assert failed["Ready"] == ("False", "ProgramFailed")
    analysis = status["analysis"]
    assert analysis["warnings"] == [
        'The optimizer did not converge: "ABNORMAL:" (L-BFGS-B, 0 iterations, 42 evaluations); '
        "the point it reports is where it stopped, not a minimum."
    ]
    assert analysis["interpretation"] == (
        "No minimum was found: the optimizer (L-BFGS-B) stopped without converging at x = 0.5, "
        "where the objective is not a finite number."
    )
    assert "converged to" not in analysis["interpretation"]


def test_a_converged_optimizer_succeeds_and_names_its_optimum_and_the_bounds_it_hit() -> None:
    results = FAILED_OPTIMIZATION | {
        "success": True,
        "message": "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL",
        "optimum": {"x": 2.0, "y": 1.0},
        "objectiveValue": 1.0,
        "atBound": ["y"],
        "goal": "maximize",
    }
    status = _status(results)
    assert status["phase"] == "Succeeded"
    assert status["analysis"]["interpretation"] == (
        "The optimizer (L-BFGS-B) converged to a local maximum of the objective (1) "
        "at x = 2, y = 1."
    )
    assert status["analysis"]["warnings"] == [
        "The optimum lies on the bound of y: the objective may improve further outside the box "
        "searched; widen the bounds or justify them."
    ]


def _iris_results(tmp_path: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    manifest = yaml.safe_load((REPO / "examples" / "ml_training-iris.yaml").read_text())
    iris = pd.read_csv(io.StringIO(manifest["spec"]["inputs"][0]["inline"]))
    two = iris[iris.Species != "setosa"].to_csv(index=False)
    code = CodeGenerator().generate("data_analysis", parameters)
    envelope = run_program(code, tmp_path, inputs={"dataset": ("csv", two)})
    assert envelope["success"], f"{envelope['error']}\n{envelope['traceback']}"
    return dict(envelope["results"])


def test_differential_expression_keeps_the_templates_bh_adjustment_and_names_variable_and_groups(
    tmp_path: Path,
) -> None:
    results = _iris_results(
        tmp_path,
        {
            "analysis_method": "differential_expression",
            "variables": IRIS_VARIABLES,
            "group": "Species",
        },
    )
    assert results["adjustment"] == "fdr_bh"
    status = _status(results, alpha=0.05)
    analysis = status["analysis"]
    assert analysis["adjustmentMethod"] == "fdr_bh"
    assert analysis["adjustedPValues"] == [row["adjustedPValue"] for row in results["variables"]]
    assert analysis["significant"] is results["variables"][0]["significant"] is True
    text = analysis["interpretation"]
    assert text.startswith("Welch's two-sample t-test of 'Sepal.Length': t(94.03) = 5.629, ")
    assert "(Benjamini-Hochberg-adjusted over 4 tests: 2.49e-07)" in text
    assert "Holm" not in text
    assert text.endswith("the mean of group 'virginica' is higher than that of group 'versicolor'.")
    assert [s["variable"] for s in status["statistics"]] == IRIS_VARIABLES


def test_correlation_matrix_analysis_names_the_pair_of_its_reported_test(tmp_path: Path) -> None:
    results = _iris_results(
        tmp_path, {"analysis_method": "correlation", "variables": IRIS_VARIABLES}
    )
    analysis = _status(results)["analysis"]
    assert analysis["interpretation"].startswith(
        "Pearson correlation test between 'Sepal.Length' and 'Sepal.Width': t(98) = 6.585, "
    )
    assert analysis["adjustmentMethod"] == "holm"  # the template did not adjust: the analysis does
    assert len(analysis["adjustedPValues"]) == 6


def test_keys_left_out_by_the_size_cap_are_named_in_a_warning_and_alpha_still_rules() -> None:
    results = {
        "statistics": [{"test": "mine", "statistic": 2.2, "pValue": 0.03, "n": 40}],
        "alpha": 0.01,
        "droppedKeys": {"blob": 2_288_890},
    }
    result = ExecutionResult(success=True, output=results, exit_code=0, results_truncated=True)
    status = status_for(result, code_hash=None, generation=1, start_time="2026-01-01T00:00:00Z").to_dict()
    assert status["analysis"]["significant"] is False
    assert status["analysis"]["alpha"] == 0.01
    assert status["analysis"]["warnings"][-1] == (
        "The results were over the size cap; these keys were left out: blob (2288890 bytes).")


def test_a_truncation_warning_stands_even_without_statistics() -> None:
    status = _status({"pValue": 0.01, "droppedKeys": {"a": 10, "b": 20}})
    assert status["analysis"]["warnings"] == [
        "The results were over the size cap; these keys were left out: a (10 bytes), b (20 bytes)."]
    assert status["results"]["pValue"] == 0.01
