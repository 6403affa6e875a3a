"""The in-sandbox runner: load inputs, run the program, write the result envelope whatever happens.

Runs inside the local sandbox and inside the Kubernetes Job's container. It imports only the
standard library at start (pandas is imported when a CSV input is loaded) and nothing from
``kosmos.operator``, so the sandbox image needs only the scientific stack and this file.

Invocation::

    python -I -S runner.py JOB_JSON [--result PATH] [--stdout-envelope] [--termination-log PATH]
                           [--rlimits SPEC] [--usage-fd FD]

``--rlimits`` (``res:soft:hard,...``) and ``--usage-fd`` are the local sandbox's: the limits are
set before the job is read, and the rusage is written to the fd on the way out.

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

Results over ``max_results_bytes`` (their JSON length) are cut by :func:`cap_results`: the
largest top-level values go first, ``statistics`` and ``alpha`` (what the analysis reads)
last, so every small key (``alpha``, ``pValue``, ...) stays. The dropped keys are recorded
in the results under ``droppedKeys`` (key -> its JSON size in bytes) and
``resultsTruncated`` is true, e.g. ``{"alpha": 0.01, "statistics": [...],
"droppedKeys": {"blob": 2288890}}``.

Error kinds follow DESIGN.md. Bad input data is ``data``: an input that cannot be loaded or
a CSV with no data rows, a missing module, and any exception whose ``kind`` attribute is
``"data"`` -- kosmos' ``StatisticsError`` family (``KosmosError`` with ``ErrorKind.DATA``)
and a template's own data-error classes that set ``kind = "data"``. Their message is
``<ClassName>: <message>``, without the module path; other exceptions are ``runtime`` with
Python's last traceback line. The traceback, from the program's first frame, is kept either way.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
import traceback
from typing import Any

__all__ = [
    "DROPPED_KEYS", "ENVELOPE_MARKER", "MAX_ERROR_CHARS", "MAX_RESULTS_DEPTH", "MAX_TRACEBACK_CHARS", "TERMINATION_LOG_LIMIT", "cap_results", "main",
    "clip", "nests_deeper", "run_job",
]

ENVELOPE_MARKER = "KOSMOS-ENVELOPE "
TERMINATION_LOG_LIMIT = 4096
DROPPED_KEYS = "droppedKeys"
_DEFAULT_MAX_RESULTS_BYTES = 1 << 20
_KEPT_LAST = ("statistics", "alpha")  # what the analysis reads: dropped after everything else
MAX_RESULTS_DEPTH = 64  # nesting levels of the results; JSON tools and the status refuse far deeper
MAX_ERROR_CHARS, MAX_TRACEBACK_CHARS = 4096, 65536


class _DataError(Exception):
    """An input could not be loaded."""


class _TooDeep(Exception):  # noqa: N818 - a condition of the results, reported as runtime
    """The results nest deeper than MAX_RESULTS_DEPTH."""


def _jsonable(value: Any, depth: int = 0) -> Any:
    """Convert numpy/pandas values to plain JSON; non-finite floats become None."""
    if depth > MAX_RESULTS_DEPTH:
        raise _TooDeep
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    for attr in ("to_dict", "tolist", "item"):
        method = getattr(value, attr, None)
        if callable(method):
            try:
                return _jsonable(method(), depth)
            except (TypeError, ValueError):
                continue
    return str(value)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how many went."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


def nests_deeper(value: Any, limit: int) -> bool:
    """Whether lists and dicts nest more than ``limit`` levels inside ``value`` (no recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list, tuple, set, frozenset)):
            if depth >= limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def _item_bytes(key: str, value_bytes: int) -> int:
    """Length of ``"key": value`` in ``json.dumps`` output (default separators)."""
    return len(json.dumps(key)) + 2 + value_bytes


def _object_bytes(item_bytes: int, count: int) -> int:
    """Length of a JSON object of ``count`` items whose lengths sum to ``item_bytes``."""
    return 2 + item_bytes + 2 * max(count - 1, 0)


