"""The bwrap argv builder: namespaces, read-only binds, no host environment."""

from __future__ import annotations

from kosmos.execution.sandbox.bubblewrap import BwrapPlan, bwrap_argv, sandbox_env


def _plan(**overrides: object) -> BwrapPlan:
    values: dict[str, object] = {
        "binds": [("/stage/python", "/opt/python")], "job_dir": "/tmp/job", "workspace_dir": "/mnt/ws/workspace",
        "tmp_dir": "/mnt/ws/tmp", "command": ["/opt/python/bin/python3.11", "-I", "-S"],
        "env": sandbox_env(threads=2, lib_dirs=["/opt/python/lib"]), "info_fd": 7,
    }
    values.update(overrides)
    return BwrapPlan(**values)  # type: ignore[arg-type]


def _pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_every_namespace_is_unshared_and_network_is_off_by_default() -> None:
    argv = bwrap_argv(_plan())
    for flag in ("--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net",
                 "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in argv


def test_network_namespace_is_kept_only_when_asked() -> None:
    assert "--unshare-net" not in bwrap_argv(_plan(network=True))


def test_interpreter_and_job_are_read_only_and_only_the_workspace_is_writable() -> None:
    argv = bwrap_argv(_plan())
    assert ("/stage/python", "/opt/python") in _pairs(argv, "--ro-bind")
    assert ("/tmp/job", "/job") in _pairs(argv, "--ro-bind")
    assert sorted(_pairs(argv, "--bind")) == [("/mnt/ws/tmp", "/tmp"), ("/mnt/ws/workspace", "/workspace")]


def test_environment_is_only_what_the_program_needs() -> None:
    argv = bwrap_argv(_plan())
    names = {argv[i + 1] for i, a in enumerate(argv) if a == "--setenv"}
    assert names == {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "MPLBACKEND", "MPLCONFIGDIR", "OPENBLAS_NUM_THREADS",
                     "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "PYTHONDONTWRITEBYTECODE",
                     "LD_LIBRARY_PATH"}
    assert argv[argv.index("HOME") + 1] == "/workspace"
    assert argv[argv.index("OMP_NUM_THREADS") + 1] == "2"


def test_command_follows_the_separator_unchanged() -> None:
    argv = bwrap_argv(_plan())
    assert argv[argv.index("--") + 1 :] == ["/opt/python/bin/python3.11", "-I", "-S"]
