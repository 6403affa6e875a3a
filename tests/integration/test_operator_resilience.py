"""Restarts, spec changes, deletion and many Experiments at once."""

from __future__ import annotations

import pytest

from kosmos.testing import experiment_body, sleep_spec
from kosmos.testing.emulator import objects_of
from kosmos.testing.harness import running_operator, wait_for

pytestmark = pytest.mark.timeout(240)


def _job_exists(emulator, experiment):
    return objects_of(emulator, "jobs", "batch", labels={"kosmos.dev/experiment": experiment})


async def test_an_operator_restart_mid_run_creates_no_second_job_and_finishes_the_run(cluster, api, jobs, operator_settings):
    emulator, url = cluster
    jobs.hold("restart")
    async with running_operator(url, operator_settings):
        await api.create_experiment(experiment_body("restart", spec=sleep_spec()))
        await wait_for(lambda: _job_exists(emulator, "restart"), timeout=30, what="the Job")
        await wait_for(lambda: api.phase("restart"), timeout=30, what="an in-progress phase")
    assert await api.phase("restart") in ("Pending", "Running")
    jobs.release("restart")  # the pod finishes while no operator runs
    await wait_for(lambda: objects_of(emulator, "jobs", "batch")[0].get("status", {}).get("conditions"),
                   timeout=60, what="the Job to finish")
    async with running_operator(url, operator_settings):
        body = await wait_for(lambda: api.terminal("restart"), timeout=60, what="terminal after restart")
    assert body["status"]["phase"] == "Succeeded"
    assert len(objects_of(emulator, "jobs", "batch")) == 1
    assert len(jobs.handled) == 1


async def test_a_spec_change_reruns_and_cleans_up_the_old_run(cluster, api, jobs, operator_settings):
    emulator, url = cluster
    async with running_operator(url, operator_settings):
        await api.create_experiment(experiment_body("rerun", spec=sleep_spec()))
        first = await wait_for(lambda: api.terminal("rerun"), timeout=60, what="first run")
        assert first["status"]["statistics"][0]["test"] == "welch_t"
        await api.patch_experiment("rerun", {"spec": {"parameters": {"test": "ttest", "value": "extra",
                                                                        "group": "group", "equalVar": True}}})

        async def second_run():
            body = await api.experiment("rerun")
            status = body.get("status") or {}
            return body if status.get("observedGeneration") == 2 and status.get("phase") in ("Succeeded", "Failed") else None

        second = await wait_for(second_run, timeout=60, what="second run")
    assert second["metadata"]["generation"] == 2
    assert second["status"]["phase"] == "Succeeded"
    assert second["status"]["statistics"][0]["test"] == "student_t"
    assert all(c["observedGeneration"] == 2 for c in second["status"]["conditions"])
    for plural, group in (("jobs", "batch"), ("configmaps", ""), ("networkpolicies", "networking.k8s.io")):
        names = [o["metadata"]["name"] for o in objects_of(emulator, plural, group)]
        assert len(names) == 1 and "-g2-" in names[0], (plural, names)


async def test_deleting_an_experiment_mid_run_leaves_nothing_behind(cluster, api, jobs, operator_settings):
    emulator, url = cluster
    jobs.hold("gone")
    async with running_operator(url, operator_settings):
        await api.create_experiment(experiment_body("gone", spec=sleep_spec()))
        await wait_for(lambda: objects_of(emulator, "pods"), timeout=30, what="the pod")
        await api.delete_experiment("gone")
        await wait_for(lambda: not emulator.live_objects(
            __import__("kosmos.testing.emulator", fromlist=["EXPERIMENTS"]).EXPERIMENTS), timeout=30, what="deletion")
        await emulator.collect_garbage(api.session, url)
        jobs.release("gone")
    await emulator.collect_garbage(api.session, url)
    for plural, group in (("jobs", "batch"), ("configmaps", ""), ("networkpolicies", "networking.k8s.io"), ("pods", "")):
        assert objects_of(emulator, plural, group) == [], plural


async def test_results_stay_in_status_after_the_job_ttl_removes_the_job(cluster, api, jobs, operator_settings):
    emulator, url = cluster
    async with running_operator(url, operator_settings):
        await api.create_experiment(experiment_body("kept", spec=sleep_spec()))
        await wait_for(lambda: api.terminal("kept"), timeout=60, what="terminal")
        (job,) = objects_of(emulator, "jobs", "batch")
        async with api.session.delete(f"{url}/apis/batch/v1/namespaces/research/jobs/{job['metadata']['name']}") as r:
            assert r.status == 200  # what the TTL controller does
        await emulator.collect_garbage(api.session, url)
        await wait_for(lambda: not objects_of(emulator, "jobs", "batch"), timeout=10, what="Job gone")
        body = await api.experiment("kept")
    assert body["status"]["phase"] == "Succeeded"
    assert body["status"]["statistics"]


@pytest.mark.slow
async def test_two_hundred_experiments_applied_together_all_reach_a_terminal_phase(cluster, api, jobs, operator_settings):
    emulator, url = cluster
    jobs.concurrency = 8
    names = [f"many-{i:03d}" for i in range(200)]
    async with running_operator(url, operator_settings):
        for i, name in enumerate(names):
            code = "raise RuntimeError('odd')\n" if i % 10 == 9 else f"results = {{'i': {i}}}\n"
            await api.create_experiment(experiment_body(name, spec={"code": code, "resources": {"timeoutSeconds": 30}}))

        async def all_terminal():
            async with api.session.get(f"{url}/apis/kosmos.dev/v1alpha1/namespaces/research/experiments") as r:
                items = (await r.json())["items"]
            phases = [((i.get("status") or {}).get("phase")) for i in items]
            return phases if len(phases) == 200 and all(p in ("Succeeded", "Failed") for p in phases) else None

        phases = await wait_for(all_terminal, timeout=200, interval=0.5, what="200 terminal Experiments")
    assert phases.count("Failed") == 20
    assert phases.count("Succeeded") == 180
    assert len(objects_of(emulator, "jobs", "batch")) == 200
