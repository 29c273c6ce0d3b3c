"""``triplet monitor``: every indicator's expected values, chart, signals and icons; the page.

:func:`run_monitor` reads ``performance.yaml`` (:mod:`.framework`), the records and residents
(:mod:`.series`), chooses each population on the selection months (:mod:`.populations`), fits
each indicator's baseline (:mod:`.expected`), draws its control chart and reads the run rules
(:mod:`.spc`), gives the Making Data Count icons (:mod:`.icons`), year to date (:mod:`.ytd`) and
funnel plots (:mod:`.funnel`), and lists the registry's trials with months remaining and
records coverage (and delivered dose when ``results/delivery.json`` exists). No effect is
estimated here: a monitored change is not an effect estimate; only trials estimate effects.

:func:`build_monitor` writes ``performance.html`` (self-contained, the look of the Board's
"what works" page and linked with it), ``performance.csv`` (one row per indicator-month) and
``performance.json``. Disclosure control as on the Board (:mod:`triplet.reports.disclosure`):
no person identifier on the page (scanned before writing), no count of persons under the
threshold, and no monthly crime count under the threshold for a person cohort.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import InputError, OverwriteError
from triplet.io import jsonable
from triplet.performance.expected import Expected, expected_values
from triplet.performance.framework import FrameworkFile, Indicator, load_framework
from triplet.performance.funnel import Funnel, funnel
from triplet.performance.icons import Icon, assurance_icon, variation_icon
from triplet.performance.page import NOT_AN_EFFECT, render_page
from triplet.performance.populations import Members, resolve_population
from triplet.performance.series import (
    indicator_mask,
    indicator_series,
    inject_shift,
    load_monitor_data,
    lsoa_counts,
)
from triplet.performance.spc import ControlChart, laney_u_chart, seasonal_u_chart, xmr_chart
from triplet.performance.trials import TrialStatus, trial_status
from triplet.performance.ytd import YearToDate, year_to_date

__all__ = [
    "NOT_AN_EFFECT",
    "IndicatorResult",
    "Monitor",
    "TrialStatus",
    "build_monitor",
    "run_monitor",
]

PAGE_FILE = "performance.html"
CSV_FILE = "performance.csv"
JSON_FILE = "performance.json"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class IndicatorResult:
    """One indicator: its population, monthly series, baseline model, chart and summaries.

    ``withheld`` says why its values are not shown (a person cohort under the threshold);
    ``small_counts``: a count of a person cohort below the threshold in some month (those
    values are suppressed and its chart not drawn).
    """

    indicator: Indicator
    members: Members
    series: pd.Series
    expected: Expected
    chart: ControlChart
    variation: Icon
    assurance: Icon
    ytd: YearToDate | None
    funnel: Funnel | None
    shifted: bool
    withheld: str | None
    small_counts: bool

    def table(self, threshold: int, per_residents: float | None = None) -> pd.DataFrame:
        """Tidy rows, one per month: value, expected, interval, limits, signals."""
        c = self.chart.table
        e = self.expected.table
        ind = self.indicator
        out = pd.DataFrame(
            {
                "indicator": ind.id,
                "title": ind.title,
                "population": self.members.name,
                "measure": ind.measure,
                "owner": ind.owner,
                "month": c["month"].astype("str"),
                "phase": c["phase"],
                "value": c["value"],
                "expected": e["expected"].to_numpy(),
                "pi_low": e["pi_low"].to_numpy(),
                "pi_high": e["pi_high"].to_numpy(),
                "centre": c["centre"],
                "lcl": c["lcl"],
                "ucl": c["ucl"],
                "z": c["z"],
                "beyond": c["beyond"],
                "run": c["run"],
                "trend": c["trend"],
                "signal": c["signal"],
                "direction": c["direction"],
                "target": ind.target,
                "chart": self.chart.method,
            }
        )
        if ind.per_residents and self.members.residents:
            out["rate_per"] = ind.per_residents
            out["rate"] = out["value"] / self.members.residents * ind.per_residents
        if self.withheld:
            for col in ("value", "expected", "pi_low", "pi_high", "centre", "lcl", "ucl", "z"):
                out[col] = np.nan
        elif self.members.is_person and ind.measure == "count":
            small = (out["value"] > 0) & (out["value"] < threshold)
            out["value"] = out["value"].mask(small)
        return out

    def summary(self) -> pd.DataFrame:
        """The tidy months, suppressed at the default threshold (10)."""
        from triplet.reports.disclosure import DEFAULT_THRESHOLD

        return self.table(DEFAULT_THRESHOLD)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "id": self.indicator.id,
                "variation": self.variation.to_dict(),
                "assurance": self.assurance.to_dict(),
                "signals": self.signal_segments() if not self.withheld else [],
                "year_to_date": self.ytd.to_dict() if self.ytd and not self.withheld else None,
            }
        )

    def plot(self, ax=None):
        """The indicator's control chart."""
        return self.chart.plot(ax, title=self.indicator.title)

    def signal_segments(self) -> list[dict[str, Any]]:
        """Signals in the monitored months, as stretches of consecutive flagged months."""
        t = self.chart.table
        mon = t[t["phase"] == "monitoring"]
        out: list[dict[str, Any]] = []
        for _, r in mon.iterrows():
            if not r["signal"]:
                continue
            rules = [k for k in ("beyond", "run", "trend") if r[k]]
            d = int(r["direction"])
            if out and out[-1]["_next"] == r.name and out[-1]["direction"] == d:
                seg = out[-1]
                seg["end"] = str(r["month"])
                seg["rules"] = sorted(set(seg["rules"]) | set(rules))
                seg["_next"] = r.name + 1
            else:
                out.append(
                    {
                        "start": str(r["month"]),
                        "end": str(r["month"]),
                        "direction": d,
                        "rules": rules,
                        "_next": r.name + 1,
                    }
                )
        for seg in out:
            seg.pop("_next")
            seg["words"] = _segment_words(seg, self.chart, self.indicator.better)
        return out


