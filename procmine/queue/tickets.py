"""The queue tickets relation, defined once: one row per ticket, from either source.

Two sources give tickets: a queue-system export ingested with ``kind: tickets`` (the store's
``tickets`` view), and the event log itself when its steps carry ``ticket_time`` and
``call_time`` (each such case is one served ticket: taken at its ticket time, called at its
call time, served from its first step's start to its last step's end). ``source="auto"`` takes
the exports when the store holds any and the event log otherwise; the two are never added up
(a bank that exports both would count its customers twice).

:func:`queue_tickets_sql` writes the relation as a SELECT (DuckDB dialect, run on every engine)
with the canonical ticket columns (:data:`procmine.core.schema.TICKET_COLUMNS`) and the derived
ones every measure reads:

============================  ===============================================================
``queued``                    joined the counter queue (``queue_start`` known)
``waited_seconds``            ``call_time - queue_start`` (never below 0; a clock a second off
                              would make it negative), NULL when either is unknown
``service_seconds``           ``service_end - service_start``
``day``, ``weekday``          the day the ticket joined the queue (taken, if it never did);
                              ``weekday`` 1 = Monday .. 7 = Sunday (ISO)
``interval_start``            that moment floored to its 15-minute interval (a timestamp)
``interval_of_day``           the interval's minutes after midnight (0, 15, ..., 1425)
``month``                     ``YYYY-MM`` of ``day``
============================  ===============================================================

Example:
    >>> sql = queue_tickets_sql("events")
    >>> "ticket_time" in sql and "FROM events" in sql
    True
"""

from __future__ import annotations

from typing import Final, Literal

from procmine.core.errors import ProcmineError
from procmine.core.schema import TICKET_COLUMNS
from procmine.store.event_store import EventStore

__all__ = [
    "INTERVAL_MINUTES",
    "QUEUE_TICKET_COLUMNS",
    "SOURCES",
    "TicketSource",
    "queue_tickets_sql",
    "resolve_source",
]

TicketSource = Literal["auto", "tickets", "events"]

#: The ticket sources :func:`resolve_source` knows.
SOURCES: Final[tuple[str, ...]] = ("auto", "tickets", "events")

#: The length of a staffing interval.
INTERVAL_MINUTES: Final = 15

#: The columns of the relation, in order.
QUEUE_TICKET_COLUMNS: Final[tuple[str, ...]] = (
    *TICKET_COLUMNS, "queued", "waited_seconds", "service_seconds", "day", "weekday",
    "interval_start", "interval_of_day", "month",
)

# One served ticket per case of the event log that carries a ticket time.
_FROM_EVENTS: Final = """
    SELECT case_id AS ticket_id,
           mode(branch_id ORDER BY branch_id) AS branch_id,
           min(ticket_time) AS arrival_time,
           min(ticket_time) AS queue_start,
           min(call_time) AS call_time,
           min(coalesce(start_time, end_time)) AS service_start,
           max(end_time) AS service_end,
           mode(teller_id ORDER BY teller_id) AS teller_id,
           mode(business_type ORDER BY business_type) AS business_type,
           mode(window_type ORDER BY window_type) AS window_type,
           mode(segment ORDER BY segment) AS segment,
           max(amount) AS amount,
           'served' AS outcome
    FROM events
    WHERE case_id IN (SELECT case_id FROM events WHERE ticket_time IS NOT NULL)
    GROUP BY case_id
"""

_FROM_TICKETS: Final = f"SELECT {', '.join(TICKET_COLUMNS)} FROM tickets"

_DERIVED: Final = f"""
    SELECT *,
           CAST(coalesce(queue_start, arrival_time) AS DATE) AS day,
           isodow(coalesce(queue_start, arrival_time)) AS weekday,
           date_trunc('hour', coalesce(queue_start, arrival_time))
               + to_minutes(CAST(floor(minute(coalesce(queue_start, arrival_time))
                                       / {INTERVAL_MINUTES}) * {INTERVAL_MINUTES} AS BIGINT))
               AS interval_start,
           CAST(hour(coalesce(queue_start, arrival_time)) * 60
                + floor(minute(coalesce(queue_start, arrival_time)) / {INTERVAL_MINUTES})
                  * {INTERVAL_MINUTES} AS INTEGER) AS interval_of_day,
           strftime(coalesce(queue_start, arrival_time), '%Y-%m') AS month
    FROM (
        SELECT *,
               queue_start IS NOT NULL AS queued,
               greatest(epoch(call_time - queue_start), 0) AS waited_seconds,
               epoch(service_end - service_start) AS service_seconds
        FROM ({{rows}})
    )
"""


def resolve_source(store: EventStore, source: str = "auto") -> str:
    """``tickets`` or ``events``: where the queue tickets come from (see the module).

    Example:
        >>> resolve_source(store), resolve_source(store, "events")
        ('tickets', 'events')
    """
    key = source.strip().lower()
    if key not in SOURCES:
        raise ProcmineError(f"ticket source {source!r}: expected one of {', '.join(SOURCES)}")
    if key == "auto":
        return "tickets" if store.has_tickets() else "events"
    return key


def queue_tickets_sql(source: str) -> str:
    """The queue tickets relation (see the module) as a SELECT over the store's ``tickets``
    (``source="tickets"``) or ``events`` (``source="events"``)."""
    if source == "tickets":
        rows = _FROM_TICKETS
    elif source == "events":
        rows = _FROM_EVENTS
    else:
        raise ProcmineError(f"ticket source {source!r}: expected tickets or events "
                            "(resolve 'auto' with resolve_source)")
    return _DERIVED.replace("{rows}", rows)
