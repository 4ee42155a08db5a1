"""The transactions relation: one row per case, made from its steps, defined once.

A transaction (case) runs from its first step's start (its end, for a step without a start) to
its last step's end: its counter dwell time. Its teller, branch, business type and window type
are those of most of its steps, the smallest among ties (``mode(x ORDER BY x)``), so a tie never
changes between runs or engines. It is an error if any step is; its amount is the largest of its
steps'; its queue wait runs from the ticket to the call.

:func:`transactions_sql` writes the relation as a SELECT over ``events`` (DuckDB's dialect, run
on every engine of :mod:`procmine.store.engine`) with the columns a query needs: the summaries of
:mod:`procmine.analysis.performance` take :data:`TRANSACTIONS` (dwell in seconds), the monthly
league (:mod:`procmine.analysis.league`) the dwell as whole microseconds (``dwell_us``; integer
sums are exact, so its figures do not change with the order an engine's threads add them in)
and only the events of its months (:data:`SCAN_WINDOW`).

Example:
    >>> print(transactions_sql(columns=("teller_id", "steps")))
    <BLANKLINE>
        SELECT case_id,
               mode(teller_id ORDER BY teller_id) AS teller_id,
               count(*) AS steps
        FROM events
        GROUP BY case_id
    <BLANKLINE>
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Final

import pyarrow as pa

from procmine.core.baseline import Baseline

__all__ = [
    "COLUMNS",
    "PREPARED_SCAN_WINDOW",
    "SCAN_WINDOW",
    "STANDARD_COLUMNS",
    "TRANSACTIONS",
    "baseline_table",
    "midnight",
    "scan_window",
    "transactions_sql",
]

#: Each column of a transaction: its aggregate over the case's steps (rows of ``events``).
COLUMNS: Final[dict[str, str]] = {
    "teller_id": "mode(teller_id ORDER BY teller_id)",
    "branch_id": "mode(branch_id ORDER BY branch_id)",
    "business_type": "mode(business_type ORDER BY business_type)",
    "window_type": "mode(window_type ORDER BY window_type)",
    "started": "min(coalesce(start_time, end_time))",
    "ended": "max(end_time)",
    "dwell_seconds": "epoch(max(end_time) - min(coalesce(start_time, end_time)))",
    "dwell_us": "datediff('microsecond', min(coalesce(start_time, end_time)), max(end_time))",
    "steps": "count(*)",
    "error": "coalesce(bool_or(error), false)",
    "amount": "max(amount)",
    "queue_seconds": "epoch(min(call_time) - min(ticket_time))",
}

#: The columns of :data:`TRANSACTIONS` (after ``case_id``): all but ``dwell_us``.
STANDARD_COLUMNS: Final[tuple[str, ...]] = tuple(c for c in COLUMNS if c != "dwell_us")

#: The events of the transactions that started in a period, from a day before it to a day after
#: (a counter transaction never lasts a day): the window lets DuckDB skip the rest of the store.
#: Its parameters come from :func:`scan_window`.
SCAN_WINDOW: Final = "end_time >= $scan_from AND coalesce(start_time, end_time) < $scan_to"


#: :data:`SCAN_WINDOW` on the prepared transactions: those that start within it.
PREPARED_SCAN_WINDOW: Final = "started >= $scan_from AND started < $scan_to"


def transactions_sql(where: str = "", columns: Sequence[str] = STANDARD_COLUMNS, *,
                     prepared: bool = False) -> str:
    """The transactions relation as a SELECT over ``events``: ``case_id`` and ``columns`` (names
    of :data:`COLUMNS`), from the events that pass ``where`` (a condition on ``events``, e.g.
    :data:`SCAN_WINDOW`; all events when empty).

    ``prepared``: the same from the prepared transactions written at ingest
    (:mod:`procmine.store.prepared`; ``EventStore.is_prepared``), with no grouping of events;
    ``where`` is then empty or :data:`SCAN_WINDOW` (the transactions starting in the window: a
    counter transaction never lasts a day, so these are the same).

    Example:
        >>> print(transactions_sql(SCAN_WINDOW, ("steps",), prepared=True))
        <BLANKLINE>
            SELECT case_id, steps
            FROM prepared_cases
            WHERE started >= $scan_from AND started < $scan_to
        <BLANKLINE>
    """
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"not a column of the transactions: {', '.join(unknown)}")
    if prepared:
        if where not in ("", SCAN_WINDOW):
            raise ValueError(f"the prepared transactions take no condition but the scan "
                             f"window: {where!r}")
        condition = f"\n    WHERE {PREPARED_SCAN_WINDOW}" if where else ""
        return f"""
    SELECT case_id, {", ".join(columns)}
    FROM prepared_cases{condition}
"""
    select = ",\n           ".join(f"{COLUMNS[c]} AS {c}" for c in columns)
    condition = f"\n    WHERE {where}" if where else ""
    return f"""
    SELECT case_id,
           {select}
    FROM events{condition}
    GROUP BY case_id
"""


#: The transactions with the standard columns, over every event.
TRANSACTIONS: Final = transactions_sql()


def scan_window(start: date, end: date) -> dict[str, datetime]:
    """The parameters of :data:`SCAN_WINDOW` for the transactions that start on ``start`` or
    later and before ``end``.

    Example:
        >>> scan_window(date(2026, 9, 1), date(2026, 11, 1))["scan_to"]
        datetime.datetime(2026, 11, 2, 0, 0)
    """
    return {"scan_from": midnight(start, -1), "scan_to": midnight(end, 1)}


def midnight(day: date, days: int = 0) -> datetime:
    """Midnight ``days`` after ``day`` (before, if negative); past either end of the calendar
    it stops there (``datetime.min`` or ``datetime.max``), so that a bound built from a row
    dated 9999-12-31 (or 0001-01-01) is still a bound and never an ``OverflowError``.

    Example:
        >>> midnight(date(9999, 12, 31), 1)
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999)
    """
    try:
        return datetime.combine(day + timedelta(days=days), time())
    except OverflowError:
        return datetime.max if days > 0 else datetime.min


def baseline_table(baseline: Baseline | None) -> pa.Table:
    """The baseline as the queries join it (``business_type``, ``standard_seconds`` and the
    other columns of :meth:`Baseline.to_records`); no rows without a baseline."""
    records = baseline.to_records() if baseline is not None else []
    return pa.Table.from_pylist(records) if records else pa.table(
        {"business_type": pa.array([], pa.string()),
         "standard_seconds": pa.array([], pa.float64())})
