"""The numpydoc Examples of the public statistics and analysis functions run as documented."""

from __future__ import annotations

import doctest
import importlib

import pytest

from kosmos.execution import statistics

MODULES = [
    "kosmos.execution.stats.ttest",
    "kosmos.execution.stats.anova",
    "kosmos.execution.stats.correlation",
    "kosmos.execution.stats.nonparametric",
    "kosmos.execution.stats.chisquare",
    "kosmos.execution.stats.adjust",
    "kosmos.execution.stats.assumptions",
    "kosmos.execution.analyzer",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run_as_documented(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0


def test_every_public_statistics_function_has_references_and_an_example() -> None:
    for name in statistics.__all__:
        obj = getattr(statistics, name)
        if callable(obj) and name.startswith(("compute_", "adjust_", "check_")):
            doc = obj.__doc__ or ""
            assert "References" in doc, name
            assert "Examples" in doc, name
            assert ">>>" in doc, name
