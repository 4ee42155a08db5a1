"""The canonical ticket schema: one row per queue ticket (or call) of a queue-management system.

A ticket is taken (``arrival_time``), joins the counter queue (``queue_start``; the arrival when
the system has no separate stage, NULL when the customer left before queueing, e.g. a call that
hung up in a voice menu), ends its wait (``call_time``: called to a counter, or for an abandoned
ticket the moment it was given up, when known), is served (``service_start``..``service_end``)
by a teller at a window, and ends with an ``outcome``.

Timestamps are naive ``TIMESTAMP`` values, wall-clock time as recorded (like the events).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "OUTCOMES",
    "TICKET_COLUMNS",
    "TICKET_REQUIRED",
    "TICKET_STAGES",
    "TICKET_STORE_COLUMNS",
]

#: canonical name -> DuckDB type, in store order.
TICKET_COLUMNS: Final[dict[str, str]] = {
    "ticket_id": "VARCHAR",
    "branch_id": "VARCHAR",
    "arrival_time": "TIMESTAMP",
    "queue_start": "TIMESTAMP",
    "call_time": "TIMESTAMP",
    "service_start": "TIMESTAMP",
    "service_end": "TIMESTAMP",
    "teller_id": "VARCHAR",
    "business_type": "VARCHAR",
    "window_type": "VARCHAR",
    "segment": "VARCHAR",
    "amount": "DOUBLE",
    "outcome": "VARCHAR",
}

#: The stages of a ticket in the order they happen (a later stage is never earlier).
TICKET_STAGES: Final[tuple[str, ...]] = (
    "arrival_time", "queue_start", "call_time", "service_start", "service_end",
)

#: The outcomes a ticket can have (a mapping file maps the source's values onto these).
#: ``served``: called and served; ``abandoned``: left the queue before being called;
#: ``no_show``: called, not there; ``transferred``: served, then sent to another queue.
OUTCOMES: Final[tuple[str, ...]] = ("served", "abandoned", "no_show", "transferred")

TICKET_REQUIRED: Final[tuple[str, ...]] = ("ticket_id", "arrival_time", "outcome")

TICKET_STORE_COLUMNS: Final[dict[str, str]] = {
    **TICKET_COLUMNS, "source_batch": "VARCHAR", "source_row": "BIGINT",
}
