"""Funnel plots: areas' rates against the borough's, with limits that widen for small areas.

Spiegelhalter (2005), "Funnel plots for comparing institutional performance", *Statistics in
Medicine* 24:1185-1202. Each area ``i`` has a count ``y_i`` over an exposure ``n_i`` (residents);
the target is the overall rate ``theta = sum y / sum n``. Limits at probability ``p``:

* ``overdispersion="none"``: exact Poisson limits with Spiegelhalter's interpolation (his
  Appendix A.1.1, here for the Poisson): ``r_p`` is the ``p`` quantile of Poisson(``theta n``)
  (smallest ``r`` with ``F(r) >= p``), ``alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1))``, and the
  limit is ``(r_p - alpha) / n``;
* ``"multiplicative"`` (his section 6.1): the z-scores ``z_i = (y_i/n_i - theta) /
  sqrt(theta / n_i)`` are Winsorised at 10% each tail, ``phi = mean(z^2)``; if ``phi > 1`` the
  limits are ``theta +/- z_p sqrt(phi theta / n)``;
* ``"additive"`` (his section 6.2, a random-effects variance as DerSimonian & Laird 1986):
  ``tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w)`` with ``w = 1 / s^2``,
  ``s^2 = theta / n``, limits ``theta +/- z_p sqrt(s^2 + tau^2)``; ``tau^2 = 0`` when ``I phi
  <= I - 1``.

Default limits 95% and 99.8% (two-sided). An area is flagged only outside the 99.8% limits, so
a small area with an unlucky year is not singled out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from triplet.errors import InputError
from triplet.io import jsonable

__all__ = ["Funnel", "funnel", "overdispersion_phi", "poisson_limit"]


def poisson_limit(p: float, expected: float | np.ndarray) -> np.ndarray:
    """Interpolated ``p``-quantile of Poisson(``expected``) on the count scale (Spiegelhalter
    2005, Appendix A.1.1): ``r_p - (F(r_p) - p) / (F(r_p) - F(r_p - 1))``."""
    from scipy import stats

    lam = np.atleast_1d(np.asarray(expected, dtype=float))
    r = stats.poisson.ppf(p, lam)
    f_r = stats.poisson.cdf(r, lam)
    f_r1 = stats.poisson.cdf(r - 1, lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(f_r > f_r1, (f_r - p) / (f_r - f_r1), 0.0)
    return np.maximum(r - alpha, 0.0)


def overdispersion_phi(z: np.ndarray, winsor: float = 0.1) -> float:
    """``phi``: the mean squared z-score after Winsorising ``winsor`` of each tail (values beyond
    the tail quantiles set to those quantiles). Spiegelhalter (2005), section 6.1."""
    z = np.asarray(z, dtype=float)
    z = z[np.isfinite(z)]
    if len(z) == 0:
        raise InputError("no z-scores to estimate over-dispersion from")
    lo, hi = np.quantile(z, [winsor, 1 - winsor])
    zw = np.clip(z, lo, hi)
    return float(np.mean(zw**2))


@dataclass(frozen=True)
class Funnel:
    """A funnel plot: ``table`` (``unit, count, exposure, rate, z, lower95, upper95, lower998,
    upper998, outside95, outside998, side``), the target rate, the over-dispersion used."""

    table: pd.DataFrame
    target: float
    method: str
    phi: float
    tau2: float
    per: float

    def summary(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        t = self.table.astype(object)
        return jsonable(
            {
                "target": self.target,
                "method": self.method,
                "phi": self.phi,
                "tau2": self.tau2,
                "per": self.per,
                "units": t.where(t.notna(), None).to_dict("records"),
            }
        )

    def flagged(self) -> dict[str, Any]:
        """Target rate (per ``per``), method and the areas above / below the 99.8% limits."""
        t = self.table
        return {
            "target_rate": self.target * self.per,
            "per": self.per,
            "method": self.method,
            "phi": self.phi,
            "tau2": self.tau2,
            "n_areas": len(t),
            "high": t.loc[t["side"] == "high", "unit"].tolist(),
            "low": t.loc[t["side"] == "low", "unit"].tolist(),
        }

    def limits_curve(self, exposures: np.ndarray) -> pd.DataFrame:
        """The funnel's limits (rates per ``per``) over a grid of exposures."""
        lim = _limits(self.target, np.asarray(exposures, float), self.method, self.phi, self.tau2)
        return pd.DataFrame({"exposure": exposures, **{k: v * self.per for k, v in lim.items()}})

    def plot(self, ax=None, *, title: str | None = None, xlabel: str = "residents"):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        t = self.table
        grid = np.linspace(max(t["exposure"].min() * 0.8, 1), t["exposure"].max() * 1.05, 200)
        c = self.limits_curve(grid)
        ax.axhline(self.target * self.per, color="#57606a", lw=1)
        for col, ls in (("lower95", "--"), ("upper95", "--"), ("lower998", ":"), ("upper998", ":")):
            ax.plot(c["exposure"], c[col], color="#57606a", lw=0.8, ls=ls)
        colour = np.where(t["outside998"], "#e36209", "#1f6feb")
        ax.scatter(t["exposure"], t["rate"] * self.per, c=colour, s=12)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(f"rate per {self.per:,.0f}", fontsize=8)
        if title:
            ax.set_title(title, fontsize=9)
        return ax


