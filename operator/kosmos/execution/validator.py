"""Static validation of a program before it runs: syntax, imports, calls, attributes, resources.

Called by ``kosmos run`` and the operator for every program, generated or the user's own
``spec.code``. It is a guard rail that refuses obvious escapes early with a clear reason and
location; the sandbox (namespaces, rlimits, no network) stays the security boundary, so the
checks favour clear refusals of known-dangerous names over completeness.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from kosmos.api.errors import ErrorKind, KosmosError
from kosmos.api.spec import Resources

__all__ = [
    "ALLOWED_MODULES",
    "DENIED_ATTRIBUTES",
    "DENIED_NAMES",
    "ProgramRejected",
    "ResourcesRejected",
    "ValidationPolicy",
    "validate_program",
    "validate_resources",
]

ALLOWED_MODULES: frozenset[str] = frozenset(
    {
        # scientific stack available in the sandbox image
        "numpy",
        "scipy",
        "pandas",
        "sklearn",
        "matplotlib",
        # standard library without process, network or interpreter-introspection powers
        "math",
        "cmath",
        "statistics",
        "json",
        "csv",
        "io",
        "collections",
        "itertools",
        "functools",
        "operator",
        "random",
        "re",
        "string",
        "textwrap",
        "datetime",
        "time",
        "calendar",
        "dataclasses",
        "typing",
        "enum",
        "abc",
        "numbers",
        "decimal",
        "fractions",
        "heapq",
        "bisect",
        "copy",
        "pprint",
        "warnings",
        "contextlib",
        "pathlib",
        "os",
        "os.path",
        "sys",
        "__future__",
        "zlib",
        "gzip",
        "base64",
        "hashlib",
        "uuid",
        # kosmos helpers that generated programs use inside the sandbox
        "kosmos.execution.statistics",
        "kosmos.execution.expression",
    }
)

# Names that reach the interpreter's code-loading or introspection machinery.
DENIED_NAMES: frozenset[str] = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "__import__",
        "breakpoint",
        "globals",
        "locals",
        "vars",
        "memoryview",
        "__builtins__",
        "__loader__",
        "__spec__",
        "__build_class__",
        "input",
    }
)

# Attributes refused wherever they appear (x.attr): interpreter internals, frames, code
# objects, and the process/exec/network functions of os, sys, numpy and pandas.
DENIED_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "get_field",  # string.Formatter().get_field("0.__class__...") walks attributes by name
        "vformat",
        "Formatter",
        "__subclasses__",
        "__globals__",
        "__builtins__",
        "__code__",
        "__closure__",
        "__mro__",
        "__bases__",
        "__base__",
        "__class__",
        "__dict__",
        "__getattribute__",
        "__reduce__",
        "__reduce_ex__",
        "__loader__",
        "__spec__",
        "__import__",
        "__self__",
        "__func__",
        "__defaults__",
        "__kwdefaults__",
        "__traceback__",
        "__setattr__",
        "__delattr__",
        "__init_subclass__",
        "__subclasshook__",
        "__set_name__",
        "f_globals",
        "f_locals",
        "f_back",
        "f_code",
        "f_builtins",
        "gi_frame",
        "gi_code",
        "cr_frame",
        "cr_code",
        "ag_frame",
        "tb_frame",
        "tb_next",
        "co_code",
        "func_globals",
        # os: processes, signals, privileges
        "system",
        "popen",
        "fork",
        "forkpty",
        "kill",
        "killpg",
        "execv",
        "execve",
        "execl",
        "execle",
        "execlp",
        "execlpe",
        "execvp",
        "execvpe",
        "spawnl",
        "spawnle",
        "spawnlp",
        "spawnlpe",
        "spawnv",
        "spawnve",
        "spawnvp",
        "spawnvpe",
        "posix_spawn",
        "posix_spawnp",
        "setuid",
        "setgid",
        "seteuid",
        "setegid",
        "setreuid",
        "setregid",
        "chroot",
        "putenv",
        "unsetenv",
        "plock",
        "register_at_fork",
        "pidfd_open",
        # sys: module table, frames, tracing, import hooks
        "modules",
        "_getframe",
        "settrace",
        "setprofile",
        "meta_path",
        "path_hooks",
        "path_importer_cache",
        "addaudithook",
        "_current_frames",
        "setrecursionlimit",
        # numpy / pandas routes to native code or pickle
        "ctypes",
        "ctypeslib",
        "read_pickle",
        "to_pickle",
    }
)

# Calls that reach an attribute by a name given as data (builtins and the operator module's).
_REFLECTIVE_NAME_ARGUMENT = frozenset({"getattr", "setattr", "delattr", "hasattr", "attrgetter", "methodcaller"})

_ALLOWED_DUNDER_NAMES = frozenset({"__name__", "__file__", "__doc__", "__annotations__"})


class ProgramRejected(KosmosError):  # noqa: N818 - the name fixed in docs/contracts.md
    """The program was refused before running; ``kind`` is syntax or validation.

    ``line`` and ``column`` are 1-based and point at the offending code (None when not
    applicable); the message starts with the location.
    """

    kind = ErrorKind.VALIDATION

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind = ErrorKind.VALIDATION,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, kind=kind)
        self.line = line
        self.column = column


class ResourcesRejected(ProgramRejected):
    """A resource request exceeds the policy; ``field`` names it (``spec.resources.memoryMB``)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ValidationPolicy:
    """What a program may request and contain; the operator's settings fill it in."""

    max_memory_mb: int = 16_384
    max_cpu_cores: float = 8.0
    max_timeout_seconds: int = 86_400
    max_file_size_mb: int = 10_240
    allow_network: bool = False
    max_code_bytes: int = 1_048_576
    allowed_modules: frozenset[str] = ALLOWED_MODULES


