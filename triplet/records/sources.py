"""Resolve a trial's data source (``data_sources`` in trial.yaml) to a table.

A source's ``uri`` is either

- a path relative to the registry root: a CSV or Parquet file of canonical records (validated
  with :func:`triplet.records.validate_records`), a data.police.uk street-level CSV or a folder of
  them (recognised by the ``Crime ID`` header), a force extract when the source names a
  ``mapping`` YAML, or, for ``kind: units`` / ``covariates``, any table (returned as read); or
- ``example://borough`` (records), ``example://borough/lsoas`` (LSOA units),
  ``example://borough/offenders`` (people), ``example://borough/victims``, each with an optional
  ``?seed=N`` (default 2013): the SYNTHETIC example borough, generated once per seed per process;
  ``example://borough/polygons`` are its LSOAs' (Voronoi) polygons.

A ``kind: boundaries`` source names a boundary file (GeoJSON, GeoPackage, Shapefile; optional
``id_column``, ``where``, ``layer``): :func:`load_source` returns its units table (id, name,
centroid x/y, area, queen neighbours) and :func:`load_boundaries` its polygons
(:class:`triplet.geography.Boundaries`), for buffer rings and maps.

When the source has ``simulated_effect`` (a rate ratio; synthetic sources only) and an
``assignment`` (``unit, arm``) and ``trial`` are given, records of the treated units in the
trial's treatment months are thinned with :func:`triplet.example.inject_effect`, so the expected
count there is multiplied by the rate ratio. The thinning seed is the trial's design seed. With
``simulated_dose: true`` the rate ratio is that of the full registered dose and every unit-month
(either arm) is thinned by the share of the dose its example pings delivered
(:func:`triplet.example.pings.inject_dose_effect`; issue 16).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import pandas as pd

from triplet.errors import InputError, Problem
from triplet.records.schema import validate_records

if TYPE_CHECKING:
    from triplet.example.borough import Borough
    from triplet.registry.models import DataSource, Trial

__all__ = ["EXAMPLE_TABLES", "example_borough", "load_boundaries", "load_source"]

#: ``example://borough/<table>`` tables; "" is the records.
EXAMPLE_TABLES = ("", "lsoas", "offenders", "victims", "polygons")
DEFAULT_SEED = 2013


@functools.lru_cache(maxsize=4)
def example_borough(seed: int = DEFAULT_SEED) -> Borough:
    """The example borough for ``seed``, generated once per process (SYNTHETIC)."""
    from triplet.example import generate_borough

    return generate_borough(seed=seed)


def _field(source: DataSource, trial: Trial | None, name: str) -> str:
    if trial is not None:
        for i, s in enumerate(trial.data_sources):
            if s is source:
                return f"data_sources[{i}].{name}"
    return f"data_sources.{name}" if trial is not None else name


def _problem(source, trial, file, message, name="uri") -> InputError:
    return InputError(Problem(file=str(file), field=_field(source, trial, name), message=message))


def _example(source: DataSource, trial: Trial | None, file: str) -> tuple[pd.DataFrame, bool]:
    parsed = urlparse(source.uri)
    if parsed.netloc != "borough":
        raise _problem(
            source, trial, file, f"unknown example {source.uri!r}; use example://borough"
        )
    table = parsed.path.strip("/")
    if table not in EXAMPLE_TABLES:
        raise _problem(
            source,
            trial,
            file,
            f"unknown example table {table!r} in {source.uri!r}; use one of: "
            + ", ".join("example://borough" + (f"/{t}" if t else "") for t in EXAMPLE_TABLES),
        )
    query = parse_qs(parsed.query)
    unknown = set(query) - {"seed"}
    if unknown:
        raise _problem(
            source, trial, file, f"unknown query {sorted(unknown)} in {source.uri!r}; only ?seed=N"
        )
    seed = DEFAULT_SEED
    if "seed" in query:
        try:
            seed = int(query["seed"][-1])
            if seed < 0:
                raise ValueError
        except ValueError:
            raise _problem(
                source, trial, file, f"seed must be a non-negative integer in {source.uri!r}"
            ) from None
    borough = example_borough(seed)
    if table == "polygons":
        return _example_polygons(seed).copy(), False
    frame = {
        "": borough.records,
        "lsoas": borough.lsoas,
        "offenders": borough.offenders,
        "victims": borough.victims,
    }[table]
    return frame.copy(), table == ""


@functools.lru_cache(maxsize=4)
def _example_polygons(seed: int):
    from triplet.example.polygons import borough_polygons

    return borough_polygons(example_borough(seed).lsoas)


def load_boundaries(
    source: DataSource,
    root: Path,
    *,
    trial: Trial | None = None,
    file: str | Path | None = None,
):
    """The polygons of a ``kind: boundaries`` source (:class:`triplet.geography.Boundaries`,
    British National Grid, ``unit`` = the id column); ``example://borough/polygons`` gives the
    example borough's (SYNTHETIC) LSOA polygons."""
    import dataclasses

    from triplet.geography import boundaries_from_frame, read_boundaries

    file = str(file) if file is not None else (f"trial {trial.id}" if trial else "data source")
    if source.kind != "boundaries":
        raise _problem(source, trial, file, "not a boundaries source", "kind")
    uri = source.uri
    if urlparse(uri).scheme == "example":
        frame, _ = _example(source, trial, file)
        if urlparse(uri).path.strip("/") != "polygons":
            raise _problem(source, trial, file, "example boundaries: example://borough/polygons")
        b = boundaries_from_frame(
            frame, id_column="lsoa_code", name_column="lsoa_name", where=source.where, path=uri
        )
        return dataclasses.replace(b, entity="LSOA")
    path = Path(uri)
    if not path.is_absolute():
        path = Path(root) / path
    if not path.exists():
        raise _problem(source, trial, file, f"file not found: {path}")
    return read_boundaries(path, id_column=source.id_column, where=source.where, layer=source.layer)


