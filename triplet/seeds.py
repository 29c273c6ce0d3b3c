"""Random streams: every random draw of triplet comes from one child of the registered seed.

A trial registers one integer ``design.seed``. The assignment itself is drawn from
``SeedSequence(seed)`` (so the registered seed reproduces the assignment); every other use of
randomness (randomisation inference, the stratified test of the block-weighted ATT, the wild
cluster bootstrap, simulated power, the re-randomisation probabilities) draws from its own child
``SeedSequence(seed, spawn_key=(k,))``. numpy's ``SeedSequence`` guarantees that children with
different spawn keys give independent streams, which ``seed + 1`` does not (a trial with seed
``s + 1`` would share its assignment stream with another trial's inference stream).

The spawn keys are fixed here, once, by name; a key is never reused or renumbered (results of
earlier runs must stay reproducible). Add a stream by adding a name with a new key.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREAMS", "generator", "stream", "stream_seed"]

#: name -> spawn key of the child stream (never change or reuse a key)
STREAMS: dict[str, int] = {
    "rerandomised_probability": 1,  # triplet.testing.assignment
    "acceptance_rate": 2,  # triplet.testing.assignment
    "randomisation_inference": 3,  # triplet track: the redrawn assignments
    "block_att_randomisation": 4,  # triplet track: stratified test of the block-weighted ATT
    "wild_bootstrap": 5,  # triplet track: wild cluster bootstrap weights
    "power_simulation": 7,  # triplet.testing.diagnosis
}


def stream(seed: int, name: str) -> np.random.SeedSequence:
    """The child ``SeedSequence`` of ``seed`` for the stream ``name`` (a key of :data:`STREAMS`)."""
    try:
        key = STREAMS[name]
    except KeyError:
        raise ValueError(f"unknown random stream {name!r}; known: {', '.join(STREAMS)}") from None
    return np.random.SeedSequence(int(seed), spawn_key=(key,))


def stream_seed(seed: int, name: str) -> int:
    """An integer seed for functions that take one (the first 32-bit word of the child stream)."""
    return int(stream(seed, name).generate_state(1)[0])


def generator(seed: int, name: str) -> np.random.Generator:
    """A ``Generator(PCG64)`` on the child stream ``name`` of ``seed``."""
    return np.random.Generator(np.random.PCG64(stream(seed, name)))
