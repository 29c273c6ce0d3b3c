"""Simulated trial panels with a known effect, for tests, benchmarks and checking the models.

Counts are negative binomial (gamma-Poisson) around ``exp(unit + month + log(rate_ratio) * d)``,
optionally with serial correlation within units: an AR(1) deviation of each unit's log rate
(``ar_sd``, ``ar_rho``) and/or a unit-specific shift from the treatment start on
(``unit_post_sd``), both mean zero, so the true rate ratio stays ``rate_ratio``. Harm adds a Cambridge-like severity per crime (lognormal days, heavy right tail) so harm is zero
wherever the count is zero. Everything simulated is SYNTHETIC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_panel"]


def simulate_panel(
    n_units: int = 60,
    n_months: int = 24,
    *,
    rate_ratio: float = 0.8,
    treatment_start: int | None = None,
    mean_count: float = 3.0,
    unit_sd: float = 0.7,
    month_sd: float = 0.15,
    alpha: float | None = 5.0,
    n_blocks: int = 0,
    harm_days_median: float = 30.0,
    harm_sigma: float = 1.5,
    ar_sd: float = 0.0,
    ar_rho: float = 0.0,
    unit_post_sd: float = 0.0,
    seed: int = 1,
) -> pd.DataFrame:
    """A SYNTHETIC panel in the tracking contract's columns (plus ``period`` and ``d``).

    Half the units (alternating, within block when ``n_blocks``) are treated from month
    ``treatment_start`` (default: two thirds in); ``rate_ratio`` multiplies their expected
    counts then. ``alpha=None`` gives Poisson counts. Harm per crime is lognormal days with
    median ``harm_days_median``. ``ar_sd`` is the stationary sd of an AR(1) (coefficient
    ``ar_rho``) log-rate deviation per unit; ``unit_post_sd`` the sd of each unit's own shift of
    log rate in the treatment period (both arms). The random draws of the panel without them are
    unchanged (they are drawn after).
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    start = treatment_start if treatment_start is not None else (2 * n_months) // 3
    units = np.arange(n_units)
    treated = units % 2 == 0
    a = np.log(mean_count) - unit_sd**2 / 2 + rng.normal(0.0, unit_sd, n_units)
    g = rng.normal(0.0, month_sd, n_months)
    post = np.arange(n_months) >= start
    d = treated[:, None] & post[None, :]
    log_mu = a[:, None] + g[None, :] + np.log(rate_ratio) * d
    if ar_sd > 0 or unit_post_sd > 0:
        dev_rng = np.random.Generator(np.random.PCG64([seed, 1]))
        e = np.zeros((n_units, n_months))
        if ar_sd > 0:
            e[:, 0] = dev_rng.normal(0.0, ar_sd, n_units)
            innov = ar_sd * np.sqrt(1.0 - ar_rho**2)
            for t in range(1, n_months):
                e[:, t] = ar_rho * e[:, t - 1] + dev_rng.normal(0.0, innov, n_units)
        if unit_post_sd > 0:
            e += dev_rng.normal(0.0, unit_post_sd, n_units)[:, None] * post[None, :]
        log_mu = log_mu + e
    mu = np.exp(log_mu)
    if alpha is not None:
        mu = rng.gamma(alpha, mu / alpha)
    count = rng.poisson(mu)
    n = count.ravel()
    per_crime = np.exp(np.log(harm_days_median) + harm_sigma * rng.standard_normal(n.sum()))
    harm = np.bincount(np.repeat(np.arange(n.size), n), weights=per_crime, minlength=n.size)
    months = pd.period_range("2023-01", periods=n_months, freq="M")
    uu = np.repeat(units, n_months)
    block = (uu // 2) % n_blocks if n_blocks else None
    frame = pd.DataFrame(
        {
            "unit": [f"u{i:03d}" for i in uu],
            "month": np.tile(months, n_units),
            "count": n.astype(np.int64),
            "harm": harm,
            "arm": np.where(treated[uu], "treatment", "control"),
            "treated": treated[uu],
            "post": np.tile(post, n_units),
            "block": [f"b{b}" for b in block] if block is not None else pd.NA,
            "pair": pd.NA,
            "cluster": pd.NA,
        }
    )
    frame["period"] = np.where(frame["post"], "treatment", "baseline")
    frame["d"] = (frame["treated"] & frame["post"]).astype(np.int64)
    frame.attrs["synthetic"] = True
    return frame
