"""Hostile parameters cannot change a generated program beyond its data.

Every string a user controls (column names, input names, free text such as ``domain``,
expressions, custom-template parameters) is either refused by the parameter schema or reaches
the program as one inert data literal: the program's syntax tree with a hostile value equals
the tree with a benign one except for that one string constant, the constant decodes back to
exactly the value given, and running the program does what the template says and nothing else.
"""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kosmos.api.errors import ManifestError
from kosmos.execution.code_generator import CodeGenerator
from kosmos.execution.expression import ExpressionError, parse_expression
from kosmos.execution.validator import validate_program
from kosmos.testing.programs import run_program

HOSTILE = [
    "'; import os; os.system('id'); '",
    '"; __import__("os").system("id"); "',
    '"""\nimport os\nos.system(\'id\')\n"""',
    "'''); __import__('pathlib').Path('PWNED').touch(); ('''",
    "x\n# comment\nimport subprocess",
    "value # __import__('pathlib').Path('PWNED').touch()",
    "{{ 7*7 }}",
    "{% for x in range(3) %}PWNED{% endfor %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{# comment #}",
    "}}; __import__('pathlib').Path('PWNED').touch(); {{",
    "\\",
    "\\'); __import__('pathlib').Path('PWNED').touch(); #",
    "a\rb",
    "a\u2028b",
    "a\x00b",
    "__builtins__",
    "json.loads",
    "\U0001f600 ünïcödé",
    "x" * 256,
]


def _tree_differences(first: ast.AST, second: ast.AST) -> list[tuple[Any, Any]]:
    """Walk two syntax trees in step; return differing constants, fail on any other difference."""
    differences: list[tuple[Any, Any]] = []

    def walk(a: Any, b: Any) -> None:
        if isinstance(a, ast.Constant) and isinstance(b, ast.Constant):
            if a.value != b.value or type(a.value) is not type(b.value):
                differences.append((a.value, b.value))
            return
        assert type(a) is type(b), f"node {type(a).__name__} became {type(b).__name__}"
        if isinstance(a, ast.AST):
            for field in a._fields:
                walk(getattr(a, field), getattr(b, field))
        elif isinstance(a, list):
            assert len(a) == len(b), "a list of statements or expressions changed length"
            for x, y in zip(a, b, strict=True):
                walk(x, y)
        else:
            assert a == b, f"{a!r} became {b!r}"

    walk(first, second)
    return differences


def _parameters_literal(code: str) -> dict[str, Any]:
    """The dict the program's PARAMETERS = json.loads('...') line decodes to."""
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "PARAMETERS":
            call = node.value
            assert isinstance(call, ast.Call)
            assert isinstance(call.args[0], ast.Constant)
            value: dict[str, Any] = json.loads(call.args[0].value)
            return value
    raise AssertionError("no PARAMETERS assignment")


def _generate_or_refuse(
    experiment_type: str, parameters: dict[str, Any], domain: str | None = None
) -> str | None:
    try:
        return CodeGenerator().generate(experiment_type, parameters, domain=domain)
    except ManifestError:
        return None


def _assert_only_data_changed(benign: str, hostile: str, key: str, value: str) -> None:
    differences = _tree_differences(ast.parse(benign), ast.parse(hostile))
    assert len(differences) == 1, differences
    assert _parameters_literal(hostile)[key] == value
    validate_program(hostile)


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("key", ["value", "group"])
def test_hostile_column_names_are_refused_or_change_only_one_data_literal(
    key: str, value: str
) -> None:
    base = {"test": "ttest", "value": "extra", "group": "group"}
    benign = CodeGenerator().generate("statistical_test", base)
    hostile = _generate_or_refuse("statistical_test", {**base, key: value})
    if hostile is None:
        assert any(ch in value for ch in "\r\n\x00") or len(value) > 256
        return
    _assert_only_data_changed(benign, hostile, key, value)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_free_text_domain_stays_one_string_literal(value: str) -> None:
    parameters = {"test": "ttest", "value": "extra", "group": "group"}
    benign = CodeGenerator().generate("statistical_test", parameters, domain="biology")
    hostile = CodeGenerator().generate("statistical_test", parameters, domain=value)
    differences = _tree_differences(ast.parse(benign), ast.parse(hostile))
    assert differences == [("biology", value)]


@pytest.mark.parametrize("experiment_type", ["data_analysis", "ml_training"])
@pytest.mark.parametrize("value", HOSTILE[:12])
def test_hostile_variables_and_targets_in_other_templates_are_inert(
    experiment_type: str, value: str
) -> None:
    if experiment_type == "data_analysis":
        key = "variables"
        base: dict[str, Any] = {"analysis_method": "correlation", "variables": ["a", "b"]}
        hostile_parameters = {**base, "variables": ["a", value]}
        expected: Any = ["a", value]
    else:
        key = "target"
        base = {"target": "species"}
        hostile_parameters = {"target": value}
        expected = value
    benign = CodeGenerator().generate(experiment_type, base)
    hostile = _generate_or_refuse(experiment_type, hostile_parameters)
    if hostile is None:
        assert any(ch in value for ch in "\r\n\x00")
        return
    differences = _tree_differences(ast.parse(benign), ast.parse(hostile))
    assert len(differences) == 1
    assert _parameters_literal(hostile)[key] == expected


