"""Hurdle model for crime harm (days of imprisonment per unit-month): zeros and a heavy tail.

Harm in a small unit is zero in most months and, when not, dominated by a few serious offences
(a single wounding weighs as much as hundreds of thefts in the Cambridge Crime Harm Index;
Sherman, Neyroud & Neyroud 2016). It is modelled in two parts (a hurdle; Mullahy 1986,
Cragg 1971), each with its own unit, month and group effects and its own treatment effect::

    any harm:      z[u, t] ~ Bernoulli(p),  logit p = a[u] + g[t] + c[u] post + beta_any * d
    harm if any:   log h[u, t] ~ Normal(m, sigma),  m = b[u] + k[t] + e[u] post + beta_size * d

so ``E[h] = p * exp(m + sigma^2 / 2)``. The effect reported is the ratio of expected harm in the
treated unit-months with and without treatment (both parts together)::

    ratio = sum_{d=1} p1 * exp(m1) / sum_{d=1} p0 * exp(m0)

(``sigma^2 / 2`` cancels). It is a ratio of means, the same scale as the count model's rate
ratio. Unit effects use the same within-unit centring of ``d`` and ``post`` as :mod:`.model`
(exact). ``c`` and ``e`` are unit x post shifts (each unit's own change from baseline to
treatment period, both arms; non-centred, zero-sum, sd ~ HalfNormal(0.5)) as in the count
model, in both parts: a unit's drift can move how often it has harm and how serious that harm
is, and the reported ratio combines both parts, so each part's effect must be judged against
the between-unit spread of its own shifts (docs/bayes.md).
Why not a Tweedie (compound Poisson-gamma) model: see docs/bayes.md.
"""

from __future__ import annotations

import numpy as np

from triplet.registry.models import Prior, Priors
from triplet.tracking.bayes.model import (
    UNIT_POST_SD,
    PanelArrays,
    _period_level,
    _unit_level,
    _unit_post_level,
    coords_of,
    unit_effects,
    unit_post_effects,
    use_centred,
)

__all__ = ["build_harm_model", "harm_log_ratio", "simulate_harm"]


def build_harm_model(
    arr: PanelArrays,
    *,
    priors: Priors,
    centred: tuple[bool, bool] | None = None,
    unit_post: bool = True,
    unit_post_sd: Prior = UNIT_POST_SD,
):
    """The PyMC hurdle model for ``arr`` (harm in days).

    Parameters are prefixed ``any_`` (Bernoulli part) and ``size_`` (lognormal part); the two
    treatment effects are ``any_beta`` (log odds ratio) and ``size_beta`` (log ratio of the
    typical harm when there is any), both with the trial's effect prior. ``unit_post=False``
    leaves out the unit x post shifts (``any_unit_post``, ``size_unit_post``): for comparison.
    """
    import pymc as pm
    import pytensor.tensor as pt

    m = arr.mask.astype(float)
    pos = (arr.y > 0) & arr.mask
    z = pos.astype(float)
    logh = np.where(pos, np.log(np.where(pos, arr.y, 1.0)), 0.0)
    dc = (arr.d - arr.dbar[:, None]) * m
    pc = arr.post_centred
    n_pos = int(pos.sum())
    if n_pos < 2 or n_pos == arr.n_obs:
        from triplet.errors import InputError, Problem

        raise InputError(
            Problem(
                "panel",
                f"harm is positive in {n_pos} of {arr.n_obs} unit-months; the hurdle "
                "model needs both zero and positive months",
                field=arr.outcome,
            )
        )
    if centred is None:
        per_unit_pos = pos.sum(axis=1)
        per_unit_zero = (arr.mask & ~pos).sum(axis=1)
        # centred only when the data pin each unit down well (a few binary months, or a few
        # lognormal values with sigma ~1.5, do not: the centred form then funnels)
        centred = (
            use_centred(np.minimum(per_unit_pos, per_unit_zero), 15.0),
            use_centred(per_unit_pos, 30.0),
        )
    p0 = min(max(z.sum() / arr.n_obs, 0.02), 0.98)
    with pm.Model(coords=coords_of(arr)) as model:
        # any harm (logistic)
        a0 = pm.Normal("any_intercept", mu=np.log(p0 / (1 - p0)), sigma=2.5)
        b_any = pm.Normal("any_beta", mu=priors.effect.mu, sigma=priors.effect.sigma)
        ca, ca_shift = _unit_post_level(arr, "any_", unit_post_sd) if unit_post else (None, None)
        a = _unit_level(arr, "any_", priors, a0, b_any, centred[0], shift=ca_shift)
        g = _period_level("any_", priors, centred=False, arr=arr if unit_post else None)
        eta = a[:, None] + g[None, :] + b_any * dc
        lin = pt.dot(z.sum(axis=1), a) + pt.dot(z.sum(axis=0), g) + b_any * float((z * dc).sum())
        if unit_post:
            eta = eta + ca[:, None] * pc
            lin = lin + pt.dot((z * pc).sum(axis=1), ca)
        ll_any = lin - pt.sum(m * pt.softplus(eta))
        # size of harm when there is any (lognormal)
        s0 = pm.Normal("size_intercept", mu=float(logh[pos].mean()), sigma=2.5)
        b_size = pm.Normal("size_beta", mu=priors.effect.mu, sigma=priors.effect.sigma)
        cs, cs_shift = _unit_post_level(arr, "size_", unit_post_sd) if unit_post else (None, None)
        b = _unit_level(arr, "size_", priors, s0, b_size, centred[1], shift=cs_shift)
        k = _period_level("size_", priors, centred=False, arr=arr if unit_post else None)
        sigma = pm.HalfNormal("size_sigma", sigma=2.5)
        mu = b[:, None] + k[None, :] + b_size * dc
        if unit_post:
            mu = mu + cs[:, None] * pc
        resid = z * (logh - mu)
        ll_size = (
            -n_pos * pt.log(sigma)
            - 0.5 * pt.sum(pt.square(resid)) / pt.square(sigma)
            - 0.5 * n_pos * np.log(2 * np.pi)
            - float(logh[pos].sum())
        )
        pm.Potential("loglik", ll_any + ll_size)
    model.triplet_info = {
        "centred": centred,
        "family": "hurdle_lognormal",  # type: ignore[attr-defined]
        "unit_post": unit_post,
    }
    return model


