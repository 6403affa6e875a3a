"""The seccomp filter bwrap installs on every run: kernel interfaces a computation never needs.

Called by ``local.py``, which hands the compiled BPF to bwrap (``--seccomp FD``). It is one
more layer under the namespaces, cgroups and rlimits, not the boundary: it narrows the kernel
surface a hostile program can reach from inside its user namespace (nested namespaces,
io_uring, userfaultfd, bpf, ptrace, keyrings, perf, and socket families such as AF_VSOCK that a
network namespace does not isolate). Denied calls fail with EPERM (clone3
with ENOSYS, so libc falls back to clone, whose namespace flags the filter can see). The
filter is built once per process with libseccomp (through ``pyseccomp``); where libseccomp
is missing the runs go on without it and their result says so.
"""

from __future__ import annotations

import errno
import functools
import tempfile
from dataclasses import dataclass

__all__ = ["DENIED", "Filter", "compiled"]

# syscall -> why no computation needs it
DENIED: dict[str, str] = {
    "unshare": "new namespaces: a nested user namespace grants capabilities inside it",
    "setns": "joining other namespaces",
    "mount": "mounting (with fsopen, fsmount, move_mount, open_tree, fsconfig)",
    "umount2": "unmounting",
    "pivot_root": "changing the root",
    "fsopen": "the new mount API",
    "fsmount": "the new mount API",
    "move_mount": "the new mount API",
    "open_tree": "the new mount API",
    "fsconfig": "the new mount API",
    "ptrace": "tracing other processes of the run",
    "process_vm_readv": "reading another process's memory",
    "process_vm_writev": "writing another process's memory",
    "io_uring_setup": "io_uring, a large and often-exploited interface",
    "io_uring_enter": "io_uring",
    "io_uring_register": "io_uring",
    "userfaultfd": "a common exploit primitive for kernel races",
    "bpf": "loading BPF programs",
    "perf_event_open": "performance counters and kernel profiling",
    "keyctl": "kernel keyrings",
    "add_key": "kernel keyrings",
    "request_key": "kernel keyrings",
    "personality": "execution domains (e.g. turning off address randomisation)",
    "kexec_load": "loading a new kernel",
    "kexec_file_load": "loading a new kernel",
    "init_module": "loading kernel modules",
    "finit_module": "loading kernel modules",
    "delete_module": "unloading kernel modules",
    "open_by_handle_at": "opening files by handle, past the mount namespace",
    "name_to_handle_at": "file handles",
    "swapon": "swap",
    "swapoff": "swap",
    "reboot": "rebooting",
    "acct": "process accounting",
    "quotactl": "disk quotas",
    "syslog": "the kernel log",
    "chroot": "changing the root",
}
# clone flags that make a namespace (clone's first argument on x86_64 and aarch64); clone3
# keeps its flags in memory the filter cannot read, so it is refused outright
_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                    0x40000000)


# socket families: only AF_UNIX (1), AF_INET (2), AF_INET6 (10) and AF_NETLINK (16) are allowed;
# 17 and above (AF_PACKET, AF_ALG, AF_VSOCK, ...) are refused by one rule, these by one each
_OTHER_FAMILIES = (3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15)


@dataclass(frozen=True)
class Filter:
    """The compiled filter, or why there is none (``bpf`` empty)."""

    bpf: bytes
    why_none: str = ""

    def describe(self) -> str:
        if not self.bpf:
            return f"no seccomp filter ({self.why_none})"
        return (f"seccomp: {len(DENIED)} syscalls and namespace flags of clone refused with EPERM, "
                "clone3 with ENOSYS, sockets other than unix, inet, inet6 and netlink with EAFNOSUPPORT")


@functools.cache
def compiled() -> Filter:
    """The filter as BPF for bwrap, built once per process."""
    try:
        import pyseccomp  # noqa: PLC0415 - needs libseccomp.so.2 at import
    except (ImportError, OSError, TypeError, AttributeError) as exc:
        return Filter(b"", f"pyseccomp or libseccomp.so.2 is missing: {type(exc).__name__}: {exc}")
    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for name in DENIED:
        try:
            rules.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
        except (OSError, ValueError, RuntimeError):
            continue  # a syscall this kernel's architecture does not have
    for flag in _NAMESPACE_FLAGS:
        rules.add_rule(pyseccomp.ERRNO(errno.EPERM), "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
    rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    for call in ("socket", "socketpair"):  # families a network namespace does not isolate (vsock...)
        rules.add_rule(pyseccomp.ERRNO(errno.EAFNOSUPPORT), call, pyseccomp.Arg(0, pyseccomp.GE, 17))
        for family in _OTHER_FAMILIES:
            rules.add_rule(pyseccomp.ERRNO(errno.EAFNOSUPPORT), call, pyseccomp.Arg(0, pyseccomp.EQ, family))
    with tempfile.TemporaryFile() as handle:
        rules.export_bpf(handle)
        handle.seek(0)
        return Filter(handle.read())
