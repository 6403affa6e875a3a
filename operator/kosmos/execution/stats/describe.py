"""Reading reported results and wording them: the helpers behind ResultAnalyzer.

Called only by :mod:`kosmos.execution.analyzer`. Normalises what a program reported
(StatisticEntry dicts, result objects, the documented Kosmos shapes such as
``{"correlation": r, "p_value": p, "n": n}``) into StatisticEntry dicts, and phrases one
test, or an optimizer's report, as plain sentences. Numbers are rounded here for display
only; status keeps full precision. The wording describes differences and associations,
never causes.
"""

from __future__ import annotations

import math
from typing import Any

from scipy import special

__all__ = [
    "ASSUMPTION_TESTS",
    "SMALL_SAMPLE",
    "assumption_note",
    "describe_effect",
    "describe_optimization",
    "describe_test",
    "entries_from",
    "sample_sizes",
]

ASSUMPTION_TESTS = frozenset({"shapiro_wilk", "brown_forsythe", "levene", "bartlett"})
SMALL_SAMPLE = 20  # smallest group below this: flagged as a small sample

_NAMES = {
    "welch_t": ("Welch's two-sample t-test", "t"),
    "student_t": ("Student's two-sample t-test", "t"),
    "paired_t": ("Paired t-test", "t"),
    "one_sample_t": ("One-sample t-test", "t"),
    "t_test": ("t-test", "t"),
    "one_way_anova": ("One-way ANOVA", "F"),
    "welch_anova": ("Welch's one-way ANOVA", "F"),
    "kruskal_wallis": ("Kruskal-Wallis test", "H"),
    "mann_whitney_u": ("Mann-Whitney U (Wilcoxon rank sum) test", "W"),
    "wilcoxon_signed_rank": ("Wilcoxon signed-rank test", "V"),
    "pearson": ("Pearson correlation test", "t"),
    "spearman": ("Spearman rank correlation test", "S"),
    "kendall_tau_b": ("Kendall tau-b correlation test", "T"),
    "chi_square": ("Pearson's chi-squared test", "X-squared"),
}
_EFFECT_NAMES = {
    "hedges_g": "Hedges' g",
    "cohens_d": "Cohen's d",
    "hedges_gz": "Hedges' g_z",
    "cohens_dz": "Cohen's d_z",
    "eta_squared": "eta squared",
    "omega_squared": "omega squared",
    "eta_squared_from_f": "eta squared (from F)",
    "rank_epsilon_squared": "rank epsilon squared",
    "pearson_r": "Pearson's r",
    "spearman_rho": "Spearman's rho",
    "kendall_tau_b": "Kendall's tau-b",
    "rank_biserial": "rank-biserial r",
    "rank_biserial_paired": "matched-pairs rank-biserial r",
    "cramers_v": "Cramer's V",
}
_METHOD_NAMES = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg"}
_CORRELATION_TESTS = {
    "pearson": "pearson_r",
    "spearman": "spearman_rho",
    "kendall": "kendall_tau_b",
    "kendall_tau_b": "kendall_tau_b",
}


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "NA"
    if value != 0 and (abs(value) < 10 ** -(digits + 1) or abs(value) >= 10**6):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.{digits + 1}g}"


def _p_of(check: dict[str, Any]) -> float:
    """A check's p-value, 1.0 when missing (a missing p never flags a violation)."""
    p = _num(check.get("pValue"))
    return 1.0 if p is None else p


def _fmt_df(df: float | None) -> str:
    if df is None:
        return "NA"
    return str(int(df)) if df == int(df) else f"{df:.2f}"


def _fmt_p(p: float | None) -> str:
    if p is None:
        return "p not reported"
    return "p < 1e-16" if p < 1e-16 else f"p = {_fmt(p)}"


def _fisher_ci(r: float, n: int, level: float = 0.95) -> tuple[float | None, float | None]:
    if n <= 3 or abs(r) >= 1:
        return None, None
    q = float(special.ndtri(0.5 + level / 2)) / math.sqrt(n - 3)
    z = math.atanh(r)
    return math.tanh(z - q), math.tanh(z + q)


