"""Static maps: harm choropleths, hottest grid cells, trial units and buffer rings.

Maps are matplotlib figures so every HTML page that shows them stays one self-contained file
that works offline: no basemap tiles are fetched. Colours are colour-blind safe: sequential
values use ``cividis`` (Nuñez, Anderton & Renslow 2018, *PLoS ONE* 13(7), designed for colour
vision deficiency), categories use the Okabe & Ito (2008) palette. Choropleths are classed
(quantiles by default, five classes) so the legend states each class's range in its units
(e.g. days of imprisonment); every map has a legend and a scale bar in metres or kilometres.
Maps show areas only: person-level data is never mapped.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from triplet.errors import InputError, Problem

__all__ = [
    "NO_DATA_COLOUR",
    "OKABE_ITO",
    "ROLE_COLOURS",
    "choropleth",
    "class_breaks",
    "figure_data_uri",
    "grid_map",
    "outline_map",
    "roles_map",
]

#: Okabe & Ito (2008) colour-blind-safe qualitative palette.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}
#: Colours of trial roles on maps.
ROLE_COLOURS = {
    "treatment": OKABE_ITO["vermillion"],
    "treated": OKABE_ITO["vermillion"],
    "candidate": OKABE_ITO["vermillion"],
    "control": OKABE_ITO["blue"],
    "buffer": OKABE_ITO["orange"],
    "other": "#E8E8E8",
    "outside": "#E8E8E8",
}
NO_DATA_COLOUR = "#FFFFFF"
_EDGE = "#7F7F7F"


def _check_polygons(polygons, id_column: str):
    import geopandas as gpd

    if not isinstance(polygons, gpd.GeoDataFrame) or id_column not in polygons.columns:
        raise InputError(
            Problem(
                file="<map>",
                field=id_column,
                message="maps need a GeoDataFrame of polygons with an id column",
            )
        )
    if polygons.crs is not None and polygons.crs.is_geographic:
        polygons = polygons.to_crs("EPSG:27700")
    return polygons


def _axes(ax, figsize=(6.0, 6.0)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _finish(ax, title: str | None) -> None:
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize="medium")
    scale_bar(ax)


def scale_bar(ax, *, fraction: float = 0.25) -> None:
    """A scale bar (metres or km) in the lower-left corner of a map in metres."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width = (x1 - x0) * fraction
    if width <= 0:
        return
    nice = 10 ** np.floor(np.log10(width))
    for m in (5, 2, 1):
        if m * nice <= width:
            length = m * nice
            break
    else:  # pragma: no cover - width >= nice always
        length = nice
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    bx, by = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    ax.plot([bx, bx + length], [by, by], color="black", linewidth=2.5, solid_capstyle="butt")
    ax.text(bx + length / 2, by + 0.015 * (y1 - y0), label, ha="center", va="bottom", fontsize=7)


