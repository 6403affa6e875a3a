"""Safe arithmetic expressions: parsed with ``ast`` into a checked tree, evaluated by a walker.

Used by the ``optimization`` and ``simulation`` templates (objectives, integrands, ODE
right-hand sides written as text in a manifest) and by the parameter schemas, which parse
each expression before anything runs. Only arithmetic, comparisons, boolean logic,
conditional expressions, numeric constants, named variables and a fixed table of numpy
functions are accepted; nothing is ever passed to ``eval`` or ``compile``. Imported inside
the sandbox by generated programs, so it needs only the standard library and numpy.

Example::

    >>> expr = parse_expression("a * x**2 + sin(x)", allowed_names={"a", "x"})
    >>> float(expr.evaluate({"a": 2.0, "x": 0.0}))
    0.0
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CONSTANTS", "FUNCTIONS", "Expression", "ExpressionError", "parse_expression"]

MAX_LENGTH = 4096
MAX_NODES = 2000
MAX_DEPTH = 60


class ExpressionError(ValueError):
    """The text is not an expression this module accepts; the message says where and why."""


def _np() -> Any:
    import numpy as np  # noqa: PLC0415 - keeps parsing (used by the generator) free of numpy

    return np


def _reduce_or_elementwise(name: str) -> Callable[..., Any]:
    def apply(*args: Any) -> Any:
        np = _np()
        if len(args) == 1:
            return getattr(np, name)(args[0])
        result = args[0]
        pairwise = np.minimum if name == "min" else np.maximum
        for arg in args[1:]:
            result = pairwise(result, arg)
        return result

    return apply


def _numpy(name: str) -> Callable[..., Any]:
    def apply(*args: Any) -> Any:
        return getattr(_np(), name)(*args)

    return apply


# name -> (implementation, allowed argument counts)
FUNCTIONS: dict[str, tuple[Callable[..., Any], tuple[int, ...]]] = {
    **{
        name: (_numpy(name), (1,))
        for name in (
            "sin",
            "cos",
            "tan",
            "arcsin",
            "arccos",
            "arctan",
            "sinh",
            "cosh",
            "tanh",
            "exp",
            "expm1",
            "log",
            "log10",
            "log2",
            "log1p",
            "sqrt",
            "abs",
            "floor",
            "ceil",
            "sign",
            "sum",
            "mean",
            "square",
            "cbrt",
        )
    },
    "arctan2": (_numpy("arctan2"), (2,)),
    "hypot": (_numpy("hypot"), (2,)),
    "power": (_numpy("power"), (2,)),
    "where": (_numpy("where"), (3,)),
    "clip": (_numpy("clip"), (3,)),
    "min": (_reduce_or_elementwise("min"), (1, 2, 3, 4)),
    "max": (_reduce_or_elementwise("max"), (1, 2, 3, 4)),
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: _np().power(_np().asarray(a, dtype=float), b),
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: lambda a: +a,
    ast.USub: lambda a: -a,
    ast.Not: lambda a: _np().logical_not(a),
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
}


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, its tree and the free variable names it reads."""

    text: str
    tree: ast.expr
    names: frozenset[str]

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Evaluate with ``values`` for the free names (scalars or numpy arrays)."""
        missing = self.names - set(values)
        if missing:
            raise ExpressionError(f"no value for {', '.join(sorted(missing))} in {self.text!r}")
        return _evaluate(self.tree, values)


def _evaluate(node: ast.expr, values: Mapping[str, Any]) -> Any:  # noqa: PLR0911 - one branch per node type
    if isinstance(node, ast.Constant):
        return float(node.value)  # type: ignore[arg-type] # _check admitted only int and float
    if isinstance(node, ast.Name):
        if node.id in values:
            return values[node.id]
        return CONSTANTS[node.id]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values))
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, values)
        result: Any = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(right_node, values)
            result = _np().logical_and(result, _COMPARE[type(op)](left, right))
            left = right
        return result
    if isinstance(node, ast.BoolOp):
        combine = _np().logical_and if isinstance(node.op, ast.And) else _np().logical_or
        result = _evaluate(node.values[0], values)
        for other in node.values[1:]:
            result = combine(result, _evaluate(other, values))
        return result
    if isinstance(node, ast.IfExp):
        return _np().where(
            _evaluate(node.test, values),
            _evaluate(node.body, values),
            _evaluate(node.orelse, values),
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        function, _ = FUNCTIONS[node.func.id]
        return function(*(_evaluate(arg, values) for arg in node.args))
    raise ExpressionError(f"unsupported node {type(node).__name__}")  # unreachable after _check


def _describe(node: ast.AST) -> str:
    return f"column {getattr(node, 'col_offset', 0) + 1}"


def _check(node: ast.AST, names: set[str], depth: int) -> None:  # noqa: PLR0912 - one branch per node type
    if depth > MAX_DEPTH:
        raise ExpressionError(f"nested deeper than {MAX_DEPTH} levels")
    where = _describe(node)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(
                f"{where}: only numbers are allowed as constants, got {node.value!r}"
            )
        return
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(f"{where}: {node.id!r} is a function; call it as {node.id}(...)")
        if node.id.startswith("_"):
            raise ExpressionError(f"{where}: names may not start with an underscore: {node.id!r}")
        if node.id not in CONSTANTS:
            names.add(node.id)
        return
    children: list[ast.AST]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        children = [node.left, node.right]
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        children = [node.operand]
    elif isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        children = [node.left, *node.comparators]
    elif isinstance(node, ast.BoolOp):
        children = list(node.values)
    elif isinstance(node, ast.IfExp):
        children = [node.test, node.body, node.orelse]
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            shown = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ExpressionError(
                f"{where}: unknown function {shown!r}; allowed: {', '.join(sorted(FUNCTIONS))}"
            )
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise ExpressionError(f"{where}: {node.func.id}() takes positional arguments only")
        counts = FUNCTIONS[node.func.id][1]
        if len(node.args) not in counts:
            expected = " or ".join(str(c) for c in counts)
            raise ExpressionError(
                f"{where}: {node.func.id}() takes {expected} argument(s), got {len(node.args)}"
            )
        children = list(node.args)
    else:
        shown = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
        raise ExpressionError(
            f"{where}: {shown!r} is not allowed (only arithmetic, comparisons, and/or/not, "
            "x if c else y, numbers, variable names and the listed math functions)"
        )
    for child in children:
        _check(child, names, depth + 1)


def parse_expression(text: str, *, allowed_names: set[str] | None = None) -> Expression:
    """Parse and check ``text``; with ``allowed_names``, every free name must be one of them.

    Raises
    ------
    ExpressionError
        On a syntax error, a construct outside the safe subset, or an unknown name.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression as text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error at column {exc.offset or 0}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"cannot be parsed: {type(exc).__name__}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExpressionError(f"more than {MAX_NODES} syntax nodes")
    names: set[str] = set()
    _check(tree.body, names, 0)
    if allowed_names is not None:
        unknown = sorted(names - allowed_names)
        if unknown:
            known = ", ".join(sorted(allowed_names)) or "none"
            raise ExpressionError(f"unknown name(s) {', '.join(unknown)} (known: {known})")
    return Expression(text=text, tree=tree.body, names=frozenset(names))