def _read_path(source: DataSource, root: Path, trial: Trial | None, file: str) -> pd.DataFrame:
    path = Path(source.uri)
    if not path.is_absolute():
        path = root / path
    if not path.exists():
        raise _problem(source, trial, file, f"file not found: {path}")
    if source.mapping:
        from triplet.records.extract import read_extract

        mapping = Path(source.mapping)
        if not mapping.is_absolute():
            mapping = root / mapping
        if not mapping.exists():
            raise _problem(source, trial, file, f"mapping file not found: {mapping}", "mapping")
        return read_extract(path, mapping).records
    if path.is_dir() or _is_police_uk(path):
        from triplet.records.police_uk import read_police_uk

        return read_police_uk(path).records
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix == ".csv":
            frame = pd.read_csv(
                path,
                dtype={
                    "crime_id": "str",
                    "lsoa_code": "str",
                    "suspect_id": "str",
                    "victim_id": "str",
                    "offence_code": "str",
                },
            )
        else:
            raise _problem(
                source, trial, file, f"unknown file type {suffix!r} of {path}; use .csv or .parquet"
            )
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        if isinstance(exc, InputError):
            raise
        raise _problem(source, trial, file, f"cannot read {path}: {exc}") from exc
    if source.kind == "records":
        return validate_records(frame, path)
    return frame


def _is_police_uk(path: Path) -> bool:
    if path.suffix.lower() != ".csv":
        return False
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    return header.startswith("Crime ID,") or ",Crime ID," in header


