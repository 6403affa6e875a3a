"""Static program validation: syntax location, import allow-list, denied names, resources."""

from __future__ import annotations

import pytest

from kosmos.api.errors import ErrorKind, KosmosError
from kosmos.api.spec import Resources
from kosmos.execution.validator import (
    ProgramRejected,
    ResourcesRejected,
    ValidationPolicy,
    validate_program,
    validate_resources,
)


def _rejected(code: str, **kwargs: object) -> ProgramRejected:
    with pytest.raises(ProgramRejected) as caught:
        validate_program(code, **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, KosmosError)
    return caught.value


def test_a_plain_scientific_program_is_accepted() -> None:
    validate_program(
        "import numpy as np\nimport pandas as pd\nfrom scipy import stats\nimport os.path\n"
        "from kosmos.execution import statistics as kstats\n"
        "from kosmos.execution.statistics import compute_ttest\n"
        "with open('out.txt', 'w') as fh:\n    fh.write('x')\n"
        "results = {'mean': float(np.mean([1, 2, 3])), 'name': type(1).__name__}\n"
    )


def test_syntax_error_reports_kind_syntax_with_line_and_column() -> None:
    error = _rejected("x = 1\ny = (2 +\n")
    assert error.kind == ErrorKind.SYNTAX
    assert error.line == 2
    assert error.column is not None
    assert "line 2" in error.message


def test_syntax_error_column_points_at_the_bad_token() -> None:
    error = _rejected("x = 1\nif x = 2:\n    pass\n")
    assert (error.line, error.kind) == (2, ErrorKind.SYNTAX)
    assert error.column == 4


@pytest.mark.parametrize(
    ("code", "line", "column", "word"),
    [
        ("import subprocess\n", 1, 1, "subprocess"),
        ("import numpy\nimport socket\n", 2, 1, "socket"),
        ("from ctypes import CDLL\n", 1, 1, "ctypes"),
        ("import numpy.ctypeslib\n", 1, 1, "ctypeslib"),
        ("import importlib\n", 1, 1, "importlib"),
        ("import pickle\n", 1, 1, "pickle"),
        ("from multiprocessing import Pool\n", 1, 1, "multiprocessing"),
        ("import kosmos.operator\n", 1, 1, "kosmos.operator"),
        ("from kosmos.execution import executor\n", 1, 1, "kosmos.execution.executor"),
        ("from . import x\n", 1, 1, "relative"),
    ],
)
def test_imports_outside_the_allow_list_are_refused_with_location(
    code: str, line: int, column: int, word: str
) -> None:
    error = _rejected(code)
    assert error.kind == ErrorKind.VALIDATION
    assert (error.line, error.column) == (line, column)
    assert word in error.message


@pytest.mark.parametrize(
    ("code", "word"),
    [
        ("eval('1+1')\n", "eval"),
        ("exec('x=1')\n", "exec"),
        ("compile('1', 'f', 'eval')\n", "compile"),
        ("__import__('os')\n", "__import__"),
        ("f = eval\n", "eval"),
        ("x = ().__class__.__mro__[1].__subclasses__()\n", "__subclasses__"),
        ("x = ().__class__\n", "__class__"),
        ("g = (lambda: 0).__globals__\n", "__globals__"),
        ("b = __builtins__\n", "__builtins__"),
        ("import os\nos.system('id')\n", "system"),
        ("import os\nos.execv('/bin/sh', [])\n", "execv"),
        ("import os\nos.fork()\n", "fork"),
        ("import os\nos.kill(1, 9)\n", "kill"),
        ("import os\nos.popen('id')\n", "popen"),
        ("import sys\nsys.modules['os']\n", "modules"),
        ("import numpy as np\nnp.ctypeslib\n", "ctypeslib"),
        ("getattr(int, '__subclasses__')()\n", "__subclasses__"),
        ("def f():\n    pass\nf.__code__\n", "__code__"),
        ("from os import system\n", "system"),
        ("from os import *\nsystem('id')\n", "'from os import *' is not allowed: import the names you use"),
        ("import string\nstring.Formatter().get_field('0.__class__', [()], {})\n", "get_field"),
        ("from string import Formatter\n", "Formatter"),
        ("f = {}\nf['__builtins__']\n", "access to '__builtins__' by subscript is not allowed"),
        ("from numpy import *\n", "'from numpy import *' is not allowed"),
        ("import sys\nsys._getframe()\n", "_getframe"),
    ],
)
def test_denied_calls_and_attributes_are_refused(code: str, word: str) -> None:
    error = _rejected(code)
    assert error.kind == ErrorKind.VALIDATION
    assert word in error.message
    assert error.line is not None
    assert f"line {error.line}" in error.message


