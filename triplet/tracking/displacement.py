"""Displacement and diffusion of benefits: the Weighted Displacement Quotient and buffer DiD.

Crime pushed out of a treated area may reappear round the corner (displacement), or the
benefit may spread to the neighbours (diffusion of benefits; Clarke & Weisburd 1994). Bowers &
Johnson (2003) compare the treated area A, a buffer B around it and a control area C, before
(b) and after (a) the start::

    success measure  SM  = A_a/C_a - A_b/C_b        (< 0: crime fell in A relative to C)
    buffer measure   BM  = B_a/C_a - B_b/C_b
    WDQ = BM / SM

Interpretation (Bowers & Johnson 2003, table 1), given SM < 0 (the intervention worked):

    WDQ > 1          diffusion of benefits larger than the direct effect
    0 < WDQ <= 1     diffusion of benefits
    WDQ = 0          no displacement or diffusion
    -1 <= WDQ < 0    some displacement, smaller than the direct effect (net benefit)
    WDQ < -1         displacement larger than the direct effect (net harm)

If SM >= 0 the treated area did not improve relative to the control and the WDQ is not
interpreted. Buffers are the neighbours of treated units that are not treated themselves; the
control area is every other unit that is neither treated nor a buffer. A difference-in-
differences on buffer units against the control area estimates the spill-over directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from triplet.errors import InputError
from triplet.io import jsonable

__all__ = ["WDQResult", "buffer_units", "interpret_wdq", "wdq"]


def interpret_wdq(wdq_value: float, success: float) -> str:
    """The Bowers & Johnson (2003) reading of a WDQ value."""
    if not np.isfinite(success) or success >= 0:
        return "no success in the treated area relative to control: WDQ not interpretable"
    if not np.isfinite(wdq_value):
        return "undefined"
    if wdq_value > 1:
        return "diffusion of benefits greater than the direct effect"
    if wdq_value > 0:
        return "diffusion of benefits"
    if wdq_value == 0:
        return "no displacement or diffusion"
    if wdq_value >= -1:
        return "displacement smaller than the direct effect (net benefit)"
    return "displacement greater than the direct effect (net harm)"


@dataclass(frozen=True)
class WDQResult:
    """Counts in treated (A), buffer (B) and control (C) areas before/after, and the WDQ."""

    outcome: str
    a_before: float
    a_after: float
    b_before: float
    b_after: float
    c_before: float
    c_after: float
    n_treated: int
    n_buffer: int
    n_control: int

    @property
    def success_measure(self) -> float:
        return self.a_after / self.c_after - self.a_before / self.c_before

    @property
    def buffer_measure(self) -> float:
        return self.b_after / self.c_after - self.b_before / self.c_before

    @property
    def wdq(self) -> float:
        sm = self.success_measure
        return float(self.buffer_measure / sm) if sm != 0 else float("nan")

    @property
    def interpretation(self) -> str:
        return interpret_wdq(self.wdq, self.success_measure)

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "area": ["treated (A)", "buffer (B)", "control (C)"],
                "units": [self.n_treated, self.n_buffer, self.n_control],
                "before": [self.a_before, self.b_before, self.c_before],
                "after": [self.a_after, self.b_after, self.c_after],
            }
        )

    def to_dict(self) -> dict:
        return jsonable(
            {
                "outcome": self.outcome,
                "counts": {
                    "treated": {
                        "before": self.a_before,
                        "after": self.a_after,
                        "units": self.n_treated,
                    },
                    "buffer": {
                        "before": self.b_before,
                        "after": self.b_after,
                        "units": self.n_buffer,
                    },
                    "control": {
                        "before": self.c_before,
                        "after": self.c_after,
                        "units": self.n_control,
                    },
                },
                "success_measure": self.success_measure,
                "buffer_measure": self.buffer_measure,
                "wdq": self.wdq,
                "interpretation": self.interpretation,
            }
        )

    def plot(self, ax=None):
        """Before/after totals of the three areas, each relative to its before total."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3))
        s = self.summary()
        change = 100 * (s["after"] / s["before"] - 1)
        ax.bar(s["area"], change, color=["C0", "C1", "0.6"])
        ax.axhline(0, color="grey", lw=1)
        ax.set_ylabel(f"change in {self.outcome} (%)")
        ax.set_title(f"WDQ = {self.wdq:.2f}: {self.interpretation}", fontsize=9)
        return ax


def buffer_units(
    units: pd.DataFrame,
    treated: Iterable[str],
    *,
    unit: str = "lsoa_code",
    neighbours: str = "neighbours",
    distance: float | None = None,
) -> pd.Index:
    """Untreated units next to a treated unit (``;``-separated ``neighbours``), or within
    ``distance`` metres (columns ``x``, ``y``) of one when ``distance`` is given."""
    treated = pd.Index(list(treated)).astype(str)
    ids = units[unit].astype(str)
    if distance is not None:
        for c in ("x", "y"):
            if c not in units.columns:
                raise InputError(f"units table needs column {c!r} for a distance buffer")
        xy = units[["x", "y"]].to_numpy(float)
        is_t = ids.isin(treated).to_numpy()
        if not is_t.any():
            return pd.Index([], dtype=str)
        d2 = ((xy[:, None, :] - xy[None, is_t, :]) ** 2).sum(axis=2)
        near = (d2 <= distance**2).any(axis=1) & ~is_t
        return pd.Index(ids[near].to_numpy()).sort_values()
    if neighbours not in units.columns:
        raise InputError(
            f"units table has no {neighbours!r} column; available: {', '.join(units.columns)}"
        )
    nb = units.set_index(ids)[neighbours].fillna("").astype(str)
    out: set[str] = set()
    for t in treated:
        if t in nb.index:
            out.update(x for x in nb.loc[t].split(";") if x)
    return pd.Index(sorted(out - set(treated)), dtype=str)


def wdq(
    panel: pd.DataFrame,
    *,
    treated: Iterable[str],
    buffer: Iterable[str],
    control: Iterable[str],
    outcome: str = "count",
    unit: str = "unit",
    post: str = "post",
) -> WDQResult:
    """Weighted Displacement Quotient (Bowers & Johnson 2003) from a unit x month panel.

    ``post`` marks months after the start; before and after totals are sums of ``outcome``
    (crimes, or harm days) over the units of each area. The areas must not overlap.
    """
    sets = {
        k: set(map(str, v))
        for k, v in {"treated": treated, "buffer": buffer, "control": control}.items()
    }
    for a, b in (("treated", "buffer"), ("treated", "control"), ("buffer", "control")):
        both = sets[a] & sets[b]
        if both:
            raise InputError(f"{a} and {b} areas overlap: {sorted(both)[:5]}")
    ids = panel[unit].astype(str)
    is_post = panel[post].astype(bool)
    tot = {}
    for k, members in sets.items():
        m = ids.isin(members)
        tot[k] = (
            float(panel.loc[m & ~is_post, outcome].sum()),
            float(panel.loc[m & is_post, outcome].sum()),
        )
    if min(tot["control"]) <= 0:
        raise InputError("the control area has no crime before or after: WDQ undefined")
    return WDQResult(
        outcome=outcome,
        a_before=tot["treated"][0],
        a_after=tot["treated"][1],
        b_before=tot["buffer"][0],
        b_after=tot["buffer"][1],
        c_before=tot["control"][0],
        c_after=tot["control"][1],
        n_treated=len(sets["treated"]),
        n_buffer=len(sets["buffer"]),
        n_control=len(sets["control"]),
    )
