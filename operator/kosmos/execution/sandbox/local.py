"""The local backend: one bubblewrap sandbox per run, turned into an ExecutionResult.

Called by :class:`kosmos.execution.executor.Executor`. Outcome precedence, so every run maps
to exactly one error kind: infrastructure (sandbox did not start) > timeout > output_limit >
memory (cgroup OOM kill) > signals (SIGXCPU/SIGKILL past the CPU limit: cpu, SIGXFSZ:
file_size) > process_limit (pids cgroup hit, or EAGAIN on fork/thread) > the runner's
envelope > runtime (the program died without one).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from kosmos.api.errors import ErrorKind
from kosmos.execution.result import ExecutionResult
from kosmos.execution.runner import MAX_ERROR_CHARS, MAX_TRACEBACK_CHARS, cap_results, clip
from kosmos.execution.sandbox import cgroups, discovery, rlimits, seccomp, thread_launch, workspace
from kosmos.execution.sandbox.base import RunRequest, SandboxSettings, SandboxUnavailableError
from kosmos.execution.sandbox.bubblewrap import BwrapPlan, bwrap_argv, sandbox_env
from kosmos.execution.sandbox.process import ChildSetup, ProcessOutcome, SpawnError, run_supervised
from kosmos.execution.sandbox.uids import lease_uid

__all__ = ["LocalSandbox", "UnsandboxedRunner", "classify"]

log = logging.getLogger(__name__)

_EAGAIN = re.compile(r"\[Errno 11\]|can't start new thread|Resource temporarily unavailable")
_ENOSPC = re.compile(r"\[Errno (28|122)\]")
_ENVELOPE_KINDS = frozenset({"runtime", "data", "memory", "file_size", "syntax"})  # what the runner reports
_SIGNALS = frozenset(signal.Signals)  # a status of 128 + one of these is a death by that signal



@dataclass(frozen=True)
class Verdict:
    success: bool
    kind: ErrorKind | None
    error: str | None


def classify(outcome: ProcessOutcome, envelope: dict[str, Any] | None, *, request: RunRequest,
             cgroup: cgroups.RunCgroup | None, workspace_full: bool = False, refused: str | None = None,
             max_output_bytes: int | None = None) -> Verdict:
    """Exactly one error kind for what happened (see the module docstring for precedence).

    ``refused``: why an envelope the program left was not used (it then counts as missing).
    """
    limits = request.limits
    if outcome.timed_out:
        return Verdict(False, ErrorKind.TIMEOUT,
                       f"timeout: the program ran past its wall-clock limit of {limits.timeout_seconds:g} s")
    if outcome.output_limited:
        cap = f" of {max_output_bytes} bytes" if max_output_bytes is not None else ""
        return Verdict(False, ErrorKind.OUTPUT_LIMIT,
                       f"output limit{cap} on stdout and stderr exceeded: the program wrote at least "
                       f"{outcome.output_bytes} bytes before it was stopped")
    if cgroup is not None and cgroup.oom_killed():
        return Verdict(False, ErrorKind.MEMORY,
                       f"memory limit of {limits.memory_mb} MiB exceeded (killed by the kernel OOM killer)")
    code = outcome.exit_code
    sig = -code if code is not None and code < 0 else (code - 128 if code and code - 128 in _SIGNALS else 0)
    cpu_limit = limits.cpu_seconds
    if cgroup is not None:  # the runner's own report is the fallback: the program could alter it
        cpu_used = max(outcome.cpu_seconds, cgroup.cpu_seconds() or 0.0)
    else:
        cpu_used = max(outcome.cpu_seconds, outcome.usage[0] if outcome.usage else 0.0)
    if sig in (signal.SIGXCPU, signal.SIGKILL) and cpu_used >= cpu_limit * 0.95:  # not a mere exit(152)
        return Verdict(False, ErrorKind.CPU, f"cpu time limit of {cpu_limit:g} s exceeded")
    if sig == signal.SIGXFSZ:
        return Verdict(False, ErrorKind.FILE_SIZE,
                       f"file size limit of {limits.max_file_size_mb} MiB exceeded")
    if cgroup is not None and cgroup.pids_limit_hit() and (envelope is None or not envelope.get("success")):
        return Verdict(False, ErrorKind.PROCESS_LIMIT,
                       f"process limit of {limits.max_processes} processes/threads reached")
    if envelope is None and workspace_full:
        return Verdict(False, ErrorKind.FILE_SIZE,
                       "file size limit: the workspace is full (its size or file-count cap was reached)")
    if envelope is None:
        what = f"signal {signal.Signals(sig).name}" if sig else f"status {code}"
        why = f"; the result file it left was refused: {refused}" if refused else ""
        return Verdict(False, ErrorKind.RUNTIME, f"the program ended ({what}) without reporting a result{why}")
    if envelope.get("success") and envelope.get("errorKind") is None:
        return Verdict(True, None, None)
    raw_kind = envelope.get("errorKind") or "runtime"
    message = clip(str(envelope.get("error") or raw_kind), MAX_ERROR_CHARS)
    if raw_kind in _ENVELOPE_KINDS:
        kind = ErrorKind(raw_kind)
    else:  # the program can write the envelope: only the sandbox decides these
        kind = ErrorKind.RUNTIME
        message = f"{message} (the result file claimed errorKind {str(raw_kind)[:40]!r}, which only the sandbox sets)"
    if kind is ErrorKind.RUNTIME and _EAGAIN.search(message):
        kind = ErrorKind.PROCESS_LIMIT
        message = f"process limit of {limits.max_processes} processes/threads reached: {message}"
    elif kind is ErrorKind.RUNTIME and _ENOSPC.search(message):
        kind = ErrorKind.FILE_SIZE
        message = f"file size limit: the workspace is full: {message}"
    elif kind is ErrorKind.MEMORY:
        message = f"memory limit of {limits.memory_mb} MiB exceeded: {message}"
    elif kind is ErrorKind.FILE_SIZE:
        message = f"file size limit of {limits.max_file_size_mb} MiB exceeded: {message}"
    return Verdict(False, kind, message)


def _probe_userns() -> str | None:
    """Why user namespaces cannot be used here, or None when they can."""
    try:
        with open("/proc/sys/user/max_user_namespaces", encoding="utf-8") as handle:
            if int(handle.read().strip() or "0") == 0:
                return "user namespaces are disabled (user.max_user_namespaces = 0)"
    except OSError:
        return "this kernel has no user namespaces"
    with contextlib.suppress(OSError), open("/proc/sys/kernel/unprivileged_userns_clone", encoding="utf-8") as handle:
        if handle.read().strip() == "0" and os.geteuid() != 0:
            return "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)"
    return None


def _seccomp_fd(settings: SandboxSettings) -> int | None:
    """A memfd holding the compiled filter for bwrap's ``--seccomp``, or None without one."""
    bpf = seccomp.compiled().bpf if settings.seccomp else b""
    if not bpf:
        return None
    fd = os.memfd_create("kosmos-seccomp", os.MFD_CLOEXEC)
    os.write(fd, bpf)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _thread_launch(settings: SandboxSettings, group: cgroups.RunCgroup | None, leave: list[str], *,
                   as_root: bool) -> bool:
    """Whether a launch thread can start this run (see ``thread_launch.py``); ``leave`` are the
    caller's own groups, which the thread must be able to go back to."""
    if settings.launch == "fork" or not as_root or not thread_launch.supported():
        return False
    if group is None:
        return True
    return group.version == 1 and len(leave) == len(group.dirs) and all(os.access(p, os.W_OK) for p in leave)


