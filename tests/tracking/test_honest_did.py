"""Rambachan-Roth sensitivity: the HonestDiD README's Medicaid example, and known properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.tracking.event_study import event_study
from triplet.tracking.honest_did import (
    event_study_sensitivity,
    original_ci,
    relative_magnitudes_bounds,
    smoothness_bounds,
)

DATA = Path(__file__).parent / "data" / "ehec_data.csv"


@pytest.fixture(scope="module")
def medicaid():
    """The README's non-staggered TWFE event study: 2014 expanders vs never, 2008-2015."""
    df = pd.read_csv(DATA)
    df = df[(df["year"] < 2016) & (df["yexp2"].isna() | (df["yexp2"] != 2015))]
    df = df.assign(start=pd.array(np.where(df["yexp2"] == 2014, 2014, None), dtype="Int64"))
    r = event_study(df, outcome="dins", unit="stfips", time="year", start="start")
    ks = r.cov.index.to_numpy()
    beta = r.coefficients.set_index("k").loc[ks, "estimate"].to_numpy()
    return r, beta, r.cov.to_numpy()


def test_original_interval_matches_the_readme(medicaid):
    _, beta, sigma = medicaid
    # Stata honestdid README: "(Original) 0.029 0.064"; l = (1, 0)
    est, (lo, hi) = original_ci(beta, sigma, 5, 2)
    assert est == pytest.approx(0.046447, abs=1e-6)  # the 2014 coefficient
    assert (round(lo, 3), round(hi, 3)) == (0.029, 0.064)
    # and with l = (0.5, 0.5): "0.040 0.075"
    _, (lo, hi) = original_ci(beta, sigma, 5, 2, l_vec=[0.5, 0.5])
    assert (round(lo, 3), round(hi, 3)) == (0.040, 0.075)


# R HonestDiD README, createSensitivityResults(..., Mvec = seq(0, 0.05, by = 0.01)) (FLCI)
R_SD = [
    (0.00, 0.0259, 0.0607),
    (0.01, 0.0132, 0.0787),
    (0.02, 0.00286, 0.0907),
    (0.03, -0.00714, 0.101),
    (0.04, -0.0171, 0.111),
    (0.05, -0.0271, 0.121),
]
# Stata honestdid README, delta(sd) mvec(0(0.01)0.05), printed to 3 decimals
STATA_SD = [(0.026, 0.061), (0.013, 0.079), (0.003, 0.091), (-0.007, 0.101), (-0.017, 0.111),
            (-0.027, 0.121)]  # fmt: skip


def test_smoothness_flci_reproduces_the_readme(medicaid):
    _, beta, sigma = medicaid
    r = smoothness_bounds(beta, sigma, 5, 2, [m for m, _, _ in R_SD])
    got = r.table[["ci_low", "ci_high"]].to_numpy()
    # exactly the Stata printout (3 decimals)
    assert [tuple(np.round(x, 3)) for x in got] == [tuple(x) for x in STATA_SD]
    # the R printout (3 significant digits) to 5e-5: R takes the folded-normal quantile from
    # 10^6 simulated draws (HonestDiD .qfoldednormal, seed 0), ours is exact
    ref = np.array([(lo, hi) for _, lo, hi in R_SD])
    half_digit = 0.5 * 10.0 ** (np.floor(np.log10(np.abs(ref))) - 2)  # rounding of the printout
    assert np.all(np.abs(got - ref) <= half_digit + 5e-5)
    # most figures agree to the printed digit outright
    assert np.sum(np.abs(got - ref) <= half_digit) >= 7
    # the README: breakdown "M ~ 0.03": significant at 0.02, not at 0.03
    assert 0.02 < r.breakdown < 0.03


# R HonestDiD README, createSensitivityResults_relativeMagnitudes(..., Mbarvec = seq(0.5, 2, 0.5))
R_RM = [(0.5, 0.0240, 0.0672), (1.0, 0.0170, 0.0720), (1.5, 0.00824, 0.0797),
        (2.0, -0.000916, 0.0881)]  # fmt: skip


def _sig3(x: float) -> float:
    return float(f"{x:.3g}")


