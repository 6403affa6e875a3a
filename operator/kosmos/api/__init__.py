"""The bottom layer: pydantic models of the Experiment resource and the error vocabulary."""

from kosmos.api.errors import ErrorKind, KosmosError, ManifestError
from kosmos.api.spec import (
    API_GROUP,
    API_VERSION,
    KIND,
    Experiment,
    ExperimentSpec,
    ExperimentType,
    InputSpec,
    Resources,
)
from kosmos.api.status import Analysis, Condition, ExecutionStatus, ExperimentStatus, Phase, StatisticEntry

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "KIND",
    "Analysis",
    "Condition",
    "ErrorKind",
    "ExecutionStatus",
    "Experiment",
    "ExperimentSpec",
    "ExperimentStatus",
    "ExperimentType",
    "InputSpec",
    "KosmosError",
    "ManifestError",
    "Phase",
    "Resources",
    "StatisticEntry",
]
