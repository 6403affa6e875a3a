"""The emulated API server of the operator benchmark: ``KosmosEmulator`` with a stopwatch and
the fixes kmock 0.8 needs to serve a thousand Experiments at once.

Used by ``bench/operator_cluster.py``. ``TimedEmulator`` stamps, on this process's clock and as
each request is applied, when an Experiment was created, its Job created, the Job marked
complete and the Experiment's status made terminal. What it changes in kmock, each found with
py-spy on this benchmark:

* Dispatch walked kmock's request history through each reaction's filters to find the new
  request (``View.__contains__`` -> ``Filter.__iter__`` -> ``Criteria._check``: 97% of the
  emulator's time at 200 Experiments with kmock as shipped). KosmosEmulator now forgets served
  requests, which leaves the ones in flight (watches included); here each request sees only
  itself, so dispatch is O(reactions).
* Finding an object scanned every stored object (``KubernetesEmulator.__get_objs``), comparing
  resources through a runtime-checked Protocol, and every list walked all objects to find the
  known resources: O(objects) per request. Here named objects come from the store's dict and
  lists walk only their own resource's objects.
* The watch sent a snapshot and only then started reading the event bus, so changes made
  meanwhile were lost; and it ignored ``resourceVersion``, so kopf's list-then-watch got every
  object twice, the second time possibly older than what kopf had already patched. kopf then
  patched a stale body, got 422 and waited for an event that never came (until the operator's
  30 s resync timer). Here the bus position is taken with the snapshot under the store's lock,
  lists carry the current version and a watch sends only objects changed since the version it
  asks for. (Deletions between a list and its watch are not replayed; nothing is deleted here.)
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

import aiohttp.web
import kmock

from kosmos.operator.naming import LABEL_EXPERIMENT
from kosmos.testing.emulator import EXPERIMENTS, KosmosEmulator

__all__ = ["JOBS", "TimedEmulator"]

JOBS = kmock.resource("batch", "v1", "jobs")
_TERMINAL = ("Succeeded", "Failed")
_VERBS = {"FETCH": "GET", "CREATE": "POST", "UPDATE": "PATCH"}
_Key = tuple[Any, Any, Any]  # (kmock.resource, namespace, name), as kmock keys its store
_SERVING: contextvars.ContextVar[kmock.Request | None] = contextvars.ContextVar(
    "serving", default=None)


class _Versions(Iterator[int]):
    """KosmosEmulator's resourceVersion counter, remembering the last version handed out."""

    def __init__(self) -> None:
        self._count = itertools.count(1)
        self.last = 0

    def __next__(self) -> int:
        self.last = next(self._count)
        return self.last


class _OnlyServing(list[kmock.Request]):
    """Stands in for kmock's list of all requests served: keeps none, shows only the current."""

    def append(self, _request: kmock.Request) -> None:
        pass

    def __iter__(self) -> Iterator[kmock.Request]:
        request = _SERVING.get()
        return iter(() if request is None else (request,))


def _version(raw: Mapping[str, Any]) -> int:
    text = raw.get("metadata", {}).get("resourceVersion") or "0"
    return int(text) if text.isdigit() else 0


