"""Registered trials as the performance page shows them: phase, months remaining, coverage, dose.

Never an effect: a trial's effect is estimated by its registered analysis and shown on the
Board's what-works page. Delivered dose is read from ``trials/<id>/results/delivery.json``
(``triplet delivery``, issue 16) only when that file exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TrialStatus", "dose_words", "trial_status"]


@dataclass(frozen=True)
class TrialStatus:
    """A registered trial as the performance page shows it: phase at the as-of month, months
    elapsed and remaining, records coverage and delivered dose, never its effect (effects are
    on the what-works page, decided by the trial's registered analysis)."""

    id: str
    title: str
    status: str
    phase: str
    start: str
    end: str
    months_elapsed: int
    months_remaining: int
    coverage_months: float | None
    coverage_located: float | None
    dose: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def trial_status(tf, as_of: pd.Period, records: pd.DataFrame) -> TrialStatus:
    """The trial (a :class:`~triplet.registry.TrialFile`) at the month ``as_of``: phase (not
    started, live, follow-up, ended), treatment months elapsed and remaining, the share of those
    months with records and of their records carrying the trial's unit id, delivered dose."""
    from triplet.io import read_json
    from triplet.registry.models import UnitKind

    t = tf.trial
    start = pd.Period(t.periods.treatment.start, freq="M")
    end = pd.Period(t.periods.treatment.end, freq="M")
    follow = getattr(t.periods, "follow_up", None)
    follow_end = pd.Period(follow.end, freq="M") if follow is not None else end
    total = (end - start).n + 1
    elapsed = int(min(max((as_of - start).n + 1, 0), total))
    if as_of < start:
        phase = "not started"
    elif as_of <= end:
        phase = "live"
    elif as_of <= follow_end:
        phase = "follow-up"
    else:
        phase = "ended"
    cov_m = cov_l = None
    if elapsed:
        months = pd.period_range(start, min(as_of, end), freq="M")
        seen = set(records["month"].unique())
        cov_m = float(np.mean([m in seen for m in months]))
        col = t.units.id_column if t.units.kind is UnitKind.person else "lsoa_code"
        sub = records[records["month"].isin(months)]
        if col in sub.columns and len(sub):
            cov_l = float(sub[col].notna().mean())
    dose = None
    delivery = Path(tf.dir) / "results" / "delivery.json"
    if delivery.exists():
        dose = dose_words(read_json(delivery))
    return TrialStatus(
        id=t.id,
        title=t.title,
        status=t.status.value,
        phase=phase,
        start=str(start),
        end=str(end),
        months_elapsed=elapsed,
        months_remaining=total - elapsed,
        coverage_months=cov_m,
        coverage_located=cov_l,
        dose=dose,
    )


def dose_words(d: Any) -> str:
    """Delivered dose to date from ``results/delivery.json`` (written by ``triplet delivery``):
    the share of the registered dose delivered, when the file gives one."""
    if not isinstance(d, dict):
        return "delivery results recorded (see the trial's delivery report)"
    for key in ("delivered_share", "dose_share", "share_delivered", "delivered_fraction"):
        v = d.get(key) if key in d else (d.get("summary") or {}).get(key)
        if isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 10:
            return f"{100 * v:.0f}% of the registered dose delivered to date"
    return "delivery results recorded (see the trial's delivery report)"
