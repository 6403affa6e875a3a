"""Experiment factories: the sleep and PlantGrowth examples and arbitrary bodies.

Used by Kosmos' own tests and by users' tests of code that creates Experiments.
"""

from __future__ import annotations

import uuid
from typing import Any

from kosmos.api.spec import API_GROUP, API_VERSION, KIND

__all__ = [
    "PLANT_GROWTH_CSV", "SLEEP_CSV", "experiment_body", "failed_optimizer_report", "plant_growth_spec",
    "sleep_spec",
]

# R datasets::sleep (Student 1908); R: t = -1.8608, df = 17.776, p-value = 0.07939 (Welch).
SLEEP_CSV = "extra,group,ID\n" + "\n".join(
    f"{extra},{group},{i % 10 + 1}"
    for i, (extra, group) in enumerate(
        [(v, 1) for v in (0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0)]
        + [(v, 2) for v in (1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4)]
    )
) + "\n"

# R datasets::PlantGrowth (Dobson 1983); R: F = 4.8461 on 2 and 27 df, p = 0.01591.
_PLANTS = {
    "ctrl": (4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14),
    "trt1": (4.81, 4.17, 4.41, 3.59, 5.87, 3.83, 6.03, 4.89, 4.32, 4.69),
    "trt2": (6.31, 5.12, 5.54, 5.50, 5.37, 5.29, 4.92, 6.15, 5.80, 5.26),
}
PLANT_GROWTH_CSV = "weight,group\n" + "".join(
    f"{weight},{group}\n" for group, weights in _PLANTS.items() for weight in weights
)


def sleep_spec(**overrides: Any) -> dict[str, Any]:
    """The sleep Welch t-test spec (camelCase, as in a manifest)."""
    spec: dict[str, Any] = {
        "type": "statistical_test",
        "domain": "pharmacology",
        "hypothesis": "Drug 2 gives a different amount of extra sleep than drug 1",
        "parameters": {"test": "ttest", "value": "extra", "group": "group", "alpha": 0.05},
        "inputs": [{"name": "dataset", "format": "csv", "inline": SLEEP_CSV}],
        "resources": {"cpu": "1", "memoryMB": 512, "timeoutSeconds": 60},
    }
    spec.update(overrides)
    return spec


def plant_growth_spec(**overrides: Any) -> dict[str, Any]:
    """The PlantGrowth one-way ANOVA spec."""
    spec: dict[str, Any] = {
        "type": "statistical_test",
        "domain": "botany",
        "hypothesis": "Mean dried plant weight differs between the control and the two treatments",
        "parameters": {"test": "anova", "value": "weight", "group": "group"},
        "inputs": [{"name": "dataset", "format": "csv", "inline": PLANT_GROWTH_CSV}],
        "resources": {"cpu": "1", "memoryMB": 512, "timeoutSeconds": 60},
    }
    spec.update(overrides)
    return spec


def experiment_body(
    name: str = "sleep-drug",
    *,
    namespace: str = "research",
    spec: dict[str, Any] | None = None,
    uid: str | None = None,
    generation: int | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An Experiment object as the API would hold it (uid/generation only when given)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if uid is not None:
        metadata["uid"] = uid
    if generation is not None:
        metadata["generation"] = generation
    if labels:
        metadata["labels"] = dict(labels)
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": KIND,
        "metadata": metadata,
        "spec": spec if spec is not None else sleep_spec(),
    }


def new_uid() -> str:
    return str(uuid.uuid4())


def failed_optimizer_report() -> dict[str, Any]:
    """What the optimization template reports when L-BFGS-B fails (objective ``9**9**9**9 + x``)."""
    return {
        "goal": "minimize",
        "method": "L-BFGS-B",
        "success": False,
        "message": "ABNORMAL: ",
        "optimum": {"x": 0.5},
        "objectiveValue": None,
        "start": {"x": 0.5},
        "iterations": 0,
        "evaluations": 42,
        "atBound": [],
        "dataColumns": [],
        "seed": 42,
        "statistics": [],
        "domain": None,
    }
