"""Helpers for testing Kosmos and code built on it: Experiment factories, an emulated API server
with the Experiment resource, and a fake Job controller that runs the real runner.

Shipped with the package so users' tests can drive the operator the way ours do.
"""

from kosmos.testing.factories import (
    PLANT_GROWTH_CSV,
    SLEEP_CSV,
    experiment_body,
    failed_optimizer_report,
    plant_growth_spec,
    sleep_spec,
)

__all__ = [
    "PLANT_GROWTH_CSV", "SLEEP_CSV", "experiment_body", "failed_optimizer_report", "plant_growth_spec",
    "sleep_spec",
]
