"""The unit table of a trial: every candidate unit with its baseline, eligibility applied.

For each unit (a place or a pseudonymised person) over the registered baseline months, on the
primary outcome's crime types and harm index:

- ``baseline_count``: recorded crimes, total over the baseline months;
- ``baseline_harm``: harm, total over the baseline months (days of imprisonment, Cambridge Crime
  Harm Index unless the outcome names another; Sherman, Neyroud & Neyroud 2016);
- ``baseline_count_per_month``, ``baseline_harm_per_month``: the same divided by the months;
- ``baseline_trend``: least-squares slope of monthly harm on month (days per month per month);
- ``harm_tier``: 1 (lowest) .. ``design.n_tiers`` (highest baseline harm), when n_tiers is set;
- the columns of the trial's ``units`` data source (deprivation, x, y, neighbours ...).

Eligibility is applied in this order and every excluded unit gets one reason (the CONSORT flow,
Schulz et al. 2010): not among ``units.candidates``; named in ``eligibility.exclude``; baseline
harm below ``eligibility.min_baseline_harm`` (total, days); baseline count below
``eligibility.min_baseline_count`` (total); beyond the ``units.n_units`` highest-harm units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.io import jsonable
from triplet.registry.loading import TrialFile
from triplet.testing.assignment import harm_tiers

__all__ = ["REASONS", "UnitTable", "baseline_table", "unit_table"]

REASONS = {
    "candidates": "not among units.candidates",
    "exclude": "excluded by name (eligibility.exclude)",
    "min_baseline_harm": "baseline harm below eligibility.min_baseline_harm",
    "min_baseline_count": "baseline count below eligibility.min_baseline_count",
    "n_units": "beyond the units.n_units highest-harm units",
}


@dataclass(frozen=True)
class UnitTable:
    """Eligible units (``units``), the CONSORT ``flow``, the ``excluded`` units with their
    reason, and the ``baseline`` panel (``unit, month, count, harm``) of the eligible units."""

    units: pd.DataFrame
    flow: dict[str, Any]
    excluded: pd.DataFrame
    baseline: pd.DataFrame = field(repr=False)

    def summary(self) -> pd.DataFrame:
        """The flow as a table: stage, units."""
        rows = [("units in the source", self.flow["source_units"])]
        rows += [(f"excluded: {r}", n) for r, n in self.flow["excluded"].items()]
        rows.append(("eligible", self.flow["eligible"]))
        return pd.DataFrame(rows, columns=["stage", "units"])

    def to_dict(self) -> dict[str, Any]:
        return jsonable(dict(self.flow))

    def plot(self, ax=None):
        """Baseline harm of every unit in the source, eligible units highlighted."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        harm = self.units["baseline_harm"].sort_values(ascending=False).to_numpy()
        ax.bar(np.arange(len(harm)), harm, color="#c0392b", width=1.0, label="eligible")
        ax.set_xlabel("eligible units, by baseline harm")
        ax.set_ylabel("baseline harm (days)")
        ax.set_title(f"{self.flow['eligible']} eligible of {self.flow['source_units']} units")
        return ax


def baseline_table(panel: pd.DataFrame) -> pd.DataFrame:
    """Per unit: totals, per-month means and the harm trend of a ``unit, month, count, harm``
    panel (balanced, zeros included)."""
    wide_h = panel.pivot_table(index="unit", columns="month", values="harm", aggfunc="sum")
    wide_c = panel.pivot_table(index="unit", columns="month", values="count", aggfunc="sum")
    wide_h = wide_h.sort_index(axis=1).fillna(0.0)
    wide_c = wide_c.reindex_like(wide_h).fillna(0)
    h = wide_h.to_numpy(dtype=float)
    t = np.arange(h.shape[1], dtype=float)
    tc = t - t.mean()
    denom = float((tc**2).sum())
    slope = (h - h.mean(axis=1, keepdims=True)) @ tc / denom if denom > 0 else np.zeros(len(h))
    n_months = h.shape[1]
    out = pd.DataFrame(
        {
            "unit": wide_h.index.astype(str),
            "baseline_count": wide_c.to_numpy().sum(axis=1).astype(np.int64),
            "baseline_harm": h.sum(axis=1),
            "baseline_trend": slope,
        }
    )
    out["baseline_count_per_month"] = out["baseline_count"] / n_months
    out["baseline_harm_per_month"] = out["baseline_harm"] / n_months
    return out


def _harm_index(tf: TrialFile, name: str):
    from triplet.targeting.harm import load_index

    if name in ("cambridge", "ons_css"):
        return load_index(name)
    return load_index(tf.resolve(name))


def _units_source(tf: TrialFile) -> pd.DataFrame | None:
    from triplet.records.sources import load_source

    trial = tf.trial
    source = trial.source("units")
    if source is None:
        return None
    table = load_source(source, tf.root or tf.dir, trial=trial, file=tf.path)
    id_col = trial.units.id_column
    if id_col not in table.columns:
        key = "unit" if "unit" in table.columns else None
        if key is None:
            raise InputError(
                Problem(
                    str(tf.path),
                    f"the units source {source.uri!r} has no column {id_col!r} "
                    f"(units.id_column) or 'unit'; columns: {', '.join(map(str, table.columns))}",
                    field="units.id_column",
                )
            )
        id_col = key
    table = table.rename(columns={id_col: "unit"})
    table["unit"] = table["unit"].astype(str)
    dup = table["unit"][table["unit"].duplicated()]
    if len(dup):
        raise InputError(
            Problem(str(tf.path), f"the units source lists {dup.iloc[0]!r} twice", field="units")
        )
    return table


