"""Maps: a figure is produced, every polygon is drawn, the legend is there with units."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PatchCollection

from triplet.errors import InputError
from triplet.geography import buffer_rings, grid_cells_bng, join_points
from triplet.geography.maps import (
    OKABE_ITO,
    choropleth,
    class_breaks,
    figure_data_uri,
    grid_map,
    roles_map,
)


def _n_drawn(ax) -> int:
    return sum(len(c.get_paths()) for c in ax.collections if isinstance(c, PatchCollection))


def _legend_texts(ax) -> list[str]:
    leg = ax.get_legend()
    assert leg is not None, "map has no legend"
    return [leg.get_title().get_text()] + [t.get_text() for t in leg.get_texts()]


def test_class_breaks_known_answer():
    assert class_breaks([1, 2, 3, 4], k=2).tolist() == [2.5, 4.0]
    assert class_breaks([0, 0, 0, 0, 5], k=4).tolist() == [0.0, 5.0]  # tied edges merged
    assert class_breaks([0, 10], k=2, scheme="equal").tolist() == [5.0, 10.0]


def test_choropleth_of_real_lsoas(croydon, tmp_path):
    rng = np.random.default_rng(np.random.PCG64(3))
    values = pd.Series(rng.gamma(2, 300, croydon.n_units), index=croydon.frame["unit"])
    values.iloc[:3] = np.nan
    ax = choropleth(croydon.frame, values, title="harm per LSOA")
    assert _n_drawn(ax) == croydon.n_units  # every polygon drawn (multi-parts count once)
    texts = _legend_texts(ax)
    assert texts[0] == "harm (days of imprisonment)"
    assert texts[-1] == "no data (3 areas)"
    assert sum(int(t.rsplit("(", 1)[1].split()[0]) for t in texts[1:]) == croydon.n_units
    faces = {matplotlib.colors.to_hex(c) for c in ax.collections[0].get_facecolors()}
    assert "#ffffff" in faces and len(faces) == 6  # five classes + no data
    ax.figure.savefig(tmp_path / "choropleth.png")
    assert (tmp_path / "choropleth.png").stat().st_size > 10_000
    uri = figure_data_uri(ax.figure)
    assert uri.startswith("data:image/png;base64,") and len(uri) > 10_000
    plt.close(ax.figure)


def test_roles_map_and_rings(croydon_units, croydon):
    treated = croydon_units.table["unit"].iloc[[0, 60, 120]].tolist()
    rings = buffer_rings(croydon.frame, treated, distances_m=(0,))
    roles = rings.table.set_index("unit")["role"].replace({"treated": "treatment"})
    roles[croydon_units.table["unit"].iloc[200]] = "control"
    ax = roles_map(croydon.frame, roles, title="trial units", legend_title="LSOAs")
    assert _n_drawn(ax) == croydon.n_units
    texts = _legend_texts(ax)
    assert texts[0] == "LSOAs"
    assert texts[1] == "treatment (3)" and texts[2] == "control (1)"
    assert texts[3].startswith("buffer (") and texts[-1].startswith("outside (")
    faces = {matplotlib.colors.to_hex(c).upper() for c in ax.collections[0].get_facecolors()}
    assert {OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["orange"]} <= faces
    # the scale bar label
    assert any(t.get_text().endswith("km") for t in ax.texts)
    plt.close(ax.figure)
    ax = rings.plot(polygons=croydon.frame)
    assert _n_drawn(ax) == croydon.n_units
    plt.close(ax.figure)


def test_grid_map_real_records(city_records, lsoa2011_path):
    from triplet.geography import read_boundaries

    city = read_boundaries(lsoa2011_path, where="LAD11NM=City of London")
    cells = grid_cells_bng(city_records, 100)
    counts = cells.value_counts()
    ax = grid_map(counts, background=city.frame, top=15, label="crimes")
    assert _n_drawn(ax) == city.n_units + 15
    assert _legend_texts(ax)[0] == "crimes (15 hottest 100 m cells)"
    plt.close(ax.figure)
    with pytest.raises(InputError):
        grid_map(pd.Series(dtype=float))
    # the hottest cells hold located records of the City
    j = join_points(city_records, city.frame)
    assert j.n_inside > 0.5 * j.n_points
