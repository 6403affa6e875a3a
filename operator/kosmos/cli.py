"""The ``kosmos`` command: run, render, crd, operator.

Top of the stack: parses arguments, calls the library, prints YAML or JSON. Exit codes of
``kosmos run``: 0 Succeeded, 1 Failed, 2 invalid manifest or usage.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from kosmos.api.errors import ManifestError

__all__ = ["main"]

EXIT_SUCCEEDED, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


class _BlockStyleDumper(yaml.SafeDumper):
    """Multi-line strings (code, CSV, tracebacks) print as YAML block scalars."""


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_BlockStyleDumper.add_representer(str, _str_presenter)


def dump(obj: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(obj, indent=2) + "\n"
    return yaml.dump(obj, Dumper=_BlockStyleDumper, sort_keys=False, allow_unicode=True, width=100)


def dump_all(objects: list[dict[str, Any]]) -> str:
    return yaml.dump_all(objects, Dumper=_BlockStyleDumper, sort_keys=False, allow_unicode=True, width=100)


def _progress_printer(enabled: bool) -> Any:
    if not enabled:
        return None

    def show(step: str, seconds: float, detail: str) -> None:
        sys.stderr.write(f"  {step:<9} {seconds * 1000:8.1f} ms {detail}\n")
        sys.stderr.flush()

    return show


class _Terminated(Exception):  # noqa: N818 - a signal, not an error of ours
    """SIGTERM arrived: unwind like Ctrl-C so the sandbox and its job directory are cleaned up."""


def _raise_terminated(signum: int, _frame: object) -> None:
    raise _Terminated(signum)


def _cmd_run(args: argparse.Namespace) -> int:
    from kosmos.execution.local_run import load_manifest, run_experiment  # noqa: PLC0415

    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        experiment = load_manifest(Path(args.file))
        outcome = run_experiment(
            experiment,
            template_dirs=tuple(Path(d) for d in args.template_dir),
            unsafe_no_sandbox=args.unsafe_no_sandbox,
            progress=_progress_printer(sys.stderr.isatty()),
        )
    except ManifestError as exc:
        print(f"kosmos run: {args.file}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except FileNotFoundError as exc:
        print(f"kosmos run: {exc.filename}: no such file", file=sys.stderr)
        return EXIT_INVALID
    except (_Terminated, KeyboardInterrupt) as exc:
        signum = exc.args[0] if isinstance(exc, _Terminated) else signal.SIGINT
        print(f"kosmos run: {args.file}: interrupted by {signal.Signals(signum).name}; "
              "the sandbox was stopped and its files removed", file=sys.stderr)
        return 128 + int(signum)
    sys.stdout.write(dump(outcome.experiment, args.output))
    phase = outcome.status.phase
    if sys.stderr.isatty():
        execution = outcome.status.execution
        kind = f" ({execution.error_kind}: {execution.error})" if execution and execution.error_kind else ""
        print(f"kosmos run: {experiment.metadata.name}: {phase}{kind}", file=sys.stderr)
    return EXIT_SUCCEEDED if phase == "Succeeded" else EXIT_FAILED


def _cmd_crd(args: argparse.Namespace) -> int:
    from kosmos.api.crd import GENERATED_HEADER, crd_manifest  # noqa: PLC0415

    sys.stdout.write(GENERATED_HEADER + dump(crd_manifest(), "yaml"))
    return EXIT_SUCCEEDED


def _cmd_render(args: argparse.Namespace) -> int:
    from kosmos.execution.local_run import load_manifest  # noqa: PLC0415
    from kosmos.execution.validator import ProgramRejected  # noqa: PLC0415
    from kosmos.operator.render import render_objects  # noqa: PLC0415
    from kosmos.operator.settings import OperatorSettings  # noqa: PLC0415

    try:
        experiment = load_manifest(Path(args.file))
        objects = render_objects(
            experiment.model_dump(by_alias=True, exclude_none=True, mode="json"),
            OperatorSettings.from_env(),
        )
    except (ManifestError, ProgramRejected) as exc:
        print(f"kosmos render: {args.file}: {exc.kind}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except FileNotFoundError as exc:
        print(f"kosmos render: {exc.filename}: no such file", file=sys.stderr)
        return EXIT_INVALID
    sys.stdout.write(dump_all(objects))
    return EXIT_SUCCEEDED


def _cmd_operator(args: argparse.Namespace) -> int:
    from kosmos.operator.main import run_operator  # noqa: PLC0415
    from kosmos.operator.settings import OperatorSettings  # noqa: PLC0415

    run_operator(OperatorSettings.from_env())
    return EXIT_SUCCEEDED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kosmos", description="Run computational experiments safely, locally or on Kubernetes."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run an Experiment manifest in the local sandbox and print it with its status")
    run.add_argument("file", help="Experiment manifest (YAML)")
    run.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    run.add_argument("--template-dir", action="append", default=[], help="directory of custom templates")
    run.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="run WITHOUT isolation (trusted code only, never for generated or foreign code)",
    )
    run.set_defaults(handler=_cmd_run)

    crd = commands.add_parser("crd", help="print the Experiment CustomResourceDefinition")
    crd.set_defaults(handler=_cmd_crd)

    render = commands.add_parser("render", help="print every object the operator would create for a manifest")
    render.add_argument("file")
    render.set_defaults(handler=_cmd_render)

    operator = commands.add_parser("operator", help="run the Kubernetes operator")
    operator.set_defaults(handler=_cmd_operator)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = args.handler
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main())