def _segment_words(seg: dict[str, Any], chart: ControlChart, better: str) -> str:
    when = seg["start"] if seg["start"] == seg["end"] else f"{seg['start']} to {seg['end']}"
    side = "above" if seg["direction"] > 0 else "below"
    parts = []
    if "beyond" in seg["rules"]:
        parts.append(f"beyond the {'upper' if seg['direction'] > 0 else 'lower'} control limit")
    if "run" in seg["rules"]:
        parts.append(f"part of a run of {chart.run}+ months {side} the expected level")
    if "trend" in seg["rules"]:
        parts.append(
            f"part of a trend of {chart.trend}+ months each {'higher' if seg['direction'] > 0 else 'lower'}"
            " than the one before, relative to its expected value"
        )
    good = (
        ""
        if better == "neither"
        else (" (improvement)" if (better == "lower") == (seg["direction"] < 0) else " (concern)")
    )
    return f"{when}: {'; '.join(parts)}{good}"


@dataclass(frozen=True)
class Monitor:
    """Everything ``triplet monitor`` computed (``summary()`` is the tidy indicator-month table)."""

    name: str
    as_of: str
    results: list[IndicatorResult]
    trials: list[TrialStatus]
    synthetic: bool
    threshold: int
    run: int
    trend: int
    baseline: str
    selection: str
    shift: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    harm_index: str = "cambridge"
    identifiers: Any = field(default=None, repr=False)  # person ids in the records (never shown)

    def summary(self) -> pd.DataFrame:
        frames = [
            r.table(self.threshold) for r in self.results
        ]  # every indicator-month, suppressed as on the page
        out = pd.concat(frames, ignore_index=True)
        out.insert(0, "synthetic", self.synthetic)
        return out

    def to_dict(self) -> dict[str, Any]:
        from triplet.reports.disclosure import format_count

        inds = []
        for r in self.results:
            pop = r.members.to_dict()
            if r.members.is_person:
                pop["size"] = format_count(r.members.size, self.threshold)
            inds.append(
                {
                    "id": r.indicator.id,
                    "title": r.indicator.title,
                    "owner": r.indicator.owner,
                    "measure": r.indicator.measure,
                    "better": r.indicator.better,
                    "target": r.indicator.target,
                    "population": pop,
                    "withheld": r.withheld,
                    "model": {k: v for k, v in r.expected.to_dict().items() if k != "months"},
                    "chart": {k: v for k, v in r.chart.to_dict().items() if k != "points"},
                    "variation": r.variation.to_dict(),
                    "assurance": r.assurance.to_dict(),
                    "year_to_date": r.ytd.to_dict() if r.ytd and not r.withheld else None,
                    "signals": r.signal_segments() if not r.withheld else [],
                    "funnel": r.funnel.flagged() if r.funnel else None,
                    "simulated_shift": r.shifted,
                }
            )
        rows = self.summary().astype(object)
        return jsonable(
            {
                "name": self.name,
                "as_of": self.as_of,
                "synthetic": self.synthetic,
                "not_an_effect": NOT_AN_EFFECT,
                "baseline": self.baseline,
                "selection": self.selection,
                "rules": {"run": self.run, "trend": self.trend, "limits_sigma": 3},
                "simulated_shift": self.shift,
                "threshold": self.threshold,
                "indicators": inds,
                "trials": [t.to_dict() for t in self.trials],
                "notes": self.notes,
                "months": rows.where(rows.notna(), None).to_dict("records"),
            }
        )

    def plot(self, ax=None):
        """All indicators' charts, one panel each (a matplotlib Figure)."""
        import matplotlib.pyplot as plt

        shown = [r for r in self.results if not (r.withheld or r.small_counts)]
        fig, axes = plt.subplots(len(shown), 1, figsize=(7, 2.4 * max(len(shown), 1)))
        for a, r in zip(np.atleast_1d(axes), shown, strict=True):
            r.chart.plot(a, title=r.indicator.title)
        fig.tight_layout()
        return fig


