"""The in-sandbox runner: results capped key by key, bad data reported as errorKind data.

``cap_results`` is tested directly; the envelope through the real runner (``run_program``);
what a user sees through ``kosmos run`` in the local sandbox (marked ``sandbox``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kosmos.execution.code_generator import CodeGenerator
from kosmos.execution.runner import DROPPED_KEYS, cap_results
from kosmos.testing.programs import run_program

MiB = 1 << 20
STATISTICS = [{"test": "mine", "statistic": 2.2, "pValue": 0.03, "n": 40}]
BLOB = list(range(300000))
BLOB_BYTES = len(json.dumps(BLOB))  # 2288890
CONSTANT_CSV = "v,g\n" + "".join(f"1.5,{g}\n" for g in "aaaabbbb")
CONSTANT_ERROR = "ConstantInputError: the data are essentially constant (standard error 0)"
BIG_RESULTS_PROGRAM = (
    f"results = {{'statistics': {STATISTICS!r}, 'alpha': 0.01, 'blob': list(range(300000))}}\n"
)
TTEST = {"test": "ttest", "value": "v", "group": "g"}


# --- cap_results ---------------------------------------------------------------------------


def test_results_under_the_cap_are_returned_unchanged() -> None:
    results = {"alpha": 0.01, "blob": [1, 2, 3]}
    assert cap_results(results, 1000) == (results, False)


def test_the_largest_value_is_dropped_and_recorded_while_alpha_and_statistics_stay() -> None:
    results = {"statistics": STATISTICS, "alpha": 0.01, "blob": BLOB}
    capped, truncated = cap_results(results, MiB)
    assert truncated is True
    assert capped == {"statistics": STATISTICS, "alpha": 0.01, DROPPED_KEYS: {"blob": BLOB_BYTES}}
    assert DROPPED_KEYS == "droppedKeys"


def test_small_keys_survive_when_there_is_no_statistics_key() -> None:
    capped, truncated = cap_results({"pValue": 0.01, "important": 42, "blob": BLOB}, MiB)
    assert truncated is True
    assert capped == {"pValue": 0.01, "important": 42, "droppedKeys": {"blob": BLOB_BYTES}}


def test_values_go_largest_first_until_the_rest_fits() -> None:
    results = {"a": "x" * 600, "b": "y" * 500, "c": "z" * 100, "pValue": 0.2}
    capped, _ = cap_results(results, 700)
    assert capped == {"b": "y" * 500, "c": "z" * 100, "pValue": 0.2, "droppedKeys": {"a": 602}}
    assert len(json.dumps(capped)) <= 700


def test_statistics_is_dropped_only_after_every_other_large_value() -> None:
    statistics = [{"test": "t", "pValue": 0.5, "note": "s" * 700}]
    results = {"statistics": statistics, "alpha": 0.01, "table": "t" * 500}
    capped, _ = cap_results(results, 900)
    assert capped == {"statistics": statistics, "alpha": 0.01, "droppedKeys": {"table": 502}}
    capped, _ = cap_results(results, 300)
    assert capped == {"alpha": 0.01, "droppedKeys": {"table": 502, "statistics": 742}}


def test_capping_again_merges_into_the_earlier_record() -> None:
    first, _ = cap_results({"x": "a" * 1000, "y": "b" * 500, "alpha": 0.01}, 800)
    assert first == {"y": "b" * 500, "alpha": 0.01, "droppedKeys": {"x": 1002}}
    second, truncated = cap_results(first, 100)
    assert truncated is True
    assert second == {"alpha": 0.01, "droppedKeys": {"x": 1002, "y": 502}}


def test_a_user_value_named_like_the_record_is_itself_recorded_as_dropped() -> None:
    capped, _ = cap_results({"droppedKeys": "mine", "alpha": 0.01, "blob": "b" * 500}, 200)
    assert capped == {"alpha": 0.01, "droppedKeys": {"droppedKeys": 6, "blob": 502}}


def test_a_record_too_long_to_fit_names_the_largest_keys_and_counts_all() -> None:
    results = {f"key{i:05d}": i for i in range(20000)}
    capped, truncated = cap_results(results, 2048)
    assert truncated is True
    assert list(capped) == ["droppedKeys"]
    record = capped["droppedKeys"]
    assert record["(20000 keys in all)"] == sum(len(str(i)) for i in range(20000))
    assert record["key10000"] == 5  # the largest values (five digits) are named first
    assert len(json.dumps(capped)) <= 2048


# --- the envelope, through the real runner --------------------------------------------------


def test_runner_envelope_keeps_alpha_and_statistics_and_records_the_blob(tmp_path: Path) -> None:
    code = BIG_RESULTS_PROGRAM
    envelope = run_program(code, tmp_path)
    assert envelope["success"] is True
    assert envelope["resultsTruncated"] is True
    assert envelope["results"] == {
        "statistics": STATISTICS,
        "alpha": 0.01,
        "droppedKeys": {"blob": BLOB_BYTES},
    }


def test_constant_data_in_the_template_is_a_data_error_named_by_class(tmp_path: Path) -> None:
    code = CodeGenerator().generate("statistical_test", TTEST)
    envelope = run_program(code, tmp_path, inputs={"dataset": ("csv", CONSTANT_CSV)})
    assert envelope["success"] is False
    assert envelope["errorKind"] == "data"
    assert envelope["error"] == CONSTANT_ERROR
    traceback = envelope["traceback"]
    assert traceback.startswith("Traceback (most recent call last):\n  File \"program.py\"")
    assert traceback.endswith(
        "kosmos.execution.stats._validation.ConstantInputError: "
        "the data are essentially constant (standard error 0)\n"
    )


def test_a_header_only_csv_is_a_data_error_naming_the_input(tmp_path: Path) -> None:
    code = CodeGenerator().generate("statistical_test", TTEST)
    envelope = run_program(code, tmp_path, inputs={"measurements": ("csv", "v,g\n")})
    assert envelope["success"] is False
    assert envelope["errorKind"] == "data"
    assert envelope["error"] == "input 'measurements' (csv) has no data rows, only a header (v, g)"


def test_an_empty_csv_is_a_data_error_naming_the_input(tmp_path: Path) -> None:
    envelope = run_program("results = {}\n", tmp_path, inputs={"dataset": ("csv", "")})
    assert envelope["errorKind"] == "data"
    assert envelope["error"] == "input 'dataset' (csv) is empty: it has no header and no data rows"


def test_a_statistics_error_from_user_code_is_data_without_the_module_path(tmp_path: Path) -> None:
    code = (
        "from kosmos.execution.stats._validation import InsufficientDataError\n"
        "raise InsufficientDataError('need at least 2 observations, got 1')\n"
    )
    envelope = run_program(code, tmp_path)
    assert envelope["errorKind"] == "data"
    assert envelope["error"] == "InsufficientDataError: need at least 2 observations, got 1"
    assert 'File "program.py", line 2, in <module>' in envelope["traceback"]


def test_an_error_class_with_kind_data_is_data_with_an_unquoted_message(tmp_path: Path) -> None:
    code = (
        "class MissingColumn(KeyError):\n"
        "    kind = 'data'\n"
        "raise MissingColumn(\"column 'dose' not found; columns: a, b\")\n"
    )
    envelope = run_program(code, tmp_path)
    assert envelope["errorKind"] == "data"
    assert envelope["error"] == "MissingColumn: column 'dose' not found; columns: a, b"


def test_other_exceptions_stay_runtime_with_the_python_last_line(tmp_path: Path) -> None:
    envelope = run_program("raise ValueError('bad value')\n", tmp_path)
    assert envelope["errorKind"] == "runtime"
    assert envelope["error"] == "ValueError: bad value"


FORKED_CHILD_RETURNS = """
import os
r, w = os.pipe()
if os.fork() == 0:
    os.close(w)
    os.read(r, 1)  # EOF once the runner's own process has written its envelope and exited
    results = {"who": "child"}  # and now the child, too, returns into the runner
