"""The manifest builders produce valid, restricted, deterministic Kubernetes objects."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from kosmos.api.errors import ManifestError
from kosmos.operator.builders import (
    configmap_for,
    job_for,
    network_policy_for,
    priority_class_for,
    resource_quota_for,
)
from kosmos.operator.naming import LABEL_RUN, run_name_for
from kosmos.operator.settings import OperatorSettings, SandboxSettings
from kosmos.testing import sleep_spec

VERSIONS = ("1.33.0", kubernetes_validate.latest_version())


def all_objects(plan, settings):
    return [
        configmap_for(plan, settings),
        job_for(plan, settings),
        network_policy_for(plan, settings),
        resource_quota_for(plan.namespace, settings),
        priority_class_for(settings),
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_built_object_validates_strictly_against_the_kubernetes_schema(plan, settings, version):
    for obj in all_objects(plan, settings):
        kubernetes_validate.validate(obj, version, strict=True)


def test_objects_with_config_map_inputs_runtime_class_and_network_validate(plan_of, settings):
    spec = sleep_spec(
        inputs=[{"name": "dataset", "format": "csv", "configMapKeyRef": {"name": "sleep-data", "key": "sleep.csv"}}],
        runtimeClassName="gvisor",
        resources={"cpu": "500m", "memoryMB": 256, "timeoutSeconds": 30, "networkAccess": True},
    )
    permissive = OperatorSettings(sandbox=SandboxSettings(allow_network=True))
    plan = plan_of(spec)
    for obj in all_objects(plan, permissive):
        kubernetes_validate.validate(obj, "1.33.0", strict=True)
    assert network_policy_for(plan, permissive)["spec"]["egress"] == [{}]


def test_job_pod_follows_the_restricted_pod_security_standard(plan, settings):
    job = job_for(plan, settings)
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    ctx = container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["runAsUser"] > 10000
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")


def test_job_has_hard_limits_equal_to_requests_and_a_deadline(plan, settings):
    job = job_for(plan, settings)
    spec = job["spec"]
    container = spec["template"]["spec"]["containers"][0]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 60
    assert spec["ttlSecondsAfterFinished"] == 3600
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["resources"]["limits"]["cpu"] == "1"
    assert container["resources"]["limits"]["memory"] == "512Mi"
    workspace = next(v for v in spec["template"]["spec"]["volumes"] if v["name"] == "workspace")
    assert workspace["emptyDir"]["sizeLimit"].endswith("Mi")


def test_job_runs_the_runner_isolated_with_envelope_and_termination_log(plan, settings):
    container = job_for(plan, settings)["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    assert command[1:4] == ["-I", "-S", "/opt/kosmos/runner.py"]
    assert command[4] == "/etc/kosmos/job/job.json"
    assert "--stdout-envelope" in command
    assert command[-2:] == ["--termination-log", "/dev/termination-log"]
    assert container["terminationMessagePolicy"] == "File"


def test_job_disables_sidecar_injection(plan, settings):
    annotations = job_for(plan, settings)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["sidecar.istio.io/inject"] == "false"
    assert annotations["linkerd.io/inject"] == "disabled"


def test_every_checkov_skip_names_its_reason(plan, settings):
    annotations = job_for(plan, settings)["metadata"]["annotations"]
    skips = {k: v for k, v in annotations.items() if k.startswith("checkov.io/skip")}
    assert skips
    for value in skips.values():
        check, _, reason = value.partition("=")
        assert check.startswith("CKV_K8S_") and len(reason) > 20


def test_children_are_owned_by_the_experiment_and_share_a_deterministic_name(plan_of, plan, settings):
    objects = [configmap_for(plan, settings), job_for(plan, settings), network_policy_for(plan, settings)]
    names = {obj["metadata"]["name"] for obj in objects}
    assert names == {plan.name}
    for obj in objects:
        (owner,) = obj["metadata"]["ownerReferences"]
        assert owner["kind"] == "Experiment" and owner["controller"] is True
        assert owner["uid"] == plan.uid
    assert plan_of().name == plan.name


def test_a_spec_change_or_a_new_generation_gives_new_names(plan_of):
    base = plan_of()
    assert plan_of(generation=2).name != base.name
    assert plan_of(sleep_spec(resources={"cpu": "2"})).name != base.name


def test_run_names_fit_in_a_dns_label():
    name = run_name_for("x" * 63, 123456, "sha256:" + "a" * 64)
    assert len(name) <= 63 and name.endswith("-g123456-aaaaaaaa")


def test_network_policy_denies_all_ingress_and_egress_including_dns(plan, settings):
    policy = network_policy_for(plan, settings)["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["ingress"] == [] and policy["egress"] == []
    assert policy["podSelector"]["matchLabels"] == {LABEL_RUN: plan.name}
    pod_labels = job_for(plan, settings)["spec"]["template"]["metadata"]["labels"]
    assert pod_labels[LABEL_RUN] == plan.name


def test_network_stays_closed_when_the_policy_forbids_it_even_if_asked(plan_of, settings):
    plan = plan_of(sleep_spec(resources={"networkAccess": True}))
    assert network_policy_for(plan, settings)["spec"]["egress"] == []


def test_resource_quota_caps_only_pods_of_the_sandbox_priority_class(settings):
    quota = resource_quota_for("research", settings)
    (expr,) = quota["spec"]["scopeSelector"]["matchExpressions"]
    assert expr == {"scopeName": "PriorityClass", "operator": "In", "values": ["kosmos-sandbox"]}
    assert "ownerReferences" not in quota["metadata"]


def test_configmap_holds_program_job_file_and_inline_inputs(plan, settings):
    cm = configmap_for(plan, settings)
    assert cm["immutable"] is True
    job = json.loads(cm["data"]["job.json"])
    assert cm["data"]["program.py"] == plan.program
    assert job["inputs"] == [{"name": "dataset", "format": "csv", "path": "input-dataset.csv"}]
    assert cm["data"]["input-dataset.csv"].startswith("extra,group")
    assert job["artifacts_dir"] == "/workspace/artifacts"
    assert job["parameters"]["test"] == "ttest"


def test_config_map_inputs_are_projected_into_the_job_directory_read_only(plan_of, settings):
    plan = plan_of(sleep_spec(
        inputs=[{"name": "dataset", "format": "csv", "configMapKeyRef": {"name": "sleep-data", "key": "sleep.csv"}}]
    ))
    cm = configmap_for(plan, settings)
    assert "input-dataset.csv" not in cm["data"]
    pod = job_for(plan, settings)["spec"]["template"]["spec"]
    sources = next(v for v in pod["volumes"] if v["name"] == "job")["projected"]["sources"]
    assert {"configMap": {"name": "sleep-data", "items": [{"key": "sleep.csv", "path": "input-dataset.csv"}]}} in sources
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "job")
    assert mount["readOnly"] is True


def test_inputs_over_the_configmap_limit_are_refused_with_a_clear_reason(plan_of, settings):
    big = "x,y\n" + "1,2\n" * 300_000
    plan = plan_of(sleep_spec(inputs=[{"name": "dataset", "format": "csv", "inline": big}]))
    with pytest.raises(ManifestError, match="ConfigMap limit") as caught:
        configmap_for(plan, settings)
    assert caught.value.field == "spec.inputs"


def test_render_without_uid_has_no_owner_references(plan_of, settings):
    plan = plan_of(uid=None)
    assert "ownerReferences" not in job_for(plan, settings)["metadata"]