class TimedEmulator(KosmosEmulator):
    """The Kosmos emulator with per-Experiment milestones, O(1) dispatch and lookups, and a
    consistent list-then-watch."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._counter = _Versions()
        self._versions = self._counter  # type: ignore[assignment]  # a count that remembers
        self._requests = _OnlyServing()
        self._by_resource: dict[Any, dict[_Key, None]] = {}  # insertion-ordered sets
        self._by_label: dict[tuple[Any, str], dict[_Key, None]] = {}  # labels given at creation
        self.marks: dict[str, dict[str, float]] = {}
        self.served = 0
        self.calls: Counter[str] = Counter()  # e.g. "LIST pods", "PATCH experiments/status"
        self.expected = 0
        self.terminal = 0
        self.finished = asyncio.Event()

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        _SERVING.set(request)
        self.served += 1
        if request.resource is not None and request.action not in (None, kmock.action.WATCH):
            sub = f"/{request.subresource}" if request.subresource else ""
            action = str(request.action.value) if request.action is not None else ""
            verb = _VERBS.get(action, action)
            self.calls[f"{verb} {request.resource.plural}{sub}"] += 1
        try:
            response = await super()._handle(request)
        finally:
            for payload in self._payloads:  # their histories are for assertions; none here
                payload._requests.clear()
        applied = response.status < 300 and request.resource is not None
        if applied and isinstance(request.data, dict):
            self._mark(request, request.data, time.perf_counter())
        return response

    def preload(self, template: Mapping[str, Any], names: Iterable[str]) -> None:
        """Store copies of a finished Experiment directly, with no events: background objects.

        Copies share ``spec`` and ``status`` with the template (kmock copies before patching).
        """
        for name in names:
            meta = {**template["metadata"], "name": name, "uid": str(uuid.uuid4()),
                    "resourceVersion": str(next(self._versions))}
            key = (EXPERIMENTS, meta["namespace"], name)
            self.objects[key] = {**template, "metadata": meta}
            self._by_resource.setdefault(EXPERIMENTS, {})[key] = None

    def _stamp(self, request: kmock.Request) -> None:
        super()._stamp(request)  # names generateName objects; kmock stores them right after
        if request.resource is not None and request.action == kmock.action.CREATE:
            meta = request.data.get("metadata", {}) if isinstance(request.data, dict) else {}
            key = (request.resource, request.namespace or meta.get("namespace"), meta.get("name"))
            self._by_resource.setdefault(request.resource, {})[key] = None
            for label, value in (meta.get("labels") or {}).items():
                self._by_label.setdefault((request.resource, f"{label}={value}"), {})[key] = None

    def _mark(self, request: kmock.Request, data: Mapping[str, Any], now: float) -> None:
        create = request.action == kmock.action.CREATE
        update = request.action == kmock.action.UPDATE
        if request.resource == EXPERIMENTS:
            name = request.name or data.get("metadata", {}).get("name", "")
            if create:
                self.marks.setdefault(name, {})["created"] = now
            elif update and (data.get("status") or {}).get("phase") in _TERMINAL:
                marks = self.marks.setdefault(name, {})
                if "terminal" not in marks:
                    marks["terminal"] = now
                    self.terminal += 1
                    if self.terminal >= self.expected:
                        self.finished.set()
        elif request.resource == JOBS:
            conditions = (data.get("status") or {}).get("conditions") or []
            if create:
                labels = data.get("metadata", {}).get("labels") or {}
                self.marks.setdefault(labels.get(LABEL_EXPERIMENT, ""), {}).setdefault("job", now)
            elif update and any(c.get("type") == "Complete" for c in conditions):
                raw = self.objects[JOBS, request.namespace, request.name or ""].raw
                experiment = (raw["metadata"].get("labels") or {}).get(LABEL_EXPERIMENT, "")
                self.marks.setdefault(experiment, {}).setdefault("done", now)

    def _get_resources(self) -> list[Any]:
        return list(set(kmock.KubernetesScaffold._get_resources(self)) | set(self._by_resource))

    def _KubernetesEmulator__get_objs(self, request: kmock.Request, strict: bool) -> list[Any]:  # noqa: N802 - kmock's mangled name
        """kmock's object lookup: the store's dict for one named object, else one resource's."""
        if request.name is not None and (strict or request.namespace is not None):
            key: _Key = (request.resource, request.namespace, request.name)
            return [self.objects[key]] if key in self.objects else []
        keys = self._by_resource.get(request.resource, {})
        selector = [part.strip() for part in (request.params.get("labelSelector") or "").split(",")]
        if all("=" in part and "!" not in part for part in selector if part) and any(selector):
            # Candidates by the labels objects were created with; KosmosEmulator then checks
            # the labels they have now (nothing here relabels an object).
            keys = min((self._by_label.get((request.resource, part.replace("==", "=")), {})
                        for part in selector if part), key=len)
        return [self.objects[key] for key in keys if key in self.objects
                and (key[1] == request.namespace if strict else request.namespace in (None, key[1]))
                and request.name in (None, key[2])]

    async def _serve_list(self, request: kmock.Request) -> Any:
        version = self._counter.last  # read before the lock: whatever is queued on it is listed
        result = await super()._serve_list(request)
        if isinstance(result, dict):
            result.setdefault("metadata", {})["resourceVersion"] = str(version)
        return result

    async def _serve_watch(self, request: kmock.Request) -> AsyncIterator[Any]:
        yield b""
        resource: Any = request.resource
        namespace = request.namespace
        since = request.params.get("resourceVersion")
        after = int(since) if since and since.isdigit() else -1
        bus = self._buses[resource]
        async with self._lock:
            mark = await bus.mark()
            snapshot = [self.objects[key].raw for key in self._by_resource.get(resource, {})
                        if key in self.objects and namespace in (None, key[1])
                        and not self.objects[key].deleted
                        and _version(self.objects[key].raw) > after]
        try:
            for raw in snapshot:
                yield {"type": "ADDED" if after < 0 else "MODIFIED", "object": raw}
            async for event in bus.stream(since=mark):
                where = (event.get("object") or {}).get("metadata", {}).get("namespace")
                if namespace in (None, where):
                    yield event
        finally:
            await bus.unmark(mark)
