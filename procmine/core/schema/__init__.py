"""The record kinds procmine stores, one module each: ``events`` (one row per step of a counter
transaction) and ``tickets`` (one row per ticket or call of a queue-system export).

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
from procmine.core.schema.tickets import (
    OUTCOMES,
    TICKET_COLUMNS,
    TICKET_REQUIRED,
    TICKET_STAGES,
    TICKET_STORE_COLUMNS,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "LINEAGE_COLUMNS",
    "OPTIONAL_COLUMNS",
    "OUTCOMES",
    "REQUIRED_COLUMNS",
    "STORE_COLUMNS",
    "TICKET_COLUMNS",
    "TICKET_REQUIRED",
    "TICKET_STAGES",
    "TICKET_STORE_COLUMNS",
    "TIMESTAMP_COLUMNS",
]