def _legacy_entry(d: dict[str, Any], experiment_type: str | None) -> dict[str, Any] | None:
    """A StatisticEntry from the documented Kosmos result shapes, or None."""
    p = d.get("p_value", d.get("pValue", d.get("pvalue")))
    n = d.get("n", d.get("n_samples"))
    for key in ("correlation", "r", "rho", "tau"):
        if key in d and _num(d[key]) is not None:
            r = float(d[key])
            method = str(d.get("method", {"rho": "spearman", "tau": "kendall"}.get(key, "pearson")))
            test = "kendall_tau_b" if method.startswith("kendall") else method
            lo = hi = None
            if test == "pearson" and isinstance(n, int):
                lo, hi = _fisher_ci(r, n)
            name = _CORRELATION_TESTS.get(test, "r")
            return {
                "test": test,
                "pValue": p,
                "n": n,
                "statistic": d.get("statistic"),
                "effectSize": {"name": name, "value": r, "ciLow": lo, "ciHigh": hi},
            }
    if "t_statistic" in d:
        effect = d.get("cohens_d", d.get("effect_size"))
        return {
            "test": d.get("test", "t_test"),
            "statistic": d["t_statistic"],
            "df": d.get("df"),
            "pValue": p,
            "n": n,
            "meanDifference": d.get("mean_difference"),
            "effectSize": {"name": "cohens_d", "value": effect}
            if _num(effect) is not None
            else None,
        }
    if "f_statistic" in d:
        f, df1, df2 = _num(d["f_statistic"]), _num(d.get("df_between")), _num(d.get("df_within"))
        eta = _num(d.get("eta_squared"))
        if eta is None and None not in (f, df1, df2):
            eta = f * df1 / (f * df1 + df2)  # type: ignore[operator]
        return {
            "test": d.get("test", "one_way_anova"),
            "statistic": f,
            "df": [df1, df2] if df1 is not None else None,
            "pValue": p,
            "n": n,
            "effectSize": {"name": "eta_squared", "value": eta} if eta is not None else None,
        }
    for key in ("chi_square", "chi2", "chi2_statistic"):
        if key in d:
            v = _num(d.get("cramers_v"))
            return {
                "test": "chi_square",
                "statistic": d[key],
                "df": d.get("dof", d.get("df")),
                "pValue": p,
                "n": n,
                "effectSize": {"name": "cramers_v", "value": v} if v is not None else None,
            }
    if p is not None:
        test = d.get("test") or experiment_type or "test"
        return {
            "test": str(test),
            "statistic": d.get("statistic"),
            "df": d.get("df"),
            "pValue": p,
            "n": n,
            "effectSize": d.get("effectSize", d.get("effect_size")),
        }
    return None


def entries_from(  # noqa: PLR0911 - one return per accepted input shape
    results: Any, experiment_type: str | None = None
) -> list[dict[str, Any]]:
    """StatisticEntry dicts from whatever shape the results arrive in."""
    if results is None:
        return []
    if hasattr(results, "to_dict"):
        return [results.to_dict()]
    if isinstance(results, (list, tuple)):
        return [e for item in results for e in entries_from(item, experiment_type)]
    output = getattr(results, "output", None)
    if isinstance(output, dict):
        return entries_from(output, experiment_type)
    if not isinstance(results, dict):
        return []
    if isinstance(results.get("statistics"), list):
        return entries_from(results["statistics"], experiment_type)
    if "test" in results and "pValue" in results:
        return [results]
    entry = _legacy_entry(results, experiment_type)
    return [entry] if entry is not None else []


def sample_sizes(entry: dict[str, Any]) -> list[int]:
    n = entry.get("n")
    if isinstance(n, (list, tuple)):
        return [int(v) for v in (_num(v) for v in n) if v is not None]
    value = _num(n)
    return [int(value)] if value is not None else []


def _subject(entry: dict[str, Any]) -> str:
    """What the test is about, when the program named it: a variable, or a pair of them."""
    variable, x, y = entry.get("variable"), entry.get("x"), entry.get("y")
    if isinstance(variable, str) and variable:
        return f" of '{variable}'"
    if isinstance(x, str) and isinstance(y, str):
        return f" between '{x}' and '{y}'"
    return ""


