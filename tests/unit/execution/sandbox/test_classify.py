"""Exactly one error kind per outcome, with the documented precedence."""

from __future__ import annotations

import signal

import pytest

from kosmos.api.errors import ErrorKind
from kosmos.execution.sandbox.base import ResourceLimits, RunRequest
from kosmos.execution.sandbox.local import classify
from kosmos.execution.sandbox.process import ProcessOutcome

REQUEST = RunRequest(code="", limits=ResourceLimits(timeout_seconds=5, memory_mb=64, cpu_time_seconds=2))
OK = {"kosmosEnvelope": 1, "success": True, "errorKind": None, "error": None, "results": {}}


def _exit(code: int) -> int:
    return code << 8


def _killed(sig: int) -> int:
    return sig


class FakeCgroup:
    def __init__(self, *, oom: bool = False, pids: bool = False, cpu: float = 0.0) -> None:
        self.oom, self.pids, self.cpu = oom, pids, cpu

    def oom_killed(self) -> bool:
        return self.oom

    def pids_limit_hit(self) -> bool:
        return self.pids

    def cpu_seconds(self) -> float:
        return self.cpu


def _kind(outcome: ProcessOutcome, envelope=None, cgroup=None, full=False):
    return classify(outcome, envelope, request=REQUEST, cgroup=cgroup, workspace_full=full)  # type: ignore[arg-type]


def test_timeout_wins_over_everything_and_says_timeout() -> None:
    verdict = _kind(ProcessOutcome(timed_out=True, output_limited=True, wait_status=_killed(9)), OK, FakeCgroup(oom=True))
    assert verdict.kind is ErrorKind.TIMEOUT and "timeout" in (verdict.error or "")


def test_output_flood_is_output_limit_and_names_the_cap() -> None:
    verdict = classify(ProcessOutcome(output_limited=True, output_bytes=1114112), None, request=REQUEST,
                       cgroup=None, max_output_bytes=1 << 20)
    assert verdict.kind is ErrorKind.OUTPUT_LIMIT
    assert verdict.error == ("output limit of 1048576 bytes on stdout and stderr exceeded: the program wrote "
                             "at least 1114112 bytes before it was stopped")


def test_oom_kill_is_memory_and_says_memory() -> None:
    verdict = _kind(ProcessOutcome(wait_status=_exit(137)), None, FakeCgroup(oom=True))
    assert verdict.kind is ErrorKind.MEMORY and "memory" in (verdict.error or "")


def test_sigxcpu_is_cpu_only_when_the_cpu_limit_was_used() -> None:
    spent = ProcessOutcome(wait_status=_exit(128 + signal.SIGXCPU), cpu_seconds=2.0)
    assert _kind(spent).kind is ErrorKind.CPU
    faked = _kind(ProcessOutcome(wait_status=_exit(128 + signal.SIGXCPU), cpu_seconds=0.1))  # os._exit(152)
    assert faked.kind is ErrorKind.RUNTIME
    assert faked.error == "the program ended (signal SIGXCPU) without reporting a result"


def test_a_refused_result_file_is_missing_and_the_reason_is_said() -> None:
    verdict = classify(ProcessOutcome(wait_status=0), None, request=REQUEST, cgroup=None,
                       refused="field 'traceback' is dict, expected str or null")
    assert verdict.kind is ErrorKind.RUNTIME
    assert verdict.error == ("the program ended (status 0) without reporting a result; the result file it "
                             "left was refused: field 'traceback' is dict, expected str or null")


@pytest.mark.parametrize(("status", "kind"), [
    (_exit(128 + signal.SIGXFSZ), ErrorKind.FILE_SIZE),
    (_killed(signal.SIGXFSZ), ErrorKind.FILE_SIZE),
    (_exit(128 + signal.SIGSEGV), ErrorKind.RUNTIME),
])
def test_fatal_signals_map_to_their_kind(status: int, kind: ErrorKind) -> None:
    assert _kind(ProcessOutcome(wait_status=status)).kind is kind


@pytest.mark.parametrize(("status", "said"), [(255, "status 255"), (200, "status 200"), (137, "signal SIGKILL")])
def test_a_status_over_128_is_a_signal_only_when_it_names_one(status: int, said: str) -> None:
    verdict = _kind(ProcessOutcome(wait_status=_exit(status)))
    assert verdict.kind is ErrorKind.RUNTIME
    assert verdict.error == f"the program ended ({said}) without reporting a result"


