"""'What works': pooling the effects of trials of the same intervention type.

Each trial contributes its primary effect as a log ratio ``y_i`` with standard error ``s_i``
(:func:`effects_from_results`), read as stored in results.json (``log_effect``, ``log_se``,
``log_df``) - not back-solved from a rounded interval - and only trials with the same outcome
measure are pooled (a harm per cent and a count per cent are different quantities). Pools:

* **frequentist random effects**, by default REML ``tau^2`` (Viechtbauer 2005) with the
  Hartung-Knapp-Sidik-Jonkman interval (Hartung & Knapp 2001; Sidik & Jonkman 2002):
  ``se_HK^2 = sum w_i (y_i - mu)^2 / ((k - 1) sum w_i)`` with ``t_{k-1}``; this is R metafor's
  ``rma(method = "REML", test = "knha")``, recommended when few trials are pooled (IntHout,
  Ioannidis & Borm 2014; Cochrane Handbook v6.4, section 10.10.4). DerSimonian & Laird (1986)
  and Paule & Mandel (1982) stay available (``method="dl" | "pm"``, ``test="z"``). Also I^2
  (Higgins & Thompson 2002) and the 95% prediction interval for a new trial,
  ``mu +/- t_{k-2} sqrt(tau^2 + se(mu)^2)`` (Higgins, Thompson & Spiegelhalter 2009);
* **Bayesian hierarchical** (PyMC, nutpie): ``y_i ~ N(theta_i, s_i)``, ``theta_i = mu + tau z_i``,
  ``mu ~ N(0, 1)`` (log scale: 95% prior mass on 0.14x-7x), ``tau ~ HalfNormal(0.5)`` (Gelman
  2006; Röver et al. 2021 on weakly informative heterogeneity priors), giving the pooled per
  cent change, its 95% interval, P(reduction), ``tau`` and the predictive interval for a new
  trial's effect. With few trials ``tau`` is mostly prior, so :func:`tau_prior_sensitivity`
  recomputes the pool under other ``tau`` priors (exact, by quadrature over ``tau``).

Per cent changes: -20 = a 20% fall in the rate (counts) or in expected harm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from triplet.errors import ConvergenceError, InputError, Problem
from triplet.registry.models import Prior
from triplet.tracking.percent import percent_of_log_ratio

__all__ = [
    "EFFECT_COLUMNS",
    "PooledEffect",
    "effects_from_results",
    "pool_by_intervention",
    "pool_effects",
    "pool_results",
    "random_effects",
    "reml_tau2",
    "tau_prior_sensitivity",
]

EFFECT_COLUMNS = [
    "trial",
    "intervention",
    "measure",
    "log_effect",
    "se",
    "df",
    "se_source",
    "percent_change",
    "percent_ci_low",
    "percent_ci_high",
    "source",
]


def effects_from_results(
    results: list[dict[str, Any]],
    *,
    source: Literal["primary", "bayesian"] = "primary",
    level: float = 0.95,
    interventions: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per trial (:data:`EFFECT_COLUMNS`) from results.json dictionaries.

    ``source="primary"``: the registered primary analysis. Its stored ``log_effect``,
    ``log_se`` and ``log_df`` are used as they are (``se_source = "stored"``). Older results
    without them: ``log_effect = log(1 + percent_change / 100)`` and ``se`` back-solved from
    the per cent interval with the quantile of the analysis' own reference distribution - t on
    its ``df`` when it has one (TWFE: clusters - 1), else normal - at its own ``alpha``
    (``se_source = "interval"``; exact only for intervals symmetric on the log scale). A
    Bayesian primary (its block has ``ci95_low/high``) uses its 95% interval.
    ``source="bayesian"``: the posterior median and 95% interval of the ``bayesian`` block (a
    normal approximation to the posterior; failed fits are refused). The intervention type is
    ``results["intervention"]`` or ``interventions[trial]``; ``measure`` is the outcome measure
    (``harm`` / ``count``) of the pooled block.
    """
    rows = []
    for i, r in enumerate(results):
        trial = str(r.get("trial", f"results[{i}]"))
        where = f"results.json of {trial}"
        block = r.get(source)
        if not block:
            raise InputError(Problem(where, f"no {source} analysis", field=source))
        df = None
        alpha = 1 - level
        if source == "bayesian":
            if block.get("status") != "ok":
                raise InputError(
                    Problem(
                        where,
                        "the Bayesian fit failed; it has no estimate",
                        field="bayesian.status",
                    )
                )
            pct, lo, hi = (block.get(k) for k in ("percent_change", "ci95_low", "ci95_high"))
            lo_f, hi_f = "bayesian.ci95_low", "bayesian.ci95_high"
        elif block.get("percent_ci_low") is None and block.get("ci95_low") is not None:
            # a Bayesian primary analysis: its block carries the 95% interval as ci95_*
            pct, lo, hi = (block.get(k) for k in ("percent_change", "ci95_low", "ci95_high"))
            lo_f, hi_f = "primary.ci95_low", "primary.ci95_high"
        else:
            pct, lo, hi = (
                block.get(k) for k in ("percent_change", "percent_ci_low", "percent_ci_high")
            )
            lo_f, hi_f = "primary.percent_ci_low", "primary.percent_ci_high"
            df = block.get("log_df", block.get("df"))
            alpha = float(block.get("alpha") or r.get("alpha") or alpha)
        kind = r.get("intervention") or (interventions or {}).get(trial)
        measure = block.get("measure")
        stored = (block.get("log_effect"), block.get("log_se"))
        if source == "primary" and all(_finite(v) for v in stored) and float(stored[1]) > 0:
            y, se, se_source = float(stored[0]), float(stored[1]), "stored"
            df = block.get("log_df")
            c = _crit(alpha, df)
            pct_v = 100 * math.expm1(y)
            lo_v = 100 * math.expm1(y - c * se)
            hi_v = 100 * math.expm1(y + c * se)
        else:
            if pct is None and block.get("rate_ratio") is not None:
                pct = 100.0 * (float(block["rate_ratio"]) - 1.0)
            for name, v in (("percent_change", pct), (lo_f, lo), (hi_f, hi)):
                if v is None or not math.isfinite(float(v)) or float(v) <= -100:
                    raise InputError(
                        Problem(
                            where,
                            f"needs a per cent above -100, got {v!r}",
                            field=name if "." in name else f"{source}.{name}",
                        )
                    )
            c = _crit(alpha, df)
            y = math.log1p(float(pct) / 100)
            se = (math.log1p(float(hi) / 100) - math.log1p(float(lo) / 100)) / (2 * c)
            se_source = "interval"
            pct_v, lo_v, hi_v = float(pct), float(lo), float(hi)
            if not se > 0:
                raise InputError(
                    Problem(where, f"interval {lo}..{hi} gives no standard error", field=lo_f)
                )
        rows.append(
            {
                "trial": trial,
                "intervention": kind,
                "measure": measure,
                "log_effect": y,
                "se": se,
                "df": None if df is None else float(df),
                "se_source": se_source,
                "percent_change": pct_v,
                "percent_ci_low": lo_v,
                "percent_ci_high": hi_v,
                "source": source,
            }
        )
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _crit(alpha: float, df: Any) -> float:
    if df is None or not _finite(df):
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, max(float(df), 1.0)))