def describe_test(
    entry: dict[str, Any], summary: dict[str, Any], level: float, method: str | None, n_tests: int
) -> str:
    """First sentence: test (of which variable), statistic with df, p (adjusted p), decision."""
    test = str(entry.get("test"))
    name, symbol = _NAMES.get(test, (test.replace("_", " "), "statistic"))
    if test == "kendall_tau_b" and entry.get("statisticName") == "z":
        symbol = "z"
    df = entry.get("df")
    if isinstance(df, (list, tuple)) and len(df) == 2:
        df_text = f"({_fmt_df(_num(df[0]))}, {_fmt_df(_num(df[1]))})"
    elif _num(df) is not None:
        df_text = f"({_fmt_df(_num(df))})"
    else:
        df_text = ""
    stat = _num(entry.get("statistic"))
    stat_text = f"{symbol}{df_text} = {_fmt(stat)}, " if stat is not None else ""
    p_text = _fmt_p(summary["p_value"])
    if method is not None and summary["adjusted_p_value"] is not None:
        shown = _METHOD_NAMES.get(method, method)
        p_text += f" ({shown}-adjusted over {n_tests} tests: {_fmt(summary['adjusted_p_value'])})"
    if summary["significant"] is None:
        decision = "no significance decision is possible without a p-value"
    elif summary["significant"]:
        decision = f"statistically significant at alpha = {level:g}"
    else:
        decision = f"not statistically significant at alpha = {level:g}"
    return f"{name}{_subject(entry)}: {stat_text}{p_text}, {decision}."


def _direction(  # noqa: PLR0911 - one phrase per test
    entry: dict[str, Any], value: float, labels: tuple[str, str] | None
) -> str:
    test = str(entry.get("test"))
    if value == 0:
        return "with no direction"
    up = value > 0
    first, second = (
        (f"group '{labels[0]}'", f"group '{labels[1]}'")
        if labels
        else ("the first group", "the second")
    )
    if test in ("welch_t", "student_t", "t_test"):
        return f"the mean of {first} is {'higher' if up else 'lower'} than that of {second}"
    if test == "paired_t":
        return f"values in {first} are {'higher' if up else 'lower'} on average than in {second}"
    if test == "one_sample_t":
        return f"the mean lies {'above' if up else 'below'} {_fmt(_num(entry.get('mu')) or 0.0)}"
    if test in ("pearson", "spearman", "kendall_tau_b"):
        return f"a {'positive' if up else 'negative'} association"
    if test == "mann_whitney_u":
        return f"values in {first} tend to be {'larger' if up else 'smaller'} than in {second}"
    if test == "wilcoxon_signed_rank":
        return f"the differences tend to be {'positive' if up else 'negative'}"
    return ""


def describe_effect(
    entry: dict[str, Any],
    effect: dict[str, Any] | None,
    labels: tuple[str, str] | None = None,
) -> str:
    """Effect size with its interval, magnitude label and direction."""
    if not effect:
        return "No effect size was reported"
    name = _EFFECT_NAMES.get(str(effect["name"]), str(effect["name"]).replace("_", " "))
    text = f"Effect size {name} = {_fmt(effect['value'])}"
    lo, hi = effect.get("ci_low"), effect.get("ci_high")
    level = _num(entry.get("confidenceLevel")) or 0.95
    if lo is not None and hi is not None:
        text += f" ({level:.0%} CI {_fmt(lo)} to {_fmt(hi)})"
    elif lo is not None or hi is not None:
        bound = f">= {_fmt(lo)}" if lo is not None else f"<= {_fmt(hi)}"
        text += f" (one-sided {level:.0%} bound {bound})"
    if effect.get("magnitude"):
        text += f", a {effect['magnitude']} effect by convention"
    direction = _direction(entry, effect["value"], labels)
    return f"{text}, {direction}" if direction else text


def _g6(value: Any) -> str:
    v = _num(value)
    return "NA" if v is None else f"{v:.6g}"


