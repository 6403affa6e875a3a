"""The only module that calls the Kubernetes API; each call declares the RBAC it needs.

A thin aiohttp client built from the same ``kopf.ConnectionInfo`` kopf logged in with.
Methods are verbs (``create_object``, ``read_pod_log``); API failures raise ``ApiError``,
which the handler layer maps to ``kopf.TemporaryError``. Called by reconcile and backend.
"""

from __future__ import annotations

import base64
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from kosmos.api.errors import ErrorKind, KosmosError
from kosmos.api.spec import API_GROUP, API_VERSION

__all__ = ["RBAC_RULES", "ApiError", "Connection", "KubeClient", "Rule", "cluster_rules", "namespaced_rules"]


@dataclass(frozen=True)
class Rule:
    """One RBAC rule, as in a (Cluster)Role; ``cluster`` marks cluster-scoped resources."""

    api_group: str
    resource: str
    verbs: tuple[str, ...]
    cluster: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"apiGroups": [self.api_group], "resources": [self.resource], "verbs": list(self.verbs)}


RBAC_RULES: list[Rule] = []


def _needs(api_group: str, resource: str, *verbs: str, cluster: bool = False) -> None:
    """Declare, beside the call that uses it, what the operator's Role must grant."""
    for rule in RBAC_RULES:
        if (rule.api_group, rule.resource, rule.cluster) == (api_group, resource, cluster):
            merged = tuple(sorted(set(rule.verbs) | set(verbs)))
            RBAC_RULES[RBAC_RULES.index(rule)] = Rule(api_group, resource, merged, cluster)
            return
    RBAC_RULES.append(Rule(api_group, resource, tuple(sorted(verbs)), cluster))


def namespaced_rules() -> list[dict[str, Any]]:
    return [r.to_dict() for r in sorted(RBAC_RULES, key=lambda r: (r.api_group, r.resource)) if not r.cluster]


def cluster_rules() -> list[dict[str, Any]]:
    return [r.to_dict() for r in sorted(RBAC_RULES, key=lambda r: (r.api_group, r.resource)) if r.cluster]


class ApiError(KosmosError):
    """The API server refused or failed a call; ``status`` is the HTTP status (0: no answer)."""

    kind = ErrorKind.INFRASTRUCTURE

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


# Plural paths of the kinds the operator touches: (apiVersion, kind) -> (prefix, plural, namespaced).
_RESOURCES: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("v1", "ConfigMap"): ("/api/v1", "configmaps", True),
    ("v1", "Pod"): ("/api/v1", "pods", True),
    ("v1", "ResourceQuota"): ("/api/v1", "resourcequotas", True),
    ("v1", "Event"): ("/api/v1", "events", True),
    ("batch/v1", "Job"): ("/apis/batch/v1", "jobs", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    ("scheduling.k8s.io/v1", "PriorityClass"): ("/apis/scheduling.k8s.io/v1", "priorityclasses", False),
    (f"{API_GROUP}/{API_VERSION}", "Experiment"): (f"/apis/{API_GROUP}/{API_VERSION}", "experiments", True),
}

# What each kind needs; kept here, next to the calls below that use them.
_needs(API_GROUP, "experiments", "get", "list", "watch", "patch", "create", "delete")  # kopf watch; backend submits
_needs(API_GROUP, "experiments/status", "get", "patch")
_needs("", "configmaps", "get", "create", "list", "delete")
_needs("batch", "jobs", "get", "create", "list", "watch", "delete")  # watch: Job events handler
_needs("networking.k8s.io", "networkpolicies", "get", "create", "list", "delete")
_needs("", "resourcequotas", "get", "create")
_needs("", "pods", "get", "list", "watch")  # watch: pod events handler
_needs("", "pods/log", "get")
_needs("", "events", "create", "patch", "list")  # kopf posts events; quota failures are read from them
_needs("scheduling.k8s.io", "priorityclasses", "get", "create", cluster=True)


@dataclass(frozen=True)
class Connection:
    """Where the API server is and how to authenticate (the fields of kopf.ConnectionInfo)."""

    server: str
    token: str | None = None
    ca_path: str | None = None
    ca_data: bytes | None = None
    certificate_path: str | None = None
    private_key_path: str | None = None
    insecure: bool = False

    @classmethod
    def from_info(cls, info: Any) -> Connection:
        """Adapt a ``kopf.ConnectionInfo`` (duck-typed, so this module needs no kopf)."""
        ca_data = info.ca_data
        if isinstance(ca_data, str):
            ca_data = base64.b64decode(ca_data)
        cert, key = info.certificate_path, info.private_key_path
        if cert is None and info.certificate_data:
            cert = _temp_file(info.certificate_data)
        if key is None and info.private_key_data:
            key = _temp_file(info.private_key_data)
        return cls(
            server=str(info.server).rstrip("/"),
            token=info.token,
            ca_path=str(info.ca_path) if info.ca_path else None,
            ca_data=ca_data,
            certificate_path=str(cert) if cert else None,
            private_key_path=str(key) if key else None,
            insecure=bool(info.insecure),
        )


