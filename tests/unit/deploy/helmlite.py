"""Render charts/kosmos without a helm binary: the Go-template subset the chart uses, on jinja2.

No helm binary can be installed here from the registries this project uses (the PyPI wheels
that embed Helm need Python >= 3.12), so the unit tests render the chart with this helper.
It is honest about its limits: it translates each ``{{ ... }}`` action of the chart into
jinja2 and implements the sprig functions the chart calls with Go's semantics where they
matter (values are float64 as Helm reads them, ``%v`` formatting, sorted map ranges, trim
markers). Anything outside that subset raises ``UnsupportedTemplateError`` rather than rendering
something helm would not. It is not helm: ``lookup``, ``tpl``, ``.Capabilities``, hooks and
subcharts are not implemented (the chart uses none of them), and the tests/e2e run installs
the chart with the real helm.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import yaml

__all__ = ["UnsupportedTemplateError", "render_chart"]


class UnsupportedTemplateError(Exception):
    """The chart used a template construct this renderer does not implement."""


# ---------------------------------------------------------------- Go value semantics


def _go_float(value: float) -> str:
    """Go's ``%v`` for float64 (strconv 'g', shortest): exponent form when exp < -4 or >= 6."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    x = len(digits) + int(exponent) - 1
    prefix = "-" if sign else ""
    if x < -4 or x >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'+' if x >= 0 else '-'}{abs(x):02d}"
    return prefix + format(Decimal(text).scaleb(int(exponent)), "f")


def go_str(value: Any) -> str:
    """How Go's text/template prints a value (nil prints empty, as Helm post-processes it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, Mapping | list):
        raise UnsupportedTemplateError(f"printing a collection directly: {value!r}")
    return str(value)


def _floats(value: Any) -> Any:
    """Helm reads values.yaml through JSON: every number becomes a float64."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """Whole float64s print as integers in YAML and JSON output (as Go's encoders do)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _kind(value: Any) -> str:  # noqa: PLR0911 - one answer per Go kind
    if value is None:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, list):
        return "slice"
    return type(value).__name__


def _empty(value: Any) -> bool:
    return not value


def _to_yaml(value: Any) -> str:
    return yaml.safe_dump(_plain(value), sort_keys=True, default_flow_style=False).rstrip("\n")


def _eq(a: Any, *others: Any) -> bool:
    for b in others:
        if _kind(a) != _kind(b) and {_kind(a), _kind(b)} != {"int64", "float64"}:
            raise UnsupportedTemplateError(f"eq: incompatible types {_kind(a)} and {_kind(b)}")
    return any(a == b for b in others)


def _printf(fmt: str, *args: Any) -> str:
    if re.search(r"%[^s%]", fmt):
        raise UnsupportedTemplateError(f"printf verb other than %s in {fmt!r}")
    return fmt % tuple(go_str(a) for a in args)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "not": lambda v: not v,
    "and": lambda *vs: next((v for v in vs if not v), vs[-1]),
    "or": lambda *vs: next((v for v in vs if v), vs[-1]),
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "empty": _empty,
    "default": lambda d, v=None: d if _empty(v) else v,
    "kindIs": lambda kind, v: _kind(v) == kind,
    "quote": lambda *vs: " ".join(json.dumps(go_str(v)) for v in vs if v is not None),
    "toString": lambda v: "<nil>" if v is None else go_str(v),
    "toYaml": _to_yaml,
    "toJson": lambda v: json.dumps(_plain(v), separators=(",", ":"), sort_keys=True),
    "upper": lambda s: s.upper(),
    "trunc": lambda n, s: s[: int(n)],
    "trimSuffix": lambda suffix, s: s[: -len(suffix)] if suffix and s.endswith(suffix) else s,
    "contains": lambda sub, s: sub in s,
    "replace": lambda old, new, s: s.replace(old, new),
    "join": lambda sep, items: sep.join(go_str(i) for i in items),
    "printf": _printf,
    "int64": int,
    "float64": float,
    "indent": lambda n, s: "\n".join(" " * int(n) + line for line in s.split("\n")),
    "nindent": lambda n, s: "\n" + "\n".join(" " * int(n) + line for line in s.split("\n")),
}