def _limits(
    theta: float, n: np.ndarray, method: str, phi: float, tau2: float
) -> dict[str, np.ndarray]:
    from scipy import stats

    out = {}
    for name, p in (
        ("lower95", 0.025),
        ("upper95", 0.975),
        ("lower998", 0.001),
        ("upper998", 0.999),
    ):
        if method == "none":
            out[name] = poisson_limit(p, theta * n) / n
        else:
            z = stats.norm.ppf(p)
            s2 = theta / n
            var = phi * s2 if method == "multiplicative" else s2 + tau2
            out[name] = np.maximum(theta + z * np.sqrt(var), 0.0)
    return out


def funnel(
    counts: pd.Series,
    exposure: pd.Series,
    *,
    target: float | None = None,
    overdispersion: Literal["none", "multiplicative", "additive"] = "additive",
    per: float = 1000.0,
) -> Funnel:
    """Funnel plot of areas' rates ``counts / exposure`` (aligned Series indexed by area id).

    ``target`` defaults to the overall rate. Areas with no exposure are an error (named).
    """
    c = counts.astype(float)
    n = exposure.reindex(c.index).astype(float)
    bad = n.index[~(n > 0)]
    if len(bad):
        raise InputError(
            f"{len(bad)} areas have no positive exposure (residents), e.g. {list(bad[:3])}"
        )
    if overdispersion not in ("none", "multiplicative", "additive"):
        raise InputError(
            f"overdispersion must be none, multiplicative or additive: {overdispersion!r}"
        )
    theta = float(c.sum() / n.sum()) if target is None else float(target)
    if theta <= 0:
        raise InputError("the target rate must be positive")
    rate = c / n
    s2 = theta / n
    z = (rate - theta) / np.sqrt(s2)
    phi, tau2 = 1.0, 0.0
    if overdispersion != "none":
        phi = overdispersion_phi(z.to_numpy())
        if overdispersion == "multiplicative":
            phi = max(phi, 1.0)
        else:
            w = 1 / s2.to_numpy()
            k = len(w)
            tau2 = max((k * phi - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()), 0.0)
    lim = _limits(theta, n.to_numpy(), overdispersion, phi, tau2)
    table = pd.DataFrame(
        {
            "unit": c.index.astype(str),
            "count": c.to_numpy(),
            "exposure": n.to_numpy(),
            "rate": rate.to_numpy(),
            "z": z.to_numpy(),
            **lim,
        }
    )
    table["outside95"] = (table["rate"] < table["lower95"]) | (table["rate"] > table["upper95"])
    table["outside998"] = (table["rate"] < table["lower998"]) | (table["rate"] > table["upper998"])
    table["side"] = np.where(
        table["rate"] > table["upper998"],
        "high",
        np.where(table["rate"] < table["lower998"], "low", ""),
    )
    return Funnel(table=table, target=theta, method=overdispersion, phi=phi, tau2=tau2, per=per)
