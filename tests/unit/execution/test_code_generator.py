"""CodeGenerator: types, parameter validation with named fields, check_spec, hashes, user code."""

from __future__ import annotations

import ast

import pytest

from kosmos.api.errors import ErrorKind, ManifestError
from kosmos.api.spec import BUILTIN_TYPES, ExperimentSpec
from kosmos.execution.code_generator import CodeGenerator, GeneratedProgram, code_hash
from kosmos.execution.validator import validate_program
from kosmos.testing.factories import PLANT_GROWTH_CSV, SLEEP_CSV, plant_growth_spec, sleep_spec

MINIMAL_PARAMETERS = {
    "statistical_test": {"test": "ttest", "value": "extra", "group": "group"},
    "data_analysis": {
        "data_source": "dataset",
        "analysis_method": "correlation",
        "variables": ["a", "b"],
    },
    "simulation": {
        "method": "monte_carlo",
        "expression": "x * y",
        "variables": {"x": [0, 1], "y": [0, 1]},
    },
    "optimization": {"objective": "(x - 1)**2", "variables": {"x": [-5, 5]}},
    "ml_training": {"target": "species"},
}


def _spec(**fields: object) -> ExperimentSpec:
    return ExperimentSpec.model_validate(fields)


def _manifest_error(spec: ExperimentSpec) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        CodeGenerator().check_spec(spec)
    return caught.value


@pytest.mark.parametrize("experiment_type", BUILTIN_TYPES)
def test_every_builtin_type_generates_a_program_that_parses_and_passes_the_validator(
    experiment_type: str,
) -> None:
    code = CodeGenerator().generate(
        experiment_type, MINIMAL_PARAMETERS[experiment_type], domain="biology"
    )
    ast.parse(code)
    validate_program(code)
    assert "{{" not in code
    assert "{%" not in code


def test_the_same_inputs_give_the_same_text_and_hash() -> None:
    generator = CodeGenerator()
    first = generator.generate(
        "statistical_test", {"test": "ttest", "value": "extra", "group": "group"}
    )
    second = generator.generate(
        "statistical_test", {"group": "group", "value": "extra", "test": "ttest"}
    )
    assert first == second
    assert code_hash(first) == code_hash(second)
    assert code_hash(first).startswith("sha256:")
    assert len(code_hash(first)) == 7 + 64


def test_camel_case_and_snake_case_keys_normalise_to_the_same_program() -> None:
    generator = CodeGenerator()
    camel = generator.generate(
        "statistical_test", {"test": "ttest", "value": "v", "group": "g", "equalVar": True}
    )
    snake = generator.generate(
        "statistical_test", {"test": "ttest", "value": "v", "group": "g", "equal_var": True}
    )
    assert camel == snake


def test_program_for_a_template_spec_records_hash_and_normalised_parameters() -> None:
    program = CodeGenerator().program_for(_spec(**sleep_spec()))
    assert isinstance(program, GeneratedProgram)
    assert program.code_hash == code_hash(program.code)
    assert program.parameters["equal_var"] is False
    assert program.parameters["alternative"] == "two-sided"
    assert program.experiment_type == "statistical_test"


def test_program_for_user_code_is_the_code_itself() -> None:
    code = "results = {'answer': 42}\n"
    program = CodeGenerator().program_for(_spec(code=code, parameters={"k": 1}))
    assert program.code == code
    assert program.code_hash == code_hash(code)
    CodeGenerator().check_spec(_spec(code=code))


def test_check_spec_accepts_the_sleep_and_plant_growth_examples() -> None:
    CodeGenerator().check_spec(_spec(**sleep_spec()))
    CodeGenerator().check_spec(_spec(**plant_growth_spec()))


def test_unknown_test_names_the_field_value_and_choices() -> None:
    error = _manifest_error(
        _spec(**sleep_spec(parameters={"test": "ztest", "value": "extra", "group": "group"}))
    )
    assert error.field == "spec.parameters.test"
    assert error.kind == ErrorKind.VALIDATION
    assert '"ztest"' in error.message
    assert "ttest" in error.message
    assert "chi_square" in error.message


