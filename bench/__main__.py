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
    parser.add_argument("only", nargs="*", help="stage modules to run (default: all)")
    args = parser.parse_args()
    console = Console()
    here = Path(__file__).parent
    names = [m.name for m in pkgutil.iter_modules([str(here)]) if m.name not in ("common",)]
    names = [n for n in names if not args.only or n in args.only]
    results: list[BenchResult] = []
    for name in sorted(names):
        module = importlib.import_module(f"bench.{name}")
        console.print(f"[bold]bench {name}[/bold] ...")
        results.extend(module.run(quick=args.quick))
    table = Table(title="triplet benchmarks (ratios against baselines run in this process)")
    for col in ("benchmark", "seconds", "baseline", "baseline s", "ratio", "target", "met", "notes"):
        table.add_column(col)
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
    return 0 if all(r.met is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
