"""notebooks/targeting.ipynb executes top to bottom with injected parameters (nbclient)."""

from __future__ import annotations

import pytest

from triplet.reports.notebooks import execute_notebook


@pytest.mark.filterwarnings("ignore")
def test_targeting_notebook_executes(repo_root, tmp_path):
    nb = execute_notebook(
        repo_root / "notebooks" / "targeting.ipynb",
        parameters={"seed": 7, "out_dir": str(tmp_path), "n_candidates": 3},
    )
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if "text" in o)
    assert "The Felonious Few" in text and "SYNTHETIC" in text
    assert "candidates:" in text
    assert (tmp_path / "lsoa_ranking.csv").exists()
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 9  # with the three maps (harm per LSOA, hottest cells, candidates)