def test_oversized_program_is_refused() -> None:
    error = _rejected("x = 1\n" * 100, policy=ValidationPolicy(max_code_bytes=100))
    assert "bytes" in error.message


def test_deeply_nested_program_is_refused_not_crashing() -> None:
    with pytest.raises(ProgramRejected):
        validate_program("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n")


def test_null_bytes_are_a_syntax_refusal() -> None:
    assert _rejected("x = 1\x00\n").kind == ErrorKind.SYNTAX


def test_resources_within_policy_pass() -> None:
    validate_resources(Resources())
    validate_resources(Resources(cpu="500m", memory_mb=1024), ValidationPolicy(max_memory_mb=1024))


@pytest.mark.parametrize(
    ("resources", "policy", "field"),
    [
        ({"memoryMB": 4096}, ValidationPolicy(max_memory_mb=2048), "spec.resources.memoryMB"),
        ({"cpu": "4"}, ValidationPolicy(max_cpu_cores=2), "spec.resources.cpu"),
        (
            {"timeoutSeconds": 7200},
            ValidationPolicy(max_timeout_seconds=3600),
            "spec.resources.timeoutSeconds",
        ),
        (
            {"maxFileSizeMB": 500},
            ValidationPolicy(max_file_size_mb=100),
            "spec.resources.maxFileSizeMB",
        ),
        ({"networkAccess": True}, ValidationPolicy(), "spec.resources.networkAccess"),
    ],
)
def test_resource_requests_above_policy_name_the_field(
    resources: dict[str, object], policy: ValidationPolicy, field: str
) -> None:
    with pytest.raises(ResourcesRejected) as caught:
        validate_resources(Resources.model_validate(resources), policy)
    assert caught.value.field == field
    assert caught.value.kind == ErrorKind.VALIDATION
    assert caught.value.message.startswith(field)


def test_network_is_allowed_only_when_the_policy_allows_it() -> None:
    validate_resources(Resources(network_access=True), ValidationPolicy(allow_network=True))


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ('import os\ngetattr(os, "sys" + "tem")("id")\n', "getattr() with a computed attribute name"),
        ('import os\nname = "fork"\nhasattr(os, name)\n', "hasattr() with a computed attribute name"),
        ('import operator, os\noperator.attrgetter("sys" + "tem")(os)\n', "attrgetter() with a computed"),
        ('import operator, os\noperator.attrgetter("path.__class__")(os)\n', "attrgetter() of attribute '__class__'"),
        ('import operator\noperator.methodcaller("__reduce__")\n', "methodcaller() of attribute '__reduce__'"),
        ("from operator import attrgetter as pick\n", "importing 'attrgetter' under another name"),
        ("reach = getattr\n", "getattr may only be called directly"),
        ("import operator\nreach = operator.attrgetter\n", "attrgetter may only be called directly"),
    ],
)
def test_attributes_reached_by_computed_names_are_refused(code: str, reason: str) -> None:
    with pytest.raises(ProgramRejected) as caught:
        validate_program(code)
    assert caught.value.kind == ErrorKind.VALIDATION
    assert reason in caught.value.message


def test_reflection_with_literal_harmless_names_stays_allowed() -> None:
    validate_program(
        "import operator\nimport numpy as np\n"
        "x = getattr(np, 'float64', None)\nkey = operator.attrgetter('real')\nresults = {}\n"
    )
