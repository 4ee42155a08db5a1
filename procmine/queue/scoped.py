"""The queue tickets a report looks at: the relation of :mod:`procmine.queue.tickets`, narrowed
by a :class:`~procmine.queue.measures.QueueFilter` (branch, days), as session views.

:func:`scoped_views` gives the views ``queue_tickets`` (the whole relation) and ``scoped`` (the
tickets of the filter, by ``day``: from ``start``, before ``end``), with the source they come
from. Views take no parameters, so the filter's values go in as literals.

Example:
    >>> from procmine.queue.measures import QueueFilter
    >>> picked = scoped_views(store, QueueFilter(branch="B01"))
    >>> picked.source, list(picked.views), "'B01'" in picked.views["scoped"]
    ('events', ['queue_tickets', 'scoped'], True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from procmine.core.sql import lit
from procmine.queue.measures import QueueFilter
from procmine.queue.tickets import queue_tickets_sql, resolve_source
from procmine.store.event_store import EventStore

__all__ = ["ScopedTickets", "in_list", "records", "scoped_views"]


@dataclass(frozen=True)
class ScopedTickets:
    """The filter used, the resolved source and the views (name -> SELECT, in order)."""

    filters: QueueFilter
    source: str
    views: dict[str, str]


def scoped_views(store: EventStore, filters: QueueFilter | None = None) -> ScopedTickets:
    """The views ``queue_tickets`` and ``scoped`` of ``filters`` (every ticket when None)."""
    chosen = filters if filters is not None else QueueFilter()
    source = resolve_source(store, chosen.source)
    return ScopedTickets(chosen, source, {
        "queue_tickets": queue_tickets_sql(source),
        "scoped": f"SELECT * FROM queue_tickets WHERE {chosen.where()}",
    })


def in_list(column: str, values: Sequence[str]) -> str:
    """SQL: ``column`` is one of ``values`` (FALSE for NULL or an empty list), as literals.

    Example:
        >>> in_list("segment", ["vip", "o'k"])
        "coalesce(segment IN ('vip', 'o''k'), FALSE)"
    """
    if not values:
        return "FALSE"
    return f"coalesce({column} IN ({', '.join(lit(str(v)) for v in values)}), FALSE)"


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values for JSON (NaN/NA/inf -> None, timestamps -> ISO)."""
    rows = []
    for record in frame.astype(object).to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for key, value in record.items():
            if hasattr(value, "item"):
                value = value.item()
            if value is None or (isinstance(value, float) and not math.isfinite(value)) \
                    or value is pd.NA or value is pd.NaT:
                clean[str(key)] = None
            elif isinstance(value, (pd.Timestamp, date)):
                clean[str(key)] = value.isoformat()
            else:
                clean[str(key)] = value
        rows.append(clean)
    return rows
