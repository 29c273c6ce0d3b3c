"""Count-model difference-in-differences: Poisson and negative binomial with unit and period effects.

    log E[y_it] = a_i + g_t + beta * D_it

or, for block-randomised and matched-pair designs (``block=``), with period effects *within*
blocks (pairs), ``g_{b(i),t}``: the same fixed effects as the TWFE DiD of the design
(:func:`triplet.tracking.did.did` with ``block=``), so every estimator of a trial compares
treated and control units of the same block in the same month (issue 10, defect 12).

``exp(beta)`` is the rate ratio of crimes in treated unit-months against their counterfactual
(0.8 = 20% fewer), which suits counts with many zeros better than a linear model and does not
depend on the units' baseline levels (Wooldridge 1999; Wooldridge 2023 on nonlinear DiD). The
Poisson fixed-effects estimator is consistent whenever the mean is right, whatever the
dispersion; inference is cluster-robust. The negative binomial (NB2, ``Var = mu + alpha mu^2``)
uses ``alpha`` estimated by the Cameron & Trivedi (1990) auxiliary regression on the Poisson
fit, then a GLM fit with that ``alpha``, also with cluster-robust errors. The fits sweep the
fixed effects out inside IRLS (as fixest's ``fepois`` does); ``method="dummies"`` runs the
statsmodels GLM with explicit dummies instead (the reference the tests compare against).

Units whose outcome is zero in every period carry no information on ``beta`` in a model with
unit effects (their effect goes to minus infinity); they are dropped and counted.
Cluster-robust covariance: statsmodels' ``cov_type="cluster"`` with its default correction
``G/(G-1) * (n-1)/(n-k)`` (k counts the fixed-effect dummies); normal-theory intervals.
Periods (block x periods) with no events at all are dropped as well (their effect is also
minus infinity).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from triplet.errors import InputError
from triplet.io import jsonable
from triplet.tracking.did import _indicator, _map_demean, check_columns
from triplet.tracking.percent import PercentChange, from_log_ratio

__all__ = ["CountDidResult", "count_did", "period_codes"]


@dataclass(frozen=True, eq=False)
class CountDidResult:
    """Rate ratio of a treated unit-month against its counterfactual, from a count model."""

    outcome: str
    family: str
    log_rate_ratio: float
    se: float
    p_value: float
    alpha: float
    n_obs: int
    n_units: int
    n_clusters: int
    n_units_dropped_all_zero: int
    dispersion: float | None
    converged: bool
    fixed_effects: str = "unit + period"

    @property
    def rate_ratio(self) -> float:
        return float(np.exp(self.log_rate_ratio))

    @property
    def ci(self) -> tuple[float, float]:
        z = stats.norm.ppf(1 - self.alpha / 2)
        return (
            float(np.exp(self.log_rate_ratio - z * self.se)),
            float(np.exp(self.log_rate_ratio + z * self.se)),
        )

    @property
    def estimate(self) -> float:
        """The log rate ratio (the protocol's estimate is on the model's own scale)."""
        return self.log_rate_ratio

    @property
    def ci_low(self) -> float:
        return float(np.log(self.ci[0]))

    @property
    def ci_high(self) -> float:
        return float(np.log(self.ci[1]))

    #: normal-theory inference (no degrees of freedom)
    df = None

    @property
    def percent(self) -> PercentChange:
        return from_log_ratio(self.log_rate_ratio, self.se, alpha=self.alpha)

    @property
    def percent_change(self) -> float:
        return 100.0 * (self.rate_ratio - 1.0)

    @property
    def notes(self) -> str:
        return (
            f"{self.family} GLM with {self.fixed_effects} effects; estimate is the log rate "
            f"ratio; cluster-robust SE ({self.n_clusters} clusters)"
            + (
                f"; {self.n_units_dropped_all_zero} all-zero units dropped"
                if self.n_units_dropped_all_zero
                else ""
            )
        )

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()]).drop(columns=["notes"])

    def to_dict(self) -> dict:
        lo, hi = self.ci
        return jsonable(
            {
                "estimator": f"{self.family}_did",
                "outcome": self.outcome,
                "estimate": self.log_rate_ratio,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "p_value": self.p_value,
                "df": None,
                "rate_ratio": self.rate_ratio,
                "rate_ratio_ci_low": lo,
                "rate_ratio_ci_high": hi,
                "percent_change": self.percent_change,
                "percent_ci_low": 100.0 * (lo - 1.0),
                "percent_ci_high": 100.0 * (hi - 1.0),
                "log_effect": self.log_rate_ratio,
                "log_se": self.se,
                "log_df": None,
                "n_obs": self.n_obs,
                "n_units": self.n_units,
                "n_clusters": self.n_clusters,
                "n_units_dropped_all_zero": self.n_units_dropped_all_zero,
                "dispersion": self.dispersion,
                "converged": self.converged,
                "fixed_effects": self.fixed_effects,
                "notes": self.notes,
            }
        )

    def plot(self, ax=None):
        """The rate ratio and its interval on a log axis, with 1 (no effect) marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 1.8))
        lo, hi = self.ci
        ax.errorbar(
            [self.rate_ratio],
            [0],
            xerr=[[self.rate_ratio - lo], [hi - self.rate_ratio]],
            fmt="o",
            capsize=3,
        )
        ax.axvline(1, color="grey", lw=1)
        ax.set_xscale("log")
        ax.set_yticks([])
        ax.set_xlabel(f"rate ratio ({self.family})")
        ax.set_title(f"RR {self.rate_ratio:.2f} ({lo:.2f} to {hi:.2f})")
        return ax


