"""`make bench`: run every stage's benchmarks and print ratios against same-run baselines."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.common import BenchResult


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is not met")
    parser.add_argument("only", nargs="*", help="stage modules to run (default: all)")
    args = parser.parse_args()
    console = Console(width=220)
    here = Path(__file__).parent
    names = [
        m.name for m in pkgutil.iter_modules([str(here)]) if m.name not in ("common", "__main__")
    ]
    names = [n for n in names if not args.only or n in args.only]
    results: list[BenchResult] = []
    for name in sorted(names):
        module = importlib.import_module(f"bench.{name}")
        console.print(f"[bold]bench {name}[/bold] ...")
        results.extend(module.run(quick=args.quick))
    table = Table(title="triplet benchmarks (ratios against baselines run in this process)")
    for col in (
        "benchmark",
        "seconds",
        "baseline",
        "baseline s",
        "ratio",
        "target",
        "met",
        "notes",
    ):
        table.add_column(col, overflow="fold", max_width=60 if col == "notes" else None)
    for r in results:
        table.add_row(
            r.name,
            f"{r.seconds:.3f}",
            r.baseline_name or "",
            f"{r.baseline_seconds:.3f}" if r.baseline_seconds else "",
            f"{r.ratio:.2f}x" if r.ratio is not None else "",
            r.target,
            {True: "yes", False: "NO", None: ""}[r.met],
            r.extra,
        )
    console.print(table)
    judged = [r for r in results if r.met is not None]
    missed = [r.name for r in judged if not r.met]
    console.print(f"{len(judged) - len(missed)} of {len(judged)} targets met.")
    for name in missed:
        console.print(f"[red]target not met[/red]: {name}")
    # Unmet targets are findings to report, not a failed run; --strict makes them one.
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
