"""'What works': pooling the effects of trials of the same intervention type.

Each trial contributes its primary effect as a log rate ratio ``y_i`` with standard error
``s_i`` (:func:`effects_from_results`). Two pooled estimates are given:

* **frequentist random effects** (statsmodels ``combine_effects``): DerSimonian & Laird (1986)
  or Paule & Mandel (1982) between-trial variance ``tau^2``, the pooled log ratio with its 95%
  interval, I^2 (Higgins & Thompson 2002) and the 95% prediction interval for the effect in a
  new trial, ``mu +/- t_{k-2} sqrt(tau^2 + se(mu)^2)`` (Higgins, Thompson & Spiegelhalter 2009);
* **Bayesian hierarchical** (PyMC, nutpie): ``y_i ~ N(theta_i, s_i)``, ``theta_i = mu + tau z_i``,
  ``mu ~ N(0, 1)`` (log scale: 95% prior mass on 0.14x-7x), ``tau ~ HalfNormal(0.5)`` (Gelman
  2006; Röver et al. 2021 on weakly informative heterogeneity priors), giving the pooled per
  cent change, its 95% interval, P(reduction), ``tau`` and the predictive interval for a new
  trial's effect. With few trials ``tau`` is mostly prior: the Bayesian interval is then the
  honest one, the DerSimonian-Laird interval too narrow (IntHout et al. 2014).

Per cent changes: -20 = a 20% fall in the rate (counts) or in expected harm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from triplet.errors import InputError, Problem
from triplet.registry.models import Prior

__all__ = [
    "EFFECT_COLUMNS",
    "PooledEffect",
    "effects_from_results",
    "pool_by_intervention",
    "pool_effects",
    "pool_results",
    "random_effects",
]

EFFECT_COLUMNS = ["trial", "intervention", "log_effect", "se", "percent_change",
                  "percent_ci_low", "percent_ci_high", "source"]


def _pct(x):
    return 100.0 * np.expm1(x)


def effects_from_results(
    results: list[dict[str, Any]],
    *,
    source: Literal["primary", "bayesian"] = "primary",
    level: float = 0.95,
    interventions: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per trial (:data:`EFFECT_COLUMNS`) from results.json dictionaries.

    ``source="primary"``: the registered primary analysis. ``log_effect = log(1 +
    percent_change / 100)`` (= the log rate ratio; ``log(rate_ratio)`` if the per cent is
    missing) and ``se = (log(1 + percent_ci_high/100) - log(1 + percent_ci_low/100)) / (2 z)``
    with ``z`` the normal quantile of ``level``: exact for the count models (their interval is
    symmetric on the log scale), an approximation for intervals built on another scale. A
    Bayesian primary (its block has ``ci95_low/high`` instead) uses its 95% interval.
    ``source="bayesian"``: the posterior median and 95% interval of the ``bayesian`` block (a
    normal approximation to the posterior; failed fits are refused). The intervention type is
    ``results["intervention"]`` or ``interventions[trial]``.
    """
    z = float(stats.norm.ppf(0.5 + level / 2))
    rows = []
    for i, r in enumerate(results):
        trial = str(r.get("trial", f"results[{i}]"))
        where = f"results.json of {trial}"
        block = r.get(source)
        if not block:
            raise InputError(Problem(where, f"no {source} analysis", field=source))
        if source == "bayesian":
            if block.get("status") != "ok":
                raise InputError(Problem(where, "the Bayesian fit failed; it has no estimate",
                                         field="bayesian.status"))
            pct, lo, hi = (block.get(k) for k in ("percent_change", "ci95_low", "ci95_high"))
            lo_f, hi_f = "bayesian.ci95_low", "bayesian.ci95_high"
        elif block.get("percent_ci_low") is None and block.get("ci95_low") is not None:
            # a Bayesian primary analysis: its block carries the 95% interval as ci95_*
            pct, lo, hi = (block.get(k) for k in ("percent_change", "ci95_low", "ci95_high"))
            lo_f, hi_f = "primary.ci95_low", "primary.ci95_high"
        else:
            pct, lo, hi = (block.get(k) for k in
                           ("percent_change", "percent_ci_low", "percent_ci_high"))
            lo_f, hi_f = "primary.percent_ci_low", "primary.percent_ci_high"
        if pct is None and block.get("rate_ratio") is not None:
            pct = 100.0 * (float(block["rate_ratio"]) - 1.0)
        for name, v in (("percent_change", pct), (lo_f, lo), (hi_f, hi)):
            if v is None or not math.isfinite(float(v)) or float(v) <= -100:
                raise InputError(Problem(where, f"needs a per cent above -100, got {v!r}",
                                         field=name if "." in name else f"{source}.{name}"))
        y = math.log1p(float(pct) / 100)
        se = (math.log1p(float(hi) / 100) - math.log1p(float(lo) / 100)) / (2 * z)
        if not se > 0:
            raise InputError(Problem(where, f"interval {lo}..{hi} gives no standard error",
                                     field=lo_f))
        kind = r.get("intervention") or (interventions or {}).get(trial)
        rows.append({"trial": trial, "intervention": kind, "log_effect": y, "se": se,
                     "percent_change": float(pct), "percent_ci_low": float(lo),
                     "percent_ci_high": float(hi), "source": source})
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


