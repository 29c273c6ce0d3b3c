"""Compiled-model reuse (triplet.tracking.bayes.compiled): same structure, new data."""

from __future__ import annotations

import numpy as np
import pytest

from triplet.registry.models import Prior, Priors
from triplet.tracking.bayes.compiled import clear_cache, compile_model, model_key
from triplet.tracking.bayes.model import build_count_model, count_model_data, panel_arrays
from triplet.tracking.bayes.simulate import simulate_panel


def _arr(seed: int, n_units: int = 16, n_months: int = 8):
    return panel_arrays(simulate_panel(n_units, n_months, rate_ratio=0.8, seed=seed))


def test_key_ignores_data_values_but_not_structure():
    a, b = _arr(1), _arr(2)
    assert not np.array_equal(a.y, b.y)
    key_a = model_key(build_count_model(a, priors=Priors(), centred=False))
    assert key_a == model_key(build_count_model(b, priors=Priors(), centred=False))
    # family, parametrisation, priors and shapes are structure
    assert key_a != model_key(
        build_count_model(a, priors=Priors(), family="poisson", centred=False)
    )
    assert key_a != model_key(build_count_model(a, priors=Priors(), centred=True))
    tight = Priors(effect=Prior(mu=0.0, sigma=0.1))
    assert key_a != model_key(build_count_model(a, priors=tight, centred=False))
    assert key_a != model_key(
        build_count_model(_arr(1, n_units=18), priors=Priors(), centred=False)
    )


def test_model_data_alone_carry_the_counts():
    """Swapping the shared data of A's model for B's gives B's model's log density."""
    import pymc as pm

    a, b = _arr(3), _arr(4)
    model_a = build_count_model(a, priors=Priors(), centred=False)
    model_b = build_count_model(b, priors=Priors(), centred=False)
    assert {v.name for v in model_a.data_vars} == set(count_model_data(a))
    point = model_a.initial_point()
    point["beta"] = np.asarray(-0.3)
    logp_b = model_b.compile_logp()(point)
    assert model_a.compile_logp()(point) != pytest.approx(logp_b)
    with model_a:
        pm.set_data(count_model_data(b))
    assert model_a.compile_logp()(point) == pytest.approx(logp_b, rel=1e-12)


@pytest.mark.slow
def test_reused_compiled_model_gives_the_same_posterior():
    import nutpie

    target, other = _arr(11), _arr(12)
    kw = {"draws": 200, "tune": 200, "chains": 2, "cores": 1, "seed": 5, "progress_bar": False}
    clear_cache()
    fresh, reused = compile_model(
        build_count_model(target, priors=Priors(), centred=False), cache=False
    )
    assert not reused
    # fill the cache from other data, then fit the target through it
    compile_model(build_count_model(other, priors=Priors(), centred=False))
    cached, reused = compile_model(build_count_model(target, priors=Priors(), centred=False))
    assert reused
    assert cached.coords["unit"] == [str(u) for u in target.units]
    a = nutpie.sample(fresh, **kw)
    b = nutpie.sample(cached, **kw)
    np.testing.assert_allclose(
        a.posterior["beta"].values, b.posterior["beta"].values, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        a.posterior["unit_effect"].values, b.posterior["unit_effect"].values, rtol=1e-10, atol=1e-12
    )
    clear_cache()
