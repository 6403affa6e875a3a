"""`kosmos render` as a GitOps pipeline runs it: every object validates and passes checkov.

Every example is rendered into a namespace (as ``kubectl apply -n research`` would place it),
then each object is validated strictly against the Kubernetes 1.33 OpenAPI schemas and the
whole stream is scanned by checkov's Kubernetes checks. The only skipped checks are the ones
the Job itself names in ``checkov.io/skip*`` annotations, each with its reason (README,
"Policy checks").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))


def render(manifest: Path, tmp_path: Path, namespace: str = "research") -> list[dict[str, Any]]:
    body = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    body["metadata"]["namespace"] = namespace
    placed = tmp_path / manifest.name
    placed.write_text(yaml.safe_dump(body), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "kosmos.cli", "render", str(placed)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def checkov_command() -> str:
    found = os.environ.get("KOSMOS_CHECKOV") or shutil.which("checkov")
    if found:
        return found
    reason = "checkov is not installed: `bash .ci/run` installs it in .venv-checkov (or set KOSMOS_CHECKOV)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.mark.parametrize("manifest", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_rendered_object_of_an_example_validates_against_kubernetes_1_33(manifest: Path, tmp_path: Path) -> None:
    objects = render(manifest, tmp_path)
    kinds = [obj["kind"] for obj in objects]
    assert kinds == ["PriorityClass", "ResourceQuota", "NetworkPolicy", "ConfigMap", "Job"]
    for obj in objects:
        kubernetes_validate.validate(obj, "1.33.0", strict=True)


@pytest.mark.parametrize("manifest", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_checkov_reports_no_failed_check_on_what_an_example_renders(manifest: Path, tmp_path: Path) -> None:
    checkov = checkov_command()
    folder = tmp_path / "scan"
    folder.mkdir()
    (folder / "objects.yaml").write_text(yaml.safe_dump_all(render(manifest, tmp_path)), encoding="utf-8")
    done = subprocess.run(
        [checkov, "-d", str(folder), "--framework", "kubernetes", "--skip-download", "--quiet",
         "--compact", "-o", "json"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    report = json.loads(done.stdout)
    results = report["results"]
    failed = [(c["check_id"], c["resource"], c["check_name"]) for c in results.get("failed_checks", [])]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] >= 80  # the Job alone is checked by dozens of rules
    skipped = {c["check_id"] for c in results.get("skipped_checks", [])}
    assert skipped <= {"CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_15", "CKV_K8S_43"}


def render_edited(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> subprocess.CompletedProcess[str]:
    """`kosmos render` of the sleep example after ``edit`` changed its body."""
    body = yaml.safe_load((REPO / "examples" / "sleep-welch-t.yaml").read_text(encoding="utf-8"))
    edit(body)
    placed = tmp_path / "edited.yaml"
    placed.write_text(yaml.safe_dump(body), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "kosmos.cli", "render", str(placed)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_manifest_without_namespace_renders_into_default(tmp_path: Path) -> None:
    """As kubectl would place it (checkov then flags CKV_K8S_21, which is why examples get one)."""
    done = render_edited(tmp_path, lambda body: body["metadata"].pop("namespace", None))
    assert done.returncode == 0, done.stderr
    job = next(d for d in yaml.safe_load_all(done.stdout) if d and d["kind"] == "Job")
    assert job["metadata"]["namespace"] == "default"


def test_render_of_an_invalid_manifest_exits_2_naming_the_field(tmp_path: Path) -> None:
    done = render_edited(tmp_path, lambda body: body["spec"]["resources"].update(timeoutSeconds=-5))
    assert done.returncode == 2
    assert "timeoutSeconds" in done.stderr
    assert done.stdout == ""


def test_render_of_a_program_the_validator_refuses_exits_2_with_the_reason(tmp_path: Path) -> None:
    def refused(body: dict[str, Any]) -> None:
        body["spec"] = {"code": "import subprocess\nresults = {}\n", "inputs": body["spec"]["inputs"]}

    done = render_edited(tmp_path, refused)
    assert done.returncode == 2
    assert "validation" in done.stderr
    assert "subprocess" in done.stderr
