"""Helpers for the queue tests: a store holding hand-built ticket rows (a queue-system export as
the ticket ingest commits it: the canonical columns, ``reason`` NULL, ``src_row``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from procmine.core.schema import TICKET_COLUMNS
from procmine.store.event_store import EventStore

_ARROW = {"VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us"), "DOUBLE": pa.float64()}


def at(text: str, day: str = "2026-10-05") -> datetime:
    """``"10:05"`` (or ``"10:05:30"``) on ``day``."""
    return datetime.fromisoformat(f"{day}T{text}")


def write_tickets(store: EventStore, rows: Sequence[Mapping[str, Any]],
                  batch_id: str = "t0001") -> None:
    """Commit ``rows`` (dicts of canonical ticket columns; missing ones are NULL) as one
    ticket batch of ``store``."""
    columns = {name: [row.get(name) for row in rows] for name in TICKET_COLUMNS}
    arrays = {name: pa.array(values, type=_ARROW[TICKET_COLUMNS[name]])
              for name, values in columns.items()}
    arrays["reason"] = pa.array([None] * len(rows), type=pa.string())
    arrays["src_row"] = pa.array(range(1, len(rows) + 1), type=pa.int64())
    store.tickets_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(arrays), store.tickets_dir / f"{batch_id}.parquet")
