"""Fixtures of the red-team suite: one sandboxed Executor settings object in a private uid range."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from redteam_support import UID_RANGE  # noqa: E402

from kosmos.execution.sandbox import SandboxSettings, SandboxUnavailableError  # noqa: E402


@pytest.fixture(scope="session", params=["auto", "fork"], ids=["launch-auto", "launch-fork"])
def settings(request: pytest.FixtureRequest) -> SandboxSettings:
    """Each case on both start paths: "auto" is a launch thread and vfork as root on cgroup v1
    (else the forked child), "fork" always the forked child (see sandbox/thread_launch.py)."""
    return SandboxSettings(uid_range=UID_RANGE, launch=request.param)


@pytest.fixture(scope="session")
def sandbox_available() -> None:
    from kosmos.execution.sandbox import LocalSandbox  # noqa: PLC0415

    try:
        LocalSandbox(SandboxSettings(uid_range=UID_RANGE))
    except SandboxUnavailableError as exc:
        pytest.skip(f"no bubblewrap sandbox on this machine: {exc}")
