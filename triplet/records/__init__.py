"""Crime records: the canonical table, its readers, pseudonymisation, data sources, aggregates.

See docs/records.md. The table's columns are :data:`RECORD_COLUMNS`; readers return a
:class:`RecordsRead` that lists every skipped row.
"""

from triplet.records.aggregate import unit_month
from triplet.records.extract import ExtractMapping, load_mapping, read_extract
from triplet.records.police_uk import POLICE_UK_COLUMNS, read_police_uk
from triplet.records.pseudonymise import is_pseudonym, pseudonymise
from triplet.records.result import RecordsRead
from triplet.records.schema import (
    POLICE_UK_CRIME_TYPES,
    RECORD_COLUMNS,
    RecordColumn,
    empty_records,
    validate_records,
)
from triplet.records.sources import load_source

__all__ = [
    "POLICE_UK_COLUMNS",
    "POLICE_UK_CRIME_TYPES",
    "RECORD_COLUMNS",
    "ExtractMapping",
    "RecordColumn",
    "RecordsRead",
    "empty_records",
    "is_pseudonym",
    "load_mapping",
    "load_source",
    "pseudonymise",
    "read_extract",
    "read_police_uk",
    "unit_month",
    "validate_records",
]
