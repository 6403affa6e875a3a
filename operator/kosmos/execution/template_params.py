"""Parameter schemas of the built-in templates (pydantic), one model per experiment type.

Called by ``code_generator`` to validate and normalise ``spec.parameters`` before anything is
rendered or run. Keys are accepted in camelCase (YAML) and snake_case (Python); the
normalised form handed to a template is snake_case with defaults filled in. Each model names
the parameters that refer to columns of an input (``column_references``) so the generator can
check them against inline CSV headers, and the input they read (``input_name``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from kosmos.execution.expression import ExpressionError, parse_expression

__all__ = [
    "PARAMETER_MODELS",
    "Column",
    "DataAnalysisParameters",
    "MLTrainingParameters",
    "OptimizationParameters",
    "SimulationParameters",
    "StatisticalTestParameters",
    "TemplateParameters",
]

# Column names are data (they reach the program inside a JSON literal), so quotes, braces or
# Python-looking text are harmless; control characters are refused because no CSV header
# carries them and they only ever appear in injection attempts.
Column = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")
]
InputName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
Expression = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Alternative = Literal["two-sided", "less", "greater"]
Alpha = Annotated[float, Field(gt=0.0, lt=1.0)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


class TemplateParameters(BaseModel):
    """Base of the parameter models: camelCase or snake_case keys, strict types, no extras."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True, frozen=True
    )

    def input_name(self) -> str | None:
        """The input this template reads (None: ``dataset`` or else the first input)."""
        return None

    def needs_input(self) -> bool:
        return True

    def column_references(self) -> list[tuple[str, str]]:
        """(parameter path below ``parameters``, column name) for every column named."""
        return []

    def numeric_references(self) -> list[tuple[str, str]]:
        """The subset of ``column_references`` whose columns must hold numbers."""
        return []

    def normalised(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=False)


