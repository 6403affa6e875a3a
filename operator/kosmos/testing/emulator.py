"""An in-process Kubernetes API for tests: kmock's stateful emulator plus what kopf needs.

``KosmosEmulator`` loads kmock's bundled built-in resources, declares the Experiment CRD (with
its status subresource) and plays the API server's bookkeeping that kmock leaves out: uid,
generation (bumped on spec changes), resourceVersion, creationTimestamp, label selectors on
lists, pod logs (``pods/NAME/log``, fed by the fake kubelet) and ownerReference garbage
collection (``collect_garbage``). ``emulated_cluster`` starts it on a loopback port.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import aiohttp.web
import kmock
from kmock._internal import dicts as _kmock_dicts  # noqa: PLC2701 - kmock's own merge-patch semantics

from kosmos.api.spec import API_GROUP, API_VERSION, KIND

__all__ = ["EXPERIMENTS", "KosmosEmulator", "emulated_cluster"]

EXPERIMENTS = kmock.resource(API_GROUP, API_VERSION, "experiments")
PODS = kmock.resource("", "v1", "pods")
_VERBS = ["list", "watch", "get", "create", "patch", "update", "delete"]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _drop(history: list[Any], request: object) -> None:
    for index in range(len(history) - 1, -1, -1):
        if history[index] is request:
            del history[index]
            return


def _selector(text: str | None) -> dict[str, str]:
    pairs = [part.split("=", 1) for part in (text or "").split(",") if "=" in part]
    return {key.strip().rstrip("="): value.strip() for key, value in pairs}


class KosmosEmulator(kmock.KubernetesEmulator):
    """kmock's KubernetesEmulator with the API server bookkeeping Kosmos' tests rely on."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.resources.load_bundled()
        self.resources[EXPERIMENTS] = kmock.ResourceInfo(
            kind=KIND, singular="experiment", namespaced=True, verbs=_VERBS, subresources=["status"],
            shortnames=["exp"],
        )
        self.pod_logs: dict[tuple[str, str], str] = {}
        self._versions = itertools.count(1)

    def _stamp(self, request: kmock.Request) -> None:
        data = request.data
        if request.resource is None:
            return
        if isinstance(data, list):  # JSON patch: bump the version after kopf's own "test" ops
            data.append({"op": "add", "path": "/metadata/resourceVersion", "value": str(next(self._versions))})
            return
        if not isinstance(data, dict):
            return
        meta = data.setdefault("metadata", {})
        meta["resourceVersion"] = str(next(self._versions))
        if request.action == kmock.action.CREATE:
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", _now())
            meta["generation"] = 1
        elif request.action == kmock.action.UPDATE and request.subresource is None and request.name:
            key = (request.resource, request.namespace, request.name)
            if key in self.objects and not self.objects[key].deleted:
                old = copy.deepcopy(self.objects[key].raw)
                new = _kmock_dicts.patch_dict(copy.deepcopy(old), data)
                generation = old.get("metadata", {}).get("generation") or 1
                meta["generation"] = generation + 1 if new.get("spec") != old.get("spec") else generation

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        """Serve one request, then forget it.

        kmock keeps every request for assertions and finds each new one in that whole history
        (by identity, for every reaction), so a long test turns quadratic: 200 Experiments took
        minutes inside kmock's filtering. Kosmos' tests assert on objects, never on request
        logs, so only the requests still in flight are kept.
        """
        try:
            return await self._serve(request)
        finally:
            _drop(self._requests, request)
            for payload in self._payloads:
                _drop(payload._requests, request)  # noqa: SLF001 - kmock's own history

    async def _serve(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.resource == PODS and request.subresource == "log" and request.name:
            text = self.pod_logs.get((request.namespace or "", request.name))
            if text is None:
                return aiohttp.web.json_response({"kind": "Status", "code": 404, "reason": "NotFound"}, status=404)
            tail = request.params.get("tailLines")
            if tail:
                text = "\n".join(text.splitlines()[-int(tail):]) + ("\n" if text.endswith("\n") else "")
            return aiohttp.web.Response(text=text)
        if isinstance(request.data, list) and request.resource is not None and request.name:
            conflict = self._version_conflict(request)
            if conflict:
                return aiohttp.web.json_response(
                    {"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": 422,
                     "reason": "Invalid", "message": conflict}, status=422)
        self._stamp(request)
        return await super()._handle(request)

    def _version_conflict(self, request: kmock.Request) -> str | None:
        """JSON patches whose resourceVersion test fails are refused with 422, as kopf expects."""
        key = (request.resource, request.namespace, request.name)
        if key not in self.objects or self.objects[key].deleted:
            return None
        current = self.objects[key].raw.get("metadata", {}).get("resourceVersion")
        for op in request.data:
            if op.get("op") == "test" and op.get("path") == "/metadata/resourceVersion" and op.get("value") != current:
                return f"the object has been modified: resourceVersion {current}, not {op.get('value')}"
        return None

    async def _serve_list(self, request: kmock.Request) -> Any:
        result = await super()._serve_list(request)
        wanted = _selector(request.params.get("labelSelector"))
        if wanted and isinstance(result, dict):
            result["items"] = [
                item for item in result["items"]
                if all((item.get("metadata", {}).get("labels") or {}).get(k) == v for k, v in wanted.items())
            ]
        return result

    def live_objects(self, resource: Any = None) -> list[dict[str, Any]]:
        """Every object not deleted (optionally of one resource), as raw dicts."""
        found = []
        for (res, _ns, _name), obj in list(self.objects.items()):
            if obj.deleted or (resource is not None and res != resource):
                continue
            found.append(obj.raw)
        return found

    async def collect_garbage(self, session: aiohttp.ClientSession, base_url: str) -> int:
        """Delete, through the API, every object whose owners are all gone (like kube-controller-manager).

        Repeats until nothing more goes (a Job's pods go after the Job). Returns how many went.
        """
        deleted = 0
        while True:
            uids = {obj.get("metadata", {}).get("uid") for obj in self.live_objects()}
            doomed = []
            for (res, ns, name), obj in list(self.objects.items()):
                if obj.deleted:
                    continue
                owners = obj.raw.get("metadata", {}).get("ownerReferences") or []
                if owners and not any(o.get("uid") in uids for o in owners):
                    doomed.append((res, ns, name))
            if not doomed:
                return deleted
            for res, ns, name in doomed:
                prefix = "/api/v1" if res.group == "" else f"/apis/{res.group}/{res.version}"
                where = f"/namespaces/{ns}" if ns else ""
                async with session.delete(f"{base_url}{prefix}{where}/{res.plural}/{name}") as response:
                    if response.status < 300:
                        deleted += 1


@asynccontextmanager
async def emulated_cluster() -> AsyncIterator[tuple[KosmosEmulator, str]]:
    """Start a KosmosEmulator on a loopback port; yields it with its base URL."""
    async with KosmosEmulator() as emulator, kmock.Server(emulator) as server:
        yield emulator, str(server.url).rstrip("/")


def objects_of(emulator: KosmosEmulator, plural: str, group: str = "", version: str = "v1",
               labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Live objects of one resource, optionally filtered by labels (assertion helper)."""
    resource = kmock.resource(group, version, plural)
    items = emulator.live_objects(resource)
    if labels:
        items = [i for i in items if all((i["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())]
    return items
