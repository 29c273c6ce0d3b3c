"""Tracking the delivery: patrol dose in both arms, compliance and the effect of the dose.

- :mod:`~triplet.tracking.delivery.read`: GPS pings and patrol logs (CSV/Parquet + mapping YAML),
  ids pseudonymised, every row kept or listed with file, line, column and reason;
- :mod:`~triplet.tracking.delivery.visits`: pings -> visits (registered rules) -> unit x day;
- :mod:`~triplet.tracking.delivery.data`: a trial's delivery section resolved and read;
- :mod:`~triplet.tracking.delivery.report`: delivered vs registered dose (``triplet delivery``);
- :mod:`~triplet.tracking.delivery.cace`: CACE of the dose by 2SLS beside the ITT;
- :mod:`~triplet.tracking.delivery.dose_response`, :mod:`~triplet.tracking.delivery.koper`:
  exploratory dose-response and the Koper curve.

See docs/delivery.md.
"""

from triplet.tracking.delivery.cace import WEAK_F, CaceResult, cace_2sls, wald_ratio
from triplet.tracking.delivery.data import DeliveryData, load_delivery, patrol_areas
from triplet.tracking.delivery.dose_response import DoseResponse, dose_response
from triplet.tracking.delivery.koper import KoperCurve, koper_curve
from triplet.tracking.delivery.read import (
    DeliveryMapping,
    DeliveryRead,
    load_delivery_mapping,
    read_delivery,
    read_pings,
    read_visit_log,
)
from triplet.tracking.delivery.report import (
    DOSE_SHORTFALL,
    SHORTFALL_TEXT,
    DeliveryReport,
    delivery_report,
)
from triplet.tracking.delivery.visits import (
    PatrolAreaMap,
    VisitRulesSpec,
    Visits,
    circles_areas,
    pings_to_visits,
    unit_day,
)
from triplet.tracking.delivery.workflow import run_delivery, unit_month_dose

__all__ = [
    "DOSE_SHORTFALL",
    "SHORTFALL_TEXT",
    "WEAK_F",
    "CaceResult",
    "DeliveryData",
    "DeliveryMapping",
    "DeliveryRead",
    "DeliveryReport",
    "DoseResponse",
    "KoperCurve",
    "PatrolAreaMap",
    "VisitRulesSpec",
    "Visits",
    "cace_2sls",
    "circles_areas",
    "delivery_report",
    "dose_response",
    "koper_curve",
    "load_delivery",
    "load_delivery_mapping",
    "patrol_areas",
    "pings_to_visits",
    "read_delivery",
    "read_pings",
    "read_visit_log",
    "run_delivery",
    "unit_day",
    "unit_month_dose",
    "wald_ratio",
]
