"""Example-borough polygons, boundaries as a data source, and the trial maps of the effect
report and the Board (figure produced, polygons drawn, legend present; people never mapped)."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.collections import PatchCollection

from triplet.errors import InputError
from triplet.records.sources import example_borough, load_boundaries, load_source
from triplet.registry.models import DataSource

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[2]


def _n_polygons_drawn(ax) -> int:
    return sum(len(c.get_paths()) for c in ax.collections if isinstance(c, PatchCollection))


def _legend_labels(ax) -> list[str]:
    leg = ax.get_legend()
    assert leg is not None, "map without a legend"
    return [t.get_text() for t in leg.get_texts()]


@pytest.fixture(scope="module")
def polygons():
    from triplet.example.polygons import borough_polygons

    return borough_polygons(example_borough(2013).lsoas)


def test_example_polygons_tile_the_borough(polygons):
    from triplet.example.polygons import borough_outline, borough_polygons

    lsoas = example_borough(2013).lsoas
    assert polygons["unit"].tolist() == lsoas["lsoa_code"].tolist()
    assert polygons.crs.to_epsg() == 27700 and polygons.is_valid.all()
    geoms = polygons.geometry.values
    outline = borough_outline(lsoas)
    # a tessellation: no overlaps, no gaps (areas add up to the outline's)
    assert shapely.area(geoms).sum() == pytest.approx(outline.area, rel=1e-9)
    assert shapely.union_all(geoms).area == pytest.approx(outline.area, rel=1e-9)
    # about one 630 m grid square each (396,900 m²)
    assert np.median(shapely.area(geoms)) == pytest.approx(630.0**2, rel=0.05)
    # deterministic
    again = borough_polygons(lsoas)
    assert all(
        shapely.equals_exact(a, b, 1e-6) for a, b in zip(geoms, again.geometry.values, strict=True)
    )
    # the synthetic crimes fall mostly in their own LSOA's polygon (jitter of half a cell)
    from triplet.geography import join_points

    rec = example_borough(2013).records
    j = join_points(rec, polygons, column="poly")
    share = float((j.table["poly"] == rec["lsoa_code"]).mean())
    assert share > 0.9


def test_boundaries_data_source(lsoa2021_path):
    units = load_source(
        DataSource(name="p", kind="boundaries", uri="example://borough/polygons?seed=2013"),
        Path("."),
    )
    assert len(units) == 220 and {"lsoa_code", "x", "y", "neighbours"} <= set(units.columns)
    nb = dict(zip(units["unit"], units["neighbours"].str.split(";"), strict=True))
    assert all(u in nb[v] for u in nb for v in nb[u])
    real = DataSource(
        name="Croydon LSOAs", kind="boundaries", uri=str(lsoa2021_path), where="LAD22NM=Croydon"
    )
    b = load_boundaries(real, Path("."))
    assert b.n_units == 229 and b.vintage == 2021
    assert len(load_source(real, Path("."))) == 229
    missing = DataSource(name="x", kind="boundaries", uri="nowhere.gpkg")
    with pytest.raises(InputError, match="file not found"):
        load_boundaries(missing, Path("."))


@pytest.fixture
def registry(tmp_path):
    shutil.copy(REPO / "registry.yaml", tmp_path / "registry.yaml")
    for name in sorted(p.name for p in (REPO / "trials").iterdir() if p.is_dir()):
        (tmp_path / "trials" / name).mkdir(parents=True)
        shutil.copy(REPO / "trials" / name / "trial.yaml", tmp_path / "trials" / name)
    pd.DataFrame(
        {
            "unit": ["E01X00050", "E01X00080", "E01X00120", "E01X00051"],
            "arm": ["treatment", "treatment", "control", "control"],
            "block": ["1", "2", "1", "2"],
            "pair": "",
            "cluster": "",
            "probability": 0.5,
        }
    ).to_csv(tmp_path / "trials" / "hotspot-patrol" / "assignment.csv", index=False)
    return tmp_path / "registry.yaml"


def test_trial_map_roles_and_figure(registry, polygons):
    from triplet.geography.trialmap import trial_map
    from triplet.registry import find_trial

    tf = find_trial(registry, "hotspot-patrol")
    a = pd.read_csv(tf.dir / "assignment.csv", dtype=str)
    tm = trial_map(tf, a)
    roles = tm.roles
    assert sorted(roles[roles == "treatment"].index) == ["E01X00050", "E01X00080"]
    # buffer: untreated LSOAs touching a treated polygon and in no arm (E01X00051 is a control)
    geoms = polygons.set_index("unit").geometry
    touching = {
        u
        for t in ("E01X00050", "E01X00080")
        for u in geoms.index
        if u != t and geoms[u].intersects(geoms[t])
    }
    assert set(roles[roles == "buffer"].index) == touching - {"E01X00050", "E01X00080", "E01X00051"}
    ax = tm.plot()
    assert _n_polygons_drawn(ax) == 220
    labels = _legend_labels(ax)
    assert "treatment (2)" in labels and "control (2)" in labels
    assert any(lab.startswith("buffer (") for lab in labels)
    assert "SYNTHETIC" in ax.get_title()
    # people are never mapped
    assert trial_map(find_trial(registry, "offender-focus")) is None


def test_effect_report_map_section(registry):
    from triplet.registry import find_trial
    from triplet.reports.effect_report import context_for, map_figure

    fig = map_figure(context_for(find_trial(registry, "hotspot-patrol")))
    assert fig is not None
    ax = fig.axes[0]
    assert _n_polygons_drawn(ax) == 220 and "treatment (2)" in _legend_labels(ax)
    assert map_figure(context_for(find_trial(registry, "offender-focus"))) is None


def test_board_has_one_map_per_place_trial(registry, tmp_path):
    from triplet.reports.board import build_board

    out = build_board(registry, tmp_path / "board.html")
    page = out.read_text()
    assert '<section id="maps">' in page
    # hotspot-patrol, neighbourhood-pop and patrol-days (not yet assigned: its candidates)
    assert page.count("data-trial-map=") == 3
    assert 'data-trial-map="hotspot-patrol"' in page
    assert 'data-trial-map="offender-focus"' not in page
    assert page.count('src="data:image/png;base64,') >= 3  # forest plot + two maps
