"""Rank crime units (places, times, offenders, victims) by harm and by count.

Targeting asks where, when, by whom and against whom harm concentrates (Sherman 2013, "The
rise of evidence-based policing: targeting, testing and tracking", *Crime and Justice* 42).
:func:`rank_units` sums harm (days of imprisonment, Cambridge Crime Harm Index) and counts
crimes per unit, and ranks the units both ways so the two orders can be compared.

Ranks are ordinal (1 = most harm). Ties are broken by count, then by unit id, so the ranking
does not depend on the order of the records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.io import jsonable
from triplet.targeting.harm import NON_CRIME_CATEGORIES, HarmIndex, HarmScores, harm_of

__all__ = [
    "RANKING_COLUMNS",
    "UNIT_ALIASES",
    "Ranking",
    "grid_cell_centres",
    "grid_cells",
    "hot_spots",
    "hour_of_week",
    "rank_units",
    "resolve_unit",
    "unit_noun",
]

RANKING_COLUMNS: tuple[str, ...] = (
    "unit",
    "rank",
    "harm",
    "count",
    "harm_per_crime",
    "share",
    "cumulative_share",
    "count_rank",
    "count_share",
    "count_cumulative_share",
)

#: Unit names accepted by :func:`rank_units` (and ``triplet target --unit``) -> (column, kind).
UNIT_ALIASES: dict[str, tuple[str, str]] = {
    "lsoa": ("lsoa_code", "place"),
    "lsoa_code": ("lsoa_code", "place"),
    "grid": ("grid_cell", "place"),
    "hotspot": ("hotspot", "place"),
    "offender": ("suspect_id", "offender"),
    "suspect_id": ("suspect_id", "offender"),
    "victim": ("victim_id", "victim"),
    "victim_id": ("victim_id", "victim"),
    "month": ("month", "time"),
    "hour_of_week": ("hour_of_week", "time"),
}


def unit_noun(unit_name: str, kind: str) -> str:
    """Plural noun for a unit in sentences and titles, e.g. ``LSOAs``, ``offenders``."""
    if kind in ("offender", "victim"):
        return f"{kind}s"
    named = {
        "lsoa_code": "LSOAs",
        "month": "months",
        "hour_of_week": "hours of the week",
        "hotspot": "hot spots",
    }
    if unit_name in named:
        return named[unit_name]
    return "grid cells" if unit_name.startswith("grid") else f"units ({unit_name})"


def grid_cells(
    records: pd.DataFrame, size_m: float, *, x: str | None = None, y: str | None = None
) -> pd.Series:
    """British National Grid cell id of each record, cells ``size_m`` metres wide.

    Longitude/latitude (WGS84) are projected to British National Grid (EPSG:27700); ``x``/``y``
    columns, when given, are taken as British National Grid eastings/northings in metres. Ids
    name the size and the cell's south-west corner, e.g. ``BNG250mE530250N180500``
    (:mod:`triplet.geography.grid`), so any GIS can place them; records without coordinates get
    NA.
    """
    from triplet.geography.grid import grid_cells_bng

    if size_m <= 0:
        raise InputError(
            Problem(
                file="<records>",
                field="size_m",
                message=f"grid size must be > 0 metres, got {size_m}",
            )
        )
    if x is not None and y is not None:
        return grid_cells_bng(records, size_m, x=x, y=y, crs="EPSG:27700")
    for col in ("longitude", "latitude"):
        if col not in records.columns:
            raise InputError(
                Problem(
                    file="<records>",
                    field=col,
                    message="grid cells need longitude/latitude (or x/y)",
                )
            )
    return grid_cells_bng(records, size_m)


def grid_cell_centres(cells: Iterable[str]) -> pd.DataFrame:
    """Centres (British National Grid metres) of grid cell ids: ``unit, x, y``."""
    from triplet.geography.grid import parse_cell_ids

    cells = list(cells)
    return parse_cell_ids(cells)[["unit", "x", "y"]]


def hot_spots(
    records: pd.DataFrame,
    polygons: dict[str, Iterable[tuple[float, float]]],
    *,
    x: str = "longitude",
    y: str = "latitude",
) -> pd.Series:
    """Hot-spot id of each record: the first polygon (in ``polygons`` order) containing it.

    ``polygons`` maps an id to its vertices as (x, y) pairs in the same coordinates as the
    ``x``/``y`` columns (default longitude/latitude). Records in no polygon get NA (left out of
    a ranking and counted in ``n_no_unit``); a record in two overlapping polygons goes to the
    first.
    """
    from matplotlib.path import Path as _Path

    for col in (x, y):
        if col not in records.columns:
            raise InputError(
                Problem(file="<records>", field=col, message="hot spots need coordinates")
            )
    pts = np.column_stack(
        [
            records[x].to_numpy(dtype=float, na_value=np.nan),
            records[y].to_numpy(dtype=float, na_value=np.nan),
        ]
    )
    ok = np.isfinite(pts).all(axis=1)
    out = np.full(len(records), None, dtype=object)
    free = ok.copy()
    for hid, verts in polygons.items():
        v = np.asarray(list(verts), dtype=float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise InputError(
                Problem(
                    file="<hot spots>",
                    field=str(hid),
                    message="a polygon needs >= 3 (x, y) vertices",
                )
            )
        inside = np.zeros(len(records), dtype=bool)
        inside[free] = _Path(v).contains_points(pts[free])
        out[inside] = str(hid)
        free &= ~inside
    return pd.Series(out, index=records.index, name="hotspot", dtype="str")


def hour_of_week(records: pd.DataFrame) -> pd.Series:
    """Hour of the week of each crime, 0 = Monday 00:00-00:59 ... 167 = Sunday 23:00.

    Needs ``date`` with times; NA where the date is unknown.
    """
    if "date" not in records.columns:
        raise InputError(
            Problem(
                file="<records>",
                field="date",
                message="hour of week needs a 'date' column with times",
            )
        )
    d = pd.to_datetime(records["date"], errors="coerce")
    known = d.notna()
    if not known.any():
        raise InputError(
            Problem(
                file="<records>",
                field="date",
                message="no record has a date: hour of week is unavailable "
                "(data.police.uk gives months only)",
            )
        )
    if (d[known].dt.hour == 0).all() and (d[known].dt.minute == 0).all():
        raise InputError(
            Problem(
                file="<records>",
                field="date",
                message="dates carry no times (all midnight): hour of week would be meaningless",
            )
        )
    how = d.dt.day_of_week * 24 + d.dt.hour
    return how.astype("Int64").rename("hour_of_week")


def resolve_unit(
    records: pd.DataFrame, unit: str | pd.Series, *, grid_size_m: float = 250.0
) -> tuple[pd.Series, str, str]:
    """The unit id of each record, the unit's name and its kind (place/time/offender/victim).

    ``unit`` is an alias (``lsoa``, ``grid``, ``offender``, ``victim``, ``month``,
    ``hour_of_week``, ``hotspot``), any column name of ``records`` (kind ``place``), or a
    Series of ids aligned to ``records`` (e.g. hot-spot membership).
    """
    if isinstance(unit, pd.Series):
        if not unit.index.equals(records.index):
            raise InputError(
                Problem(
                    file="<records>",
                    field="unit",
                    message="the unit Series must be aligned to the records",
                )
            )
        return unit, str(unit.name or "unit"), "place"
    column, kind = UNIT_ALIASES.get(unit, (unit, "place"))
    if column == "grid_cell" and "grid_cell" not in records.columns:
        return grid_cells(records, grid_size_m), f"grid{grid_size_m:g}m", kind
    if column == "hour_of_week" and "hour_of_week" not in records.columns:
        return hour_of_week(records), "hour_of_week", kind
    if column not in records.columns:
        known = ", ".join(sorted(UNIT_ALIASES))
        raise InputError(
            Problem(
                file="<records>",
                field=column,
                message=f"records have no column {column!r} for unit {unit!r} "
                f"(known units: {known}, or any column name)",
            )
        )
    return records[column], column, kind


@dataclass(frozen=True)
class Ranking:
    """Units ranked by harm (and by count): the table and how it was made.

    ``table`` columns: ``unit, rank, harm, count, harm_per_crime, share, cumulative_share,
    count_rank, count_share, count_cumulative_share``, sorted by ``rank``. Harm is in
    ``harm_unit`` (days of imprisonment for the Cambridge index). ``n_no_unit`` records had
    no unit id and ``n_unmatched`` had no harm weight: both are excluded and counted.
    """

    table: pd.DataFrame
    unit_name: str
    kind: str
    harm_unit: str
    index_name: str
    n_records: int
    n_no_unit: int
    n_unmatched: int
    n_non_crime: int

    @property
    def n_units(self) -> int:
        return len(self.table)

    @property
    def is_person(self) -> bool:
        """True for offender/victim rankings (ids are pseudonymised; keep out of Board output)."""
        return self.kind in ("offender", "victim")

    def top(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` highest-harm units."""
        return self.table.head(n)

    def summary(self) -> pd.DataFrame:
        """One-row overview: units, crimes, harm, exclusions."""
        t = self.table
        return pd.DataFrame(
            [
                {
                    "unit": self.unit_name,
                    "kind": self.kind,
                    "index": self.index_name,
                    "n_units": len(t),
                    "n_units_with_crime": int((t["count"] > 0).sum()),
                    "crimes": int(t["count"].sum()),
                    "harm": float(t["harm"].sum()),
                    "harm_unit": self.harm_unit,
                    "n_records": self.n_records,
                    "n_no_unit": self.n_no_unit,
                    "n_unmatched": self.n_unmatched,
                    "n_non_crime": self.n_non_crime,
                }
            ]
        )

    def to_dict(self, *, top: int | None = None) -> dict:
        """JSON-ready summary and the table (all rows, or the ``top`` ones)."""
        table = self.table if top is None else self.table.head(top)
        rows = table.astype({"unit": "str"}).to_dict(orient="records")
        rows = [
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in rows
        ]
        summary = {
            k: (v.item() if hasattr(v, "item") else v) for k, v in self.summary().iloc[0].items()
        }
        return jsonable({"summary": summary, "table": rows})

    def plot(self, ax=None, *, top: int = 20):
        """Bar chart of the top units' share of harm beside their share of crimes."""
        import matplotlib.pyplot as plt

        t = self.table.head(top)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, max(2.5, 0.28 * len(t) + 1)))
        pos = np.arange(len(t))
        labels = [f"#{r}" for r in t["rank"]] if self.is_person else t["unit"].astype(str)
        ax.barh(pos - 0.2, 100 * t["share"], height=0.4, label="share of harm")
        ax.barh(pos + 0.2, 100 * t["count_share"], height=0.4, label="share of crimes")
        ax.set_yticks(pos, labels)
        ax.invert_yaxis()
        ax.set_xlabel("per cent of total")
        ax.set_title(
            f"Top {len(t)} {unit_noun(self.unit_name, self.kind)} by harm ({self.index_name})"
        )
        ax.legend(loc="lower right")
        return ax

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the table as CSV or Parquet (by suffix), atomically, never overwriting."""
        from triplet.io import write_dataframe

        path = Path(path)
        if path.suffix.lower() not in (".csv", ".parquet"):
            raise InputError(
                Problem(file=str(path), field="out", message="output must end in .csv or .parquet")
            )
        table = self.table.astype({"unit": "str"})
        return write_dataframe(path, table, overwrite=overwrite)


def _harm_days(
    records: pd.DataFrame, harm, unmatched: str
) -> tuple[np.ndarray, np.ndarray | None, str, str, int]:
    """Per-record harm days, a non-crime mask, the harm unit, index name, n unmatched."""
    if harm is None:
        harm = "cambridge"
    if isinstance(harm, HarmScores):
        scores = harm
    elif isinstance(harm, HarmIndex | str | Path):
        scores = harm_of(records, harm, unmatched=unmatched)
    elif isinstance(harm, pd.Series):
        if len(harm) != len(records):
            raise InputError(
                Problem(
                    file="<records>",
                    field="harm",
                    message="the harm Series must have one value per record",
                )
            )
        days = harm.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(days)
        if unmatched == "raise" and missing.any():
            raise InputError(
                Problem(
                    file="<records>",
                    field="harm",
                    message=f"{int(missing.sum())} records have no harm value (first at row "
                    f"{int(np.flatnonzero(missing)[0]) + 1}); pass unmatched='exclude' to "
                    "leave them out with a count",
                )
            )
        if "crime_type" in records.columns:
            non_crime = records["crime_type"].isin(NON_CRIME_CATEGORIES).to_numpy()
        else:
            non_crime = None
        return days, non_crime, "days", str(harm.name or "harm"), int(np.isnan(days).sum())
    else:
        raise InputError(
            Problem(
                file="<records>", field="harm", message=f"unsupported harm: {type(harm).__name__}"
            )
        )
    days = scores.days.to_numpy(dtype=float, na_value=np.nan)
    non_crime = (scores.basis.cat.codes == 2).to_numpy() if scores.n_non_crime else None
    return days, non_crime, scores.unit, scores.index_name, scores.n_unmatched


def rank_units(
    records: pd.DataFrame,
    *,
    unit: str | pd.Series,
    harm: HarmScores | HarmIndex | pd.Series | str | None = None,
    units: Iterable | None = None,
    grid_size_m: float = 250.0,
    unmatched: Literal["raise", "exclude"] = "raise",
    include_non_crime: bool = False,
) -> Ranking:
    """Rank units by total harm, with count, harm per crime, shares and the count ranking.

    ``harm``: a :class:`HarmScores`, an index (name/path/:class:`HarmIndex`, default the
    Cambridge Crime Harm Index, days) or a per-record Series of days. ``units``: every unit to
    rank, so that units with no crime appear with zero (otherwise only units seen).
    Records with no unit id, and records with no harm weight (``unmatched="exclude"``), are
    left out and counted. Anti-social behaviour (not a crime, no harm weight) is left out of
    both harm and count unless ``include_non_crime``; it is counted in ``n_non_crime``.
    Sherman, Neyroud & Neyroud (2016).
    """
    ids, unit_name, kind = resolve_unit(records, unit, grid_size_m=grid_size_m)
    days, non_crime, harm_unit, index_name, n_unmatched = _harm_days(records, harm, unmatched)
    # factorize once (categorical columns give their codes for free), then bincount;
    # NA ids get code -1, so no separate notna pass is needed
    if isinstance(ids.dtype, pd.CategoricalDtype):
        codes = ids.cat.codes.to_numpy()
        labels = ids.cat.categories
    else:
        codes, labels = pd.factorize(ids, sort=False)
    keep = codes >= 0
    n_no_unit = len(codes) - int(np.count_nonzero(keep))
    if n_unmatched:
        keep &= ~np.isnan(days)
    n_non_crime = int(np.count_nonzero(non_crime)) if non_crime is not None else 0
    if not include_non_crime and n_non_crime:
        keep &= ~non_crime
    n_lab = len(labels)
    if keep.all():
        codes_k, days_k = codes, days
    else:  # send excluded records to a spare bin (cheaper than compressing the arrays)
        codes_k = np.where(keep, codes, n_lab)
        days_k = np.where(keep, days, 0.0)
    count = np.bincount(codes_k, minlength=n_lab + 1)[:n_lab].astype(np.int64)
    total_harm = np.bincount(codes_k, weights=days_k, minlength=n_lab + 1)[:n_lab]
    present = count > 0
    if not present.all():
        labels = pd.Index(labels)[present]
        count = count[present]
        total_harm = total_harm[present]
    else:
        labels = pd.Index(labels)

    if units is not None:
        extra = pd.Index(pd.unique(pd.Index(list(units))))
        if kind == "time" and unit_name == "month":
            extra = pd.PeriodIndex(extra.astype(str), freq="M") if len(extra) else extra
        missing = extra.difference(labels) if len(extra) else extra
        if len(missing):
            labels = labels.append(pd.Index(missing))
            count = np.concatenate([count, np.zeros(len(missing), dtype=np.int64)])
            total_harm = np.concatenate([total_harm, np.zeros(len(missing))])

    table = _rank_table(labels, total_harm, count)
    return Ranking(
        table=table,
        unit_name=unit_name,
        kind=kind,
        harm_unit=harm_unit,
        index_name=index_name,
        n_records=len(records),
        n_no_unit=n_no_unit,
        n_unmatched=int(n_unmatched),
        n_non_crime=int(n_non_crime),
    )


def _label_order(labels: pd.Index) -> np.ndarray:
    """Indices sorting the labels ascending (the last tie-breaker)."""
    try:
        return np.asarray(labels.argsort(kind="stable"))
    except TypeError:  # mixed types: compare as text
        return np.asarray(pd.Index(labels.astype(str)).argsort(kind="stable"))


def _sort_desc(first: np.ndarray, second: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Order by ``first`` desc, then ``second`` desc, then ``base`` order (stable sorts)."""
    idx = base[np.argsort(-second[base], kind="stable")]
    return idx[np.argsort(-first[idx], kind="stable")]


