"""Fixtures of the integration tests: the emulated API, the fake Job controller, the operator."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from kosmos.operator.settings import OperatorSettings
from kosmos.testing.emulator import KosmosEmulator, emulated_cluster
from kosmos.testing.fake_controller import FakeJobController

EXPERIMENTS = "/apis/kosmos.dev/v1alpha1"


class Api:
    """A small client of the emulated API for the tests' own reads and writes."""

    def __init__(self, emulator: KosmosEmulator, base_url: str, session: aiohttp.ClientSession) -> None:
        self.emulator, self.base_url, self.session = emulator, base_url, session

    async def create_experiment(self, body: dict[str, Any]) -> dict[str, Any]:
        ns = body["metadata"].get("namespace", "default")
        async with self.session.post(f"{self.base_url}{EXPERIMENTS}/namespaces/{ns}/experiments", json=body) as r:
            r.raise_for_status()
            return await r.json()

    async def experiment(self, name: str, namespace: str = "research") -> dict[str, Any] | None:
        async with self.session.get(f"{self.base_url}{EXPERIMENTS}/namespaces/{namespace}/experiments/{name}") as r:
            return None if r.status == 404 else await r.json()

    async def patch_experiment(self, name: str, patch: dict[str, Any], namespace: str = "research") -> None:
        async with self.session.patch(f"{self.base_url}{EXPERIMENTS}/namespaces/{namespace}/experiments/{name}",
                                      json=patch, headers={"Content-Type": "application/merge-patch+json"}) as r:
            r.raise_for_status()

    async def delete_experiment(self, name: str, namespace: str = "research") -> None:
        async with self.session.delete(f"{self.base_url}{EXPERIMENTS}/namespaces/{namespace}/experiments/{name}") as r:
            r.raise_for_status()

    async def phase(self, name: str, namespace: str = "research") -> str | None:
        body = await self.experiment(name, namespace)
        return ((body or {}).get("status") or {}).get("phase")

    async def terminal(self, name: str, namespace: str = "research") -> dict[str, Any] | None:
        body = await self.experiment(name, namespace)
        status = (body or {}).get("status") or {}
        return body if status.get("phase") in ("Succeeded", "Failed") else None


@pytest.fixture
def operator_settings() -> OperatorSettings:
    return OperatorSettings(resync_seconds=1.0, stuck_pod_grace_seconds=60.0)


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[KosmosEmulator, str]]:
    logging.getLogger("kopf").setLevel(logging.WARNING)
    async with emulated_cluster() as pair:
        yield pair


@pytest.fixture
async def api(cluster) -> AsyncIterator[Api]:
    emulator, url = cluster
    async with aiohttp.ClientSession() as session:
        yield Api(emulator, url, session)


@pytest.fixture
async def jobs(cluster) -> AsyncIterator[FakeJobController]:
    emulator, url = cluster
    async with FakeJobController(emulator, url) as controller:
        yield controller
