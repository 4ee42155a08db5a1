"""The canonical event schema: one row per step of a counter transaction.

Everything after ingest speaks these names. Timestamps are naive ``TIMESTAMP`` values: wall-clock
time as recorded when the source carries no offset, UTC when it does (as pm4py does).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CANONICAL_COLUMNS",
    "LINEAGE_COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "STORE_COLUMNS",
    "TIMESTAMP_COLUMNS",
]

#: canonical name -> DuckDB type, in store order.
CANONICAL_COLUMNS: Final[dict[str, str]] = {
    "case_id": "VARCHAR",
    "activity": "VARCHAR",
    "start_time": "TIMESTAMP",
    "end_time": "TIMESTAMP",
    "teller_id": "VARCHAR",
    "branch_id": "VARCHAR",
    "business_type": "VARCHAR",
    "amount": "DOUBLE",
    "error": "BOOLEAN",
    "window_type": "VARCHAR",
    "segment": "VARCHAR",
    "ticket_time": "TIMESTAMP",
    "call_time": "TIMESTAMP",
}

#: Where each stored row came from: the ingest batch and the record number in its source file.
LINEAGE_COLUMNS: Final[dict[str, str]] = {
    "source_batch": "VARCHAR",
    "source_row": "BIGINT",
}

STORE_COLUMNS: Final[dict[str, str]] = {**CANONICAL_COLUMNS, **LINEAGE_COLUMNS}

REQUIRED_COLUMNS: Final[tuple[str, ...]] = ("case_id", "activity", "end_time")

OPTIONAL_COLUMNS: Final[tuple[str, ...]] = tuple(
    c for c in CANONICAL_COLUMNS if c not in REQUIRED_COLUMNS
)

TIMESTAMP_COLUMNS: Final[tuple[str, ...]] = tuple(
    c for c, t in CANONICAL_COLUMNS.items() if t == "TIMESTAMP"
)
