"""Custom templates from a directory: schema validation, rendering as data, the sandboxed jinja."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from kosmos.api.errors import ErrorKind, ManifestError
from kosmos.api.spec import ExperimentSpec
from kosmos.execution.code_generator import CodeGenerator, TemplateError
from kosmos.execution.validator import validate_program
from kosmos.testing.factories import SLEEP_CSV
from kosmos.testing.programs import run_program

REPO = Path(__file__).resolve().parents[3]

QUANTILES_TEMPLATE = '''"""Custom template: quantiles of one column of the input "dataset"."""

import json

import numpy as np

PARAMETERS = json.loads({{ parameters_json }})
COLUMN = {{ parameters.column }}
{% for q in parameters.quantiles %}
# quantile {{ loop.index }}: {{ q }}
{% endfor %}

values = input_data["dataset"][COLUMN].dropna().to_numpy(dtype=float)
results = {
    "column": COLUMN,
    "n": int(values.size),
    "quantiles": {str(q): float(np.quantile(values, q)) for q in PARAMETERS["quantiles"]},
    "statistics": [],
}
'''

QUANTILES_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "column": {"type": "string", "minLength": 1},
        "quantiles": {
            "type": "array",
            "items": {"type": "number", "minimum": 0, "maximum": 1},
            "minItems": 1,
        },
    },
    "required": ["column", "quantiles"],
    "additionalProperties": False,
}


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "templates"
    directory.mkdir()
    (directory / "quantiles.py.j2").write_text(QUANTILES_TEMPLATE, encoding="utf-8")
    (directory / "quantiles.schema.json").write_text(json.dumps(QUANTILES_SCHEMA), encoding="utf-8")
    return directory


def _write(
    directory: Path, name: str, template: str, schema: dict[str, object] | None = None
) -> None:
    (directory / f"{name}.py.j2").write_text(template, encoding="utf-8")
    if schema is not None:
        (directory / f"{name}.schema.json").write_text(json.dumps(schema), encoding="utf-8")


def test_a_custom_template_is_listed_validated_rendered_and_runs(
    template_dir: Path, tmp_path: Path
) -> None:
    generator = CodeGenerator(template_dirs=[template_dir])
    assert generator.custom_templates() == ["quantiles"]
    code = generator.generate("quantiles", {"column": "extra", "quantiles": [0.25, 0.5, 0.75]})
    validate_program(code)
    assert "COLUMN = 'extra'" in code
    envelope = run_program(code, tmp_path / "run", inputs={"dataset": ("csv", SLEEP_CSV)})
    assert envelope["success"], envelope["error"]
    extra = [
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
    ]
    assert envelope["results"]["quantiles"]["0.5"] == pytest.approx(float(np.quantile(extra, 0.5)))
    assert envelope["results"]["n"] == 20


def test_custom_parameters_failing_the_schema_name_the_field(template_dir: Path) -> None:
    generator = CodeGenerator(template_dirs=[template_dir])
    spec = ExperimentSpec.model_validate(
        {"type": "quantiles", "parameters": {"column": "extra", "quantiles": [0.5, 2]}}
    )
    with pytest.raises(ManifestError) as caught:
        generator.check_spec(spec)
    assert caught.value.field == "spec.parameters.quantiles.1"
    assert "2" in caught.value.message
    with pytest.raises(ManifestError) as caught:
        generator.generate("quantiles", {"column": "extra"})
    assert "quantiles" in caught.value.message


def test_unknown_custom_template_names_spec_type_and_the_known_ones(template_dir: Path) -> None:
    spec = ExperimentSpec.model_validate({"type": "quantile", "parameters": {}})
    with pytest.raises(ManifestError) as caught:
        CodeGenerator(template_dirs=[template_dir]).check_spec(spec)
    assert caught.value.field == "spec.type"
    assert '"quantile"' in caught.value.message
    assert "quantiles" in caught.value.message


def test_builtin_names_cannot_be_shadowed_by_a_custom_template(tmp_path: Path) -> None:
    _write(tmp_path, "statistical_test", "results = {'hijacked': True}\n", {"type": "object"})
    code = CodeGenerator(template_dirs=[tmp_path]).generate(
        "statistical_test", {"test": "ttest", "value": "v", "group": "g"}
    )
    assert "hijacked" not in code


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ parameters.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}",
        "{{ parameters.column.__class__.__base__.__subclasses__() }}",
    ],
)
def test_a_template_touching_a_forbidden_attribute_fails_in_the_sandboxed_environment(
    tmp_path: Path, expression: str
) -> None:
    _write(tmp_path, "sneaky", f"x = {expression}\nresults = {{}}\n", {"type": "object"})
    with pytest.raises(TemplateError) as caught:
        CodeGenerator(template_dirs=[tmp_path]).generate("sneaky", {"column": "a"})
    assert caught.value.kind == ErrorKind.VALIDATION
    assert "sandboxed template environment" in caught.value.message
    assert "unsafe" in caught.value.message


def test_a_template_may_output_only_data(tmp_path: Path) -> None:
    _write(tmp_path, "leaky", "x = {{ parameters.items() }}\n", {"type": "object"})
    with pytest.raises(TemplateError) as caught:
        CodeGenerator(template_dirs=[tmp_path]).generate("leaky", {"a": 1})
    assert "only data" in caught.value.message


def test_an_undefined_template_variable_is_an_error_not_an_empty_string(tmp_path: Path) -> None:
    _write(tmp_path, "typo", "x = {{ paramters }}\n", {"type": "object"})
    with pytest.raises(TemplateError) as caught:
        CodeGenerator(template_dirs=[tmp_path]).generate("typo", {})
    assert "paramters" in caught.value.message


def test_a_custom_template_without_a_schema_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "unschema", "results = {}\n")
    with pytest.raises(TemplateError) as caught:
        CodeGenerator(template_dirs=[tmp_path]).generate("unschema", {})
    assert "schema" in caught.value.message


def test_an_invalid_schema_is_reported_as_a_template_error(tmp_path: Path) -> None:
    _write(tmp_path, "badschema", "results = {}\n", {"type": "no-such-type"})
    with pytest.raises(TemplateError):
        CodeGenerator(template_dirs=[tmp_path]).generate("badschema", {})


@pytest.mark.sandbox
def test_kosmos_run_runs_a_custom_template_from_a_directory(
    template_dir: Path, tmp_path: Path
) -> None:
    manifest = {
        "apiVersion": "kosmos.dev/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "sleep-quantiles"},
        "spec": {
            "type": "quantiles",
            "parameters": {"column": "extra", "quantiles": [0.5]},
            "inputs": [{"name": "dataset", "format": "csv", "inline": SLEEP_CSV}],
        },
    }
    path = tmp_path / "quantiles.yaml"
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kosmos.cli",
            "run",
            str(path),
            "--template-dir",
            str(template_dir),
            "-o",
            "json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    status = json.loads(done.stdout)["status"]
    assert status["phase"] == "Succeeded"
    assert status["results"]["quantiles"]["0.5"] == pytest.approx(0.95)


def test_custom_templates_from_configmap_style_files_run_through_the_same_path(
    tmp_path: Path,
) -> None:
    files = {
        "quantiles.py.j2": QUANTILES_TEMPLATE,
        "quantiles.schema.json": json.dumps(QUANTILES_SCHEMA),
    }
    generator = CodeGenerator(template_files=files)
    assert generator.custom_templates() == ["quantiles"]
    code = generator.generate("quantiles", {"column": "extra", "quantiles": [0.5]})
    envelope = run_program(code, tmp_path, inputs={"dataset": ("csv", SLEEP_CSV)})
    assert envelope["results"]["quantiles"]["0.5"] == pytest.approx(0.95)
    with pytest.raises(ManifestError) as caught:
        generator.generate("quantiles", {"column": 3, "quantiles": [0.5]})
    assert caught.value.field == "parameters.column"


def test_a_configmap_template_without_its_schema_is_refused() -> None:
    generator = CodeGenerator(template_files={"lonely.py.j2": "results = {}\n"})
    with pytest.raises(TemplateError) as caught:
        generator.generate("lonely", {})
    assert "lonely.schema.json" in caught.value.message


def test_kosmos_run_reports_a_refused_custom_template_as_a_failed_validation(tmp_path: Path) -> None:
    _write(tmp_path, "evil", "X = {{ ''.__class__.__mro__ }}\nresults = {}\n", {"type": "object"})
    manifest = {
        "apiVersion": "kosmos.dev/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "evil"},
        "spec": {"type": "evil", "inputs": [{"name": "dataset", "format": "csv", "inline": SLEEP_CSV}]},
    }
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "kosmos.cli", "run", str(path), "--template-dir", str(tmp_path),
         "-o", "json"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    status = json.loads(done.stdout)["status"]
    assert status["phase"] == "Failed"
    assert status["execution"]["errorKind"] == "validation"
    assert "sandboxed template environment" in status["execution"]["error"]
    assert "__class__" in status["execution"]["error"]
