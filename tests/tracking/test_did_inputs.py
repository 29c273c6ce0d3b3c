"""did() checks its inputs before any work (issue 10 defects 3, 4, 5; issue 15 item 5)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from triplet.cli.main import main
from triplet.errors import ConvergenceError, InputError
from triplet.tracking import did
from triplet.tracking.did import _map_demean

from .conftest import make_panel

ARGS = {"outcome": "y", "unit": "unit", "time": "time", "treated": "d"}


def _problem(exc: pytest.ExceptionInfo) -> tuple:
    (p,) = exc.value.problems
    return p


@pytest.fixture(autouse=True)
def _no_warnings():
    """No raw numpy/scipy warning may reach the user."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_treatment_varying_only_with_time_is_not_identified():
    p = make_panel()
    p["d"] = (p["time"] >= 5).astype(int)  # every unit treated from the same period
    with pytest.raises(InputError, match="varies only with time") as exc:
        did(p, **ARGS)
    assert _problem(exc).field == "d" and "collinear" in str(exc.value)
    with pytest.raises(InputError, match="varies only with block x time"):
        did(p, **ARGS, block="block")


def test_treatment_varying_only_between_units_is_not_identified():
    p = make_panel()
    p["d"] = p["treated_unit"].astype(int)  # no period before treatment
    with pytest.raises(InputError, match="varies only between units"):
        did(p, **ARGS)


def test_duplicated_unit_period_rows_are_named():
    p = make_panel()
    extra = p.iloc[[12, 12, 30]]
    dup = pd.concat([p, extra], ignore_index=True)
    with pytest.raises(InputError) as exc:
        did(dup, **ARGS)
    prob = _problem(exc)
    n = len(p)
    assert f"rows 13 and {n + 1} and {n + 2}" in prob.message  # all three copies of row 13
    assert "3 duplicated rows" in prob.message and prob.line == 13
    assert prob.field == "unit,time"


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_outcome_is_rejected(bad):
    p = make_panel()
    p.loc[7, "y"] = bad
    with pytest.raises(InputError, match="must be finite") as exc:
        did(p, **ARGS)
    assert _problem(exc).line == 8 and _problem(exc).field == "y"


@pytest.mark.parametrize("method", ["auto", "panelols"])
def test_overflowing_outcome_is_rejected(method):
    p = make_panel()
    p.loc[3, "y"] = 1e308
    with pytest.raises(InputError, match="too large") as exc:
        did(p, **ARGS, method=method)
    assert _problem(exc).line == 4


def test_weights_are_checked_for_panelols_too():
    p = make_panel()
    p["w"] = 1.0
    p.loc[5, "w"] = -1.0
    for method in ("auto", "panelols"):
        with pytest.raises(InputError, match="weights must be positive"):
            did(p, **ARGS, weights="w", method=method)
    p.loc[5, "w"] = np.nan
    with pytest.raises(InputError, match="missing values"):
        did(p, **ARGS, weights="w", method="panelols")


@pytest.mark.parametrize("alpha", [0.0, 1.0, 1.5, -0.1, float("nan"), "x"])
def test_alpha_outside_0_1_is_rejected_before_any_work(alpha):
    with pytest.raises(InputError, match="alpha must be between 0 and 1"):
        did(None, **ARGS, alpha=alpha)  # no panel touched: the option is checked first


def test_unknown_ssc_is_rejected_before_any_work():
    with pytest.raises(InputError, match="unknown small-sample correction 'bogus'"):
        did(None, **ARGS, ssc="bogus")


def test_panelols_does_not_replace_the_callers_ssc():
    p = make_panel(effect=-1.0)
    with pytest.raises(InputError, match="method='panelols' applies linearmodels"):
        did(p, **ARGS, method="panelols", ssc="fixest")
    ref = did(p, **ARGS, method="panelols")
    assert ref.ssc == "linearmodels"
    same = did(p, **ARGS, method="panelols", ssc="linearmodels")
    assert same.se == ref.se
    assert did(p, **ARGS).ssc == "fixest"


def test_map_demean_raises_when_it_stops_unconverged():
    rng = np.random.default_rng(3)
    n_u, n_t = 30, 8
    unit = np.repeat(np.arange(n_u), n_t)
    time = np.tile(np.arange(n_t), n_u)
    keep = rng.random(len(unit)) > 0.3  # unbalanced: projections need many sweeps
    u, t = unit[keep], time[keep]
    mats = rng.normal(size=(keep.sum(), 2))
    fes = [(u, n_u), (t, n_t)]
    w = np.ones(len(u))
    with pytest.raises(ConvergenceError, match="stopped after 2 iterations"):
        _map_demean(mats, fes, w, max_iter=2)
    out = _map_demean(mats, fes, w)  # converges with the default budget
    assert np.abs(np.bincount(u, weights=out[:, 0], minlength=n_u)).max() < 1e-9


def test_cli_names_the_file_line_of_a_duplicated_row(tmp_path, capsys):
    p = make_panel()
    dup = pd.concat([p, p.iloc[[4]]], ignore_index=True)
    text = dup.to_csv(index=False)
    head, rest = text.split("\n", 1)
    path = tmp_path / "panel.csv"
    path.write_text(head + "\n\n" + rest)  # a blank line: pandas skips it, lines count it
    code = main(["did", str(path), "--outcome", "y", "--unit", "unit", "--time", "time",
                 "--treated", "d"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert f"{path}:7: unit,time: one row per unit x time" in " ".join(err.split())
