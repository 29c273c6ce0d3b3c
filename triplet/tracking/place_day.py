"""Effect of a place-day (crossover) trial: place and day fixed effects, clustered by place.

Estimand: the average effect of treating a place on a day on that place-day's outcome (crimes
per place-day; additive, with the proportional change against the control place-days' mean),
over the place-days of the trial that are not washout days. Model::

    y[p, d] = a[p] + g[d] + tau * treated[p, d] + e[p, d]

OLS with place and day fixed effects (the within estimator; Wooldridge 2010, ch. 10), CRV1
standard errors clustered by place (a place's days share its errors; Cameron & Miller 2015)
and a t interval on places - 1 degrees of freedom. Washout days are left out (carry-over;
Senn 2002) and counted. Randomisation inference re-draws the registered day-by-day scheme
(:func:`triplet.testing.crossover.draw_place_days`) and refits, so the p-value is exact for the
sharp null of no effect at any place-day (Fisher 1935; Imbens & Rubin 2015, ch. 5), whatever the
serial correlation; it needs the places and days in the order of the assignment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from triplet.errors import InputError, Problem
from triplet.io import jsonable
from triplet.testing.crossover import PlaceDayRules, draw_place_days
from triplet.tracking.did import fit_fixed_effects
from triplet.tracking.estimate import effect_fields
from triplet.tracking.percent import PercentChange, from_additive

__all__ = ["PlaceDayEffect", "place_day_effect", "place_day_panel", "place_day_trends"]


@dataclass(frozen=True)
class PlaceDayEffect:
    """The place-day effect: additive (crimes per place-day) and per cent of the control mean."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float
    n_obs: int
    n_places: int
    n_days: int
    n_treated: int
    n_washout: int
    control_mean: float
    ri_p_value: float | None = None
    ri_draws: int = 0
    ri_estimates: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    #: observed mean of the treated place-days (the per cent's numerator)
    treated_mean: float = math.nan
    df: float | None = None  # of the t reference (clusters - 1)

    # ---- the effect-estimate protocol (triplet.tracking.estimate)
    @property
    def n_units(self) -> int:
        return self.n_places

    @property
    def n_clusters(self) -> int:
        """Clustered by place."""
        return self.n_places

    @property
    def percent(self) -> PercentChange:
        """Ratio of the treated place-days to their counterfactual ``T / (T - b)``."""
        return from_additive(
            self.estimate, self.ci_low, self.ci_high, self.treated_mean, se=self.se, df=self.df
        )

    @property
    def percent_change(self) -> float:
        v = self.percent.percent_change
        return math.nan if v is None else v

    @property
    def notes(self) -> str:
        return (
            f"place and day fixed effects, CRV1 clustered by place ({self.n_places} places); "
            f"{self.n_washout} washout place-days left out"
        )

    def to_dict(self) -> dict:
        return jsonable(
            {
                "estimator": "place_day_fe",
                **effect_fields(self),
                "alpha": self.alpha,
                "n_days": self.n_days,
                "n_treated_place_days": self.n_treated,
                "n_washout_place_days": self.n_washout,
                "control_mean": self.control_mean,
                "treated_mean": self.treated_mean,
                "ri_p_value": self.ri_p_value,
                "randomisation_draws": self.ri_draws,
            }
        )

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        if self.ri_draws:
            ax.hist(self.ri_estimates[1:], bins=40, color="#bbbbbb", label="re-drawn schemes")
        ax.axvline(self.estimate, color="#d95f02", lw=2, label="estimate")
        ax.axvspan(
            self.ci_low,
            self.ci_high,
            color="#d95f02",
            alpha=0.15,
            label=f"{100 * (1 - self.alpha):.0f}% CI",
        )
        ax.set_xlabel("effect (crimes per place-day)")
        ax.legend(frameon=False)
        return ax


def _fit(y, treated, place, day) -> tuple[float, float, object]:
    fit = fit_fixed_effects(y, treated.astype(float), unit=place, time=day, cluster=place)
    return float(fit.params[0]), float(fit.se[0]), fit


