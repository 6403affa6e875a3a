"""Statistics benchmarks: speed of kosmos.execution.statistics over the bare scipy call it wraps,
and precision (log relative error) on the NIST StRD one-way ANOVA datasets.

Run with ``python -m bench statistics [--quick]``. Speed is a ratio measured side by side in
one process (the Kosmos call and the scipy call alternate, median of the repeats), never an
absolute time. Precision is the log relative error LRE = -log10(|x - c| / |c|) against the
NIST certified value c (15 means agreement to every certified digit).
"""

from __future__ import annotations

import json
import math
import statistics as pystats
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.stats as st

from kosmos.execution import statistics as ks

__all__ = ["run"]

NIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "nist_anova"
_MAX_LRE = 15.0


def _paired_ratio(
    ours: Callable[[], Any], bare: Callable[[], Any], repeats: int
) -> tuple[float, float]:
    """Median of per-pair time ratios (ours / bare), and the median bare time in seconds.

    Each pair runs back to back, alternating which call goes first, so that load from other
    processes on a shared machine hits both calls of a pair alike.
    """
    ours()
    bare()  # warm caches and lazy imports
    ratios: list[float] = []
    t_bare: list[float] = []
    for i in range(repeats):
        times: dict[str, float] = {}
        order = (("ours", ours), ("bare", bare)) if i % 2 == 0 else (("bare", bare), ("ours", ours))
        for name, func in order:
            start = time.perf_counter()
            func()
            times[name] = time.perf_counter() - start
        ratios.append(times["ours"] / times["bare"])
        t_bare.append(times["bare"])
    return pystats.median(ratios), pystats.median(t_bare)


def _cases(
    n: int, rng: np.random.Generator
) -> list[tuple[str, str, Callable[[], Any], Callable[[], Any]]]:
    a = rng.normal(0.0, 1.0, n)
    b = rng.normal(0.05, 1.3, n)
    third = n // 3
    g = [a[:third], b[:third], a[third : 2 * third] + 0.02]
    counts = np.array([[n * 0.3, n * 0.2], [n * 0.25, n * 0.25]]).round()
    return [
        (
            "compute_ttest (welch)",
            "ttest_ind(equal_var=False)",
            lambda: ks.compute_ttest(a, b),
            lambda: st.ttest_ind(a, b, equal_var=False),
        ),
        (
            "compute_ttest (paired)",
            "ttest_rel",
            lambda: ks.compute_ttest(a, b, paired=True),
            lambda: st.ttest_rel(a, b),
        ),
        ("compute_anova", "f_oneway", lambda: ks.compute_anova(g), lambda: st.f_oneway(*g)),
        (
            "compute_anova (welch)",
            "f_oneway(equal_var=False)",
            lambda: ks.compute_anova(g, welch=True),
            lambda: st.f_oneway(*g, equal_var=False),
        ),
        (
            "compute_correlation (pearson)",
            "pearsonr",
            lambda: ks.compute_correlation(a, b),
            lambda: st.pearsonr(a, b),
        ),
        (
            "compute_correlation (spearman)",
            "spearmanr",
            lambda: ks.compute_correlation(a, b, method="spearman"),
            lambda: st.spearmanr(a, b),
        ),
        (
            "compute_correlation (kendall)",
            "kendalltau",
            lambda: ks.compute_correlation(a, b, method="kendall"),
            lambda: st.kendalltau(a, b),
        ),
        (
            "compute_mannwhitney",
            "mannwhitneyu",
            lambda: ks.compute_mannwhitney(a, b),
            lambda: st.mannwhitneyu(a, b, method="asymptotic"),
        ),
        (
            "compute_wilcoxon",
            "wilcoxon",
            lambda: ks.compute_wilcoxon(a, b),
            lambda: st.wilcoxon(a, b, correction=True, method="asymptotic"),
        ),
        ("compute_kruskal", "kruskal", lambda: ks.compute_kruskal(g), lambda: st.kruskal(*g)),
        (
            "compute_chi_square (2x2, counts ~ n)",
            "chi2_contingency",
            lambda: ks.compute_chi_square(counts),
            lambda: st.chi2_contingency(counts),
        ),
    ]


def _profile_note(name: str, func: Callable[[], Any], calls: int = 20) -> str:
    """Where a call spends its own time (cProfile, top three functions by self time)."""
    import cProfile  # noqa: PLC0415 - only when a target is missed
    import pstats  # noqa: PLC0415

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        func()
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw = stats.stats  # type: ignore[attr-defined]
    entries = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)
    total = sum(v[2] for _, v in entries) or 1.0
    top = [
        f"{Path(file).name}:{func_name} {1e3 * v[2] / calls:.3g} ms/call "
        f"({100 * v[2] / total:.0f}%)"
        for (file, _line, func_name), v in entries[:3]
    ]
    return f"profile of {name}: " + "; ".join(top)


