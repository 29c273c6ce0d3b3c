"""Hierarchical count model for a unit x month panel: negative binomial (or Poisson) DiD.

The log rate of unit ``u`` in month ``t`` is::

    log mu[u, t] = a[u] + g[t] + c[u] * post[u, t] + beta * d[u, t]
    a[u]  ~ Normal(intercept + block/pair/cluster effects, unit_sd)     (unit effects)
    g     ~ ZeroSumNormal(period_sd), zero-sum within each phase         (month effects)
    c     = post_shift + unit_post_sd * ZeroSumNormal(1)                 (unit x post shifts)
    post_shift ~ Normal(0, 1);  unit_post_sd ~ HalfNormal(0.5)           (UNIT_POST_SD)
    beta  ~ Normal(priors.effect.mu, priors.effect.sigma)                (log rate ratio)
    y[u, t] ~ NegativeBinomial(mu, alpha)  or  Poisson(mu)

``d`` is the DiD indicator (treated unit in a treatment month), so ``exp(beta)`` is the rate
ratio of the treatment period in treated units (the ATT on the multiplicative scale). This is the
generalised linear mixed model form of the two-way DiD (Gelman & Hill 2007, ch. 12-15; Wooldridge
2023 for the log-link DiD); the negative binomial is the gamma-Poisson mixture for over-dispersed
crime counts (Hilbe 2011; Berk & MacDonald 2008).

``c[u]`` is each unit's own shift from its baseline to the treatment period (every unit, both
arms). Without it, unit-months are independent given unit and month effects, and a serially
correlated panel (a unit's rate drifts, so its months move together) makes the posterior of
``beta`` far too narrow: the treated units' common change is judged against month-level noise
instead of against how much units' pre-to-post changes differ anyway. With it, ``beta`` is the
treated arm's mean shift against the between-unit spread of shifts: the Bayesian analogue of
clustering a DiD by unit (Bertrand, Duflo & Mullainathan 2004, who also collapse to pre/post).
``unit_post=False`` builds the model without ``c`` (for comparison only).

Speed without approximation:

* ``a[u]`` is parametrised as ``a*[u] = a[u] + beta * dbar[u]`` (``dbar`` = the unit's share of
  treated months), with ``d`` centred within unit. The Jacobian is 1, so the posterior is the
  same, but ``beta`` becomes nearly orthogonal to the unit effects, which roughly halves the
  autocorrelation of ``beta`` draws.
* ``post`` is centred within unit in the same way (``a*`` also absorbs ``c[u] * pbar[u]``).
* The likelihood is written on the sufficient structure: the linear term ``sum y * eta`` is
  ``Y_u . a + Y_t . g + Y_p . c + beta * Y_d``; the ``lgamma(y + alpha)`` term depends only on the
  distinct counts (a few dozen values); only ``(alpha + y) log(alpha + mu)`` (NB) or ``mu``
  (Poisson) is evaluated per cell, on a dense unit x month matrix with a mask.
* Unit effects are centred when the data inform each unit well (median unit total >= 10
  crimes), non-centred otherwise (Papaspiliopoulos, Roberts & Skold 2007).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem
from triplet.registry.models import Prior, Priors

__all__ = [
    "GROUP_COLUMNS",
    "UNIT_POST_SD",
    "PanelArrays",
    "build_count_model",
    "count_linear_predictor",
    "count_model_data",
    "panel_arrays",
    "sd_prior",
]

GROUP_COLUMNS = ("block", "pair", "cluster")
Family = Literal["negbin", "poisson"]
#: Prior of the sd of the unit x post shifts (half-normal, log scale): units' own changes from
#: baseline to treatment period of +-50% are ordinary, of 3x rare. A documented default, not a
#: trial.yaml field (docs/bayes.md).
UNIT_POST_SD = Prior(mu=0.0, sigma=0.5)


@dataclass(frozen=True, eq=False)
class PanelArrays:
    """A panel as dense unit x month matrices (rows: ``units``, columns: ``months``).

    ``y`` holds the outcome (0 where ``mask`` is False), ``d`` the DiD indicator, ``post``
    1 in the treatment period's months (every unit), ``groups`` the integer codes of
    block/pair/cluster per unit (only those registered in the panel).
    """

    units: pd.Index
    months: pd.Index
    y: np.ndarray
    mask: np.ndarray
    d: np.ndarray
    treated: np.ndarray
    groups: dict[str, tuple[np.ndarray, pd.Index]]
    outcome: str
    post: np.ndarray | None = None

    @property
    def n_obs(self) -> int:
        return int(self.mask.sum())

    @property
    def dbar(self) -> np.ndarray:
        """Each unit's share of observed months with ``d = 1`` (the within-unit centre)."""
        return self._share(self.d)

    @property
    def post_matrix(self) -> np.ndarray:
        """``post`` as a float matrix (from ``d``'s months when the panel gave no ``post``)."""
        if self.post is not None:
            return np.asarray(self.post, dtype=float)
        return np.broadcast_to((self.d * self.mask).any(axis=0), self.d.shape).astype(float)

    @property
    def pbar(self) -> np.ndarray:
        """Each unit's share of observed months in the treatment period."""
        return self._share(self.post_matrix)

    @property
    def post_centred(self) -> np.ndarray:
        """``post - pbar`` within unit, 0 where unobserved (multiplies the unit x post shift)."""
        return (self.post_matrix - self.pbar[:, None]) * self.mask

    def _share(self, x: np.ndarray) -> np.ndarray:
        n = self.mask.sum(axis=1)
        return np.divide((x * self.mask).sum(axis=1), n, out=np.zeros(len(n)), where=n > 0)


