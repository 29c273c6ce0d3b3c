"""Units from boundaries: neighbours against a shapely reference, centroids, candidates."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from triplet.geography import boundaries_from_frame, units_from_boundaries
from triplet.targeting.candidates import select_candidates


def _reference_neighbours(frame, rook: bool) -> dict[str, set[str]]:
    """Contiguity computed another way: shapely predicates on every pair the tree proposes.

    Queen: the polygons intersect (share a point) without their interiors overlapping; rook:
    the shared boundary has positive length.
    """
    ids = frame["unit"].to_numpy()
    geoms = frame.geometry.values
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="touches")
    out: dict[str, set[str]] = {u: set() for u in ids}
    for i, j in zip(a, b, strict=True):
        if i == j:
            continue
        if rook:
            shared = shapely.intersection(geoms[i].boundary, geoms[j].boundary)
            if shared.length <= 0:
                continue
        out[ids[i]].add(ids[j])
    return out


@pytest.mark.parametrize("contiguity", ["queen", "rook"])
def test_neighbours_match_shapely_reference(croydon, contiguity):
    units = units_from_boundaries(croydon, contiguity=contiguity)
    t = units.table
    got = {u: set(r.split(";")) - {""} for u, r in zip(t["unit"], t["neighbours"], strict=True)}
    ref = _reference_neighbours(croydon.frame, rook=contiguity == "rook")
    assert got == ref
    # symmetric
    assert all(u in got[v] for u in got for v in got[u])
    counts = t.set_index("unit")["n_neighbours"]
    assert counts.to_dict() == {u: len(v) for u, v in ref.items()}
    # 229 Croydon LSOAs: queen 1,260 directed links, rook 1,236 (values of this reference)
    assert counts.sum() == (1260 if contiguity == "queen" else 1236)
    assert units.islands == []


def test_centroids_inside_or_flagged(croydon_units, croydon):
    t = croydon_units.table
    geoms = croydon.frame.geometry.values
    inside = shapely.contains_xy(geoms, t["x"].to_numpy(), t["y"].to_numpy())
    # x/y are rounded to cm: a flag must agree with the rounded point for all but knife-edges
    assert (inside == t["centroid_inside"].to_numpy()).all()
    assert 0 < (~t["centroid_inside"]).sum() < 20
    assert shapely.contains_xy(geoms, t["inside_x"].to_numpy(), t["inside_y"].to_numpy()).all()
    assert "outside their polygon" in croydon_units.report()
    assert t["area_m2"].sum() / 1e6 == pytest.approx(86.5, abs=1.0)
    assert (t["lsoa_code"] == t["unit"]).all()


def test_candidates_with_buffers_on_real_lsoas(croydon_units):
    """Adjacency candidates: none adjacent to another; each buffer ring = its neighbours."""
    rng = np.random.default_rng(np.random.PCG64(11))
    t = croydon_units.table
    units = t[["unit", "x", "y", "neighbours"]].assign(
        harm=rng.gamma(2.0, 500.0, len(t)), count=rng.poisson(40, len(t))
    )
    cand = select_candidates(units, n=15)
    assert cand.separation == "adjacency" and len(cand.units) == 15
    nb = dict(zip(t["unit"], t["neighbours"].str.split(";"), strict=True))
    for u in cand.units:
        assert not set(nb[u]) & set(cand.units)
    ring = cand.table.set_index("unit")["buffer"].str.split(";")
    for u in cand.units:
        assert sorted(ring[u]) == sorted(nb[u])
    # distance separation on centroids, buffers within 800 m
    dist = select_candidates(units, n=10, min_distance_m=1200, buffer_m=800)
    xy = t.set_index("unit").loc[dist.units, ["x", "y"]].to_numpy()
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert d[np.triu_indices(len(xy), 1)].min() >= 1200


def test_hand_made_grid():
    """A 3 x 3 grid of unit squares: queen gives the corner cell 3 neighbours, rook 2."""
    boxes = [shapely.box(c, r, c + 1, r + 1) for r in range(3) for c in range(3)]
    frame = gpd.GeoDataFrame({"code": [f"u{i}" for i in range(9)]}, geometry=boxes, crs=27700)
    b = boundaries_from_frame(frame, id_column="code")
    q = units_from_boundaries(b).table.set_index("unit")
    r = units_from_boundaries(b, contiguity="rook").table.set_index("unit")
    assert q.loc["u0", "neighbours"] == "u1;u3;u4"
    assert r.loc["u0", "neighbours"] == "u1;u3"
    assert q.loc["u4", "n_neighbours"] == 8 and r.loc["u4", "n_neighbours"] == 4
    assert q.loc["u4", ["x", "y"]].tolist() == [1.5, 1.5]
    assert (q["area_m2"] == 1.0).all()
    assert "lsoa_code" not in q.columns
    # a lone island
    frame2 = pd.concat(
        [
            frame,
            gpd.GeoDataFrame({"code": ["far"]}, geometry=[shapely.box(10, 10, 11, 11)], crs=27700),
        ]
    )
    u = units_from_boundaries(boundaries_from_frame(frame2, id_column="code"))
    assert u.islands == ["far"]
