"""Bayesian effect estimates of a trial: fit, check, summarise, save.

``fit_effect(panel, trial)`` picks the model from the analysis plan and the outcome (the
hierarchical negative binomial for counts, the hurdle model for harm), takes the priors, the
minimum effect of interest and the seed from the registration, samples with nutpie, runs prior
and posterior predictive checks (Gabry et al. 2019, *Visualization in Bayesian workflow*) and
applies the failure rule of :mod:`.diagnostics`. The effect is reported as a per cent change of
the rate (counts) or of expected harm, with an 89% highest-density interval (McElreath 2020), a
95% equal-tailed interval, P(reduction), P(reduction at least the minimum effect of interest)
and the probability inside the region of practical equivalence (Kruschke 2018).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triplet.io import jsonable
from triplet.registry.models import Estimator, MinimumEffect, Outcome, Priors, Trial
from triplet.tracking.bayes.diagnostics import (
    Diagnostics,
    SamplerSettings,
    Thresholds,
    flat_draws,
    sample_with_retry,
)
from triplet.tracking.bayes.harm_model import build_harm_model, harm_log_ratio, simulate_harm
from triplet.tracking.bayes.model import (
    Family,
    PanelArrays,
    build_count_model,
    panel_arrays,
    simulate_counts,
)
from triplet.tracking.percent import percent_of_log_ratio

__all__ = ["BayesianEffect", "fit_count_model", "fit_effect", "fit_harm_model", "predictive_checks"]

CHECK_STATS = ("share_zero", "mean", "variance", "p95")
N_CHECK_DRAWS = 200
MODEL_NAMES = {
    "negbin": "hierarchical negative binomial DiD (PyMC, nutpie)",
    "poisson": "hierarchical Poisson DiD (PyMC, nutpie)",
    "hurdle": "hurdle model for harm: Bernoulli x lognormal (PyMC, nutpie)",
}


def _stats(values: np.ndarray) -> np.ndarray:
    """Statistics of the rows of ``values`` (draws x cells): share zero, mean, variance, p95."""
    return np.column_stack(
        [
            (values == 0).mean(axis=1),
            values.mean(axis=1),
            values.var(axis=1),
            np.quantile(values, 0.95, axis=1),
        ]
    )


def predictive_checks(observed: np.ndarray, replicated: np.ndarray, check: str) -> pd.DataFrame:
    """Observed vs replicated statistics with Bayesian p-values (mid-p: P(T_rep > T_obs) plus
    half of P(T_rep = T_obs), so discrete statistics such as a count's 95th percentile are not
    pushed to 0 or 1 by ties).

    ``observed``: cells; ``replicated``: draws x cells. A p-value near 0 or 1 (outside 0.025 to
    0.975) flags a feature of the data the model does not reproduce (Gelman et al. 2013, BDA3
    ch. 6).
    """
    obs = _stats(observed[None, :])[0]
    rep = _stats(replicated)
    rows = []
    for j, name in enumerate(CHECK_STATS):
        r = rep[:, j]
        p = float(np.mean(r > obs[j]) + 0.5 * np.mean(r == obs[j]))
        rows.append(
            {
                "check": check,
                "statistic": name,
                "observed": float(obs[j]),
                "replicated_median": float(np.median(r)),
                "replicated_low": float(np.quantile(r, 0.05)),
                "replicated_high": float(np.quantile(r, 0.95)),
                "p_value": p,
                "flag": bool(p < 0.025 or p > 0.975),
            }
        )
    return pd.DataFrame(rows)


def _hdi(x: np.ndarray, chains: int, prob: float) -> tuple[float, float]:
    """Highest-density interval of draws with ArviZ 1.x (``arviz.hdi``)."""
    import arviz as az
    import xarray as xr

    da = xr.DataArray(x.reshape(chains, -1), dims=("chain", "draw"))
    out = np.asarray(az.hdi(da, prob=prob)).ravel()
    return float(out[0]), float(out[1])


@dataclass(frozen=True, eq=False)
class BayesianEffect:
    """Posterior of a trial's effect: per cent change (-20 = a 20% fall), or a failure.

    When ``status == "failed"`` every estimate is None and :meth:`to_dict` carries none.
    """

    status: str
    model: str
    outcome: str
    measure: str
    estimand: str
    diagnostics: Diagnostics
    settings: SamplerSettings
    priors: Priors
    n_units: int
    n_obs: int
    reason: str | None = None
    percent_change: float | None = None
    hdi89_low: float | None = None
    hdi89_high: float | None = None
    ci95_low: float | None = None
    ci95_high: float | None = None
    rate_ratio: float | None = None
    p_reduction: float | None = None
    p_reduction_mei: float | None = None
    minimum_effect: float | None = None
    rope: float | None = None
    p_rope: float | None = None
    checks: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    log_ratio_draws: np.ndarray | None = field(default=None, repr=False)
    idata: Any = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> pd.DataFrame:
        """Tidy table ``quantity, value``: the estimates, or the failure and its reason."""
        if not self.ok:
            rows = [("status", "failed"), ("reason", self.reason), ("model", self.model)]
        else:
            rows = [
                ("status", "ok"),
                ("model", self.model),
                ("outcome", self.outcome),
                ("percent_change", self.percent_change),
                ("hdi89_low", self.hdi89_low),
                ("hdi89_high", self.hdi89_high),
                ("ci95_low", self.ci95_low),
                ("ci95_high", self.ci95_high),
                ("rate_ratio", self.rate_ratio),
                ("p_reduction", self.p_reduction),
                ("p_reduction_mei", self.p_reduction_mei),
                ("p_rope", self.p_rope),
            ]
        d = self.diagnostics
        rows += [
            ("rhat_max", d.rhat_max),
            ("rhat_max_all", d.rhat_max_all),
            ("ess_bulk_min", d.ess_bulk_min),
            ("ess_tail_min", d.ess_tail_min),
            ("divergences", d.divergences),
            ("attempts", d.attempts),
        ]
        return pd.DataFrame(rows, columns=["quantity", "value"])

    def to_dict(self, posterior: str | None = None) -> dict[str, Any]:
        """The ``<bayesian>`` block of results.json (docs/architecture.md).

        ``posterior`` is the path written by :meth:`save` (relative to the results folder).
        """
        d = self.diagnostics
        out: dict[str, Any] = {
            "status": self.status,
            "model": self.model,
            "outcome": self.outcome,
            "measure": self.measure,
            "estimand": self.estimand,
            "diagnostics": {
                "rhat_max": _num(d.rhat_max),
                "rhat_max_all": _num(d.rhat_max_all),
                "ess_bulk_min": _num(d.ess_bulk_min),
                "ess_tail_min": _num(d.ess_tail_min),
                "divergences": d.divergences,
                "attempts": d.attempts,
                "n_draws": d.n_draws,
                "retried_because": list(d.retried_because),
            },
            "settings": {
                "draws": self.settings.draws,
                "tune": self.settings.tune,
                "chains": self.settings.chains,
                "seed": self.settings.seed,
                "target_accept": self.settings.target_accept,
                "sampler": "nutpie",
            },
            "priors": self.priors.model_dump(),
            "n_units": self.n_units,
            "n_obs": self.n_obs,
            "posterior": posterior,
        }
        if not self.ok:
            out["reason"] = self.reason
            return jsonable(out)
        out.update(
            {
                "percent_change": _num(self.percent_change),
                "hdi89_low": _num(self.hdi89_low),
                "hdi89_high": _num(self.hdi89_high),
                "ci95_low": _num(self.ci95_low),
                "ci95_high": _num(self.ci95_high),
                "rate_ratio": _num(self.rate_ratio),
                "p_reduction": _num(self.p_reduction),
                "p_reduction_mei": _num(self.p_reduction_mei),
                "minimum_effect": _num(
                    None if self.minimum_effect is None else -100 * self.minimum_effect
                ),
                "rope": None
                if self.rope is None
                else {
                    "low": -100 * self.rope,
                    "high": 100 * self.rope,
                    "p_inside": _num(self.p_rope),
                },
                "checks": self.checks.to_dict("records"),
            }
        )
        return jsonable(out)

    def save(
        self, results_dir: str | Path, name: str = "posterior.nc", *, overwrite: bool = False
    ) -> str:
        """Write the posterior and sampler statistics as netCDF (ArviZ 1.x DataTree).

        Atomic and refusing to overwrite (``triplet.io``). Returns ``name`` (the path relative
        to ``results_dir``), for ``to_dict(posterior=...)``. Read back with
        ``arviz.from_netcdf``.
        """
        import xarray as xr

        from triplet.io import atomic_path

        if self.idata is None:
            raise ValueError("this result holds no posterior to save")
        tree = xr.DataTree.from_dict(
            {
                k: _netcdf_safe(self.idata[k].to_dataset())
                for k in ("posterior", "sample_stats")
                if k in self.idata.children
            }
        )
        tree.attrs.update(
            {
                "triplet_model": self.model,
                "triplet_status": self.status,
                "triplet_outcome": self.outcome,
            }
        )
        with atomic_path(Path(results_dir) / name, overwrite=overwrite) as tmp:
            tree.to_netcdf(tmp, engine="netcdf4")
        return name

    def plot(self, ax=None):
        """Posterior of the per cent change with the ROPE band, the MEI line and the 89% HDI."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
        if not self.ok or self.log_ratio_draws is None:
            ax.text(
                0.5,
                0.5,
                f"Bayesian fit failed:\n{self.reason}",
                ha="center",
                va="center",
                transform=ax.transAxes,
                wrap=True,
            )
            ax.set_axis_off()
            return ax
        pct = percent_of_log_ratio(self.log_ratio_draws)
        ax.hist(pct, bins=60, density=True, color="#8da0cb", alpha=0.8)
        if self.rope is not None:
            ax.axvspan(
                -100 * self.rope,
                100 * self.rope,
                color="grey",
                alpha=0.2,
                label=f"ROPE ±{100 * self.rope:g}%",
            )
        if self.minimum_effect is not None:
            ax.axvline(
                -100 * self.minimum_effect,
                color="#d95f02",
                ls="--",
                label=f"minimum effect −{100 * self.minimum_effect:g}%",
            )
        ax.axvline(0, color="black", lw=0.8)
        y0 = ax.get_ylim()[1] * 0.03
        ax.plot([self.hdi89_low, self.hdi89_high], [y0, y0], color="black", lw=4, label="89% HDI")
        ax.set_xlabel(f"change in {self.measure} (%)")
        ax.set_yticks([])
        ax.set_title(
            f"{self.outcome}: {self.percent_change:+.1f}%, P(reduction) = {self.p_reduction:.2f}"
        )
        ax.legend(loc="upper right", fontsize=8, frameon=False)
        return ax