def load_source(
    source: DataSource,
    root: Path,
    *,
    trial: Trial | None = None,
    assignment: pd.DataFrame | None = None,
    file: str | Path | None = None,
) -> pd.DataFrame:
    """Return the table a data source points to (see the module docstring).

    ``root`` is the registry root (paths are relative to it). ``file`` names the trial.yaml in
    error messages (default: the trial id). Unknown schemes, example tables or missing files
    raise :class:`~triplet.errors.InputError` naming the field, e.g. ``data_sources[0].uri``.
    """
    file = (
        str(file)
        if file is not None
        else (f"trial {trial.id}" if trial is not None else "data source")
    )
    root = Path(root)
    uri = source.uri
    scheme = urlparse(uri).scheme
    if source.kind == "boundaries":
        from triplet.geography import units_from_boundaries

        return units_from_boundaries(load_boundaries(source, root, trial=trial, file=file)).table
    if scheme == "example":
        frame, is_records = _example(source, trial, file)
        if source.kind == "records" and not is_records:
            raise _problem(
                source, trial, file, f"{uri} is not a records table; use example://borough", "kind"
            )
    elif scheme in ("", "file") or (len(scheme) == 1 and Path(uri).drive):  # drive letters
        frame = _read_path(source, root, trial, file)
    else:
        raise _problem(
            source, trial, file, f"unknown scheme {scheme!r} in {uri!r}; use a path or example://"
        )

    if source.simulated_effect is not None and assignment is not None:
        if trial is None:
            raise _problem(
                source,
                trial,
                file,
                "simulated_effect needs the trial (unit column, months)",
                "simulated_effect",
            )
        if source.kind != "records":
            return frame
        frame = _inject(frame, source, trial, assignment, file)
    return frame


def _inject(
    frame: pd.DataFrame, source, trial, assignment: pd.DataFrame, file: str
) -> pd.DataFrame:
    from triplet.example.effect import inject_effect

    unit_column = trial.units.id_column
    if unit_column not in frame.columns:
        raise InputError(
            Problem(
                file=file,
                field="units.id_column",
                message=f"records have no column {unit_column!r}",
            )
        )
    if "day" in assignment.columns and "treated" in assignment.columns:  # a place-day schedule
        from triplet.example.effect import inject_place_day_effect

        scheme = trial.design.place_day
        return inject_place_day_effect(
            frame,
            unit_column=unit_column,
            schedule=assignment,
            rate_ratio=float(source.simulated_effect),
            seed=trial.design.seed,
            shifts=[(s.name, s.start) for s in scheme.shifts] if scheme else (),
        )
    for col in ("unit", "arm"):
        if col not in assignment.columns:
            raise InputError(Problem(file="assignment", field=col, message="column missing"))
    if source.simulated_dose:
        return _inject_dose(frame, source, trial, assignment, file)
    treated = assignment.loc[assignment["arm"] == "treatment", "unit"].astype("str").tolist()
    return inject_effect(
        frame,
        unit_column=unit_column,
        treated_units=treated,
        months=trial.periods.treatment.months,
        rate_ratio=float(source.simulated_effect),
        seed=trial.design.seed,
    )


def _inject_dose(frame: pd.DataFrame, source, trial, assignment: pd.DataFrame, file: str):
    """simulated_dose: the effect follows the dose delivered by the example pings (issue 16)."""
    from triplet.example.pings import example_dose, inject_dose_effect

    pings = [
        s
        for s in (trial.delivery.sources if trial.delivery is not None else [])
        if s.uri.startswith("example://borough/pings")
    ]
    if not pings:
        raise _problem(
            source,
            trial,
            file,
            "simulated_dose needs a delivery source example://borough/pings?seed=N",
            "simulated_dose",
        )
    query = parse_qs(urlparse(pings[0].uri).query)
    seed = int(query.get("seed", [str(DEFAULT_SEED)])[-1])
    a = assignment.assign(unit=assignment["unit"].astype("str"))
    return inject_dose_effect(
        frame,
        unit_column=trial.units.id_column,
        dose=example_dose(trial, a, seed),
        rate_ratio=float(source.simulated_effect),
        seed=trial.design.seed,
    )
