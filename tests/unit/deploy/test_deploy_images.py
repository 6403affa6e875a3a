"""The Dockerfiles: non-root, pinned, and the sandbox image holds the runner and statistics only.

No container engine runs here, so the images themselves are built only by tests/e2e (kind);
these tests check the Dockerfiles' text and that the files the sandbox image copies are enough
for a generated program, by importing them in isolation.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import REPO
from kosmos.operator.settings import SandboxSettings

OPERATOR_DOCKERFILE = REPO / "Dockerfile"
SANDBOX_DOCKERFILE = REPO / "sandbox-image" / "Dockerfile"
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", re.M)


def _pins(path: Path) -> dict[str, str]:
    return {
        name.lower().replace("_", "-"): version for name, version in _PIN.findall(path.read_text())
    }


def _final_stage(dockerfile: Path) -> str:
    return dockerfile.read_text().rsplit("\nFROM ", 1)[1]


@pytest.mark.parametrize(
    "dockerfile", [OPERATOR_DOCKERFILE, SANDBOX_DOCKERFILE], ids=["operator", "sandbox"]
)
def test_image_runs_as_a_numeric_non_root_user_without_healthcheck(dockerfile: Path) -> None:
    final = _final_stage(dockerfile)
    users = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert users, "no USER in the final stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0
    assert not re.search(r"^HEALTHCHECK", dockerfile.read_text(), re.M)
    assert dockerfile.read_text().count("FROM ") >= 2, "multi-stage build expected"


def test_operator_image_runs_kosmos_operator_with_pinned_dependencies() -> None:
    text = OPERATOR_DOCKERFILE.read_text()
    assert 'ENTRYPOINT ["kosmos"]' in text
    assert 'CMD ["operator"]' in text
    assert "--no-deps" in text
    pins = _pins(REPO / "deploy" / "requirements-operator.txt")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for requirement in map(Requirement, project["dependencies"]):
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is a dependency but not pinned for the image"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name])


def test_sandbox_pins_match_this_machines_packages() -> None:
    """Results match the local sandbox only if the same versions compute them."""
    pins = _pins(REPO / "sandbox-image" / "requirements.txt")
    for name in ("numpy", "scipy", "pandas", "scikit-learn", "matplotlib"):
        assert pins[name] == importlib.metadata.version(name), name
    for name, version in pins.items():
        assert importlib.metadata.version(name) == version, name
    assert (
        f"python:{sys.version_info.major}.{sys.version_info.minor}"
        in SANDBOX_DOCKERFILE.read_text()
    )


def test_sandbox_image_paths_match_the_operator_settings() -> None:
    text = SANDBOX_DOCKERFILE.read_text()
    sandbox = SandboxSettings()
    assert f"COPY operator/kosmos/execution/runner.py {sandbox.runner_path}" in text
    for directory in sandbox.site_packages:
        assert directory.startswith("/usr/local/lib/python3.11/site-packages")
    assert "COPY --from=build /install /usr/local" in text
    assert sandbox.python_path == "/usr/local/bin/python"
    for variable in ("MPLCONFIGDIR=/tmp/", "HOME=/workspace", "XDG_CACHE_HOME=/tmp/"):
        assert variable in text


def _sandbox_copies() -> list[tuple[str, str]]:
    """(source, destination) of every COPY of repository files into the sandbox image."""
    text = SANDBOX_DOCKERFILE.read_text().replace("\\\n", " ")
    copies = []
    for line in text.splitlines():
        parts = line.split()
        if (
            parts[:1] == ["COPY"]
            and not parts[1].startswith("--")
            and parts[1].startswith("operator/")
        ):
            *sources, destination = parts[1:]
            copies.extend((source, destination) for source in sources)
    return copies


def test_sandbox_image_files_run_a_statistics_program_without_the_operator(tmp_path: Path) -> None:
    """Lay out the files as the Dockerfile copies them; a program imports statistics only."""
    root = tmp_path / "image"
    for source, destination in _sandbox_copies():
        target = root / destination.lstrip("/").replace("install/", "usr/local/", 1)
        src = REPO / source
        if src.is_dir():
            shutil.copytree(
                src, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            target = target / src.name if destination.endswith("/") else target
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, target)
    package = root / "usr/local/lib/python3.11/site-packages"
    assert (root / "opt/kosmos/runner.py").is_file()
    assert not (package / "kosmos" / "operator").exists()
    assert not (package / "kosmos" / "cli.py").exists()
    # Third-party packages come from this interpreter's site-packages, kosmos only from the copy.
    third_party = [p for p in sys.path if p.endswith("site-packages")]
    script = (
        "import sys; sys.path[:0] = [sys.argv[1]] + sys.argv[2:];"
        "from kosmos.execution.statistics import compute_ttest;"
        "r = compute_ttest([0.7,-1.6,-0.2,-1.2,-0.1,3.4,3.7,0.8,0.0,2.0],"
        "[1.9,0.8,1.1,0.1,-0.1,4.4,5.5,1.6,4.6,3.4]);"
        "import kosmos; assert kosmos.__file__.startswith(sys.argv[1]), kosmos.__file__;"
        "import importlib.util as u; assert u.find_spec('kosmos.operator') is None;"
        "print(round(r.statistic, 4), round(r.p_value, 5))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(package), *third_party],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["-1.8608", "0.07939"]


def test_dockerignore_keeps_the_build_context_small() -> None:
    text = (REPO / ".dockerignore").read_text()
    assert "**" in text.splitlines(), "everything is ignored unless listed"
    for needed in (
        "!operator/kosmos/**",
        "!pyproject.toml",
        "!deploy/requirements-operator.txt",
        "!sandbox-image/requirements.txt",
    ):
        assert needed in text
