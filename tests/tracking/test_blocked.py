"""Block-weighted ATT: recovers the ATT with odd-sized blocks; the RI statistic matches it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.tracking.blocked import block_att, stratified_statistic, twfe_block_weights
from triplet.tracking.did import did

# three blocks of 3, 5 and 8 units with 1, 2 and 4 treated (shares 1/3, 2/5, 1/2) and block
# effects -3, -1, 0: the ATT weighs them 1:2:4 -> (-3 - 2 + 0) / 7 = -5/7
SIZES, N_TREATED, EFFECTS = (3, 5, 8), (1, 2, 4), (-3.0, -1.0, 0.0)
ATT = sum(n * e for n, e in zip(N_TREATED, EFFECTS, strict=True)) / sum(N_TREATED)


def odd_block_panel(seed: int, noise: float = 1.0, n_t: int = 8) -> pd.DataFrame:
    rng = np.random.Generator(np.random.PCG64(seed))
    rows = []
    unit = 0
    for b, (size, k, eff) in enumerate(zip(SIZES, N_TREATED, EFFECTS, strict=True)):
        treated = rng.permutation(np.arange(size) < k)
        for i in range(size):
            level = 10 + 3 * b + rng.normal(0, 2)
            for t in range(n_t):
                post = t >= n_t // 2
                y = level + 0.5 * t * (b + 1) + eff * (treated[i] and post)
                rows.append((unit, t, b, bool(treated[i]), post, y + rng.normal(0, noise)))
            unit += 1
    f = pd.DataFrame(rows, columns=["unit", "month", "block", "arm", "post", "y"])
    return f.assign(d=(f["arm"] & f["post"]).astype(int))


def test_noise_free_panel_gives_the_att_exactly_and_twfe_does_not():
    p = odd_block_panel(1, noise=0.0)
    r = block_att(p, outcome="y", unit="unit", post="post", treated="arm", block="block")
    assert r.estimate == pytest.approx(ATT, abs=1e-12)
    twfe = did(p, outcome="y", unit="unit", time="month", treated="d", block="block")
    # TWFE weights n p (1 - p): 2/3, 6/5, 2 -> (-2 - 6/5 + 0) / (2/3 + 6/5 + 2) = -0.8276
    assert twfe.estimate == pytest.approx((-2 - 6 / 5) / (2 / 3 + 6 / 5 + 2), abs=1e-9)
    assert abs(twfe.estimate - ATT) > 0.1
    assert r.unequal_shares and "n p (1 - p)" in r.note()


def test_recovers_the_att_on_average_with_noise():
    est = [
        block_att(
            odd_block_panel(s), outcome="y", unit="unit", post="post", treated="arm", block="block"
        ).estimate
        for s in range(200)
    ]
    # MC SE about 0.5 / sqrt(200) = 0.035
    assert np.mean(est) == pytest.approx(ATT, abs=0.12)


def test_ri_statistic_equals_the_estimate_for_the_realised_assignment():
    p = odd_block_panel(2)
    r = block_att(p, outcome="y", unit="unit", post="post", treated="arm", block="block")
    per_unit = p.groupby("unit").agg(arm=("arm", "first"), block=("block", "first"))
    g = p.groupby(["unit", "post"])["y"].mean().unstack()
    delta = (g[True] - g[False]).to_numpy()
    stat = stratified_statistic(delta, per_unit["arm"].to_numpy(), per_unit["block"].to_numpy())
    assert stat == pytest.approx(r.estimate, abs=1e-12)


def test_weights_by_hand():
    w = twfe_block_weights(np.array([1, 2, 4]), np.array([3, 5, 8]))
    np.testing.assert_allclose(w["att_weight"], [1 / 7, 2 / 7, 4 / 7])
    v = np.array([2 / 3, 6 / 5, 2.0])
    np.testing.assert_allclose(w["twfe_weight"], v / v.sum())


def test_equal_shares_gives_no_note():
    p = odd_block_panel(3)
    p = p[p["block"] == 2]  # one block of 8 with 4 treated
    r = block_att(p, outcome="y", unit="unit", post="post", treated="arm", block="block")
    assert r.note() is None