class LocalSandbox:
    """bubblewrap + cgroups + rlimits on this machine (see ``sandbox/__init__.py``)."""

    name = "local"

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self.settings = settings or SandboxSettings()
        reason = _probe_userns()
        if reason is not None:
            raise SandboxUnavailableError(f"no sandbox: {reason}; pass unsafe_no_sandbox=True to run without isolation")
        self.toolchain = discovery.discover()

    def run(self, request: RunRequest) -> ExecutionResult:
        as_root = os.geteuid() == 0
        if as_root:
            first, count = self.settings.uid_range
            with lease_uid(first, count) as uid:
                return self._run(request, uid=uid, gid=uid, as_root=True)
        return self._run(request, uid=os.getuid(), gid=os.getgid(), as_root=False)

    def _run(self, request: RunRequest, *, uid: int, gid: int, as_root: bool) -> ExecutionResult:
        tc, st, limits = self.toolchain, self.settings, request.limits
        if limits.network_access and not st.allow_network:
            return ExecutionResult(success=False, error_kind=ErrorKind.VALIDATION, backend=self.name,
                                   error="network_access was requested but the sandbox policy forbids it",
                                   docker_image=request.docker_image)
        group = cgroups.create(st.cgroup, memory_bytes=limits.memory_mb << 20,
                               pids=limits.max_processes + 4, cpu_count=limits.cpu_count)
        job_dir = workspace.make_job_dir(request.code, request.inputs, request.parameters,
                                         sys_path=list(tc.sys_path), max_results_bytes=st.max_results_bytes,
                                         root=st.workspace_root or discovery.scratch_root(),
                                         owner=(uid, gid))
        outcome: ProcessOutcome | None = None
        seccomp_fd = _seccomp_fd(st)
        try:
            limits_arg = rlimits.encode(rlimits.rlimits_for(
                limits, memory_by_cgroup=group is not None and "memory" in group.dirs,
                max_open_files=st.max_open_files))
            ws_mount = os.path.join(tc.mountpoints, "ws")
            plan = BwrapPlan(
                binds=[(discovery.staged(tc, t.host), t.target) for t in tc.trees],
                job_dir=job_dir, workspace_dir=os.path.join(ws_mount, "workspace"),
                tmp_dir=os.path.join(ws_mount, "tmp"),
                command=[tc.python_sandbox, "-I", "-S", tc.runner_sandbox, "/job/job.json",
                         "--result", f"/workspace/{workspace.RESULT_NAME}", "--rlimits", limits_arg],
                env=sandbox_env(threads=limits.threads, lib_dirs=tc.lib_dirs),
                info_fd=-1, network=limits.network_access, merged_usr=tc.merged_usr, seccomp_fd=seccomp_fd,
                shm_bytes=st.workspace_bytes(limits))
            info_r, info_w = os.pipe()
            usage_r, usage_w = os.pipe()
            command = [*plan.command, "--usage-fd", str(usage_w)]
            plan = BwrapPlan(**{**plan.__dict__, "info_fd": info_w, "command": command})
            leave = group.origin_paths() if group else []
            setup = ChildSetup(uid=uid, gid=gid, as_root=as_root,
                               cgroup_procs=group.join_paths() if group else (),
                               stage_fd=tc.stage_fd, stage_target=os.path.join(tc.mountpoints, "stage"),
                               workspace_target=ws_mount, workspace_bytes=st.workspace_bytes(limits),
                               workspace_inodes=st.workspace_inodes,
                               thread_launch=_thread_launch(st, group, leave, as_root=as_root),
                               cgroup_leave=leave)
            try:
                outcome = run_supervised(bwrap_argv(plan), executable=discovery.staged(tc, tc.bwrap), setup=setup,
                                         info_pipe=(info_r, info_w), usage_pipe=(usage_r, usage_w),
                                         timeout_seconds=limits.timeout_seconds,
                                         max_output_bytes=st.max_output_bytes,
                                         kill_extra=group.kill if group else None,
                                         extra_fds=() if seccomp_fd is None else (seccomp_fd,))
            except SpawnError as exc:
                return ExecutionResult(success=False, error_kind=ErrorKind.INFRASTRUCTURE, error=str(exc),
                                       backend=self.name, docker_image=request.docker_image)
            return self._result(request, outcome, group)
        finally:
            if seccomp_fd is not None:
                os.close(seccomp_fd)
            if outcome is not None:
                workspace.close_workspace(outcome.workspace_fd)
            if group is not None:
                group.remove()
            workspace.remove_job_dir(job_dir)

    def _result(self, request: RunRequest, outcome: ProcessOutcome, group: cgroups.RunCgroup | None) -> ExecutionResult:
        st = self.settings
        stderr_text = outcome.stderr.decode("utf-8", errors="replace")
        if outcome.child_pid is None and not outcome.timed_out:
            return ExecutionResult(success=False, error_kind=ErrorKind.INFRASTRUCTURE, exit_code=outcome.exit_code,
                                   error=f"the sandbox did not start: {stderr_text.strip()[:500]}",
                                   stderr=stderr_text, backend=self.name, docker_image=request.docker_image)
        envelope = None
        refused = None
        artifacts: dict[str, bytes] = {}
        measurement: dict[str, str] = {}
        if outcome.workspace_fd is not None:
            envelope = workspace.read_envelope(outcome.workspace_fd, st.max_results_bytes * 2 + 65536)
            refused = workspace.envelope_problem(envelope) if envelope is not None else None
            if refused is not None:
                envelope = None
            if envelope is not None:
                if envelope.get("results") is not None:  # the program may have written the file itself
                    envelope["results"], cut = cap_results(envelope["results"], st.max_results_bytes)
                    envelope["resultsTruncated"] = bool(envelope.get("resultsTruncated")) or cut
                artifacts, skipped = workspace.read_artifacts(outcome.workspace_fd, envelope.get("artifacts"),
                                                              max_total_bytes=st.max_artifact_bytes)
                if skipped:
                    measurement["artifacts"] = f"skipped (not a regular file, a symlink, or over the cap): {skipped[:20]}"
        verdict = classify(outcome, envelope, request=request, cgroup=group,
                           workspace_full=workspace.is_full(outcome.workspace_fd), refused=refused,
                           max_output_bytes=st.max_output_bytes)
        peak_mb, cpu_seconds = None, outcome.cpu_seconds
        if group is not None:
            peak = group.peak_memory_bytes()
            if peak is not None:
                peak_mb = peak / (1 << 20)
                measurement["peak_memory_mb"] = f"{group.describe()}: max memory usage of the run's cgroup"
            cg_cpu = group.cpu_seconds()
            if cg_cpu is not None:
                cpu_seconds = cg_cpu
                measurement["cpu_usage"] = f"{group.describe()}: cgroup CPU time / wall time * 100"
        if "cpu_usage" not in measurement and outcome.usage is not None:
            cpu_seconds = max(outcome.usage[0], outcome.cpu_seconds)
            measurement["cpu_usage"] = ("user+system time of the runner and its reaped children (getrusage reported "
                                        "by the in-sandbox runner, which the program could alter; no cgroup) / "
                                        "wall time * 100")
        if peak_mb is None and outcome.usage is not None:
            peak_mb = outcome.usage[1] / 1024
            measurement["peak_memory_mb"] = ("ru_maxrss of the largest process of the run (getrusage reported by "
                                             "the in-sandbox runner, which the program could alter; no cgroup)")
        if peak_mb is None:
            peak_mb = outcome.maxrss_kib / 1024
            measurement["peak_memory_mb"] = "ru_maxrss of the largest waited process (wait4 rusage of bwrap)"
        measurement.setdefault("cpu_usage", "user+system time of the waited processes (wait4 rusage of bwrap) / wall time * 100")
        measurement["execution_time"] = "wall clock from spawning the sandbox until every process of the run was gone"
        measurement["output_size_bytes"] = "bytes the run wrote to stdout and stderr (counted past the cap)"
        measurement["memory_limit"] = (
            f"{group.describe()} memory limit" if group is not None and "memory" in group.dirs
            else ("RLIMIT_AS per process (no writable cgroup): the run's processes together, its "
                  f"tmpfs workspace and its /dev/shm (up to {st.workspace_bytes(request.limits) >> 20} MiB "
                  "each) can use more"))
        measurement["process_limit"] = ("cgroup pids.max and RLIMIT_NPROC" if group is not None
                                        else "RLIMIT_NPROC in the run's user namespace (no writable cgroup)")
        measurement["isolation"] = ("bubblewrap: user, pid, net, ipc, uts, cgroup namespaces; uid "
                                    + ("per-run host uid" if os.geteuid() == 0 else f"{os.getuid()} (caller)"))
        measurement["seccomp"] = (seccomp.compiled().describe() if st.seccomp
                                  else "no seccomp filter (SandboxSettings.seccomp is False)")
        if outcome.launch:
            measurement["launch"] = outcome.launch
        wall = outcome.wall_seconds
        timings = envelope.get("timings") if envelope else None
        return ExecutionResult(
            success=verdict.success,
            output=(envelope or {}).get("results") if envelope else None,
            error=verdict.error,
            error_kind=verdict.kind,
            traceback=clip(envelope["traceback"], MAX_TRACEBACK_CHARS) if envelope and envelope.get("traceback")
            else None,
            exit_code=outcome.exit_code,
            stdout=outcome.stdout.decode("utf-8", errors="replace"),
            stderr=stderr_text,
            output_truncated=outcome.truncated,
            results_truncated=bool((envelope or {}).get("resultsTruncated")),
            execution_time=wall,
            peak_memory_mb=peak_mb,
            cpu_usage=(cpu_seconds / wall * 100.0) if wall > 0 else None,
            output_size_bytes=outcome.output_bytes,
            artifacts=artifacts,
            measurement={**measurement, **({"runner_timings": clip(str(timings), 512)} if timings else {})},
            backend=self.name,
            docker_image=request.docker_image,
        )