def _problem(message: str, field: str | None = None) -> InputError:
    return InputError(Problem("panel", message, field=field))


def panel_arrays(panel: pd.DataFrame, *, outcome: str = "count") -> PanelArrays:
    """Check a tracking panel and turn it into :class:`PanelArrays`.

    Uses ``d`` (treated and in the treatment period) when the panel has it, else
    ``treated & post``; ``post`` (else ``period == "treatment"``, else the months with any
    ``d``) marks the treatment period for the unit x post shifts. Follow-up months (``period == "follow_up"``) are left out: the estimand
    is the effect during the treatment period, and follow-up months are neither pre nor treated.
    """
    need = ["unit", "month", outcome, "treated"]
    if "d" not in panel.columns:
        need.append("post")
    missing = [c for c in need if c not in panel.columns]
    if missing:
        raise _problem(f"missing column(s) {', '.join(missing)}", field=missing[0])
    p = panel
    if "period" in p.columns:
        p = p[p["period"].astype(str) != "follow_up"]
    if p.empty:
        raise _problem("the panel has no rows to analyse")
    y = pd.to_numeric(p[outcome], errors="coerce")
    bad = y.isna() | (y < 0) | ~np.isfinite(y.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _problem(
            f"row {p.index[i]}: {outcome} must be a non-negative number, got {p[outcome].iloc[i]!r}",
            field=outcome,
        )
    if outcome == "count" and (np.floor(y) != y).any():
        i = int(np.flatnonzero((np.floor(y) != y).to_numpy())[0])
        raise _problem(
            f"row {p.index[i]}: count must be a whole number, got {y.iloc[i]!r}", field=outcome
        )
    if p.duplicated(["unit", "month"]).any():
        dup = p.loc[p.duplicated(["unit", "month"]), ["unit", "month"]].iloc[0]
        raise _problem(f"unit {dup['unit']} has month {dup['month']} twice", field="month")
    d = (
        p["d"].astype(int)
        if "d" in p.columns
        else (p["treated"].astype(bool) & p["post"].astype(bool)).astype(int)
    )
    u_codes, units = pd.factorize(p["unit"], sort=True)
    t_codes, months = pd.factorize(p["month"], sort=True)
    shape = (len(units), len(months))
    ym = np.zeros(shape)
    ym[u_codes, t_codes] = y.to_numpy(dtype=float)
    mask = np.zeros(shape, dtype=bool)
    mask[u_codes, t_codes] = True
    dm = np.zeros(shape)
    dm[u_codes, t_codes] = d.to_numpy(dtype=float)
    post_m = None
    if "post" in p.columns or "period" in p.columns:
        post = (
            p["post"].astype(bool)
            if "post" in p.columns
            else p["period"].astype(str) == "treatment"
        )
        post_m = np.zeros(shape)
        post_m[u_codes, t_codes] = post.to_numpy(dtype=float)
        if ((dm > 0) & (post_m == 0)).any():
            raise _problem(
                "d = 1 in a month that is not in the treatment period (post)", field="post"
            )
    per_unit = p.assign(_u=u_codes).groupby("_u", sort=True)
    treated = per_unit["treated"].agg(lambda s: bool(s.astype(bool).any())).to_numpy()
    if (per_unit["treated"].nunique() > 1).any():
        raise _problem("treated must be constant within a unit", field="treated")
    if not treated.any() or treated.all():
        raise _problem("the panel needs both treated and control units", field="treated")
    if dm.sum() == 0:
        raise _problem("no treated unit-month (d = 1): nothing to estimate", field="d")
    groups: dict[str, tuple[np.ndarray, pd.Index]] = {}
    for col in GROUP_COLUMNS:
        if col not in p.columns:
            continue
        first = per_unit[col].first()
        if first.isna().all() or (first.astype(str).str.strip() == "").all():
            continue
        if first.isna().any():
            raise _problem(f"{col} is missing for some units", field=col)
        codes, levels = pd.factorize(first.astype(str), sort=True)
        # a level of groups of 1-2 units (pairs) only splits the between-unit variance that the
        # unit effects already carry, along a ridge the sampler cannot cross: left out
        if 1 < len(levels) < len(units) and np.median(np.bincount(codes)) >= 3:
            groups[col] = (codes.astype(np.int64), pd.Index(levels))
    return PanelArrays(
        units=pd.Index(units),
        months=pd.Index(months),
        y=ym,
        mask=mask,
        d=dm,
        treated=treated,
        groups=groups,
        outcome=outcome,
        post=post_m,
    )


def sd_prior(name: str, prior: Prior, **kw):
    """A standard-deviation prior: half-normal(sigma) when ``mu == 0``, else normal truncated at 0."""
    import pymc as pm

    if prior.mu == 0:
        return pm.HalfNormal(name, sigma=prior.sigma, **kw)
    return pm.TruncatedNormal(name, mu=prior.mu, sigma=prior.sigma, lower=0.0, **kw)


def _unit_level(
    arr: PanelArrays,
    prefix: str,
    priors: Priors,
    intercept,
    effect,
    centred: bool,
    shift=None,
    data: dict | None = None,
):
    """Unit effects ``a*`` (already shifted by ``effect * dbar`` and ``shift``, e.g. the unit x
    post effects times ``pbar``) with nested group effects. ``data`` (from :func:`_data`)
    replaces the arrays ``dbar`` and ``<group>_codes`` by the model's shared data."""
    import pymc as pm
    import pytensor.tensor as pt

    data = data or {}
    mean = intercept + effect * data.get("dbar", arr.dbar)
    if shift is not None:
        mean = mean + shift
    for col, (codes, _levels) in arr.groups.items():
        sd = sd_prior(f"{prefix}{col}_sd", priors.unit_sd)
        z = pm.ZeroSumNormal(f"{prefix}{col}_z", sigma=1.0, dims=f"{col}")
        mean = mean + sd * z[data.get(f"{col}_codes", codes)]
    unit_sd = sd_prior(f"{prefix}unit_sd", priors.unit_sd)
    if centred:
        return pm.Normal(f"{prefix}unit_effect", mu=mean, sigma=unit_sd, dims="unit")
    # zero-sum: the mean of the unit effects is the intercept's job; a free mean would form a
    # ridge with the intercept that mixes slowly (R-hat of the intercept)
    z = pm.ZeroSumNormal(f"{prefix}unit_z", sigma=1.0, dims="unit")
    return pm.Deterministic(f"{prefix}unit_effect", pt.as_tensor(mean) + unit_sd * z, dims="unit")


def _period_level(prefix: str, priors: Priors, centred: bool, arr: PanelArrays | None = None):
    """Month effects: zero-sum normal with sd ``period_sd`` (centred or non-centred).

    With ``arr`` (models with unit x post shifts) they are zero-sum within each phase
    (baseline months, treatment months): the step between the phases is ``post_shift``'s, and
    month effects free to move their phase means would form a ridge with it.
    """
    import pymc as pm
    import pytensor.tensor as pt

    period_sd = sd_prior(f"{prefix}period_sd", priors.period_sd)
    if arr is None:
        if centred:
            return pm.ZeroSumNormal(f"{prefix}period", sigma=period_sd, dims="month")
        z = pm.ZeroSumNormal(f"{prefix}period_z", sigma=1.0, dims="month")
        return pm.Deterministic(f"{prefix}period", period_sd * z, dims="month")
    g = pt.zeros(len(arr.months))
    for phase, idx in _phase_months(arr).items():
        if len(idx) < 2:  # one month: its effect is the phase's (intercept or post_shift)
            continue
        if centred:
            gp = pm.ZeroSumNormal(f"{prefix}period_{phase}", sigma=period_sd, dims=f"month_{phase}")
        else:
            gp = period_sd * pm.ZeroSumNormal(
                f"{prefix}period_{phase}_z", sigma=1.0, dims=f"month_{phase}"
            )
        g = pt.set_subtensor(g[idx], gp)
    return pm.Deterministic(f"{prefix}period", g, dims="month")


def _phase_months(arr: PanelArrays) -> dict[str, np.ndarray]:
    """Column indices of the baseline and treatment months (a month is post if any unit is)."""
    post = (arr.post_matrix * arr.mask).any(axis=0)
    return {"baseline": np.flatnonzero(~post), "treatment": np.flatnonzero(post)}


def _unit_post_level(arr: PanelArrays, prefix: str, prior: Prior, pbar=None):
    """Unit x post shifts ``c[u] = post_shift + unit_post_sd * z[u]`` and the shift
    ``c * pbar`` the unit effects absorb.

    ``z`` is non-centred and zero-sum over units, so the common change from baseline to
    treatment period is ``post_shift`` alone (N(0, 1), weakly informative): without a free
    common shift, the hierarchical month effects resist a step change and the arms' mean
    shifts would take it up, pulling ``beta`` towards 0.
    """
    import pymc as pm
    import pytensor.tensor as pt

    common = pm.Normal(f"{prefix}post_shift", mu=0.0, sigma=1.0)
    sd = sd_prior(f"{prefix}unit_post_sd", prior)
    z = pm.ZeroSumNormal(f"{prefix}unit_post_z", sigma=1.0, dims="unit")
    c = pm.Deterministic(f"{prefix}unit_post", common + sd * z, dims="unit")
    return c, c * pt.as_tensor(arr.pbar if pbar is None else pbar)


def use_centred(totals: np.ndarray, threshold: float = 10.0) -> bool:
    """Centre a level's effects when its median member carries ``threshold`` or more events.

    A level informed by many events has a posterior much narrower than its prior: the centred
    form samples it best; a weakly informed one (few events) forms a funnel with its sd, which
    the non-centred form removes (Betancourt & Girolami 2015).
    """
    return bool(np.median(totals) >= threshold)


def coords_of(arr: PanelArrays) -> dict[str, list]:
    coords = {"unit": [str(u) for u in arr.units], "month": [str(m) for m in arr.months]}
    for col, (_codes, levels) in arr.groups.items():
        coords[col] = [str(v) for v in levels]
    for phase, idx in _phase_months(arr).items():
        coords[f"month_{phase}"] = [coords["month"][i] for i in idx]
    return coords


def count_model_data(
    arr: PanelArrays, *, family: Family = "negbin", unit_post: bool = True
) -> dict[str, np.ndarray]:
    """The data of :func:`build_count_model` for ``arr``: the model's ``pm.Data`` by name.

    Everything that depends on the counts lives here, none of it in the model's graph as a
    constant, so the compiled log density depends only on the model's structure (family,
    parametrisation, groups, baseline/treatment months) and is reused for new data: from
    PyTensor's numba cache on disk, and in process through :mod:`.compiled`.
    """
    from scipy.special import gammaln

    y, m, d = arr.y, arr.mask.astype(float), arr.d
    dbar = arr.dbar
    values = {
        "y": y,
        "mask": m,
        "dc": (d - dbar[:, None]) * m,  # centred DiD indicator, 0 where unobserved
        "dbar": dbar,
        "pbar": arr.pbar,
        "y_u": y.sum(axis=1),
        "y_t": y.sum(axis=0),
        "n_obs": np.asarray(float(arr.n_obs)),
        "mean_y": np.asarray(max(float(y.sum() / arr.n_obs), 0.05)),
        "const": np.asarray(-float(gammaln(y[arr.mask] + 1.0).sum())),
    }
    values["y_d"] = np.asarray(float((y * values["dc"]).sum()))
    if unit_post:
        values["pc"] = arr.post_centred
        values["y_pc"] = (y * values["pc"]).sum(axis=1)
    if family == "negbin":
        v, n = np.unique(y[arr.mask], return_counts=True)
        values["count_value"], values["count_n"] = v.astype(float), n.astype(float)
    for col, (codes, _levels) in arr.groups.items():
        values[f"{col}_codes"] = codes.astype(np.int64)
    return values


def build_count_model(
    arr: PanelArrays,
    *,
    priors: Priors,
    family: Family = "negbin",
    centred: bool | None = None,
    unit_post: bool = True,
    unit_post_sd: Prior = UNIT_POST_SD,
):
    """The PyMC model of the module docstring for ``arr`` (counts).

    Free parameters: ``intercept``, ``beta`` (log rate ratio), ``unit_sd``, ``unit_effect`` or
    ``unit_z``, ``period_sd``, ``period``, group effects, ``unit_post_sd`` and ``unit_post_z``
    (the unit x post shifts ``unit_post``; left out with ``unit_post=False``, which is
    overconfident on serially correlated panels: for comparison), and for the negative binomial
    ``inv_sqrt_alpha`` (``1/sqrt(alpha)``, half-normal(1): 0 is Poisson; Stan prior-choice
    recommendations). ``alpha`` is kept as a deterministic.
    """
    import pymc as pm
    import pytensor.tensor as pt

    if family not in ("negbin", "poisson"):
        raise ValueError(f"family must be 'negbin' or 'poisson', got {family!r}")
    values = count_model_data(arr, family=family, unit_post=unit_post)
    if centred is None:
        centred = use_centred(values["y_u"])
    # a month's effect is well informed (likelihood sd ~ 1/sqrt(total) < 0.05) only with
    # hundreds of events; below that, month effects are non-centred.
    period_centred = use_centred(values["y_t"], 400.0)
    with pm.Model(coords=coords_of(arr)) as model:
        x = {name: pm.Data(name, v) for name, v in values.items()}
        intercept = pm.Normal("intercept", mu=pt.log(x["mean_y"]), sigma=2.5)
        beta = pm.Normal("beta", mu=priors.effect.mu, sigma=priors.effect.sigma)
        c, c_shift = (
            _unit_post_level(arr, "", unit_post_sd, pbar=x["pbar"]) if unit_post else (None, None)
        )
        unit = _unit_level(arr, "", priors, intercept, beta, centred, shift=c_shift, data=x)
        period = _period_level("", priors, period_centred, arr if unit_post else None)
        eta = unit[:, None] + period[None, :] + beta * x["dc"]
        linear = pt.dot(x["y_u"], unit) + pt.dot(x["y_t"], period) + beta * x["y_d"]
        if unit_post:
            eta = eta + c[:, None] * x["pc"]
            linear = linear + pt.dot(x["y_pc"], c)
        m, n_obs = x["mask"], x["n_obs"]
        if family == "poisson":
            loglik = linear - pt.sum(m * pt.exp(eta)) + x["const"]
        else:
            inv = pm.HalfNormal("inv_sqrt_alpha", sigma=1.0)
            alpha = pm.Deterministic("alpha", 1.0 / pt.square(inv))
            loglik = (
                pt.sum(x["count_n"] * pt.gammaln(x["count_value"] + alpha))
                - n_obs * pt.gammaln(alpha)
                + x["const"]
                + n_obs * alpha * pt.log(alpha)
                + linear
                - pt.sum(m * (alpha + x["y"]) * pt.log(alpha + pt.exp(eta)))
            )
        pm.Potential("loglik", loglik)
    model.triplet_info = {
        "centred": centred,
        "period_centred": period_centred,  # type: ignore[attr-defined]
        "family": family,
        "unit_post": unit_post,
    }
    return model


def unit_effects(draws: dict[str, np.ndarray], prefix: str = "") -> np.ndarray:
    """Draws x units of ``a*`` (unit effects shifted by ``beta * dbar``, see the module doc)."""
    return draws[f"{prefix}unit_effect"]


def unit_post_effects(draws: dict[str, np.ndarray], n_units: int, prefix: str = "") -> np.ndarray:
    """Draws x units of the unit x post shifts ``c`` (zeros for a model without them)."""
    c = draws.get(f"{prefix}unit_post")
    if c is None:
        n = next(iter(draws.values())).shape[0]
        return np.zeros((n, n_units))
    return c


def count_linear_predictor(arr: PanelArrays, draws: dict[str, np.ndarray]) -> np.ndarray:
    """Draws x units x months of ``log mu`` (numpy; used for predictive checks)."""
    a = unit_effects(draws)
    dc = arr.d - arr.dbar[:, None]
    pc = arr.post_matrix - arr.pbar[:, None]
    c = unit_post_effects(draws, len(arr.units))
    return (
        a[:, :, None]
        + draws["period"][:, None, :]
        + draws["beta"][:, None, None] * dc
        + c[:, :, None] * pc
    )


def simulate_counts(
    arr: PanelArrays, draws: dict[str, np.ndarray], family: Family, rng: np.random.Generator
) -> np.ndarray:
    """Replicated counts (draws x units x months) from parameter draws."""
    mu = np.exp(np.clip(count_linear_predictor(arr, draws), -30.0, 20.0))
    if family == "negbin":
        alpha = draws["alpha"][:, None, None]
        mu = rng.gamma(alpha, mu / alpha)
    return rng.poisson(mu).astype(float)
