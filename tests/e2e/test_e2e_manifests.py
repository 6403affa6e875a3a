"""The end-to-end manifests are valid Experiments that the validator accepts (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kosmos.api.spec import Experiment
from kosmos.execution.validator import validate_program

MANIFESTS = sorted((Path(__file__).resolve().parent / "manifests").glob("*.yaml"))


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.stem)
def test_e2e_manifest_is_a_valid_experiment_the_validator_accepts(path: Path) -> None:
    experiment = Experiment.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert experiment.spec.code
    assert experiment.spec.resources.network_access is False
    validate_program(experiment.spec.code)
