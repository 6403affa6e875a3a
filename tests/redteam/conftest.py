"""Fixtures of the red-team suite: one sandboxed Executor settings object in a private uid range."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from redteam_support import UID_RANGE  # noqa: E402

from kosmos.execution.sandbox import SandboxSettings, SandboxUnavailableError  # noqa: E402


@pytest.fixture(scope="session")
def settings() -> SandboxSettings:
    return SandboxSettings(uid_range=UID_RANGE)


@pytest.fixture(scope="session")
def sandbox_available(settings: SandboxSettings) -> None:
    from kosmos.execution.sandbox import LocalSandbox  # noqa: PLC0415

    try:
        LocalSandbox(settings)
    except SandboxUnavailableError as exc:
        pytest.skip(f"no bubblewrap sandbox on this machine: {exc}")
