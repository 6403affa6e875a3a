"""CodeGenerator: experiment type + parameters -> the Python program that runs in the sandbox.

Called by the CLI (``kosmos run``), the operator and library users. Templates are jinja2 files
rendered in jinja2's ``SandboxedEnvironment`` with ``StrictUndefined``. Parameters reach a
program only as data: every ``{{ ... }}`` output is finalised into a Python literal (a string
is rendered with ``repr``), so no parameter, column name or template expression can become code
text. Built-in templates load their validated parameters from one JSON string literal.

Custom templates live in ``template_dirs`` as ``<name>.py.j2`` beside ``<name>.schema.json``
(a JSON Schema for the parameters), or come as ``template_files``, the same file names mapped to
their text (the ``data`` of a ConfigMap named in the operator's settings). Built-in names take
precedence, then ``template_files``, then the directories in order.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import ValidationError

from kosmos.api.errors import ErrorKind, KosmosError, ManifestError
from kosmos.api.spec import BUILTIN_TYPES, ExperimentSpec, InputFormat, InputSpec
from kosmos.execution.template_params import PARAMETER_MODELS, TemplateParameters

__all__ = [
    "BUILTIN_TEMPLATE_DIR",
    "CodeGenerator",
    "GeneratedProgram",
    "TemplateError",
    "code_hash",
]

BUILTIN_TEMPLATE_DIR = Path(__file__).parent / "templates"
_TEMPLATE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class TemplateError(KosmosError):
    """A template could not be loaded or rendered (for example it touched a forbidden attribute)."""

    kind = ErrorKind.VALIDATION


@dataclass(frozen=True)
class GeneratedProgram:
    """The program for one spec: its source, ``sha256:<hex>`` hash and normalised parameters."""

    code: str
    code_hash: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    experiment_type: str | None = None


def code_hash(code: str) -> str:
    """``sha256:<hex>`` of the program text (UTF-8), as recorded in ``status.codeHash``."""
    return "sha256:" + hashlib.sha256(code.encode("utf-8")).hexdigest()


def _python_literal(value: Any) -> str:
    """jinja ``finalize``: render any template output as an inert Python literal."""
    if isinstance(value, jinja2.Undefined):  # StrictUndefined raises on str(); keep that error
        return str(value)
    _assert_plain_data(value, depth=0)
    return repr(value)


def _assert_plain_data(value: Any, depth: int) -> None:
    if depth > 100:
        raise TemplateError("template output nests data more than 100 levels deep")
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TemplateError(f"template output {value!r} is not a finite number")
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _assert_plain_data(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TemplateError(f"template output has a non-string key {key!r}")
            _assert_plain_data(item, depth + 1)
        return
    raise TemplateError(
        "a template may output only data (str, number, bool, None, list, dict), "
        f"got {type(value).__name__}"
    )


def _json_text(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, ensure_ascii=True, allow_nan=False, separators=(",", ":")
    )


def _environment(directories: Iterable[Path], files: Mapping[str, str]) -> SandboxedEnvironment:
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(str(BUILTIN_TEMPLATE_DIR)),
            jinja2.DictLoader({k: v for k, v in files.items() if k.endswith(".py.j2")}),
            jinja2.FileSystemLoader([str(d) for d in directories]),
        ]
    )
    return SandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        finalize=_python_literal,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def _format_value(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _pydantic_error(exc: ValidationError, raw: Mapping[str, Any], prefix: str) -> ManifestError:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    path = ".".join([prefix, *loc]) if loc else prefix
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if error["type"] == "missing":
        return ManifestError(f"{path}: required parameter is missing", field=path)
    if error["type"] == "extra_forbidden":
        return ManifestError(
            f"{path}: unknown parameter (value {_format_value(error['input'])})", field=path
        )
    if not loc:  # a model-level rule: the message names the parameters involved
        return ManifestError(f"{prefix}: {message}", field=prefix)
    return ManifestError(
        f"{path}: got {_format_value(error['input'])}; {message[0].lower()}{message[1:]}",
        field=path,
    )


def _csv_frame(spec_input: InputSpec) -> Any:
    """An inline CSV input as the runner's pandas will read it, or None (not inline CSV)."""
    if spec_input.inline is None or spec_input.format != InputFormat.CSV:
        return None
    import pandas as pd  # noqa: PLC0415 - only needed when a spec has inline CSV

    try:
        return pd.read_csv(io.StringIO(spec_input.inline))
    except Exception:  # the runner reports unreadable data as errorKind data
        return None


