"""Run a program with the real in-sandbox runner, without a sandbox, and return the envelope.

For tests of trusted, generated programs (Kosmos' template tests and users' tests of custom
templates): it runs the runner as a plain subprocess, so it isolates nothing. Untrusted code
goes through ``kosmos.execution.executor.Executor``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the directory holding the kosmos package
RUNNER = PACKAGE_ROOT / "kosmos" / "execution" / "runner.py"

__all__ = ["RUNNER", "run_program", "write_job"]


def write_job(code: str, workdir: Path, inputs: dict[str, tuple[str, str]] | None = None,
              parameters: dict[str, Any] | None = None) -> Path:
    """Write program.py, inputs and job.json into ``workdir`` as the runner reads them; return job.json."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "program.py").write_text(code, encoding="utf-8")
    job_inputs = []
    for name, (fmt, text) in (inputs or {}).items():
        path = workdir / f"{name}.{fmt}"
        path.write_text(text, encoding="utf-8")
        job_inputs.append({"name": name, "format": fmt, "path": path.name})
    job = {
        "program": "program.py",
        "parameters": parameters or {},
        "inputs": job_inputs,
        "artifacts_dir": str(workdir / "artifacts"),
    }
    (workdir / "job.json").write_text(json.dumps(job), encoding="utf-8")
    return workdir / "job.json"


def run_program(
    code: str,
    workdir: Path,
    inputs: dict[str, tuple[str, str]] | None = None,
    parameters: dict[str, Any] | None = None,
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Write the job (:func:`write_job`), run the runner on it, return its envelope.

    ``inputs`` maps name -> (format, text).
    """
    write_job(code, workdir, inputs, parameters)
    env = {
        **os.environ,
        "PYTHONPATH": str(PACKAGE_ROOT),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / ".mpl"),
    }
    completed = subprocess.run(
        [sys.executable, str(RUNNER), "job.json", "--result", "result.json"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    result_path = workdir / "result.json"
    if not result_path.exists():
        raise AssertionError(f"runner wrote no envelope: {completed.stderr}")
    envelope: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    envelope["stdout"] = completed.stdout
    envelope["stderr"] = completed.stderr
    return envelope
