"""Run one Experiment manifest on this machine: generate, validate, run in the sandbox, analyse.

The embedded counterpart of the operator's reconcile, used by ``kosmos run`` and by tests.
Invalid manifests raise ``ManifestError``; everything after that ends in a status, never lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kosmos.api.errors import ErrorKind, KosmosError, ManifestError
from kosmos.api.manifest import load_manifest, manifest_error_from
from kosmos.api.spec import Experiment, ExperimentSpec
from kosmos.api.status import ExperimentStatus
from kosmos.execution.result import ExecutionResult

__all__ = ["RunOutcome", "load_manifest", "manifest_error_from", "run_experiment"]

Progress = Callable[[str, float, str], None]


@dataclass(frozen=True)
class RunOutcome:
    """The Experiment as it ends: the manifest with its status, and the raw execution result."""

    experiment: dict[str, Any]
    status: ExperimentStatus
    result: ExecutionResult | None


def _inline_inputs(spec: ExperimentSpec) -> list[tuple[str, str, str]]:
    triples = []
    for index, item in enumerate(spec.inputs):
        if item.inline is None:
            raise ManifestError(
                f"spec.inputs[{index}].configMapKeyRef: input {item.name!r} refers to a ConfigMap, "
                "which exists only in a cluster; put the data under 'inline' to run it locally",
                field=f"spec.inputs[{index}].configMapKeyRef",
            )
        triples.append((item.name, str(item.format), item.inline))
    return triples


@contextmanager
def _step(progress: Progress | None, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        if progress is not None:
            progress(name, time.perf_counter() - started, "")


def run_experiment(
    experiment: Experiment,
    *,
    template_dirs: tuple[Path, ...] = (),
    unsafe_no_sandbox: bool = False,
    progress: Progress | None = None,
) -> RunOutcome:
    """Run a validated manifest locally and return it with its terminal status.

    Raises ManifestError for problems the manifest alone shows (unknown template, bad
    parameter, missing column); every later failure is reported in the status instead.
    """
    from kosmos.execution import reporting  # noqa: PLC0415 - keep `kosmos --help` fast
    from kosmos.execution.code_generator import CodeGenerator  # noqa: PLC0415
    from kosmos.execution.executor import Executor, ResourceLimits  # noqa: PLC0415
    from kosmos.execution.validator import validate_program, validate_resources  # noqa: PLC0415

    spec = experiment.spec
    generation = experiment.metadata.generation or 1
    started = reporting.now_rfc3339()
    inputs = _inline_inputs(spec)
    generator = CodeGenerator(template_dirs=template_dirs)
    status: ExperimentStatus
    result: ExecutionResult | None = None
    program = None
    try:
        with _step(progress, "generate"):
            generator.check_spec(spec)  # a ManifestError: the manifest itself is wrong (exit 2)
            program = generator.program_for(spec)  # a refused custom template ends in a status
        with _step(progress, "validate"):
            validate_resources(spec.resources)
            validate_program(program.code)
    except ManifestError:
        raise
    except KosmosError as exc:
        status = reporting.failed_before_run_status(
            exc.kind, exc.message, generation=generation,
            code_hash=program.code_hash if program else None, start_time=started,
        )
    else:
        with _step(progress, "run"):
            executor = Executor(
                docker_image=spec.image,
                resource_limits=ResourceLimits.from_resources(spec.resources),
                unsafe_no_sandbox=unsafe_no_sandbox,
            )
            try:
                result = executor.execute(program.code, parameters=program.parameters, inputs=inputs)
            except KosmosError as exc:
                result = ExecutionResult(success=False, error=exc.message, error_kind=ErrorKind(exc.kind))
        with _step(progress, "analyse"):
            status = reporting.status_for(
                result,
                code_hash=program.code_hash,
                generation=generation,
                start_time=started,
                alpha=_alpha(program.parameters),
            )
    manifest = experiment.model_dump(by_alias=True, exclude_none=True, mode="json")
    manifest["spec"] = spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    manifest["status"] = status.to_dict()
    return RunOutcome(experiment=manifest, status=status, result=result)


def _alpha(parameters: dict[str, Any]) -> float | None:
    value = parameters.get("alpha")
    return float(value) if isinstance(value, (int, float)) else None
