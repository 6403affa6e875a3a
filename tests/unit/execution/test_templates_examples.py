"""The examples of the four non-test templates, run end to end and checked independently.

Each example runs twice: with the real runner directly (fast, no isolation) and through
`kosmos run` in the local sandbox (marked ``sandbox``). The results are compared with values
published for the same data (R's printed output, a textbook) and with a direct library call
written here, not by the template.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import optimize
from scipy.integrate import solve_ivp

from kosmos.api.spec import Experiment
from kosmos.execution.code_generator import CodeGenerator
from kosmos.execution.validator import validate_program
from kosmos.testing.programs import run_program

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
MODES = ["runner", pytest.param("kosmos-run", marks=pytest.mark.sandbox)]


def _manifest(name: str) -> Experiment:
    return Experiment.model_validate(yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8")))


def _inline(name: str) -> pd.DataFrame:
    (item,) = _manifest(name).spec.inputs
    assert item.inline is not None
    return pd.read_csv(io.StringIO(item.inline))


def _results(name: str, mode: str, tmp_path: Path) -> dict[str, Any]:
    """Run an example and return what the program reported, checking the run succeeded."""
    experiment = _manifest(name)
    assert experiment.metadata.annotations.get("kosmos.dev/data-source")
    if mode == "runner":
        generator = CodeGenerator()
        generator.check_spec(experiment.spec)
        program = generator.program_for(experiment.spec)
        validate_program(program.code)
        inputs = {i.name: (str(i.format), i.inline or "") for i in experiment.spec.inputs}
        envelope = run_program(program.code, tmp_path, inputs=inputs)
        assert envelope["success"], f"{envelope['error']}\n{envelope['traceback']}"
        assert envelope["artifacts"] == envelope["results"].get("plots", envelope["artifacts"])
        return dict(envelope["results"])
    done = subprocess.run(
        [sys.executable, "-m", "kosmos.cli", "run", str(EXAMPLES / name), "-o", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    status = json.loads(done.stdout)["status"]
    assert status["phase"] == "Succeeded"
    assert status["execution"]["success"] is True
    assert status["resultsTruncated"] is False
    return dict(status["results"])


def _printed(value: float, text: str) -> None:
    """R rounds what it prints: ``value`` must round to ``text`` (half a unit in the last digit)."""
    mantissa = text.split("e", maxsplit=1)[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    scale = 10 ** int(text.split("e")[1]) if "e" in text else 1
    assert abs(value - float(text)) <= 0.5 * 10**-decimals * scale * (1 + 1e-9), (value, text)


@pytest.mark.parametrize("mode", MODES)
def test_cars_regression_matches_r_summary_lm_and_numpy(mode: str, tmp_path: Path) -> None:
    results = _results("data_analysis-cars.yaml", mode, tmp_path)
    coefficients = results["coefficients"]
    # R: summary(lm(dist ~ speed, data = cars))
    _printed(coefficients["(Intercept)"]["estimate"], "-17.5791")
    _printed(coefficients["(Intercept)"]["standardError"], "6.7584")
    _printed(coefficients["speed"]["estimate"], "3.9324")
    _printed(coefficients["speed"]["standardError"], "0.4155")
    _printed(coefficients["speed"]["t"], "9.464")
    _printed(results["residualStandardError"], "15.38")
    _printed(results["rSquared"], "0.6511")
    _printed(results["adjustedRSquared"], "0.6438")
    (entry,) = results["statistics"]
    _printed(entry["statistic"], "89.57")
    _printed(entry["pValue"], "1.49e-12")
    assert entry["df"] == [1.0, 48.0]
    data = _inline("data_analysis-cars.yaml")
    slope, intercept = np.polyfit(data["speed"], data["dist"], 1)
    assert coefficients["speed"]["estimate"] == pytest.approx(slope, rel=1e-12)
    assert coefficients["(Intercept)"]["estimate"] == pytest.approx(intercept, rel=1e-12)
    assert results["plots"] == ["regression.png"]


@pytest.mark.parametrize("mode", MODES)
def test_puromycin_fit_matches_the_published_nls_estimates_and_curve_fit(
    mode: str, tmp_path: Path
) -> None:
    results = _results("optimization-puromycin.yaml", mode, tmp_path)
    assert results["success"] is True
    optimum = results["optimum"]
    # An Introduction to R, 11.7.1: Vm = 212.68370711, K = 0.06412123, RSS 1195.449
    assert optimum["Vm"] == pytest.approx(212.68370711, rel=1e-5)
    assert optimum["K"] == pytest.approx(0.06412123, rel=1e-5)
    _printed(results["objectiveValue"], "1195.449")
    data = _inline("optimization-puromycin.yaml")
    (vm, k), _ = optimize.curve_fit(
        lambda x, vm, k: vm * x / (k + x), data["conc"], data["rate"], p0=[200, 0.05]
    )
    assert optimum["Vm"] == pytest.approx(vm, rel=1e-5)
    assert optimum["K"] == pytest.approx(k, rel=1e-5)
    assert results["dataColumns"] == ["conc", "rate"]
    assert results["atBound"] == []


@pytest.mark.parametrize("mode", MODES)
def test_boarding_school_sir_conserves_its_invariants_and_matches_solve_ivp(
    mode: str, tmp_path: Path
) -> None:
    results = _results("simulation-boarding-school-influenza.yaml", mode, tmp_path)
    r, a, n = 0.00218, 0.44, 763.0
    final = {name: results["variables"][name]["final"] for name in ("S", "I", "R")}
    assert sum(final.values()) == pytest.approx(n, rel=1e-7)
    # S + I - (a / r) ln S is constant along SIR trajectories (Kermack & McKendrick 1927).
    invariant = lambda s, i: s + i - (a / r) * math.log(s)  # noqa: E731
    assert invariant(final["S"], final["I"]) == pytest.approx(invariant(762.0, 1.0), rel=1e-6)
    # Murray: the epidemic peaks at about 300 boys around day 6 (observed: 298 on day 6).
    peak = results["variables"]["I"]
    assert 280 <= peak["max"] <= 310
    assert 5.5 <= peak["tAtMax"] <= 7.0
    direct = solve_ivp(
        lambda t, y: [-r * y[0] * y[1], r * y[0] * y[1] - a * y[1], a * y[1]],
        (0, 30),
        [762.0, 1.0, 0.0],
        method="DOP853",
        rtol=1e-10,
        atol=1e-10,
        t_eval=np.linspace(0, 30, 301),
    )
    assert final["S"] == pytest.approx(direct.y[0][-1], rel=1e-5)
    assert peak["max"] == pytest.approx(direct.y[1].max(), rel=1e-5)
    trajectory = results["trajectory"]
    assert len(trajectory["t"]) <= 201  # thinned for the status; the plot has every point
    assert trajectory["t"][0] == 0.0
    assert trajectory["t"][-1] == pytest.approx(30.0)
    assert len(trajectory["S"]) == len(trajectory["t"])


@pytest.mark.parametrize("mode", MODES)
def test_monte_carlo_pi_covers_pi_and_equals_a_direct_numpy_draw(mode: str, tmp_path: Path) -> None:
    results = _results("simulation-monte-carlo-pi.yaml", mode, tmp_path)
    assert results["ciLow"] < math.pi < results["ciHigh"]
    assert abs(results["estimate"] - math.pi) < 4 * results["standardError"]
    rng = np.random.default_rng(2024)
    hits = 0
    for _ in range(2):  # the template draws in batches of 10**6, x then y (sorted names)
        x, y = rng.uniform(0, 1, 1_000_000), rng.uniform(0, 1, 1_000_000)
        hits += int(np.count_nonzero(x**2 + y**2 <= 1))
    assert results["estimate"] == pytest.approx(4 * hits / 2_000_000, rel=1e-12)
    assert results["samples"] == 2_000_000


@pytest.mark.parametrize("mode", MODES)
def test_iris_cross_validation_equals_a_direct_scikit_learn_call(mode: str, tmp_path: Path) -> None:
    from sklearn.datasets import load_iris  # noqa: PLC0415 - an independent copy of the data
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.model_selection import StratifiedKFold, cross_val_score  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    results = _results("ml_training-iris.yaml", mode, tmp_path)
    data = _inline("ml_training-iris.yaml")
    reference = load_iris()
    features = ["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"]
    np.testing.assert_allclose(data[features].to_numpy(), reference.data)
    assert data["Species"].tolist() == [reference.target_names[t] for t in reference.target]
    direct = cross_val_score(
        make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000, random_state=42)),
        data[features].to_numpy(),
        data["Species"].to_numpy(),
        cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=42),
        scoring="accuracy",
    )
    accuracy = results["metrics"]["accuracy"]
    assert accuracy["folds"] == pytest.approx(direct.tolist(), abs=1e-12)
    assert accuracy["mean"] == pytest.approx(direct.mean())
    assert accuracy["sd"] == pytest.approx(direct.std(ddof=1))
    assert accuracy["mean"] > 0.9
    assert results["baseline"]["accuracy"]["mean"] == pytest.approx(1 / 3)
    assert results["seed"] == 42
    assert results["cvFolds"] == 5
    assert results["classes"] == ["setosa", "versicolor", "virginica"]


@pytest.mark.parametrize("mode", MODES)
def test_toothgrowth_group_comparison_matches_r_welch_t_and_scipy(
    mode: str, tmp_path: Path
) -> None:
    from scipy import stats  # noqa: PLC0415

    results = _results("data_analysis-toothgrowth.yaml", mode, tmp_path)
    (entry,) = results["statistics"]
    # R: t.test(len ~ supp, data = ToothGrowth): t = 1.9153, df = 55.309, p-value = 0.06063
    _printed(entry["statistic"], "1.9153")
    _printed(entry["df"], "55.309")
    _printed(entry["pValue"], "0.06063")
    assert results["groupOrder"] == ["OJ", "VC"]
    _printed(results["groups"]["len"]["OJ"]["mean"], "20.66333")
    _printed(results["groups"]["len"]["VC"]["mean"], "16.96333")
    data = _inline("data_analysis-toothgrowth.yaml")
    direct = stats.ttest_ind(
        data.loc[data["supp"] == "OJ", "len"],
        data.loc[data["supp"] == "VC", "len"],
        equal_var=False,
    )
    assert entry["statistic"] == pytest.approx(direct.statistic, rel=1e-12)
    assert results["plots"] == ["groups.png"]
