"""The performance page: self-contained HTML in the look of the Board's "what works" page.

One row per indicator (owner, population, latest month, expected value with its 95% range,
Making Data Count icons, year to date with its interval, the chart and its signals in words),
funnel plots, the trials, and how to read the page. Disclosure control as on the Board
(:mod:`triplet.reports.disclosure`): counts below the threshold are shown as ``<10``, a person
cohort under the threshold is withheld, and the finished page (and the charts' labels) are
scanned for person identifiers before anything is written.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from triplet.performance.framework import Indicator
from triplet.performance.spc import RULES

if TYPE_CHECKING:
    from triplet.performance.monitor import IndicatorResult, Monitor

__all__ = ["NOT_AN_EFFECT", "render_page"]

NOT_AN_EFFECT = (
    "A monitored change is not an effect estimate. These charts say whether an indicator has "
    "moved beyond its usual variation, not why: only a trial, with a comparison group, "
    "estimates what an intervention did."
)


def _png(fig, dpi: int = 110) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _measure_words(ind: Indicator, default: str) -> str:
    if ind.measure == "count":
        return "crimes"
    index = ind.harm_index or default
    return {"cambridge": "harm (days)", "ons_css": "harm (ONS CSS)"}.get(index, f"harm ({index})")


def _chart_png(r: IndicatorResult, harm_default: str) -> tuple[str, list[str]]:
    """The indicator's chart as a data URI, and its text labels (for the disclosure scan)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 2.1))
    t = r.expected.table
    x = np.arange(len(t))
    ax.fill_between(x, t["pi_low"], t["pi_high"], color="#ddf4ff", lw=0, label="95% prediction")
    r.chart.plot(ax)
    if r.indicator.target is not None:
        ax.axhline(r.indicator.target, color="#8250df", lw=1, ls="-.", label="target")
    ax.tick_params(labelsize=7)
    ax.set_ylabel(_measure_words(r.indicator, harm_default), fontsize=7)
    ax.legend(fontsize=6, loc="upper left", ncol=4, frameon=False)
    labels = [tl.get_text() for tl in ax.get_xticklabels()] + [ax.get_ylabel()]
    return _png(fig), labels


def _funnel_png(r: IndicatorResult) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 2.8))
    r.funnel.plot(ax, xlabel="residents of the LSOA")
    ax.set_ylabel("crimes per 1,000 residents (12 months)", fontsize=7)
    ax.tick_params(labelsize=7)
    return _png(fig)


def _fmt_value(v: float | None, measure: str, threshold: int, person: bool) -> str:
    from triplet.reports.disclosure import format_count

    if v is None or not np.isfinite(v):
        return "-"
    if measure == "count":
        return format_count(round(v), threshold)
    return f"{v:,.0f}"


def render_page(
    mon: Monitor,
    *,
    board_href: str | None = None,
    identifiers=None,
    generated_at: dt.datetime | None = None,
    where: str | Path = "<performance page>",
) -> str:
    """The self-contained HTML page; raises DisclosureError if it would show an identifier."""
    import jinja2

    from triplet.reports.disclosure import IdentifierSet, check_no_identifiers, format_count
    from triplet.reports.formatting import format_percent

    th = mon.threshold
    rows, labels = [], []
    for r in mon.results:
        ind = r.indicator
        last = r.chart.table.iloc[-1]
        ev_last = r.expected.table.iloc[-1]
        chart_uri = None
        if not (r.withheld or r.small_counts):
            chart_uri, lab = _chart_png(r, mon.harm_index)
            labels += lab
        size = None
        if r.members.column is not None:
            size = (
                format_count(r.members.size, th) if r.members.is_person else f"{r.members.size:,}"
            )
        rate = None
        if ind.per_residents and r.members.residents and not r.withheld:
            rate = f"{last['value'] / r.members.residents * ind.per_residents:.2f} per {ind.per_residents:,} residents a month"
        ytd = r.ytd if (r.ytd is not None and not r.withheld) else None
        rows.append(
            {
                "id": ind.id,
                "title": ind.title,
                "owner": ind.owner,
                "population": r.members.description,
                "size": size,
                "person": r.members.is_person,
                "measure": _measure_words(ind, mon.harm_index),
                "latest": _fmt_value(last["value"], ind.measure, th, r.members.is_person)
                if not r.withheld
                else "-",
                "expected": _fmt_value(ev_last["expected"], "harm", th, False),
                "pi": f"{ev_last['pi_low']:,.0f} to {ev_last['pi_high']:,.0f}",
                "rate": rate,
                "target": None if ind.target is None else f"{ind.target:,.0f}",
                "variation": r.variation,
                "assurance": r.assurance,
                "ytd": ytd,
                "ytd_pc": format_percent(ytd.percent_change) if ytd else "-",
                "ytd_lo": format_percent(ytd.ci_low) if ytd else "-",
                "ytd_hi": format_percent(ytd.ci_high) if ytd else "-",
                "signals": r.signal_segments() if not r.withheld else [],
                "chart": chart_uri,
                "withheld": r.withheld,
                "small_counts": r.small_counts,
                "shifted": r.shifted,
                "chart_name": {
                    "seasonal_u": "seasonal u' chart",
                    "xmr": "XmR chart",
                    "laney_u": "Laney u' chart",
                }[r.chart.method],
                "model": r.expected.terms,
            }
        )
    funnels = [
        {"title": r.indicator.title, "uri": _funnel_png(r), "d": r.funnel.flagged()}
        for r in mon.results
        if r.funnel is not None and not r.withheld
    ]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    now = generated_at or dt.datetime.now(dt.UTC)
    counts: dict[str, int] = {}
    for r in mon.results:
        counts[r.variation.code.split("_")[0]] = counts.get(r.variation.code.split("_")[0], 0) + 1
    page = env.get_template("performance.html.j2").render(
        title=f"{mon.name}: performance",
        mon=mon,
        rows=rows,
        funnels=funnels,
        trials=mon.trials,
        generated=now.strftime("%d %B %Y, %H:%M UTC"),
        board_href=board_href,
        not_an_effect=NOT_AN_EFFECT,
        rules=[
            RULES["beyond"],
            RULES["run"].format(run=mon.run),
            RULES["trend"].format(trend=mon.trend),
        ],
        counts=counts,
        threshold=th,
        assurance_short={
            "pass": "Consistently meets the target",
            "fail": "Consistently misses the target",
            "hit_and_miss": "Hit and miss: target within the limits",
            "none": "No target set",
        },
        pct=lambda x: "-" if x is None else f"{100 * x:.0f}%",
    )
    ids = identifiers if identifiers is not None else (mon.identifiers or IdentifierSet())
    check_no_identifiers(page, ids, where=where)
    check_no_identifiers("\n".join(labels), ids, where=f"{where} (chart labels)")
    return page
