"""`kosmos run` end to end, as a user runs it: real manifests, real sandbox, R's published values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.sandbox


def kosmos(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kosmos.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=240, check=False,
    )


def printed_digits_match(value: float, printed: str) -> bool:
    """R rounds what it prints: the value must round to the printed text (half a unit)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(value - float(printed)) <= 0.5 * 10 ** (-decimals) + 1e-15


def run_example(repo: Path, name: str) -> tuple[int, dict[str, Any], str]:
    done = kosmos("run", f"examples/{name}", "-o", "json", cwd=repo)
    return done.returncode, json.loads(done.stdout) if done.stdout else {}, done.stderr


def test_sleep_example_succeeds_with_r_welch_t_to_the_printed_digits(repo: Path, reference_dir: Path) -> None:
    reference = json.loads((reference_dir / "r_cases" / "01_sleep_welch_t.json").read_text())
    code, experiment, stderr = run_example(repo, "sleep-welch-t.yaml")
    assert code == 0, stderr
    status = experiment["status"]
    assert status["phase"] == "Succeeded"
    assert status["execution"]["success"] is True
    (stat,) = status["statistics"]
    assert stat["test"] == "welch_t"
    printed = reference["expected_text"]
    assert printed_digits_match(stat["statistic"], printed["t"])
    assert printed_digits_match(stat["df"], printed["df"])
    assert printed_digits_match(stat["pValue"], printed["p_value"])
    assert stat["n"] == [10, 10]
    assert status["analysis"]["significant"] is False
    assert status["analysis"]["alpha"] == 0.05
    assert status["codeHash"].startswith("sha256:")
    ready = {c["type"]: c["status"] for c in status["conditions"]}
    assert ready["Ready"] == "True"
    assert experiment["spec"]["parameters"]["test"] == "ttest"


def test_plantgrowth_example_succeeds_with_r_anova_to_the_printed_digits(repo: Path, reference_dir: Path) -> None:
    reference = json.loads((reference_dir / "r_cases" / "07_plantgrowth_oneway_anova.json").read_text())
    code, experiment, stderr = run_example(repo, "plantgrowth-anova.yaml")
    assert code == 0, stderr
    (stat,) = experiment["status"]["statistics"]
    printed = reference["expected_text"]
    assert stat["test"] == "one_way_anova"
    assert printed_digits_match(stat["statistic"], printed["F"])
    assert printed_digits_match(stat["pValue"], printed["p_value"])
    assert printed_digits_match(stat["ssBetween"], printed["ss_between"])
    assert printed_digits_match(stat["ssWithin"], printed["ss_within"])
    assert stat["df"] == [2, 27]
    assert experiment["status"]["analysis"]["significant"] is True


def test_tuna_correlation_matches_r_cor_test_greater(repo: Path) -> None:
    # R: cor.test(x, y, alternative = "greater"): t = 1.8411, df = 7, p-value = 0.05409,
    # 95 percent CI -0.02223023 1.00000000, cor 0.5711816 (Hollander & Wolfe 1973 tuna data).
    code, experiment, stderr = run_example(repo, "tuna-correlation.yaml")
    assert code == 0, stderr
    (stat,) = experiment["status"]["statistics"]
    assert stat["test"] == "pearson"
    assert printed_digits_match(stat["correlation"] if "correlation" in stat else stat["effectSize"]["value"], "0.5711816")
    assert printed_digits_match(stat["pValue"], "0.05409")
    assert printed_digits_match(stat["effectSize"]["ciLow"], "-0.02223023")
    assert stat["effectSize"]["ciHigh"] == 1.0


def test_broken_field_exits_2_and_names_the_field(repo: Path, tmp_path: Path) -> None:
    manifest = yaml.safe_load((repo / "examples" / "sleep-welch-t.yaml").read_text())
    manifest["spec"]["resources"]["timeoutSeconds"] = -1
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(manifest))
    done = kosmos("run", str(path), cwd=repo)
    assert done.returncode == 2
    assert "spec.resources.timeoutSeconds" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"test": "t_test"}, "spec.parameters.test"),
        ({"value": "extraa"}, "spec.parameters.value"),
    ],
)
def test_bad_parameters_exit_2_and_name_the_field(repo: Path, tmp_path: Path, change: dict[str, str], field: str) -> None:
    manifest = yaml.safe_load((repo / "examples" / "sleep-welch-t.yaml").read_text())
    manifest["spec"]["parameters"].update(change)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(manifest))
    done = kosmos("run", str(path), cwd=repo)
    assert done.returncode == 2, done.stdout
    assert field in done.stderr
    assert next(iter(change.values())) in done.stderr


def test_unknown_type_exits_2_and_names_spec_type(repo: Path, tmp_path: Path) -> None:
    manifest = yaml.safe_load((repo / "examples" / "sleep-welch-t.yaml").read_text())
    manifest["spec"]["type"] = "statistical_tst"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(manifest))
    done = kosmos("run", str(path), cwd=repo)
    assert done.returncode == 2
    assert "spec.type" in done.stderr and "statistical_tst" in done.stderr