def _num(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if not math.isfinite(v) else v


def _netcdf_safe(ds):
    """Drop object-dtype variables (nutpie's divergence messages) that netCDF cannot store."""
    drop = [k for k, v in ds.data_vars.items() if v.dtype == object]
    return ds.drop_vars(drop)


def _summarise(log_ratio: np.ndarray, chains: int, minimum_effect: MinimumEffect | None) -> dict:
    """Estimates from draws of the log ratio (per cent scale)."""
    pct = percent_of_log_ratio(log_ratio)
    lo89, hi89 = _hdi(pct, chains, 0.89)
    out = {
        "percent_change": float(np.median(pct)),
        "hdi89_low": lo89,
        "hdi89_high": hi89,
        "ci95_low": float(np.quantile(pct, 0.025)),
        "ci95_high": float(np.quantile(pct, 0.975)),
        "rate_ratio": float(np.exp(np.median(log_ratio))),
        "p_reduction": float(np.mean(log_ratio < 0)),
    }
    if minimum_effect is not None:
        out["minimum_effect"] = minimum_effect.reduction
        out["rope"] = minimum_effect.rope
        out["p_reduction_mei"] = float(np.mean(pct <= -100 * minimum_effect.reduction))
        out["p_rope"] = float(np.mean(np.abs(pct) < 100 * minimum_effect.rope))
    return out


def _add_posterior_var(idata, name: str, values: np.ndarray):
    import xarray as xr

    post = idata["posterior"].to_dataset()
    da = xr.DataArray(
        values.reshape(post.sizes["chain"], post.sizes["draw"]), dims=("chain", "draw")
    )
    idata["posterior"] = xr.DataTree(post.assign({name: da}))
    return idata


def _thin(draws: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> dict:
    total = next(iter(draws.values())).shape[0]
    idx = np.sort(rng.choice(total, size=min(n, total), replace=False))
    return {k: v[idx] for k, v in draws.items()}


def _prior_draws(model, n: int, seed: int) -> dict[str, np.ndarray]:
    import pymc as pm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prior = pm.sample_prior_predictive(draws=n, model=model, random_seed=seed)
    return flat_draws(prior, group="prior")


def _fit(
    arr: PanelArrays,
    model,
    *,
    kind: str,
    family: str,
    priors: Priors,
    minimum_effect: MinimumEffect | None,
    outcome: str,
    measure: str,
    estimand: str,
    settings: SamplerSettings,
    thresholds: Thresholds | None,
    progress: bool,
    checks: bool,
) -> BayesianEffect:
    rng = np.random.Generator(np.random.PCG64(settings.seed))

    def simulate(draws):
        if kind == "count":
            return simulate_counts(arr, draws, family, rng)  # type: ignore[arg-type]
        return simulate_harm(arr, draws, rng)

    prior_checks = pd.DataFrame()
    if checks:
        pd_draws = _prior_draws(model, N_CHECK_DRAWS, settings.seed)
        prior_checks = predictive_checks(arr.y[arr.mask], simulate(pd_draws)[:, arr.mask], "prior")

    def derive(idata):
        if kind == "count":
            return idata
        return _add_posterior_var(idata, "log_harm_ratio", harm_log_ratio(arr, flat_draws(idata)))

    idata, diag, used = sample_with_retry(
        model,
        settings,
        effect=("beta",) if kind == "count" else ("any_beta", "size_beta"),
        derive=derive,
        derived=() if kind == "count" else ("log_harm_ratio",),
        thresholds=thresholds,
        progress=progress,
    )
    common = dict(
        model=MODEL_NAMES[family],
        outcome=outcome,
        measure=measure,
        estimand=estimand,
        diagnostics=diag,
        settings=used,
        priors=priors,
        n_units=len(arr.units),
        n_obs=arr.n_obs,
        idata=idata,
    )
    if not diag.ok:
        return BayesianEffect(
            status="failed",
            reason="; ".join(diag.reasons) + f" (after {diag.attempts} attempts)",
            **common,
        )
    draws = flat_draws(idata)
    log_ratio = draws["beta"] if kind == "count" else draws["log_harm_ratio"]
    post_checks = pd.DataFrame()
    if checks:
        th = _thin(draws, N_CHECK_DRAWS, rng)
        post_checks = predictive_checks(arr.y[arr.mask], simulate(th)[:, arr.mask], "posterior")
    est = _summarise(log_ratio, used.chains, minimum_effect)
    return BayesianEffect(
        status="ok",
        checks=pd.concat([prior_checks, post_checks], ignore_index=True),
        log_ratio_draws=log_ratio,
        **common,
        **est,
    )


def fit_count_model(
    panel: pd.DataFrame,
    *,
    priors: Priors | None = None,
    family: Family = "negbin",
    minimum_effect: MinimumEffect | None = None,
    outcome: str = "count",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 0,
    progress: bool = True,
    thresholds: Thresholds | None = None,
    centred: bool | None = None,
    checks: bool = True,
) -> BayesianEffect:
    """Hierarchical negative-binomial (or Poisson) DiD on any unit x month panel of counts.

    The effect is the rate ratio ``exp(beta)`` of treated unit-months (see
    :mod:`triplet.tracking.bayes.model`), reported as a per cent change in crimes per
    unit-month.
    """
    arr = panel_arrays(panel, outcome="count")
    priors = priors or Priors()
    model = build_count_model(arr, priors=priors, family=family, centred=centred)
    return _fit(
        arr,
        model,
        kind="count",
        family=family,
        priors=priors,
        minimum_effect=minimum_effect,
        outcome=outcome,
        measure="count",
        estimand="ratio of the crime rate in treated units during the treatment period "
        "to the rate expected without treatment (ATT, multiplicative)",
        settings=SamplerSettings(draws, tune, chains, int(seed)),
        thresholds=thresholds,
        progress=progress,
        checks=checks,
    )


def fit_harm_model(
    panel: pd.DataFrame,
    *,
    priors: Priors | None = None,
    minimum_effect: MinimumEffect | None = None,
    outcome: str = "harm",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 0,
    progress: bool = True,
    thresholds: Thresholds | None = None,
    checks: bool = True,
) -> BayesianEffect:
    """Hurdle model (any harm x lognormal size) on a panel's ``harm`` (days of imprisonment).

    The effect is the ratio of expected harm per unit-month in treated units during the
    treatment period, with and without treatment (see :mod:`.harm_model`).
    """
    arr = panel_arrays(panel, outcome="harm")
    priors = priors or Priors()
    model = build_harm_model(arr, priors=priors)
    return _fit(
        arr,
        model,
        kind="harm",
        family="hurdle",
        priors=priors,
        minimum_effect=minimum_effect,
        outcome=outcome,
        measure="harm",
        estimand="ratio of expected harm (days of imprisonment) per unit-month in "
        "treated units during the treatment period, with vs without treatment",
        settings=SamplerSettings(draws, tune, chains, int(seed)),
        thresholds=thresholds,
        progress=progress,
        checks=checks,
    )


def fit_effect(
    panel: pd.DataFrame,
    trial: Trial,
    *,
    outcome: Outcome | str | None = None,
    estimator: Estimator | str | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int | None = None,
    progress: bool = True,
    thresholds: Thresholds | None = None,
) -> BayesianEffect:
    """The registered Bayesian analysis of ``trial`` on its tracking ``panel``.

    Model: ``bayesian_harm`` -> hurdle model on ``harm``; ``bayesian_count`` -> negative
    binomial on ``count``. Without ``estimator``: the one the analysis plan names (primary
    first), else by the outcome's measure. Priors and minimum effect come from
    ``trial.analysis``; the seed from ``trial.design.seed`` unless given.
    """
    if outcome is None or isinstance(outcome, str):
        outcomes = [trial.outcomes.primary, *trial.outcomes.secondary]
        found = [o for o in outcomes if outcome is None or o.name == outcome]
        if not found:
            from triplet.errors import InputError, Problem

            raise InputError(
                Problem(f"trial {trial.id}", f"no outcome named {outcome!r}", field="outcomes")
            )
        outcome = found[0]
    plan = [trial.analysis.primary, *trial.analysis.secondary]
    bayes = [e for e in plan if e in (Estimator.bayesian_count, Estimator.bayesian_harm)]
    if estimator is None:
        if outcome.measure == "harm" and Estimator.bayesian_harm in bayes:
            estimator = Estimator.bayesian_harm
        elif outcome.measure == "count" and Estimator.bayesian_count in bayes:
            estimator = Estimator.bayesian_count
        elif bayes:
            estimator = bayes[0]
        else:
            estimator = (
                Estimator.bayesian_harm if outcome.measure == "harm" else Estimator.bayesian_count
            )
    estimator = Estimator(estimator)
    seed = trial.design.seed if seed is None else seed
    kw = dict(
        priors=trial.analysis.priors,
        minimum_effect=trial.analysis.minimum_effect,
        outcome=outcome.name,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        progress=progress,
        thresholds=thresholds,
    )
    if estimator is Estimator.bayesian_harm:
        return fit_harm_model(panel, **kw)
    if estimator is Estimator.bayesian_count:
        return fit_count_model(panel, family="negbin", **kw)
    raise ValueError(f"{estimator.value} is not a Bayesian estimator")