class _Record:
    """The ``droppedKeys`` record being built, with its JSON length kept up to date."""

    def __init__(self, entries: dict[str, int]) -> None:
        self.entries: dict[str, int] = {}
        self.item_bytes = 0
        for key, size in entries.items():
            self.add(key, size)

    def add(self, key: str, size: int) -> None:
        self.entries[key] = size
        self.item_bytes += _item_bytes(key, len(str(size)))

    def item_size(self) -> int:
        """Length of the ``"droppedKeys": {...}`` item."""
        return _item_bytes(DROPPED_KEYS, _object_bytes(self.item_bytes, len(self.entries)))


def cap_results(results: dict[str, Any], limit: int) -> tuple[dict[str, Any], bool]:
    """Fit JSON results under ``limit`` bytes by dropping their largest top-level values first.

    ``statistics`` and ``alpha`` go last. Dropped keys are recorded under ``droppedKeys``
    (key -> JSON size in bytes), merged with a record already there, so capping twice (runner,
    then operator) keeps one record. Returns the results (``results`` itself when it fits, a
    new dict otherwise) and whether anything was dropped. ``results`` must be plain JSON.
    """
    if len(json.dumps(results)) <= limit:
        return results, False
    previous = results.get(DROPPED_KEYS)
    merged = isinstance(previous, dict) and all(isinstance(v, int) for v in previous.values())
    record = _Record(previous if isinstance(previous, dict) and merged else {})
    values = {k: v for k, v in results.items() if not (merged and k == DROPPED_KEYS)}
    sizes = {k: len(json.dumps(v)) for k, v in values.items()}
    kept = {k: _item_bytes(k, n) for k, n in sizes.items()}
    kept_bytes = sum(kept.values())
    if DROPPED_KEYS in kept:  # a user value under the record's name makes way for the record
        kept_bytes -= kept.pop(DROPPED_KEYS)
        record.add(DROPPED_KEYS, sizes[DROPPED_KEYS])

    def total() -> int:
        return _object_bytes(kept_bytes + record.item_size(), len(kept) + 1)

    for key in sorted(kept, key=lambda k: (k in _KEPT_LAST, -sizes[k], k)):
        if total() <= limit:
            break
        kept_bytes -= kept.pop(key)
        record.add(key, sizes[key])
    if total() > limit:
        # So many keys were dropped that their names alone overflow: name the largest that fit.
        dropped = record.entries
        record = _Record({f"({len(dropped)} keys in all)": sum(dropped.values())})
        for key in sorted(dropped, key=lambda k: (-dropped[k], k)):
            record.add(key, dropped[key])
            if total() > limit:
                record = _Record({k: v for k, v in record.entries.items() if k != key})
                break
        if total() > limit:
            return {}, True
    capped = {k: v for k, v in values.items() if k in kept}
    capped[DROPPED_KEYS] = record.entries
    return capped, True


