"""The seccomp filter: what it refuses exists here, it compiles, and its absence is said."""

from __future__ import annotations

import sys

import pytest

from kosmos.execution.sandbox import LocalSandbox, SandboxSettings, SandboxUnavailableError, seccomp
from kosmos.execution.sandbox.base import ResourceLimits, RunRequest

pyseccomp = pytest.importorskip("pyseccomp", reason="pyseccomp is a dependency on Linux; install the package")


def test_every_refused_syscall_is_known_on_this_machine() -> None:
    arch = pyseccomp.system_arch()
    unknown = [name for name in seccomp.DENIED if pyseccomp.resolve_syscall(arch, name) < 0]
    assert unknown == []


def test_the_filter_compiles_to_bpf_and_says_what_it_refuses() -> None:
    compiled = seccomp.compiled()
    assert compiled.bpf and len(compiled.bpf) % 8 == 0  # whole BPF instructions
    assert compiled.describe() == (f"seccomp: {len(seccomp.DENIED)} syscalls and namespace flags of clone "
                                   "refused with EPERM, clone3 with ENOSYS, sockets other than unix, inet, "
                                   "inet6 and netlink with EAFNOSUPPORT")


def test_without_libseccomp_there_is_no_filter_and_the_reason_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyseccomp", None)  # import fails as if the binding were missing
    seccomp.compiled.cache_clear()
    try:
        missing = seccomp.compiled()
    finally:
        seccomp.compiled.cache_clear()
    assert missing.bpf == b""
    assert missing.describe().startswith("no seccomp filter (pyseccomp or libseccomp.so.2 is missing: ModuleNotFoundError: ")


@pytest.mark.sandbox
@pytest.mark.parametrize("enabled", [True, False])
def test_a_run_says_whether_its_filter_was_on(enabled: bool) -> None:
    try:
        box = LocalSandbox(SandboxSettings(seccomp=enabled))
    except SandboxUnavailableError as exc:
        pytest.skip(f"no bubblewrap sandbox on this machine: {exc}")
    code = ("import ctypes, errno\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            "rc = libc.personality(0xffffffff)\n"  # a query: allowed without the filter
            "results = {'rc': rc, 'errno': errno.errorcode.get(ctypes.get_errno()) if rc < 0 else None}\n")
    result = box.run(RunRequest(code=code, limits=ResourceLimits(timeout_seconds=30)))
    assert result.success, result.error
    if enabled:
        assert result.measurement["seccomp"] == seccomp.compiled().describe()
        assert result.output == {"rc": -1, "errno": "EPERM"}
    else:
        assert result.measurement["seccomp"] == "no seccomp filter (SandboxSettings.seccomp is False)"
        assert result.output["rc"] >= 0
