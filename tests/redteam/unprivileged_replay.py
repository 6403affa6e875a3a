"""Replay every red-team case from a process that dropped to uid 65534 (run by test_unprivileged.py).

Started as root: it discovers the toolchain (opening the interpreter directory, which lives
under /root and is unreachable by uid 65534), drops all privileges for good, and only then
runs the Executor. Everything it needs is imported before the drop, because the standard
library itself is unreachable afterwards. Prints one JSON line per case.
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from redteam_cases import CASES  # noqa: E402

from kosmos.execution.executor import Executor  # noqa: E402
from kosmos.execution.sandbox import discovery  # noqa: E402

NOBODY = 65534


def _others_with_uid(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/status", encoding="utf-8") as handle:
                    uids = next(line for line in handle if line.startswith("Uid:")).split()
            except (OSError, StopIteration):
                continue
            if int(uids[1]) == uid:
                found.append(int(entry))
    return found


def main() -> None:
    host_pid = int(sys.argv[1])
    only = set(sys.argv[2:])
    discovery.discover()
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    assert os.getuid() == NOBODY and not os.access("/root/.pyenv", os.X_OK)
    for case in CASES:
        if only and case.id not in only:
            continue
        code = case.code.replace("HOST_PID", str(host_pid))
        result = Executor(resource_limits=case.resource_limits()).execute(code)
        end = time.monotonic() + 1.0
        while (left := _others_with_uid(NOBODY)) and time.monotonic() < end:
            time.sleep(0.01)
        print(json.dumps({"id": case.id, "kind": None if result.error_kind is None else str(result.error_kind),
                          "error": result.error, "traceback": result.traceback, "output": result.output,
                          "execution_time": result.execution_time, "leftover": left,
                          "measurement": result.measurement, "truncated": result.output_truncated}), flush=True)


if __name__ == "__main__":
    main()