def _load_inputs(job: dict[str, Any], base: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for spec in job.get("inputs", []):
        name, fmt = spec["name"], spec.get("format", "csv")
        path = os.path.join(base, spec["path"])
        try:
            if fmt == "csv":
                import pandas as pd  # noqa: PLC0415 - imported only when a CSV input exists

                try:
                    frame = pd.read_csv(path)
                except pd.errors.EmptyDataError:
                    raise _DataError(
                        f"input {name!r} (csv) is empty: it has no header and no data rows"
                    ) from None
                if len(frame) == 0:
                    columns = ", ".join(map(str, frame.columns))
                    raise _DataError(
                        f"input {name!r} (csv) has no data rows, only a header ({columns})"
                    )
                data[name] = frame
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


def _is_data_error(exc: BaseException) -> bool:
    """Bad input data: kosmos' StatisticsError family or a template's error with ``kind = "data"``.

    Duck-typed (``ErrorKind`` is a ``StrEnum``) so the runner needs no kosmos import.
    """
    kind = getattr(exc, "kind", None)
    return isinstance(exc, _DataError) or (isinstance(kind, str) and kind == "data")


def _data_message(exc: BaseException) -> str:
    """``<ClassName>: <message>``, without the module path (a KeyError's message unquoted)."""
    text = str(exc.args[0]) if len(exc.args) == 1 else str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _classify(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, (ModuleNotFoundError, ImportError)) or _is_data_error(exc):
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
        kind = _classify(exc)
        envelope.update(
            errorKind=kind,
            error=_data_message(exc) if _is_data_error(exc) else _last_line(exc),
            traceback=_program_traceback(exc),
        )
    envelope["timings"]["runSeconds"] = time.perf_counter() - loaded

    results = namespace.get("results")
    if results is not None:
        if not isinstance(results, dict):
            results = {"value": results}
        limit = int(job.get("max_results_bytes", _DEFAULT_MAX_RESULTS_BYTES))
        try:
            envelope["results"], envelope["resultsTruncated"] = cap_results(_jsonable(results), limit)
        except _TooDeep:
            deep = next((k for k, v in results.items() if nests_deeper(v, MAX_RESULTS_DEPTH - 1)), None)
            envelope.update(errorKind=envelope["errorKind"] or "runtime", error=envelope["error"] or (
                f"results[{deep!r}] nests deeper than {MAX_RESULTS_DEPTH} levels: flatten it "
                "(a status and most JSON tools refuse such nesting)"))
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
    for key, limit in (("error", MAX_ERROR_CHARS), ("traceback", MAX_TRACEBACK_CHARS)):
        if envelope[key] is not None:  # a status repeats the error in its conditions
            envelope[key] = clip(envelope[key], limit)
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


def _apply_rlimits(spec: str) -> None:
    """``res:soft:hard,...`` (see ``sandbox/rlimits.py``), set before the job is even read."""
    import resource  # noqa: PLC0415 - only the local sandbox passes limits

    for item in spec.split(","):
        key, soft, hard = map(int, item.split(":"))
        resource.setrlimit(key, (soft, hard))


def _report_usage(fd: int) -> None:
    """CPU seconds and peak RSS (KiB) of the runner and its reaped children: the measurement
    the local sandbox falls back on without a cgroup (the program could alter it; the result says so)."""
    import resource  # noqa: PLC0415

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    os.write(fd, f"{cpu:f} {max(own.ru_maxrss, children.ru_maxrss)}".encode())


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: runner.py JOB_JSON [--result PATH] [--stdout-envelope] [--termination-log PATH] "
              "[--rlimits SPEC] [--usage-fd FD]", file=sys.stderr)
        return 2
    job_path, rest = args[0], args[1:]
    result_path = termination_log = rlimits = None
    usage_fd: int | None = None
    stdout_envelope = False
    while rest:
        flag = rest.pop(0)
        if flag == "--result":
            result_path = rest.pop(0)
        elif flag == "--termination-log":
            termination_log = rest.pop(0)
        elif flag == "--stdout-envelope":
            stdout_envelope = True
        elif flag == "--rlimits":
            rlimits = rest.pop(0)
        elif flag == "--usage-fd":
            usage_fd = int(rest.pop(0))
            os.set_inheritable(usage_fd, False)  # the program's children do not get it
        else:
            print(f"runner.py: unknown option {flag!r}", file=sys.stderr)
            return 2
    if rlimits:
        _apply_rlimits(rlimits)
    origin = os.getpid()
    try:
        return _run_and_report(job_path, origin=origin, result_path=result_path, termination_log=termination_log,
                               stdout_envelope=stdout_envelope)
    finally:
        if usage_fd is not None and os.getpid() == origin:
            _report_usage(usage_fd)


def _run_and_report(job_path: str, *, origin: int, result_path: str | None, termination_log: str | None,
                    stdout_envelope: bool) -> int:
    envelope = run_job(job_path)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.getpid() != origin:  # a child the program forked came back here: the runner reports once
        os._exit(0 if envelope["success"] else 1)
    text = json.dumps(envelope, separators=(",", ":"), allow_nan=False)
    if result_path:  # a fresh file renamed into place: no symlink or file the program left is written through
        partial = f"{result_path}.partial"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with open(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, result_path)
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