def _parts(arr: PanelArrays, draws: dict[str, np.ndarray]):
    """Untreated linear predictors (draws x units x months) of both parts."""
    n = len(arr.units)
    pc = arr.post_matrix - arr.pbar[:, None]
    a = unit_effects(draws, "any_") - draws["any_beta"][:, None] * arr.dbar
    b = unit_effects(draws, "size_") - draws["size_beta"][:, None] * arr.dbar
    eta0 = (
        a[:, :, None]
        + draws["any_period"][:, None, :]
        + unit_post_effects(draws, n, "any_")[:, :, None] * pc
    )
    mu0 = (
        b[:, :, None]
        + draws["size_period"][:, None, :]
        + unit_post_effects(draws, n, "size_")[:, :, None] * pc
    )
    return eta0, mu0


def harm_log_ratio(arr: PanelArrays, draws: dict[str, np.ndarray]) -> np.ndarray:
    """Per draw: log of expected harm with / without treatment over the treated unit-months."""
    from scipy.special import expit

    cells = (arr.d > 0) & arr.mask
    eta0, mu0 = _parts(arr, draws)
    eta0, mu0 = eta0[:, cells], mu0[:, cells]
    ba, bs = draws["any_beta"][:, None], draws["size_beta"][:, None]
    shift = mu0.max(axis=1, keepdims=True)  # for numerical stability; cancels in the ratio
    num = (expit(eta0 + ba) * np.exp(mu0 + bs - shift)).sum(axis=1)
    den = (expit(eta0) * np.exp(mu0 - shift)).sum(axis=1)
    return np.log(num) - np.log(den)


def simulate_harm(
    arr: PanelArrays, draws: dict[str, np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Replicated harm (draws x units x months) from parameter draws."""
    from scipy.special import expit

    eta0, mu0 = _parts(arr, draws)
    eta = eta0 + draws["any_beta"][:, None, None] * arr.d
    mu = mu0 + draws["size_beta"][:, None, None] * arr.d
    anyh = rng.random(eta.shape) < expit(eta)
    size = np.exp(
        np.clip(
            mu + draws["size_sigma"][:, None, None] * rng.standard_normal(mu.shape), -50.0, 50.0
        )
    )
    return np.where(anyh, size, 0.0)
