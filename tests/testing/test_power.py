"""Analytic power and MDE: textbook values and internal consistency."""

from __future__ import annotations

import math

import numpy as np
import pytest

from triplet.errors import InputError
from triplet.testing.power import (
    CountDesign,
    PowerDesign,
    estimator_factor,
    mde,
    mde_counts,
    power,
    power_counts,
    power_curve,
)


def test_cohen_d_half_with_64_per_arm_has_power_080():
    # the textbook answer (Cohen 1988): d = 0.5, 64 per group, two-sided 5%: power 0.80
    d = PowerDesign(n_units=128, sd=1.0, estimator="difference", n_strata=1)
    assert power(d, 0.5) == pytest.approx(0.8015, abs=0.002)


def test_mde_is_the_effect_with_target_power():
    d = PowerDesign(n_units=60, sd=3.0, pre_months=6, post_months=6, rho=0.4)
    m = mde(d, 0.8)
    # Bloom's MDE approximates the exact power (the far tail is ignored): within 0.001
    assert power(d, m) == pytest.approx(0.8, abs=1e-3)
    assert m == pytest.approx((2.0 + 0.85) * d.se, rel=0.05)


def test_mckenzie_factors():
    # rho = 0: DiD variance 1/m + 1/r; post-only 1/r; ANCOVA = post-only
    assert estimator_factor("did", 4, 2, 0.0) == pytest.approx(0.25 + 0.5)
    assert estimator_factor("difference", 4, 2, 0.0) == pytest.approx(0.5)
    assert estimator_factor("ancova", 4, 2, 0.0) == pytest.approx(0.5)
    # one pre and one post month: DiD 2(1 - rho); ANCOVA 1 - rho^2
    assert estimator_factor("did", 1, 1, 0.3) == pytest.approx(2 * 0.7)
    assert estimator_factor("ancova", 1, 1, 0.3) == pytest.approx(1 - 0.09)
    # ANCOVA is never worse than either
    for rho in np.linspace(0, 0.95, 20):
        a = estimator_factor("ancova", 6, 6, rho)
        assert a <= estimator_factor("did", 6, 6, rho) + 1e-12
        assert a <= estimator_factor("difference", 6, 6, rho) + 1e-12


def test_blocking_and_clustering_scale_the_se():
    base = PowerDesign(n_units=100, sd=1.0, estimator="difference")
    blocked = PowerDesign(n_units=100, sd=1.0, estimator="difference", r2=0.75)
    assert blocked.se == pytest.approx(base.se * 0.5)
    clustered = PowerDesign(n_units=100, sd=1.0, estimator="difference", cluster_size=5, icc=0.1)
    assert clustered.design_effect == pytest.approx(1.4)
    assert clustered.se == pytest.approx(base.se * np.sqrt(1.4))
    assert clustered.df == pytest.approx(18)


def test_unequal_allocation():
    even = PowerDesign(n_units=90, sd=1.0, estimator="difference")
    uneven = PowerDesign(n_units=90, sd=1.0, estimator="difference", treated_fraction=1 / 3)
    assert uneven.se / even.se == pytest.approx(np.sqrt(0.25 / (2 / 9)))


def test_counts_poisson_limit_and_overdispersion():
    # Poisson (k = inf), 50 per arm, 10 expected crimes each: Var(log RR) = (1/(10 RR) + 1/10)/50
    d = CountDesign(n_units=100, mean=10.0, months=1)
    rr = 0.8
    se = np.sqrt((1 / (10 * rr) + 1 / 10) / 50)
    assert d.se_log_rr(rr) == pytest.approx(se)
    z = 1.959963984540054
    expected = 1 - 0.5 * (1 + math.erf((z - abs(np.log(rr)) / se) / np.sqrt(2)))
    assert power_counts(d, rr) == pytest.approx(expected, abs=1e-4)
    # over-dispersion needs a larger effect
    nb = CountDesign(n_units=100, mean=10.0, months=1, k=2.0)
    assert mde_counts(nb) > mde_counts(d)
    assert power_counts(nb, 1 - mde_counts(nb)) == pytest.approx(0.8, abs=1e-6)


def test_bad_inputs_are_named():
    with pytest.raises(InputError, match="rho"):
        PowerDesign(n_units=10, sd=1.0, rho=1.2)
    with pytest.raises(InputError, match="estimator"):
        estimator_factor("magic", 1, 1, 0.0)


def test_power_curve_outputs():
    c = power_curve(PowerDesign(n_units=50, sd=2.0), scale=10.0)
    s = c.summary()
    assert s["power"].is_monotonic_increasing
    assert s["power"].iloc[0] == pytest.approx(0.05, abs=1e-9)
    assert c.to_dict()["mde_reduction"] == pytest.approx(c.mde / 10.0)
    assert c.plot().get_ylabel() == "power"
