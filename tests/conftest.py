"""Shared pytest configuration: paths of the repository and the shared reference data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _reference_dir() -> Path:
    env = os.environ.get("KOSMOS_REFERENCE_DIR")
    if env:
        return Path(env)
    return REPO.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    path = _reference_dir()
    if not path.is_dir():
        pytest.fail(f"reference data not found at {path}; set KOSMOS_REFERENCE_DIR")
    return path
