"""Shared fixtures of the operator's unit tests."""

from __future__ import annotations

import hashlib

import pytest

from kosmos.api.spec import ExperimentSpec
from kosmos.operator.naming import RunPlan
from kosmos.operator.settings import OperatorSettings
from kosmos.testing import sleep_spec

PROGRAM = "results = {'n': len(input_data['dataset'])}\n"


def plan_of(spec: dict | None = None, *, name: str = "sleep-drug", generation: int = 1,
            uid: str | None = "0b6e3f5e-2f43-4c1e-9d7a-5b8f2a1c9e10") -> RunPlan:
    typed = ExperimentSpec.model_validate(spec or sleep_spec())
    return RunPlan(
        experiment_name=name, namespace="research", uid=uid, generation=generation, spec=typed,
        program=PROGRAM, code_hash="sha256:" + hashlib.sha256(PROGRAM.encode()).hexdigest(),
        parameters=dict(typed.parameters),
    )


@pytest.fixture
def settings() -> OperatorSettings:
    return OperatorSettings.defaults()


@pytest.fixture
def plan() -> RunPlan:
    return plan_of()


@pytest.fixture(name="plan_of")
def plan_of_fixture():
    return plan_of
