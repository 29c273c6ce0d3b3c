"""The false-signal rates the rules promise, and detection of a shift (figures in docs)."""

from __future__ import annotations

import numpy as np
import pytest

from triplet.performance.simulate import (
    detection,
    false_signal_rate,
    fired_at,
    run_rule_theory,
    trend_rule_theory,
)
from triplet.performance.spc import run_rules


def _se(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n))


def test_theory_for_the_beyond_rule_is_the_binomial_formula():
    th = run_rule_theory(24, 12)
    # 12 independent months, each beyond 3 sigma with probability 0.0026998
    assert th["beyond"] == pytest.approx(1 - (1 - 0.0026997960632601866) ** 12, rel=1e-9)
    assert th["run"] > 0.04 and th["beyond_or_run"] < th["beyond"] + th["run"]


def test_trend_theory_known_answers():
    # six values in a row monotone: 2 of 6! orders
    assert trend_rule_theory(0, 6, trend=6) == pytest.approx(2 / 720)
    # four values with a monotone run of three somewhere: 24 orders less the 10 alternating
    # (up-down or down-up) ones, 2 x Euler zigzag number E4 = 5
    assert trend_rule_theory(0, 4, trend=3) == pytest.approx(14 / 24)


def test_known_limits_simulation_matches_the_exact_promise():
    n = 100_000
    sim = false_signal_rate(n, known=True, seed=3)
    th = run_rule_theory(24, 12)
    for rule in ("beyond", "run"):
        assert abs(sim.rates[rule] - th[rule]) < 4 * _se(th[rule], n), rule
    # trend of 6 depends only on the order of the values: its rate does not depend on limits
    est = false_signal_rate(n, known=False, seed=3)
    assert est.rates["trend"] == sim.rates["trend"]
    p = trend_rule_theory(24, 12)
    assert abs(sim.rates["trend"] - p) < 4 * _se(p, n)


def test_documented_rates_with_limits_from_24_months():
    # docs/performance.md: XmR chart, 24 baseline months, 12 months watched: 9.2% beyond,
    # 6.1% run, 2.9% trend, 17.0% any (200,000 series, seed 17)
    n = 50_000
    est = false_signal_rate(n, seed=5)
    for rule, doc in (("beyond", 0.092), ("run", 0.061), ("trend", 0.029), ("any", 0.170)):
        assert abs(est.rates[rule] - doc) < 4 * _se(doc, n) + 0.002, rule


def test_shift_of_one_and_a_half_sigma_is_detected_within_eight_months():
    # docs: a sustained 1.5 sigma shift is signalled within 8 months in 77% of series
    d = detection(1.5, 20_000, seed=7)
    assert abs(d.within(8) - 0.775) < 0.02
    assert d.within(12) > 0.85


def test_fired_at_agrees_with_run_rules_on_the_last_point():
    rng = np.random.default_rng(11)
    z = rng.standard_normal((200, 30)) * 1.3
    fired = fired_at(z)
    for i in range(0, 200, 7):
        for t in (10, 20, 29):
            last = run_rules(z[i, : t + 1], 3.0).iloc[-1]
            for rule in ("beyond", "run", "trend"):
                assert fired[rule][i, t] == bool(last[rule])


@pytest.mark.slow
def test_seasonal_chart_false_signal_rate_close_to_xmr():
    # docs: the seasonal u' chart on over-dispersed seasonal counts: about 16% a year
    r = false_signal_rate(600, counts=dict(mean=80, dispersion=2.0), seed=9)
    assert 0.11 < r.rates["any"] < 0.22
    d = detection(0.7, 300, counts=dict(mean=80, dispersion=2.0), seed=10)
    assert d.within(8) > 0.85