_DEFAULT_POLICY = ValidationPolicy()


def _module_allowed(module: str, allowed: frozenset[str]) -> bool:
    """``a.b.c`` is allowed if it or a prefix is allowed; kosmos only by full name."""
    if module.startswith("kosmos"):
        return module in allowed
    parts = module.split(".")
    return any(".".join(parts[:i]) in allowed for i in range(1, len(parts) + 1))


class _Checker(ast.NodeVisitor):
    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        self._called: set[int] = set()  # ids of the func nodes of calls already checked

    def _reject(self, node: ast.AST, reason: str) -> None:
        line = getattr(node, "lineno", None)
        column = getattr(node, "col_offset", None)
        column = column + 1 if column is not None else None
        raise ProgramRejected(f"line {line}, column {column}: {reason}", line=line, column=column)

    def _check_module(self, node: ast.AST, module: str) -> None:
        if not _module_allowed(module, self.allowed):
            self._reject(
                node,
                f"import of {module!r} is not allowed; allowed modules: "
                + ", ".join(
                    sorted(m for m in self.allowed if "." not in m or m.startswith("kosmos"))
                ),
            )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)
            denied = [part for part in alias.name.split(".") if part in DENIED_ATTRIBUTES]
            if denied:
                self._reject(node, f"import of {alias.name!r} ({denied[0]}) is not allowed")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self._reject(node, "relative imports are not allowed")
        module = node.module or ""
        if module.startswith("kosmos") and module not in self.allowed:
            # `from kosmos.execution import statistics` names the module in the alias
            for alias in node.names:
                self._check_module(node, f"{module}.{alias.name}")
        else:
            self._check_module(node, module)
        for alias in node.names:
            if alias.name == "*":  # the names it brings in would never be checked
                self._reject(node, f"'from {module} import *' is not allowed: import the names you use")
            if alias.name in DENIED_ATTRIBUTES or alias.name in DENIED_NAMES:
                self._reject(node, f"importing {alias.name!r} from {module!r} is not allowed")
            if alias.name in _REFLECTIVE_NAME_ARGUMENT and alias.asname not in (None, alias.name):
                self._reject(node, f"importing {alias.name!r} under another name is not allowed")

    def _reflective_reference(self, node: ast.Name | ast.Attribute, name: str) -> None:
        if name in _REFLECTIVE_NAME_ARGUMENT and id(node) not in self._called:
            self._reject(node, f"{name} may only be called directly (its names are checked there)")

    def visit_Name(self, node: ast.Name) -> None:
        self._reflective_reference(node, node.id)
        if node.id in DENIED_NAMES:
            self._reject(node, f"use of {node.id!r} is not allowed")
        if (
            node.id.startswith("__")
            and node.id.endswith("__")
            and node.id not in _ALLOWED_DUNDER_NAMES
        ):
            self._reject(node, f"use of the interpreter name {node.id!r} is not allowed")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._reflective_reference(node, node.attr)
        if node.attr in DENIED_ATTRIBUTES:
            self._reject(node, f"access to attribute {node.attr!r} is not allowed")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = node.slice
        if (isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.startswith("__")
                and key.value in DENIED_ATTRIBUTES | DENIED_NAMES):
            self._reject(node, f"access to {key.value!r} by subscript is not allowed")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if called in _REFLECTIVE_NAME_ARGUMENT:
            self._called.add(id(func))
            names = node.args[1:2] if called in ("getattr", "setattr", "delattr", "hasattr") else node.args
            for name in [*names, *(k.value for k in node.keywords if k.arg == "name")]:
                self._check_reflected_name(node, called, name)
        self.generic_visit(node)

    def _check_reflected_name(self, node: ast.Call, called: str, name: ast.expr) -> None:
        """An attribute reached by name must be named literally, so the checks above see it."""
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            self._reject(node, f"{called}() with a computed attribute name is not allowed; "
                               "name the attribute literally")
            return
        for part in name.value.split("."):  # attrgetter("a.b") walks a dotted path
            if part.startswith("__") or part in DENIED_ATTRIBUTES:
                self._reject(node, f"{called}() of attribute {part!r} is not allowed")


