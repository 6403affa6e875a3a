"""The job directory the host writes, and safe reading of what the program left behind.

Called by ``local.py``. The job (program, parameters, inputs) is a host temp directory bound
read-only at /job. The program writes only to its tmpfs; the host reads the result envelope
and artifacts through a directory fd of that tmpfs with O_NOFOLLOW at every step, plain names
only, regular files only and size-capped, so a symlink the program made leads nowhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from typing import Any

from kosmos.execution.runner import MAX_RESULTS_DEPTH, nests_deeper
from kosmos.execution.sandbox.base import InputFile

__all__ = ["RESULT_NAME", "close_workspace", "envelope_problem", "is_full", "make_job_dir", "read_artifacts",
           "read_envelope", "remove_job_dir"]

RESULT_NAME = ".kosmos-result.json"
_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def make_job_dir(code: str, inputs: Iterable[InputFile], parameters: dict[str, Any], *,
                 sys_path: list[str], max_results_bytes: int, root: str | None = None,
                 artifacts_dir: str = "/workspace/artifacts", owner: tuple[int, int] | None = None) -> str:
    """Write job.json, program.py and inputs/ into a fresh directory only the sandbox uid reads.

    The program and its data may be private: the directory is 0700 and its files 0600, owned
    by ``owner`` (the run's uid and gid, when the caller is root) and by the caller otherwise.
    """
    path = tempfile.mkdtemp(prefix=f"kosmos-job-{os.getpid()}-", dir=root)  # 0700; the pid: see discovery
    entries = []
    os.mkdir(os.path.join(path, "inputs"), 0o700)
    for index, item in enumerate(inputs):
        if item.format not in ("csv", "json"):
            raise ValueError(f"input {item.name!r}: format must be csv or json, got {item.format!r}")
        rel = f"inputs/{index}.{item.format}"
        _write(os.path.join(path, rel), item.text)
        entries.append({"name": item.name, "format": item.format, "path": rel})
    _write(os.path.join(path, "program.py"), code)
    job = {"program": "program.py", "parameters": parameters, "inputs": entries,
           "artifacts_dir": artifacts_dir, "sys_path": sys_path, "max_results_bytes": max_results_bytes}
    _write(os.path.join(path, "job.json"), json.dumps(job))
    if owner is not None and os.geteuid() == 0:
        for folder, _dirs, files in os.walk(path):
            os.chown(folder, *owner)
            for name in files:
                os.chown(os.path.join(folder, name), *owner)
    return path


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def remove_job_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _open_dir(dir_fd: int, name: str) -> int:
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)


def _read_file(dir_fd: int, name: str, limit: int) -> bytes | None:
    """A regular file named ``name`` directly in ``dir_fd``, at most ``limit`` bytes, or None."""
    if not name or "/" in name or name in (".", ".."):
        return None
    try:
        fd = os.open(name, _FLAGS, dir_fd=dir_fd)
    except (OSError, ValueError):  # ValueError: a NUL byte or a lone surrogate in the name
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return None if total > limit else b"".join(chunks)
    finally:
        os.close(fd)


def read_envelope(ws_fd: int, limit: int) -> dict[str, Any] | None:
    """The runner's envelope from /workspace, or None when missing, a symlink or malformed."""
    try:
        work = _open_dir(ws_fd, "workspace")
    except OSError:
        return None
    try:
        data = _read_file(work, RESULT_NAME, limit)
    finally:
        os.close(work)
    if data is None:
        return None
    try:
        envelope = json.loads(data)
    except (ValueError, RecursionError):  # '[' * 10**5 overflows the decoder
        return None
    if not isinstance(envelope, dict) or envelope.get("kosmosEnvelope") != 1:
        return None
    return envelope


_ENVELOPE_TYPES: dict[str, tuple[type, ...]] = {
    "success": (bool,), "errorKind": (str, type(None)), "error": (str, type(None)),
    "traceback": (str, type(None)), "results": (dict, type(None)), "resultsTruncated": (bool,),
    "artifacts": (list,), "timings": (dict,),
}


def envelope_problem(envelope: dict[str, Any]) -> str | None:
    """Why an envelope read from the workspace cannot be used, or None.

    The program can write the file itself, so its fields are checked as untrusted input.
    """
    for key, types in _ENVELOPE_TYPES.items():
        if key in envelope and not isinstance(envelope[key], types):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            return f"field {key!r} is {type(envelope[key]).__name__}, expected {expected}"
    if "success" not in envelope:
        return "field 'success' is missing"
    if not all(isinstance(name, str) for name in envelope.get("artifacts", [])):
        return "field 'artifacts' holds a name that is not a string"
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in envelope.get("timings", {}).values()):
        return "field 'timings' holds a value that is not a number"
    if nests_deeper(envelope.get("results"), MAX_RESULTS_DEPTH):
        return f"its results nest deeper than {MAX_RESULTS_DEPTH} levels"
    return None


def read_artifacts(ws_fd: int, names: object, *, max_total_bytes: int) -> tuple[dict[str, bytes], list[str]]:
    """Artifacts named by the envelope, from /workspace/artifacts; returns (files, skipped names)."""
    files: dict[str, bytes] = {}
    skipped: list[str] = []
    if not isinstance(names, list):
        return files, skipped
    try:
        work = _open_dir(ws_fd, "workspace")
    except OSError:
        return files, [str(n) for n in names]
    try:
        try:
            art = _open_dir(work, "artifacts")
        except OSError:
            return files, [str(n) for n in names]
        try:
            budget = max_total_bytes
            for name in names:
                data = _read_file(art, name, budget) if isinstance(name, str) else None
                if data is None:
                    skipped.append(str(name))
                    continue
                files[name] = data
                budget -= len(data)
        finally:
            os.close(art)
    finally:
        os.close(work)
    return files, skipped


def is_full(fd: int | None) -> bool:
    """True when the run's tmpfs has no free blocks or no free inodes left."""
    if fd is None:
        return False
    try:
        st = os.fstatvfs(fd)
    except OSError:
        return False
    return st.f_bavail == 0 or st.f_favail == 0


def close_workspace(fd: int | None) -> None:
    """Drop the last reference to the run's tmpfs (its memory is freed)."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
