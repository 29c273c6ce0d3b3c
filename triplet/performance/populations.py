"""The places and people an indicator watches, chosen once on the framework's selection months.

Choosing the members on months before the baseline keeps regression to the mean out of the
charts: units picked for a bad year fall back afterwards by chance (Barnett, van der Pols &
Dobson 2005, *Int J Epidemiol* 34:215-220), so a cohort chosen on the baseline itself would
look as if it improved with nothing done. Rankings follow :mod:`triplet.targeting`: harm in
days (ties broken by count, then id); the Felonious Few are the fewest offenders who caused a
given share of harm (Sherman et al. 2016).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.performance.framework import Population
from triplet.targeting.concentration import units_for_share

__all__ = ["GRID_COLUMN", "Members", "resolve_population"]

GRID_COLUMN = "_grid_cell"
DEFAULT_GRID_M = 250.0


@dataclass(frozen=True)
class Members:
    """A resolved population: which records column identifies it and its members.

    ``column`` is None for the whole borough. ``residents`` is the population of the places
    (None for people and hot spots, or without denominators). Person members are pseudonymised
    ids and are never shown.
    """

    name: str
    kind: str
    column: str | None
    members: frozenset[str]
    description: str
    is_person: bool = False
    residents: float | None = None
    lsoas: tuple[str, ...] = ()
    grid_size_m: float | None = None

    @property
    def size(self) -> int:
        return len(self.members)

    def mask(self, records: pd.DataFrame) -> np.ndarray:
        """Which records belong to the population."""
        if self.column is None:
            return np.ones(len(records), dtype=bool)
        col = records[self.column]
        return (col.notna() & col.astype("str").isin(self.members)).to_numpy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "size": self.size if self.column else None,
            "description": self.description,
            "residents": self.residents,
        }


def _rank(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Harm and count per ``key``, most harm first (ties: count, then id)."""
    g = frame.dropna(subset=[key]).groupby(key, observed=True)
    t = pd.DataFrame({"harm": g["harm"].sum(), "count": g.size()}).reset_index()
    t[key] = t[key].astype("str")
    return t.sort_values(["harm", "count", key], ascending=[False, False, True], kind="mergesort")


def resolve_population(
    name: str,
    pop: Population,
    records: pd.DataFrame,
    selection: pd.PeriodIndex,
    *,
    residents: pd.Series | None = None,
    registry: Path | None = None,
    file: str = "performance.yaml",
) -> Members:
    """Members of ``pop`` chosen on the ``selection`` months of ``records`` (which need a
    ``harm`` column in days; hot spots also :data:`GRID_COLUMN`, added by the caller)."""
    sel = records[records["month"].isin(selection)]
    where = f"populations.{name}"
    res_total = float(residents.sum()) if residents is not None else None
    desc = pop.description
    if pop.kind == "borough":
        return Members(name, "borough", None, frozenset(), desc or "the whole borough",
                       residents=res_total)  # fmt: skip
    if pop.kind == "places":
        units = tuple(dict.fromkeys(pop.units or []))
        return Members(
            name, "places", "lsoa_code", frozenset(units), desc or f"{len(units)} named LSOAs",
            residents=_residents(residents, units), lsoas=units,
        )  # fmt: skip
    if pop.kind == "priority_localities":
        top = _rank(sel, "lsoa_code").head(pop.top)["lsoa_code"].tolist()
        return Members(
            name, "priority_localities", "lsoa_code", frozenset(top),
            desc or f"the {len(top)} LSOAs with the most harm in {selection[0]}..{selection[-1]}",
            residents=_residents(residents, top), lsoas=tuple(top),
        )  # fmt: skip
    if pop.kind == "hot_spots":
        size = pop.grid_size_m or DEFAULT_GRID_M
        cells = _rank(sel, GRID_COLUMN).head(pop.top)[GRID_COLUMN].tolist()
        return Members(
            name, "hot_spots", GRID_COLUMN, frozenset(cells),
            desc or f"the {len(cells)} {size:g} m grid cells with the most harm",
            grid_size_m=size,
        )  # fmt: skip
    if pop.kind == "offenders":
        ranked = _rank(sel, "suspect_id")
        if pop.share_of_harm is not None:
            k = units_for_share(ranked["harm"].to_numpy(), pop.share_of_harm)
            what = f"the fewest offenders who caused {pop.share_of_harm:.0%} of harm"
        else:
            k = int(pop.top or 0)
            what = f"the {k} offenders who caused the most harm"
        ids = ranked.head(k)["suspect_id"].tolist()
        return Members(
            name, "offenders", "suspect_id", frozenset(ids),
            desc or f"{what} in {selection[0]}..{selection[-1]}", is_person=True,
        )  # fmt: skip
    if pop.kind == "victims":
        m = pop.min_crimes or 2
        ranked = _rank(sel, "victim_id")
        ids = ranked.loc[ranked["count"] >= m, "victim_id"].tolist()
        return Members(
            name, "victims", "victim_id", frozenset(ids),
            desc or f"victims of {m} or more crimes in {selection[0]}..{selection[-1]}",
            is_person=True,
        )  # fmt: skip
    return _trial_members(name, pop, residents, registry, file, where)


def _residents(residents: pd.Series | None, units) -> float | None:
    if residents is None:
        return None
    missing = [u for u in units if u not in residents.index]
    if missing:
        raise InputError(
            f"no residents for {len(missing)} LSOAs of the population, e.g. {missing[:3]}"
        )
    return float(residents.loc[list(units)].sum())


def _trial_members(name, pop, residents, registry, file, where) -> Members:
    from triplet.registry import find_trial
    from triplet.registry.models import UnitKind
    from triplet.testing.assignment import read_assignment

    if registry is None:
        raise InputError(
            Problem(file, "a trial population needs `registry:` in the framework", field=where)
        )
    tf = find_trial(registry, pop.trial)
    if not tf.assignment_path.exists():
        raise InputError(
            Problem(
                file,
                f"trial {pop.trial} has no assignment yet ({tf.assignment_path}); run "
                "`triplet assign` first",
                field=f"{where}.trial",
            )
        )
    from triplet.registry.lock import verify_artefacts

    verify_artefacts(tf)  # issue 10, defect 1
    a = read_assignment(tf.assignment_path)
    arm = pop.arm or "treatment"
    units = tuple(sorted(a.loc[a["arm"] == arm, "unit"].astype("str")))
    person = tf.trial.units.kind is UnitKind.person
    column = tf.trial.units.id_column if person else "lsoa_code"
    return Members(
        name, "trial", column, frozenset(units),
        pop.description or f"the {arm} {'people' if person else 'places'} of trial {pop.trial}",
        is_person=person,
        residents=None if person else _residents_or_none(residents, units),
        lsoas=() if person else units,
    )  # fmt: skip


def _residents_or_none(residents, units):
    try:
        return _residents(residents, units)
    except InputError:
        return None
