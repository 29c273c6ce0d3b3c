"""Compiled models reused across fits: nutpie's numba compile once per model structure.

Compiling a model with nutpie (numba backend) costs 20-45 s on the 2-core machine, most of it
numba building nutpie's C callback around the log density; sampling the 200 x 36 DiD takes
about 10 s. The count model keeps all its data in ``pm.Data`` (shared variables, see
:func:`triplet.tracking.bayes.model.count_model_data`), so two fits whose models have the same
structure differ only in the values of those variables: the second fit reuses the first's
compiled model through nutpie's ``CompiledPyMCModel.with_data`` and skips compilation.

The key of a compiled model is a SHA-256 of its log-density graph (``debugprint``: every
operation, every constant's printed value, the names of the shared variables), the bytes of
every constant in it (a printed array may be abbreviated), the dtypes and ranks of its data
(their lengths may change: nutpie reads them at run time), and its dimensions' lengths. Anything that is not data (priors, family, parametrisation,
groups, the split into baseline and treatment months) changes the graph and so the key.
Coordinates (unit and month labels) and the starting points are taken from the new model. The cache lives in the
process (compiled numba callbacks cannot be written to disk); PyTensor's own numba cache on
disk (``config.base_compiledir``) already serves the log density's inner function across
runs, which a data-free graph makes reusable too.

Correctness: for the same data and seed, a fit from a reused compiled model gives the same
draws as a fresh compile (tests/tracking/test_compiled.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict

import numpy as np

__all__ = ["clear_cache", "compile_model", "model_key"]

#: compiled models kept per process (least recently used dropped first)
MAX_CACHED = 8

_CACHE: OrderedDict[str, object] = OrderedDict()
_LOCK = threading.Lock()


def model_key(model) -> str:
    """SHA-256 of a PyMC model's structure: its log-density graph without the data values."""
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import ancestors
    from pytensor.printing import debugprint

    logp = model.logp()
    h = hashlib.sha256(debugprint(logp, file="str").encode())
    for v in ancestors([logp]):
        if isinstance(v, Constant):
            data = np.asarray(v.data)
            h.update(f"{data.dtype}{data.shape}".encode())
            h.update(np.ascontiguousarray(data).tobytes())
    for v in model.data_vars:
        value = np.asarray(v.get_value())
        h.update(f"{v.name}:{value.dtype}:{value.ndim};".encode())
    for name in sorted(model.coords):
        h.update(f"{name}={len(model.coords[name] or ())};".encode())
    h.update(",".join(sorted(v.name for v in model.free_RVs)).encode())
    h.update(",".join(sorted(v.name for v in model.deterministics)).encode())
    return h.hexdigest()


def _coords(model) -> dict:
    return {name: list(values) for name, values in model.coords.items() if values is not None}


def _initial_point_func(model):
    """The new model's starting points as nutpie draws them (support point, jittered, on the
    unconstrained scale, flattened in the order of ``model.free_RVs``): the compiled model's
    own function reads the data it was compiled with (e.g. the intercept's prior mean)."""
    from pymc.initial_point import make_initial_point_fn

    fn = make_initial_point_fn(
        model=model,
        default_strategy="support_point",
        jitter_rvs=set(model.free_RVs),
        return_transformed=True,
    )
    names = [model.rvs_to_values[v].name for v in model.free_RVs]
    lock = threading.Lock()

    def initial_point(seed=None) -> np.ndarray:
        with lock:
            point = fn(seed)
        return np.concatenate([np.asarray(point[n], dtype="float64").ravel() for n in names])

    return initial_point


def compile_model(model, *, cache: bool = True):
    """nutpie's compiled model for ``model`` (numba backend), reused when one of the same
    structure was compiled before in this process. Returns ``(compiled, reused: bool)``."""
    import nutpie

    key = model_key(model) if cache else None
    if key is not None:
        with _LOCK:
            base = _CACHE.get(key)
            if base is not None:
                _CACHE.move_to_end(key)
        if base is not None:
            # data the compiled functions do not read (unused by the log density) are skipped
            known = {getattr(v, "name", None) for v in base.shared_var_keys}
            data = {v.name: np.asarray(v.get_value()) for v in model.data_vars if v.name in known}
            compiled = base.with_data(**data) if data else base
            coords = {**(compiled.coords or {}), **_coords(model)}
            return dataclasses.replace(
                compiled, _coords=coords, initial_point_func=_initial_point_func(model)
            ), True
    compiled = nutpie.compile_pymc_model(model)
    if key is not None:
        with _LOCK:
            _CACHE[key] = compiled
            while len(_CACHE) > MAX_CACHED:
                _CACHE.popitem(last=False)
    return compiled, False


def clear_cache() -> None:
    """Forget every compiled model of this process."""
    with _LOCK:
        _CACHE.clear()
