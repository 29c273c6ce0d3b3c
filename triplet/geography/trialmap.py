"""The map of one place-based trial: its treatment, control and buffer areas.

Used by the effect report (one map) and the Board (one small map per place-based trial). The
polygons come from the trial's ``kind: boundaries`` data source (a boundary file, or
``example://borough/polygons`` for the SYNTHETIC example). Roles come from ``assignment.csv``
(``arm``: treatment, control, or other arm names); before assignment the registered candidates
are shown. Buffer areas are the untreated areas whose polygon touches a treated polygon
(:func:`triplet.geography.rings.polygon_buffers` at 0 m) and that are in no arm. Trials of
people or times are never mapped: person-level data is never put on a map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from triplet.io import jsonable

__all__ = ["TrialMap", "trial_boundaries", "trial_map", "trial_map_uri"]


def trial_boundaries(trial_file: Any):
    """The :class:`~triplet.geography.Boundaries` of a place-based trial, or None when the trial
    has no ``kind: boundaries`` source or its units are not places."""
    from triplet.records.sources import load_boundaries
    from triplet.registry.models import UnitKind

    trial = trial_file.trial
    if trial.units.kind is not UnitKind.place:
        return None
    for s in trial.data_sources:
        if s.kind == "boundaries":
            root = getattr(trial_file, "root", None) or trial_file.dir
            return load_boundaries(s, root, trial=trial, file=trial_file.path)
    return None


@dataclass(frozen=True)
class TrialMap:
    """Each area's role in a trial (``roles``: unit -> treatment / control / buffer / candidate
    / other arm) over its ``polygons`` (GeoDataFrame, EPSG:27700)."""

    trial_id: str
    roles: pd.Series
    polygons: Any
    synthetic: bool = False
    unit_label: str = "areas"

    def summary(self) -> pd.DataFrame:
        """Areas per role."""
        return self.roles.value_counts().rename_axis("role").rename("areas").reset_index()

    def to_dict(self) -> dict:
        return jsonable(
            {
                "trial": self.trial_id,
                "areas": {
                    str(r.role): int(r.areas) for r in self.summary().itertuples(index=False)
                },
            }
        )

    def plot(self, ax=None, *, title: str | None = None, small: bool = False):
        """The roles map (Okabe-Ito colours, legend with area counts, scale bar)."""
        import matplotlib.pyplot as plt

        from triplet.geography.maps import roles_map

        if ax is None:
            _, ax = plt.subplots(figsize=(3.6, 3.0) if small else (6.5, 5.5))
        label = " (SYNTHETIC)" if self.synthetic else ""
        return roles_map(
            self.polygons,
            self.roles,
            ax=ax,
            title=title if title is not None else f"Areas of the trial{label}",
            legend_title=f"{self.unit_label} (number)",
        )


def trial_map(trial_file: Any, assignment: pd.DataFrame | None = None) -> TrialMap | None:
    """The :class:`TrialMap` of a place-based trial with a boundaries source, else None."""
    from triplet.geography.rings import polygon_buffers

    b = trial_boundaries(trial_file)
    if b is None:
        return None
    trial = trial_file.trial
    polygons = b.frame
    known = set(polygons["unit"].astype(str))
    if assignment is not None and {"unit", "treated"} <= set(assignment.columns):
        # a place-day schedule: every place is treated on some days and a control on others
        places = pd.Index(assignment["unit"].astype(str).unique(), dtype=str)
        roles = pd.Series("place-day trial", index=places)
        treated = places
    elif assignment is not None and {"unit", "arm"} <= set(assignment.columns):
        roles = pd.Series(
            assignment["arm"].astype(str).to_numpy(), index=assignment["unit"].astype(str)
        )
        treated = roles.index[roles == "treatment"]
    else:
        cands = [str(u) for u in (trial.units.candidates or [])]
        roles = pd.Series("candidate", index=pd.Index(cands, dtype=str))
        treated = roles.index
    roles = roles[~roles.index.duplicated()]
    in_map = [u for u in treated if u in known]
    if in_map:
        rings = polygon_buffers(polygons, in_map, 0.0)
        buffer = sorted({v for r in rings.values() for v in r} - set(roles.index))
        roles = pd.concat([roles, pd.Series("buffer", index=pd.Index(buffer, dtype=str))])
    synthetic = any(s.uri.startswith("example://") for s in trial.data_sources)
    level = str(trial.units.level or "").strip()
    label = (level.upper() if level.lower() in ("lsoa", "msoa", "oa") else level) or "area"
    return TrialMap(
        trial_id=trial.id,
        roles=roles,
        polygons=polygons,
        synthetic=synthetic,
        unit_label=f"{label}s",
    )


def _is_place_day(trial: Any) -> bool:
    method = getattr(getattr(trial, "design", None), "method", None)
    return str(getattr(method, "value", method)) == "place_day"


def trial_map_uri(trial_file: Any, *, dpi: int = 90) -> str | None:
    """A small PNG data URI of the trial's map (assignment.csv read when present), for
    self-contained pages such as the Board; None when the trial is not mapped."""
    from pathlib import Path

    from matplotlib.figure import Figure

    from triplet.geography.maps import figure_data_uri

    assignment = None
    path = Path(trial_file.dir) / "assignment.csv"
    if path.exists() and trial_boundaries(trial_file) is not None:
        if _is_place_day(trial_file.trial):
            from triplet.testing.crossover import read_schedule

            assignment = read_schedule(path)
        else:
            from triplet.testing.assignment import read_assignment

            assignment = read_assignment(path)
    tm = trial_map(trial_file, assignment)
    if tm is None:
        return None
    fig = Figure(figsize=(4.2, 3.2))
    tm.plot(ax=fig.add_subplot(), title="", small=True)
    return figure_data_uri(fig, dpi=dpi)
