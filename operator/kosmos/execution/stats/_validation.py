"""The one validation gate of the statistics layer: errors, option enums and input checks.

Called by every ``compute_*`` function in :mod:`kosmos.execution.stats` before any test
runs, so that the test functions contain only statistics. It applies the NaN policy,
minimum sample sizes, shape checks and R's "data are essentially constant" rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from kosmos.api.errors import ErrorKind, KosmosError

__all__ = [
    "Alternative",
    "ConstantInputError",
    "EmptyInputError",
    "InsufficientDataError",
    "InvalidOptionError",
    "LengthMismatchError",
    "NanPolicy",
    "NonFiniteInputError",
    "StatisticsError",
    "ZeroVarianceError",
    "check_confidence_level",
    "essentially_constant",
    "exact_sample",
    "is_text_sequence",
    "option",
    "paired_samples",
    "sample",
    "sample_groups",
]

FloatArray = NDArray[np.float64]
_EPS = float(np.finfo(np.float64).eps)
_E = TypeVar("_E", bound=StrEnum)


class StatisticsError(KosmosError):
    """Input on which a statistical test is undefined; reported with error kind ``data``."""

    kind = ErrorKind.DATA


class EmptyInputError(StatisticsError):
    """A sample (or group) has no observations."""


class InsufficientDataError(StatisticsError):
    """A sample has fewer observations than the test needs."""


class ConstantInputError(StatisticsError):
    """The data are (essentially) constant, so the statistic is undefined (as R refuses)."""


class ZeroVarianceError(StatisticsError):
    """A group has zero variance where the test divides by it (e.g. Welch's ANOVA weights)."""


class NonFiniteInputError(StatisticsError):
    """The data contain NaN or infinity and ``nan_policy="raise"`` (the default)."""


class LengthMismatchError(StatisticsError):
    """Paired samples have different lengths."""


class InvalidOptionError(StatisticsError, ValueError):
    """An option (method, alternative, ...) is not one of the documented choices."""

    kind = ErrorKind.VALIDATION


class Alternative(StrEnum):
    """The alternative hypothesis, spelled as in scipy and R."""

    TWO_SIDED = "two-sided"
    LESS = "less"
    GREATER = "greater"


class NanPolicy(StrEnum):
    """What to do with NaN (and infinite) values: raise (default) or drop them."""

    RAISE = "raise"
    OMIT = "omit"


def option(value: Any, choices: type[_E], name: str) -> _E:
    """Return ``value`` as a member of the string enum ``choices`` or raise InvalidOptionError."""
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(repr(c.value) for c in choices)
        raise InvalidOptionError(f"{name}={value!r} is not one of {allowed}") from None


def check_confidence_level(level: float) -> float:
    """Return ``level`` if it lies strictly between 0 and 1."""
    if not (isinstance(level, (int, float)) and 0.0 < float(level) < 1.0):
        raise InvalidOptionError(f"confidence_level={level!r} must lie strictly between 0 and 1")
    return float(level)


def _as_float_array(x: Any, name: str) -> FloatArray:
    if isinstance(x, (str, bytes)):
        raise InvalidOptionError(f"{name} must be a sequence of numbers, not a string")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatisticsError(f"{name} could not be read as numbers: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise StatisticsError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _finite_mask(arr: FloatArray) -> FloatArray | None:
    """Return the boolean mask of finite values, or None when all are finite (the fast path)."""
    if np.isfinite(arr.sum()):
        return None  # a finite sum proves no NaN/inf (cheaper than isfinite on big arrays)
    mask = np.isfinite(arr)
    if mask.all():  # the sum overflowed on finite data
        return None
    return mask


def _non_finite_message(arr: FloatArray, name: str) -> str:
    n_nan = int(np.isnan(arr).sum())
    n_inf = int(np.isinf(arr).sum())
    return (
        f"{name} contains {n_nan} NaN and {n_inf} infinite value(s); "
        "clean the data or pass nan_policy='omit' to drop them"
    )


def sample(x: Any, *, name: str = "x", nan_policy: str = "raise", min_n: int = 1) -> FloatArray:
    """Return ``x`` as a finite 1-D float64 array with at least ``min_n`` observations."""
    policy = option(nan_policy, NanPolicy, "nan_policy")
    arr = _as_float_array(x, name)
    if arr.size == 0:
        raise EmptyInputError(f"{name} is empty")
    mask = _finite_mask(arr)
    if mask is not None:
        if policy is NanPolicy.RAISE:
            raise NonFiniteInputError(_non_finite_message(arr, name))
        arr = arr[mask]
        if arr.size == 0:
            raise EmptyInputError(f"{name} has no finite values")
    if arr.size < min_n:
        raise InsufficientDataError(
            f"{name} has {arr.size} observation(s); this test needs at least {min_n}"
        )
    return arr


def paired_samples(
    x: Any,
    y: Any,
    *,
    names: tuple[str, str] = ("x", "y"),
    nan_policy: str = "raise",
    min_n: int = 1,
) -> tuple[FloatArray, FloatArray]:
    """Two equally long finite arrays; ``omit`` drops incomplete pairs (R's complete.cases)."""
    policy = option(nan_policy, NanPolicy, "nan_policy")
    a = _as_float_array(x, names[0])
    b = _as_float_array(y, names[1])
    if a.size != b.size:
        raise LengthMismatchError(
            f"{names[0]} and {names[1]} must have the same length, got {a.size} and {b.size}"
        )
    if a.size == 0:
        raise EmptyInputError(f"{names[0]} and {names[1]} are empty")
    mask_a, mask_b = _finite_mask(a), _finite_mask(b)
    if mask_a is not None or mask_b is not None:
        if policy is NanPolicy.RAISE:
            bad, arr = (names[0], a) if mask_a is not None else (names[1], b)
            raise NonFiniteInputError(_non_finite_message(arr, bad))
        keep = np.isfinite(a) & np.isfinite(b)
        a, b = a[keep], b[keep]
        if a.size == 0:
            raise EmptyInputError(f"{names[0]} and {names[1]} have no complete pairs")
    if a.size < min_n:
        raise InsufficientDataError(
            f"{a.size} complete pair(s) of {names[0]} and {names[1]}; "
            f"this test needs at least {min_n}"
        )
    return a, b


def sample_groups(
    groups: Iterable[Any], *, nan_policy: str = "raise", min_n: int = 1, min_groups: int = 2
) -> list[FloatArray]:
    """Return each group as a finite float64 array (see :func:`sample`); at least ``min_groups``."""
    if isinstance(groups, np.ndarray) and groups.ndim == 2:
        groups = list(groups)
    elif isinstance(groups, dict):
        groups = list(groups.values())
    out = [
        sample(g, name=f"group {i + 1}", nan_policy=nan_policy, min_n=min_n)
        for i, g in enumerate(groups)
    ]
    if len(out) < min_groups:
        raise InsufficientDataError(
            f"{len(out)} group(s) given; this test needs at least {min_groups}"
        )
    return out


def essentially_constant(stderr: float, *locations: float) -> bool:
    """R's t.test rule: ``stderr < 10 * eps * max(|location|)`` (or a zero/NaN stderr).

    Rounding noise in the variance of a repeated constant must not yield a confident
    p-value; R stops with "data are essentially constant" in exactly this case.
    """
    scale = max((abs(v) for v in locations), default=0.0)
    return not (stderr > 0.0) or stderr < 10.0 * _EPS * scale or not math.isfinite(stderr)


def is_text_sequence(values: Sequence[Any]) -> bool:
    """True when the values arrive as decimal text or exact numbers (str, Decimal, Fraction)."""
    return len(values) > 0 and isinstance(values[0], (str, Decimal, Fraction))


def exact_sample(
    values: Sequence[Any], *, name: str = "x", nan_policy: str = "raise", min_n: int = 1
) -> list[Decimal | Fraction]:
    """Decimal text / Decimal / Fraction values as exact numbers (the exact-arithmetic gate).

    Text becomes ``Decimal`` (parsed exactly); ``Fraction`` values are kept as they are.
    """
    policy = option(nan_policy, NanPolicy, "nan_policy")
    if len(values) == 0:
        raise EmptyInputError(f"{name} is empty")
    out: list[Decimal | Fraction] = []
    bad = 0
    for v in values:
        if isinstance(v, Fraction):
            out.append(v)
            continue
        try:
            d = (
                v
                if isinstance(v, Decimal)
                else Decimal(v.strip() if isinstance(v, str) else str(v))
            )
        except (InvalidOperation, ValueError):
            raise StatisticsError(f"{name} holds {v!r}, which is not a decimal number") from None
        if not d.is_finite():
            bad += 1
            continue
        out.append(d)
    if bad:
        if policy is NanPolicy.RAISE:
            raise NonFiniteInputError(
                f"{name} contains {bad} NaN or infinite value(s); clean the data or pass "
                "nan_policy='omit' to drop them"
            )
        if not out:
            raise EmptyInputError(f"{name} has no finite values")
    if len(out) < min_n:
        raise InsufficientDataError(
            f"{name} has {len(out)} observation(s); this test needs at least {min_n}"
        )
    return out