def test_randomly_built_strings_from_dangerous_characters_never_change_the_program_shape() -> None:
    rng = random.Random(20261203)  # noqa: S311 - reproducible test data, not secrets
    alphabet = [
        *list("'\"\\{}%#()[];:.,=_ \t\n\rabcxyz01"),
        "{{",
        "}}",
        "{%",
        "%}",
        "'''",
        '"""',
        "\\n",
        "\u2028",
    ]
    base = {"test": "correlation", "x": "a", "y": "b"}
    benign = CodeGenerator().generate("statistical_test", base)
    accepted = 0
    for _ in range(400):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        if value == base["x"]:
            continue
        hostile = _generate_or_refuse("statistical_test", {**base, "x": value})
        if hostile is None:
            assert any(ch in value for ch in "\r\n\t")
            continue
        accepted += 1
        _assert_only_data_changed(benign, hostile, "x", value)
    assert accepted > 100


def _csv_with_columns(value_name: str, group_name: str) -> str:
    frame = pd.DataFrame(
        {
            value_name: [
                0.7,
                -1.6,
                -0.2,
                -1.2,
                -0.1,
                3.4,
                3.7,
                0.8,
                0.0,
                2.0,
                1.9,
                0.8,
                1.1,
                0.1,
                -0.1,
                4.4,
                5.5,
                1.6,
                4.6,
                3.4,
            ],
            group_name: [1] * 10 + [2] * 10,
        }
    )
    text: str = frame.to_csv(index=False)
    return text


RUNNABLE = [v for v in HOSTILE if not any(ch in v for ch in "\r\n\x00\u2028") and v != "x" * 256]


@pytest.mark.parametrize("value", RUNNABLE[:8])
def test_a_program_with_hostile_column_names_computes_the_test_and_nothing_else(
    value: str, tmp_path: Path
) -> None:
    group_name = "g " + value
    code = CodeGenerator().generate(
        "statistical_test", {"test": "ttest", "value": value, "group": group_name}
    )
    csv = _csv_with_columns(value, group_name)
    assert list(pd.read_csv(pd.io.common.StringIO(csv)).columns) == [value, group_name]
    envelope = run_program(code, tmp_path, inputs={"dataset": ("csv", csv)})
    assert envelope["success"], envelope["error"]
    assert envelope["results"]["statistics"][0]["statistic"] == pytest.approx(-1.8608134674868526)
    assert not (tmp_path / "PWNED").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["program.py", "dataset.csv", "job.json", "result.json", "artifacts"]
    )
    assert "uid=" not in envelope["stdout"]


@pytest.mark.parametrize(
    "objective",
    [
        "__import__('os').system('id')",
        "().__class__.__mro__",
        "x.__class__",
        "lambda: 1",
        "[x for x in (1, 2)]",
        "'text'",
        "x; import os",
        "open('f')",
        "eval('1')",
        "np.exp(x)",
        "x if True else y",
        "{{ x }}",
        "sin(x, key=1)",
        "_private + x",
        "x" + "+x" * 3000,
    ],
)
def test_objective_expressions_outside_the_safe_subset_are_refused_before_anything_runs(
    objective: str,
) -> None:
    with pytest.raises(ManifestError) as caught:
        CodeGenerator().generate(
            "optimization", {"objective": objective, "variables": {"x": [0, 1], "y": [0, 1]}}
        )
    assert "objective" in caught.value.message
    with pytest.raises(ExpressionError):
        parse_expression(objective)


def test_safe_expressions_evaluate_without_eval() -> None:
    expression = parse_expression(
        "where(x > 0, sqrt(x), -x**2) + max(x, 1) * pi", allowed_names={"x"}
    )
    assert float(expression.evaluate({"x": 4.0})) == pytest.approx(2 + 4 * 3.141592653589793)
    assert expression.names == frozenset({"x"})


def test_custom_template_parameters_with_jinja_delimiters_are_not_rendered_again(
    tmp_path: Path,
) -> None:
    (tmp_path / "echo.py.j2").write_text(
        "VALUE = {{ parameters.text }}\nresults = {'text': VALUE}\n", encoding="utf-8"
    )
    (tmp_path / "echo.schema.json").write_text(
        json.dumps(
            {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
        ),
        encoding="utf-8",
    )
    for value in HOSTILE:
        code = CodeGenerator(template_dirs=[tmp_path]).generate("echo", {"text": value})
        module = ast.parse(code)
        assert len(module.body) == 2
        assert ast.literal_eval(module.body[0].value) == value  # type: ignore[attr-defined]


def test_ml_model_parameters_are_restricted_to_known_hyperparameters() -> None:
    with pytest.raises(ManifestError) as caught:
        CodeGenerator().generate(
            "ml_training",
            {"target": "y", "model": "svm", "modelParams": {"kernel": "__import__('os')"}},
        )
    assert "kernel" in caught.value.message
    with pytest.raises(ManifestError):
        CodeGenerator().generate(
            "ml_training", {"target": "y", "model": "knn", "modelParams": {"n_estimators": 10}}
        )
    with pytest.raises(ManifestError):
        CodeGenerator().generate("ml_training", {"target": "y", "modelParams": {"__class__": 1}})
