"""Staggered starts: Callaway & Sant'Anna (2021) group-time average treatment effects.

When units start treatment in different months and effects differ by cohort or grow over
time, the two-way fixed-effects coefficient mixes "forbidden comparisons" (already-treated units
as controls) and can even take the wrong sign (Goodman-Bacon 2021). Callaway & Sant'Anna
estimate one effect per cohort ``g`` (the units first treated in period ``g``) and period
``t``, each a simple 2x2 comparison with the **never-treated** units::

    ATT(g, t) = E[Y_t - Y_{b} | G = g] - E[Y_t - Y_{b} | never treated]

with base period ``b = g - 1`` for ``t >= g`` and ``b = t - 1`` before the start (the
"varying" base of the ``did`` R package, so pre-period ATTs are placebo tests). They are
aggregated with cohort-size weights: ``simple`` (every post-start cell), ``dynamic`` (by
periods since the start, an event study free of contamination) and ``group``.

Standard errors are analytic, from the influence function of each estimator, including the
estimation of the cohort-size weights (Callaway & Sant'Anna 2021, section 4), summed within
clusters when clustering is coarser than units; intervals are pointwise normal. The panel must
be balanced. Assumptions: parallel trends for each cohort against never-treated units, no
anticipation, irreversible treatment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from triplet.errors import InputError
from triplet.io import jsonable
from triplet.tracking.did import check_columns
from triplet.tracking.estimate import effect_fields
from triplet.tracking.event_study import relative_periods
from triplet.tracking.percent import PercentChange, from_additive
from triplet.tracking.plots import plot_dynamic_effects

__all__ = ["StaggeredResult", "staggered_did"]


@dataclass(frozen=True, eq=False)
class StaggeredResult:
    """Group-time ATTs (outcome units per unit-period) and their aggregations."""

    outcome: str
    estimate: float  # simple aggregation over post-start cells
    se: float
    alpha: float
    group_time: pd.DataFrame = field(repr=False)  # g, t, e, att, se, post
    dynamic: pd.DataFrame = field(repr=False)  # e, att, se, ci_low, ci_high
    group: pd.DataFrame = field(repr=False)  # g, att, se
    counterfactual_mean: float
    n_units: int
    n_obs: int
    n_cohorts: int
    n_never_treated: int
    n_dropped_treated_at_start: int
    n_clusters: int | None = None  # units when not clustered

    @property
    def ci_low(self) -> float:
        return self.estimate - stats.norm.ppf(1 - self.alpha / 2) * self.se

    @property
    def ci_high(self) -> float:
        return self.estimate + stats.norm.ppf(1 - self.alpha / 2) * self.se

    @property
    def p_value(self) -> float:
        return float(2 * stats.norm.sf(abs(self.estimate / self.se))) if self.se > 0 else np.nan

    #: normal-theory inference (no degrees of freedom)
    df = None

    @property
    def percent(self) -> PercentChange:
        return from_additive(
            self.estimate,
            self.ci_low,
            self.ci_high,
            self.counterfactual_mean + self.estimate,
            se=self.se,
        )

    @property
    def notes(self) -> str:
        return (
            "Callaway & Sant'Anna (2021) ATT, never-treated controls, simple aggregation, "
            "analytic influence-function SE"
            + (
                f"; {self.n_dropped_treated_at_start} units treated in the first period dropped"
                if self.n_dropped_treated_at_start
                else ""
            )
        )

    def summary(self) -> pd.DataFrame:
        return self.dynamic.copy()

    def to_dict(self) -> dict:
        return jsonable(
            {
                "estimator": "staggered_did",
                "outcome": self.outcome,
                **effect_fields(self),
                "n_cohorts": self.n_cohorts,
                "n_never_treated": self.n_never_treated,
                "dynamic": self.dynamic.to_dict(orient="records"),
            }
        )

    def plot(self, ax=None):
        """Dynamic aggregation: ATT by periods since the start, with pointwise intervals."""
        d = self.dynamic
        ax = plot_dynamic_effects(ax, d["e"], d["att"], d["ci_low"], d["ci_high"])
        ax.set_xlabel("periods since start")
        ax.set_ylabel(f"ATT on {self.outcome}")
        ax.set_title(f"Callaway-Sant'Anna: ATT {self.estimate:+.3g} (SE {self.se:.3g})")
        return ax


def _aggregate(att, psi, cells, pg, gi, g_of_unit):
    """Weighted average of cell ATTs with cohort-size weights and its influence function."""
    w = pg[cells[:, 0]]
    S = w.sum()
    theta = float(np.sum(w * att) / S)
    inf = (w / S) @ psi  # (n_units,)
    # estimated weights: d theta / d p_g = sum over cells of g of (att_c - theta) / S
    for g in np.unique(cells[:, 0]):
        sel = cells[:, 0] == g
        coef = np.sum(att[sel] - theta) / S
        inf = inf + coef * ((g_of_unit == gi[g]).astype(float) - pg[g])
    return theta, inf


def staggered_did(
    panel: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    start: str,
    cluster: str | None = None,
    alpha: float = 0.05,
) -> StaggeredResult:
    """Callaway & Sant'Anna (2021) ATT with never-treated controls on a balanced panel.

    ``start`` is each unit's first treated period (missing = never treated). Effects are in
    outcome units per unit-period.
    """
    check_columns(
        panel, {"outcome": outcome, "unit": unit, "time": time, "start": start, "cluster": cluster}
    )
    pos, _ = relative_periods(panel, unit=unit, time=time, start=start)
    u, units = pd.factorize(panel[unit], sort=True)
    n, T = len(units), int(pos.max()) + 1
    if len(panel) != n * T or np.bincount(u * T + pos, minlength=n * T).max() != 1:
        raise InputError(
            "staggered_did needs a balanced panel: one row per unit and period", file="panel"
        )
    Y = np.empty((n, T))
    Y[u, pos] = panel[outcome].to_numpy(dtype=float)
    starts = panel.groupby(u)[start].first()
    times = pd.Index(pd.unique(panel[time])).sort_values()
    gpos = np.full(n, -1)
    has = starts.notna().to_numpy()
    gpos[has] = times.get_indexer(starts[has])
    if (starts.groupby(level=0).size() > 1).any():  # pragma: no cover - groupby first
        raise InputError("start must be constant within unit")
    dropped = int(np.sum(gpos == 0))
    keep = gpos != 0
    Y, gpos = Y[keep], gpos[keep]
    cl_codes = None
    if cluster is not None:
        cl_unit = panel.groupby(u)[cluster].first().to_numpy()[keep]
        cl_codes = pd.factorize(cl_unit)[0]
    n = len(Y)
    never = gpos < 0
    if never.sum() == 0:
        raise InputError("staggered_did needs never-treated units as controls", file="panel")
    cohorts = np.unique(gpos[~never])
    if len(cohorts) == 0:
        raise InputError("no treated units with a pre-treatment period", file="panel")
    pg = np.array([np.mean(gpos == g) for g in cohorts])
    gi = {i: g for i, g in enumerate(cohorts)}
    n_c = never.sum()
    rows, psis = [], []
    cf_terms = []
    for ci, g in enumerate(cohorts):
        in_g = gpos == g
        n_g = in_g.sum()
        for t in range(1, T):
            b = g - 1 if t >= g else t - 1
            dy = Y[:, t] - Y[:, b]
            m_g, m_c = dy[in_g].mean(), dy[never].mean()
            att = m_g - m_c
            psi = np.zeros(n)
            psi[in_g] = n / n_g * (dy[in_g] - m_g)
            psi[never] = -n / n_c * (dy[never] - m_c)
            rows.append((ci, g, t, t - g, att, t >= g))
            psis.append(psi)
            if t >= g:
                cf_terms.append((ci, Y[in_g, t].mean() - att))
    gt = pd.DataFrame(rows, columns=["cohort", "g", "t", "e", "att", "post"])
    psi = np.vstack(psis)  # cells x units

    def se_of(inf: np.ndarray) -> float:
        if cl_codes is not None:
            inf = np.bincount(cl_codes, weights=inf)
        return float(np.sqrt(np.sum(inf**2)) / n)

    gt["se"] = [se_of(p) for p in psi]
    att = gt["att"].to_numpy()
    cells = gt[["cohort", "t"]].to_numpy()
    g_of_unit = gpos
    post = gt["post"].to_numpy()
    theta, inf = _aggregate(att[post], psi[post], cells[post], pg, gi, g_of_unit)
    se = se_of(inf)
    z = stats.norm.ppf(1 - alpha / 2)
    dyn = []
    for e in sorted(gt["e"].unique()):
        sel = (gt["e"] == e).to_numpy()
        th, f = _aggregate(att[sel], psi[sel], cells[sel], pg, gi, g_of_unit)
        s = se_of(f)
        dyn.append((int(e), th, s, th - z * s, th + z * s))
    dynamic = pd.DataFrame(dyn, columns=["e", "att", "se", "ci_low", "ci_high"])
    grp = []
    for ci, g in enumerate(cohorts):
        sel = ((gt["cohort"] == ci) & gt["post"]).to_numpy()
        if sel.any():
            f = psi[sel].mean(axis=0)
            grp.append((times[g], float(att[sel].mean()), se_of(f)))
    group = pd.DataFrame(grp, columns=["g", "att", "se"])
    cf = pd.DataFrame(cf_terms, columns=["cohort", "cf"])
    wcf = pg[cf["cohort"].to_numpy()]
    counterfactual = float(np.sum(wcf * cf["cf"].to_numpy()) / wcf.sum()) if len(cf) else np.nan
    gt["g"] = [times[g] for g in gt["g"]]
    gt["t"] = [times[t] for t in gt["t"]]
    return StaggeredResult(
        outcome=outcome,
        estimate=theta,
        se=se,
        alpha=alpha,
        group_time=gt.drop(columns=["cohort"]),
        dynamic=dynamic,
        group=group,
        counterfactual_mean=counterfactual,
        n_units=n,
        n_obs=n * T,
        n_cohorts=len(cohorts),
        n_never_treated=int(n_c),
        n_dropped_treated_at_start=dropped,
        n_clusters=n if cl_codes is None else int(cl_codes.max() + 1),
    )
