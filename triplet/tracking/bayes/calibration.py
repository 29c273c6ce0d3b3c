"""Calibration of the Bayesian effect models: coverage of the true effect in simulated trials.

Simulates SYNTHETIC panels with a known rate ratio (:func:`.simulate.simulate_panel`), fits the
count or harm model with and without the unit x post shifts, and counts how often the 95%
posterior interval holds the true effect (Cook, Gelman & Rubin 2006 for simulation-based
checks; Bertrand, Duflo & Mullainathan 2004 for why serially correlated panels break
unit-month independence). Used by the slow tests and to draw the figure in docs/bayes.md::

    .venv/bin/python -m triplet.tracking.bayes.calibration docs/figures/bayes_calibration.png
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from triplet.io import jsonable

__all__ = ["CoverageStudy", "coverage_study"]


@dataclass(frozen=True, eq=False)
class CoverageStudy:
    """Per fit: scenario, model, rep, true and estimated log ratio, 95% interval, covered."""

    fits: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Coverage (with a Wilson 95% interval), median width and failures per scenario x model.

        Width is of the 95% interval of the log ratio; failed fits (failure rule) are counted,
        not covered.
        """
        rows = []
        for (scenario, model), g in self.fits.groupby(["scenario", "model"], sort=False):
            ok = g[g["ok"]]
            k, n = int(ok["covered"].sum()), len(ok)
            lo, hi = _wilson(k, n)
            rows.append(
                {
                    "scenario": scenario,
                    "model": model,
                    "n_fits": len(g),
                    "n_failed": int((~g["ok"]).sum()),
                    "covered": k,
                    "coverage": k / n if n else math.nan,
                    "coverage_low": lo,
                    "coverage_high": hi,
                    "median_width": float((ok["hi"] - ok["lo"]).median()),
                    "mean_estimate": float(ok["estimate"].mean()),
                    "true": float(g["true"].iloc[0]),
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        s = self.summary().astype(object).where(self.summary().notna(), None)
        return jsonable({"settings": self.settings, "summary": s.to_dict("records")})

    def plot(self, ax=None):
        """One panel per scenario x model: each rep's 95% interval (red if it misses the truth)."""
        import matplotlib.pyplot as plt

        keys = list(dict.fromkeys(zip(self.fits["scenario"], self.fits["model"], strict=True)))
        scen = list(dict.fromkeys(k[0] for k in keys))
        models = list(dict.fromkeys(k[1] for k in keys))
        if ax is None:
            fig, axes = plt.subplots(
                len(scen),
                len(models),
                squeeze=False,
                sharex=True,
                figsize=(4.2 * len(models), 3.2 * len(scen)),
                layout="constrained",
            )
        else:
            axes = np.atleast_2d(ax)
            fig = axes.flat[0].figure
        summ = self.summary().set_index(["scenario", "model"])
        for i, sc in enumerate(scen):
            for j, mo in enumerate(models):
                a = axes[i, j]
                g = self.fits[
                    (self.fits["scenario"] == sc) & (self.fits["model"] == mo) & self.fits["ok"]
                ].sort_values("estimate")
                pct = 100 * np.expm1(g[["lo", "estimate", "hi"]].to_numpy())
                y = np.arange(len(g))
                colour = np.where(g["covered"], "#4d4d4d", "#d7301f")
                a.hlines(y, pct[:, 0], pct[:, 2], colors=colour, lw=1.2)
                a.plot(pct[:, 1], y, "o", ms=2.5, color="black")
                a.axvline(
                    100 * np.expm1(g["true"].iloc[0]) if len(g) else 0,
                    color="#1b9e77",
                    lw=1.5,
                    label="true effect",
                )
                s = summ.loc[(sc, mo)]
                a.set_title(
                    f"{sc}\n{mo}: {int(s['covered'])}/{int(s['n_fits'] - s['n_failed'])} cover "
                    f"({100 * s['coverage']:.0f}%)",
                    fontsize=9,
                )
                a.set_yticks([])
                if i == len(scen) - 1:
                    a.set_xlabel("change in rate (%), 95% interval")
        fig.suptitle("95% posterior intervals in simulated trials (SYNTHETIC)", fontsize=10)
        return fig


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927)."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    den = 1 + z**2 / n
    mid = (p + z**2 / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return mid - half, mid + half


SCENARIOS: dict[str, dict[str, float]] = {
    "AR(1) unit drift (rho 0.9, sd 0.5)": {"ar_sd": 0.5, "ar_rho": 0.9},
    "independent unit-months": {},
}


def _fit_panel(
    panel: pd.DataFrame, kind: str, *, unit_post: bool, draws: int, tune: int, seed: int
):
    """Fit the count (negative binomial) or harm model, with or without unit x post shifts,
    with default priors, 2 chains and no predictive checks (the failure rule applies)."""
    from triplet.registry.models import Priors
    from triplet.tracking.bayes.diagnostics import SamplerSettings
    from triplet.tracking.bayes.effect import _fit
    from triplet.tracking.bayes.harm_model import build_harm_model
    from triplet.tracking.bayes.model import build_count_model, panel_arrays

    arr = panel_arrays(panel, outcome=kind)
    if kind == "count":
        model = build_count_model(arr, priors=Priors(), unit_post=unit_post)
    else:
        model = build_harm_model(arr, priors=Priors(), unit_post=unit_post)
    return _fit(
        arr,
        model,
        kind=kind,
        family="negbin" if kind == "count" else "hurdle",
        priors=Priors(),
        minimum_effect=None,
        outcome=kind,
        measure=kind,
        estimand="simulation",
        settings=SamplerSettings(draws, tune, 2, seed),
        thresholds=None,
        progress=False,
        checks=False,
    )


def coverage_study(
    n_reps: int = 40,
    *,
    kind: str = "count",
    scenarios: dict[str, dict[str, float]] | None = None,
    n_units: int = 40,
    n_months: int = 24,
    rate_ratio: float = 0.8,
    mean_count: float = 3.0,
    draws: int = 1000,
    tune: int = 500,
    seed: int = 100,
    progress: bool = True,
) -> CoverageStudy:
    """Coverage of the true ``log(rate_ratio)`` by 95% intervals, with and without the unit x
    post shifts, over ``n_reps`` simulated panels per scenario (``kind``: count or harm).

    Each scenario is extra keyword arguments of :func:`.simulate.simulate_panel`; rep ``r``
    simulates with seed ``seed + r`` and samples with seed ``r`` (2 chains, no predictive
    checks). The true effect of the harm model is also ``log(rate_ratio)``: crimes are thinned,
    severity per crime is unchanged.
    """
    from rich.progress import Progress

    from triplet.tracking.bayes.simulate import simulate_panel

    if kind not in ("count", "harm"):
        raise ValueError(f"kind must be 'count' or 'harm', got {kind!r}")
    scenarios = SCENARIOS if scenarios is None else scenarios
    models = {"without unit x post (old)": False, "with unit x post": True}
    true = math.log(rate_ratio)
    rows = []
    total = n_reps * len(scenarios) * len(models)
    with Progress(disable=not progress) as bar, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        task = bar.add_task(f"coverage ({kind})", total=total)
        for name, extra in scenarios.items():
            for r in range(n_reps):
                panel = simulate_panel(
                    n_units,
                    n_months,
                    rate_ratio=rate_ratio,
                    mean_count=mean_count,
                    seed=seed + r,
                    **extra,
                )
                for label, unit_post in models.items():
                    eff = _fit_panel(
                        panel, kind, unit_post=unit_post, draws=draws, tune=tune, seed=r
                    )
                    row = {
                        "scenario": name,
                        "model": label,
                        "rep": r,
                        "true": true,
                        "ok": eff.ok,
                        "estimate": math.nan,
                        "lo": math.nan,
                        "hi": math.nan,
                        "covered": False,
                        "p_reduction": math.nan,
                    }
                    if eff.ok:
                        lr = eff.log_ratio_draws
                        lo, hi = np.quantile(lr, [0.025, 0.975])
                        row.update(
                            estimate=float(np.median(lr)),
                            lo=float(lo),
                            hi=float(hi),
                            covered=bool(lo <= true <= hi),
                            p_reduction=float(np.mean(lr < 0)),
                        )
                    rows.append(row)
                    bar.advance(task)
    settings = {
        "kind": kind,
        "n_reps": n_reps,
        "n_units": n_units,
        "n_months": n_months,
        "rate_ratio": rate_ratio,
        "mean_count": mean_count,
        "draws": draws,
        "tune": tune,
        "seed": seed,
        "scenarios": scenarios,
    }
    return CoverageStudy(fits=pd.DataFrame(rows), settings=settings)


def main(argv: list[str] | None = None) -> None:
    """Write the calibration figure (count and harm models) and print the coverage table."""
    import argparse

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from triplet.io import write_bytes

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("figure", help="PNG path; the harm figure goes next to it with _harm")
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--kind", choices=["count", "harm", "both"], default="both")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    import io
    import json
    from pathlib import Path

    out = Path(args.figure)
    for kind, path, kw in (
        ("count", out, {}),
        (
            "harm",
            out.with_name(out.stem + "_harm" + out.suffix),
            {"n_units": 60, "mean_count": 1.5},
        ),
    ):
        if args.kind not in (kind, "both"):
            continue
        study = coverage_study(args.reps, kind=kind, **kw)
        print(f"== {kind}")
        print(study.summary().to_string(index=False))
        print(json.dumps(study.to_dict(), default=str))
        fig = study.plot()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        write_bytes(path, buf.getvalue(), overwrite=args.overwrite)


if __name__ == "__main__":
    main()
