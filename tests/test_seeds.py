"""triplet.seeds: named child streams of the registered seed (issue 15 item 6)."""

from __future__ import annotations

import numpy as np
import pytest

from triplet.seeds import STREAMS, generator, stream, stream_seed


def test_spawn_keys_are_unique_and_never_the_assignment_stream():
    keys = list(STREAMS.values())
    assert len(set(keys)) == len(keys) and 0 not in keys


def test_keys_that_existed_before_are_kept():
    """Re-randomisation probabilities, the acceptance rate and simulated power used spawn keys
    1, 2 and 7 before triplet.seeds existed: renumbering would change locked results."""
    assert STREAMS["rerandomised_probability"] == 1
    assert STREAMS["acceptance_rate"] == 2
    assert STREAMS["power_simulation"] == 7
    assert stream_seed(2013, "power_simulation") == int(
        np.random.SeedSequence(2013, spawn_key=(7,)).generate_state(1)[0]
    )


def test_streams_are_children_of_the_seed_not_neighbouring_seeds():
    """``seed + 1`` collides with the assignment stream of a trial registered with seed + 1;
    a spawned child does not."""
    ri = generator(41, "randomisation_inference").random(5)
    assert not np.allclose(ri, np.random.Generator(np.random.PCG64(42)).random(5))
    assert stream(41, "randomisation_inference").spawn_key == (3,)
    assert generator(41, "randomisation_inference").random(5) == pytest.approx(ri, abs=0)
    assert stream_seed(41, "randomisation_inference") != stream_seed(42, "randomisation_inference")


def test_unknown_stream_is_refused():
    with pytest.raises(ValueError, match="unknown random stream"):
        stream(1, "nope")
