"""Fixtures for the packaging tests: the chart rendered with the helm-lite renderer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "kosmos"
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO / "deploy"))

from helmlite import render_chart  # noqa: E402


def objects_of(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every YAML document of the rendered templates (NOTES.txt excluded), empty ones dropped."""
    documents: list[dict[str, Any]] = []
    for name, text in sorted(rendered.items()):
        if name.endswith(".txt"):
            continue
        documents.extend(d for d in yaml.safe_load_all(text) if d)
    return documents


def render_objects(values: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    return objects_of(render_chart(CHART, values=values, **kwargs))


@pytest.fixture(scope="module")
def chart_objects() -> list[dict[str, Any]]:
    return render_objects()


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]
