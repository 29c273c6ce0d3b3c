"""Event study: effects by period relative to the start, with a joint pre-trend test.

Regression with unit and period fixed effects (or block x period effects) and one indicator per
relative period ``k = period - start`` of the treated units, leaving out ``reference`` (default
-1, the month before the start)::

    y_it = a_i + g_t + sum_{k != -1} beta_k 1[t - s_i = k] + e_it

``beta_k`` for ``k < -1`` ("leads") should be near zero if treated and comparison units were on
parallel paths before the start; they are tested jointly with a cluster-robust Wald statistic
``W = b' V^-1 b`` in its Hotelling T-squared form ``F = W (G - q) / ((G - 1) q)`` on
``(q, G - q)`` degrees of freedom (``G`` clusters, ``q`` leads): the plain ``W / q`` on
``(q, G - 1)`` over-rejects badly when ``q`` is not small against ``G`` (Cameron & Miller 2015,
section VII; Pustejovsky & Tipton 2018), so bin distant leads with ``window`` when ``q``
approaches ``G``. ``beta_k`` for ``k >= 0`` trace the
effect over time. Never-treated units are the comparison. With starts that vary by unit and
effects that vary by cohort, these TWFE coefficients can be contaminated (Sun & Abraham 2021);
use :mod:`triplet.tracking.staggered` then. References: Freyaldenhoven et al. (2021); Roth
(2022) on the low power of pre-trend tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from triplet.errors import InputError
from triplet.io import jsonable
from triplet.tracking.did import check_columns, fit_fixed_effects
from triplet.tracking.estimate import effect_fields
from triplet.tracking.percent import PercentChange, from_additive
from triplet.tracking.plots import plot_dynamic_effects

__all__ = ["EventStudyResult", "event_study", "relative_periods"]


@dataclass(frozen=True, eq=False)
class EventStudyResult:
    """Coefficients by relative period (outcome units) and the joint pre-trend test."""

    outcome: str
    coefficients: pd.DataFrame = field(repr=False)  # k, estimate, se, ci_low, ci_high, p_value
    reference: int
    pretrend_f: float
    pretrend_df: tuple[int, int]
    pretrend_p: float
    n_obs: int
    n_units: int
    n_clusters: int
    alpha: float
    post_mean: float = float("nan")  # mean of the k >= 0 coefficients (vs. the reference)
    post_mean_se: float = float("nan")
    df: int = 0
    #: CRV1 covariance of the estimated coefficients (rows/columns k, the reference left out);
    #: what the Rambachan-Roth sensitivity analysis (:mod:`triplet.tracking.honest_did`) needs
    cov: pd.DataFrame | None = field(default=None, repr=False)
    #: observed mean outcome of the treated unit-months (relative period >= 0): the numerator
    #: of the per cent change's ratio to the counterfactual
    treated_mean: float = float("nan")

    # ---- the effect-estimate protocol (triplet.tracking.estimate): the average of the
    # post-start coefficients is the event study's one effect
    @property
    def estimate(self) -> float:
        return self.post_mean

    @property
    def se(self) -> float:
        return self.post_mean_se

    @property
    def ci_low(self) -> float:
        return float(self.post_mean_ci[0])

    @property
    def ci_high(self) -> float:
        return float(self.post_mean_ci[1])

    @property
    def p_value(self) -> float:
        return self.post_mean_p

    @property
    def percent(self) -> PercentChange:
        return from_additive(
            self.post_mean,
            self.ci_low,
            self.ci_high,
            self.treated_mean,
            se=self.post_mean_se,
            df=self.df,
        )

    @property
    def notes(self) -> str:
        return (
            f"joint pre-trend test F({self.pretrend_df[0]}, {self.pretrend_df[1]}) = "
            f"{self.pretrend_f:.2f}, p = {self.pretrend_p:.3f}"
        )

    @property
    def post_mean_ci(self) -> tuple[float, float]:
        tcrit = stats.t.ppf(1 - self.alpha / 2, max(self.df, 1))
        return (
            self.post_mean - tcrit * self.post_mean_se,
            self.post_mean + tcrit * self.post_mean_se,
        )

    @property
    def post_mean_p(self) -> float:
        if not self.post_mean_se > 0:
            return float("nan")
        return float(2 * stats.t.sf(abs(self.post_mean / self.post_mean_se), max(self.df, 1)))

    def summary(self) -> pd.DataFrame:
        """One row per relative period (the reference row has estimate 0 and no SE)."""
        return self.coefficients.copy()

    def to_dict(self) -> dict:
        return jsonable(
            {
                "estimator": "event_study",
                "outcome": self.outcome,
                **effect_fields(self),
                "reference": self.reference,
                "pretrend_test": {
                    "f": float(self.pretrend_f),
                    "df1": int(self.pretrend_df[0]),
                    "df2": int(self.pretrend_df[1]),
                    "p_value": float(self.pretrend_p),
                },
                "coefficients": [
                    {k: (float(v) if k != "k" else int(v)) for k, v in row.items()}
                    for row in self.coefficients.to_dict(orient="records")
                ],
                "post_mean": {
                    "estimate": float(self.post_mean),
                    "se": float(self.post_mean_se),
                    "ci_low": float(self.post_mean_ci[0]),
                    "ci_high": float(self.post_mean_ci[1]),
                    "p_value": self.post_mean_p,
                },
            }
        )

    def plot(self, ax=None):
        """Coefficients with (1 - alpha) intervals against months relative to the start."""
        c = self.coefficients
        ax = plot_dynamic_effects(ax, c["k"], c["estimate"], c["ci_low"], c["ci_high"])
        ax.set_xlabel(f"months relative to start (reference: {self.reference})")
        ax.set_ylabel(f"effect on {self.outcome}")
        ax.set_title(f"Event study; pre-trend F = {self.pretrend_f:.2f}, p = {self.pretrend_p:.3f}")
        return ax


def relative_periods(
    panel: pd.DataFrame, *, unit: str, time: str, start: str
) -> tuple[np.ndarray, np.ndarray]:
    """Period positions and relative periods (``time - start`` in periods; NaN = never treated).

    Periods are ranked over the sorted distinct values of ``time`` (months, integers, dates);
    each unit's ``start`` must be one of those values or missing (never treated).
    """
    times = pd.Index(pd.unique(panel[time].dropna())).sort_values()
    pos = times.get_indexer(panel[time])
    st = panel[start]
    has = st.notna().to_numpy()
    spos = np.full(len(panel), np.nan)
    if has.any():
        idx = times.get_indexer(st[has])
        if (idx < 0).any():
            bad = st[has].iloc[int(np.flatnonzero(idx < 0)[0])]
            raise InputError(
                f"start column {start!r}: value {bad!r} is not one of the periods in {time!r}",
                file="panel",
            )
        spos[has] = idx
    return pos, pos - spos


def event_study(
    panel: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    start: str,
    cluster: str | None = None,
    block: str | None = None,
    reference: int = -1,
    window: tuple[int, int] | None = None,
    alpha: float = 0.05,
) -> EventStudyResult:
    """Event-study regression of ``outcome`` on leads and lags of each unit's ``start`` period.

    ``start`` holds the first treated period of each unit (missing for never-treated units).
    ``window=(-L, M)`` bins relative periods below -L into -L and above M into M (endpoint
    binning); by default every relative period gets its own coefficient.
    """
    check_columns(
        panel,
        {
            "outcome": outcome,
            "unit": unit,
            "time": time,
            "start": start,
            "cluster": cluster,
            "block": block,
        },
    )
    _, rel = relative_periods(panel, unit=unit, time=time, start=start)
    if np.isnan(rel).all():
        raise InputError(f"start column {start!r} is empty: no treated units", file="panel")
    if window is not None:
        lo, hi = window
        rel = np.where(np.isnan(rel), rel, np.clip(rel, lo, hi))
    ks = np.unique(rel[~np.isnan(rel)]).astype(int)
    if reference not in ks:
        raise InputError(f"reference period {reference} is not observed for treated units")
    ks = ks[ks != reference]
    X = np.column_stack([(rel == k).astype(float) for k in ks])
    fit = fit_fixed_effects(
        panel[outcome].to_numpy(dtype=float),
        X,
        unit=panel[unit].to_numpy(),
        time=panel[time].to_numpy(),
        cluster=panel[cluster or unit].to_numpy(),
        block=None if block is None else panel[block].to_numpy(),
        names=[f"k{k}" for k in ks],
    )
    dof = fit.df_t
    se = fit.se
    tcrit = stats.t.ppf(1 - alpha / 2, dof)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.t.sf(np.abs(fit.params / se), dof)
    coef = pd.DataFrame(
        {
            "k": ks,
            "estimate": fit.params,
            "se": se,
            "ci_low": fit.params - tcrit * se,
            "ci_high": fit.params + tcrit * se,
            "p_value": p,
        }
    )
    ref = pd.DataFrame(
        [
            {
                "k": reference,
                "estimate": 0.0,
                "se": np.nan,
                "ci_low": 0.0,
                "ci_high": 0.0,
                "p_value": np.nan,
            }
        ]
    )
    coef = pd.concat([coef, ref]).sort_values("k").reset_index(drop=True)
    leads = np.flatnonzero(ks < reference) if reference < 0 else np.flatnonzero(ks < 0)
    if len(leads):
        b = fit.params[leads]
        V = fit.cov[np.ix_(leads, leads)]
        q = len(leads)
        G = fit.n_clusters
        if G - q < 1:
            raise InputError(
                f"{q} pre-period coefficients cannot be tested jointly with {G} clusters; "
                "bin the leads with window=(-L, M), L < clusters"
            )
        wald = float(b @ np.linalg.solve(V, b))
        # Hotelling T^2 small-sample form: W (G - q) / ((G - 1) q) ~ F(q, G - q)
        f = wald * (G - q) / ((G - 1) * q)
        pf = float(stats.f.sf(f, q, G - q))
        df2 = G - q
    else:
        q, f, pf, df2 = 0, float("nan"), float("nan"), dof
    lags = np.flatnonzero(ks >= 0)
    if len(lags):
        w = np.zeros(len(ks))
        w[lags] = 1.0 / len(lags)
        post_mean, post_se = float(w @ fit.params), float(np.sqrt(w @ fit.cov @ w))
    else:
        post_mean = post_se = float("nan")
    on = ~np.isnan(rel) & (rel >= 0)
    y = panel[outcome].to_numpy(dtype=float)
    return EventStudyResult(
        treated_mean=float(y[on].mean()) if on.any() else float("nan"),
        cov=pd.DataFrame(fit.cov, index=ks, columns=ks),
        post_mean=post_mean,
        post_mean_se=post_se,
        df=dof,
        outcome=outcome,
        coefficients=coef,
        reference=reference,
        pretrend_f=f,
        pretrend_df=(q, df2),
        pretrend_p=pf,
        n_obs=fit.n_obs,
        n_units=int(panel[unit].nunique()),
        n_clusters=fit.n_clusters,
        alpha=alpha,
    )
