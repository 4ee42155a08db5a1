"""The ingest batches of a store: list them, and drop one that should not have been loaded.

Each ingest is one batch: a Parquet file of its records, a quarantine CSV where rows were set
aside, and a line in the store's history. Dropping a batch removes all three under the store's
writer lock (no ingest runs meanwhile), in an order that a killed process cannot leave half done
(:meth:`~procmine.store.event_store.EventStore.remove_batch`), and writes an audit row naming who
dropped it and what it held. Its rows leave every analysis at once; ingesting the file again
loads them again.

Example:
    >>> from pathlib import Path
    >>> from procmine.ingest.run import ingest_log
    >>> from procmine.store.event_store import EventStore
    >>> _ = Path("drop.csv").write_text("case_id,activity,end_time\\n"
    ...     "C1,Open,2026-10-01 09:00:05\\nC1,Close,2026-10-01 09:02:00\\n")
    >>> store = EventStore("ws-drop")
    >>> batch_id = ingest_log(store, "drop.csv").batch_id
    >>> [(b.batch_id == batch_id, b.loaded) for b in list_batches(store)]
    [(True, 2)]
    >>> dropped = drop_batch(store, batch_id, user="ops")
    >>> dropped.loaded, list_batches(store), store.info().events
    (2, [], 0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from procmine.app.appdb import record_audit, session_for
from procmine.store.event_store import LOCK_TIMEOUT, EventStore
from procmine.store.prepared import batch_cases, unprepare_batch

__all__ = ["Batch", "drop_batch", "list_batches"]


@dataclass(frozen=True)
class Batch:
    """One ingest batch as the store's history records it."""

    batch_id: str
    source: str
    format: str
    ingested_at: str
    read: int
    loaded: int
    quarantined: int
    blank_lines: int
    quarantine_file: str | None
    #: ``events`` (an event log) or ``tickets`` (a queue-system export).
    kind: str = "events"

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Batch:
        """A batch from its history line (older lines lack ``blank_lines`` and ``kind``)."""
        return cls(
            batch_id=str(record["batch_id"]),
            source=str(record.get("source", "")),
            format=str(record.get("format", "")),
            ingested_at=str(record.get("ingested_at", "")),
            read=int(record.get("read", 0)),
            loaded=int(record.get("loaded", 0)),
            quarantined=int(record.get("quarantined", 0)),
            blank_lines=int(record.get("blank_lines", 0)),
            quarantine_file=record.get("quarantine_file"),
            kind=str(record.get("kind", "events")),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_batches(store: EventStore) -> list[Batch]:
    """The store's ingest batches, oldest first."""
    return [Batch.of(record) for record in store.batches()]


def drop_batch(
    store: EventStore,
    batch_id: str,
    *,
    user: str,
    wait: float = LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
) -> Batch:
    """Remove one batch (its rows, quarantine file and history line) and audit it as
    ``batch.drop`` by ``user``; returns what the batch held.

    Raises ProcmineError for an unknown batch, or when another writer still holds the store
    after ``wait`` seconds.
    """
    with store.lock(wait, on_wait), session_for(store.home) as session:
        cases = batch_cases(store, batch_id)
        batch = Batch.of(store.remove_batch(batch_id))
        if batch.kind == "events":
            unprepare_batch(store, batch_id, cases)
        record_audit(session, user, "batch.drop",
                     f"{batch_id} ({batch.source}): {batch.loaded} rows loaded, "
                     f"{batch.quarantined} quarantined")
    return batch