def _rank_table(labels: pd.Index, harm: np.ndarray, count: np.ndarray) -> pd.DataFrame:
    n = len(labels)
    total_h = harm.sum()
    total_c = count.sum()
    base = _label_order(labels)
    # by harm desc, count desc, id asc; and by count desc, harm desc, id asc
    by_harm = _sort_desc(harm, count, base)
    by_count = _sort_desc(count, harm, base)

    rank = np.empty(n, dtype=np.int64)
    rank[by_harm] = np.arange(1, n + 1)
    count_rank = np.empty(n, dtype=np.int64)
    count_rank[by_count] = np.arange(1, n + 1)

    with np.errstate(invalid="ignore", divide="ignore"):
        share = harm / total_h if total_h > 0 else np.full(n, np.nan)
        count_share = count / total_c if total_c > 0 else np.full(n, np.nan)
        hpc = np.where(count > 0, harm / np.maximum(count, 1), np.nan)
    cum = np.empty(n)
    cum[by_harm] = np.minimum(np.cumsum(share[by_harm]), 1.0)
    ccum = np.empty(n)
    ccum[by_count] = np.minimum(np.cumsum(count_share[by_count]), 1.0)
    if total_h > 0:  # the last unit holds exactly 100%
        cum[by_harm[-1]] = 1.0
    if total_c > 0:
        ccum[by_count[-1]] = 1.0

    table = pd.DataFrame(
        {
            "unit": labels[by_harm],
            "rank": rank[by_harm],
            "harm": harm[by_harm],
            "count": count[by_harm],
            "harm_per_crime": hpc[by_harm],
            "share": share[by_harm],
            "cumulative_share": cum[by_harm],
            "count_rank": count_rank[by_harm],
            "count_share": count_share[by_harm],
            "count_cumulative_share": ccum[by_harm],
        }
    )
    return table
