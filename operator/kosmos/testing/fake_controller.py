"""A fake Job controller and kubelet for the emulated API: it runs the real runner.

``FakeJobController`` watches Jobs through the API, creates each Job's pod, reads the run's
ConfigMap (and ConfigMaps referenced by the projected volume), runs the real in-sandbox runner
on this machine, then writes back what a kubelet and the Job controller would: the pod's
terminated state (exit code, reason, termination message), the pod log (served by the
emulator) and the Job's status and conditions. It can also simulate OOMKilled,
DeadlineExceeded, ErrImagePull, an unschedulable pod, a hung pod and a malformed or missing log.

The program runs through ``kosmos.execution.executor.Executor`` when that backend is available
and a sandbox works; otherwise (``runner="direct"``) the runner is started as a plain child
process, which is only acceptable for the trusted test programs it is used with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import site
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiohttp

from kosmos.testing.emulator import KosmosEmulator

__all__ = ["FakeJobController", "PodOutcome", "Simulation"]

_log = logging.getLogger("kosmos.testing.fake_controller")

_MERGE = {"Content-Type": "application/merge-patch+json"}
_MARKER = "KOSMOS-ENVELOPE "


class Simulation(StrEnum):
    """What the fake cluster does with a Job."""

    RUN = "run"                    # run the program for real
    OOM_KILLED = "oom"             # the container is OOMKilled (exit 137)
    DEADLINE = "deadline"          # the Job hits activeDeadlineSeconds
    IMAGE_PULL = "image-pull"      # the pod stays in ErrImagePull
    UNSCHEDULABLE = "unschedulable"  # the pod never schedules
    MALFORMED_LOG = "malformed-log"  # exit 0, but the envelope line is not JSON
    NO_LOG = "no-log"              # exit 0 and an empty log
    HANG = "hang"                  # the pod runs and never finishes


@dataclass
class PodOutcome:
    """What the fake kubelet reports for a finished container."""

    exit_code: int
    log: str
    termination_message: str = ""
    reason: str = "Completed"


def _now(offset_seconds: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeJobController:
    """Plays the Job controller and kubelet against a KosmosEmulator, through its HTTP API."""

    emulator: KosmosEmulator
    base_url: str
    simulations: dict[str, Simulation] = field(default_factory=dict)  # by Experiment name
    default: Simulation = Simulation.RUN
    runner: str = "auto"  # auto | executor | direct
    concurrency: int = 4
    outcome_for: Callable[[Mapping[str, Any]], PodOutcome | None] | None = None  # bypass running (bench)
    handled: set[str] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _semaphore: asyncio.Semaphore | None = None
    _gates: dict[str, asyncio.Event] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list)

    def hold(self, experiment: str) -> None:
        """Keep the pods of this Experiment running until ``release`` (restart tests)."""
        self._gates[experiment] = asyncio.Event()

    def release(self, experiment: str) -> None:
        gate = self._gates.get(experiment)
        if gate is not None:
            gate.set()

    async def __aenter__(self) -> FakeJobController:
        self._session = aiohttp.ClientSession()
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._tasks.add(asyncio.create_task(self._watch_jobs()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use FakeJobController as an async context manager"
        return self._session

    async def _watch_jobs(self) -> None:
        url = f"{self.base_url}/apis/batch/v1/jobs"
        while True:
            try:
                async with self.session.get(url, params={"watch": "true"}, timeout=aiohttp.ClientTimeout(total=None)) as response:
                    async for line in response.content:
                        if not line.strip():
                            continue
                        event = json.loads(line)
                        job = event.get("object") or {}
                        uid = job.get("metadata", {}).get("uid")
                        if event.get("type") == "ADDED" and uid and uid not in self.handled and not job.get("status"):
                            self.handled.add(uid)
                            task = asyncio.create_task(self._handle(job))
                            self._tasks.add(task)
                            task.add_done_callback(self._finished)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                await asyncio.sleep(0.05)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())  # type: ignore[arg-type]
            _log.error("The fake Job controller failed: %r", task.exception())

    async def _patch(self, path: str, body: Mapping[str, Any]) -> None:
        async with self.session.patch(self.base_url + path, json=body, headers=_MERGE) as response:
            if response.status >= 400 and response.status != 404:
                raise RuntimeError(f"PATCH {path}: HTTP {response.status}: {await response.text()}")

    async def _get(self, path: str) -> dict[str, Any] | None:
        async with self.session.get(self.base_url + path) as response:
            if response.status == 404:
                return None
            result: dict[str, Any] = await response.json()
            return result

    async def _handle(self, job: dict[str, Any]) -> None:
        meta = job["metadata"]
        namespace, job_name = meta["namespace"], meta["name"]
        experiment = (meta.get("labels") or {}).get("kosmos.dev/experiment", "")
        simulation = self.simulations.get(experiment, self.default)
        job_path = f"/apis/batch/v1/namespaces/{namespace}/jobs/{job_name}"
        pod_name = f"{job_name}-{secrets.token_hex(3)[:5]}"
        pod_path = f"/api/v1/namespaces/{namespace}/pods/{pod_name}"
        template = job["spec"]["template"]
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": pod_name, "namespace": namespace,
                "labels": {**(template["metadata"].get("labels") or {}), "job-name": job_name,
                           "batch.kubernetes.io/job-name": job_name},
                "annotations": dict(template["metadata"].get("annotations") or {}),
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job_name,
                                     "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}],
            },
            "spec": template["spec"],
            "status": {"phase": "Pending"},
        }
        async with self.session.post(f"{self.base_url}/api/v1/namespaces/{namespace}/pods", json=pod) as response:
            response.raise_for_status()
        await self._patch(job_path, {"status": {"active": 1, "startTime": _now()}})
        if simulation is Simulation.UNSCHEDULABLE:
            await self._patch(pod_path, {"status": {"conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastTransitionTime": _now(-3600),
                "message": "0/3 nodes are available: 3 Insufficient memory."}]}})
            return
        if simulation is Simulation.IMAGE_PULL:
            image = template["spec"]["containers"][0]["image"]
            await self._patch(pod_path, {"status": {"containerStatuses": [{
                "name": "sandbox", "ready": False, "restartCount": 0, "image": image,
                "state": {"waiting": {"reason": "ErrImagePull",
                                      "message": f'failed to pull image "{image}": not found'}}}]}})
            return
        await self._patch(pod_path, {"status": {"phase": "Running", "startTime": _now(), "containerStatuses": [{
            "name": "sandbox", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": _now()}}}]}})
        if simulation is Simulation.HANG:
            return
        gate = self._gates.get(experiment)
        if gate is not None:
            await gate.wait()
        assert self._semaphore is not None
        async with self._semaphore:
            outcome = await self._outcome(job, simulation)
        self.emulator.pod_logs[(namespace, pod_name)] = outcome.log
        terminated = {"exitCode": outcome.exit_code, "reason": outcome.reason, "startedAt": _now(),
                      "finishedAt": _now(), "message": outcome.termination_message}
        await self._patch(pod_path, {"status": {
            "phase": "Succeeded" if outcome.exit_code == 0 else "Failed",
            "containerStatuses": [{"name": "sandbox", "ready": False, "restartCount": 0,
                                   "state": {"running": None, "terminated": terminated}}]}})
        await self._patch(job_path, {"status": self._job_status(outcome, simulation)})

    @staticmethod
    def _job_status(outcome: PodOutcome, simulation: Simulation) -> dict[str, Any]:
        now = _now()
        if outcome.exit_code == 0 and simulation is not Simulation.DEADLINE:
            return {"active": None, "succeeded": 1, "completionTime": now, "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "lastTransitionTime": now},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached", "lastTransitionTime": now}]}
        reason = "DeadlineExceeded" if simulation is Simulation.DEADLINE else "BackoffLimitExceeded"
        message = ("Job was active longer than specified deadline" if simulation is Simulation.DEADLINE
                   else "Job has reached the specified backoff limit")
        return {"active": None, "failed": 1, "conditions": [
            {"type": "FailureTarget", "status": "True", "reason": reason, "message": message, "lastTransitionTime": now},
            {"type": "Failed", "status": "True", "reason": reason, "message": message, "lastTransitionTime": now}]}

    async def _outcome(self, job: Mapping[str, Any], simulation: Simulation) -> PodOutcome:
        if simulation is Simulation.OOM_KILLED:
            return PodOutcome(exit_code=137, log="", reason="OOMKilled")
        if simulation is Simulation.DEADLINE:
            return PodOutcome(exit_code=137, log="started\n", reason="Error")
        if simulation is Simulation.MALFORMED_LOG:
            return PodOutcome(exit_code=0, log=f"hello\n{_MARKER}{{\"kosmosEnvelope\": 1, \"succ\n")
        if simulation is Simulation.NO_LOG:
            return PodOutcome(exit_code=0, log="")
        if self.outcome_for is not None:
            custom = self.outcome_for(job)
            if custom is not None:
                return custom
        files = await self._job_files(job)
        return await asyncio.to_thread(self._run_files, files, job)

    async def _job_files(self, job: Mapping[str, Any]) -> dict[str, str]:
        """The files the pod would see in /etc/kosmos/job, from the projected ConfigMaps."""
        namespace = job["metadata"]["namespace"]
        volume = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "job")
        files: dict[str, str] = {}
        for source in volume["projected"]["sources"]:
            ref = source["configMap"]
            cm = await self._get(f"/api/v1/namespaces/{namespace}/configmaps/{ref['name']}")
            data = (cm or {}).get("data") or {}
            if "items" in ref:
                for item in ref["items"]:
                    if item["key"] in data:
                        files[item["path"]] = data[item["key"]]
            else:
                files.update(data)
        return files

    def _run_files(self, files: Mapping[str, str], job: Mapping[str, Any]) -> PodOutcome:
        spec = json.loads(files["job.json"])
        container = job["spec"]["template"]["spec"]["containers"][0]
        timeout = float(job["spec"].get("activeDeadlineSeconds") or 60)
        if self.runner in ("auto", "executor"):
            outcome = _run_with_executor(files, spec, container, timeout, required=self.runner == "executor")
            if outcome is not None:
                return outcome
        return _run_direct(files, spec, timeout)


def _run_direct(files: Mapping[str, str], spec: dict[str, Any], timeout: float) -> PodOutcome:
    """Run the real runner as a child process, with the pod's command-line flags."""
    import subprocess  # noqa: PLC0415 - only the test helper starts processes

    from kosmos.execution import runner  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="kosmos-fake-pod-") as tmp:
        job_dir, workspace = Path(tmp, "job"), Path(tmp, "workspace")
        job_dir.mkdir()
        workspace.mkdir()
        for name, text in files.items():
            Path(job_dir, name).write_text(text, encoding="utf-8")
        local = dict(spec, artifacts_dir=str(workspace / "artifacts"), sys_path=site.getsitepackages())
        Path(job_dir, "job.json").write_text(json.dumps(local), encoding="utf-8")
        termination = Path(tmp, "termination-log")
        command = [sys.executable, "-I", "-S", runner.__file__, str(job_dir / "job.json"),
                   "--stdout-envelope", "--termination-log", str(termination)]
        try:
            done = subprocess.run(command, cwd=workspace, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return PodOutcome(exit_code=137, log="", reason="Error")
        message = termination.read_text(encoding="utf-8") if termination.exists() else ""
        return PodOutcome(exit_code=done.returncode, log=done.stderr + done.stdout, termination_message=message,
                          reason="Completed" if done.returncode == 0 else "Error")


def _run_with_executor(files: Mapping[str, str], spec: dict[str, Any], container: Mapping[str, Any],
                       timeout: float, *, required: bool) -> PodOutcome | None:
    """Run through the library's sandboxed Executor; None when it is not available here."""
    try:
        from kosmos.execution.executor import Executor  # noqa: PLC0415
    except ImportError:
        if required:
            raise
        return None
    limits = container["resources"]["limits"]
    memory = limits["memory"]
    memory_mb = int(memory[:-2]) if memory.endswith("Mi") else 512
    cpu = limits["cpu"]
    cpu_count = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
    inputs = [(item["name"], item.get("format", "csv"), files[item["path"]]) for item in spec.get("inputs", [])]
    try:
        executor = Executor(resource_limits={"cpu_count": cpu_count, "memory_mb": memory_mb,
                                             "timeout_seconds": int(timeout), "network_access": False})
        result = executor.execute(files["program.py"], parameters=spec.get("parameters", {}), inputs=inputs)
    except Exception:
        if required:
            raise
        return None  # no sandbox on this machine: fall back to the direct runner
    envelope = {
        "kosmosEnvelope": 1, "success": result.success,
        "errorKind": None if result.error_kind is None else str(result.error_kind),
        "error": result.error, "traceback": result.traceback, "results": result.output,
        "resultsTruncated": result.results_truncated, "artifacts": sorted(result.artifacts),
        "timings": {"runSeconds": result.execution_time} if result.execution_time is not None else {},
    }
    compact = {"kosmosEnvelope": 1, "success": result.success, "errorKind": envelope["errorKind"],
               "error": (result.error or "")[:1024] or None}
    exit_code = result.exit_code if result.exit_code is not None else (0 if result.success else 1)
    log = (result.stderr or "") + (result.stdout or "") + "\n" + _MARKER + json.dumps(envelope) + "\n"
    reason = "OOMKilled" if str(result.error_kind) == "memory" and not result.success and exit_code == 137 else (
        "Completed" if exit_code == 0 else "Error")
    return PodOutcome(exit_code=exit_code, log=log, termination_message=json.dumps(compact), reason=reason)
