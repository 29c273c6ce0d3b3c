"""Design diagnosis: the fast DiD against a regression reference, and simulation against the
analytic power."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from triplet.errors import StateError
from triplet.registry.models import Design
from triplet.testing.diagnosis import diagnose, did_draws
from triplet.testing.power import PowerDesign, power


def _panel(seed: int, n: int = 200, t: int = 12, mu: float = 200.0, sd: float = 10.0, rho=0.5):
    """Equicorrelated normal panel: unit effect (variance rho sd^2) plus noise."""
    rng = np.random.default_rng(seed)
    y = mu + rng.normal(0, sd * np.sqrt(rho), (n, 1)) + rng.normal(0, sd * np.sqrt(1 - rho), (n, t))
    ids = [f"u{i:03d}" for i in range(n)]
    panel = pd.DataFrame(
        {"unit": np.repeat(ids, t), "month": np.tile(np.arange(t), n), "harm": y.ravel()}
    )
    return panel, pd.DataFrame({"unit": ids})


def test_fast_did_matches_ols_with_block_effects_and_cluster_se():
    rng = np.random.default_rng(3)
    n = 40
    d0 = rng.normal(0, 1, n)
    post = rng.uniform(5, 10, n)
    strata = np.repeat(np.arange(4), 10)
    clusters = np.arange(n) // 2
    z = np.zeros((1, n), dtype=bool)
    for s in range(4):
        z[0, rng.choice(np.flatnonzero(strata == s), 5, replace=False)] = True
    r = 0.3
    res = did_draws(d0, post, z, strata, clusters, [r])
    d = d0 - r * post * z[0]
    x = np.column_stack([z[0].astype(float), pd.get_dummies(strata).to_numpy(dtype=float)])
    fit = sm.OLS(d, x).fit(cov_type="cluster", cov_kwds={"groups": clusters})
    assert res["estimate"][0, 0] == pytest.approx(fit.params[0], rel=1e-10)
    assert res["se"][0, 0] == pytest.approx(fit.bse[0], rel=1e-10)
    # the estimand: the injected effect, -r times the mean post level of treated units
    assert res["estimand"][0, 0] == pytest.approx(-r * post[z[0]].mean())


def test_simulated_power_agrees_with_analytic_power():
    """Complete randomisation, DiD with 6 + 6 months, rho = 0.5: McKenzie's (2012) analytic
    power against the simulated rejection rate over 20 panels x 200 trials (MC SE ~0.008)."""
    n, sd, mu = 200, 10.0, 200.0
    analytic_design = PowerDesign(n_units=n, sd=sd, pre_months=6, post_months=6, rho=0.5)
    effect = 1.3  # outcome units; analytic power ~0.61
    reduction = effect / mu
    sims = []
    for s in range(20):
        panel, units = _panel(s, n=n, mu=mu, sd=sd)
        d = diagnose(
            panel,
            units,
            Design(method="complete", seed=s),
            reduction=reduction,
            effects=[reduction],
            n_sims=200,
            post_months=6,
            seed=100 + s,
        )
        sims.append(d.power)
    simulated = float(np.mean(sims))
    analytic = power(analytic_design, effect)
    mcse = np.sqrt(simulated * (1 - simulated) / (20 * 200))
    assert abs(simulated - analytic) < 3 * mcse, (simulated, analytic, mcse)


def test_type_i_error_bias_and_coverage_on_a_blocked_design():
    panel, units = _panel(1, n=100, t=24)
    units["harm_tier"] = np.repeat([1, 2, 3, 4], 25)
    d = diagnose(
        panel,
        units,
        Design(method="block", block_by="harm_tier", seed=1),
        reduction=0.01,
        n_sims=2000,
        seed=5,
    )
    row0 = d.table.iloc[0]
    assert row0["reduction"] == 0.0
    assert abs(d.type_i_error - 0.05) < 4 * row0["power_mcse"]
    head = d.table[d.table["reduction"] == 0.01].iloc[0]
    assert abs(head["bias"]) < 4 * head["bias_mcse"]
    assert abs(head["coverage"] - 0.95) < 4 * head["coverage_mcse"]
    # the power curve rises with the effect
    assert d.table.sort_values("reduction")["power"].is_monotonic_increasing
    s = d.summary()
    assert "type-I error (effect 0)" in set(s["diagnosand"])
    assert d.to_dict()["n_sims"] == 2000
    assert d.plot().get_ylabel() == "power"


def test_same_seed_same_diagnosis_and_parallel_equals_serial():
    panel, units = _panel(2, n=60, t=12)
    design = Design(method="complete", seed=3)
    a = diagnose(panel, units, design, n_sims=400, seed=9, workers=1)
    b = diagnose(panel, units, design, n_sims=400, seed=9, workers=2)
    pd.testing.assert_frame_equal(a.table, b.table)


def test_pairs_and_clusters_run():
    panel, units = _panel(4, n=60, t=12)
    units["clu"] = [f"c{i // 3}" for i in range(60)]
    units["baseline_harm"] = panel.groupby("unit")["harm"].sum().reindex(units["unit"]).to_numpy()
    for design in (
        Design(method="matched_pair", seed=1),
        Design(method="cluster", cluster_by="clu", seed=1),
    ):
        d = diagnose(panel, units, design, n_sims=300, seed=2, reduction=0.02)
        assert 0 <= d.power <= 1 and np.isfinite(d.table["rmse"]).all()
        assert d.analytic["icc"] >= 0


def test_matched_controls_cannot_be_rediagnosed():
    panel, units = _panel(1, n=20, t=6)
    units["baseline_harm"] = 1.0
    design = Design(method="matched_control", seed=1, matching={"treated": ["u001"]})
    with pytest.raises(StateError, match="matched-control"):
        diagnose(panel, units, design, n_sims=10)
