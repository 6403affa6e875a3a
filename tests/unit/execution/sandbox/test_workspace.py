"""Reading results and artifacts: no symlinks followed, regular files only, size caps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kosmos.execution.sandbox.base import InputFile
from kosmos.execution.sandbox.workspace import (
    RESULT_NAME,
    envelope_problem,
    is_full,
    make_job_dir,
    read_artifacts,
    read_envelope,
    remove_job_dir,
)

ENVELOPE = {"kosmosEnvelope": 1, "success": True, "results": {"a": 1}, "artifacts": []}


@pytest.fixture
def ws(tmp_path: Path):
    (tmp_path / "workspace" / "artifacts").mkdir(parents=True)
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    yield tmp_path
    os.close(fd)


def _fd(path: Path) -> int:
    return os.open(path, os.O_PATH | os.O_DIRECTORY)


def test_envelope_is_read_from_a_regular_file(ws: Path) -> None:
    (ws / "workspace" / RESULT_NAME).write_text(json.dumps(ENVELOPE))
    assert read_envelope(_fd(ws), 1 << 20) == ENVELOPE


def test_symlinked_envelope_is_ignored(ws: Path, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("outside") / "forged.json"
    outside.write_text(json.dumps(ENVELOPE))
    (ws / "workspace" / RESULT_NAME).symlink_to(outside)
    assert read_envelope(_fd(ws), 1 << 20) is None


def test_symlinked_workspace_directory_is_not_followed(tmp_path: Path, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / RESULT_NAME).write_text(json.dumps(ENVELOPE))
    (tmp_path / "workspace").symlink_to(outside)
    assert read_envelope(_fd(tmp_path), 1 << 20) is None


@pytest.mark.parametrize("text", ["not json", "[]", json.dumps({"success": True}), "", "[" * 200_000])
def test_malformed_envelope_is_none(ws: Path, text: str) -> None:
    (ws / "workspace" / RESULT_NAME).write_text(text)
    assert read_envelope(_fd(ws), 1 << 20) is None


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(("change", "problem"), [
    ({"traceback": {"x": 1}}, "field 'traceback' is dict, expected str or null"),
    ({"success": "yes"}, "field 'success' is str, expected bool"),
    ({"results": [1]}, "field 'results' is list, expected dict or null"),
    ({"artifacts": "a.png"}, "field 'artifacts' is str, expected list"),
    ({"results": {"a": _nested(64)}}, "its results nest deeper than 64 levels"),
    ({"artifacts": ["a", 1]}, "field 'artifacts' holds a name that is not a string"),
    ({"timings": {"runSeconds": "1"}}, "field 'timings' holds a value that is not a number"),
])
def test_an_envelope_with_a_wrong_field_is_refused_naming_it(change: dict, problem: str) -> None:
    assert envelope_problem({**ENVELOPE, **change}) == problem


def test_a_well_formed_envelope_has_no_problem() -> None:
    assert envelope_problem({**ENVELOPE, "results": {"a": _nested(63)}, "error": None}) is None
    without = dict(ENVELOPE)
    del without["success"]
    assert envelope_problem(without) == "field 'success' is missing"


@pytest.mark.parametrize("name", ["a\x00b", "\ud800", "../x", "", "."])
def test_artifact_names_that_are_not_plain_file_names_are_skipped(ws: Path, name: str) -> None:
    (ws / "workspace" / "artifacts" / "ok.txt").write_text("ok")
    files, skipped = read_artifacts(_fd(ws), ["ok.txt", name], max_total_bytes=1 << 20)
    assert files == {"ok.txt": b"ok"}
    assert skipped == [name]


def test_oversized_envelope_is_none(ws: Path) -> None:
    (ws / "workspace" / RESULT_NAME).write_text(json.dumps({**ENVELOPE, "pad": "x" * 5000}))
    assert read_envelope(_fd(ws), 1000) is None


def test_artifacts_skip_symlinks_fifos_traversal_and_oversize(ws: Path, tmp_path_factory) -> None:
    art = ws / "workspace" / "artifacts"
    (art / "plot.png").write_bytes(b"png")
    (art / "big.bin").write_bytes(b"x" * 100)
    secret = tmp_path_factory.mktemp("outside") / "secret"
    secret.write_text("secret")
    (art / "link").symlink_to(secret)
    os.mkfifo(art / "fifo")
    names = ["plot.png", "link", "fifo", "../" + RESULT_NAME, "big.bin", 7]
    files, skipped = read_artifacts(_fd(ws), names, max_total_bytes=50)
    assert files == {"plot.png": b"png"}
    assert skipped == ["link", "fifo", "../" + RESULT_NAME, "big.bin", "7"]


def test_job_directory_holds_program_inputs_and_job(tmp_path: Path) -> None:
    path = make_job_dir("print(1)", [InputFile("d", "csv", "a\n1\n")], {"p": 1}, sys_path=["/opt/x"],
                        max_results_bytes=10, root=str(tmp_path))
    job = json.loads(Path(path, "job.json").read_text())
    assert job["inputs"] == [{"name": "d", "format": "csv", "path": "inputs/0.csv"}]
    assert job["parameters"] == {"p": 1} and job["sys_path"] == ["/opt/x"]
    assert Path(path, "program.py").read_text() == "print(1)"
    remove_job_dir(path)
    assert not Path(path).exists()


def test_job_directory_is_private_to_the_run_uid(tmp_path: Path) -> None:
    owner = (os.getuid(), os.getgid()) if os.geteuid() != 0 else (1_500_000_123, 1_500_000_123)
    path = make_job_dir("secret = 1", [InputFile("d", "csv", "name\nalice\n")], {}, sys_path=[],
                        max_results_bytes=10, root=str(tmp_path), owner=owner)
    modes = {str(p.relative_to(path)): (p.stat().st_mode & 0o777, p.stat().st_uid)
             for p in [Path(path), *Path(path).rglob("*")]}
    assert modes == {
        ".": (0o700, owner[0]),
        "inputs": (0o700, owner[0]),
        "inputs/0.csv": (0o600, owner[0]),
        "program.py": (0o600, owner[0]),
        "job.json": (0o600, owner[0]),
    }
    remove_job_dir(path)


def test_unknown_input_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format must be csv or json"):
        make_job_dir("", [InputFile("d", "xml", "")], {}, sys_path=[], max_results_bytes=1, root=str(tmp_path))


def test_a_disk_with_room_is_not_full(tmp_path: Path) -> None:
    assert not is_full(_fd(tmp_path))
    assert not is_full(None)