def test_program_that_raises_exits_1_with_runtime_error_and_last_traceback_line(repo: Path, tmp_path: Path) -> None:
    manifest = {
        "apiVersion": "kosmos.dev/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "raises"},
        "spec": {
            "code": "import math\nvalues = [1, 2, 3]\nresults = {'n': len(values)}\nraise ZeroDivisionError('no sleep data at ' + str(math.pi)[:4])\n",
            "resources": {"timeoutSeconds": 30},
        },
    }
    path = tmp_path / "raises.yaml"
    path.write_text(yaml.safe_dump(manifest))
    done = kosmos("run", str(path), cwd=repo)
    assert done.returncode == 1, done.stderr
    experiment = yaml.safe_load(done.stdout)
    status = experiment["status"]
    assert status["phase"] == "Failed"
    assert status["execution"]["errorKind"] == "runtime"
    assert status["execution"]["error"] == "ZeroDivisionError: no sleep data at 3.14"
    assert "line 4" in status["execution"]["traceback"]
    failed = {c["type"]: c for c in status["conditions"]}
    assert failed["Failed"]["status"] == "True"
    assert failed["Failed"]["reason"] == "ProgramFailed"
    assert failed["Ready"]["status"] == "False"


def test_validation_failure_is_reported_in_status_without_running(repo: Path, tmp_path: Path) -> None:
    manifest = {
        "apiVersion": "kosmos.dev/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "escape"},
        "spec": {"code": "import subprocess\nsubprocess.run(['id'])\nresults = {}\n"},
    }
    path = tmp_path / "escape.yaml"
    path.write_text(yaml.safe_dump(manifest))
    done = kosmos("run", str(path), cwd=repo)
    assert done.returncode == 1
    status = yaml.safe_load(done.stdout)["status"]
    assert status["phase"] == "Failed"
    assert status["execution"]["errorKind"] == "validation"
    assert "subprocess" in status["execution"]["error"]
    assert "exitCode" not in status["execution"]


def test_sigterm_stops_the_sandbox_and_removes_the_job_directory(repo: Path, tmp_path: Path) -> None:
    """`timeout` or a CI runner sends SIGTERM: nothing of the run (files, processes) may stay."""
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415
    import tempfile  # noqa: PLC0415
    import time  # noqa: PLC0415

    manifest = tmp_path / "sleepy.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "kosmos.dev/v1alpha1", "kind": "Experiment", "metadata": {"name": "sleepy"},
        "spec": {"code": "import time\ntime.sleep(120)\nresults = {}\n",
                 "inputs": [{"name": "dataset", "format": "csv", "inline": "a\n1\n"}]},
    }), encoding="utf-8")
    scratch = tmp_path / "scratch"  # inside pytest's 0700 tmp: runs fall back to /tmp as root
    scratch.mkdir()
    if os.geteuid() == 0:
        scratch = Path(tempfile.mkdtemp(prefix="kosmos-sigterm-", dir="/tmp"))  # noqa: S108
        scratch.chmod(0o755)
    process = subprocess.Popen([sys.executable, "-m", "kosmos.cli", "run", str(manifest)], cwd=repo,
                               env={**os.environ, "TMPDIR": str(scratch)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(scratch.glob("kosmos-job-*")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.05)
    time.sleep(1.0)  # let the sandbox start the program
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert "interrupted by SIGTERM" in err
    assert out == ""
    assert list(scratch.glob("kosmos-job-*")) == []
    leftovers = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(scratch) in (proc / "cmdline").read_text(errors="replace"):
                    leftovers.append(proc.name)
            except OSError:
                continue
    assert leftovers == []
    if os.geteuid() == 0:
        scratch.rmdir()  # empty: the run removed its job and mountpoint directories


def test_an_unsandboxed_run_says_so_in_its_status(repo: Path) -> None:
    done = kosmos("run", "--unsafe-no-sandbox", "examples/sleep-welch-t.yaml", "-o", "json", cwd=repo)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)["status"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["message"].startswith("UNSAFE: the program ran WITHOUT a sandbox")
    assert status["execution"]["measurement"]["isolation"].startswith("NONE")
    assert "WITHOUT" in done.stderr


def test_a_checkout_inside_a_private_folder_still_runs_sandboxed(repo: Path, tmp_path: Path) -> None:
    """CI may clone into a 0700 folder: the package tree is staged like root's interpreter."""
    import os  # noqa: PLC0415
    import shutil  # noqa: PLC0415

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    shutil.copytree(repo / "operator" / "kosmos", private / "kosmos",
                    ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "kosmos.cli", "run", "examples/sleep-welch-t.yaml", "-o", "json"],
        cwd=repo, env={**os.environ, "PYTHONPATH": str(private)}, capture_output=True, text=True,
        timeout=240, check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    status = json.loads(done.stdout)["status"]
    assert status["phase"] == "Succeeded"
    assert status["statistics"][0]["pValue"] == pytest.approx(0.07939414018735816, rel=1e-12)