def _chart_for(ind: Indicator, series, ev: Expected, nb: int, fw, members: Members) -> ControlChart:
    if ind.chart == "xmr":
        return xmr_chart(series, n_baseline=nb, run=fw.run, trend=fw.trend_points)
    if ind.chart == "laney":
        exposure = np.full(len(series), members.residents or 1.0)
        return laney_u_chart(
            series, exposure, n_baseline=nb, months=series.index, run=fw.run, trend=fw.trend_points
        )
    return seasonal_u_chart(
        series,
        ev.table["expected"],
        n_baseline=nb,
        leverage=ev.leverage,
        months=series.index,
        run=fw.run,
        trend=fw.trend_points,
    )


def run_monitor(ff: FrameworkFile | str | Path, *, progress: Progress | None = None) -> Monitor:
    """Compute every indicator of the framework (see the module docstring)."""
    from triplet.reports.disclosure import is_suppressed

    tick = progress or (lambda _msg: None)
    if not isinstance(ff, FrameworkFile):
        ff = load_framework(ff)
    fw = ff.framework
    tick("reading the records")
    data = load_monitor_data(ff)
    first, last = data.months[0], data.months[-1]
    as_of = pd.Period(fw.as_of, freq="M") if fw.as_of else last
    sel = fw.selection.months
    base = fw.baseline.months
    problems = []
    if sel[0] < first or base[0] < first:
        problems.append(f"the records start in {first}, after the selection or baseline starts")
    if as_of > last:
        problems.append(f"as_of {as_of} is after the last month of the records ({last})")
    if problems:
        raise InputError("; ".join(problems), file=ff.path)
    months = pd.period_range(base[0], as_of, freq="M")
    nb = len(base)
    registry = ff.resolve(fw.registry) if fw.registry else None
    tick("choosing the populations")
    members = {
        name: resolve_population(
            name,
            pop,
            data.records,
            sel,
            residents=data.residents,
            registry=registry,
            file=str(ff.path),
        )
        for name, pop in fw.populations.items()
    }
    records = data.records
    shift = None
    if fw.simulated_shift is not None:
        s = fw.simulated_shift
        ind = fw.indicator(s.indicator)
        mask = indicator_mask(records, ind, members[ind.population])
        records = inject_shift(records, mask, s)
        shift = {"indicator": s.indicator, "start": s.start, "rate_ratio": s.rate_ratio}
    results = []
    for ind in fw.indicators:
        tick(f"indicator {ind.id}")
        m = members[ind.population]
        series = indicator_series(records, ind, m, months, harm_index=fw.harm_index)
        ev = expected_values(series, n_baseline=nb, harmonics=fw.harmonics, trend=fw.trend)
        chart = _chart_for(ind, series, ev, nb, fw, m)
        ytd = None
        if (pd.Period(year=as_of.year, month=1, freq="M") - 12) >= months[0]:
            ytd = year_to_date(series, as_of, dispersion=ev.dispersion)
        fun = None
        if ind.funnel and data.residents is not None:
            lsoas = list(m.lsoas) if m.lsoas else list(data.residents.index)
            window = pd.period_range(as_of - 11, as_of, freq="M")
            fun = funnel(
                lsoa_counts(records, ind, window, lsoas),
                data.residents.loc[lsoas],
                per=1000.0,
            )
        withheld = None
        if m.is_person and is_suppressed(m.size, fw.threshold):
            withheld = f"the cohort has fewer than {fw.threshold} people"
        small = bool(
            m.is_person
            and ind.measure == "count"
            and ((series > 0) & (series < fw.threshold)).any()
        )
        results.append(
            IndicatorResult(
                indicator=ind,
                members=m,
                series=series,
                expected=ev,
                chart=chart,
                variation=variation_icon(chart, ind.better),
                assurance=assurance_icon(chart, ind.target, ind.better),
                ytd=ytd,
                funnel=fun,
                shifted=bool(shift and shift["indicator"] == ind.id),
                withheld=withheld,
                small_counts=small,
            )
        )
    trials = []
    if registry is not None:
        tick("reading the trials")
        from triplet.registry import load_registry

        for tf in load_registry(registry).trials.values():
            trials.append(trial_status(tf, as_of, records))
    notes = sorted({n for r in results for n in r.expected.notes})
    from triplet.reports.disclosure import identifiers_in_frame

    return Monitor(
        identifiers=identifiers_in_frame(data.records, fw.records),
        name=fw.name,
        as_of=str(as_of),
        results=results,
        trials=trials,
        synthetic=data.synthetic,
        threshold=fw.threshold,
        run=fw.run,
        trend=fw.trend_points,
        baseline=f"{fw.baseline.start} to {fw.baseline.end}",
        selection=f"{fw.selection.start} to {fw.selection.end}",
        shift=shift,
        notes=notes,
        harm_index=fw.harm_index,
    )