def unit_table(trial_file: TrialFile) -> UnitTable:
    """Build the unit table of a registered trial (see the module docstring).

    Reads the trial's ``records`` source (and its ``units`` source if any), scores harm with the
    primary outcome's index, aggregates the baseline months and applies eligibility.
    """
    from triplet.records.aggregate import unit_month
    from triplet.records.sources import load_source
    from triplet.targeting.harm import harm_of

    tf = trial_file
    trial = tf.trial
    file = str(tf.path)
    rec_source = trial.source("records")
    if rec_source is None:
        raise InputError(
            Problem(file, "the trial has no data source of kind records", field="data_sources")
        )
    records = load_source(rec_source, tf.root or tf.dir, trial=trial, file=tf.path)
    id_col = trial.units.id_column
    if id_col not in records.columns:
        raise InputError(
            Problem(
                file,
                f"the records have no column {id_col!r}; columns: {', '.join(records.columns)}",
                field="units.id_column",
            )
        )
    outcome = trial.outcomes.primary
    scores = harm_of(records, _harm_index(tf, outcome.harm_index), unmatched="exclude")
    months = trial.periods.baseline.months
    source_units = _units_source(tf)
    if source_units is not None:
        universe = source_units["unit"].tolist()
    else:
        in_base = records["month"].isin(months) & records[id_col].notna()
        universe = sorted(records.loc[in_base, id_col].astype(str).unique())
    panel = unit_month(
        records,
        unit=id_col,
        months=months,
        harm=scores.days,
        crime_types=outcome.crime_types,
        units=universe,
    )
    table = baseline_table(panel)
    table = table.set_index("unit").reindex(universe).reset_index()
    if source_units is not None:
        extra = source_units.drop(
            columns=[c for c in table.columns if c != "unit"], errors="ignore"
        )
        table = table.merge(extra, on="unit", how="left", validate="1:1")
    table, excluded = _eligibility(tf, table)
    design = trial.design
    if design.n_tiers is not None:
        if len(table) < design.n_tiers:
            raise InputError(
                Problem(
                    file,
                    f"{len(table)} eligible units cannot fill {design.n_tiers} harm tiers",
                    field="design.n_tiers",
                )
            )
        table["harm_tier"] = harm_tiers(table["baseline_harm"], design.n_tiers).to_numpy()
    elif design.block_by == "harm_tier":
        raise InputError(
            Problem(file, "block_by is harm_tier but n_tiers is not set", field="design.n_tiers")
        )
    if design.matching is not None and design.matching.treated:
        gone = excluded[excluded["unit"].isin(design.matching.treated)]
        unknown = sorted(set(design.matching.treated) - set(universe))
        if unknown:
            raise InputError(
                Problem(
                    file,
                    f"treated unit(s) not in the data: {', '.join(unknown)}",
                    field="design.matching.treated",
                )
            )
        if len(gone):
            r = gone.iloc[0]
            raise InputError(
                Problem(
                    file,
                    f"treated unit {r['unit']} is not eligible ({r['reason']})",
                    field="design.matching.treated",
                )
            )
    n_unmatched = len(scores.unmatched) if getattr(scores, "unmatched", None) is not None else 0
    counts = excluded["reason"].value_counts()
    flow = {
        "source_units": len(universe),
        "excluded": {REASONS[k]: int(counts.get(REASONS[k], 0)) for k in REASONS},
        "eligible": len(table),
        "baseline_months": [str(months[0]), str(months[-1])],
        "n_baseline_months": len(months),
        "outcome": outcome.name,
        "harm_index": outcome.harm_index,
        "offences_without_harm_weight": int(n_unmatched),
    }
    keep = set(table["unit"])
    base = panel[panel["unit"].isin(keep)].reset_index(drop=True)
    return UnitTable(
        units=table.reset_index(drop=True), flow=flow, excluded=excluded, baseline=base
    )


def _eligibility(tf: TrialFile, table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    trial = tf.trial
    el, un = trial.eligibility, trial.units
    file = str(tf.path)
    reason = pd.Series(pd.NA, index=table.index, dtype="object")
    ids = table["unit"]

    def mark(mask: pd.Series, key: str) -> None:
        reason[mask & reason.isna()] = REASONS[key]

    if un.candidates is not None:
        unknown = sorted(set(un.candidates) - set(ids))
        if unknown:
            raise InputError(
                Problem(
                    file,
                    f"candidate unit(s) not in the data: {', '.join(unknown[:10])}"
                    + (" ..." if len(unknown) > 10 else ""),
                    field="units.candidates",
                )
            )
        mark(~ids.isin(un.candidates), "candidates")
    if el.exclude:
        mark(ids.isin(el.exclude), "exclude")
    if el.min_baseline_harm is not None:
        mark(table["baseline_harm"] < el.min_baseline_harm, "min_baseline_harm")
    if el.min_baseline_count is not None:
        mark(table["baseline_count"] < el.min_baseline_count, "min_baseline_count")
    if un.n_units is not None:
        alive = table[reason.isna()].sort_values(
            ["baseline_harm", "unit"], ascending=[False, True], kind="stable"
        )
        if len(alive) < un.n_units:
            raise InputError(
                Problem(
                    file,
                    f"only {len(alive)} units are eligible but n_units is {un.n_units}",
                    field="units.n_units",
                )
            )
        mark(table["unit"].isin(alive["unit"].iloc[un.n_units :]), "n_units")
    excluded = pd.DataFrame({"unit": ids[reason.notna()], "reason": reason[reason.notna()]})
    kept = table[reason.isna()].reset_index(drop=True)
    if len(kept) < 2:
        raise InputError(
            Problem(file, f"only {len(kept)} unit(s) are eligible; a trial needs two or more")
        )
    return kept, excluded.reset_index(drop=True).astype({"unit": "str", "reason": "str"})
