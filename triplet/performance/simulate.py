"""Error rates of the charts' decision rules, by simulation (the figures in docs/performance.md).

* :func:`false_signal_rate`: stable series (independent normal months, or over-dispersed
  seasonal counts), limits set on ``n_baseline`` months, then ``n_monitor`` months watched:
  the share of series with at least one signal in the monitored months, per rule and overall.
  With ``known=True`` the chart uses the true mean and sigma (the textbook promise: 0.27% of
  points beyond 3 sigma, an average run length of 255 points to a run of 8, etc.).
* :func:`detection`: the same with a sustained shift of ``shift`` (in standard deviations, or
  as a rate ratio for counts) from the first monitored month: the share of series in which the
  shift is signalled within 1, 2, ... months.

Random numbers from ``numpy.random.Generator(PCG64(seed))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.random import PCG64, Generator

from triplet.io import jsonable
from triplet.performance.spc import D2, RUN, TREND

__all__ = [
    "SignalRates",
    "detection",
    "false_signal_rate",
    "fired_at",
    "run_rule_theory",
    "seasonal_counts",
    "trend_rule_theory",
]


@dataclass(frozen=True)
class SignalRates:
    """Share of simulated series with a signal in the monitored months (per rule and any)."""

    n_series: int
    n_baseline: int
    n_monitor: int
    rates: dict[str, float]
    first_signal: np.ndarray  # month (1-based) of the first signal after the start, 0 = none

    def within(self, months: int) -> float:
        """Share of series signalled within ``months`` monitored months."""
        return float(np.mean((self.first_signal > 0) & (self.first_signal <= months)))

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{"rule": k, "rate": v} for k, v in self.rates.items()])

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "n_series": self.n_series,
                "n_baseline": self.n_baseline,
                "n_monitor": self.n_monitor,
                "rates": self.rates,
            }
        )

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4, 3))
        m = np.arange(1, self.n_monitor + 1)
        ax.step(m, [self.within(k) for k in m], where="post")
        ax.set_xlabel("months after the start")
        ax.set_ylabel("share signalled")
        return ax


def seasonal_counts(
    rng: Generator, n_months: int, *, mean: float, dispersion: float, amplitude: float = 0.15
) -> np.ndarray:
    """Monthly negative-binomial counts with a sinusoidal season (peak in July), variance
    ``dispersion x mean`` (gamma-Poisson)."""
    m = np.arange(n_months)
    mu = mean * np.exp(amplitude * np.cos(2 * np.pi * (m - 6) / 12))
    shape = mu / max(dispersion - 1, 1e-9)
    lam = rng.gamma(shape, mu / shape) if dispersion > 1 else mu
    return rng.poisson(lam).astype(float)


def fired_at(z: np.ndarray, *, limit: float = 3.0, run: int = RUN, trend: int = TREND):
    """For series in the rows of ``z`` (standardised deviations in units of sigma): whether each
    rule fires *at* each month, reading the series up to that month only (what the Board
    would have seen then). A run fires when the same-side streak ending at the month reaches
    ``run``; a trend when the streak of equal-direction steps reaches ``trend - 1``.
    Returns dict of bool arrays shaped like ``z``."""
    z = np.atleast_2d(np.asarray(z, dtype=float))
    n_s, n = z.shape
    side = np.sign(z).astype(int)
    beyond = np.abs(z) > limit
    run_f = np.zeros_like(beyond)
    trend_f = np.zeros_like(beyond)
    streak = np.where(side != 0, 1, 0)[:, 0]
    steps = np.zeros(n_s, dtype=int)  # signed count of equal steps ending here
    for t in range(1, n):
        same = (side[:, t] == side[:, t - 1]) & (side[:, t] != 0)
        streak = np.where(same, streak + 1, np.where(side[:, t] != 0, 1, 0))
        run_f[:, t] = streak >= run
        d = np.sign(z[:, t] - z[:, t - 1]).astype(int)
        steps = np.where((d != 0) & (np.sign(steps) == d), steps + d, d)
        trend_f[:, t] = np.abs(steps) >= trend - 1
    run_f[:, 0] = run <= 1
    return {"beyond": beyond, "run": run_f, "trend": trend_f}


def _simulate(
    n_series: int,
    n_baseline: int,
    n_monitor: int,
    *,
    shift: float,
    known: bool,
    seed: int,
    run: int,
    trend: int,
    counts: dict | None,
) -> SignalRates:
    rng = Generator(PCG64(seed))
    n = n_baseline + n_monitor
    if counts is None:
        y = rng.standard_normal((n_series, n))
        y[:, n_baseline:] += shift
        if known:
            z = y
        else:  # XmR: baseline mean, sigma = mean moving range / 1.128
            centre = y[:, :n_baseline].mean(axis=1, keepdims=True)
            sigma = np.abs(np.diff(y[:, :n_baseline], axis=1)).mean(axis=1, keepdims=True) / D2
            z = (y - centre) / sigma
    else:
        from triplet.performance.expected import expected_values
        from triplet.performance.spc import seasonal_u_chart

        months = pd.period_range("2020-01", periods=n, freq="M")
        z = np.empty((n_series, n))
        for i in range(n_series):
            yi = seasonal_counts(rng, n, **counts)
            yi[n_baseline:] = rng.binomial(yi[n_baseline:].astype(int), min(shift, 1.0))
            ev = expected_values(pd.Series(yi, index=months), n_baseline=n_baseline)
            chart = seasonal_u_chart(
                yi,
                ev.table["expected"],
                n_baseline=n_baseline,
                leverage=ev.leverage,
                months=months,
                run=run,
                trend=trend,
            )
            z[i] = chart.table["z"].to_numpy(float)
    fired = {k: v[:, n_baseline:] for k, v in fired_at(z, run=run, trend=trend).items()}
    any_ = fired["beyond"] | fired["run"] | fired["trend"]
    rates = {k: float(v.any(axis=1).mean()) for k, v in fired.items()}
    rates["any"] = float(any_.any(axis=1).mean())
    first = np.where(any_.any(axis=1), np.argmax(any_, axis=1) + 1, 0)
    return SignalRates(n_series, n_baseline, n_monitor, rates, first)


def run_rule_theory(n_before: int, n_watch: int, *, limit: float = 3.0, run: int = RUN) -> dict:
    """Exact false-signal probabilities in ``n_watch`` months for independent normal months
    with known mean and sigma, for the beyond-limits and run rules (alone and together), by a
    Markov chain on the current same-side streak (capped at ``run``) started ``n_before``
    months earlier. Returns ``{"beyond", "run", "beyond_or_run"}``."""
    from scipy import stats

    p_out = 2 * stats.norm.sf(limit)  # beyond, either side
    out = {}
    for use_beyond, use_run, key in ((1, 0, "beyond"), (0, 1, "run"), (1, 1, "beyond_or_run")):
        # state: streak length 1..run-1 (sides symmetric); probability mass not yet signalled
        p = np.zeros(run)  # p[k] = P(streak == k and no signal in the watched months so far)
        p[1] = 1.0
        fired_mass = 0.0
        for t in range(1, n_before + n_watch):
            watching = t >= n_before
            new = np.zeros(run)
            for k in range(1, run):
                if p[k] == 0:
                    continue
                # next point on the same side (prob 1/2) or the other side (1/2);
                # within each side, beyond the limit with prob p_out / 2 out of 1/2
                for same in (True, False):
                    k2 = min(k + 1, run) if same else 1
                    for beyond in (True, False):
                        pr = (p_out / 2) if beyond else (0.5 - p_out / 2)
                        mass = p[k] * pr
                        signal = watching and ((use_beyond and beyond) or (use_run and k2 >= run))
                        if signal:
                            fired_mass += mass
                        else:
                            new[min(k2, run - 1)] += mass
            p = new
        out[key] = fired_mass
    return out


def false_signal_rate(
    n_series: int = 2000,
    n_baseline: int = 24,
    n_monitor: int = 12,
    *,
    known: bool = False,
    seed: int = 17,
    run: int = RUN,
    trend: int = TREND,
    counts: dict | None = None,
) -> SignalRates:
    """Share of stable series with a (false) signal in ``n_monitor`` monitored months.

    ``counts``: simulate seasonal over-dispersed counts (``mean``, ``dispersion``,
    ``amplitude``) charted with the seasonal u' chart; default independent normal months on an
    XmR chart.
    """
    return _simulate(
        n_series,
        n_baseline,
        n_monitor,
        shift=0.0 if counts is None else 1.0,
        known=known,
        seed=seed,
        run=run,
        trend=trend,
        counts=counts,
    )


def detection(
    shift: float,
    n_series: int = 2000,
    n_baseline: int = 24,
    n_monitor: int = 12,
    *,
    seed: int = 18,
    run: int = RUN,
    trend: int = TREND,
    counts: dict | None = None,
) -> SignalRates:
    """Signals after a sustained shift from the first monitored month: ``shift`` standard
    deviations (normal months, XmR chart), or a rate ratio (< 1, by thinning) for ``counts``."""
    return _simulate(
        n_series,
        n_baseline,
        n_monitor,
        shift=shift,
        known=False,
        seed=seed,
        run=run,
        trend=trend,
        counts=counts,
    )


def trend_rule_theory(n_before: int, n_watch: int, *, trend: int = TREND) -> float:
    """Exact probability that the trend rule fires in ``n_watch`` months after ``n_before``
    months, for independent months from any continuous distribution (the rule reads only the
    order of the values, so limits do not matter).

    Dynamic programme over the relative rank of the latest month among those so far (uniform
    for a new month and independent of the earlier order) and the signed count of equal
    steps ending at it; a state reaching ``trend - 1`` equal steps inside the watched months is
    absorbed as a signal.
    """
    k_max = trend - 1  # steps in a row that make a trend
    # dp[r, j]: probability (no signal yet) that the latest value has rank r (0-based) among
    # those so far and the signed streak is j - k_max (j = k_max means no step yet)
    dp = np.zeros((1, 2 * k_max + 1))
    dp[0, k_max] = 1.0
    fired = 0.0
    for i in range(1, n_before + n_watch):  # adding month i (0-based); i values so far
        new = np.zeros((i + 1, 2 * k_max + 1))
        watching = i >= n_before
        below = np.vstack([np.zeros((1, dp.shape[1])), np.cumsum(dp, axis=0)])  # mass with r < r'
        total = below[-1]
        for r_new in range(i + 1):
            up = below[r_new] / (i + 1)  # previous rank < r_new: the new value is higher
            down = (total - below[r_new]) / (i + 1)
            for j in range(2 * k_max + 1):
                streak = j - k_max
                for mass, step in ((up[j], 1), (down[j], -1)):
                    if mass == 0:
                        continue
                    s2 = streak + step if np.sign(streak) == step else step
                    if abs(s2) >= k_max and watching:
                        fired += mass
                    else:
                        s2 = max(min(s2, k_max), -k_max)
                        new[r_new, s2 + k_max] += mass
        dp = new
    return float(fired)


def report(*, n_normal: int = 200_000, n_counts: int = 1000) -> str:
    """The markdown tables of docs/performance.md (``python -m triplet.performance.simulate``)."""
    th = run_rule_theory(24, 12)
    known = false_signal_rate(n_normal, known=True, seed=17)
    est = false_signal_rate(n_normal, seed=17)
    seas = false_signal_rate(n_counts, counts=dict(mean=80, dispersion=2.0), seed=17)
    lines = [
        "| rule | promise: known mean and sigma (exact) | simulated, known | XmR, limits from 24 months | seasonal u', 24 months (counts) |",
        "|---|---|---|---|---|",
    ]
    promise = {
        "beyond": f"{th['beyond']:.1%}",
        "run": f"{th['run']:.1%}",
        "trend": f"{trend_rule_theory(24, 12):.1%} (any limits)",
        "any": f"beyond or run: {th['beyond_or_run']:.1%}",
    }
    for rule in ("beyond", "run", "trend", "any"):
        lines.append(
            f"| {rule} | {promise[rule]} | {known.rates[rule]:.1%} | {est.rates[rule]:.1%} | "
            f"{seas.rates[rule]:.1%} |"
        )
    lines += [
        "",
        "| shift from month 1 | within 1 | 3 | 6 | 8 | 12 months |",
        "|---|---|---|---|---|---|",
    ]
    for s in (1.0, 1.5, 2.0):
        d = detection(s, n_normal // 4, seed=18)
        lines.append(
            f"| {s:g} sigma (XmR) | "
            + " | ".join(f"{d.within(k):.0%}" for k in (1, 3, 6, 8, 12))
            + " |"
        )
    for rr, mean in ((0.8, 80), (0.7, 80), (0.7, 200)):
        d = detection(rr, n_counts, counts=dict(mean=mean, dispersion=2.0), seed=18)
        lines.append(
            f"| {1 - rr:.0%} fall, mean {mean}/month (seasonal u') | "
            + " | ".join(f"{d.within(k):.0%}" for k in (1, 3, 6, 8, 12))
            + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(report())