def test_relative_magnitudes_reproduce_the_readme_to_printed_precision(medicaid):
    _, beta, sigma = medicaid
    r = relative_magnitudes_bounds(beta, sigma, 5, 2, [m for m, _, _ in R_RM])
    for (m, lo, hi), row in zip(R_RM, r.table.itertuples(), strict=True):
        assert row.m == m
        # same grid as HonestDiD (1000 points over +-20 SE), so the same grid points;
        # 8.245e-3 sits on a grid point printed by R as 0.00824
        assert _sig3(row.ci_low) == pytest.approx(lo, abs=2e-6), m
        assert _sig3(row.ci_high) == pytest.approx(hi, abs=2e-6), m
    # README: "the breakdown value for a significant effect is Mbar = 2" (significant at 1.5)
    assert 1.5 < r.breakdown < 2.0


def test_relative_magnitudes_at_zero_are_close_to_the_original_interval(medicaid):
    _, beta, sigma = medicaid
    r = relative_magnitudes_bounds(beta, sigma, 5, 2, [0.0], l_vec=[0.5, 0.5], breakdown_tol=0.5)
    lo, hi = r.table.iloc[0][["ci_low", "ci_high"]]
    # Stata README (l = (0.5, 0.5)), Mbar = 0: 0.041 0.075; one grid step is 4e-4
    assert lo == pytest.approx(0.041, abs=1e-3) and hi == pytest.approx(0.075, abs=1e-3)


def test_flci_at_m_zero_is_the_minimum_variance_linear_trend_estimator():
    # with M = 0 the bias is a linear trend through the reference period: the interval is the
    # GLS extrapolation, checked here by brute force over the pre-period weights
    rng = np.random.Generator(np.random.PCG64(3))
    L = rng.normal(size=(5, 5))
    sigma = L @ L.T / 5 + np.eye(5) * 0.1
    beta = rng.normal(size=5)
    r = smoothness_bounds(beta, sigma, 3, 2, [0.0], breakdown_tol=1.0)
    lo, hi = r.table.iloc[0][["ci_low", "ci_high"]]
    # estimator: beta_post1 - slope * 1, with slope from weights w on the pre coefficients
    # (t = -3, -2, -1 relative to the reference 0): v = (w, 1, 0), unbiased iff sum w t + 1 = 0
    t_pre = np.array([-3.0, -2.0, -1.0])
    best = np.inf
    for w1 in np.linspace(-2, 2, 401):
        for w2 in np.linspace(-2, 2, 81):
            w3 = 1 + (-3 * w1 - 2 * w2)  # sum w t = -1 -> -3w1 - 2w2 - w3 = -1
            v = np.r_[w1, w2, w3, 1.0, 0.0]
            assert abs(v[:3] @ t_pre + 1.0) < 1e-12
            best = min(best, float(np.sqrt(v @ sigma @ v)))
    assert (hi - lo) / 2 / 1.959963985 <= best + 1e-9
    assert (hi - lo) / 2 / 1.959963985 == pytest.approx(best, rel=2e-3)


def test_intervals_widen_with_the_bound(medicaid):
    _, beta, sigma = medicaid
    r = smoothness_bounds(beta, sigma, 5, 2, [0.0, 0.01, 0.03], breakdown_tol=1.0)
    width = (r.table["ci_high"] - r.table["ci_low"]).to_numpy()
    assert np.all(np.diff(width) > 0)


def test_event_study_sensitivity_and_the_result_protocol(medicaid):
    r, _, _ = medicaid
    s = event_study_sensitivity(r, "smoothness", [0.0, 0.01], l_vec=[1.0, 0.0])
    assert s.table["ci_low"].iloc[1] == pytest.approx(0.013175, abs=2e-5)
    d = s.to_dict()
    assert d["restriction"] == "smoothness" and len(d["bounds"]) == 2
    assert s.summary()["method"].iloc[0] == "original"
    assert s.plot() is not None
    with pytest.raises(InputError):
        event_study_sensitivity(r, "monotone")
    with pytest.raises(InputError):
        smoothness_bounds([1.0, 2.0], np.eye(2), 1, 2, [0.0])
