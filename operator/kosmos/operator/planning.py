"""From an Experiment body to a RunPlan: parse, apply the operator's policy, generate, validate.

Pure (the code generator and validator are pure). Raises ``KosmosError`` subclasses whose
``kind`` is ``validation`` or ``syntax``; the caller turns them into a Failed status at once.
Called by reconcile and render.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from kosmos.api.errors import ManifestError
from kosmos.api.manifest import manifest_error_from
from kosmos.api.spec import ExperimentSpec
from kosmos.operator.naming import RunPlan
from kosmos.operator.settings import OperatorSettings

__all__ = ["ProgramSource", "check_policy", "generation_of", "plan_for", "spec_of"]


class ProgramSource(Protocol):
    """What the operator needs of ``kosmos.execution.code_generator.CodeGenerator``."""

    def check_spec(self, spec: ExperimentSpec) -> None: ...

    def program_for(self, spec: ExperimentSpec) -> Any: ...


def generation_of(body: Mapping[str, Any]) -> int:
    """metadata.generation (1 when the API server did not set it, e.g. in ``kosmos render``)."""
    return int(body.get("metadata", {}).get("generation") or 1)


def spec_of(body: Mapping[str, Any]) -> ExperimentSpec:
    """The typed spec, or a ManifestError naming each bad field."""
    try:
        return ExperimentSpec.model_validate(body.get("spec") or {})
    except ValidationError as exc:
        raise manifest_error_from(exc, prefix=("spec",)) from exc


def check_policy(spec: ExperimentSpec, settings: OperatorSettings) -> None:
    """Refuse what the operator's policy forbids: limits above the maxima, network, runtime."""
    limits, res = settings.limits, spec.resources
    checks = [
        (res.cpu_cores > limits.max_cpu_cores, "spec.resources.cpu", res.cpu, f"at most {limits.max_cpu_cores} cores"),
        (res.memory_mb > limits.max_memory_mb, "spec.resources.memoryMB", res.memory_mb, f"at most {limits.max_memory_mb}"),
        (res.timeout_seconds > limits.max_timeout_seconds, "spec.resources.timeoutSeconds", res.timeout_seconds,
         f"at most {limits.max_timeout_seconds}"),
        (res.max_file_size_mb > limits.max_file_size_mb, "spec.resources.maxFileSizeMB", res.max_file_size_mb,
         f"at most {limits.max_file_size_mb}"),
        (res.network_access and not settings.sandbox.allow_network, "spec.resources.networkAccess", True,
         "false: the operator's policy does not allow network access"),
    ]
    allowed = settings.sandbox.allowed_runtime_classes
    if spec.runtime_class_name and allowed:
        checks.append((spec.runtime_class_name not in allowed, "spec.runtimeClassName", spec.runtime_class_name,
                       f"one of {', '.join(allowed)}"))
    for failed, field, value, expected in checks:
        if failed:
            raise ManifestError(f"{field}: got {value!r}; expected {expected}", field=field)


def _default_generator(settings: OperatorSettings) -> ProgramSource:
    """One generator per process for the built-in templates (jinja compiles each template once).

    Custom template directories (a mounted ConfigMap) may change while the operator runs, so
    with them a fresh generator reads them on every plan.
    """
    if not settings.custom_template_dirs:
        return _builtin_generator()
    from kosmos.execution.code_generator import CodeGenerator  # noqa: PLC0415 - jinja2 only when used

    dirs = tuple(Path(d) for d in settings.custom_template_dirs)
    generator: ProgramSource = CodeGenerator(template_dirs=dirs)
    return generator


@functools.cache
def _builtin_generator() -> ProgramSource:
    from kosmos.execution.code_generator import CodeGenerator  # noqa: PLC0415 - jinja2 only when used

    return CodeGenerator()


@functools.lru_cache(maxsize=1024)
def _validate(code: str) -> None:
    """validate_program, once per program text: every Job and pod event re-plans the same run."""
    from kosmos.execution.validator import validate_program  # noqa: PLC0415 - pure, imported on use

    validate_program(code)  # a refusal raises, and lru_cache does not remember exceptions


def plan_for(
    body: Mapping[str, Any], settings: OperatorSettings, *, generator: ProgramSource | None = None
) -> RunPlan:
    """The run an Experiment body asks for, after policy checks, generation and validation."""
    meta = body.get("metadata", {})
    spec = spec_of(body)
    check_policy(spec, settings)
    source = generator if generator is not None else _default_generator(settings)
    source.check_spec(spec)
    program = source.program_for(spec)
    _validate(program.code)
    return RunPlan(
        experiment_name=meta["name"],
        namespace=meta.get("namespace") or "default",
        uid=meta.get("uid"),
        generation=generation_of(body),
        spec=spec,
        program=program.code,
        code_hash=program.code_hash,
        parameters=dict(program.parameters or {}),
    )
