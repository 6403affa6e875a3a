"""Pydantic models of the Experiment spec: the single source of truth for YAML, the CRD and Python.

YAML and the Kubernetes API use camelCase, Python uses snake_case (aliases). Called by the CLI,
the operator and the code generator; imports nothing but pydantic.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "BUILTIN_TYPES",
    "KIND",
    "ConfigMapKeyRef",
    "Experiment",
    "ExperimentSpec",
    "ExperimentType",
    "InputFormat",
    "InputSpec",
    "ObjectMeta",
    "Resources",
]

API_GROUP = "kosmos.dev"
API_VERSION = "v1alpha1"
KIND = "Experiment"

_QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


class ExperimentType(StrEnum):
    """The built-in experiment templates."""

    DATA_ANALYSIS = "data_analysis"
    SIMULATION = "simulation"
    OPTIMIZATION = "optimization"
    ML_TRAINING = "ml_training"
    STATISTICAL_TEST = "statistical_test"


BUILTIN_TYPES: tuple[str, ...] = tuple(t.value for t in ExperimentType)


class InputFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=True,
    )


class ConfigMapKeyRef(_Model):
    """A key of a ConfigMap in the Experiment's namespace that holds the input's text."""

    name: str = Field(description="Name of the ConfigMap.", pattern=_DNS_SUBDOMAIN, max_length=253)
    key: str = Field(description="Key in the ConfigMap's data.", pattern=r"^[-._a-zA-Z0-9]+$", max_length=253)


class InputSpec(_Model):
    """One input dataset; the program sees it as ``input_data[name]``."""

    name: str = Field(description="Name of the input; the key in input_data.", pattern=_IDENTIFIER)
    format: InputFormat = Field(
        default=InputFormat.CSV,
        description="csv (loaded as a pandas DataFrame) or json (loaded as Python objects).",
    )
    inline: str | None = Field(default=None, description="The data itself, as text.")
    config_map_key_ref: ConfigMapKeyRef | None = Field(
        default=None, description="Where to read the data from instead of inline."
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> InputSpec:
        if (self.inline is None) == (self.config_map_key_ref is None):
            raise ValueError(
                f"input {self.name!r} needs exactly one of 'inline' or 'configMapKeyRef'"
            )
        return self


class Resources(_Model):
    """Hard limits of one run; the sandbox and the Job enforce them."""

    cpu: str = Field(default="1", description="CPU limit as a Kubernetes quantity, e.g. \"1\" or \"500m\".")
    memory_mb: int = Field(default=512, alias="memoryMB", strict=True, gt=0, le=1_048_576, description="Memory limit in MiB.")
    timeout_seconds: int = Field(default=300, strict=True, gt=0, le=86_400, description="Wall-clock limit in seconds.")
    max_file_size_mb: int = Field(default=100, alias="maxFileSizeMB", strict=True, gt=0, le=1_048_576, description="Largest file the program may write, in MiB.")
    network_access: bool = Field(
        default=False,
        strict=True,  # `networkAccess: "no"` must not be read as a choice
        description="Allow network access; refused unless the operator's policy allows it.",
    )

    @field_validator("cpu", mode="before")
    @classmethod
    def _cpu_quantity(cls, value: Any) -> str:
        text = str(value)
        if not _QUANTITY.match(text):
            raise ValueError(f"expected a Kubernetes CPU quantity such as \"1\" or \"500m\", got {value!r}")
        if cpu_cores(text) <= 0:
            raise ValueError(f"expected a positive CPU quantity, got {value!r}")
        return text

    @property
    def cpu_cores(self) -> float:
        return cpu_cores(self.cpu)


def cpu_cores(quantity: str) -> float:
    """Convert a Kubernetes CPU quantity ("1", "500m", "1.5") to cores."""
    if quantity.endswith("m"):
        return float(quantity[:-1]) / 1000.0
    return float(quantity)


class ExperimentSpec(_Model):
    """What to run: a template with parameters and inputs, or the user's own code."""

    type: str | None = Field(
        default=None,
        description=(
            "Template: data_analysis, simulation, optimization, ml_training, statistical_test "
            "or the name of a custom template. May be omitted when code is given."
        ),
        pattern=r"^[a-z][a-z0-9_]{0,62}$",
    )
    domain: str | None = Field(default=None, description="Scientific domain, recorded as given.", max_length=253)
    hypothesis: str | None = Field(default=None, description="The hypothesis under test, recorded as given.", max_length=4096)
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Template parameters, validated by the template's schema."
    )
    inputs: list[InputSpec] = Field(default_factory=list, description="Input datasets.")
    code: str | None = Field(
        default=None, description="The user's own Python program instead of a template; still validated."
    )
    resources: Resources = Field(default_factory=Resources, description="Resource limits of the run.")
    image: str | None = Field(default=None, description="Sandbox image override (cluster only).")
    runtime_class_name: str | None = Field(
        default=None, description="RuntimeClass of the sandbox pod, e.g. gvisor (cluster only)."
    )
    ttl_seconds_after_finished: int = Field(
        default=3600, ge=0, description="Seconds the finished Job is kept (cluster only)."
    )

    @model_validator(mode="after")
    def _type_or_code(self) -> ExperimentSpec:
        if self.type is None and self.code is None:
            raise ValueError("give either 'type' (a template) or 'code' (your own program)")
        names = [i.name for i in self.inputs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"input names must be unique, repeated: {', '.join(duplicates)}")
        return self


class ObjectMeta(BaseModel):
    """The part of Kubernetes metadata Kosmos reads; everything else is kept as given."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str = Field(pattern=_DNS_LABEL, max_length=63)
    namespace: str | None = Field(default=None, pattern=_DNS_LABEL, max_length=63)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    generation: int | None = None
    uid: str | None = None


class Experiment(BaseModel):
    """A whole Experiment manifest (apiVersion, kind, metadata, spec, optional status)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    api_version: Literal["kosmos.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["Experiment"]
    metadata: ObjectMeta
    spec: ExperimentSpec
    status: dict[str, Any] | None = None
