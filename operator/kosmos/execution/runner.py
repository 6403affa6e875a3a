"""The in-sandbox runner: load inputs, run the program, write the result envelope whatever happens.

Runs inside the local sandbox and inside the Kubernetes Job's container. It imports only the
standard library at start (pandas is imported when a CSV input is loaded) and nothing from
``kosmos.operator``, so the sandbox image needs only the scientific stack and this file.

Invocation::

    python -I -S runner.py JOB_JSON [--result PATH] [--stdout-envelope] [--termination-log PATH]

``JOB_JSON`` describes the run (paths are relative to the job file's folder)::

    {"program": "program.py",
     "parameters": {...},                       # reaches the program as data, never as code
     "inputs": [{"name": "dataset", "format": "csv", "path": "inputs/dataset.csv"}],
     "artifacts_dir": "/workspace/artifacts",   # optional; default ./artifacts in the cwd
     "sys_path": ["/opt/site-packages"],         # optional; added with site.addsitedir
     "max_results_bytes": 1048576}               # optional cap on the reported results

The program sees the globals ``input_data`` (name -> DataFrame or JSON value), ``parameters``
and ``artifacts_dir``, and reports by assigning a JSON-able dict to ``results``.

The envelope (camelCase, as in status)::

    {"kosmosEnvelope": 1, "success": bool, "errorKind": str | None, "error": str | None,
     "traceback": str | None, "results": dict | None, "resultsTruncated": bool,
     "artifacts": [names], "timings": {"loadSeconds": float, "runSeconds": float}}
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from typing import Any

__all__ = ["ENVELOPE_MARKER", "TERMINATION_LOG_LIMIT", "main", "run_job"]

ENVELOPE_MARKER = "KOSMOS-ENVELOPE "
TERMINATION_LOG_LIMIT = 4096
_DEFAULT_MAX_RESULTS_BYTES = 1 << 20


class _DataError(Exception):
    """An input could not be loaded."""


def _jsonable(value: Any) -> Any:
    """Convert numpy/pandas values to plain JSON; non-finite floats become None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    for attr in ("to_dict", "tolist", "item"):
        method = getattr(value, attr, None)
        if callable(method):
            try:
                return _jsonable(method())
            except (TypeError, ValueError):
                continue
    return str(value)