def class_breaks(values: Sequence[float], k: int = 5, scheme: str = "quantiles") -> np.ndarray:
    """Upper edges of ``k`` classes of ``values`` (NaN ignored): ``quantiles`` or ``equal``.

    Duplicate quantile edges (many equal values, e.g. zeros) are merged, so fewer classes
    may come back.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.array([])
    if scheme == "quantiles":
        edges = np.quantile(v, np.linspace(0, 1, k + 1)[1:])
    elif scheme == "equal":
        edges = np.linspace(v.min(), v.max(), k + 1)[1:]
    else:
        raise InputError(Problem(file="<map>", field="scheme", message="quantiles or equal"))
    return np.unique(edges)


def _fmt(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2g}"


def choropleth(
    polygons,
    values: pd.Series | Mapping[str, float],
    *,
    ax=None,
    label: str = "harm (days of imprisonment)",
    title: str | None = None,
    id_column: str = "unit",
    k: int = 5,
    scheme: str = "quantiles",
    cmap: str = "cividis",
    noun: str = "areas",
):
    """Classed choropleth of ``values`` (indexed by area id) over ``polygons``.

    The legend's title is ``label`` (state the units), each entry a class range and its number
    of ``noun`` (areas, cells); areas
    without a value are white, labelled ``no data``. Returns the axes.
    """
    import matplotlib as mpl
    from matplotlib.patches import Patch

    polygons = _check_polygons(polygons, id_column)
    ax = _axes(ax)
    vals = pd.Series(values, dtype=float)
    vals.index = vals.index.astype(str)
    v = polygons[id_column].astype(str).map(vals).to_numpy(dtype=float)
    edges = class_breaks(v, k, scheme)
    colours = mpl.colormaps[cmap](np.linspace(0.05, 0.95, max(len(edges), 1)))
    cls = np.searchsorted(edges, v, side="left")
    cls = np.clip(cls, 0, max(len(edges) - 1, 0))
    face = np.array([mpl.colors.to_hex(colours[c]) for c in cls], dtype=object)
    face[~np.isfinite(v)] = NO_DATA_COLOUR
    polygons.plot(ax=ax, color=list(face), edgecolor=_EDGE, linewidth=0.3)
    handles = []
    lo = np.nanmin(v) if np.isfinite(v).any() else 0.0
    for i, hi in enumerate(edges):
        start = lo if i == 0 else edges[i - 1]
        n = int(((cls == i) & np.isfinite(v)).sum())
        handles.append(
            Patch(
                facecolor=colours[i],
                edgecolor=_EDGE,
                label=f"{_fmt(start)}-{_fmt(hi)} ({n} {noun})",
            )
        )
    if (~np.isfinite(v)).any():
        handles.append(
            Patch(
                facecolor=NO_DATA_COLOUR,
                edgecolor=_EDGE,
                label=f"no data ({int((~np.isfinite(v)).sum())} {noun})",
            )
        )
    ax.legend(
        handles=handles,
        title=label,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize="x-small",
        title_fontsize="small",
        frameon=False,
    )
    _finish(ax, title)
    return ax


def roles_map(
    polygons,
    roles: pd.Series | Mapping[str, str],
    *,
    ax=None,
    title: str | None = None,
    id_column: str = "unit",
    legend_title: str = "areas",
    colours: Mapping[str, str] | None = None,
):
    """Areas coloured by role (``treatment``, ``control``, ``buffer`` ...; others grey).

    Legend entries give each role's number of areas. Returns the axes.
    """
    from matplotlib.patches import Patch

    polygons = _check_polygons(polygons, id_column)
    ax = _axes(ax)
    pal = dict(ROLE_COLOURS)
    pal.update(colours or {})
    r = pd.Series(roles, dtype="str")
    r.index = r.index.astype(str)
    role = (
        polygons[id_column].astype(str).map(r).astype(object).fillna("other").to_numpy(dtype=object)
    )
    extra = [x for x in dict.fromkeys(role) if x not in pal]
    spare = [c for c in OKABE_ITO.values() if c not in pal.values()]
    for x, c in zip(extra, spare, strict=False):
        pal[x] = c
    face = [pal.get(x, ROLE_COLOURS["other"]) for x in role]
    polygons.plot(ax=ax, color=face, edgecolor=_EDGE, linewidth=0.3)
    order = [x for x in pal if x in set(role) and x != "other"]
    order += [x for x in dict.fromkeys(role) if x not in order and x != "other"]
    if "other" in set(role):
        order.append("other")
    handles = [
        Patch(
            facecolor=pal.get(x, ROLE_COLOURS["other"]),
            edgecolor=_EDGE,
            label=f"{x} ({int((role == x).sum())})",
        )
        for x in order
    ]
    ax.legend(
        handles=handles,
        title=legend_title,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize="x-small",
        title_fontsize="small",
        frameon=False,
    )
    _finish(ax, title)
    return ax


def outline_map(polygons, *, ax=None, title: str | None = None, id_column: str = "unit"):
    """Area outlines only (grey), with a legend and a scale bar."""
    from matplotlib.patches import Patch

    polygons = _check_polygons(polygons, id_column)
    ax = _axes(ax)
    polygons.plot(ax=ax, color="#F2F2F2", edgecolor=_EDGE, linewidth=0.3)
    ax.legend(
        handles=[Patch(facecolor="#F2F2F2", edgecolor=_EDGE, label=f"areas ({len(polygons)})")],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize="x-small",
        frameon=False,
    )
    _finish(ax, title)
    return ax


def grid_map(
    cells: pd.Series | Mapping[str, float],
    *,
    background=None,
    top: int | None = 20,
    ax=None,
    label: str = "harm (days of imprisonment)",
    title: str | None = None,
    cmap: str = "cividis",
):
    """The hottest British National Grid cells (values indexed by cell id) over area outlines.

    ``top`` keeps the ``top`` highest cells (all if None). ``background``: polygons drawn in
    grey beneath. Returns the axes.
    """
    from triplet.geography.grid import grid_polygons

    vals = pd.Series(cells, dtype=float).dropna().sort_values(ascending=False)
    if top is not None:
        vals = vals.head(top)
    if vals.empty:
        raise InputError(Problem(file="<map>", field="cells", message="no grid cell to map"))
    ax = _axes(ax)
    if background is not None:
        bg = _check_polygons(background, background.columns[0])
        bg.plot(ax=ax, color="#F2F2F2", edgecolor="#BFBFBF", linewidth=0.3)
    squares = grid_polygons(vals.index)
    size = squares["size_m"].iloc[0]
    choropleth(
        squares,
        vals,
        ax=ax,
        label=label,
        title=None,
        k=min(5, len(vals)),
        cmap=cmap,
        noun="cells",
    )
    leg = ax.get_legend()
    leg.set_title(f"{label} ({len(vals)} hottest {size:g} m cells)")
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def figure_data_uri(fig, *, dpi: int = 110) -> str:
    """The figure as a ``data:image/png;base64,...`` URI, for self-contained HTML pages."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