def random_effects(effects: pd.DataFrame, *, method: Literal["dl", "pm"] = "dl",
                   level: float = 0.95) -> dict[str, Any]:
    """Frequentist random-effects pooling of ``log_effect`` with ``se`` (statsmodels).

    Returns the pooled log ratio ``mu``, its ``se``, interval, ``tau2``, ``i2``, Cochran's ``q``,
    the prediction interval (None with fewer than 3 trials) and the per-trial weights, plus the
    same on the per cent scale.
    """
    from statsmodels.stats.meta_analysis import combine_effects

    y = effects["log_effect"].to_numpy(dtype=float)
    v = np.square(effects["se"].to_numpy(dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        res = combine_effects(y, v, method_re={"dl": "chi2", "pm": "iterated"}[method],
                              alpha=1 - level)
    mu, se, tau2 = float(res.mean_effect_re), float(res.sd_eff_w_re), float(res.tau2)
    weights = np.asarray(res.weights_rel_re, dtype=float)
    if tau2 <= 0:
        # statsmodels 0.15 leaves the DerSimonian-Laird moment estimate untruncated (and uses a
        # negative tau^2 in the weights); the estimator truncates it at 0: the fixed-effect pool.
        tau2, mu, se = 0.0, float(res.mean_effect_fe), float(res.sd_eff_w_fe)
        weights = np.asarray(res.weights_rel_fe, dtype=float)
    q = float(res.q)
    i2 = max(0.0, (q - (len(y) - 1)) / q) if q > 0 else 0.0
    z = float(stats.norm.ppf(0.5 + level / 2))
    k = len(y)
    pi = (None, None)
    if k >= 3:
        half = float(stats.t.ppf(0.5 + level / 2, k - 2)) * math.sqrt(tau2 + se**2)
        pi = (mu - half, mu + half)
    return {
        "method": {"dl": "DerSimonian-Laird", "pm": "Paule-Mandel"}[method],
        "k": k, "mu": mu, "se": se, "ci_low": mu - z * se, "ci_high": mu + z * se,
        "tau2": tau2, "tau": math.sqrt(tau2), "i2": i2, "q": q,
        "pi_low": pi[0], "pi_high": pi[1],
        "percent_change": float(_pct(mu)), "percent_ci_low": float(_pct(mu - z * se)),
        "percent_ci_high": float(_pct(mu + z * se)),
        "percent_pi_low": None if pi[0] is None else float(_pct(pi[0])),
        "percent_pi_high": None if pi[1] is None else float(_pct(pi[1])),
        "weights": [float(w) for w in weights],
    }


def bayesian_pool(
    effects: pd.DataFrame,
    *,
    mu_prior: Prior | None = None,
    tau_prior: Prior | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 2013,
    progress: bool = False,
) -> dict[str, Any]:
    """Bayesian normal-normal meta-analysis (non-centred) with nutpie and the failure rule."""
    import pymc as pm

    from triplet.tracking.bayes.diagnostics import SamplerSettings, flat_draws, sample_with_retry

    mu_prior = mu_prior or Prior(mu=0.0, sigma=1.0)
    tau_prior = tau_prior or Prior(mu=0.0, sigma=0.5)
    y = effects["log_effect"].to_numpy(dtype=float)
    s = effects["se"].to_numpy(dtype=float)
    with pm.Model(coords={"trial": effects["trial"].astype(str).tolist()}) as model:
        mu = pm.Normal("mu", mu=mu_prior.mu, sigma=mu_prior.sigma)
        tau = pm.HalfNormal("tau", sigma=tau_prior.sigma)
        z = pm.Normal("z", 0.0, 1.0, dims="trial")
        theta = pm.Deterministic("theta", mu + tau * z, dims="trial")
        pm.Normal("y", mu=theta, sigma=s, observed=y, dims="trial")
    settings = SamplerSettings(draws, tune, chains, int(seed), target_accept=0.9)
    idata, diag, used = sample_with_retry(model, settings, effect=("mu", "tau"), progress=progress)
    out: dict[str, Any] = {
        "model": "normal-normal hierarchical (PyMC, nutpie)", "status": "ok" if diag.ok
        else "failed", "diagnostics": diag.to_dict(),
        "priors": {"mu": mu_prior.model_dump(), "tau": tau_prior.model_dump()},
        "settings": {"draws": used.draws, "tune": used.tune, "chains": used.chains,
                     "seed": used.seed, "target_accept": used.target_accept},
    }
    if not diag.ok:
        out["reason"] = "; ".join(diag.reasons) + f" (after {diag.attempts} attempts)"
        return out
    d = flat_draws(idata)
    rng = np.random.Generator(np.random.PCG64(seed))
    new = d["mu"] + d["tau"] * rng.standard_normal(d["mu"].shape)
    pct, pct_new = _pct(d["mu"]), _pct(new)
    out.update({
        "percent_change": float(np.median(pct)),
        "percent_ci_low": float(np.quantile(pct, 0.025)),
        "percent_ci_high": float(np.quantile(pct, 0.975)),
        "p_reduction": float(np.mean(d["mu"] < 0)),
        "p_new_reduction": float(np.mean(new < 0)),
        "tau": float(np.median(d["tau"])),
        "tau_ci_low": float(np.quantile(d["tau"], 0.025)),
        "tau_ci_high": float(np.quantile(d["tau"], 0.975)),
        "percent_pi_low": float(np.quantile(pct_new, 0.025)),
        "percent_pi_high": float(np.quantile(pct_new, 0.975)),
        "trial_percent_change": [float(v) for v in np.median(_pct(d["theta"]), axis=0)],
    })
    return out


@dataclass(frozen=True, eq=False)
class PooledEffect:
    """Pooled effect of one intervention type: the trials, the frequentist and Bayesian pools.

    The headline (``to_dict()['percent_change']`` etc.) is the Bayesian posterior when it
    converged, else the frequentist random-effects estimate (then ``p_reduction`` is None).
    """

    intervention: str | None
    trials: pd.DataFrame
    frequentist: dict[str, Any]
    bayesian: dict[str, Any] | None = field(default=None)

    @property
    def headline(self) -> dict[str, Any]:
        b = self.bayesian
        if b is not None and b.get("status") == "ok":
            return {"method": f"Bayesian random effects; {self.frequentist['method']} alongside",
                    **{k: b[k] for k in ("percent_change", "percent_ci_low", "percent_ci_high",
                                         "p_reduction", "percent_pi_low", "percent_pi_high",
                                         "tau")}}
        f = self.frequentist
        return {"method": f"random effects ({f['method']})",
                **{k: f[k] for k in ("percent_change", "percent_ci_low", "percent_ci_high",
                                     "percent_pi_low", "percent_pi_high", "tau")},
                "p_reduction": None}

    def summary(self) -> pd.DataFrame:
        """One row per method: per cent change, 95% interval, prediction interval, tau."""
        f = self.frequentist
        rows = [{"method": f"random effects ({f['method']})", "percent_change": f["percent_change"],
                 "ci_low": f["percent_ci_low"], "ci_high": f["percent_ci_high"],
                 "pi_low": f["percent_pi_low"], "pi_high": f["percent_pi_high"], "tau": f["tau"],
                 "p_reduction": None, "status": "ok"}]
        b = self.bayesian
        if b is not None:
            ok = b["status"] == "ok"
            rows.append({"method": "Bayesian random effects", "status": b["status"],
                         **({"percent_change": b["percent_change"], "ci_low": b["percent_ci_low"],
                             "ci_high": b["percent_ci_high"], "pi_low": b["percent_pi_low"],
                             "pi_high": b["percent_pi_high"], "tau": b["tau"],
                             "p_reduction": b["p_reduction"]} if ok else {})})
        return pd.DataFrame(rows, columns=["method", "percent_change", "ci_low", "ci_high",
                                           "pi_low", "pi_high", "tau", "p_reduction", "status"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the headline at the top, then both pools and the trials."""
        from triplet.io import jsonable

        return jsonable({
            "intervention": self.intervention, "k": len(self.trials), **self.headline,
            "frequentist": {k: v for k, v in self.frequentist.items()},
            "bayesian": self.bayesian,
            "trials": self.trials.to_dict("records"),
        })

    def plot(self, ax=None):
        """Forest plot: each trial's per cent change and 95% interval, pooled diamonds."""
        import matplotlib.pyplot as plt

        t = self.trials
        n = len(t)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 1.2 + 0.45 * (n + 2)), layout="constrained")
        ys = np.arange(n)[::-1] + 2.0
        ax.errorbar(t["percent_change"], ys,
                    xerr=[t["percent_change"] - t["percent_ci_low"],
                          t["percent_ci_high"] - t["percent_change"]],
                    fmt="s", color="#333333", capsize=3)
        labels = list(t["trial"])
        diamonds = [("random effects", self.frequentist, "#1b9e77", 1.0)]
        if self.bayesian is not None and self.bayesian.get("status") == "ok":
            diamonds.append(("Bayesian", self.bayesian, "#0550ae", 0.0))
        for name, d, colour, y in diamonds:
            lo, mid, hi = d["percent_ci_low"], d["percent_change"], d["percent_ci_high"]
            ax.fill([lo, mid, hi, mid], [y, y + 0.3, y, y - 0.3], color=colour)
            if d.get("percent_pi_low") is not None:
                ax.plot([d["percent_pi_low"], d["percent_pi_high"]], [y, y], color=colour, lw=1,
                        ls=":")
            labels.append(f"pooled: {name}")
        ax.set_yticks(list(ys) + [y for *_, y in diamonds])
        ax.set_yticklabels(labels)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel("change (%), 95% interval; dotted: prediction interval")
        ax.set_title(f"What works: {self.intervention or 'pooled trials'} (k = {n})")
        return ax


def pool_effects(
    effects: pd.DataFrame,
    *,
    method: Literal["dl", "pm"] = "dl",
    bayesian: bool = True,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 2013,
    progress: bool = False,
) -> PooledEffect:
    """Pool trials of ONE intervention type (rows of :func:`effects_from_results`)."""
    missing = [c for c in ("trial", "log_effect", "se") if c not in effects.columns]
    if missing:
        raise InputError(Problem("effects", f"missing column(s) {', '.join(missing)}",
                                 field=missing[0]))
    if len(effects) < 2:
        raise InputError(Problem("effects", f"pooling needs at least 2 trials, got "
                                 f"{len(effects)}", field="trial"))
    kinds = effects["intervention"].dropna().unique() if "intervention" in effects else []
    if len(kinds) > 1:
        raise InputError(Problem("effects", "trials of different intervention types: "
                                 f"{', '.join(map(str, kinds))}; use pool_by_intervention",
                                 field="intervention"))
    t = effects.reset_index(drop=True).copy()
    if "percent_change" not in t:
        z = float(stats.norm.ppf(0.975))
        t["percent_change"] = _pct(t["log_effect"])
        t["percent_ci_low"] = _pct(t["log_effect"] - z * t["se"])
        t["percent_ci_high"] = _pct(t["log_effect"] + z * t["se"])
    freq = random_effects(t, method=method)
    t["weight_re"] = freq.pop("weights")
    bayes = (bayesian_pool(t, draws=draws, tune=tune, chains=chains, seed=seed,
                           progress=progress) if bayesian else None)
    return PooledEffect(intervention=str(kinds[0]) if len(kinds) else None, trials=t,
                        frequentist=freq, bayesian=bayes)


def pool_results(results: list[dict[str, Any]], **kw) -> PooledEffect:
    """Pool the primary effects of results.json dictionaries of one intervention type."""
    source = kw.pop("source", "primary")
    return pool_effects(effects_from_results(results, source=source), **kw)


def pool_by_intervention(effects: pd.DataFrame, **kw) -> dict[str, PooledEffect]:
    """:func:`pool_effects` for every intervention type with at least 2 trials."""
    out = {}
    for kind, group in effects.groupby("intervention", sort=True):
        if len(group) >= 2:
            out[str(kind)] = pool_effects(group, **kw)
    return out
