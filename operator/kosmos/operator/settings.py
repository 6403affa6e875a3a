"""The operator's one typed settings tree, loaded from the environment once at start-up.

``OperatorSettings.from_env()`` is called by ``kosmos operator`` (and ``kosmos render``); the
object is then passed explicitly to builders, reconcile and handlers. Nothing below this module
reads the environment. Variables are prefixed ``KOSMOS_`` with ``__`` between levels, e.g.
``KOSMOS_SANDBOX__IMAGE`` or ``KOSMOS_LIMITS__MAX_MEMORY_MB``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "LimitSettings",
    "OperatorSettings",
    "QuotaSettings",
    "ResultSettings",
    "SandboxSettings",
]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SandboxSettings(_Section):
    """How sandbox pods are built."""

    image: str = Field(default="ghcr.io/kosmos-dev/kosmos-sandbox:0.1.0", description="Default sandbox image.")
    image_pull_policy: str = Field(default="IfNotPresent")
    runner_path: str = Field(default="/opt/kosmos/runner.py", description="Runner inside the image.")
    python_path: str = Field(default="/usr/local/bin/python", description="Interpreter inside the image.")
    site_packages: tuple[str, ...] = Field(
        default=("/usr/local/lib/python3.11/site-packages",),
        description="Directories the runner adds with site.addsitedir (it runs with -I -S).",
    )
    runtime_class_name: str | None = Field(default=None, description="Default RuntimeClass, e.g. gvisor.")
    allowed_runtime_classes: tuple[str, ...] = Field(
        default=(), description="RuntimeClasses a spec may ask for; empty allows any."
    )
    run_as_user: int = Field(default=65532, description="Unprivileged uid of the sandbox process.")
    priority_class_name: str = Field(default="kosmos-sandbox", description="Scopes the ResourceQuota.")
    workspace_size_mb: int = Field(default=256, gt=0, description="emptyDir sizeLimit besides maxFileSizeMB.")
    allow_network: bool = Field(default=False, description="Whether spec.resources.networkAccess may be true.")
    default_ttl_seconds_after_finished: int = Field(default=3600, ge=0)


class LimitSettings(_Section):
    """Bounds on what a spec may request; requests above them are refused (validation)."""

    max_cpu_cores: float = Field(default=4.0, gt=0)
    max_memory_mb: int = Field(default=8192, gt=0)
    max_timeout_seconds: int = Field(default=3600, gt=0)
    max_file_size_mb: int = Field(default=1024, gt=0)


class QuotaSettings(_Section):
    """The per-namespace ResourceQuota over sandbox pods (scoped by their PriorityClass)."""

    enabled: bool = True
    name: str = "kosmos-sandbox"
    cpu: str = Field(default="8", description="Total CPU of running sandbox pods in a namespace.")
    memory_mb: int = Field(default=16384, gt=0)
    pods: int = Field(default=20, gt=0)
    ephemeral_storage_mb: int = Field(default=20480, gt=0)


class ResultSettings(_Section):
    """Caps on what reaches status (etcd objects are limited to ~1.5 MiB)."""

    max_results_bytes: int = Field(default=256 * 1024, gt=0, description="Cap of status.results (JSON).")
    max_output_bytes: int = Field(default=16 * 1024, gt=0, description="Cap of stdout/stderr in status.")
    max_configmap_bytes: int = Field(default=1_000_000, gt=0, description="ConfigMap data limit (API: 1 MiB).")
    log_tail_lines: int = Field(default=400, gt=0, description="Pod log lines read to find the envelope.")
    include_output_text: bool = True


class OperatorSettings(BaseSettings):
    """Everything the operator reads from its environment, as one frozen tree."""

    model_config = SettingsConfigDict(
        env_prefix="KOSMOS_", env_nested_delimiter="__", frozen=True, extra="ignore"
    )

    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    quota: QuotaSettings = Field(default_factory=QuotaSettings)
    results: ResultSettings = Field(default_factory=ResultSettings)
    custom_templates_configmap: str | None = Field(
        default=None, description="ConfigMap (in the operator's namespace) holding custom templates."
    )
    custom_template_dirs: tuple[str, ...] = Field(
        default=(), description="Where that ConfigMap is mounted in the operator pod."
    )
    namespaces: tuple[str, ...] = Field(default=(), description="Namespaces to watch; empty = cluster-wide.")
    resync_seconds: float = Field(default=30.0, gt=0, description="Timer that re-checks running Experiments.")
    stuck_pod_grace_seconds: float = Field(
        default=120.0, ge=0, description="How long a pod may stay unschedulable or without pods before failing."
    )
    metrics_port: int = Field(default=8080, ge=0, le=65535)
    liveness_port: int = Field(default=8081, ge=0, le=65535)
    finalizer: str = "kosmos.dev/finalizer"
    annotation_prefix: str = "kosmos.dev"

    @classmethod
    def from_env(cls) -> OperatorSettings:
        """Load the settings from ``KOSMOS_*`` variables (the only environment read)."""
        return cls()

    @classmethod
    def defaults(cls) -> OperatorSettings:
        """The built-in defaults, ignoring the environment (tests, ``kosmos render``)."""
        return cls.model_construct()