def place_day_effect(
    panel: pd.DataFrame,
    *,
    outcome: str = "count",
    alpha: float = 0.05,
    rules: PlaceDayRules | None = None,
    seed: int | None = None,
    n_draws: int = 0,
) -> PlaceDayEffect:
    """Place and day fixed-effects estimate from a place x day panel (columns ``unit, day,
    treated, washout`` and ``outcome``); with ``rules``, ``seed`` and ``n_draws`` > 0 also the
    randomisation p-value (two-sided, |estimate|) from ``n_draws`` re-drawn schemes."""
    need = ["unit", "day", "treated", "washout", outcome]
    missing = [c for c in need if c not in panel.columns]
    if missing:
        raise InputError(
            Problem("panel", f"missing column(s) {', '.join(missing)}", field=missing[0])
        )
    if panel.duplicated(["unit", "day"]).any():
        raise InputError(Problem("panel", "a place has the same day twice", field="day"))
    places = pd.Index(pd.unique(panel["unit"]))
    days = pd.Index(pd.unique(panel["day"]))
    if len(panel) != len(places) * len(days):
        raise InputError(Problem("panel", "every place needs a row for every day", field="day"))
    wash = panel["washout"].to_numpy(dtype=bool)
    treated = panel["treated"].to_numpy(dtype=bool)
    if (wash & treated).any():
        raise InputError(Problem("panel", "a washout day cannot be treated", field="washout"))
    keep = ~wash
    y = pd.to_numeric(panel[outcome], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(y[keep]).all():
        raise InputError(
            Problem("panel", f"{outcome} must be a number on every analysed day", field=outcome)
        )
    if not treated[keep].any() or treated[keep].all():
        raise InputError(Problem("panel", "need treated and control place-days", field="treated"))
    place, day = panel["unit"].to_numpy(), panel["day"].to_numpy()
    est, se, fit = _fit(y[keep], treated[keep], place[keep], day[keep])
    t = stats.t.ppf(1 - alpha / 2, fit.df_t)
    p = 2 * stats.t.sf(abs(est / se), fit.df_t) if se > 0 else math.nan
    ri_p, ri = None, np.empty(0)
    if n_draws and rules is not None and seed is not None:
        ri_p, ri = _randomisation(panel, y, places, days, rules, seed, n_draws, est)
    return PlaceDayEffect(
        estimate=est,
        se=se,
        ci_low=est - t * se,
        ci_high=est + t * se,
        p_value=float(p),
        alpha=alpha,
        n_obs=int(keep.sum()),
        n_places=len(places),
        n_days=len(days),
        n_treated=int(treated[keep].sum()),
        n_washout=int(wash.sum()),
        control_mean=float(y[keep & ~treated].mean()),
        treated_mean=float(y[keep & treated].mean()),
        df=float(fit.df_t),
        ri_p_value=ri_p,
        ri_draws=len(ri),
        ri_estimates=ri,
    )


def _randomisation(panel, y, places, days, rules, seed, n_draws, est):
    """Re-draw the scheme ``n_draws`` times (draw 0 must be the realised assignment) and refit."""
    pi = places.get_indexer(panel["unit"])
    di = days.get_indexer(panel["day"])
    treated_d, wash_d = draw_place_days(len(places), len(days), rules, n_draws=n_draws, seed=seed)
    realised = treated_d[0][pi, di]
    if not np.array_equal(realised, panel["treated"].to_numpy(dtype=bool)):
        raise InputError(
            Problem(
                "panel",
                "the treated place-days are not the registered scheme's draw for this "
                "seed (places and days must be in the order of the assignment)",
                field="treated",
            )
        )
    place, day = panel["unit"].to_numpy(), panel["day"].to_numpy()
    out = np.empty(n_draws)
    for i in range(n_draws):
        tr, keep = treated_d[i][pi, di], ~wash_d[i][pi, di]
        out[i] = _fit(y[keep], tr[keep], place[keep], day[keep])[0]
    p = float(np.mean(np.abs(out) >= abs(est) - 1e-12))
    return p, out


def place_day_panel(
    records: pd.DataFrame,
    schedule: pd.DataFrame,
    *,
    unit_column: str,
    harm: pd.Series | None = None,
    crime_types="all",
    shifts=(),
) -> pd.DataFrame:
    """The place x day (or shift) panel of a place-day trial: one row per row of ``schedule``
    (``unit, day[, shift], treated, washout``), in its order, with ``count`` (crimes) and
    ``harm`` (days of imprisonment; 0 without ``harm``) of the records that fall in it, zeros
    included, and ``slot`` (``day`` or ``day/shift``: the randomised period). A record's day and
    shift come from its ``date`` (:func:`triplet.testing.crossover.slot_of`); records of other
    places or days, or without a date, are left out (``.attrs["n_records"]`` counts those used).
    """
    from triplet.testing.crossover import slot_of

    for col in (unit_column, "date"):
        if col not in records.columns:
            raise InputError(Problem("records", f"records have no column {col!r}", field=col))
    keys = ["unit", "day", *(["shift"] if shifts else [])]
    keep = records["date"].notna().to_numpy()
    if not (isinstance(crime_types, str) and crime_types == "all"):
        types = [crime_types] if isinstance(crime_types, str) else list(crime_types)
        keep &= records["crime_type"].isin(types).to_numpy()
    rec = records.loc[keep]
    day, shift = slot_of(rec["date"], shifts)
    slots = pd.DataFrame({"unit": rec[unit_column].astype("str").to_numpy(), "day": day})
    if shifts:
        slots["shift"] = shift.to_numpy()
    h = np.zeros(len(rec)) if harm is None else np.asarray(harm, dtype=float)[keep]
    slots["harm"] = h
    slots["count"] = 1
    agg = slots.groupby(keys, sort=False)[["count", "harm"]].sum()
    panel = schedule.copy()
    panel[keys] = panel[keys].astype(str)
    panel = panel.merge(agg.reset_index(), on=keys, how="left", validate="1:1")
    panel["count"] = panel["count"].fillna(0).astype(np.int64)
    panel["harm"] = panel["harm"].fillna(0.0)
    panel["slot"] = panel["day"] + ("/" + panel["shift"] if shifts else "")
    panel.attrs["n_records"] = int(panel["count"].sum())
    return panel


def place_day_trends(panel: pd.DataFrame, outcome: str = "count", ax=None):
    """Weekly mean ``outcome`` per place-day on treated and on control place-days (washout
    days left out): the raw comparison behind the fixed-effects estimate. Returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.6))
    keep = panel[~panel["washout"].astype(bool)]
    week = pd.to_datetime(keep["day"]).dt.to_period("W").dt.start_time
    means = keep.groupby([week, keep["treated"].astype(bool)])[outcome].mean().unstack()
    for arm, label, colour in ((True, "treated", "#cf222e"), (False, "control", "#0550ae")):
        if arm in means:
            ax.plot(means.index, means[arm].to_numpy(), label=f"{label} place-days", color=colour)
    ax.set_ylabel(f"mean {outcome} per place-day")
    ax.set_xlabel("week")
    ax.legend(frameon=False)
    ax.set_title("Treated and control place-days, weekly means (washout days left out)")
    return ax
