"""data_analysis, simulation, optimization and ml_training templates beyond their examples.

Each case runs the generated program with the real runner and compares it with a direct
scipy / numpy / scikit-learn call on the same numbers.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from kosmos.api.errors import ManifestError
from kosmos.api.spec import ExperimentSpec
from kosmos.execution.code_generator import CodeGenerator
from kosmos.testing.programs import run_program

RNG = np.random.default_rng(7)
EXPRESSION = pd.DataFrame(
    {
        "condition": ["control"] * 6 + ["treated"] * 6,
        "geneA": np.r_[RNG.normal(10, 1, 6), RNG.normal(14, 1, 6)].round(3),
        "geneB": np.r_[RNG.normal(5, 1, 6), RNG.normal(5.2, 1, 6)].round(3),
        "geneC": np.r_[RNG.normal(8, 0.5, 6), RNG.normal(6, 0.5, 6)].round(3),
    }
)


def _run(
    tmp_path: Path, experiment_type: str, parameters: dict[str, Any], csv: str | None = None
) -> dict[str, Any]:
    code = CodeGenerator().generate(experiment_type, parameters)
    inputs = {"dataset": ("csv", csv)} if csv is not None else {}
    envelope = run_program(code, tmp_path, inputs=inputs)
    assert envelope["success"], f"{envelope['error']}\n{envelope['traceback']}"
    for plot in envelope["results"].get("plots", []):
        assert (tmp_path / "artifacts" / plot).read_bytes().startswith(b"\x89PNG")
    return dict(envelope["results"])


def test_differential_expression_gives_fold_changes_welch_t_and_bh_adjusted_p(
    tmp_path: Path,
) -> None:
    csv = EXPRESSION.to_csv(index=False)
    results = _run(
        tmp_path,
        "data_analysis",
        {
            "data_source": "experiment_data.csv",
            "analysis_method": "differential_expression",
            "variables": ["geneA", "geneB", "geneC"],
            "group": "condition",
        },
        csv,
    )
    assert (results["reference"], results["other"]) == ("control", "treated")
    rows = {row["variable"]: row for row in results["variables"]}
    p_values = []
    for gene in ("geneA", "geneB", "geneC"):
        control = EXPRESSION.loc[EXPRESSION.condition == "control", gene]
        treated = EXPRESSION.loc[EXPRESSION.condition == "treated", gene]
        direct = stats.ttest_ind(treated, control, equal_var=False)
        assert rows[gene]["statistic"] == pytest.approx(direct.statistic, rel=1e-10)
        assert rows[gene]["log2FoldChange"] == pytest.approx(
            math.log2(treated.mean() / control.mean())
        )
        p_values.append(direct.pvalue)
    adjusted = stats.false_discovery_control(p_values, method="bh")
    assert [rows[g]["adjustedPValue"] for g in ("geneA", "geneB", "geneC")] == pytest.approx(
        adjusted, rel=1e-9
    )
    assert rows["geneA"]["significant"] is True
    assert results["plots"] == ["volcano.png"]
    assert results["input"] == "dataset"  # "experiment_data.csv" with one input resolves to it


def test_correlation_analysis_reports_every_pair_and_the_matrix(tmp_path: Path) -> None:
    csv = EXPRESSION.to_csv(index=False)
    results = _run(
        tmp_path,
        "data_analysis",
        {
            "analysis_method": "correlation",
            "variables": ["geneA", "geneB", "geneC"],
            "method": "spearman",
        },
        csv,
    )
    assert len(results["statistics"]) == 3
    direct = stats.spearmanr(EXPRESSION.geneA, EXPRESSION.geneC).statistic
    assert results["matrix"][0][2] == pytest.approx(direct, rel=1e-9)
    assert results["matrix"][2][0] == results["matrix"][0][2]


def test_group_comparison_of_three_groups_is_a_one_way_anova(tmp_path: Path) -> None:
    frame = pd.DataFrame({"g": ["a", "b", "c"] * 8, "y": RNG.normal(0, 1, 24).round(4)})
    results = _run(
        tmp_path,
        "data_analysis",
        {"analysis_method": "group_comparison", "variables": ["y"], "group": "g"},
        frame.to_csv(index=False),
    )
    direct = stats.f_oneway(*(frame.loc[frame.g == level, "y"] for level in "abc"))
    assert results["statistics"][0]["statistic"] == pytest.approx(direct.statistic, rel=1e-9)


def test_multiple_regression_matches_numpy_least_squares(tmp_path: Path) -> None:
    x1, x2 = RNG.normal(0, 1, 40), RNG.normal(0, 1, 40)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "y": 1 + 2 * x1 - 0.5 * x2 + RNG.normal(0, 0.3, 40)})
    results = _run(
        tmp_path,
        "data_analysis",
        {"analysis_method": "regression", "variables": ["y", "x1", "x2"]},
        frame.to_csv(index=False),
    )
    design = np.column_stack([np.ones(40), frame.x1, frame.x2])
    coef, *_ = np.linalg.lstsq(design, frame.y, rcond=None)
    got = [results["coefficients"][k]["estimate"] for k in ("(Intercept)", "x1", "x2")]
    assert got == pytest.approx(coef.tolist(), rel=1e-9)
    assert results["target"] == "y"


def test_optimization_maximises_and_reports_the_bound_it_hit(tmp_path: Path) -> None:
    results = _run(
        tmp_path,
        "optimization",
        {
            "objective": "-(x - 2)**2 + y",
            "variables": {"x": [-5, 5], "y": [0, 1]},
            "goal": "maximize",
        },
    )
    assert results["optimum"]["x"] == pytest.approx(2.0, abs=1e-5)
    assert results["optimum"]["y"] == pytest.approx(1.0)
    assert results["objectiveValue"] == pytest.approx(1.0, abs=1e-8)
    assert results["atBound"] == ["y"]


def test_differential_evolution_is_seeded_and_finds_the_rosenbrock_minimum(tmp_path: Path) -> None:
    parameters = {
        "objective": "(1 - x)**2 + 100 * (y - x**2)**2",
        "variables": {"x": [-2, 2], "y": [-1, 3]},
        "method": "differential_evolution",
        "seed": 3,
    }
    first = _run(tmp_path / "a", "optimization", parameters)
    second = _run(tmp_path / "b", "optimization", parameters)
    assert first["optimum"] == second["optimum"]
    assert first["optimum"]["x"] == pytest.approx(1.0, abs=1e-4)
    direct = optimize.rosen([first["optimum"]["x"], first["optimum"]["y"]])
    assert first["objectiveValue"] == pytest.approx(direct, abs=1e-12)


def test_optimization_objective_naming_a_missing_column_is_refused_by_check_spec() -> None:
    spec = ExperimentSpec.model_validate(
        {
            "type": "optimization",
            "parameters": {
                "objective": "sum((rate - Vm * conk)**2)",
                "variables": {"Vm": [0, 1]},
                "dataSource": "dataset",
            },
            "inputs": [{"name": "dataset", "inline": "conc,rate\n1,2\n"}],
        }
    )
    with pytest.raises(ManifestError) as caught:
        CodeGenerator().check_spec(spec)
    assert caught.value.field == "spec.parameters.objective"
    assert '"conk"' in caught.value.message
    assert "conc, rate" in caught.value.message


def test_ode_with_an_analytic_solution_matches_it(tmp_path: Path) -> None:
    results = _run(
        tmp_path,
        "simulation",
        {
            "method": "ode",
            "equations": {"N": "k * N * (1 - N / K)"},
            "initial": {"N": 10},
            "constants": {"k": 0.5, "K": 1000},
            "t_span": [0, 20],
        },
    )
    logistic = 1000 / (1 + (1000 / 10 - 1) * math.exp(-0.5 * 20))
    assert results["variables"]["N"]["final"] == pytest.approx(logistic, rel=1e-6)


def test_monte_carlo_integral_of_a_known_function_covers_its_value(tmp_path: Path) -> None:
    results = _run(
        tmp_path,
        "simulation",
        {
            "method": "monte_carlo",
            "expression": "exp(-x**2)",
            "variables": {"x": [0, 1]},
            "samples": 200000,
            "seed": 1,
        },
    )
    exact = math.sqrt(math.pi) / 2 * math.erf(1)
    assert results["ciLow"] < exact < results["ciHigh"]


@pytest.mark.parametrize(
    ("parameters", "field_word"),
    [
        ({"method": "ode", "equations": {"x": "-x"}}, "initial"),
        ({"method": "ode", "equations": {"x": "-x * z"}, "initial": {"x": 1}}, "unknown name"),
        (
            {"method": "monte_carlo", "expression": "x", "variables": {"x": [1, 0]}},
            "low must be below high",
        ),
        ({"method": "monte_carlo", "variables": {"x": [0, 1]}}, "expression"),
    ],
)
def test_simulation_parameters_are_checked_before_running(
    parameters: dict[str, Any], field_word: str
) -> None:
    with pytest.raises(ManifestError) as caught:
        CodeGenerator().generate("simulation", parameters)
    assert field_word in caught.value.message


def test_ml_regression_task_matches_a_direct_scikit_learn_cross_validation(tmp_path: Path) -> None:
    from sklearn.linear_model import Ridge  # noqa: PLC0415
    from sklearn.model_selection import KFold, cross_val_score  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    x = RNG.normal(0, 1, (60, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(
        y=x @ [1.5, -2.0, 0.3] + RNG.normal(0, 0.5, 60)
    )
    csv = frame.to_csv(index=False)
    results = _run(
        tmp_path,
        "ml_training",
        {"target": "y", "model": "ridge", "model_params": {"alpha": 0.5}, "seed": 11},
        csv,
    )
    assert results["task"] == "regression"
    data = pd.read_csv(io.StringIO(csv))
    direct = cross_val_score(
        make_pipeline(StandardScaler(), Ridge(alpha=0.5, random_state=11)),
        data[["a", "b", "c"]].to_numpy(),
        data.y.to_numpy(),
        cv=KFold(5, shuffle=True, random_state=11),
        scoring="r2",
    )
    assert results["metrics"]["r2"]["folds"] == pytest.approx(direct.tolist(), rel=1e-10)
    assert results["features"] == ["a", "b", "c"]
