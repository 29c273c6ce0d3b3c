"""Candidate units for a trial: the highest-harm eligible units, kept apart, with buffer rings.

Hot-spot trials treat the highest-harm places; treated places too close together contaminate
each other (spill-over) and make displacement impossible to measure (Bowers & Johnson 2003,
*J. Quantitative Criminology* 19(3); Weisburd et al. 2006, *Criminology* 44(3)). Candidates are
taken greedily in order of harm, skipping any unit within ``min_distance_m`` of (or adjacent
to) one already taken. Each candidate's buffer ring (its neighbours, or the units within
``buffer_m``) is named for later displacement checks. The ids feed a trial's
``units.candidates``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.io import jsonable

__all__ = ["Candidates", "select_candidates"]


@dataclass(frozen=True)
class Candidates:
    """Chosen candidates, their buffers and why other units were passed over.

    ``table``: ``unit, rank, harm, count, buffer`` (``;``-separated ids), ``n_buffer``,
    ``shared_buffer`` (buffer units also in another candidate's ring). ``passed_over``:
    ``unit, harm, count, reason``. ``separation`` is ``distance``, ``adjacency`` or ``none``.
    """

    table: pd.DataFrame
    passed_over: pd.DataFrame
    separation: str
    min_distance_m: float | None
    buffer_m: float | None
    rules: tuple[str, ...]
    coords: pd.DataFrame | None = None

    @property
    def units(self) -> list[str]:
        return self.table["unit"].astype(str).tolist()

    def buffers(self) -> pd.DataFrame:
        """Long table ``unit, buffer_unit``: each candidate's buffer ring."""
        rows = [
            (u, b)
            for u, ring in zip(self.table["unit"], self.table["buffer"], strict=True)
            for b in (ring.split(";") if ring else [])
        ]
        return pd.DataFrame(rows, columns=["unit", "buffer_unit"])

    def summary(self) -> pd.DataFrame:
        """Candidates and the reasons units were passed over, counted."""
        reasons = self.passed_over["reason"].str.replace(r" \(.*\)$", "", regex=True)
        counts = reasons.value_counts().rename_axis("outcome").rename("units").reset_index()
        chosen = pd.DataFrame({"outcome": ["candidate"], "units": [len(self.table)]})
        return pd.concat([chosen, counts], ignore_index=True)

    def to_dict(self) -> dict:
        """JSON-ready candidates, buffers and rules."""
        return jsonable(
            {
                "candidates": self.units,
                "separation": self.separation,
                "min_distance_m": self.min_distance_m,
                "buffer_m": self.buffer_m,
                "rules": list(self.rules),
                "buffers": {
                    str(u): (ring.split(";") if ring else [])
                    for u, ring in zip(self.table["unit"], self.table["buffer"], strict=True)
                },
                "passed_over": self.summary().to_dict(orient="records"),
            }
        )

    def yaml_snippet(self) -> str:
        """The ``units.candidates`` block of a trial.yaml, with the rules as comments."""
        lines = ["units:", "  # candidates chosen by `triplet target` (highest harm first)"]
        lines += [f"  # rule: {r}" for r in self.rules]
        lines.append("  candidates:")
        lines += [f"    - {u}" for u in self.units]
        return "\n".join(lines) + "\n"

    def plot(self, ax=None):
        """Map of the units (needs x/y): candidates, their buffer rings and the rest."""
        import matplotlib.pyplot as plt

        if self.coords is None:
            raise InputError(
                Problem(file="<units>", field="x/y", message="plotting candidates needs x and y")
            )
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 6))
        xy = self.coords.set_index("unit")
        cand = set(self.units)
        ring = set(self.buffers()["buffer_unit"]) - cand
        other = [u for u in xy.index if u not in cand and u not in ring]
        ax.scatter(xy.loc[other, "x"], xy.loc[other, "y"], s=8, color="lightgrey", label="other")
        ax.scatter(
            xy.loc[sorted(ring), "x"],
            xy.loc[sorted(ring), "y"],
            s=14,
            color="orange",
            label="buffer",
        )
        ax.scatter(
            xy.loc[self.units, "x"], xy.loc[self.units, "y"], s=30, color="red", label="candidate"
        )
        ax.set_aspect("equal")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        ax.set_title(f"{len(cand)} candidates and their buffer rings")
        ax.legend(loc="best", fontsize="small")
        return ax


def _split(value) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(";") if v.strip()]


