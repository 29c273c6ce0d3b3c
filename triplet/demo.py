"""`make demo`: the whole Triple-T pipeline on the bundled example borough (SYNTHETIC data).

The demo works on a copy of ``registry.yaml`` and ``trials/`` in its output folder (default
``out/demo``), so the registrations in the repository stay untouched and the demo can be run again:
assignments and locks are written once per copy, as they would be in the field. Each stage runs
through the same ``triplet`` commands an analyst would type, in order:

1. validate the registry;
2. export the example borough and target harm (ranking, concentration, targeting notebook);
3. diagnose each trial's design by simulation and assign it (writes assignment and lock; the
   place-day trial ``patrol-days`` is assigned day by day and not diagnosed);
4. measure each trial's delivery (``triplet delivery``: delivered vs registered dose, both arms)
   and track each trial (difference-in-differences, randomisation inference, Bayesian estimate,
   the CACE of the delivered dose);
5. write each trial's effect report and the Board's "what works" page;
6. monitor the partnership's indicators (``triplet monitor``: the performance page).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from triplet.cli.main import main as cli

console = Console()
REPO = Path(__file__).resolve().parents[1]


def _prepare(out: Path) -> Path:
    """Fresh copy of the registry and trials under ``out``; a previous demo run is moved aside."""
    work = out / "demo"
    if work.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        previous = out / "previous" / stamp
        previous.parent.mkdir(parents=True, exist_ok=True)
        work.rename(previous)
        console.print(f"[dim]previous demo output moved to {previous}[/dim]")
    work.mkdir(parents=True)
    shutil.copy2(REPO / "registry.yaml", work / "registry.yaml")
    shutil.copytree(
        REPO / "trials",
        work / "trials",
        ignore=shutil.ignore_patterns(
            "assignment.csv", "lock.json", "results", "reports", "design"
        ),
    )
    return work


def _step(title: str, argv: list[str]) -> None:
    console.rule(f"[bold]{title}[/bold]")
    console.print(f"[dim]$ triplet {' '.join(argv)}[/dim]")
    t0 = time.perf_counter()
    code = cli(argv)
    if code != 0:
        raise SystemExit(f"demo step failed ({title}): triplet {' '.join(argv)} exited {code}")
    console.print(f"[green]done[/green] in {time.perf_counter() - t0:.1f} s")


def run(out: Path, *, sims: int = 200, draws: int | None = None) -> dict[str, Path]:
    """Run every stage on the example trials; return the main outputs by name."""
    from triplet.registry import load_registry

    out = out.resolve()
    work = _prepare(out)
    registry = work / "registry.yaml"
    outputs: dict[str, Path] = {}
    steps: list[tuple[str, Callable[[], None]]] = []

    steps.append(("Validate the registry", lambda: _step("validate", ["validate", str(registry)])))
    steps.append(("List the trials", lambda: _step("list", ["list", str(registry)])))

    borough = work / "example-borough"
    steps.append(
        (
            "Targeting",
            lambda: (
                _step("example borough", ["example", "--out", str(borough)]),
                _step(
                    "rank LSOAs by harm",
                    [
                        "target",
                        str(borough / "records.parquet"),
                        "--unit",
                        "lsoa",
                        "--out",
                        str(work / "targeting" / "lsoa_ranking.csv"),
                    ],
                ),
                _step(
                    "rank offenders by harm (pseudonymised)",
                    [
                        "target",
                        str(borough / "records.parquet"),
                        "--unit",
                        "offender",
                        "--out",
                        str(work / "targeting" / "offender_ranking.csv"),
                    ],
                ),
            ),
        )
    )
    loaded = load_registry(registry)
    trial_ids = list(loaded.trials)
    with_delivery = [tid for tid in trial_ids if loaded.trials[tid].trial.delivery is not None]
    for tid in trial_ids:
        # place-day (crossover) trials are not diagnosed by `triplet design` (docs/place-day.md)
        crossover = loaded.trials[tid].trial.design.method.value == "place_day"
        steps.append(
            (
                f"Testing {tid}",
                lambda tid=tid, crossover=crossover: (
                    None
                    if crossover
                    else _step(
                        f"design diagnosis {tid}",
                        ["design", tid, "--registry", str(registry), "--sims", str(sims)],
                    ),
                    _step(f"assign {tid}", ["assign", tid, "--registry", str(registry)]),
                ),
            )
        )
    for tid in with_delivery:  # issue 16: delivery first (track leaves its files in place)
        steps.append(
            (
                f"Delivery {tid}",
                lambda tid=tid: _step(
                    f"delivery {tid}", ["delivery", tid, "--registry", str(registry)]
                ),
            )
        )
    for tid in trial_ids:
        extra = ["--draws", str(draws)] if draws else []
        steps.append(
            (
                f"Tracking {tid}",
                lambda tid=tid, extra=extra: _step(
                    f"track {tid}", ["track", tid, "--registry", str(registry), *extra]
                ),
            )
        )
    for tid in trial_ids:
        steps.append(
            (
                f"Report {tid}",
                lambda tid=tid: _step(
                    f"effect report {tid}", ["report", tid, "--registry", str(registry)]
                ),
            )
        )
    board = work / "board.html"
    steps.append(
        (
            "Board",
            lambda: _step("board", ["board", "--registry", str(registry), "--out", str(board)]),
        )
    )
    performance = work / "performance.yaml"  # copied first: the Board page links its page
    shutil.copy2(REPO / "performance.yaml", performance)
    steps.append(
        (
            "Performance",  # issue 17: the Board's monthly performance page
            lambda: _step("monitor", ["monitor", str(performance)]),
        )
    )
    steps.append(("Targeting notebook", lambda: _targeting_notebook(work, outputs)))

    for _title, fn in steps:
        fn()

    outputs["registry"] = registry
    outputs["example borough"] = borough
    outputs["targeting"] = work / "targeting"
    for tid in trial_ids:
        outputs[f"{tid} results"] = work / "trials" / tid / "results" / "results.json"
        outputs[f"{tid} report"] = work / "trials" / tid / "reports" / "effect_report.html"
    for tid in with_delivery:
        outputs[f"{tid} delivery"] = work / "trials" / tid / "results" / "delivery.json"
    outputs["board"] = board
    outputs["performance page"] = work / "performance" / "performance.html"
    return outputs


def _targeting_notebook(work: Path, outputs: dict[str, Path]) -> None:
    from triplet.reports.notebooks import run_notebook

    console.rule("[bold]targeting notebook[/bold]")
    html = work / "targeting" / "targeting.html"
    run_notebook(
        REPO / "notebooks" / "targeting.ipynb",
        html,
        parameters={"out_dir": str(work / "targeting")},
    )
    outputs["targeting notebook"] = html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    parser.add_argument("--sims", type=int, default=200, help="design-diagnosis simulations")
    parser.add_argument("--draws", type=int, default=None, help="randomisation-inference draws")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    console.print(
        "[bold]triplet demo[/bold] on the example borough "
        "([yellow]SYNTHETIC data[/yellow]: no real place, person or crime)"
    )
    outputs = run(args.out, sims=args.sims, draws=args.draws)
    console.rule("[bold]Outputs[/bold]")
    for name, path in outputs.items():
        console.print(f"{name:>28}: {path}")
    console.print(f"[green]demo finished[/green] in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