# ---------------------------------------------------------------- translation to jinja2

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)|(?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)'
    r"|(?P<field>(?:\.[A-Za-z0-9_]+)+|\.)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>:=|[()|,]))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise UnsupportedTemplateError(f"cannot parse {text[pos:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Translator:
    def __init__(self) -> None:
        self.dots = ["__d0"]
        self.counter = 0

    def _operand(self, tokens: list[tuple[str, str]], i: int) -> tuple[str, int, bool]:  # noqa: PLR0911 - one return per token kind
        kind, text = tokens[i]
        if kind == "str":
            return repr(json.loads(text)), i + 1, False
        if kind == "num":
            return repr(float(text)), i + 1, False
        if kind == "field":
            if text == ".":
                return self.dots[-1], i + 1, False
            parts = ", ".join(repr(p) for p in text.split(".")[1:])
            return f"G({self.dots[-1]}, {parts})", i + 1, False
        if kind == "var":
            name, *parts = text.split(".")
            base = "__root" if name == "$" else f"v_{name[1:]}"
            return (
                (f"G({base}, {', '.join(repr(p) for p in parts)})" if parts else base),
                i + 1,
                False,
            )
        if kind == "ident":
            if text in ("true", "false", "nil"):
                return {"true": "True", "false": "False", "nil": "None"}[text], i + 1, False
            if text not in _FUNCTIONS and text not in ("include",):
                raise UnsupportedTemplateError(f"function {text!r}")
            return repr(text), i + 1, True
        if text == "(":
            depth, j = 1, i + 1
            while depth:
                if j >= len(tokens):
                    raise UnsupportedTemplateError("unbalanced parentheses")
                depth += {"(": 1, ")": -1}.get(tokens[j][1], 0) if tokens[j][0] == "punct" else 0
                j += 1
            return self.pipeline(tokens[i + 1 : j - 1]), j, False
        raise UnsupportedTemplateError(f"unexpected {text!r}")

    def pipeline(self, tokens: list[tuple[str, str]]) -> str:
        commands: list[list[tuple[str, bool]]] = [[]]
        i = 0
        while i < len(tokens):
            if tokens[i] == ("punct", "|"):
                commands.append([])
                i += 1
                continue
            code, i, is_function = self._operand(tokens, i)
            commands[-1].append((code, is_function))
        piped: str | None = None
        for command in commands:
            if not command:
                raise UnsupportedTemplateError("empty command in a pipeline")
            (head, head_is_function), args = command[0], [code for code, _ in command[1:]]
            if piped is not None:
                args.append(piped)
            if head_is_function:
                piped = f"F({', '.join([head, *args])})"
            elif args:
                piped = f"C({', '.join([head, *args])})"
            else:
                piped = head
        return piped or "None"

    def action(self, body: str, stack: list[str]) -> str:  # noqa: PLR0911 - one return per Go action
        tokens = _tokens(body)
        word = tokens[0][1] if tokens and tokens[0][0] == "ident" else ""
        if word == "if":
            stack.append("if")
            return f"if T({self.pipeline(tokens[1:])})"
        if word == "else":
            if len(tokens) > 1 and tokens[1] == ("ident", "if"):
                return f"elif T({self.pipeline(tokens[2:])})"
            return "else"
        if word == "with":
            self.counter += 1
            dot = f"__d{self.counter}"
            expr = self.pipeline(tokens[1:])
            stack.append("with")
            self.dots.append(dot)
            return f"with {dot} = {expr} %}}{{% if T({dot})"
        if word == "range":
            self.counter += 1
            if ("punct", ":=") not in tokens:
                raise UnsupportedTemplateError("range without $variables")
            assign = tokens.index(("punct", ":="))
            names = [t[1][1:] for t in tokens[1:assign] if t[0] == "var"]
            if not 1 <= len(names) <= 2:
                raise UnsupportedTemplateError("range over more than two $variables")
            expr = self.pipeline(tokens[assign + 1 :])
            stack.append("range")
            self.dots.append(f"v_{names[-1]}")
            if len(names) == 2:
                return f"for v_{names[0]}, v_{names[1]} in ITEMS({expr})"
            return f"for v_{names[0]} in VALUES({expr})"
        if word == "end":
            block = stack.pop()
            if block in ("with", "range"):
                self.dots.pop()
            return {"if": "endif", "with": "endif %}{% endwith", "range": "endfor"}[block]
        if len(tokens) >= 2 and tokens[0][0] == "var" and tokens[1] == ("punct", ":="):
            return f"set v_{tokens[0][1][1:]} = {self.pipeline(tokens[2:])}"
        if word in ("define", "template", "block", "tpl", "lookup"):
            raise UnsupportedTemplateError(f"{word!r} outside _helpers.tpl defines")
        return "{{ " + self.pipeline(tokens) + " }}"


def _translate(source: str, defines: dict[str, str]) -> str:
    """Go template text to jinja2 text; ``define`` blocks are collected into ``defines``."""
    out: list[str] = []
    buffers: list[tuple[str, list[str]]] = []
    translator, stack = _Translator(), []
    pos = 0
    for match in _ACTION.finditer(source):
        current = buffers[-1][1] if buffers else out
        current.append(source[pos : match.start()].replace("{#", "{{ '{#' }}"))
        pos = match.end()
        left, body, right = (
            "-" if match.group(1) else "",
            match.group(2).strip(),
            "-" if match.group(3) else "",
        )
        if body.startswith("/*"):
            if left or right:
                current.append("{#" + left + " " + right + "#}")
            continue
        tokens = _tokens(body)
        if tokens and tokens[0] == ("ident", "define"):
            if left:
                current.append("{#- #}")
            buffers.append((json.loads(tokens[1][1]), ["{# -#}"] if right else []))
            stack.append("define")
            continue
        if tokens == [("ident", "end")] and stack and stack[-1] == "define":
            stack.pop()
            if left:
                current.append("{#- #}")
            name, parts = buffers.pop()
            defines[name] = "".join(parts)
            if right:
                (buffers[-1][1] if buffers else out).append("{# -#}")
            continue
        translated = translator.action(body, stack)
        if translated.startswith("{{ "):
            current.append("{{" + left + translated[2:-2] + right + "}}")
        else:
            current.append("{%" + left + " " + translated + " " + right + "%}")
    (buffers[-1][1] if buffers else out).append(source[pos:])
    if stack:
        raise UnsupportedTemplateError(f"unclosed blocks: {stack}")
    return "".join(out)


# ---------------------------------------------------------------- rendering


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if obj is None:
            return None
        obj = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return obj


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Files:
    def __init__(self, root: Path) -> None:
        self._root = root

    def Get(self, name: str) -> str:  # noqa: N802 - Helm's spelling
        path = self._root / name
        return path.read_text(encoding="utf-8") if path.is_file() else ""


def render_chart(
    chart_dir: Path,
    *,
    values: Mapping[str, Any] | None = None,
    release_name: str = "kosmos",
    namespace: str = "kosmos-system",
) -> dict[str, str]:
    """Render every template like ``helm template``; returns {template path: rendered text}."""
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text(encoding="utf-8"))
    defaults = yaml.safe_load((chart_dir / "values.yaml").read_text(encoding="utf-8")) or {}
    context = {
        "Values": _floats(_merge(defaults, values or {})),
        "Release": {
            "Name": release_name,
            "Namespace": namespace,
            "Service": "Helm",
            "IsInstall": True,
        },
        "Chart": {
            "Name": chart["name"],
            "Version": chart["version"],
            "AppVersion": chart.get("appVersion", ""),
        },
        "Files": _Files(chart_dir),
    }
    defines: dict[str, str] = {}
    templates = sorted((chart_dir / "templates").glob("*"))
    sources = {
        p.name: _translate(p.read_text(encoding="utf-8"), defines) for p in templates if p.is_file()
    }
    env = jinja2.Environment(  # noqa: S701 - renders YAML, not HTML
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, finalize=go_str
    )

    def include(name: str, dot: Any) -> str:
        if name not in defines:
            raise UnsupportedTemplateError(f"include of undefined template {name!r}")
        return env.from_string(defines[name]).render(__root=dot, __d0=dot)

    def function(name: str, *args: Any) -> Any:
        return include(*args) if name == "include" else _FUNCTIONS[name](*args)

    def items(value: Any) -> list[tuple[Any, Any]]:
        if isinstance(value, Mapping):
            return sorted(value.items())
        return list(enumerate(value or []))

    env.globals.update(
        F=function,
        G=_get,
        C=lambda f, *a: f(*a),
        T=bool,
        ITEMS=items,
        VALUES=lambda v: [x for _, x in items(v)],
    )
    return {
        name: env.from_string(text).render(__root=context, __d0=context)
        for name, text in sources.items()
        if not name.startswith("_")
    }