def _first_non_number(series: Any) -> Any:
    """The first value that is present but not a number, or None when the column is numeric."""
    import pandas as pd  # noqa: PLC0415

    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    return series[bad].iloc[0] if bad.any() else None


class CodeGenerator:
    """Turn an experiment type and parameters (or a whole spec) into a Python program."""

    def __init__(
        self,
        template_dirs: Iterable[str | Path] = (),
        *,
        template_files: Mapping[str, str] | None = None,
    ) -> None:
        self.template_dirs = tuple(Path(d) for d in template_dirs)
        self.template_files = dict(template_files or {})
        self._env = _environment(self.template_dirs, self.template_files)

    # -- discovery -----------------------------------------------------------------------

    def custom_templates(self) -> list[str]:
        """Names of the custom templates in ``template_files`` and ``template_dirs``."""
        names = {key[: -len(".py.j2")] for key in self.template_files if key.endswith(".py.j2")}
        names = {n for n in names if _TEMPLATE_NAME.match(n) and n not in BUILTIN_TYPES}
        for directory in self.template_dirs:
            for path in directory.glob("*.py.j2"):
                name = path.name[: -len(".py.j2")]
                if _TEMPLATE_NAME.match(name) and name not in BUILTIN_TYPES:
                    names.add(name)
        return sorted(names)

    def _schema_text(self, name: str) -> tuple[str, str] | None:
        """(where, JSON text) of a custom template's schema, or None when it has none."""
        if f"{name}.py.j2" in self.template_files:
            text = self.template_files.get(f"{name}.schema.json")
            return None if text is None else (f"template_files[{name}.schema.json]", text)
        for directory in self.template_dirs:
            if (directory / f"{name}.py.j2").is_file():
                schema = directory / f"{name}.schema.json"
                if not schema.is_file():
                    return None
                return str(schema), schema.read_text(encoding="utf-8")
        return None

    def _known(self, experiment_type: str, field_path: str) -> None:
        if experiment_type in BUILTIN_TYPES:
            return
        if _TEMPLATE_NAME.match(experiment_type) and experiment_type in self.custom_templates():
            return
        custom = self.custom_templates()
        expected = ", ".join(BUILTIN_TYPES)
        where = (
            f" or a custom template ({', '.join(custom)})"
            if custom
            else (
                " or a custom template in " + ", ".join(map(str, self.template_dirs))
                if self.template_dirs
                else ""
            )
        )
        raise ManifestError(
            f"{field_path}: unknown experiment type {_format_value(experiment_type)}; "
            f"expected one of {expected}{where}",
            field=field_path,
        )

    # -- parameters ----------------------------------------------------------------------

    def validate_parameters(
        self,
        experiment_type: str,
        parameters: Mapping[str, Any] | None,
        *,
        prefix: str = "parameters",
    ) -> dict[str, Any]:
        """Validate ``parameters`` for the type; return them normalised (snake_case, defaults)."""
        type_path = "spec.type" if prefix.startswith("spec.") else "experiment_type"
        self._known(experiment_type, type_path)
        raw = dict(parameters or {})
        model = PARAMETER_MODELS.get(experiment_type)
        if model is not None:
            return self._validated_model(model, raw, prefix).normalised()
        return self._validated_custom(experiment_type, raw, prefix)

    def _validated_model(
        self, model: type[TemplateParameters], raw: dict[str, Any], prefix: str
    ) -> TemplateParameters:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise _pydantic_error(exc, raw, prefix) from None

    def _validated_custom(self, name: str, raw: dict[str, Any], prefix: str) -> dict[str, Any]:
        import jsonschema  # noqa: PLC0415 - only custom templates need it

        found = self._schema_text(name)
        if found is None:
            raise TemplateError(f"custom template {name!r} has no {name}.schema.json beside it")
        schema_path, schema_text = found
        try:
            schema = json.loads(schema_text)
            validator_cls = jsonschema.validators.validator_for(schema)
            validator_cls.check_schema(schema)
        except (OSError, ValueError, jsonschema.SchemaError) as exc:
            raise TemplateError(
                f"custom template {name!r}: invalid schema {schema_path}: {exc}"
            ) from None
        errors = sorted(
            validator_cls(schema).iter_errors(raw), key=lambda e: [str(p) for p in e.absolute_path]
        )
        if errors:
            error = errors[0]
            path = ".".join([prefix, *(str(p) for p in error.absolute_path)])
            raise ManifestError(f"{path}: {error.message}", field=path)
        try:
            _json_text(raw)
        except (TypeError, ValueError) as exc:
            raise ManifestError(
                f"{prefix}: parameters must be plain JSON data ({exc})", field=prefix
            ) from None
        return raw

    # -- rendering -----------------------------------------------------------------------

    def _render(self, experiment_type: str, parameters: dict[str, Any], domain: str | None) -> str:
        name = f"{experiment_type}.py.j2"
        try:
            template = self._env.get_template(name)
            return template.render(
                experiment_type=experiment_type,
                parameters=parameters,
                parameters_json=_json_text(parameters),
                domain=domain,
            )
        except SecurityError as exc:
            raise TemplateError(
                f"template {experiment_type!r} was refused by the sandboxed template "
                f"environment: {exc}"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template {experiment_type!r} line {exc.lineno}: {exc.message}"
            ) from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(
                f"template {experiment_type!r} used an undefined value: {exc.message}"
            ) from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {experiment_type!r} failed to render: {exc}") from None

    def generate(
        self,
        experiment_type: str,
        parameters: Mapping[str, Any] | None = None,
        domain: str | None = None,
    ) -> str:
        """Return the program for ``experiment_type`` with ``parameters`` (documented library API).

        The same inputs always give the same text (see :func:`code_hash`).

        Raises
        ------
        ManifestError
            A wrong type or parameter, naming it (``parameters.test``).
        TemplateError
            The template could not be rendered (kind ``validation``).
        """
        normalised = self.validate_parameters(experiment_type, parameters)
        return self._render(experiment_type, normalised, domain)

    def program_for(self, spec: ExperimentSpec) -> GeneratedProgram:
        """The program a spec runs: ``spec.code`` itself, or its template rendered."""
        if spec.code is not None:
            return GeneratedProgram(
                code=spec.code,
                code_hash=code_hash(spec.code),
                parameters=dict(spec.parameters),
                experiment_type=spec.type,
            )
        assert spec.type is not None  # ExperimentSpec requires type or code
        normalised = self.validate_parameters(spec.type, spec.parameters, prefix="spec.parameters")
        code = self._render(spec.type, normalised, spec.domain)
        return GeneratedProgram(
            code=code, code_hash=code_hash(code), parameters=normalised, experiment_type=spec.type
        )

    def check_spec(self, spec: ExperimentSpec) -> None:
        """Check a spec before anything runs; a ManifestError names field, value and expectation."""
        if spec.code is not None:
            return
        assert spec.type is not None
        self.validate_parameters(spec.type, spec.parameters, prefix="spec.parameters")
        model = PARAMETER_MODELS.get(spec.type)
        if model is None:
            return
        params = self._validated_model(model, dict(spec.parameters), "spec.parameters")
        target = self._input_for(spec, params)
        if target is None:
            return
        frame = _csv_frame(target)
        if frame is None:
            return
        columns = [str(column) for column in frame.columns]
        for path, column in params.column_references():
            if column not in columns:
                field_path = f"spec.parameters.{path}"
                raise ManifestError(
                    f'{field_path}: column {_format_value(column)} is not in input "{target.name}" '
                    f"(columns: {', '.join(columns)})",
                    field=field_path,
                )
        for path, column in params.numeric_references():
            example = _first_non_number(frame[column])
            if example is not None:
                field_path = f"spec.parameters.{path}"
                raise ManifestError(
                    f'{field_path}: column {_format_value(column)} of input "{target.name}" must '
                    f"be numeric, but holds {_format_value(str(example))}",
                    field=field_path,
                )

    def _input_for(self, spec: ExperimentSpec, params: TemplateParameters) -> InputSpec | None:
        if not params.needs_input():
            return None
        wanted = params.input_name()
        by_name = {item.name: item for item in spec.inputs}
        if wanted is not None:
            if wanted not in by_name:
                source = _source_field(params)
                field_path = f"spec.parameters.{source}"
                known = ", ".join(by_name) or "none"
                raise ManifestError(
                    f"{field_path}: input {_format_value(wanted)} is not among spec.inputs "
                    f"(inputs: {known})",
                    field=field_path,
                )
            return by_name[wanted]
        if not spec.inputs:
            raise ManifestError(
                f"spec.inputs: a {spec.type} experiment needs an input dataset, got none",
                field="spec.inputs",
            )
        return by_name.get("dataset", spec.inputs[0])


def _source_field(params: TemplateParameters) -> str:
    return "input" if "input" in type(params).model_fields else "dataSource"
