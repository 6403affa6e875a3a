"""Where per-run directories go, so that the sandbox uid can always reach them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from kosmos.execution.sandbox import discovery


def test_a_private_temp_directory_is_not_used_for_runs_as_root(tmp_path: Path, monkeypatch) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    tmp_path.chmod(0o700)
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(private))
    expected = "/tmp" if os.geteuid() == 0 else str(private)  # noqa: S108
    assert discovery.scratch_root() == expected


def test_a_world_traversable_temp_directory_is_used_as_it_is(monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "gettempdir", lambda: "/tmp")  # noqa: S108
    assert discovery.scratch_root() == "/tmp"  # noqa: S108


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's runs change uid")
def test_without_any_reachable_scratch_directory_the_sandbox_is_unavailable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(discovery, "reachable_by_others", lambda path: False)
    with pytest.raises(discovery.SandboxUnavailableError, match="set TMPDIR"):
        discovery.scratch_root()


def test_mountpoints_and_job_dirs_of_dead_processes_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    for name in (f"kosmos-mnt-{dead}-abc", f"kosmos-mnt-{os.getpid()}-def", "kosmos-mnt-oldstyle"):
        (tmp_path / name / "stage").mkdir(parents=True)
        (tmp_path / name / "ws").mkdir()
    for name in (f"kosmos-job-{dead}-abc", f"kosmos-job-{os.getpid()}-def"):
        (tmp_path / name / "inputs").mkdir(parents=True)
        (tmp_path / name / "program.py").write_text("results = {}\n")
    discovery._sweep_stale(str(tmp_path))  # noqa: SLF001
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"kosmos-job-{os.getpid()}-def", f"kosmos-mnt-{os.getpid()}-def", "kosmos-mnt-oldstyle"]


def test_this_process_names_its_mountpoints_after_its_pid() -> None:
    assert Path(discovery.discover().mountpoints).name.startswith(f"kosmos-mnt-{os.getpid()}-")


def test_the_package_tree_is_one_the_sandbox_uid_can_read() -> None:
    """A checkout in a private folder is bound from a readable copy, never from where it is."""
    (tree,) = [t for t in discovery.discover().trees if t.target.endswith("/kosmos")]
    assert discovery.reachable_by_others(tree.host)
    assert Path(tree.host, "execution", "runner.py").is_file()
