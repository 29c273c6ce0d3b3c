"""Priority Localities Index: hand-computed composite, YAML validation with lines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from triplet.errors import InputError
from triplet.targeting.priority import PLIConfig, load_pli_config, priority_index


def _units():
    return pd.DataFrame(
        {
            "lsoa_code": ["A", "B", "C"],
            "harm": [10.0, 20.0, 30.0],
            "asb": [5.0, 5.0, 5.0],
            "confidence": [0.9, 0.5, 0.1],
        }
    )


def test_known_answer_z_scores():
    cfg = PLIConfig(
        unit="lsoa_code",
        indicators={
            "harm": {"column": "harm", "weight": 3},
            "asb": {"column": "asb", "weight": 1},
        },
    )
    pli = priority_index(_units(), cfg)
    # harm z (ddof 0): [-1.2247, 0, 1.2247]; weight 3/4; asb constant -> 0
    z = np.sqrt(1.5)
    t = pli.table.set_index("unit")
    assert t.loc["C", "score"] == pytest.approx(0.75 * z)
    assert t.loc["A", "score"] == pytest.approx(-0.75 * z)
    assert t.loc["B", "score"] == pytest.approx(0)
    assert pli.table["unit"].tolist() == ["C", "B", "A"]
    assert (t["contrib_asb"] == 0).all()
    assert cfg.weights == {"harm": 0.75, "asb": 0.25}


def test_rank_standardisation_and_direction():
    cfg = PLIConfig(
        unit="lsoa_code",
        standardise="rank",
        indicators={"conf": {"column": "confidence", "weight": 1, "higher_is_priority": False}},
    )
    t = priority_index(_units(), cfg).table
    # lowest confidence (C) is the priority; pct ranks 1/3, 2/3, 1 centred and negated
    assert t["unit"].tolist() == ["C", "B", "A"]
    assert t["score"].tolist() == pytest.approx([0.5 - 1 / 3, 0.5 - 2 / 3, -0.5])


def test_missing_values_and_columns_are_errors():
    units = _units().assign(harm=[1.0, None, 3.0])
    cfg = PLIConfig(unit="lsoa_code", indicators={"harm": {"column": "harm", "weight": 1}})
    with pytest.raises(InputError, match="1 units have no numeric value"):
        priority_index(units, cfg)
    cfg2 = PLIConfig(unit="lsoa_code", indicators={"x": {"column": "nope", "weight": 1}})
    with pytest.raises(InputError, match="nope"):
        priority_index(_units(), cfg2)


def test_yaml_errors_carry_line(tmp_path):
    path = tmp_path / "pli.yaml"
    path.write_text("unit: lsoa_code\nindicators:\n  harm:\n    column: harm\n    weight: -2\n")
    with pytest.raises(InputError) as err:
        load_pli_config(path)
    assert f"{path}:5" in str(err.value)
    good = tmp_path / "ok.yaml"
    good.write_text(
        "unit: lsoa_code\nstandardise: rank\nindicators:\n  h: {column: harm, weight: 1}\n"
    )
    assert load_pli_config(good).standardise == "rank"


def test_plot_and_dict():
    cfg = PLIConfig(
        unit="lsoa_code",
        indicators={
            "harm": {"column": "harm", "weight": 1},
            "c": {"column": "confidence", "weight": 1},
        },
    )
    pli = priority_index(_units(), cfg)
    ax = pli.plot(top=2)
    assert len(ax.patches) == 4
    assert pli.to_dict()["weights"] == {"harm": 0.5, "c": 0.5}
    assert list(pli.summary()["indicator"]) == ["harm", "c"]
