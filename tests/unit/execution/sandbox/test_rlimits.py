"""rlimits of a run: CPU with a SIGKILL backstop, AS only without a memory cgroup."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

from kosmos.execution.sandbox.base import ResourceLimits
from kosmos.execution.sandbox.rlimits import encode, rlimits_for


def test_cpu_hard_limit_is_one_second_above_the_soft_limit() -> None:
    limits = rlimits_for(ResourceLimits(cpu_time_seconds=3), memory_by_cgroup=True, max_open_files=64)
    assert limits[resource.RLIMIT_CPU] == (3, 4)
    assert limits[resource.RLIMIT_CORE] == (0, 0)
    assert limits[resource.RLIMIT_NOFILE] == (64, 64)


def test_address_space_limit_is_set_only_without_a_memory_cgroup() -> None:
    limits = ResourceLimits(memory_mb=100)
    assert resource.RLIMIT_AS not in rlimits_for(limits, memory_by_cgroup=True, max_open_files=64)
    assert rlimits_for(limits, memory_by_cgroup=False, max_open_files=64)[resource.RLIMIT_AS] == (100 << 20,) * 2


def test_file_size_limit_is_in_bytes() -> None:
    limits = rlimits_for(ResourceLimits(max_file_size_mb=5), memory_by_cgroup=True, max_open_files=64)
    assert limits[resource.RLIMIT_FSIZE] == (5 << 20, 5 << 20)


def test_default_cpu_time_follows_the_timeout_and_cores() -> None:
    assert ResourceLimits(timeout_seconds=10, cpu_count=2).cpu_seconds == 20


def test_runner_applies_limits_before_the_program_and_reports_usage(tmp_path) -> None:
    import os

    from kosmos.testing.programs import RUNNER, write_job  # noqa: PLC0415

    write_job("import resource\nresults = {'nofile': list(resource.getrlimit(resource.RLIMIT_NOFILE))}\n", tmp_path)
    read, write = os.pipe()
    arg = encode({resource.RLIMIT_NOFILE: (50, 50)})
    subprocess.run([sys.executable, "-I", "-S", str(RUNNER), "job.json", "--result", "result.json",
                    "--rlimits", arg, "--usage-fd", str(write)],
                   cwd=tmp_path, capture_output=True, text=True, pass_fds=(write,), check=True)
    os.close(write)
    assert json.loads((tmp_path / "result.json").read_text())["results"] == {"nofile": [50, 50]}
    cpu, rss = os.read(read, 100).decode().split()
    assert float(cpu) > 0 and int(rss) > 1000
