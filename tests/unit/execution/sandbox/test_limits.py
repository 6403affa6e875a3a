"""Resource limits given through the library are checked before anything is created."""

from __future__ import annotations

import math

import pytest

from kosmos.execution.sandbox.base import ResourceLimits


@pytest.mark.parametrize(("field", "value", "message"), [
    ("cpu_count", math.nan, "resource_limits.cpu_count must be a number in (0, 1024], got nan"),
    ("timeout_seconds", math.inf, "resource_limits.timeout_seconds must be a number in (0, 604800], got inf"),
    ("memory_mb", 1.5, "resource_limits.memory_mb must be a whole number in (0, 1.04858e+06], got 1.5"),
    ("memory_mb", 1 << 44, "resource_limits.memory_mb must be a whole number in (0, 1.04858e+06]"),
    ("max_processes", 10**9, "resource_limits.max_processes must be a whole number in (0, 32768], got 1000000000"),
    ("max_file_size_mb", 0, "resource_limits.max_file_size_mb must be a whole number in (0, 1.04858e+06], got 0"),
    ("cpu_time_seconds", -1, "resource_limits.cpu_time_seconds must be a number"),
    ("memory_mb", True, "resource_limits.memory_mb must be a whole number"),
])
def test_a_limit_out_of_range_is_refused_naming_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]").replace("+", r"\+").replace(".", r"\.")):
        ResourceLimits(**{field: value})


def test_the_defaults_and_a_cpu_time_of_none_are_accepted() -> None:
    assert ResourceLimits(cpu_time_seconds=None).cpu_seconds == 300.0
    assert ResourceLimits(memory_mb=1 << 20, max_processes=1 << 15).memory_mb == 1 << 20
