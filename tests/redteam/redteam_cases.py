"""The hostile programs of the red-team suite, as data: (id, family, code, limits, expected kind).

Imported by ``test_redteam.py`` (as root, with host-side checks) and by the unprivileged
check, which replays every case from a process that dropped to uid 65534. Each program
either trips exactly one limit or fails its escape attempt in a way that names one kind;
``expect_results`` pins what an escape attempt that "succeeded" at running found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CASES", "Case"]

FAST = {"timeout_seconds": 20, "memory_mb": 256, "max_file_size_mb": 8}


@dataclass(frozen=True)
class Case:
    id: str
    family: str
    code: str
    kind: str | None  # None: the program succeeds (and its results prove the attempt failed)
    limits: dict[str, Any] = field(default_factory=dict)
    expect_results: dict[str, Any] | None = None
    error_contains: str | None = None

    def resource_limits(self) -> dict[str, Any]:
        return {**FAST, **self.limits}


# raw syscalls through ctypes, numbers by machine: (io_uring_setup, userfaultfd, keyctl, bpf, clone3)
KERNEL_SURFACE = """
import ctypes, errno, multiprocessing, platform, subprocess
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
nr = {"x86_64": (425, 323, 250, 321, 435), "aarch64": (425, 282, 219, 280, 435)}[platform.machine()]
def call(rc):
    return "ok" if rc >= 0 else errno.errorcode[ctypes.get_errno()]
results = {
    "unshare_user": call(libc.unshare(0x10000000)),
    "clone_newuser": call(libc.syscall(56 if platform.machine() == "x86_64" else 220, 0x10000000 | 17, 0, 0, 0, 0)),
    "clone3": call(libc.syscall(nr[4], None, 0)),
    "ptrace": call(libc.ptrace(0, 0, None, None)),
    "io_uring_setup": call(libc.syscall(nr[0], 1, ctypes.create_string_buffer(120))),
    "userfaultfd": call(libc.syscall(nr[1], 0)),
    "keyctl": call(libc.syscall(nr[2], 0, 0, 0, 0, 0)),
    "bpf": call(libc.syscall(nr[3], 0, None, 0)),
    "personality": call(libc.personality(0x0040000)),
    "child": subprocess.run(["/usr/bin/true"]).returncode,
}
import socket
for name, family in (("vsock", 40), ("alg", 38), ("packet", 17), ("x25", 9)):
    try:
        socket.socket(family, socket.SOCK_STREAM if family == 40 else socket.SOCK_RAW).close()
        results[name] = "ok"
    except OSError as exc:
        results[name] = errno.errorcode[exc.errno]
socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()
socket.socketpair()[0].close()
with multiprocessing.Pool(2) as pool:
    results["pool"] = pool.map(abs, [-1, -2])