def validate_program(code: str, *, policy: ValidationPolicy | None = None) -> None:
    """Refuse a program that does not parse or uses what the policy forbids.

    Raises
    ------
    ProgramRejected
        ``kind`` syntax (with the line and column of the error) or validation (with the
        line and column of the refused import, name, call or attribute).
    """
    policy = policy or _DEFAULT_POLICY
    if not isinstance(code, str):
        raise ProgramRejected(f"program must be text, got {type(code).__name__}")
    size = len(code.encode("utf-8", errors="replace"))
    if size > policy.max_code_bytes:
        raise ProgramRejected(
            f"program is {size} bytes, more than the policy's {policy.max_code_bytes}"
        )
    try:
        tree = ast.parse(code, filename="program.py")
    except SyntaxError as exc:
        line, column = exc.lineno, exc.offset
        raise ProgramRejected(
            f"syntax error at line {line}, column {column}: {exc.msg}",
            kind=ErrorKind.SYNTAX,
            line=line,
            column=column,
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ProgramRejected(
            f"program cannot be parsed: {type(exc).__name__}: {exc}", kind=ErrorKind.SYNTAX
        ) from None
    try:
        _Checker(policy.allowed_modules).visit(tree)
    except RecursionError:
        raise ProgramRejected("program is nested too deeply to validate") from None


def validate_resources(
    resources: Resources | dict[str, Any], policy: ValidationPolicy | None = None
) -> None:
    """Refuse resource requests above the policy's maximums, naming the field.

    Raises
    ------
    ResourcesRejected
        ``field`` is the manifest path, e.g. ``spec.resources.memoryMB``.
    """
    policy = policy or _DEFAULT_POLICY
    if isinstance(resources, dict):
        resources = Resources.model_validate(resources)
    checks: list[tuple[str, float, float, str]] = [
        ("memoryMB", resources.memory_mb, policy.max_memory_mb, "MiB"),
        ("cpu", resources.cpu_cores, policy.max_cpu_cores, "cores"),
        ("timeoutSeconds", resources.timeout_seconds, policy.max_timeout_seconds, "seconds"),
        ("maxFileSizeMB", resources.max_file_size_mb, policy.max_file_size_mb, "MiB"),
    ]
    for name, requested, maximum, unit in checks:
        if requested > maximum:
            shown = resources.cpu if name == "cpu" else requested
            raise ResourcesRejected(
                f"spec.resources.{name}: requested {shown} {unit}, "
                f"more than the policy allows ({maximum:g} {unit})",
                field=f"spec.resources.{name}",
            )
    if resources.network_access and not policy.allow_network:
        raise ResourcesRejected(
            "spec.resources.networkAccess: network access was requested but the policy forbids it",
            field="spec.resources.networkAccess",
        )