def select_candidates(
    units: pd.DataFrame,
    *,
    n: int,
    unit: str = "unit",
    harm: str = "harm",
    count: str = "count",
    min_harm: float | None = None,
    min_count: int | None = None,
    exclude: Iterable[str] = (),
    separation: Literal["auto", "distance", "adjacency", "none"] = "auto",
    min_distance_m: float | None = None,
    buffer_m: float | None = None,
    x: str = "x",
    y: str = "y",
    neighbours: str = "neighbours",
) -> Candidates:
    """Choose up to ``n`` candidates: highest harm first, eligible, and kept apart.

    ``units`` has one row per unit with ``unit``, ``harm`` (days) and ``count``, and optionally
    ``x``/``y`` (metres) and ``neighbours`` (``;``-separated ids). Eligibility: harm >=
    ``min_harm``, count >= ``min_count``, not in ``exclude``. Separation ``auto`` uses distance
    when ``min_distance_m`` and coordinates are given, else adjacency when a ``neighbours``
    column exists, else none. Buffers: neighbours (adjacency) or units within ``buffer_m``
    (default ``min_distance_m``). Fewer than ``n`` candidates are returned if the rules allow
    no more.
    """
    if n < 1:
        raise InputError(Problem(file="<units>", field="n", message="n must be >= 1"))
    missing = [c for c in (unit, harm, count) if c not in units.columns]
    if missing:
        raise InputError(
            [Problem(file="<units>", field=c, message="column missing") for c in missing]
        )
    has_xy = x in units.columns and y in units.columns
    has_nb = neighbours in units.columns
    if separation == "auto":
        separation = (
            "distance"
            if (min_distance_m is not None and has_xy)
            else "adjacency"
            if has_nb
            else "none"
        )
    if separation == "distance":
        if not has_xy:
            raise InputError(
                Problem(file="<units>", field=f"{x}/{y}", message="distance separation needs x, y")
            )
        if min_distance_m is None or min_distance_m <= 0:
            raise InputError(
                Problem(file="<units>", field="min_distance_m", message="must be > 0 metres")
            )
    if separation == "adjacency" and not has_nb:
        raise InputError(
            Problem(file="<units>", field=neighbours, message="adjacency needs a neighbours column")
        )

    ids = units[unit].astype(str).to_numpy()
    if len(set(ids)) != len(ids):
        raise InputError(Problem(file="<units>", field=unit, message="duplicate unit ids"))
    h = pd.to_numeric(units[harm], errors="coerce").to_numpy(dtype=float)
    c = pd.to_numeric(units[count], errors="coerce").to_numpy(dtype=float)
    excl = {str(e) for e in exclude}
    unknown = sorted(excl - set(ids))
    rules = []
    if min_harm is not None:
        rules.append(f"baseline harm >= {min_harm:g} days")
    if min_count is not None:
        rules.append(f"baseline count >= {min_count}")
    if excl:
        rules.append(f"excluded by name: {len(excl)} units")
    if separation == "distance":
        rules.append(f"candidates at least {min_distance_m:g} m apart")
    elif separation == "adjacency":
        rules.append("no two candidates adjacent")
    if unknown:
        rules.append(f"note: {len(unknown)} excluded ids are not units: {unknown[:5]}")

    order = np.lexsort((ids, -np.nan_to_num(c), -np.nan_to_num(h, nan=-np.inf)))
    xs = units[x].to_numpy(dtype=float) if has_xy else None
    ys = units[y].to_numpy(dtype=float) if has_xy else None
    nb = [set(_split(v)) for v in units[neighbours]] if has_nb else None
    pos = {u: i for i, u in enumerate(ids)}

    chosen: list[int] = []
    passed: list[tuple[str, float, float, str]] = []
    for i in order:
        reason = None
        if np.isnan(h[i]):
            reason = "no harm value"
        elif min_harm is not None and h[i] < min_harm:
            reason = "below minimum harm"
        elif min_count is not None and c[i] < min_count:
            reason = "below minimum count"
        elif ids[i] in excl:
            reason = "excluded by name"
        elif len(chosen) >= n:
            reason = "eligible, not needed"
        elif separation == "distance":
            d = np.hypot(xs[chosen] - xs[i], ys[chosen] - ys[i]) if chosen else np.array([])
            close = np.flatnonzero(d < min_distance_m)
            if close.size:
                reason = f"too close to a candidate ({ids[chosen[close[0]]]})"
        elif separation == "adjacency":
            for j in chosen:
                if ids[j] in nb[i] or ids[i] in nb[j]:
                    reason = f"adjacent to a candidate ({ids[j]})"
                    break
        if reason is None:
            chosen.append(int(i))
        else:
            passed.append((ids[i], h[i], c[i], reason))

    radius = buffer_m if buffer_m is not None else min_distance_m
    rings: list[list[str]] = []
    for i in chosen:
        if separation == "adjacency" or (separation != "distance" and has_nb and radius is None):
            ring = sorted(u for u in nb[i] if u in pos and u != ids[i])
        elif has_xy and radius is not None:
            d = np.hypot(xs - xs[i], ys - ys[i])
            ring = sorted(ids[(d <= radius) & (np.arange(len(ids)) != i)].tolist())
        else:
            ring = []
        rings.append(ring)
    seen: dict[str, int] = {}
    for ring in rings:
        for u in ring:
            seen[u] = seen.get(u, 0) + 1
    table = pd.DataFrame(
        {
            "unit": [ids[i] for i in chosen],
            "rank": np.arange(1, len(chosen) + 1),
            "harm": h[chosen] if chosen else np.array([], dtype=float),
            "count": c[chosen] if chosen else np.array([], dtype=float),
            "buffer": [";".join(r) for r in rings],
            "n_buffer": [len(r) for r in rings],
            "shared_buffer": [";".join(u for u in r if seen[u] > 1) for r in rings],
        }
    )
    passed_over = pd.DataFrame(passed, columns=["unit", "harm", "count", "reason"])
    coords = (
        pd.DataFrame({"unit": ids, "x": units[x].to_numpy(float), "y": units[y].to_numpy(float)})
        if has_xy
        else None
    )
    return Candidates(
        table=table,
        passed_over=passed_over,
        separation=separation,
        min_distance_m=min_distance_m,
        buffer_m=radius if separation != "adjacency" else None,
        rules=tuple(rules),
        coords=coords,
    )
