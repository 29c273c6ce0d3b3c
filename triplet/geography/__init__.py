"""Geography: boundaries, units with neighbours, points in areas, grid cells, rings, vintages, maps.

One concept per module:

- :mod:`~triplet.geography.boundaries`: read GeoJSON / GeoPackage / Shapefile in any CRS into
  British National Grid (EPSG:27700), ONS code columns recognised, one local authority kept;
- :mod:`~triplet.geography.units`: the units table (id, name, centroid x/y, area, queen or rook
  neighbours) that targeting, testing and tracking take;
- :mod:`~triplet.geography.join`: points (records, pings) to polygons, outside points counted;
- :mod:`~triplet.geography.grid`: British National Grid cells with readable ids, as polygons;
- :mod:`~triplet.geography.rings`: distance bands around treated polygons;
- :mod:`~triplet.geography.vintages`: LSOA 2011 <-> 2021 codes through an ONS lookup;
- :mod:`~triplet.geography.maps`: static, colour-blind-safe maps with legends in units.

geopandas, shapely, pyproj and libpysal are imported when a function needs them.
"""

from triplet.geography.boundaries import (
    BNG,
    Boundaries,
    boundaries_from_frame,
    ons_code_columns,
    read_boundaries,
    write_boundaries,
)
from triplet.geography.grid import bng_cell_ids, grid_cells_bng, grid_polygons, parse_cell_ids
from triplet.geography.join import PointsInAreas, join_points
from triplet.geography.rings import BufferRings, buffer_rings
from triplet.geography.units import Units, units_from_boundaries
from triplet.geography.vintages import (
    LsoaLookup,
    VintageMap,
    convert_lsoa_codes,
    read_lsoa_lookup,
)

__all__ = [
    "BNG",
    "Boundaries",
    "BufferRings",
    "LsoaLookup",
    "PointsInAreas",
    "Units",
    "VintageMap",
    "bng_cell_ids",
    "boundaries_from_frame",
    "buffer_rings",
    "convert_lsoa_codes",
    "grid_cells_bng",
    "grid_polygons",
    "join_points",
    "ons_code_columns",
    "parse_cell_ids",
    "read_boundaries",
    "read_lsoa_lookup",
    "units_from_boundaries",
    "write_boundaries",
]
