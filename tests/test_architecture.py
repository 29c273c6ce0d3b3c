"""Tests that hold triplet's architecture (issue 15, item 7), as CausalPy does for its rules.

They walk the package rather than list what exists today, so a new module, result class or
command is checked without anyone remembering to add it:

* every result class (a class with ``to_dict``, ``summary`` and ``plot``) sends ``to_dict``
  through the one JSON helper :func:`triplet.io.jsonable`;
* every result class of :mod:`triplet.tracking` is built here on a small panel: its
  ``to_dict()`` passes ``json.dumps(..., allow_nan=False)`` (also with every float field set
  to NaN), ``plot(ax)`` returns that ``ax``, ``summary()`` is a DataFrame; the estimators
  implement :class:`triplet.tracking.estimate.EffectEstimate` and their ``to_dict()`` carries
  the protocol's fields;
* every public export (``__all__``) of every module is documented;
* every CLI command turns a :class:`~triplet.errors.TripletError` into an ``error`` message:
  no traceback, no "internal error".
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import math
import pkgutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import triplet

PACKAGE = Path(triplet.__file__).parent


def _modules() -> list[str]:
    return [
        m.name
        for m in pkgutil.walk_packages(triplet.__path__, "triplet.")
        if not m.name.endswith("__main__")
    ]


def _result_classes_in_source() -> list[tuple[str, str, ast.FunctionDef]]:
    """(file, class, to_dict) of every class with to_dict, summary and plot (parsed, so a
    module that cannot be imported here is still checked)."""
    out = []
    for f in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            meths = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
            protocol = any(ast.unparse(b).endswith("Protocol") for b in cls.bases)
            if {"to_dict", "summary", "plot"} <= set(meths) and not protocol:
                out.append((str(f.relative_to(PACKAGE.parent)), cls.name, meths["to_dict"]))
    return out


RESULT_CLASSES = _result_classes_in_source()


def test_the_walk_finds_the_result_classes():
    names = {c for _, c, _ in RESULT_CLASSES}
    assert {"DidResult", "CountDidResult", "EventStudyResult", "TrackReport"} <= names
    assert len(RESULT_CLASSES) >= 40


@pytest.mark.parametrize(
    ("file", "cls", "to_dict"), RESULT_CLASSES, ids=[f"{c}" for _, c, _ in RESULT_CLASSES]
)
def test_to_dict_goes_through_the_one_json_helper(file, cls, to_dict):
    """One converter (NaN -> None, numpy -> Python, dates -> ISO) instead of one per class."""
    calls = {
        n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
        for n in ast.walk(to_dict)
        if isinstance(n, ast.Call)
    }
    assert "jsonable" in calls, f"{file}: {cls}.to_dict() must return triplet.io.jsonable(...)"


# --------------------------------------------------------------------------- built results


def _panel(seed: int = 3, n_units: int = 24, n_periods: int = 8, start: int = 4) -> pd.DataFrame:
    """Counts for ``n_units`` units in 4 blocks, half of each block treated from ``start``."""
    rng = np.random.Generator(np.random.PCG64(seed))
    rows = []
    for i in range(n_units):
        block, treated = i % 4, (i // 4) % 2 == 0
        level = rng.gamma(4.0, 1.5)
        for t in range(n_periods):
            post = t >= start
            mu = level * (1.0 + 0.1 * np.sin(t)) * (0.7 if treated and post else 1.0)
            rows.append(
                {
                    "unit": f"u{i:02d}",
                    "time": t,
                    "y": float(rng.poisson(mu)),
                    "d": int(treated and post),
                    "treated": treated,
                    "post": post,
                    "block": f"b{block}",
                    "start": start if treated else np.nan,
                }
            )
    return pd.DataFrame(rows)


def _did():
    from triplet.tracking import did

    return did(_panel(), outcome="y", unit="unit", time="time", treated="d", block="block")


def _count_did():
    from triplet.tracking import count_did

    return count_did(_panel(), outcome="y", unit="unit", time="time", treated="d", block="block")


def _event_study():
    from triplet.tracking.event_study import event_study

    return event_study(_panel(), outcome="y", unit="unit", time="time", start="start")


def _staggered():
    from triplet.tracking.staggered import staggered_did

    return staggered_did(_panel(), outcome="y", unit="unit", time="time", start="start")


def _ri():
    from triplet.tracking.inference import permute_within, randomisation_inference, unit_prepost

    p = _panel()
    units, pre, post = unit_prepost(p, outcome="y", unit="unit", post="post")
    obs = p.groupby("unit")["treated"].first().reindex(units).to_numpy()
    z = permute_within(obs, None, None, 199, 5)
    return randomisation_inference(pre, post, obs, z, outcome="y")


def _block_att():
    from triplet.tracking.blocked import block_att

    return block_att(
        _panel(), outcome="y", unit="unit", post="post", treated="treated", block="block"
    )


def _place_day():
    from triplet.tracking.place_day import place_day_effect

    rng = np.random.Generator(np.random.PCG64(4))
    rows = [
        {
            "unit": f"p{i}",
            "day": d,
            "treated": (i + d) % 2 == 0,
            "washout": False,
            "count": float(rng.poisson(3.0)),
        }
        for i in range(8)
        for d in range(10)
    ]
    return place_day_effect(pd.DataFrame(rows))


def _few_clusters():
    from triplet.tracking.few_clusters import twfe_few_clusters

    return twfe_few_clusters(
        _panel(), outcome="y", unit="unit", time="time", treated="d", n_boot=99
    )


def _sensitivity():
    from triplet.tracking.honest_did import event_study_sensitivity

    es = _event_study()
    return event_study_sensitivity(es, "relative_magnitudes", [0.0, 1.0])


def _multiplicity():
    from triplet.tracking.multiplicity import adjust_family

    return adjust_family(["a", "b", "c"], [1.0, -2.0, 0.5], [0.04, 0.01, 0.5])


def _percent():
    from triplet.tracking.percent import from_additive

    return from_additive(-1.0, -2.0, 5.0, 4.0, se=0.5, df=10)  # open upper end: None


def _wdq():
    from triplet.tracking.displacement import wdq

    p = _panel()
    units = sorted(p["unit"].unique())
    return wdq(p, treated=units[:8], buffer=units[8:16], control=units[16:], outcome="y")


def _pooled():
    from triplet.tracking.pooling import pool_effects

    effects = pd.DataFrame(
        {"trial": ["a", "b", "c"], "log_effect": [-0.2, -0.1, -0.3], "se": [0.1, 0.15, 0.2]}
    )
    return pool_effects(effects, bayesian=False, tau_sensitivity=False)


#: a builder for every result class of triplet.tracking; MCMC results are built in their own
#: (slow) tests: tests/tracking/test_bayes*.py; TrackReport in tests/tracking/test_workflow.py
BUILDERS = {
    "DidResult": _did,
    "CountDidResult": _count_did,
    "EventStudyResult": _event_study,
    "StaggeredResult": _staggered,
    "RIResult": _ri,
    "BlockAttResult": _block_att,
    "PlaceDayEffect": _place_day,
    "FewClusterResult": _few_clusters,
    "SensitivityResult": _sensitivity,
    "MultiplicityResult": _multiplicity,
    "PercentChange": _percent,
    "WDQResult": _wdq,
    "PooledEffect": _pooled,
}
BUILT_ELSEWHERE = {
    "BayesianEffect",
    "CoverageStudy",
    "TrackReport",
    # issue 16 (merged after these tests were written): built in tests/tracking/delivery;
    # builders belong here (follow-up)
    "CaceResult",
    "DeliveryRead",
    "DeliveryReport",
    "DoseResponse",
    "KoperCurve",
    "Visits",
}
#: the estimators of an effect: they implement triplet.tracking.estimate.EffectEstimate
ESTIMATORS = [
    "DidResult",
    "CountDidResult",
    "EventStudyResult",
    "StaggeredResult",
    "RIResult",
    "BlockAttResult",
    "PlaceDayEffect",
]


def test_every_tracking_result_class_is_built_here():
    tracking = {c for f, c, _ in RESULT_CLASSES if f.startswith("triplet/tracking/")}
    missing = tracking - set(BUILDERS) - BUILT_ELSEWHERE
    assert not missing, f"add a builder to BUILDERS for {sorted(missing)}"


def _strict_json(d) -> None:
    json.dumps(d, allow_nan=False)


def _nan_everywhere(result):
    """The same result with every float field NaN (what degenerate data can produce)."""
    floats = {
        f.name: math.nan
        for f in dataclasses.fields(result)
        if isinstance(getattr(result, f.name), float) and f.init
    }
    return dataclasses.replace(result, **floats)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_result_to_dict_is_strict_json_and_plot_returns_its_axes(name):
    result = BUILDERS[name]()
    assert type(result).__name__ == name
    _strict_json(result.to_dict())
    assert isinstance(result.summary(), pd.DataFrame)
    _, ax = plt.subplots()
    try:
        assert result.plot(ax) is ax, f"{name}.plot(ax) must draw on ax and return it"
        assert result.plot(ax=ax) is ax
    finally:
        plt.close("all")
    own = result.plot()
    assert hasattr(own, "figure")
    plt.close("all")
    _strict_json(_nan_everywhere(result).to_dict())


@pytest.mark.parametrize("name", ESTIMATORS)
def test_estimators_implement_the_effect_protocol(name):
    from triplet.io import jsonable
    from triplet.tracking.estimate import PROTOCOL_FIELDS, EffectEstimate, effect_fields

    r = BUILDERS[name]()
    assert isinstance(r, EffectEstimate)
    d = r.to_dict()
    for key in PROTOCOL_FIELDS:
        assert key in d, f"{name}.to_dict() lacks {key}"
        want = jsonable(getattr(r, key))
        if isinstance(want, float):
            assert d[key] == pytest.approx(want, rel=1e-12), key
        else:
            assert d[key] == want, key
    pct = r.percent
    fields = effect_fields(r)
    for key in ("percent_change", "percent_ci_low", "percent_ci_high"):
        v = getattr(pct, key)
        assert fields[key] == (None if v is None else pytest.approx(v, rel=1e-9))
        if d.get(key) is not None and v is not None:
            assert d[key] == pytest.approx(v, rel=1e-9), f"{name}: to_dict {key}"
        assert v is None or v > -100.0  # ratio scale: never below -100%
    _strict_json(fields)


#: known exceptions, each to be removed (none now: the CACE's per cent of the counterfactual
#: mean is a method of its own that leaves a bound below -100% blank)
KNOWN_PCT: set[str] = set()


def test_there_is_one_percent_helper():
    """Per cent changes come from triplet.tracking.percent (ratio scale) only: no module of
    the tracking package defines its own ``_pct``."""
    offenders = []
    for f in sorted((PACKAGE / "tracking").rglob("*.py")):
        if f.name == "percent.py" or f.relative_to(PACKAGE).as_posix() in KNOWN_PCT:
            continue
        tree = ast.parse(f.read_text(encoding="utf-8"))
        offenders += [
            f"{f.name}:{n.lineno}"
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef) and n.name == "_pct"
        ]
    assert not offenders, offenders


# --------------------------------------------------------------------------- documentation


@pytest.mark.parametrize("module", _modules())
def test_public_exports_are_documented(module):
    mod = importlib.import_module(module)
    assert (mod.__doc__ or "").strip(), f"{module} has no module docstring"
    undocumented = []
    for name in getattr(mod, "__all__", []):
        obj = getattr(mod, name, None)
        assert obj is not None, f"{module}.__all__ names {name}, which does not exist"
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        doc = (obj.__doc__ or "").strip()
        generated = inspect.isclass(obj) and doc.startswith(f"{name}(")  # dataclass default
        inherited = inspect.isclass(obj) and any(
            doc == (base.__doc__ or "").strip() for base in obj.__mro__[1:]
        )
        if not doc or generated or inherited:
            undocumented.append(name)
    assert not undocumented, f"{module}: document {undocumented}"


# --------------------------------------------------------------------------- the CLI


def _commands():
    """(path, click command) of every leaf command of the ``triplet`` app."""
    import typer.main

    from triplet.cli.main import app

    root = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            out.append((path, cmd))

    walk(root, [])
    return out


COMMANDS = _commands()


def test_the_walk_finds_the_commands():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"validate", "track", "assign", "did", "board"} <= names


#: values for required options whose type checks the value before the command runs
REQUIRED_VALUES = {"--format": "police-uk"}


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_turns_a_triplet_error_into_a_message(path, monkeypatch, capsys, tmp_path):
    """Whatever a command calls, a TripletError raised inside it reaches the user as one
    ``error`` line and its exit code, never a traceback or an "internal error"."""
    import typer.main

    import triplet.cli.main as cli_main
    from triplet.errors import StateError

    sentinel = "sentinel problem raised inside the command"
    root = typer.main.get_command(cli_main.app)
    cmd = root
    for name in path:
        cmd = cmd.commands[name]

    def boom(*args, **kwargs):
        raise StateError(sentinel)

    cmd.callback = boom  # the click command parses its arguments, then the command fails

    def app(args, standalone_mode):  # main() runs exactly this click tree
        return root.main(args=args, standalone_mode=standalone_mode, prog_name="triplet")

    monkeypatch.setattr(cli_main, "app", app)
    argv = list(path)
    for param in cmd.params:
        if not param.required:
            continue
        value = next((REQUIRED_VALUES[o] for o in param.opts if o in REQUIRED_VALUES), None)
        value = value or str(tmp_path / "x")
        kind = getattr(param, "type", None)
        if kind is not None and hasattr(kind, "choices"):
            value = str(kind.choices[0])
        if param.param_type_name == "argument":
            argv += [value] * (param.nargs if param.nargs > 0 else 1)
        else:
            argv += [param.opts[0], value]
    code = cli_main.main(argv)
    err = capsys.readouterr().err
    assert code == StateError.exit_code, err
    assert "Traceback" not in err and "internal error" not in err
    lines = [x for x in err.splitlines() if x.strip()]
    assert lines == [f"error {sentinel}"], lines