class UnsandboxedRunner:
    """Runs the runner directly, without isolation (``unsafe_no_sandbox=True``): tests and debugging only."""

    name = "local-unsafe-no-sandbox"

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self.settings = settings or SandboxSettings()

    def run(self, request: RunRequest) -> ExecutionResult:
        log.warning("UNSAFE: ran a program WITHOUT any sandbox (unsafe_no_sandbox=True); "
                    "it can read and change everything this user can")
        st = self.settings
        runner = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runner.py")
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        job_dir = workspace.make_job_dir(request.code, request.inputs, request.parameters,
                                         sys_path=[package_root, *discovery._site_dirs()],  # noqa: SLF001
                                         max_results_bytes=st.max_results_bytes, root=st.workspace_root,
                                         artifacts_dir="")
        work = tempfile.mkdtemp(prefix="kosmos-unsafe-")
        result_path = os.path.join(work, "result.json")
        started = time.monotonic()
        timed_out = False
        try:
            proc = subprocess.Popen([discovery._real_python(), "-I", "-S", runner, os.path.join(job_dir, "job.json"),  # noqa: SLF001
                                     "--result", result_path], cwd=work, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True, env={"HOME": work, "MPLBACKEND": "Agg"})
            try:
                out, err = proc.communicate(timeout=request.limits.timeout_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
            wall = time.monotonic() - started
            envelope = None
            with contextlib.suppress(OSError, ValueError):
                import json  # noqa: PLC0415

                with open(result_path, encoding="utf-8") as handle:
                    envelope = json.load(handle)
            outcome = ProcessOutcome(wait_status=0, timed_out=timed_out, wall_seconds=wall,
                                     output_bytes=len(out) + len(err), child_pid=proc.pid)
            outcome.wait_status = (proc.returncode & 0xFF) << 8 if proc.returncode >= 0 else -proc.returncode
            verdict = classify(outcome, envelope, request=request, cgroup=None)
            cap = st.max_output_bytes
            return ExecutionResult(
                success=verdict.success, output=(envelope or {}).get("results") if envelope else None,
                error=verdict.error, error_kind=verdict.kind, traceback=(envelope or {}).get("traceback"),
                exit_code=proc.returncode, stdout=out[:cap].decode(errors="replace"),
                stderr=err[:cap].decode(errors="replace"), output_truncated=len(out) + len(err) > cap,
                execution_time=wall, output_size_bytes=len(out) + len(err),
                measurement={"isolation": "NONE: unsafe_no_sandbox=True, the program ran as this user without a sandbox",
                             "execution_time": "wall clock of the unsandboxed process"},
                backend=self.name, docker_image=request.docker_image)
        finally:
            workspace.remove_job_dir(job_dir)
            import shutil  # noqa: PLC0415

            shutil.rmtree(work, ignore_errors=True)


