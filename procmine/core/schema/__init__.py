"""The record kinds procmine stores, one module each: ``events`` (one row per step of a counter
transaction) now; ``tickets`` (queue-system exports) joins as ``tickets.py``.

The names callers use are re-exported here, so ``from procmine.core.schema import
CANONICAL_COLUMNS`` keeps meaning the event schema.
"""

from procmine.core.schema.events import (
    CANONICAL_COLUMNS,
    LINEAGE_COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    STORE_COLUMNS,
    TIMESTAMP_COLUMNS,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "LINEAGE_COLUMNS",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "STORE_COLUMNS",
    "TIMESTAMP_COLUMNS",
]