"""

CASES: list[Case] = [
    # --- introspection and dynamic-import escapes -------------------------------------
    Case("subclasses_walk_to_os", "introspection",
         "m = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]\n"
         "os_ = m()._module.__builtins__['__import__']('os')\n"
         "results = {'etc': sorted(os_.listdir('/etc')), 'uid0': os_.getuid() == 0}\n",
         None, expect_results={"etc": ["ld.so.cache", "localtime"], "uid0": False}),
    Case("dynamic_import_read_shadow", "introspection",
         "getattr(__import__('builtins'), 'open')('/etc/shadow').read()", "runtime",
         error_contains="No such file"),
    Case("ctypes_setuid_root", "introspection",
         "import ctypes\nlibc = ctypes.CDLL(None)\n"
         "rc = libc.setuid(0)\nimport os\nresults = {'rc': rc, 'uid': os.getuid() == 0}\n",
         None, expect_results={"rc": -1, "uid": False}),
    Case("ctypes_mount_proc", "introspection",
         "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
         "rc = libc.mount(b'none', b'/workspace', b'tmpfs', 0, None)\n"
         "results = {'rc': rc}\n",
         None, expect_results={"rc": -1}),
    Case("read_host_root_dir", "introspection",
         "import os\nos.listdir('/root')", "runtime", error_contains="No such file"),
    # --- CPU loops and signal tricks ---------------------------------------------------
    Case("cpu_loop", "cpu", "while True:\n    pass\n", "cpu",
         limits={"cpu_time_seconds": 1, "timeout_seconds": 30}),
    Case("cpu_loop_ignoring_sigxcpu", "cpu",
         "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass\n", "cpu",
         limits={"cpu_time_seconds": 1, "timeout_seconds": 30}),
    Case("cpu_loop_in_forked_children", "cpu",
         "import os\nfor _ in range(2):\n    if os.fork() == 0:\n        break\nwhile True:\n    pass\n", "cpu",
         limits={"cpu_time_seconds": 1, "timeout_seconds": 30}),
    Case("ignore_all_signals_and_spin", "cpu",
         "import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU):\n"
         "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass\n", "timeout",
         limits={"timeout_seconds": 1.5}),
    # --- sleeps past the deadline ------------------------------------------------------
    Case("sleep_past_deadline", "sleep", "import time\ntime.sleep(3600)\n", "timeout",
         limits={"timeout_seconds": 1}),
    Case("sleep_in_child_process", "sleep",
         "import subprocess\nsubprocess.run(['/usr/bin/sleep', '3600'])\n", "timeout",
         limits={"timeout_seconds": 1}),
    # --- detached daemons and pipe holders ---------------------------------------------
    Case("setsid_daemon_outlives_program", "daemon",
         "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
         "        while True:\n            time.sleep(1)\n    os._exit(0)\nresults = {'parent': 'done'}\n",
         None, expect_results={"parent": "done"}),
    Case("daemon_holds_stdout_pipe", "daemon",
         "import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    while True:\n"
         "        sys.stdout.write('.'); sys.stdout.flush(); time.sleep(0.05)\n"
         "results = {'parent': 'done'}\n",
         None, expect_results={"parent": "done"}),
    Case("daemon_and_sleep_past_deadline", "daemon",
         "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(3600)\ntime.sleep(3600)\n",
         "timeout", limits={"timeout_seconds": 1}),
    # --- fork and thread bombs -----------------------------------------------------------
    Case("fork_bomb", "fork", "import os\nwhile True:\n    os.fork()\n", "process_limit",
         limits={"max_processes": 32}),
    Case("thread_bomb", "fork",
         "import threading, time\nts = []\nwhile True:\n"
         "    t = threading.Thread(target=time.sleep, args=(60,), daemon=True)\n    t.start()\n    ts.append(t)\n",
         "process_limit", limits={"max_processes": 32}),
    Case("subprocess_bomb", "fork",
         "import subprocess\nps = []\nwhile True:\n    ps.append(subprocess.Popen(['/usr/bin/sleep', '60']))\n",
         "process_limit", limits={"max_processes": 16}),
    # --- memory bombs --------------------------------------------------------------------
    Case("eager_bytes_bomb", "memory", "x = b'x' * (1 << 31)\n", "memory", limits={"memory_mb": 128}),
    Case("lazy_list_growth", "memory",
         "chunks = []\nwhile True:\n    chunks.append(bytearray(b'y' * (8 << 20)))\n", "memory",
         limits={"memory_mb": 128}),
    Case("numpy_eager_ones", "memory", "import numpy as np\na = np.ones(1 << 28)\n", "memory",
         limits={"memory_mb": 192}),
    Case("numpy_lazy_touch", "memory",
         "import numpy as np\na = np.zeros(1 << 28)\nfor i in range(0, a.size, 1 << 20):\n    a[i:i + (1 << 20)] = 1.0\n",
         "memory", limits={"memory_mb": 192}),
    # --- huge file and millions of small files -----------------------------------------
    Case("one_huge_file", "files",
         "with open('big', 'wb') as f:\n    for _ in range(64):\n        f.write(b'z' * (1 << 20))\n",
         "file_size", limits={"max_file_size_mb": 8}),
    Case("millions_of_small_files", "files",
         "import os\nos.mkdir('many')\nfor i in range(2_000_000):\n    open(f'many/{i}', 'w').close()\n",
         "file_size"),
    Case("fill_workspace_with_files_under_the_cap", "files",
         "for i in range(1000):\n    with open(f'f{i}', 'wb') as f:\n        f.write(b'q' * (7 << 20))\n",
         "file_size", limits={"max_file_size_mb": 8, "memory_mb": 512}),
    # --- output floods -------------------------------------------------------------------
    Case("stdout_flood", "output", "while True:\n    print('x' * 4096)\n", "output_limit"),
    Case("stderr_flood", "output", "import sys\nwhile True:\n    sys.stderr.write('e' * 4096)\n", "output_limit"),
    Case("flood_from_detached_child", "output",
         "import os, sys\nif os.fork() == 0:\n    os.setsid()\n    while True:\n        os.write(1, b'd' * 65536)\n"
         "import time\ntime.sleep(30)\n", "output_limit"),
    # --- environment secrets and service-account tokens -------------------------------
    Case("environment_secrets", "secrets",
         "import os\nresults = {'secret': [k for k in os.environ if 'SECRET' in k or 'TOKEN' in k or 'KUBE' in k],"
         " 'home': os.environ.get('HOME')}\n",
         None, expect_results={"secret": [], "home": "/workspace"}),
    Case("service_account_token", "secrets",
         "open('/var/run/secrets/kubernetes.io/serviceaccount/token').read()", "runtime",
         error_contains="No such file"),
    Case("proc_1_environ", "secrets",
         "import os\ndata = open('/proc/1/environ', 'rb').read()\nresults = {'secret': b'SECRET' in data}\n",
         None, expect_results={"secret": False}),
    # --- network and DNS egress --------------------------------------------------------
    Case("tcp_egress", "network",
         "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)\n", "runtime",
         error_contains="unreachable"),
    Case("dns_lookup", "network",
         "import socket\nsocket.getaddrinfo('example.com', 80)\n", "runtime", error_contains="gaierror"),
    Case("abstract_unix_socket_to_host", "network",
         "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect('\\0kosmos-redteam-canary')\n", "runtime",
         error_contains="Connection refused"),
    # --- kernel surface: refused by the seccomp filter, while fork, threads and processes still work
    Case("kernel_surface_syscalls", "seccomp", KERNEL_SURFACE, None, expect_results={
        "unshare_user": "EPERM", "clone_newuser": "EPERM", "clone3": "ENOSYS", "ptrace": "EPERM",
        "io_uring_setup": "EPERM", "userfaultfd": "EPERM", "keyctl": "EPERM", "bpf": "EPERM",
        "personality": "EPERM", "pool": [1, 2], "child": 0,
        "vsock": "EAFNOSUPPORT", "alg": "EAFNOSUPPORT", "packet": "EAFNOSUPPORT", "x25": "EAFNOSUPPORT"}),
    # --- /dev: read-only but for a size-capped /dev/shm ----------------------------------
    Case("write_into_dev", "write", "open('/dev/kosmos-x', 'w')\n", "runtime",
         error_contains="Read-only file system"),
    Case("fill_dev_shm", "files",
         "with open('/dev/shm/f', 'wb') as f:\n    while True:\n        f.write(b'x' * (1 << 20))\n        f.flush()\n",
         "file_size", limits={"max_file_size_mb": 64}),
    # --- forged or hostile result envelopes: refused by the host, never a crash ---------------
    Case("exit_status_without_a_signal", "envelope", "import os\nos._exit(200)\n", "runtime",
         error_contains="ended (status 200) without reporting a result"),
    Case("exit_status_faking_sigxcpu", "envelope", "import os\nos._exit(152)\n", "runtime",
         error_contains="ended (signal SIGXCPU) without reporting a result"),
    Case("envelope_forged_deeply_nested", "envelope",
         "import os\nopen('/workspace/.kosmos-result.json', 'w').write('[' * 200000)\nos._exit(0)\n",
         "runtime", error_contains="without reporting a result"),
    Case("envelope_forged_with_wrong_types", "envelope",
         "import json, os\nopen('/workspace/.kosmos-result.json', 'w').write(json.dumps({'kosmosEnvelope': 1,"
         " 'success': True, 'traceback': {'x': 1}, 'results': {}}))\nos._exit(0)\n",
         "runtime", error_contains="refused: field 'traceback' is dict, expected str or null"),
    Case("results_nested_too_deep", "envelope",
         "x = 1\nfor i in range(300):\n    x = [x]\nresults = {'a': x}\n",
         "runtime", error_contains="results['a'] nests deeper than 64 levels"),
    # --- symlinked outputs ----------------------------------------------------------------
    # the runner renames a fresh envelope over the program's symlink; nothing is written through it
    # (the host's own no-follow read of a symlinked envelope: tests/unit/execution/sandbox/test_workspace.py)
    Case("result_file_symlinked_out", "symlink",
         "import os\nos.symlink('/job/job.json', '/workspace/.kosmos-result.json')\n"
         "os.symlink('/job/job.json', '/workspace/.kosmos-result.json.partial')\nresults = {'x': 1}\n",
         None, expect_results={"x": 1}),
    Case("artifact_symlink_to_job", "symlink",
         "import os\nos.symlink('/job/job.json', os.path.join(artifacts_dir, 'leak.json'))\n"
         "open(os.path.join(artifacts_dir, 'real.txt'), 'w').write('mine')\nresults = {'x': 1}\n",
         None, expect_results={"x": 1}),
    # --- writes outside the workspace ----------------------------------------------------
    Case("write_into_interpreter", "write",
         "open('/opt/python/lib/kosmos-owned.py', 'w').write('x')", "runtime", error_contains="Read-only"),
    Case("write_into_job", "write", "open('/job/program.py', 'w').write('x')", "runtime", error_contains="Read-only"),
    Case("write_into_usr", "write", "open('/usr/kosmos-owned', 'w').write('x')", "runtime", error_contains="Read-only"),
    # --- signalling other processes ------------------------------------------------------
    Case("kill_everything", "signal",
         "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n    pass\n"
         "results = {'alive': True}\n", None, expect_results={"alive": True}),
    Case("kill_host_pid", "signal", "import os, signal\nos.kill(HOST_PID, signal.SIGKILL)\n", "runtime",
         error_contains="No such process"),
]
