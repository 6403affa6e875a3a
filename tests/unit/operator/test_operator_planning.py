"""Planning applies the operator's policy and refuses bad specs with the field named."""

from __future__ import annotations

import pytest

from kosmos.api.errors import ManifestError
from kosmos.api.spec import ExperimentSpec
from kosmos.operator.planning import check_policy, spec_of
from kosmos.operator.settings import LimitSettings, OperatorSettings
from kosmos.testing import experiment_body, sleep_spec


@pytest.mark.parametrize(
    ("resources", "field"),
    [({"cpu": "16"}, "spec.resources.cpu"), ({"memoryMB": 100000}, "spec.resources.memoryMB"),
     ({"timeoutSeconds": 80000}, "spec.resources.timeoutSeconds"), ({"networkAccess": True}, "spec.resources.networkAccess")],
)
def test_requests_above_the_operator_policy_are_refused_naming_the_field(resources, field):
    spec = ExperimentSpec.model_validate(sleep_spec(resources=resources))
    with pytest.raises(ManifestError) as caught:
        check_policy(spec, OperatorSettings.defaults())
    assert caught.value.field == field and field in caught.value.message


def test_limits_come_from_the_settings_tree():
    spec = ExperimentSpec.model_validate(sleep_spec(resources={"cpu": "2"}))
    with pytest.raises(ManifestError):
        check_policy(spec, OperatorSettings(limits=LimitSettings(max_cpu_cores=1)))


def test_a_malformed_spec_is_a_manifest_error_with_its_path():
    with pytest.raises(ManifestError) as caught:
        spec_of(experiment_body(spec={"type": "statistical_test", "resources": {"memoryMB": -1}}))
    assert "spec.resources.memoryMB" in caught.value.message


def test_settings_load_from_nested_environment_variables(monkeypatch):
    monkeypatch.setenv("KOSMOS_SANDBOX__IMAGE", "registry.example/sandbox@sha256:" + "0" * 64)
    monkeypatch.setenv("KOSMOS_LIMITS__MAX_MEMORY_MB", "1024")
    settings = OperatorSettings.from_env()
    assert settings.sandbox.image.startswith("registry.example/")
    assert settings.limits.max_memory_mb == 1024