def _point(point: Any) -> str:
    """An optimizer's point for display: named variables, or scipy's bare vector ``x``."""
    if isinstance(point, dict):
        return ", ".join(f"{name} = {_g6(v)}" for name, v in point.items())
    values = point if isinstance(point, list) else [point]
    shown = ", ".join(_g6(v) for v in values)
    return f"x = {shown}" if len(values) == 1 else f"x = ({shown})"


def describe_optimization(results: dict[str, Any]) -> tuple[str, list[str]]:
    """Interpretation and warnings of an optimizer's report (template or scipy OptimizeResult).

    A failed run claims no optimum: scipy reports failure in ``success`` and ``message``
    instead of raising, and the point it returns is only where it stopped.
    """
    method = results.get("method")
    name = f"the optimizer ({method})" if method else "the optimizer"
    goal = "maximum" if results.get("goal") == "maximize" else "minimum"
    value = _num(results.get("objectiveValue", results.get("fun")))
    point = results.get("optimum", results.get("x"))
    where = f" at {_point(point)}" if point is not None else ""
    warnings: list[str] = []
    if results.get("success") is False:
        message = str(results.get("message") or "").strip() or "no message"
        counts = [
            f"{int(n)} {label}"
            for n, label in (
                (_num(results.get("iterations", results.get("nit"))), "iterations"),
                (_num(results.get("evaluations", results.get("nfev"))), "evaluations"),
            )
            if n is not None
        ]
        detail = ", ".join(([str(method)] if method else []) + counts)
        warnings.append(
            f'The optimizer did not converge: "{message}"{f" ({detail})" if detail else ""}; '
            f"the point it reports is where it stopped, not a {goal}."
        )
        text = f"No {goal} was found: {name} stopped without converging{where}"
        if value is None:
            text += ", where the objective is not a finite number"
        return f"{text}.", warnings
    kind = goal if method == "differential_evolution" else f"local {goal}"
    shown = "not a finite number" if value is None else f"{value:.6g}"
    text = f"{name[0].upper()}{name[1:]} converged to a {kind} of the objective ({shown}){where}."
    if value is None:
        warnings.append("The objective at the reported optimum is not a finite number.")
    bounds = [str(b) for b in results.get("atBound") or [] if isinstance(b, str)]
    if bounds:
        warnings.append(
            f"The optimum lies on the bound of {', '.join(bounds)}: the objective may improve "
            "further outside the box searched; widen the bounds or justify them."
        )
    return text, warnings


def assumption_note(entry: dict[str, Any], checks: list[dict[str, Any]], level: float) -> str:
    """Violated assumptions reported beside the test, and the better-suited test."""
    test = str(entry.get("test"))
    notes: list[str] = []
    normal = [c for c in checks if c.get("test") == "shapiro_wilk" and _p_of(c) < level]
    spread = [
        c
        for c in checks
        if c.get("test") in ("brown_forsythe", "levene", "bartlett") and _p_of(c) < level
    ]
    if normal:
        better = {
            "welch_t": "the Mann-Whitney U test",
            "student_t": "the Mann-Whitney U test",
            "paired_t": "the Wilcoxon signed-rank test",
            "one_sample_t": "the Wilcoxon signed-rank test",
            "one_way_anova": "the Kruskal-Wallis test",
            "welch_anova": "the Kruskal-Wallis test",
            "pearson": "Spearman's rank correlation",
        }.get(test)
        p = min(_p_of(c) for c in normal)
        if better:
            notes.append(
                f"normality looks violated (Shapiro-Wilk {_fmt_p(p)}), so {better} is better suited"
            )
    if spread:
        better = {"student_t": "Welch's t-test", "one_way_anova": "Welch's ANOVA"}.get(test)
        c = spread[0]
        label = {"brown_forsythe": "Brown-Forsythe", "levene": "Levene", "bartlett": "Bartlett"}[
            str(c["test"])
        ]
        if better:
            notes.append(
                f"equal variances look violated ({label} {_fmt_p(_num(c.get('pValue')))}), "
                f"so {better} is better suited"
            )
    return "; ".join(notes)