def _columns(pairs: list[tuple[str, str | list[str] | None]]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path, value in pairs:
        if isinstance(value, list):
            found.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
        elif value is not None:
            found.append((path, value))
    return found


def _check_expression(text: str, allowed_names: set[str] | None, where: str) -> None:
    try:
        parse_expression(text, allowed_names=allowed_names)
    except ExpressionError as exc:
        raise ValueError(f"{where}: {exc}") from exc


_TWO_SAMPLE = ("ttest", "mannwhitney")
_GROUPED = ("anova", "welch_anova", "kruskal")


class StatisticalTestParameters(TemplateParameters):
    """``statistical_test``: one named test on columns of one input (DESIGN.md)."""

    test: Literal[
        "ttest",
        "paired_ttest",
        "one_sample_ttest",
        "anova",
        "welch_anova",
        "kruskal",
        "mannwhitney",
        "correlation",
        "chi_square",
    ]
    value: Column | None = None
    group: Column | None = None
    x: Column | None = None
    y: Column | None = None
    method: Literal["pearson", "spearman", "kendall"] = "pearson"
    mu: float = 0.0
    equal_var: bool = False
    alternative: Alternative = "two-sided"
    alpha: Alpha = 0.05
    confidence_level: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.95
    input: InputName | None = None

    @model_validator(mode="after")
    def _columns_for_test(self) -> StatisticalTestParameters:
        test = self.test
        has_value_group = self.value is not None and self.group is not None
        has_xy = self.x is not None and self.y is not None
        if test in _GROUPED and not has_value_group:
            raise ValueError(
                f'test "{test}" needs "value" (numeric column) and "group" (grouping column)'
            )
        if test in (*_TWO_SAMPLE, "paired_ttest") and not (has_value_group or has_xy):
            raise ValueError(
                f'test "{test}" needs "value" and "group" (two groups), '
                'or "x" and "y" (two columns)'
            )
        if test == "one_sample_ttest" and self.value is None and self.x is None:
            raise ValueError('test "one_sample_ttest" needs "value" (numeric column) and "mu"')
        if test in ("correlation", "chi_square") and not has_xy:
            raise ValueError(f'test "{test}" needs "x" and "y" columns')
        return self

    def input_name(self) -> str | None:
        return self.input

    def column_references(self) -> list[tuple[str, str]]:
        return _columns(
            [("value", self.value), ("group", self.group), ("x", self.x), ("y", self.y)]
        )

    def numeric_references(self) -> list[tuple[str, str]]:
        if self.test == "chi_square":
            return []
        return _columns([("value", self.value), ("x", self.x), ("y", self.y)])


class DataAnalysisParameters(TemplateParameters):
    """``data_analysis``: describe a dataset and run one analysis (library example keys)."""

    data_source: str | None = Field(default=None, min_length=1, max_length=253)
    analysis_method: Literal[
        "differential_expression", "correlation", "regression", "group_comparison"
    ]
    variables: Annotated[list[Column], Field(min_length=1, max_length=1000)]
    group: Column | None = None
    target: Column | None = None
    method: Literal["pearson", "spearman", "kendall"] = "pearson"
    test: Literal["welch", "mannwhitney"] = "welch"
    alpha: Alpha = 0.05

    @model_validator(mode="after")
    def _method_needs(self) -> DataAnalysisParameters:
        method = self.analysis_method
        if method in ("differential_expression", "group_comparison") and self.group is None:
            raise ValueError(f'analysis_method "{method}" needs "group" (the grouping column)')
        if method == "correlation" and len(self.variables) < 2:
            raise ValueError('analysis_method "correlation" needs at least two "variables"')
        if method == "regression" and self.target is None and len(self.variables) < 2:
            raise ValueError(
                'analysis_method "regression" needs "target" or at least two "variables" '
                "(the first is then the response)"
            )
        return self

    def input_name(self) -> str | None:
        return _input_from_source(self.data_source)

    def column_references(self) -> list[tuple[str, str]]:
        return _columns(
            [("variables", self.variables), ("group", self.group), ("target", self.target)]
        )

    def numeric_references(self) -> list[tuple[str, str]]:
        return _columns([("variables", self.variables), ("target", self.target)])


def _input_from_source(source: str | None) -> str | None:
    """``experiment_data.csv`` names the input ``experiment_data``; a bare name is the input."""
    if source is None:
        return None
    for suffix in (".csv", ".json"):
        if source.endswith(suffix):
            return source[: -len(suffix)].rsplit("/", 1)[-1]
    return source


Bounds = Annotated[list[float], Field(min_length=2, max_length=2)]


class SimulationParameters(TemplateParameters):
    """``simulation``: seeded Monte Carlo integration or an ODE system solved with scipy."""

    method: Literal["monte_carlo", "ode"]
    seed: Seed = 42
    # monte_carlo: E[expression] over independent uniform variables, times the box volume
    expression: Expression | None = None
    variables: dict[Identifier, Bounds] = Field(default_factory=dict, max_length=32)
    samples: Annotated[int, Field(ge=10, le=50_000_000)] = 1_000_000
    # ode: d(name)/dt = equations[name]
    equations: dict[Identifier, Expression] = Field(default_factory=dict, max_length=64)
    initial: dict[Identifier, float] = Field(default_factory=dict, max_length=64)
    constants: dict[Identifier, float] = Field(default_factory=dict, max_length=256)
    t_span: Bounds = Field(default_factory=lambda: [0.0, 10.0])
    points: Annotated[int, Field(ge=2, le=100_000)] = 201
    solver: Literal["RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"] = "LSODA"
    rtol: Annotated[float, Field(gt=0.0, lt=1.0)] = 1e-8
    atol: Annotated[float, Field(gt=0.0, lt=1.0)] = 1e-10

    def needs_input(self) -> bool:
        return False

    @model_validator(mode="after")
    def _method_needs(self) -> SimulationParameters:
        if self.method == "monte_carlo":
            if self.expression is None or not self.variables:
                raise ValueError(
                    'method "monte_carlo" needs "expression" and "variables" (name: [low, high])'
                )
            for name, (low, high) in self.variables.items():
                if not low < high:
                    raise ValueError(
                        f"variables.{name}: low must be below high, got [{low}, {high}]"
                    )
            names = set(self.variables) | set(self.constants)
            _check_expression(self.expression, names, "expression")
        else:
            if not self.equations:
                raise ValueError('method "ode" needs "equations" (name: expression for d name/dt)')
            if set(self.initial) != set(self.equations):
                raise ValueError(
                    '"initial" must give one value for each of "equations": '
                    + ", ".join(sorted(self.equations))
                )
            if not self.t_span[0] < self.t_span[1]:
                raise ValueError(f"t_span: start must be below end, got {self.t_span}")
            names = set(self.equations) | set(self.constants) | {"t"}
            for name, text in self.equations.items():
                _check_expression(text, names, f"equations.{name}")
        return self


class OptimizationParameters(TemplateParameters):
    """``optimization``: minimise or maximise an expression over bounded variables."""

    objective: Expression
    variables: Annotated[dict[Identifier, Bounds], Field(min_length=1, max_length=64)]
    goal: Literal["minimize", "maximize"] = "minimize"
    method: Literal[
        "L-BFGS-B", "Nelder-Mead", "Powell", "TNC", "SLSQP", "differential_evolution"
    ] = "L-BFGS-B"
    initial: dict[Identifier, float] | None = None
    constants: dict[Identifier, float] = Field(default_factory=dict, max_length=256)
    data_source: InputName | None = None
    seed: Seed = 42
    max_iterations: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000
    tolerance: Annotated[float, Field(gt=0.0, lt=1.0)] = 1e-10

    @model_validator(mode="after")
    def _bounds_and_names(self) -> OptimizationParameters:
        for name, (low, high) in self.variables.items():
            if not low < high:
                raise ValueError(f"variables.{name}: low must be below high, got [{low}, {high}]")
        for name, start in (self.initial or {}).items():
            if name not in self.variables:
                raise ValueError(f"initial.{name}: not one of the variables")
            low, high = self.variables[name]
            if not low <= start <= high:
                raise ValueError(f"initial.{name}: {start} is outside its bounds [{low}, {high}]")
        # Names that are neither variables nor constants must be columns of the input.
        _check_expression(self.objective, None, "objective")
        return self

    def needs_input(self) -> bool:
        return self.data_source is not None

    def input_name(self) -> str | None:
        return self.data_source

    def column_references(self) -> list[tuple[str, str]]:
        if self.data_source is None:
            return []
        known = set(self.variables) | set(self.constants)
        names = parse_expression(self.objective).names
        return [("objective", name) for name in sorted(names - known)]

    def numeric_references(self) -> list[tuple[str, str]]:
        return self.column_references()


_MODEL_PARAMS: dict[str, set[str]] = {
    "logistic_regression": {"C", "max_iter"},
    "linear_regression": set(),
    "ridge": {"alpha", "max_iter"},
    "lasso": {"alpha", "max_iter"},
    "random_forest": {"n_estimators", "max_depth"},
    "gradient_boosting": {"n_estimators", "max_depth", "learning_rate"},
    "decision_tree": {"max_depth"},
    "knn": {"n_neighbors"},
    "svm": {"C", "kernel"},
}


class MLTrainingParameters(TemplateParameters):
    """``ml_training``: a scikit-learn model scored by (stratified) k-fold cross-validation."""

    data_source: str | None = Field(default=None, min_length=1, max_length=253)
    target: Column
    features: Annotated[list[Column], Field(min_length=1, max_length=10_000)] | None = None
    task: Literal["auto", "classification", "regression"] = "auto"
    model: Literal[
        "logistic_regression",
        "linear_regression",
        "ridge",
        "lasso",
        "random_forest",
        "gradient_boosting",
        "decision_tree",
        "knn",
        "svm",
    ] = "random_forest"
    model_params: dict[
        Literal[
            "C",
            "alpha",
            "max_depth",
            "n_estimators",
            "n_neighbors",
            "max_iter",
            "learning_rate",
            "kernel",
        ],
        int | float | str,
    ] = Field(default_factory=dict)
    cv_folds: Annotated[int, Field(ge=2, le=50)] = 5
    scale: bool = True
    seed: Seed = 42

    @model_validator(mode="after")
    def _task_fits_model(self) -> MLTrainingParameters:
        if self.features is not None and self.target in self.features:
            raise ValueError(f'"features" must not contain the target column "{self.target}"')
        if self.task == "classification" and self.model in ("linear_regression", "ridge", "lasso"):
            raise ValueError(f'model "{self.model}" is a regressor; task is "classification"')
        if self.task == "regression" and self.model == "logistic_regression":
            raise ValueError('model "logistic_regression" is a classifier; task is "regression"')
        allowed = _MODEL_PARAMS[self.model]
        for key in self.model_params:
            if key not in allowed:
                expected = ", ".join(sorted(allowed)) or "none"
                raise ValueError(
                    f'model_params.{key}: not a parameter of model "{self.model}" '
                    f"(allowed: {expected})"
                )
        kernel = self.model_params.get("kernel")
        if kernel is not None and kernel not in ("linear", "rbf", "poly", "sigmoid"):
            raise ValueError(
                f'model_params.kernel: expected linear, rbf, poly or sigmoid, got "{kernel}"'
            )
        return self

    def input_name(self) -> str | None:
        return _input_from_source(self.data_source)

    def column_references(self) -> list[tuple[str, str]]:
        return _columns([("target", self.target), ("features", self.features)])

    def numeric_references(self) -> list[tuple[str, str]]:
        return _columns([("features", self.features)])


PARAMETER_MODELS: dict[str, type[TemplateParameters]] = {
    "statistical_test": StatisticalTestParameters,
    "data_analysis": DataAnalysisParameters,
    "simulation": SimulationParameters,
    "optimization": OptimizationParameters,
    "ml_training": MLTrainingParameters,
}