else:
    results = {"who": "parent"}
"""


def test_a_child_the_program_forked_does_not_overwrite_the_runners_envelope(tmp_path: Path) -> None:
    envelope = run_program(FORKED_CHILD_RETURNS, tmp_path)  # returns once the child closed stdout too
    assert envelope["results"] == {"who": "parent"}
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("result")) == ["result.json"]


# --- what the user sees: `kosmos run` in the local sandbox ----------------------------------


@pytest.fixture(scope="module")
def sandbox_available() -> None:
    from kosmos.execution.sandbox import LocalSandbox, SandboxUnavailableError  # noqa: PLC0415

    try:
        LocalSandbox()
    except SandboxUnavailableError as exc:
        pytest.skip(f"no bubblewrap sandbox on this machine: {exc}")


def _kosmos_run(tmp_path: Path, spec: dict[str, Any]) -> dict[str, Any]:
    manifest = {"apiVersion": "kosmos.dev/v1alpha1", "kind": "Experiment",
                "metadata": {"name": "runner-test"}, "spec": spec}
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "kosmos.cli", "run", str(path), "-o", "json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.stdout, done.stderr[-2000:]
    status: dict[str, Any] = json.loads(done.stdout)["status"]
    return status


@pytest.mark.sandbox
@pytest.mark.usefixtures("sandbox_available")
def test_kosmos_run_keeps_alpha_in_truncated_results_so_the_verdict_holds(tmp_path: Path) -> None:
    code = BIG_RESULTS_PROGRAM
    status = _kosmos_run(tmp_path, {"code": code})
    assert status["phase"] == "Succeeded"
    assert status["resultsTruncated"] is True
    assert status["results"] == {
        "statistics": STATISTICS,
        "alpha": 0.01,
        "droppedKeys": {"blob": BLOB_BYTES},
    }
    assert status["analysis"]["alpha"] == 0.01
    assert status["analysis"]["significant"] is False


@pytest.mark.sandbox
@pytest.mark.usefixtures("sandbox_available")
def test_kosmos_run_reports_constant_data_as_a_data_error(tmp_path: Path) -> None:
    spec = {
        "type": "statistical_test",
        "parameters": {"test": "ttest", "value": "v", "group": "g"},
        "inputs": [{"name": "dataset", "format": "csv", "inline": CONSTANT_CSV}],
    }
    status = _kosmos_run(tmp_path, spec)
    assert status["phase"] == "Failed"
    execution = status["execution"]
    assert execution["errorKind"] == "data"
    assert execution["error"].startswith("ConstantInputError: ")
    assert execution["error"] == CONSTANT_ERROR
    assert execution["traceback"].endswith(f"kosmos.execution.stats._validation.{CONSTANT_ERROR}\n")


def test_a_huge_exception_message_is_clipped_in_the_envelope(tmp_path: Path) -> None:
    envelope = run_program("raise ValueError('x' * 900_000)\n", tmp_path)
    assert envelope["errorKind"] == "runtime"
    assert envelope["error"] == "ValueError: " + "x" * (4096 - 12) + f"... ({900_012 - 4096} more characters)"
    assert len(envelope["traceback"]) <= 65536 + 40