def speed_table(*, quick: bool) -> dict[str, Any]:
    sizes = [10**3, 10**5] if quick else [10**3, 10**4, 10**5, 10**6]
    rows: list[list[Any]] = []
    ratios_at_max: dict[str, float] = {}
    calls_at_max: dict[str, Callable[[], Any]] = {}
    rng = np.random.default_rng(20261203)
    for n in sizes:
        repeats = 3 if quick else (21 if n <= 10**5 else 11)
        for ours_name, bare_name, ours, bare in _cases(n, rng):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ratio, t_bare = _paired_ratio(ours, bare, repeats)
            rows.append([n, ours_name, f"scipy.stats.{bare_name}", ratio, t_bare * 1e3, repeats])
            if n == sizes[-1]:
                ratios_at_max[ours_name] = ratio
                calls_at_max[ours_name] = ours
    over = sorted(name for name, r in ratios_at_max.items() if r > 1.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profiles = [_profile_note(name, calls_at_max[name]) for name in over]
    notes = [
        "ratio = median over repeats of (Kosmos time / scipy time) for calls run back to back, "
        "alternating which goes first; the scipy time (median) is shown only to scale the ratio.",
        "Kosmos adds the validation gate (finite check, sizes, constant-data rule), effect sizes "
        "with confidence intervals (noncentral t/F/chi-squared inversion: a fixed cost independent "
        "of n) and the frozen result; the t-tests, Welch ANOVA and Fisher ANOVA compute their "
        "moments once in numpy and take p-values from scipy.special (stdtr, fdtrc), so they can "
        "be faster than the scipy function.",
        f"target <= 1.2 at n = {sizes[-1]:,}: "
        + ("met by every call." if not over else f"missed by {', '.join(over)} (profiles below)."),
        "compute_chi_square works on a fixed 2x2 table (its cost does not grow with n); its extra "
        "time is the noncentral chi-squared inversion for the Cramer's V interval, a fixed "
        "~0.1-0.2 ms, so its ratio stays near 2 at every n.",
        *profiles,
    ]
    return {
        "title": "Statistics speed: Kosmos compute_* over the bare scipy call",
        "columns": ["n", "kosmos", "scipy", "ratio", "scipy ms", "repeats"],
        "rows": rows,
        "notes": notes,
    }


def _lre(certified: float, value: float) -> float:
    if not math.isfinite(value):
        return 0.0
    if value == certified:
        return _MAX_LRE
    return max(0.0, min(_MAX_LRE, -math.log10(abs(value - certified) / abs(certified))))


def _statsmodels_f(groups: list[list[float]]) -> tuple[float, float, float]:
    import pandas as pd  # noqa: PLC0415 - benchmark-only comparison libraries, imported on use
    import statsmodels.api as sm  # noqa: PLC0415
    from statsmodels.formula.api import ols  # noqa: PLC0415

    frame = pd.DataFrame(
        {
            "y": [v for g in groups for v in g],
            "g": [str(i) for i, g in enumerate(groups) for _ in g],
        }
    )
    table = sm.stats.anova_lm(ols("y ~ C(g)", data=frame).fit())
    return float(table["F"].iloc[0]), float(table["sum_sq"].iloc[0]), float(table["sum_sq"].iloc[1])


def precision_table() -> dict[str, Any]:
    rows: list[list[Any]] = []
    for path in sorted(NIST_DIR.glob("*.json"), key=lambda p: (len(p.stem), p.stem)):
        data = json.loads(path.read_text())
        cert = data["certified"]
        groups = data["groups"]
        text = ks.compute_anova([[repr(v) for v in g] for g in groups])
        flt = ks.compute_anova([np.asarray(g) for g in groups])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sp = st.f_oneway(*[np.asarray(g) for g in groups])
            sm_f, sm_ssb, sm_ssw = _statsmodels_f(groups)

        def worst(
            f: float, ssb: float | None, ssw: float | None, cert: dict[str, Any] = cert
        ) -> float:
            return min(
                _lre(cert["f_statistic"], f),
                _lre(cert["between_ss"], ssb) if ssb is not None else _MAX_LRE,
                _lre(cert["within_ss"], ssw) if ssw is not None else _MAX_LRE,
            )

        exact = data["float64_input_exact"]
        rows.append(
            [
                data["dataset"],
                worst(text.f_statistic, text.ss_between, text.ss_within),
                worst(flt.f_statistic, flt.ss_between, flt.ss_within),
                min(
                    _lre(exact["f_statistic"], flt.f_statistic),
                    _lre(exact["between_ss"], flt.ss_between),
                    _lre(exact["within_ss"], flt.ss_within),
                ),
                _lre(cert["f_statistic"], float(sp.statistic)),
                worst(sm_f, sm_ssb, sm_ssw),
            ]
        )
    return {
        "title": "NIST StRD one-way ANOVA: log relative error (15 = all certified digits)",
        "columns": [
            "dataset",
            "kosmos text (F,SS min)",
            "kosmos float (F,SS min)",
            "kosmos float vs exact-of-floats",
            "scipy f_oneway (F)",
            "statsmodels OLS (F,SS min)",
        ],
        "rows": rows,
        "notes": [
            "kosmos text: the data as decimal strings (CSV), in exact rational arithmetic.",
            "kosmos float / scipy / statsmodels: the data as float64; on SmLs07-09 (13 constant "
            "leading digits) rounding the input alone limits any float64 method to about 4-5 "
            "digits against the certified values, so the float column is also scored against the "
            "exact ANOVA of the float64 inputs (float64_input_exact in the reference).",
            "LRE is capped at 15 and floored at 0 (0 also for a non-finite result).",
        ],
    }


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    """The statistics tables: speed ratios over scipy, and NIST ANOVA precision."""
    return [speed_table(quick=quick), precision_table()]


if __name__ == "__main__":  # pragma: no cover - manual use
    from bench.__main__ import format_table

    for table in run(quick=True):
        print(format_table(table))
