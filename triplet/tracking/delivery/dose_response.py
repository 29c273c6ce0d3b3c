"""Exploratory dose-response: each unit's change in the outcome against its delivered dose.

Per unit: the change of its mean outcome from the baseline to the treatment months, minus the
mean change of the control units (a per-unit difference in differences), against the share of
the registered dose it received. Units chose neither their dose nor their trend, but dose is not
randomised *within* the treated arm (busier places may get more or fewer visits), so the slope
is descriptive; the randomised estimate of the dose's effect is the CACE (2SLS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DoseResponse", "dose_response"]


@dataclass(frozen=True)
class DoseResponse:
    """``table``: ``unit, arm, dose, change``; ``slope`` (OLS, per full dose) for the treated."""

    table: pd.DataFrame
    outcome: str
    slope: float | None
    cace: float | None = None

    def summary(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        from triplet.io import jsonable

        return jsonable(
            {
                "outcome": self.outcome,
                "slope_treated": self.slope,
                "cace": self.cace,
                "units": self.table.to_dict(orient="records"),
            }
        )

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 3.8))
        for arm, c in (("treatment", "#0072B2"), ("control", "#D55E00")):
            s = self.table[self.table["arm"] == arm]
            ax.scatter(100 * s["dose"], s["change"], s=18, color=c, label=arm, alpha=0.8)
        xs = np.linspace(0, max(1.0, float(self.table["dose"].max())), 50)
        if self.cace is not None:
            ax.plot(
                100 * xs,
                self.cace * xs,
                color="0.2",
                lw=1.2,
                label="CACE (2SLS): effect per share of dose",
            )
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xlabel("share of the registered dose delivered (%)")
        ax.set_ylabel(f"change in {self.outcome} per unit-month\n(vs control units' change)")
        ax.set_title("Dose-response (exploratory)", fontsize=10)
        ax.legend(frameon=False, fontsize=8)
        return ax


def dose_response(
    panel: pd.DataFrame,
    *,
    outcome: str,
    dose: str = "dose",
    unit: str = "unit",
    cace: float | None = None,
) -> DoseResponse:
    """Per-unit DiD of ``outcome`` against mean ``dose`` in the treatment months (``panel``
    with ``treated``, ``period``)."""
    panel = panel[panel["period"].isin(["baseline", "treatment"])]
    post = panel["period"].eq("treatment")
    g = panel.assign(_post=post).groupby([unit, "_post"])[outcome].mean().unstack()
    change = g[True] - g[False]
    treated = panel.groupby(unit)["treated"].max().astype(bool)
    arm = pd.Series(np.where(treated, "treatment", "control"), index=treated.index)
    d = panel[post].groupby(unit)[dose].mean()
    t = pd.DataFrame(
        {
            "unit": change.index.astype(str),
            "arm": arm.reindex(change.index).to_numpy(),
            "dose": d.reindex(change.index).to_numpy(),
            "change": change.to_numpy(),
        }
    )
    t["change"] = t["change"] - t.loc[t["arm"] == "control", "change"].mean()
    tr = t[t["arm"] == "treatment"]
    slope = None
    if len(tr) > 2 and tr["dose"].std() > 0:
        slope = float(np.polyfit(tr["dose"], tr["change"], 1)[0])
    return DoseResponse(t, outcome, slope, cace)
