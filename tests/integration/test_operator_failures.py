"""Failed runs end Failed with the right error kind, and nothing stays Running forever."""

from __future__ import annotations

import pytest

from kosmos.testing import experiment_body, sleep_spec
from kosmos.testing.emulator import objects_of
from kosmos.testing.fake_controller import Simulation
from kosmos.testing.harness import running_operator, wait_for

pytestmark = pytest.mark.timeout(120)


async def _terminal_status(api, url, settings, name, spec=None):
    async with running_operator(url, settings):
        await api.create_experiment(experiment_body(name, spec=spec or sleep_spec()))
        body = await wait_for(lambda: api.terminal(name), timeout=60, what=f"{name} terminal")
    return body["status"]


@pytest.mark.parametrize(
    ("simulation", "kind", "word"),
    [
        (Simulation.OOM_KILLED, "memory", "memory"),
        (Simulation.DEADLINE, "timeout", "timeout"),
        (Simulation.IMAGE_PULL, "infrastructure", "ErrImagePull"),
        (Simulation.MALFORMED_LOG, "infrastructure", "malformed"),
        (Simulation.NO_LOG, "infrastructure", "missing"),
    ],
)
async def test_a_failing_pod_ends_failed_with_the_error_kind_from_its_status(
    cluster, api, jobs, operator_settings, simulation, kind, word
):
    emulator, url = cluster
    jobs.simulations["broken"] = simulation
    status = await _terminal_status(api, url, operator_settings, "broken")
    assert status["phase"] == "Failed"
    assert status["execution"]["errorKind"] == kind
    assert word in status["execution"]["error"]
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "True"


async def test_an_image_pull_failure_deletes_the_stuck_job(cluster, api, jobs, operator_settings):
    emulator, url = cluster
    jobs.simulations["pull"] = Simulation.IMAGE_PULL
    await _terminal_status(api, url, operator_settings, "pull")
    assert objects_of(emulator, "jobs", "batch") == []


async def test_an_unschedulable_pod_fails_as_infrastructure_after_the_grace_period(cluster, api, jobs, operator_settings):
    emulator, url = cluster
    jobs.simulations["nowhere"] = Simulation.UNSCHEDULABLE
    status = await _terminal_status(api, url, operator_settings, "nowhere")
    assert status["execution"]["errorKind"] == "infrastructure"
    assert "Unschedulable" in status["execution"]["error"]


async def test_a_program_that_raises_fails_as_runtime_with_its_traceback(cluster, api, jobs, operator_settings):
    emulator, url = cluster
    spec = sleep_spec(type=None, code="raise ValueError('boom')\n", parameters={})
    status = await _terminal_status(api, url, operator_settings, "raises", spec)
    assert status["phase"] == "Failed"
    assert status["execution"]["errorKind"] == "runtime"
    assert "boom" in status["execution"]["error"]


async def test_a_validation_failure_creates_no_job_and_fails_at_once(cluster, api, jobs, operator_settings):
    emulator, url = cluster
    spec = sleep_spec(parameters={"test": "no_such_test", "value": "extra", "group": "group"})
    status = await _terminal_status(api, url, operator_settings, "invalid", spec)
    assert status["phase"] == "Failed"
    assert status["execution"]["errorKind"] == "validation"
    assert "spec.parameters" in status["execution"]["error"]
    assert objects_of(emulator, "jobs", "batch") == []
    assert objects_of(emulator, "configmaps") == []


async def test_a_forbidden_import_is_refused_before_anything_runs(cluster, api, jobs, operator_settings):
    emulator, url = cluster
    spec = sleep_spec(type=None, code="import socket\nresults = {}\n", parameters={})
    status = await _terminal_status(api, url, operator_settings, "sneaky", spec)
    assert status["execution"]["errorKind"] in ("validation", "syntax")
    assert objects_of(emulator, "jobs", "batch") == []


async def test_network_access_is_refused_when_the_policy_forbids_it(cluster, api, jobs, operator_settings):
    emulator, url = cluster
    spec = sleep_spec(resources={"networkAccess": True})
    status = await _terminal_status(api, url, operator_settings, "online", spec)
    assert status["execution"]["errorKind"] == "validation"
    assert "networkAccess" in status["execution"]["error"]
    assert objects_of(emulator, "jobs", "batch") == []
