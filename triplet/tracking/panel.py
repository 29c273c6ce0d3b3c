"""The trial panel: one row per assigned unit and month, crimes and harm, joined to the arms.

``build_panel(trial_file, assignment)`` reads the trial's records source (with any synthetic
effect injected for the assignment), scores harm with the outcome's index (days of
imprisonment, Cambridge Crime Harm Index by default), keeps the outcome's crime types and
aggregates to unit x month over the baseline, treatment and follow-up months, with **zeros**
for unit-months without crime. Columns (docs/architecture.md):

    unit, month (Period[M]), count, harm (days), arm, treated (bool: treatment arm),
    post (bool: month >= treatment start), block, pair, cluster

plus ``period`` (``baseline`` / ``treatment`` / ``follow_up``) and ``d`` (treated and in the
treatment period: the DiD indicator; 0 in follow-up months, which are analysed separately).
``.attrs`` records what was read: records used, records without a unit, offences with no harm
weight (their harm is left out of the totals, and reported).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem

__all__ = ["PANEL_COLUMNS", "TrialRecords", "area_panel", "build_panel", "load_trial_records"]

PANEL_COLUMNS = [
    "unit",
    "month",
    "count",
    "harm",
    "arm",
    "treated",
    "post",
    "block",
    "pair",
    "cluster",
]


@dataclass(frozen=True, eq=False)
class TrialRecords:
    """A trial's records (effect injected if synthetic) and each record's harm in days."""

    records: pd.DataFrame
    harm_days: pd.Series
    n_unmatched: int
    unit_column: str


def _months(trial) -> tuple[pd.PeriodIndex, pd.Series]:
    p = trial.periods
    parts = [("baseline", p.baseline.months), ("treatment", p.treatment.months)]
    if p.follow_up is not None:
        parts.append(("follow_up", p.follow_up.months))
    months = pd.PeriodIndex(np.concatenate([m.to_numpy() for _, m in parts]), freq="M")
    labels = pd.Series(np.concatenate([[name] * len(m) for name, m in parts]), index=months)
    return months, labels


def load_trial_records(trial_file, assignment: pd.DataFrame, outcome=None) -> TrialRecords:
    """Read the trial's records source (synthetic effect injected) and score harm."""
    from triplet.records.sources import load_source
    from triplet.targeting.harm import harm_of, load_index

    tf = trial_file
    trial = tf.trial
    outcome = outcome or trial.outcomes.primary
    source = trial.source("records")
    if source is None:
        raise InputError(
            Problem(
                str(tf.path), "the trial has no data source of kind records", field="data_sources"
            )
        )
    records = load_source(
        source, tf.root or tf.dir, trial=trial, assignment=assignment, file=tf.path
    )
    unit_col = trial.units.id_column
    if unit_col not in records.columns:
        raise InputError(
            Problem(
                str(tf.path),
                f"the records have no column {unit_col!r}; columns: "
                f"{', '.join(map(str, records.columns))}",
                field="units.id_column",
            )
        )
    name = outcome.harm_index
    index = load_index(name if name in ("cambridge", "ons_css") else tf.resolve(name))
    scores = harm_of(records, index, unmatched="exclude")
    days = scores.days.fillna(0.0)
    return TrialRecords(records, days, int(scores.n_unmatched), unit_col)


def build_panel(
    trial_file, assignment: pd.DataFrame, *, outcome=None, records: TrialRecords | None = None
) -> pd.DataFrame:
    """The unit x month panel of a trial's assigned units (see the module docstring).

    ``assignment`` is ``assignment.csv`` as read by
    :func:`triplet.testing.assignment.read_assignment`. ``outcome`` (default the primary)
    sets the crime types and harm index. Harm is in days of imprisonment per unit-month.
    """
    trial = trial_file.trial
    outcome = outcome or trial.outcomes.primary
    for col in ("unit", "arm"):
        if col not in assignment.columns:
            raise InputError(Problem("assignment.csv", f"column {col!r} missing", field=col))
    tr = records or load_trial_records(trial_file, assignment, outcome)
    from triplet.records.aggregate import unit_month

    months, labels = _months(trial)
    a = assignment.copy()
    a["unit"] = a["unit"].astype(str)
    panel = unit_month(
        tr.records,
        unit=tr.unit_column,
        months=months,
        harm=tr.harm_days,
        crime_types=outcome.crime_types,
        units=a["unit"].tolist(),
    )
    attrs = dict(panel.attrs)
    for col in ("block", "pair", "cluster"):
        if col not in a.columns:
            a[col] = pd.NA
    panel = panel.merge(
        a[["unit", "arm", "block", "pair", "cluster"]], on="unit", how="left", validate="m:1"
    )
    panel["treated"] = (panel["arm"] == "treatment").to_numpy()
    period = labels.reindex(pd.PeriodIndex(panel["month"])).to_numpy()
    panel["post"] = period != "baseline"
    panel["period"] = period
    panel["d"] = (panel["treated"] & (period == "treatment")).astype(np.int64)
    panel.attrs.update(attrs)
    panel.attrs["n_unmatched_harm"] = tr.n_unmatched
    panel.attrs["outcome"] = outcome.name
    return panel[[*PANEL_COLUMNS, "period", "d"]]


def area_panel(
    trial_file, records: TrialRecords, units: list[str], *, outcome=None
) -> pd.DataFrame:
    """``unit, month, count, harm, period, post`` for any units (e.g. buffers), same months."""
    from triplet.records.aggregate import unit_month

    trial = trial_file.trial
    outcome = outcome or trial.outcomes.primary
    months, labels = _months(trial)
    panel = unit_month(
        records.records,
        unit=records.unit_column,
        months=months,
        harm=records.harm_days,
        crime_types=outcome.crime_types,
        units=units,
    )
    period = labels.reindex(pd.PeriodIndex(panel["month"])).to_numpy()
    panel["period"] = period
    panel["post"] = period != "baseline"
    return panel
