"""Run the benchmarks and print one table per measurement; ``python -m bench [area ...] [--quick]``.

Each area is a module ``bench/<area>.py`` exposing ``run(*, quick=False) -> list[dict]`` whose
tables are ``{"title", "columns", "rows", "notes"}``. The combined tables are written to
``bench/results.json`` with a description of the machine they came from.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

AREAS = ("sandbox", "platform", "statistics", "operator")
HERE = Path(__file__).resolve().parent


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        magnitude = abs(value)
        if magnitude >= 1000 or magnitude < 0.001:
            return f"{value:.3g}"
        return f"{value:.3f}".rstrip("0").rstrip(".") if magnitude < 10 else f"{value:.2f}"
    return str(value)


def format_table(table: dict[str, Any]) -> str:
    columns = [str(c) for c in table["columns"]]
    rows = [[_cell(v) for v in row] for row in table["rows"]]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    lines = [f"## {table['title']}", ""]
    lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        lines.append("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")
    for note in table.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("areas", nargs="*", choices=[*AREAS, []], help=f"subset of {', '.join(AREAS)}")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and sizes (a smoke run)")
    parser.add_argument("--json", type=Path, default=HERE / "results.json")
    args = parser.parse_args(argv)
    areas = args.areas or list(AREAS)
    report: dict[str, Any] = {"machine": machine(), "tables": []}
    print(f"# Kosmos benchmarks ({report['machine']['date']}, {report['machine']['cpus']} CPUs, "
          f"Python {report['machine']['python']})\n")
    for area in areas:
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{area}")
        tables = module.run(quick=args.quick)
        for table in tables:
            table.setdefault("area", area)
            print(format_table(table))
            report["tables"].append(table)
        print(f"({area}: {time.perf_counter() - started:.0f} s)\n", flush=True)
    args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
