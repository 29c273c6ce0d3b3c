"""Forest plot of primary effects (per cent change with intervals), trials and pooled results.

A forest plot (Lewis & Clarke 2001, BMJ 322:1479) shows each trial's estimate as a square with
its interval, and pooled estimates as diamonds, on a common axis with a line at no effect (0%).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from triplet.io import jsonable

__all__ = ["FOREST_COLUMNS", "ForestPlot", "forest_plot"]

#: Columns of the table a forest plot is drawn from.
FOREST_COLUMNS = ("label", "percent_change", "ci_low", "ci_high", "kind", "verdict")

VERDICT_COLOURS = {
    "reduction in this trial": "#1a7f37",
    "no clear change in this trial": "#57606a",
    "increase in this trial": "#cf222e",
    "too early to say": "#9a6700",
    "pooled": "#0550ae",
}


@dataclass(frozen=True)
class ForestPlot:
    """A drawn forest plot: the rows it shows and the figure."""

    rows: pd.DataFrame
    figure: Figure

    def summary(self) -> pd.DataFrame:
        return self.rows.copy()

    def plot(self, ax=None) -> Figure:
        return self.figure

    def to_dict(self) -> dict:
        return jsonable(
            {"rows": self.rows.astype(object).where(self.rows.notna(), None).to_dict("records")}
        )

    def png(self, dpi: int = 150) -> bytes:
        """The figure as PNG bytes."""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        return buf.getvalue()

    def data_uri(self, dpi: int = 150) -> str:
        """The PNG as a ``data:`` URI, for self-contained HTML."""
        return "data:image/png;base64," + base64.b64encode(self.png(dpi)).decode("ascii")

    def labels(self) -> list[str]:
        """Every text label drawn on the figure (for the disclosure scan)."""
        return [t.get_text() for ax in self.figure.axes for t in ax.get_yticklabels()] + [
            ax.get_xlabel() for ax in self.figure.axes
        ]


def forest_plot(rows: pd.DataFrame, *, xlabel: str = "Change in primary outcome (%)") -> ForestPlot:
    """Draw ``rows`` (columns :data:`FOREST_COLUMNS`; ``kind`` is ``trial`` or ``pooled``).

    Rows without an estimate are listed with "not yet estimated" so running trials stay visible.
    """
    missing = [c for c in FOREST_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"forest_plot: rows lack columns {missing}")
    rows = rows.reset_index(drop=True)
    n = max(len(rows), 1)
    fig = Figure(figsize=(9.0, 1.1 + 0.6 * n))  # no pyplot: no global figure state
    ax = fig.subplots()
    y = list(range(n, 0, -1))[: len(rows)]
    finite = pd.concat([rows["ci_low"], rows["ci_high"], rows["percent_change"]]).dropna()
    lo = min(float(finite.min()), -10.0) if len(finite) else -50.0
    hi = max(float(finite.max()), 10.0) if len(finite) else 50.0
    pad = 0.08 * (hi - lo)
    for yi, row in zip(y, rows.itertuples(index=False), strict=True):
        colour = VERDICT_COLOURS["pooled" if row.kind == "pooled" else row.verdict]
        if pd.isna(row.percent_change):
            ax.text(
                0,
                yi,
                "not yet estimated",
                va="center",
                ha="center",
                fontsize=8,
                color=colour,
                style="italic",
            )
            continue
        if not (pd.isna(row.ci_low) or pd.isna(row.ci_high)):
            ax.plot([row.ci_low, row.ci_high], [yi, yi], color=colour, lw=2)
        if row.kind == "pooled":
            half = 0.22
            ax.fill(
                [row.ci_low, row.percent_change, row.ci_high, row.percent_change],
                [yi, yi + half, yi, yi - half],
                color=colour,
            )
        else:
            ax.plot(row.percent_change, yi, "s", color=colour, ms=8)
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y)
    ax.set_yticklabels(list(rows["label"]))
    ax.set_ylim(0.3, n + 0.7)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    ax.text(
        0.01,
        1.01,
        "<- less harm",
        transform=ax.transAxes,
        fontsize=8,
        ha="left",
        va="bottom",
        color="#1a7f37",
    )
    ax.text(
        0.99,
        1.01,
        "more harm ->",
        transform=ax.transAxes,
        fontsize=8,
        ha="right",
        va="bottom",
        color="#cf222e",
    )
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return ForestPlot(rows=rows, figure=fig)