def _temp_file(data: str | bytes) -> str:
    raw = base64.b64decode(data) if isinstance(data, str) else data
    with tempfile.NamedTemporaryFile(delete=False, suffix=".pem") as handle:
        handle.write(raw)
        return handle.name


def _matches(obj: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    have = obj.get("metadata", {}).get("labels") or {}
    return all(have.get(k) == v for k, v in labels.items())


class KubeClient:
    """Async calls of the Kubernetes API over one pooled aiohttp session."""

    def __init__(self, connection: Connection, *, timeout_seconds: float = 30.0) -> None:
        self._connection = connection
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _ssl(self) -> ssl.SSLContext | bool:
        conn = self._connection
        if not conn.server.startswith("https"):
            return False
        if conn.insecure:
            return False
        context = ssl.create_default_context(cafile=conn.ca_path)
        if conn.ca_data:
            context.load_verify_locations(cadata=conn.ca_data.decode())
        if conn.certificate_path and conn.private_key_path:
            context.load_cert_chain(conn.certificate_path, conn.private_key_path)
        return context

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Accept": "application/json"}
            if self._connection.token:
                headers["Authorization"] = f"Bearer {self._connection.token}"
            connector = aiohttp.TCPConnector(ssl=self._ssl(), limit=64)
            self._session = aiohttp.ClientSession(headers=headers, timeout=self._timeout, connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None,
        content_type: str | None = None, text: bool = False,
    ) -> Any:
        session = await self._http()
        headers = {"Content-Type": content_type} if content_type else None
        try:
            async with session.request(
                method, self._connection.server + path, json=json, params=params, headers=headers
            ) as response:
                if response.status >= 400:
                    body = await response.text()
                    raise ApiError(
                        f"{method} {path} failed with HTTP {response.status}: {body[:300]}",
                        status=response.status, reason=response.reason or "",
                    )
                if text:
                    return await response.text()
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ApiError(f"{method} {path} failed: {exc!r}") from exc

    @staticmethod
    def _path(api_version: str, kind: str, namespace: str | None, name: str | None = None) -> str:
        prefix, plural, namespaced = _RESOURCES[(api_version, kind)]
        path = prefix
        if namespaced and namespace:
            path += f"/namespaces/{quote(namespace)}"
        path += f"/{plural}"
        if name:
            path += f"/{quote(name)}"
        return path

    async def read_object(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """GET one object; None when it does not exist."""
        try:
            result: dict[str, Any] = await self._call("GET", self._path(api_version, kind, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    async def create_object(self, obj: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create ``obj``; on 409 return the existing one. The flag says whether it was created."""
        meta = obj["metadata"]
        path = self._path(obj["apiVersion"], obj["kind"], meta.get("namespace"))
        try:
            created: dict[str, Any] = await self._call("POST", path, json=obj)
        except ApiError as exc:
            if exc.status != 409:
                raise
            existing = await self.read_object(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
            if existing is None:
                raise
            return existing, False
        return created, True

    async def list_objects(
        self, api_version: str, kind: str, namespace: str | None, labels: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """LIST by label selector (also filtered here, for servers that ignore the selector)."""
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        result = await self._call("GET", self._path(api_version, kind, namespace), params={"labelSelector": selector})
        return [item for item in result.get("items", []) if _matches(item, labels)]

    async def delete_object(self, api_version: str, kind: str, namespace: str | None, name: str) -> bool:
        """DELETE with background propagation; False when it was already gone."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        try:
            await self._call("DELETE", self._path(api_version, kind, namespace, name), json=body)
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> dict[str, Any]:
        """Merge-patch the Experiment's status subresource (``None`` values remove keys)."""
        path = self._path(f"{API_GROUP}/{API_VERSION}", "Experiment", namespace, name) + "/status"
        result: dict[str, Any] = await self._call(
            "PATCH", path, json={"status": dict(status)}, content_type="application/merge-patch+json"
        )
        return result

    async def read_pod_log(self, namespace: str, name: str, *, tail_lines: int, container: str) -> str | None:
        """The tail of a pod's log; None when the pod or its log is gone."""
        path = self._path("v1", "Pod", namespace, name) + "/log"
        params = {"tailLines": str(tail_lines), "container": container}
        try:
            text: str = await self._call("GET", path, params=params, text=True)
        except ApiError as exc:
            if exc.status in (400, 404):
                return None
            raise
        return text

    async def list_events_for(self, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
        """Events about one object (e.g. a Job's FailedCreate when over quota)."""
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        result = await self._call("GET", self._path("v1", "Event", namespace), params={"fieldSelector": selector})
        return [
            item for item in result.get("items", [])
            if item.get("involvedObject", {}).get("name") == name and item.get("involvedObject", {}).get("kind") == kind
        ]

    async def create_experiment(self, body: Mapping[str, Any]) -> dict[str, Any]:
        created, _ = await self.create_object(body)
        return created