def _load_inputs(job: dict[str, Any], base: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for spec in job.get("inputs", []):
        name, fmt = spec["name"], spec.get("format", "csv")
        path = os.path.join(base, spec["path"])
        try:
            if fmt == "csv":
                import pandas as pd  # noqa: PLC0415 - imported only when a CSV input exists

                data[name] = pd.read_csv(path)
            elif fmt == "json":
                with open(path, encoding="utf-8") as handle:
                    data[name] = json.load(handle)
            else:
                raise _DataError(f"input {name!r}: unknown format {fmt!r}, expected csv or json")
        except _DataError:
            raise
        except Exception as exc:  # noqa: BLE001 - any parse failure is bad input data
            raise _DataError(f"input {name!r} ({fmt}) could not be loaded: {exc}") from exc
    return data


def _classify(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, (ModuleNotFoundError, ImportError)):
        return "data"
    if isinstance(exc, SyntaxError):
        return "syntax"
    if isinstance(exc, OSError) and getattr(exc, "errno", None) == 27:  # EFBIG
        return "file_size"
    return "runtime"


def _last_line(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    text = "".join(lines).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _program_traceback(exc: BaseException) -> str:
    """The traceback without the runner's own frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != "program.py":
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def run_job(job_path: str) -> dict[str, Any]:
    """Run the job described by ``job_path`` and return the envelope (never raises)."""
    envelope: dict[str, Any] = {
        "kosmosEnvelope": 1,
        "success": False,
        "errorKind": None,
        "error": None,
        "traceback": None,
        "results": None,
        "resultsTruncated": False,
        "artifacts": [],
        "timings": {},
    }
    started = time.perf_counter()
    try:
        with open(job_path, encoding="utf-8") as handle:
            job = json.load(handle)
        base = os.path.dirname(os.path.abspath(job_path))
        for entry in job.get("sys_path", []):
            import site  # noqa: PLC0415 - only when the sandbox asks for extra site dirs

            site.addsitedir(entry)
        artifacts_dir = job.get("artifacts_dir") or os.path.join(os.getcwd(), "artifacts")
        os.makedirs(artifacts_dir, exist_ok=True)
        with open(os.path.join(base, job.get("program", "program.py")), encoding="utf-8") as handle:
            source = handle.read()
        input_data = _load_inputs(job, base)
    except _DataError as exc:
        envelope.update(errorKind="data", error=str(exc))
        return envelope
    except Exception as exc:  # noqa: BLE001 - a broken job file is an infrastructure fault
        envelope.update(errorKind="infrastructure", error=f"runner could not read its job: {exc}")
        return envelope
    loaded = time.perf_counter()
    envelope["timings"]["loadSeconds"] = loaded - started

    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "__file__": "program.py",
        "input_data": input_data,
        "parameters": job.get("parameters", {}),
        "artifacts_dir": artifacts_dir,
    }
    try:
        code = compile(source, "program.py", "exec")
        exec(code, namespace)  # noqa: S102 - running the (validated) program is the runner's job
    except SystemExit as exc:
        if exc.code not in (None, 0):
            envelope.update(errorKind="runtime", error=f"program exited with status {exc.code}")
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the envelope
        envelope.update(
            errorKind=_classify(exc),
            error=_last_line(exc),
            traceback=_program_traceback(exc),
        )
    envelope["timings"]["runSeconds"] = time.perf_counter() - loaded

    results = namespace.get("results")
    if results is not None:
        if not isinstance(results, dict):
            results = {"value": results}
        plain = _jsonable(results)
        limit = int(job.get("max_results_bytes", _DEFAULT_MAX_RESULTS_BYTES))
        if len(json.dumps(plain)) > limit:
            envelope["resultsTruncated"] = True
            plain = {key: plain[key] for key in ("statistics",) if key in plain}
            if len(json.dumps(plain)) > limit:
                plain = {}
        envelope["results"] = plain
    try:
        envelope["artifacts"] = sorted(
            entry.name for entry in os.scandir(artifacts_dir) if entry.is_file(follow_symlinks=False)
        )
    except OSError:
        envelope["artifacts"] = []
    if envelope["errorKind"] is None:
        envelope["success"] = True
        if envelope["results"] is None:
            envelope["results"] = {}
    return envelope


def _compact(envelope: dict[str, Any]) -> str:
    """The termination-message form: outcome without the results, under 4 KiB."""
    small = {
        "kosmosEnvelope": 1,
        "success": envelope["success"],
        "errorKind": envelope["errorKind"],
        "error": (envelope["error"] or "")[:1024] or None,
        "resultsBytes": len(json.dumps(envelope["results"])),
        "artifacts": envelope["artifacts"][:20],
    }
    text = json.dumps(small, separators=(",", ":"))
    return text[:TERMINATION_LOG_LIMIT]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: runner.py JOB_JSON [--result PATH] [--stdout-envelope] [--termination-log PATH]", file=sys.stderr)
        return 2
    job_path, rest = args[0], args[1:]
    result_path = termination_log = None
    stdout_envelope = False
    while rest:
        flag = rest.pop(0)
        if flag == "--result":
            result_path = rest.pop(0)
        elif flag == "--termination-log":
            termination_log = rest.pop(0)
        elif flag == "--stdout-envelope":
            stdout_envelope = True
        else:
            print(f"runner.py: unknown option {flag!r}", file=sys.stderr)
            return 2
    envelope = run_job(job_path)
    text = json.dumps(envelope, separators=(",", ":"), allow_nan=False)
    sys.stdout.flush()
    sys.stderr.flush()
    if result_path:
        with open(result_path, "w", encoding="utf-8") as handle:
            handle.write(text)
    if stdout_envelope:
        sys.stdout.write("\n" + ENVELOPE_MARKER + text + "\n")
        sys.stdout.flush()
    if termination_log:
        try:
            with open(termination_log, "w", encoding="utf-8") as handle:
                handle.write(_compact(envelope))
        except OSError:
            pass
    if envelope["success"]:
        return 0
    return 3 if envelope["errorKind"] == "data" else 1


if __name__ == "__main__":
    sys.exit(main())
