"""Few-cluster inference: CR2 + Bell-McCaffrey df against R, wild bootstrap against a naive loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.tracking.few_clusters import (
    poisson_few_clusters,
    twfe_few_clusters,
    wild_weights,
)

from .conftest import make_panel

# A 10-unit x 6-period panel; units 0, 3 and 7 treated from period 3; blocks are unit pairs.
Y = [4.99, 7.09, 6.48, 6.45, 8.24, 2.59, 4.05, 2.66, 5.08, 7.3, 5.26, 6.29, 1.78, 5.89, 3.79,
     9.15, 7.37, 7.5, 5.78, 7.13, 7.22, 5.21, 4.91, 5.67, 4.99, 5.01, 5.63, 4.74, 7.73, 3.01,
     8.15, 5.25, 5.41, 3.8, 6.21, 6.0, 7.18, 5.73, 6.99, 10.44, 7.62, 5.65, 9.01, 6.84, 8.29,
     8.33, 6.32, 3.24, 6.7, 8.5, 6.64, 8.28, 9.36, 6.31, 10.16, 10.94, 9.86, 10.03, 9.89,
     12.21]  # fmt: skip
COUNTS = [5, 3, 6, 1, 1, 3, 5, 3, 3, 5, 1, 3, 6, 2, 2, 1, 4, 4, 2, 3, 4, 6, 2, 2, 4, 3, 3, 3, 7,
          2, 5, 6, 7, 9, 8, 8, 3, 3, 6, 10, 12, 5, 9, 3, 8, 5, 8, 6, 8, 9, 6, 6, 7, 5, 9, 5, 6,
          6, 7, 6]  # fmt: skip
ARGS = {"outcome": "y", "unit": "unit", "time": "time", "treated": "d"}


@pytest.fixture
def small() -> pd.DataFrame:
    u = np.repeat(np.arange(10), 6)
    t = np.tile(np.arange(6), 10)
    d = (np.isin(u, [0, 3, 7]) & (t >= 3)).astype(int)
    return pd.DataFrame({"y": Y, "cnt": COUNTS, "unit": u, "time": t, "block": u // 2, "d": d})


# Reference figures from R 4.2.2, estimatr 1.0.0 and clubSandwich 0.5.8 (Debian packages):
#   lm_robust(y ~ d + factor(unit) + factor(time), clusters = unit, se_type = "CR2")
#   coef_test(lm(...), vcov = vcovCR(fit, cluster = unit, type = "CR2"), test = "Satterthwaite")
# (both printed the same SE and df to 13 digits).
R_UNIT = {"estimate": -2.45031746031746, "se": 0.802022308493184, "df": 3.84615384615384,
          "p": 0.0398400658725616}  # fmt: skip
#   ... y ~ d + factor(unit) + interaction(block, time), clusters = block
R_BLOCK = {"estimate": -3.92222222222222, "se": 0.87141717979081, "df": 2.0,
           "p": 0.0459834368755373}  # fmt: skip
#   g <- glm(cnt ~ d + factor(unit) + factor(time), family = poisson)
#   z <- g$linear.predictors + (cnt - fitted(g)) / fitted(g)
#   lm_robust(z ~ d + factor(unit) + factor(time), weights = fitted(g), clusters = unit,
#             se_type = "CR2")   (clubSandwich on the same WLS fit agrees)
R_POISSON = {"estimate": -0.369572185047558, "se": 0.307357004942978, "df": 2.7155919808966,
             "p": 0.323492033259036}  # fmt: skip


def test_cr2_matches_estimatr_clustered_by_unit(small):
    r = twfe_few_clusters(small, **ARGS)
    cr2 = r.row("cr2")
    assert r.estimate == pytest.approx(R_UNIT["estimate"], abs=1e-12)
    assert cr2["se"] == pytest.approx(R_UNIT["se"], rel=1e-10)
    assert cr2["df"] == pytest.approx(R_UNIT["df"], rel=1e-9)
    assert cr2["p_value"] == pytest.approx(R_UNIT["p"], rel=1e-8)
    # CRV1 is the did() figure; BM df is far below G - 1 = 9 with 3 treated clusters
    assert r.row("crv1")["df"] == 9
    assert cr2["df"] < 4


def test_cr2_matches_estimatr_block_clusters_with_block_by_time_effects(small):
    r = twfe_few_clusters(small, **ARGS, cluster="block", block="block")
    cr2 = r.row("cr2")
    assert r.estimate == pytest.approx(R_BLOCK["estimate"], abs=1e-12)
    assert cr2["se"] == pytest.approx(R_BLOCK["se"], rel=1e-10)
    assert cr2["df"] == pytest.approx(R_BLOCK["df"], rel=1e-9)
    assert cr2["p_value"] == pytest.approx(R_BLOCK["p"], rel=1e-8)


def test_poisson_cr2_matches_estimatr_on_the_last_irls_step(small):
    r = poisson_few_clusters(small, outcome="cnt", unit="unit", time="time", treated="d")
    cr2 = r.row("cr2")
    assert r.estimate == pytest.approx(R_POISSON["estimate"], abs=1e-8)
    assert cr2["se"] == pytest.approx(R_POISSON["se"], rel=1e-7)
    assert cr2["df"] == pytest.approx(R_POISSON["df"], rel=1e-6)
    assert cr2["p_value"] == pytest.approx(R_POISSON["p"], rel=1e-6)


def test_cr2_by_the_matrix_formula_on_an_unbalanced_panel():
    # hand formula with explicit dummies and dense n x n matrices (independent of the module)
    p = make_panel(n_units=12, n_periods=5, start=3, effect=1.0, seed=9).iloc[3:].reset_index()
    r = twfe_few_clusters(p, **ARGS)
    u = pd.factorize(p["unit"])[0]
    t = pd.factorize(p["time"])[0]
    X = np.column_stack([p["d"], np.eye(12)[u], np.eye(5)[t][:, 1:]]).astype(float)
    y = p["y"].to_numpy()
    M = np.linalg.pinv(X.T @ X)
    H = X @ M @ X.T
    e = y - H @ y
    n = len(y)
    IH = np.eye(n) - H
    meat, ps = 0.0, []
    for g in range(12):
        idx = np.flatnonzero(u == g)
        lam, Q = np.linalg.eigh(IH[np.ix_(idx, idx)])
        inv = np.array([1 / np.sqrt(v) if v > 1e-10 else 0.0 for v in lam])
        A = Q @ np.diag(inv) @ Q.T
        row = (M @ X.T)[0, idx]
        meat += (row @ A @ e[idx]) ** 2
        ps.append(IH[:, idx] @ A @ row)
    P = np.column_stack(ps)
    G = P.T @ P
    assert r.row("cr2")["se"] == pytest.approx(np.sqrt(meat), rel=1e-9)
    assert r.row("cr2")["df"] == pytest.approx(np.trace(G) ** 2 / np.sum(G**2), rel=1e-9)


# --------------------------------------------------------------------------- wild bootstrap


def _naive_wcr(p: pd.DataFrame, V: np.ndarray, beta0: float = 0.0) -> float:
    """Restricted wild cluster bootstrap by refitting the dummy regression for every draw."""
    u = pd.factorize(p["unit"])[0]
    t = pd.factorize(p["time"])[0]
    nu, nt = u.max() + 1, t.max() + 1
    F = np.column_stack([np.eye(nu)[u], np.eye(nt)[t][:, 1:]])
    X = np.column_stack([p["d"].to_numpy(float), F])
    y = p["y"].to_numpy(float)
    yr = y - beta0 * X[:, 0]
    fit_r = F @ np.linalg.lstsq(F, yr, rcond=None)[0]
    ur = yr - fit_r
    pinv = np.linalg.pinv(X)

    def tstat(yy):
        b = pinv @ yy
        e = yy - X @ b
        row = pinv[0]
        s = np.bincount(u, weights=row * e)
        return (b[0] - beta0) / np.sqrt(np.sum(s**2))

    t_obs = tstat(y)
    ts = np.array([tstat(fit_r + beta0 * X[:, 0] + ur * v[u]) for v in V])
    return float(np.mean(np.abs(ts) >= abs(t_obs) - 1e-12))


def test_wild_bootstrap_equals_naive_refits_exactly_when_enumerated(small):
    r = twfe_few_clusters(small, **ARGS, weights="rademacher", n_boot=9999)
    assert r.enumerated and r.n_boot == 2**10
    V, _, _ = wild_weights(10, 9999, "rademacher")
    assert r.row("wild_bootstrap")["p_value"] == pytest.approx(_naive_wcr(small, V), abs=1e-12)


def test_wild_bootstrap_agrees_with_naive_within_monte_carlo_error():
    p = make_panel(n_units=16, n_periods=6, start=3, effect=0.6, seed=21)
    B = 1999
    r = twfe_few_clusters(p, **ARGS, weights="webb", n_boot=B, seed=5)
    rng = np.random.Generator(np.random.PCG64(77))  # different draws for the reference
    webb = np.array([-np.sqrt(1.5), -1, -np.sqrt(0.5), np.sqrt(0.5), 1, np.sqrt(1.5)])
    ref = _naive_wcr(p, rng.choice(webb, size=(B, 16)))
    p1 = r.row("wild_bootstrap")["p_value"]
    se = np.sqrt(2 * ref * (1 - ref) / B)  # SE of the difference of two independent estimates
    assert abs(p1 - ref) < 4 * se + 1e-9
    assert 0.001 < ref < 0.5  # the comparison is informative


def test_wild_bootstrap_interval_inverts_the_test(small):
    r = twfe_few_clusters(small, **ARGS, weights="rademacher")
    row = r.row("wild_bootstrap")
    V, _, _ = wild_weights(10, 9999, "rademacher")
    # just inside the interval the null is not rejected, just outside it is
    eps = 1e-3
    assert _naive_wcr(small, V, row["ci_low"] + eps) >= 0.05
    assert _naive_wcr(small, V, row["ci_low"] - eps) < 0.05
    assert _naive_wcr(small, V, row["ci_high"] - eps) >= 0.05
    assert row["ci_low"] < r.estimate < row["ci_high"]


def test_wild_weights_are_seeded_and_auto_switches_to_webb():
    a, kind, enum = wild_weights(8, 999, "auto", seed=3)
    b, _, _ = wild_weights(8, 999, "auto", seed=3)
    assert kind == "webb" and not enum and np.array_equal(a, b)
    assert np.allclose(np.unique(np.abs(a)), [np.sqrt(0.5), 1, np.sqrt(1.5)])
    r, kind, enum = wild_weights(20, 999, "auto", seed=3)
    assert kind == "rademacher" and set(np.unique(r)) == {-1.0, 1.0}
    with pytest.raises(InputError):
        wild_weights(5, 99, "mammen")


def test_poisson_score_bootstrap_rejects_a_large_effect_and_not_a_null():
    rng = np.random.Generator(np.random.PCG64(4))
    p = make_panel(n_units=20, n_periods=8, start=4, seed=4)
    base = np.exp(1.5 + 0.3 * rng.normal(size=20))[pd.factorize(p["unit"])[0]]
    p["c0"] = rng.poisson(base)
    p["c1"] = rng.poisson(base * np.where(p["d"] == 1, 0.4, 1.0))
    kw = {"unit": "unit", "time": "time", "treated": "d", "n_boot": 1999, "seed": 1}
    big = poisson_few_clusters(p, outcome="c1", **kw)
    null = poisson_few_clusters(p, outcome="c0", **kw)
    assert big.row("wild_bootstrap")["p_value"] < 0.01
    assert null.row("wild_bootstrap")["p_value"] > 0.05
    lo, hi = big.row("wild_bootstrap")["ci_low"], big.row("wild_bootstrap")["ci_high"]
    assert lo < big.estimate < hi and hi < 0


def test_result_protocol(small):
    r = twfe_few_clusters(small, **ARGS)
    d = r.to_dict()
    assert [m["method"] for m in d["methods"]] == ["crv1", "cr2", "wild_bootstrap"]
    assert d["methods"][2]["se"] is None  # NaN -> None
    assert list(r.summary().columns)[:3] == ["method", "se", "df"]
    assert r.plot() is not None
    with pytest.raises(KeyError):
        r.row("crv3")


def test_one_cluster_is_refused(small):
    with pytest.raises(InputError):
        twfe_few_clusters(small.assign(c=1), **ARGS, cluster="c")


@pytest.mark.slow
def test_size_with_few_treated_clusters_crv1_over_rejects_cr2_and_wild_do_not():
    """Simulation: 12 clusters, 3 treated, cluster-correlated errors, no effect (true null).

    CRV1 with t(G - 1) is known to over-reject here (MacKinnon & Webb 2017); CR2 with BM df and
    the wild cluster restricted bootstrap should hold the 5% level up to simulation error.
    """
    reps, rej = 300, {"crv1": 0, "cr2": 0, "wild_bootstrap": 0}
    for s in range(reps):
        rng = np.random.Generator(np.random.PCG64(1000 + s))
        G, T = 12, 6
        u = np.repeat(np.arange(G), T)
        t = np.tile(np.arange(T), G)
        treated = np.isin(u, [0, 1, 2])
        # heteroskedastic, serially correlated cluster shocks, larger in the treated clusters
        scale = np.where(np.arange(G) < 3, 2.0, 1.0)
        shock = rng.normal(size=(G, T)).cumsum(axis=1) * scale[:, None]
        y = shock.ravel() + rng.normal(size=G * T)
        p = pd.DataFrame({"y": y, "unit": u, "time": t, "d": (treated & (t >= 3)).astype(int)})
        r = twfe_few_clusters(p, **ARGS, weights="webb", n_boot=399, seed=s)
        for m in rej:
            rej[m] += r.row(m)["p_value"] < 0.05
    rate = {m: v / reps for m, v in rej.items()}
    se = np.sqrt(0.05 * 0.95 / reps)
    assert rate["crv1"] > 0.05 + 2 * se  # the problem
    assert rate["cr2"] < 0.05 + 2.5 * se
    assert rate["wild_bootstrap"] < 0.05 + 2.5 * se
