"""``triplet delivery <trial>``: delivered vs registered dose, written to ``results/``.

Writes ``results/delivery.json`` (the :class:`~triplet.tracking.delivery.report.DeliveryReport`,
the sources read and skipped rows by reason, the visit counts) and ``results/delivery/``
(``unit_day.csv``, ``weekly.csv``, ``visits.csv`` with pseudonymised device ids, ``skipped.csv``,
``figures/heatmap.png`` and ``figures/minutes.png``). It estimates no effect and can run during
the field period. Like ``triplet track``, it never overwrites silently: a second run needs
``rerun=True`` and moves the earlier files to ``results/delivery/previous/<UTC time>/`` only
after the new ones are complete (written in a temporary folder first). ``triplet track`` leaves
the delivery files in place.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from triplet.errors import OverwriteError, StateError
from triplet.io import write_dataframe, write_json
from triplet.tracking.delivery.data import DeliveryData, load_delivery
from triplet.tracking.delivery.report import DeliveryReport, delivery_report

__all__ = ["DELIVERY_DIR", "DELIVERY_FILE", "DeliveryRun", "run_delivery", "unit_month_dose"]

DELIVERY_FILE = "delivery.json"
DELIVERY_DIR = "delivery"


@dataclass(frozen=True)
class DeliveryRun:
    """What ``triplet delivery`` did: the report, the data it read, where it wrote and what it archived."""

    trial_id: str
    report: DeliveryReport
    data: DeliveryData
    path: Path
    figures: dict[str, Path]
    archived: Path | None


def unit_month_dose(unit_day: pd.DataFrame, dosage) -> pd.DataFrame:
    """Per unit-month: ``unit, month, minutes, data_days, dose`` where ``dose`` is the share of
    the registered dose delivered on the days with data (either arm)."""
    from triplet.tracking.delivery.report import planned_per_day

    _, planned = planned_per_day(dosage)
    ud = unit_day.assign(month=unit_day["day"].dt.to_period("M"))
    ud = ud.assign(data_minutes=ud["minutes"].where(ud["has_data"], 0.0))
    g = (
        ud.groupby(["unit", "month"])
        .agg(minutes=("data_minutes", "sum"), data_days=("has_data", "sum"))
        .reset_index()
    )
    g["dose"] = (g["minutes"] / (planned * g["data_days"])).where(g["data_days"] > 0, 0.0)
    return g


def _read_assignment(tf) -> pd.DataFrame:
    from triplet.testing.assignment import read_assignment

    if not tf.assignment_path.exists():
        raise StateError(
            f"trial {tf.id} has no {tf.assignment_path}: run `triplet assign {tf.id}` first "
            "(delivery is measured in treatment and control units alike)"
        )
    a = read_assignment(tf.assignment_path)
    return a.assign(unit=a["unit"].astype("str"))


def _save(fig_or_ax, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig = getattr(fig_or_ax, "figure", fig_or_ax)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_delivery(
    registry: str | Path,
    trial_id: str,
    *,
    rerun: bool = False,
    until: str | None = None,
    key: str | bytes | None = None,
) -> DeliveryRun:
    """Measure trial ``trial_id``'s delivery to date and write it (module docstring)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from triplet.registry import find_trial

    tf = find_trial(registry, trial_id)
    results = Path(tf.results_dir)
    target = results / DELIVERY_FILE
    if target.exists() and not rerun:
        raise OverwriteError(
            f"{target} exists; rerun with --rerun to move it to "
            f"{results / DELIVERY_DIR / 'previous'}/<timestamp>/ and measure again"
        )
    assignment = _read_assignment(tf)
    data = load_delivery(tf, assignment, key=key, until=until)
    report = delivery_report(
        data.unit_day, tf.trial.intervention.dosage, trial_id=tf.id, notes=data.notes
    )
    results.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".delivery-", dir=results) as tmp:
        stage = Path(tmp)
        sub = stage / DELIVERY_DIR
        ud = data.unit_day.assign(day=data.unit_day["day"].dt.strftime("%Y-%m-%d"))
        write_dataframe(sub / "unit_day.csv", ud)
        weekly = report.weekly.assign(week=report.weekly["week"].dt.strftime("%Y-%m-%d"))
        write_dataframe(sub / "weekly.csv", weekly)
        v = data.visits.copy()
        for c in ("start", "end"):
            v[c] = pd.to_datetime(v[c], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        write_dataframe(sub / "visits.csv", v)
        write_dataframe(sub / "skipped.csv", data.skipped)
        figs = {
            "heatmap": _save(report.heatmap(), sub / "figures" / "heatmap.png"),
            "minutes": _save(report.plot(), sub / "figures" / "minutes.png"),
        }
        doc: dict[str, Any] = {
            **report.to_dict(),
            "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "sources": list(data.reads),
            "n_skipped": len(data.skipped),
            "skipped_by_reason": data.skipped["reason"].value_counts().sort_index().to_dict(),
            "visits": data.gps.to_dict() if data.gps is not None else None,
            "n_visits": len(data.visits),
            "rules": tf.trial.delivery.visit_rules.model_dump(mode="json"),
            "figures": {k: f"{DELIVERY_DIR}/figures/{p.name}" for k, p in figs.items()},
        }
        write_json(stage / DELIVERY_FILE, doc)
        archived = (
            _archive(results) if target.exists() or (results / DELIVERY_DIR).exists() else None
        )
        dest = results / DELIVERY_DIR
        dest.mkdir(exist_ok=True)
        for p in sorted(sub.iterdir()):
            os.replace(p, dest / p.name)
        os.replace(stage / DELIVERY_FILE, target)  # last: a reader never sees it half-done
    figures = {k: results / DELIVERY_DIR / "figures" / p.name for k, p in figs.items()}
    return DeliveryRun(tf.id, report, data, target, figures, archived)


def _archive(results: Path) -> Path | None:
    """Move the earlier delivery files to ``results/delivery/previous/<UTC time>/``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    dest = results / DELIVERY_DIR / "previous" / stamp
    dest.mkdir(parents=True, exist_ok=False)
    sub = results / DELIVERY_DIR
    for p in list(sub.iterdir()):
        if p.name != "previous":
            shutil.move(str(p), str(dest / p.name))
    if (results / DELIVERY_FILE).exists():
        shutil.move(str(results / DELIVERY_FILE), str(dest / DELIVERY_FILE))
    return dest