def reml_tau2(y: np.ndarray, v: np.ndarray, *, tol: float = 1e-12, max_iter: int = 1000) -> float:
    """REML estimate of the between-trial variance ``tau^2`` (truncated at 0).

    Fisher scoring on the restricted likelihood (Viechtbauer 2005, eq. 13), started at the
    DerSimonian-Laird estimate, with step halving so ``tau^2`` stays non-negative; iterates
    until the step is below ``tol`` (metafor's default stops at 1e-5; the tests compare with
    metafor run at a tighter threshold).
    """
    y, v = np.asarray(y, float), np.asarray(v, float)
    w = 1 / v
    fe = (w * y).sum() / w.sum()
    q = (w * (y - fe) ** 2).sum()
    tau2 = max(0.0, (q - (len(y) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    for _ in range(max_iter):
        w = 1 / (v + tau2)
        sw = w.sum()
        mu = (w * y).sum() / sw
        # P = W - w w' / sum(w); y'PPy and tr(P), tr(PP)
        py = w * (y - mu)
        ypppy = float(py @ py)
        tr_p = sw - (w**2).sum() / sw
        tr_pp = (w**2).sum() - 2 * (w**3).sum() / sw + ((w**2).sum() / sw) ** 2
        step = (ypppy - tr_p) / tr_pp
        new = tau2 + step
        while new < 0:
            step /= 2
            new = tau2 + step
            if abs(step) < tol:
                new = 0.0
                break
        if abs(new - tau2) < tol:
            return float(new)
        tau2 = new
    raise ConvergenceError(f"REML tau^2 did not converge in {max_iter} iterations")


def random_effects(
    effects: pd.DataFrame,
    *,
    method: Literal["reml", "dl", "pm"] = "reml",
    test: Literal["knha", "z"] | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """Frequentist random-effects pooling of ``log_effect`` with ``se``.

    ``method``: ``reml`` (default), ``dl`` (DerSimonian-Laird) or ``pm`` (Paule-Mandel, via
    statsmodels). ``test``: ``knha`` (Hartung-Knapp-Sidik-Jonkman, t on k - 1 df; the default
    with REML) or ``z`` (normal, the default with DL and PM). Returns the pooled log ratio
    ``mu``, its ``se``, interval, ``tau2``, ``i2``, Cochran's ``q``, the prediction interval
    (None with fewer than 3 trials), the per-trial weights, and the same on the per cent scale.
    """
    y = effects["log_effect"].to_numpy(dtype=float)
    v = np.square(effects["se"].to_numpy(dtype=float))
    k = len(y)
    if test is None:
        test = "knha" if method == "reml" else "z"
    w_fe = 1 / v
    mu_fe = float((w_fe * y).sum() / w_fe.sum())
    q = float((w_fe * (y - mu_fe) ** 2).sum())
    if method == "reml":
        tau2 = reml_tau2(y, v)
    elif method in ("dl", "pm"):
        from statsmodels.stats.meta_analysis import combine_effects

        with np.errstate(divide="ignore", invalid="ignore"):
            res = combine_effects(
                y, v, method_re={"dl": "chi2", "pm": "iterated"}[method], alpha=1 - level
            )
        # statsmodels 0.15 leaves the DerSimonian-Laird moment estimate untruncated; the
        # estimator truncates it at 0 (the fixed-effect pool)
        tau2 = max(0.0, float(res.tau2))
    else:
        raise InputError(f"pooling method must be reml, dl or pm, not {method!r}")
    w = 1 / (v + tau2)
    mu = float((w * y).sum() / w.sum())
    if test == "knha":
        se = math.sqrt(float((w * (y - mu) ** 2).sum()) / ((k - 1) * w.sum()))
        crit = float(stats.t.ppf(0.5 + level / 2, k - 1))
        test_name = f"Hartung-Knapp-Sidik-Jonkman, t({k - 1})"
    elif test == "z":
        se = math.sqrt(1 / w.sum())
        crit = float(stats.norm.ppf(0.5 + level / 2))
        test_name = "normal (z)"
    else:
        raise InputError(f"pooling test must be knha or z, not {test!r}")
    # I^2 = tau^2 / (tau^2 + s^2), s^2 the "typical" within-trial variance (Higgins & Thompson
    # 2002, eq. 9; metafor's definition): equals (Q - (k - 1)) / Q with the DL tau^2
    sw, sw2 = w_fe.sum(), (w_fe**2).sum()
    s2 = (k - 1) * sw / (sw**2 - sw2) if k > 1 else float("nan")
    i2 = tau2 / (tau2 + s2) if tau2 > 0 else 0.0
    pi = (None, None)
    if k >= 3:
        half = float(stats.t.ppf(0.5 + level / 2, k - 2)) * math.sqrt(tau2 + se**2)
        pi = (mu - half, mu + half)
    names = {"reml": "REML", "dl": "DerSimonian-Laird", "pm": "Paule-Mandel"}
    lo, hi = mu - crit * se, mu + crit * se
    return {
        "method": names[method] + (" + HKSJ" if test == "knha" else ""),
        "tau2_method": names[method],
        "test": test_name,
        "k": k,
        "mu": mu,
        "se": se,
        "ci_low": lo,
        "ci_high": hi,
        "tau2": tau2,
        "tau": math.sqrt(tau2),
        "i2": i2,
        "q": q,
        "pi_low": pi[0],
        "pi_high": pi[1],
        "percent_change": float(percent_of_log_ratio(mu)),
        "percent_ci_low": float(percent_of_log_ratio(lo)),
        "percent_ci_high": float(percent_of_log_ratio(hi)),
        "percent_pi_low": None if pi[0] is None else float(percent_of_log_ratio(pi[0])),
        "percent_pi_high": None if pi[1] is None else float(percent_of_log_ratio(pi[1])),
        "weights": [float(x) for x in w / w.sum()],
    }


def tau_prior_sensitivity(
    effects: pd.DataFrame,
    *,
    tau_sigmas: tuple[float, ...] = (0.25, 0.5, 1.0),
    mu_prior: Prior | None = None,
    n_grid: int = 4000,
) -> pd.DataFrame:
    """The Bayesian pool under HalfNormal(sigma) priors on ``tau``, one row per ``sigma``.

    Exact for the normal-normal model: given ``tau`` the trial effects integrate out
    (``y_i ~ N(mu, s_i^2 + tau^2)``) and ``mu`` is normal, so the posterior of ``mu`` is a
    mixture of normals over a fine grid of ``tau`` (quadrature). Columns: ``tau_prior_sigma,
    percent_change`` (posterior median), ``percent_ci_low/high`` (95%), ``p_reduction``,
    ``tau`` (posterior median).
    """
    mu_prior = mu_prior or Prior(mu=0.0, sigma=1.0)
    y = effects["log_effect"].to_numpy(float)
    v = np.square(effects["se"].to_numpy(float))
    m0, s0sq = mu_prior.mu, mu_prior.sigma**2
    rows = []
    for sig in tau_sigmas:
        tau = np.linspace(0.0, 6.0 * sig, n_grid)
        w = 1 / (v[None, :] + tau[:, None] ** 2)
        vpost = 1 / (1 / s0sq + w.sum(axis=1))
        mpost = vpost * (m0 / s0sq + (w * y[None, :]).sum(axis=1))
        loglik = (
            0.5 * np.log(w).sum(axis=1)
            + 0.5 * np.log(vpost)
            - 0.5 * ((w * y**2).sum(axis=1) + m0**2 / s0sq - mpost**2 / vpost)
        )
        logp = loglik - 0.5 * (tau / sig) ** 2
        p = np.exp(logp - logp.max())
        p /= p.sum()
        sd = np.sqrt(vpost)

        def cdf(x: float, mpost=mpost, sd=sd, p=p) -> float:
            return float((p * stats.norm.cdf((x - mpost) / sd)).sum())

        from scipy.optimize import brentq

        lo_b, hi_b = float((mpost - 10 * sd).min()), float((mpost + 10 * sd).max())
        q = [brentq(lambda x, a=a: cdf(x) - a, lo_b, hi_b, xtol=1e-10) for a in (0.025, 0.5, 0.975)]
        tau_med = float(tau[np.searchsorted(np.cumsum(p), 0.5)])
        rows.append(
            {
                "tau_prior_sigma": sig,
                "percent_change": float(percent_of_log_ratio(q[1])),
                "percent_ci_low": float(percent_of_log_ratio(q[0])),
                "percent_ci_high": float(percent_of_log_ratio(q[2])),
                "p_reduction": cdf(0.0),
                "tau": tau_med,
            }
        )
    return pd.DataFrame(rows)


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
        "model": "normal-normal hierarchical (PyMC, nutpie)",
        "status": "ok" if diag.ok else "failed",
        "diagnostics": diag.to_dict(),
        "priors": {"mu": mu_prior.model_dump(), "tau": tau_prior.model_dump()},
        "settings": {
            "draws": used.draws,
            "tune": used.tune,
            "chains": used.chains,
            "seed": used.seed,
            "target_accept": used.target_accept,
        },
    }
    if not diag.ok:
        out["reason"] = "; ".join(diag.reasons) + f" (after {diag.attempts} attempts)"
        return out
    d = flat_draws(idata)
    rng = np.random.Generator(np.random.PCG64(seed))
    new = d["mu"] + d["tau"] * rng.standard_normal(d["mu"].shape)
    pct, pct_new = percent_of_log_ratio(d["mu"]), percent_of_log_ratio(new)
    out.update(
        {
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
            "trial_percent_change": [
                float(v) for v in np.median(percent_of_log_ratio(d["theta"]), axis=0)
            ],
        }
    )
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
            return {
                "method": f"Bayesian random effects; {self.frequentist['method']} alongside",
                **{
                    k: b[k]
                    for k in (
                        "percent_change",
                        "percent_ci_low",
                        "percent_ci_high",
                        "p_reduction",
                        "percent_pi_low",
                        "percent_pi_high",
                        "tau",
                    )
                },
            }
        f = self.frequentist
        return {
            "method": f"random effects ({f['method']})",
            **{
                k: f[k]
                for k in (
                    "percent_change",
                    "percent_ci_low",
                    "percent_ci_high",
                    "percent_pi_low",
                    "percent_pi_high",
                    "tau",
                )
            },
            "p_reduction": None,
        }

    def summary(self) -> pd.DataFrame:
        """One row per method: per cent change, 95% interval, prediction interval, tau."""
        f = self.frequentist
        rows = [
            {
                "method": f"random effects ({f['method']})",
                "percent_change": f["percent_change"],
                "ci_low": f["percent_ci_low"],
                "ci_high": f["percent_ci_high"],
                "pi_low": f["percent_pi_low"],
                "pi_high": f["percent_pi_high"],
                "tau": f["tau"],
                "p_reduction": None,
                "status": "ok",
            }
        ]
        b = self.bayesian
        if b is not None:
            ok = b["status"] == "ok"
            rows.append(
                {
                    "method": "Bayesian random effects",
                    "status": b["status"],
                    **(
                        {
                            "percent_change": b["percent_change"],
                            "ci_low": b["percent_ci_low"],
                            "ci_high": b["percent_ci_high"],
                            "pi_low": b["percent_pi_low"],
                            "pi_high": b["percent_pi_high"],
                            "tau": b["tau"],
                            "p_reduction": b["p_reduction"],
                        }
                        if ok
                        else {}
                    ),
                }
            )
        return pd.DataFrame(
            rows,
            columns=[
                "method",
                "percent_change",
                "ci_low",
                "ci_high",
                "pi_low",
                "pi_high",
                "tau",
                "p_reduction",
                "status",
            ],
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the headline at the top, then both pools and the trials."""
        from triplet.io import jsonable

        return jsonable(
            {
                "intervention": self.intervention,
                "k": len(self.trials),
                **self.headline,
                "frequentist": {k: v for k, v in self.frequentist.items()},
                "bayesian": self.bayesian,
                "trials": self.trials.to_dict("records"),
            }
        )

    def plot(self, ax=None):
        """Forest plot: each trial's per cent change and 95% interval, pooled diamonds."""
        import matplotlib.pyplot as plt

        t = self.trials
        n = len(t)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 1.2 + 0.45 * (n + 2)), layout="constrained")
        ys = np.arange(n)[::-1] + 2.0
        ax.errorbar(
            t["percent_change"],
            ys,
            xerr=[
                t["percent_change"] - t["percent_ci_low"],
                t["percent_ci_high"] - t["percent_change"],
            ],
            fmt="s",
            color="#333333",
            capsize=3,
        )
        labels = list(t["trial"])
        diamonds = [("random effects", self.frequentist, "#1b9e77", 1.0)]
        if self.bayesian is not None and self.bayesian.get("status") == "ok":
            diamonds.append(("Bayesian", self.bayesian, "#0550ae", 0.0))
        for name, d, colour, y in diamonds:
            lo, mid, hi = d["percent_ci_low"], d["percent_change"], d["percent_ci_high"]
            ax.fill([lo, mid, hi, mid], [y, y + 0.3, y, y - 0.3], color=colour)
            if d.get("percent_pi_low") is not None:
                ax.plot(
                    [d["percent_pi_low"], d["percent_pi_high"]], [y, y], color=colour, lw=1, ls=":"
                )
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
    method: Literal["reml", "dl", "pm"] = "reml",
    test: Literal["knha", "z"] | None = None,
    bayesian: bool = True,
    tau_sensitivity: bool = True,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 2013,
    progress: bool = False,
) -> PooledEffect:
    """Pool trials of ONE intervention type and ONE outcome measure (rows of
    :func:`effects_from_results`); REML + HKSJ unless ``method``/``test`` say otherwise."""
    missing = [c for c in ("trial", "log_effect", "se") if c not in effects.columns]
    if missing:
        raise InputError(
            Problem("effects", f"missing column(s) {', '.join(missing)}", field=missing[0])
        )
    if len(effects) < 2:
        raise InputError(
            Problem(
                "effects", f"pooling needs at least 2 trials, got {len(effects)}", field="trial"
            )
        )
    kinds = effects["intervention"].dropna().unique() if "intervention" in effects else []
    if len(kinds) > 1:
        raise InputError(
            Problem(
                "effects",
                "trials of different intervention types: "
                f"{', '.join(map(str, kinds))}; use pool_by_intervention",
                field="intervention",
            )
        )
    measures = effects["measure"].dropna().unique() if "measure" in effects else []
    if len(measures) > 1:
        raise InputError(
            Problem(
                "effects",
                "trials measure different outcomes ("
                f"{', '.join(map(str, measures))}): a per cent change in harm "
                "and one in crime counts are different quantities; pool each "
                "measure separately",
                field="measure",
            )
        )
    t = effects.reset_index(drop=True).copy()
    if "percent_change" not in t:
        z = float(stats.norm.ppf(0.975))
        t["percent_change"] = percent_of_log_ratio(t["log_effect"])
        t["percent_ci_low"] = percent_of_log_ratio(t["log_effect"] - z * t["se"])
        t["percent_ci_high"] = percent_of_log_ratio(t["log_effect"] + z * t["se"])
    freq = random_effects(t, method=method, test=test)
    t["weight_re"] = freq.pop("weights")
    if tau_sensitivity:
        freq["tau_prior_sensitivity"] = tau_prior_sensitivity(t).to_dict("records")
    bayes = (
        bayesian_pool(t, draws=draws, tune=tune, chains=chains, seed=seed, progress=progress)
        if bayesian
        else None
    )
    return PooledEffect(
        intervention=str(kinds[0]) if len(kinds) else None,
        trials=t,
        frequentist=freq,
        bayesian=bayes,
    )


def pool_results(results: list[dict[str, Any]], **kw) -> PooledEffect:
    """Pool the primary effects of results.json dictionaries of one intervention type."""
    source = kw.pop("source", "primary")
    return pool_effects(effects_from_results(results, source=source), **kw)


def pool_by_intervention(effects: pd.DataFrame, **kw) -> dict[str, PooledEffect]:
    """:func:`pool_effects` for every intervention type with at least 2 trials."""
    out = {}
    keys = ["intervention", "measure"] if "measure" in effects else ["intervention"]
    for key, group in effects.groupby(keys, sort=True, dropna=False):
        if len(group) >= 2:
            kind, *measure = key if isinstance(key, tuple) else (key,)
            label = str(kind) if not measure or pd.isna(measure[0]) else f"{kind} ({measure[0]})"
            out[label] = pool_effects(group, **kw)
    return out
