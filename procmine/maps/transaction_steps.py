"""The steps of one transaction, in the order conformance checking reads them.

:func:`procmine.conformance` orders a transaction's events by their start (the end where an
event has no start), then their end, then the activity; a deviation's ``position`` is an index
in that order. :func:`case_steps` returns the events of one transaction in the same order, so a
page can show a deviating transaction event by event beside its SOP's steps.

Example:
    >>> steps = case_steps(store, str(store.read_events(["case_id"]).column(0)[0]))
    >>> list(steps.columns)
    ['activity', 'start_time', 'end_time', 'teller_id', 'branch_id', 'business_type']
    >>> len(steps) > 0
    True
"""

from __future__ import annotations

import pandas as pd

from procmine.store.engine import DuckDBEngine, Engine
from procmine.store.event_store import EventStore

__all__ = ["case_steps"]

_CASE_SQL = """
    SELECT activity, start_time, end_time, teller_id, branch_id, business_type
    FROM events
    WHERE case_id = $case_id
    ORDER BY coalesce(start_time, end_time), end_time, activity
"""


def case_steps(store: EventStore, case_id: str, *, engine: Engine | None = None
               ) -> pd.DataFrame:
    """The events of transaction ``case_id`` (none: an empty frame), ordered as
    :func:`procmine.conformance` orders them; the query runs on ``engine`` (DuckDB by
    default)."""
    return (engine or DuckDBEngine(store)).query(_CASE_SQL, {"case_id": case_id})
