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
