"""Funnel limits against Spiegelhalter's (2005) published formulae, worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.performance.funnel import funnel, overdispersion_phi, poisson_limit


def test_exact_poisson_limits_with_interpolation_worked_example():
    # Expected count 10 (rate 0.01 x 1,000 residents). By hand with F(r) = sum_{k<=r} e^-10
    # 10^k / k!: for p = 0.999, r_p = 21 (F(20) = 0.9984117, F(21) = 0.9993003), alpha =
    # (0.9993003 - 0.999) / (0.9993003 - 0.9984117) = 0.3380, limit 20.6620; p = 0.975:
    # r_p = 17, alpha = 0.8400, 16.1600; p = 0.025: r_p = 4, alpha = 0.2248, 3.7752;
    # p = 0.001: r_p = 2, alpha = 0.7795, 1.2205.
    got = [float(poisson_limit(p, 10.0)[0]) for p in (0.001, 0.025, 0.975, 0.999)]
    assert got == pytest.approx([1.2205293, 3.7751879, 16.1599507, 20.6620008], abs=1e-6)


def test_interpolation_formula_recomputed_from_the_definition():
    lam = 3.7
    F = lambda r: sum(math.exp(-lam) * lam**k / math.factorial(k) for k in range(r + 1))  # noqa: E731
    for p in (0.01, 0.3, 0.9, 0.995):
        r = 0
        while F(r) < p:
            r += 1
        prev = F(r - 1) if r > 0 else 0.0
        expect = r - (F(r) - p) / (F(r) - prev)
        assert float(poisson_limit(p, lam)[0]) == pytest.approx(max(expect, 0.0), abs=1e-9)


def _areas():
    counts = pd.Series([5, 30, 12, 60, 8], index=list("abcde"), dtype=float)
    residents = pd.Series([800, 1500, 1200, 2100, 1000], index=list("abcde"), dtype=float)
    return counts, residents


def test_target_is_the_overall_rate_and_none_uses_exact_limits():
    c, n = _areas()
    f = funnel(c, n, overdispersion="none", per=1000)
    theta = 115 / 6600
    assert f.target == pytest.approx(theta)
    row = f.table.set_index("unit").loc["d"]
    assert row["upper998"] == pytest.approx(poisson_limit(0.999, theta * 2100)[0] / 2100)
    assert row["rate"] == pytest.approx(60 / 2100)


def test_multiplicative_overdispersion_normal_limits_by_hand():
    c, n = _areas()
    theta = 115 / 6600
    z = (c / n - theta) / np.sqrt(theta / n)
    phi = overdispersion_phi(z.to_numpy())
    f = funnel(c, n, overdispersion="multiplicative")
    assert f.phi == pytest.approx(max(phi, 1.0))
    row = f.table.set_index("unit").loc["a"]
    assert row["upper95"] == pytest.approx(theta + 1.959963985 * np.sqrt(f.phi * theta / 800))


def test_additive_random_effects_tau2_by_hand():
    c, n = _areas()
    theta = 115 / 6600
    s2 = theta / n
    z = (c / n - theta) / np.sqrt(s2)
    phi = overdispersion_phi(z.to_numpy())
    w = 1 / s2
    tau2 = max((5 * phi - 4) / (w.sum() - (w**2).sum() / w.sum()), 0)
    f = funnel(c, n, overdispersion="additive")
    assert f.tau2 == pytest.approx(tau2)
    row = f.table.set_index("unit").loc["b"]
    assert row["lower998"] == pytest.approx(
        max(theta - 3.090232306 * np.sqrt(theta / 1500 + tau2), 0), rel=1e-8
    )


def test_winsorising_clips_the_tails():
    z = np.array([-10.0] + [0.0] * 8 + [10.0])
    lo, hi = np.quantile(z, [0.1, 0.9])
    assert overdispersion_phi(z) == pytest.approx(np.mean(np.clip(z, lo, hi) ** 2))
    assert overdispersion_phi(z, winsor=0.0) == pytest.approx(20.0)


def test_in_control_areas_fall_outside_998_limits_rarely():
    rng = np.random.default_rng(4)
    n = pd.Series(rng.integers(800, 3000, 4000).astype(float))
    c = pd.Series(rng.poisson(0.02 * n).astype(float))
    f = funnel(c, n, target=0.02, overdispersion="none")
    # interpolated limits: about 0.2% outside (Spiegelhalter 2005; Manktelow & Seaton 2012)
    assert f.table["outside998"].mean() < 0.006
    assert 0.03 < f.table["outside95"].mean() < 0.07


def test_bad_exposure_is_named():
    with pytest.raises(InputError, match="no positive exposure"):
        funnel(pd.Series([1.0, 2.0], index=["x", "y"]), pd.Series([0.0, 5.0], index=["x", "y"]))


def test_plot_and_dict():
    c, n = _areas()
    f = funnel(c, n)
    assert f.to_dict()["units"][0]["unit"] == "a"
    ax = f.plot(title="t")
    assert ax.get_title() == "t"