def test_unknown_type_names_spec_type_and_the_builtin_types() -> None:
    error = _manifest_error(_spec(type="regression_magic", inputs=[]))
    assert error.field == "spec.type"
    assert '"regression_magic"' in error.message
    assert "statistical_test" in error.message


def test_missing_column_in_inline_csv_names_column_input_and_columns() -> None:
    error = _manifest_error(
        _spec(**sleep_spec(parameters={"test": "ttest", "value": "extraa", "group": "group"}))
    )
    assert error.field == "spec.parameters.value"
    assert error.message == (
        'spec.parameters.value: column "extraa" is not in input "dataset" '
        "(columns: extra, group, ID)"
    )


def test_missing_required_parameter_is_named() -> None:
    error = _manifest_error(_spec(**sleep_spec(parameters={"value": "extra", "group": "group"})))
    assert error.field == "spec.parameters.test"
    assert "required" in error.message


def test_unknown_parameter_is_named() -> None:
    error = _manifest_error(
        _spec(
            **sleep_spec(
                parameters={"test": "ttest", "value": "extra", "group": "group", "tails": 2}
            )
        )
    )
    assert error.field == "spec.parameters.tails"


def test_parameter_of_the_wrong_type_names_field_and_value() -> None:
    error = _manifest_error(
        _spec(
            **sleep_spec(
                parameters={"test": "ttest", "value": "extra", "group": "group", "alpha": 1.5}
            )
        )
    )
    assert error.field == "spec.parameters.alpha"
    assert "1.5" in error.message


def test_a_test_without_the_columns_it_needs_says_which() -> None:
    error = _manifest_error(
        _spec(**plant_growth_spec(parameters={"test": "anova", "value": "weight"}))
    )
    assert error.field == "spec.parameters"
    assert '"group"' in error.message


def test_input_named_in_parameters_must_exist() -> None:
    params = {"test": "ttest", "value": "extra", "group": "group", "input": "sleep"}
    error = _manifest_error(_spec(**sleep_spec(parameters=params)))
    assert error.field == "spec.parameters.input"
    assert '"sleep"' in error.message
    assert "dataset" in error.message


def test_template_that_needs_data_without_inputs_names_spec_inputs() -> None:
    error = _manifest_error(_spec(**sleep_spec(inputs=[])))
    assert error.field == "spec.inputs"


def test_column_check_uses_the_first_input_when_none_is_called_dataset() -> None:
    spec = _spec(
        **plant_growth_spec(
            inputs=[
                {"name": "plants", "format": "csv", "inline": PLANT_GROWTH_CSV},
                {"name": "sleep", "format": "csv", "inline": SLEEP_CSV},
            ]
        )
    )
    CodeGenerator().check_spec(spec)


def test_generate_names_the_parameter_without_the_spec_prefix() -> None:
    with pytest.raises(ManifestError) as caught:
        CodeGenerator().generate("statistical_test", {"test": "nope"})
    assert caught.value.field == "parameters.test"


def test_optimization_objective_must_be_a_safe_expression() -> None:
    spec = _spec(
        type="optimization",
        parameters={"objective": "__import__('os').system('id')", "variables": {"x": [0, 1]}},
    )
    error = _manifest_error(spec)
    assert error.field == "spec.parameters"
    assert "objective" in error.message


def test_a_numeric_parameter_naming_a_text_column_is_refused_with_an_example_value() -> None:
    params = {"test": "anova", "value": "group", "group": "weight"}
    error = _manifest_error(_spec(**plant_growth_spec(parameters=params)))
    assert error.field == "spec.parameters.value"
    assert error.message == (
        'spec.parameters.value: column "group" of input "dataset" must be numeric, but holds "ctrl"'
    )


def test_chi_square_accepts_text_columns() -> None:
    params = {"test": "chi_square", "x": "group", "y": "weight"}
    CodeGenerator().check_spec(_spec(**plant_growth_spec(parameters=params)))