def _dummies(codes: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((len(codes), n - 1))
    rows = np.flatnonzero(codes > 0)
    m[rows, codes[rows] - 1] = 1.0
    return m


def _glm_dummies(y, d, u, n_u, t, n_t, groups, nb_alpha, t_first=None):
    """Reference fit: statsmodels GLM with explicit unit and period dummies.

    ``t_first`` (block designs: ``t`` codes block x period cells) lists the first cell of each
    block; those columns are left out so the design has full rank (the unit dummies span the
    block levels).
    """
    import statsmodels.api as sm

    if t_first is None:
        td = _dummies(t, n_t)
    else:
        td = np.zeros((len(t), n_t))
        td[np.arange(len(t)), t] = 1.0
        td = np.delete(td, t_first, axis=1)
    X = np.column_stack([d, np.ones(len(y)), _dummies(u, n_u), td])
    fam = sm.families.Poisson() if nb_alpha == 0 else sm.families.NegativeBinomial(alpha=nb_alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(y, X, family=fam).fit(
            cov_type="cluster", cov_kwds={"groups": groups}, tol=1e-11, maxiter=300
        )
    return float(res.params[0]), float(res.bse[0]), res.mu, bool(res.converged)


def _glm_within(y, d, u, n_u, t, n_t, groups, nb_alpha, k, tol=1e-11, max_iter=1000):
    """IRLS with the unit and period effects swept out by weighted alternating projections.

    Each IRLS step is a weighted least-squares fit with two sets of fixed effects, solved by
    demeaning (Guimaraes & Portugal 2010; the method of R's fixest ``fepois``). At convergence
    the coefficient and its cluster-robust variance equal the full-dummy GLM's (Frisch-Waugh-
    Lovell), including statsmodels' correction ``G/(G-1) (n-1)/(n-k)``.
    """
    fes = [(u, n_u), (t, n_t)]
    mu = (y + y.mean()) / 2.0
    eta = np.log(mu)
    b = 0.0
    eta_old = eta
    converged = False
    Xt = None
    for _ in range(max_iter):
        w = mu / (1.0 + nb_alpha * mu)
        z = eta + (y - mu) / mu
        Xt = _map_demean(np.column_stack([z, d]), fes, w, tol=1e-13)
        zt, dt = Xt[:, 0], Xt[:, 1]
        b = float(np.sum(w * dt * zt) / np.sum(w * dt * dt))
        eta = z - (zt - dt * b)
        change = float(np.max(np.abs(eta - eta_old)))
        eta_old = eta
        mu = np.exp(eta)
        if change < tol:
            converged = True
            break
    # observed Hessian (what statsmodels' robust covariance uses; equal to the expected one
    # for the canonical Poisson link): weights mu (1 + a y) / (1 + a mu)^2
    w = mu * (1.0 + nb_alpha * y) / (1.0 + nb_alpha * mu) ** 2
    dt = _map_demean(d[:, None], fes, w, tol=1e-13)[:, 0]
    bread = np.sum(w * dt * dt)
    score = np.bincount(groups, weights=dt * (y - mu) / (1.0 + nb_alpha * mu))
    n, n_g = len(y), len(score)
    factor = n_g / (n_g - 1) * (n - 1) / (n - k)
    se = float(np.sqrt(factor * np.sum(score**2)) / bread)
    return b, se, mu, converged


def count_did(
    panel: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    cluster: str | None = None,
    family: Literal["poisson", "negbin"] = "poisson",
    alpha: float = 0.05,
    method: Literal["within", "dummies"] = "within",
    count_outcome: bool = True,
    block: str | None = None,
) -> CountDidResult:
    """Poisson or negative-binomial DiD with unit and period fixed effects; cluster-robust SE.

    ``block`` (optional) replaces the period effects by block x period effects (blocked or
    paired randomisation), as :func:`triplet.tracking.did.did` does; units must each belong
    to one block.

    ``outcome`` must be non-negative (counts, or harm in days for a Poisson pseudo-likelihood).
    ``count_outcome=False`` says the outcome is not a count (harm in days): the Poisson
    quasi-likelihood is still valid (its estimate does not change when the outcome is
    rescaled), the negative binomial is refused - its dispersion step treats the values as
    counts, so its per cent effect changes with the unit of harm (days, years, ...).
    Reference: Wooldridge (1999) for Poisson fixed effects; Cameron & Trivedi (2013), ch. 3, 9.
    """
    check_columns(
        panel,
        {
            "outcome": outcome,
            "unit": unit,
            "time": time,
            "treated": treated,
            "cluster": cluster,
            "block": block,
        },
    )
    if family not in ("poisson", "negbin"):
        raise InputError(f"family must be poisson or negbin, not {family!r}")
    y = pd.to_numeric(panel[outcome], errors="coerce").to_numpy(dtype=float)
    if np.isnan(y).any() or (y < 0).any():
        raise InputError(f"outcome {outcome!r} must be non-negative numbers", file="panel")
    if family == "negbin":
        why = None
        if not count_outcome:
            why = "is not a count (harm in days, or another non-count measure)"
        elif not np.all(y == np.round(y)):
            why = "has non-integer values, so it is not a count"
        if why is not None:
            raise InputError(
                f"outcome {outcome!r} {why}: the negative-binomial likelihood needs counts (its "
                "dispersion and so its per cent effect change with the unit of measurement). "
                "Use poisson_did (quasi-likelihood, valid for any non-negative outcome), "
                "twfe_did, or bayesian_harm (the hurdle model for harm)",
                file="panel",
            )
    d = _indicator(panel[treated], treated)
    u_all, _ = pd.factorize(panel[unit], sort=True)
    t_all = period_codes(panel, time, block)
    keep = (np.bincount(u_all, weights=y) > 0)[u_all] & (np.bincount(t_all, weights=y) > 0)[t_all]
    n_dropped = int(panel[unit].nunique() - pd.unique(u_all[keep]).size)
    sub = panel.loc[keep]
    y, d = y[keep], d[keep]
    if d.min() == d.max():
        raise InputError(f"treated column {treated!r} has no variation among non-zero units")
    u, uu = pd.factorize(sub[unit], sort=True)
    t = period_codes(sub, time, block)
    tt = np.arange(int(t.max()) + 1)
    n_b = 1
    t_first = None
    if block is not None:
        b_of_u = sub.groupby(u)[block].nunique()
        if (b_of_u > 1).any():
            raise InputError("units must each belong to one block (or pair)", file="panel")
        b_codes = pd.factorize(sub[block], sort=True)[0]
        n_b = int(b_codes.max() + 1)
        t_first = [int(t[b_codes == i].min()) for i in range(n_b)]
    groups = pd.factorize(sub[cluster or unit], sort=True)[0]
    n_g = int(groups.max() + 1)
    # d, intercept, (units - 1) and (periods - 1) dummies; with blocks, block x period cells
    # less one per block (the unit effects span the block levels)
    k = len(uu) + len(tt) - n_b + 1
    if method == "dummies":
        b, se, mu, converged = _glm_dummies(y, d, u, len(uu), t, len(tt), groups, 0.0, t_first)
    else:
        b, se, mu, converged = _glm_within(y, d, u, len(uu), t, len(tt), groups, 0.0, k)
    disp = None
    if family == "negbin":
        aux = ((y - mu) ** 2 - y) / mu
        disp = float(max(np.sum(aux * mu) / np.sum(mu * mu), 1e-8))  # OLS through origin
        if method == "dummies":
            b, se, mu, converged = _glm_dummies(y, d, u, len(uu), t, len(tt), groups, disp, t_first)
        else:
            b, se, mu, converged = _glm_within(y, d, u, len(uu), t, len(tt), groups, disp, k)
    p = float(2 * stats.norm.sf(abs(b / se))) if se > 0 else float("nan")
    return CountDidResult(
        outcome=outcome,
        family=family,
        log_rate_ratio=b,
        se=se,
        p_value=p,
        alpha=alpha,
        n_obs=len(y),
        n_units=len(uu),
        n_clusters=n_g,
        n_units_dropped_all_zero=n_dropped,
        dispersion=disp,
        converged=converged,
        fixed_effects=f"{unit} + {time}" if block is None else f"{unit} + {block} x {time}",
    )


def period_codes(panel: pd.DataFrame, time: str, block: str | None) -> np.ndarray:
    """Codes of the period effects: periods, or block x period cells when ``block`` is given."""
    if block is None:
        return pd.factorize(panel[time], sort=True)[0]
    keys = pd.MultiIndex.from_arrays([panel[block].astype(str), panel[time]])
    return pd.factorize(keys, sort=True)[0]