def test_sigkill_after_the_cpu_limit_is_cpu_and_before_it_is_runtime() -> None:
    killed = ProcessOutcome(wait_status=_exit(128 + signal.SIGKILL))
    assert _kind(killed, None, FakeCgroup(cpu=2.5)).kind is ErrorKind.CPU
    assert _kind(killed, None, FakeCgroup(cpu=0.1)).kind is ErrorKind.RUNTIME


def test_pids_limit_with_a_failed_run_is_process_limit() -> None:
    failed = {**OK, "success": False, "errorKind": "runtime", "error": "x"}
    assert _kind(ProcessOutcome(wait_status=_exit(1)), failed, FakeCgroup(pids=True)).kind is ErrorKind.PROCESS_LIMIT


@pytest.mark.parametrize(("raw", "message", "kind"), [
    ("runtime", "BlockingIOError: [Errno 11] Resource temporarily unavailable", ErrorKind.PROCESS_LIMIT),
    ("runtime", "RuntimeError: can't start new thread", ErrorKind.PROCESS_LIMIT),
    ("runtime", "OSError: [Errno 28] No space left on device", ErrorKind.FILE_SIZE),
    ("memory", "MemoryError", ErrorKind.MEMORY),
    ("file_size", "OSError: [Errno 27] File too large", ErrorKind.FILE_SIZE),
    ("data", "input 'x' could not be loaded", ErrorKind.DATA),
    ("runtime", "ValueError: boom", ErrorKind.RUNTIME),
    ("not-a-kind", "weird", ErrorKind.RUNTIME),
])
def test_envelope_kinds_are_refined_from_the_error(raw: str, message: str, kind: ErrorKind) -> None:
    envelope = {**OK, "success": False, "errorKind": raw, "error": message}
    verdict = _kind(ProcessOutcome(wait_status=_exit(1)), envelope)
    assert verdict.kind is kind
    if kind is ErrorKind.MEMORY:
        assert "memory" in (verdict.error or "")


def test_missing_envelope_is_runtime_unless_the_workspace_is_full() -> None:
    assert _kind(ProcessOutcome(wait_status=_exit(0))).kind is ErrorKind.RUNTIME
    assert _kind(ProcessOutcome(wait_status=_exit(1)), full=True).kind is ErrorKind.FILE_SIZE


def test_successful_envelope_is_success() -> None:
    verdict = _kind(ProcessOutcome(wait_status=_exit(0)), OK)
    assert verdict.success and verdict.kind is None


@pytest.mark.parametrize("claimed", ["timeout", "infrastructure", "output_limit", "cpu", "process_limit", "nonsense"])
def test_a_result_file_claiming_a_kind_only_the_sandbox_decides_is_runtime_and_says_so(claimed: str) -> None:
    envelope = {"kosmosEnvelope": 1, "success": False, "errorKind": claimed, "error": "node lost"}
    verdict = _kind(ProcessOutcome(wait_status=0), envelope)
    assert verdict.kind is ErrorKind.RUNTIME
    assert verdict.error == f"node lost (the result file claimed errorKind {claimed!r}, which only the sandbox sets)"


@pytest.mark.parametrize("kind", ["runtime", "data", "memory", "file_size", "syntax"])
def test_the_kinds_the_runner_reports_are_kept(kind: str) -> None:
    envelope = {"kosmosEnvelope": 1, "success": False, "errorKind": kind, "error": "boom"}
    assert _kind(ProcessOutcome(wait_status=1 << 8), envelope).kind is ErrorKind(kind)


def test_a_huge_error_message_is_clipped() -> None:
    envelope = {"kosmosEnvelope": 1, "success": False, "errorKind": "runtime", "error": "x" * 10_000}
    assert _kind(ProcessOutcome(wait_status=1 << 8), envelope).error == "x" * 4096 + "... (5904 more characters)"


@pytest.mark.parametrize(("reported", "usage"), [
    (b"1.500000 20480", (1.5, 20480)),
    (b"nan 1", None), (b"inf 1", None), (b"-1 5", None), (b"1.0 -5", None),
    (b"99999.0 1", None),  # more CPU than the wall time allows
    (b"1.0 1 x", None), (b"\xff\xfe", None), (b"x" * 201, None),
])
def test_the_runners_usage_report_is_kept_only_when_a_run_could_have_made_it(reported: bytes, usage) -> None:
    from kosmos.execution.sandbox.process import _usage  # noqa: PLC0415

    assert _usage(reported, wall=2.0) == usage


def test_with_a_cgroup_a_forged_usage_report_does_not_make_a_kill_a_cpu_limit() -> None:
    forged = ProcessOutcome(wait_status=_exit(128 + signal.SIGKILL), usage=(99999.0, 1))
    assert _kind(forged, None, FakeCgroup(cpu=0.1)).kind is ErrorKind.RUNTIME
