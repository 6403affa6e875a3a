"""Golden tests: R's own saved example outputs (tests/golden/r_examples.json, sources cited there).

Each case runs a kosmos statistics function on the data of an R help example and checks
every value R printed, with the tolerance of R's print rule (see the file's how_to_compare).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kosmos.execution import statistics

GOLDEN = json.loads(
    (Path(__file__).resolve().parents[2] / "golden" / "r_examples.json").read_text()
)
CASES = GOLDEN["cases"]


def _decimals(text: str) -> int:
    exponent = Decimal(text).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(-exponent, 0)


def _signif_half_unit(value: float, digits: int) -> float:
    if value == 0:
        return 0.0
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)


def tolerance(field: str, text: str) -> float:
    """Half a unit in the last digit R kept under its print rule for this kind of value."""
    value = float(text)
    kind = GOLDEN["kinds"].get(field, GOLDEN["kinds"]["default"])
    if kind == "round4":
        return 0.5e-4
    if kind == "round3":
        return 0.5e-3
    if kind == "signif4":
        return _signif_half_unit(value, 4)
    printed = 0.5 * 10.0 ** (-_decimals(text))
    return min(printed, _signif_half_unit(value, 7)) if value != 0 else printed


def _field(result: Any, name: str) -> float:
    if name.endswith("]"):
        base, index = name[:-1].split("[")
        return float(getattr(result, base)[int(index)])
    if name == "df" and isinstance(result.df, tuple):
        return float(result.df[0])
    return float(getattr(result, name))


def test_tolerance_follows_r_print_rules() -> None:
    assert tolerance("p_value", "0.68") == pytest.approx(0.5e-4)
    assert tolerance("p_value", "2.954e-07") == pytest.approx(0.5e-10)
    assert tolerance("statistic", "26") == 0.5e-4
    assert tolerance("ci_low", "-11.052802") == pytest.approx(0.5e-6)
    assert tolerance("correlation", "0.6") == pytest.approx(0.5e-7)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_r_example_output_is_reproduced_to_every_printed_digit(case: dict[str, Any]) -> None:
    assert case["source"]["commit"]
    assert case["printed"]
    func = getattr(statistics, case["function"])
    result = func(*case["args"], **case["kwargs"])
    for name, text in case["expected"].items():
        value = _field(result, name)
        tol = tolerance(name.split("[")[0], text)
        assert abs(value - float(text)) <= tol * (1 + 1e-12), (name, value, text, tol)
    json.dumps(result.to_dict(), allow_nan=False)
