"""Sampling with nutpie, ArviZ 1.x convergence diagnostics and the failure rule.

Rule (Vehtari, Gelman, Simpson, Carpenter & Burkner 2021, *Rank-normalization, folding, and
localization: an improved R-hat*), in three parts:

* the **reported effect** (``beta``; for harm ``any_beta``, ``size_beta`` and the derived
  ``log_harm_ratio``) needs bulk and tail effective sample sizes of at least 400 (scaled down in
  proportion when fewer than 2,000 draws are kept, e.g. in tests): ESS sets the Monte Carlo
  error of what is reported;
* the effect and every **scalar** parameter (intercepts, standard deviations, dispersion) need a
  rank-normalised split R-hat of at most 1.01;
* **every** sampled parameter, the hundreds of unit and month effects included, needs an R-hat
  of at most 1.05: with hundreds of nuisance parameters and a few thousand draws the largest
  R-hat exceeds 1.01 by chance alone, while 1.05 still catches a chain stuck elsewhere;
* no transition may diverge.

A fit that fails is re-run once with stricter settings (target acceptance
0.95, twice the tuning and draws); if it still fails it is reported as failed, with the reason,
and no estimate is shown.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

__all__ = [
    "Diagnostics",
    "SamplerSettings",
    "Thresholds",
    "diagnose",
    "flat_draws",
    "sample_with_retry",
]


@dataclass(frozen=True)
class Thresholds:
    """Convergence thresholds. ``ess_min=None`` means 400 x min(1, kept draws / 2,000)."""

    rhat_max: float = 1.01
    rhat_max_all: float = 1.05
    ess_min: float | None = None
    divergences_max: int = 0

    def ess_for(self, n_draws: int) -> float:
        if self.ess_min is not None:
            return float(self.ess_min)
        return 400.0 * min(1.0, n_draws / 2000.0)


@dataclass(frozen=True)
class SamplerSettings:
    """What was asked of nutpie on one attempt."""

    draws: int
    tune: int
    chains: int
    seed: int
    target_accept: float = 0.8

    def stricter(self) -> SamplerSettings:
        """The retry: target acceptance 0.95, twice the tuning and the draws."""
        return SamplerSettings(
            draws=2 * self.draws,
            tune=2 * self.tune,
            chains=self.chains,
            seed=self.seed + 1,
            target_accept=max(0.95, self.target_accept),
        )


@dataclass(frozen=True)
class Diagnostics:
    """ArviZ 1.x diagnostics over the sampled parameters, and whether they pass."""

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    n_draws: int
    worst: str
    rhat_max_all: float = math.nan
    attempts: int = 1
    reasons: tuple[str, ...] = field(default_factory=tuple)
    retried_because: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.reasons

    def to_dict(self) -> dict:
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        d["retried_because"] = list(self.retried_because)
        for k in ("rhat_max", "rhat_max_all", "ess_bulk_min", "ess_tail_min"):
            v = d[k]
            d[k] = None if v is None or not math.isfinite(v) else float(v)
        return d


def _min_over(tree, fn) -> tuple[float, str]:
    """The smallest (or with ``fn`` returning negatives, largest) value over all variables."""
    best, where = math.inf, ""
    for name, da in tree.to_dataset().data_vars.items():
        vals = np.asarray(fn(da), dtype=float).ravel()
        if vals.size == 0:
            continue
        v = float(np.nanmin(vals)) if np.isfinite(vals).any() else math.nan
        if math.isnan(v):
            return math.nan, str(name)
        if v < best:
            best, where = v, str(name)
    return best, where


def diagnose(
    idata,
    all_vars: list[str],
    monitored: list[str],
    thresholds: Thresholds,
    attempts: int = 1,
    effect_vars: list[str] | None = None,
) -> Diagnostics:
    """Max R-hat of ``monitored``, min bulk/tail ESS of ``effect_vars`` (default: monitored),
    max R-hat over ``all_vars`` (ArviZ 1.x, rank-normalised), divergences after warm-up."""
    import arviz as az

    ess_vars = effect_vars or monitored
    rhat = az.rhat(idata, var_names=monitored)
    neg_all, worst_all = _min_over(az.rhat(idata, var_names=all_vars), lambda da: -da.values)
    rhat_all = -neg_all
    ess_b = az.ess(idata, var_names=ess_vars, method="bulk")
    ess_t = az.ess(idata, var_names=ess_vars, method="tail")
    neg_rhat, worst_r = _min_over(rhat, lambda da: -da.values)
    rhat_max = -neg_rhat
    bulk, worst_b = _min_over(ess_b, lambda da: da.values)
    tail, _ = _min_over(ess_t, lambda da: da.values)
    div = int(np.asarray(idata["sample_stats"]["diverging"]).sum())
    post = idata["posterior"]
    n_draws = int(post.sizes["chain"] * post.sizes["draw"])
    need = thresholds.ess_for(n_draws)
    reasons = []
    if not (rhat_max <= thresholds.rhat_max):
        reasons.append(f"R-hat {rhat_max:.3f} > {thresholds.rhat_max} ({worst_r})")
    if not (bulk >= need):
        reasons.append(f"bulk ESS {bulk:.1f} < {need:.1f} ({worst_b})")
    if not (rhat_all <= thresholds.rhat_max_all):
        reasons.append(f"R-hat {rhat_all:.3f} > {thresholds.rhat_max_all} ({worst_all})")
    if not (tail >= need):
        reasons.append(f"tail ESS {tail:.1f} < {need:.1f}")
    if div > thresholds.divergences_max:
        reasons.append(f"{div} divergent transitions")
    return Diagnostics(
        rhat_max=rhat_max,
        ess_bulk_min=bulk,
        ess_tail_min=tail,
        divergences=div,
        n_draws=n_draws,
        worst=worst_r if rhat_max > thresholds.rhat_max else worst_b,
        rhat_max_all=rhat_all,
        attempts=attempts,
        reasons=tuple(reasons),
    )


def _sample(compiled, s: SamplerSettings, progress: bool):
    import nutpie

    return nutpie.sample(
        compiled,
        draws=s.draws,
        tune=s.tune,
        chains=s.chains,
        cores=s.chains,
        seed=s.seed,
        save_warmup=False,
        progress_bar=progress,
        target_accept=s.target_accept,
    )


def sample_with_retry(
    model,
    settings: SamplerSettings,
    *,
    effect: tuple[str, ...],
    derive=None,
    derived: tuple[str, ...] = (),
    thresholds: Thresholds | None = None,
    progress: bool = True,
):
    """Compile ``model`` once with nutpie (numba; reused across fits of the same structure,
    :mod:`.compiled`), sample, diagnose; retry once if it fails.

    ``derive(idata) -> idata`` adds derived quantities (named in ``derived``) to the posterior
    before diagnosis. A sampler error counts as a failed attempt (``idata`` is then None).
    ESS >= 400: ``effect`` and ``derived``; R-hat <= 1.01: those and the scalar free
    parameters; R-hat <= 1.05: every free parameter. Returns ``(idata, diagnostics, settings_used)``.
    """
    from triplet.tracking.bayes.compiled import compile_model

    thresholds = thresholds or Thresholds()
    all_vars = [v.name for v in model.free_RVs]
    effect_vars = list(effect) + list(derived)
    monitored = list(dict.fromkeys([v.name for v in model.free_RVs if v.ndim == 0] + effect_vars))
    compiled, _reused = compile_model(model)
    s = settings
    first: tuple[str, ...] = ()
    for attempt in (1, 2):
        try:
            idata = _sample(compiled, s, progress)
        except RuntimeError as exc:  # nutpie stops when the log density cannot be evaluated
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            idata, diag = (
                None,
                Diagnostics(
                    rhat_max=math.nan,
                    ess_bulk_min=math.nan,
                    ess_tail_min=math.nan,
                    divergences=0,
                    n_draws=0,
                    worst="",
                    attempts=attempt,
                    reasons=(f"sampler stopped: {first}",),
                ),
            )
            if attempt == 2:
                break
            first, s = diag.reasons, s.stricter()
            continue
        if derive is not None:
            idata = derive(idata)
        diag = diagnose(
            idata, all_vars, monitored, thresholds, attempts=attempt, effect_vars=effect_vars
        )
        if diag.ok or attempt == 2:
            break
        first, s = diag.reasons, s.stricter()
    if first:
        diag = replace(diag, retried_because=first)
    return idata, diag, s


def flat_draws(idata, names: list[str] | None = None, group: str = "posterior") -> dict:
    """``{name: array (chain*draw, ...)}`` from a DataTree group (stacking chains)."""
    ds = idata[group].to_dataset()
    out = {}
    for name, da in ds.data_vars.items():
        if names is not None and name not in names:
            continue
        v = np.asarray(da.values, dtype=float)
        if "chain" in da.dims and "draw" in da.dims:
            v = v.reshape(-1, *v.shape[2:])
        elif "draw" in da.dims:
            pass
        out[str(name)] = v
    return out
