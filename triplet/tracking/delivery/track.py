"""The delivery pieces of ``triplet track``: the dose per unit-month, dose-response, Koper curve.

:class:`DoseSource` reads the trial's delivery data once per track run (lazily: only when an
analysis needs it) and gives the share of the registered dose delivered per unit-month
(:func:`~triplet.tracking.delivery.workflow.unit_month_dose`); months before the treatment
period have dose 0 (no directed patrol was measured then). :func:`delivery_extras` adds the
exploratory dose-response and Koper curve to the results (docs/delivery.md).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from triplet.errors import InputError, StateError

__all__ = ["DoseSource", "delivery_extras", "with_dose"]


class DoseSource:
    """Callable: the unit-month dose table (``unit, month, minutes, data_days, dose``)."""

    def __init__(self, tf, assignment: pd.DataFrame):
        self.tf = tf
        self.assignment = assignment
        self._data = None
        self._dose: pd.DataFrame | None = None

    @property
    def data(self):
        if self._data is None:
            from triplet.tracking.delivery.data import load_delivery

            self._data = load_delivery(self.tf, self.assignment)
        return self._data

    def __call__(self) -> pd.DataFrame:
        if self._dose is None:
            from triplet.tracking.delivery.workflow import unit_month_dose

            self._dose = unit_month_dose(self.data.unit_day, self.tf.trial.intervention.dosage)
        return self._dose


def with_dose(panel: pd.DataFrame, dose: pd.DataFrame) -> pd.DataFrame:
    """``panel`` plus ``dose`` (share of the registered dose; 0 outside the measured months)."""
    d = dose[["unit", "month", "dose"]].assign(unit=dose["unit"].astype("str"))
    out = panel.assign(unit=panel["unit"].astype("str")).merge(d, on=["unit", "month"], how="left")
    out["dose"] = out["dose"].fillna(0.0)
    return out


def delivery_extras(
    panel: pd.DataFrame,
    records: pd.DataFrame | None,
    source: DoseSource,
    *,
    measure: str,
    cace: float | None,
    unit_column: str,
    figure,
) -> dict[str, Any]:
    """The ``delivery`` section of results.json: delivered share, dose-response, Koper curve.

    ``figure(name, axes)`` saves a figure. Each part that cannot be computed says why.
    """
    from triplet.tracking.delivery.dose_response import dose_response
    from triplet.tracking.delivery.koper import koper_curve
    from triplet.tracking.delivery.report import delivery_report

    out: dict[str, Any] = {}
    try:
        data = source.data
        rep = delivery_report(data.unit_day, source.tf.trial.intervention.dosage)
        out.update(
            {
                "delivered_share": rep.delivered_share,
                "met_share": rep.met_share,
                "treated_minutes_per_day": rep.treated_minutes_per_day,
                "control_minutes_per_day": rep.control_minutes_per_day,
                "planned_minutes_per_day": rep.planned_minutes_per_day,
                "below_half": rep.below_half,
            }
        )
        if cace is None:
            from triplet.tracking.delivery.cace import cace_2sls

            cace = cace_2sls(with_dose(panel, source()), outcome=measure).estimate
        dr = dose_response(with_dose(panel, source()), outcome=measure, cace=cace)
        figure("dose_response", dr.plot())
        out["dose_response"] = {
            "slope_treated": dr.slope,
            "cace": cace,
            "figure": "figures/dose_response.png",
            "note": "exploratory: the dose is not randomised within arms",
        }
    except (InputError, StateError) as exc:
        out["notes"] = f"delivery not measured: {exc}"
        return out
    try:
        if records is None or unit_column not in records.columns:
            raise InputError("records have no unit column for the Koper curve")
        ev = records[[unit_column, "date"]].rename(columns={unit_column: "unit"})
        k = koper_curve(
            data.visits,
            ev,
            event_unit="unit",
            timezone=source.tf.trial.delivery.visit_rules.timezone,
        )
        figure("koper", k.plot())
        out["koper"] = {**k.to_dict(), "figure": "figures/koper.png"}
    except InputError as exc:
        out["koper"] = {"status": "not computed", "reason": str(exc)}
    return out