def _relative(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target.resolve(), start.resolve()).replace(os.sep, "/")


def build_monitor(
    framework: str | Path,
    out: str | Path | None = None,
    *,
    rerun: bool = False,
    progress: Progress | None = None,
) -> dict[str, Path]:
    """Write ``performance.html``, ``.csv`` and ``.json`` into ``out`` (default: a
    ``performance/`` folder beside the framework); return their paths.

    Existing outputs raise :class:`OverwriteError` unless ``rerun`` (they are first moved to
    ``previous/<timestamp>/``). Nothing is written if the page would show a person identifier.
    """
    from triplet.io import write_dataframe, write_json, write_text
    from triplet.reports.board import archive_previous

    ff = load_framework(framework)
    folder = Path(out) if out is not None else ff.dir / "performance"
    paths = {"page": folder / PAGE_FILE, "csv": folder / CSV_FILE, "json": folder / JSON_FILE}
    if not rerun:
        for p in paths.values():
            if p.exists():
                raise OverwriteError(f"{p}: already exists; use --rerun to archive it first")
    mon = run_monitor(ff, progress=progress)
    tick = progress or (lambda _msg: None)
    tick("drawing the page")
    board_href = None
    if ff.framework.registry:
        board_href = _relative(ff.resolve(ff.framework.registry).parent / "board.html", folder)
    page = render_page(mon, board_href=board_href, identifiers=mon.identifiers, where=paths["page"])
    tick("writing the files")
    for p in paths.values():
        archive_previous(p)
    write_text(paths["page"], page)
    write_dataframe(paths["csv"], mon.summary())
    write_json(paths["json"], mon.to_dict())
    return paths
