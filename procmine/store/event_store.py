"""The event store: canonical rows in Parquet under the workspace, read and written with DuckDB.

The store offers its paths, a connection with the ``events`` view, a version for caches, the
ingest history and reads; ``procmine.ingest`` writes into it (one batch file per ingest, its
quarantine file, and a line in the history). Layout under the workspace (``PROCMINE_HOME``,
default ``./workspace``)::

    store/events/<batch>.parquet     every record of one ingested file with its check results;
                                     the ``events`` view shows the loaded ones (reason NULL)
    store/batches.jsonl              one line per ingest: source, mapping, counts, reasons
    quarantine/<batch>.csv           rejected rows with their source row and reason

Example:
    >>> from procmine.store.event_store import EventStore
    >>> store = EventStore(home)
    >>> info = store.info()
    >>> info.events, info.branches, info.tellers
    (199839, 6, 48)
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from procmine.core.paths import default_home
from procmine.core.schema import CANONICAL_COLUMNS
from procmine.core.sql import lit as _lit
from procmine.core.sql import quote as _q

__all__ = [
    "EventStore",
    "StoreInfo",
]


@dataclass(frozen=True)
class StoreInfo:
    """What is in the store."""

    home: str
    events: int
    cases: int
    tellers: int
    branches: int
    business_types: int
    activities: int
    first_event: str | None
    last_event: str | None
    batches: int
    quarantined: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class EventStore:
    """The canonical event store of one workspace."""

    def __init__(self, home: str | Path | None = None) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.events_dir = self.home / "store" / "events"
        self.quarantine_dir = self.home / "quarantine"
        self.batches_file = self.home / "store" / "batches.jsonl"
        self.tmp_dir = self.home / "tmp"

    # -- connections -------------------------------------------------------------------------

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with the store's ``events`` view defined."""
        con = _connect()
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {_lit(str(self.tmp_dir))}")
        self._define_events_view(con)
        return con

    def _event_files(self) -> list[Path]:
        return sorted(self.events_dir.glob("*.parquet")) if self.events_dir.exists() else []

    def _define_events_view(self, con: duckdb.DuckDBPyConnection) -> None:
        """``events``: canonical rows with their batch and source row; ``events_hashed`` adds
        each row's content hash (used by ingest to recognise rows already stored)."""
        cols = ", ".join(CANONICAL_COLUMNS)
        if self._event_files():
            glob = _lit(str(self.events_dir / "*.parquet"))
            con.execute(
                f"CREATE OR REPLACE VIEW events_hashed AS SELECT {cols}, "
                r"regexp_extract(filename, '([^/\\]+)\.parquet$', 1) AS source_batch, "
                f"src_row AS source_row, row_hash "
                f"FROM read_parquet({glob}, union_by_name = true, filename = true) "
                "WHERE reason IS NULL"
            )
        else:
            typed = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in CANONICAL_COLUMNS.items())
            con.execute(
                f"CREATE OR REPLACE VIEW events_hashed AS SELECT {typed}, "
                "CAST(NULL AS VARCHAR) AS source_batch, CAST(NULL AS BIGINT) AS source_row, "
                "CAST(NULL AS UBIGINT) AS row_hash WHERE false"
            )
        con.execute("CREATE OR REPLACE VIEW events AS SELECT * EXCLUDE (row_hash) "
                    "FROM events_hashed")

    # -- reading ------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        return not self._event_files()

    def version(self) -> str:
        """Changes whenever the stored data changes (for caches keyed on the store)."""
        files = self._event_files()
        stamp = [(f.name, f.stat().st_mtime_ns) for f in files]
        if self.batches_file.exists():
            stamp.append(("batches", self.batches_file.stat().st_mtime_ns))
        return hashlib.sha1(repr(stamp).encode()).hexdigest()[:16]

    def batches(self) -> list[dict[str, Any]]:
        """The ingest history, oldest first."""
        if not self.batches_file.exists():
            return []
        with self.batches_file.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def info(self) -> StoreInfo:
        """Counts and period of what is stored."""
        con = self.connect()
        try:
            row = con.execute(
                """
                SELECT count(*), count(DISTINCT case_id), count(DISTINCT teller_id),
                       count(DISTINCT branch_id), count(DISTINCT business_type),
                       count(DISTINCT activity),
                       min(coalesce(start_time, end_time)), max(end_time)
                FROM events
                """
            ).fetchall()[0]
        finally:
            con.close()
        assert row is not None
        batches = self.batches()
        return StoreInfo(
            home=str(self.home),
            events=int(row[0]),
            cases=int(row[1]),
            tellers=int(row[2]),
            branches=int(row[3]),
            business_types=int(row[4]),
            activities=int(row[5]),
            first_event=row[6].isoformat(sep=" ") if row[6] is not None else None,
            last_event=row[7].isoformat(sep=" ") if row[7] is not None else None,
            batches=len(batches),
            quarantined=sum(int(b.get("quarantined", 0)) for b in batches),
        )

    def read_events(self, columns: Sequence[str] | None = None) -> pa.Table:
        """All stored events as an Arrow table (small stores and tests; analyses use SQL)."""
        con = self.connect()
        try:
            cols = ", ".join(_q(c) for c in columns) if columns else "*"
            return con.sql(f"SELECT {cols} FROM events").to_arrow_table()
        finally:
            con.close()

    def quarantine_summary(self) -> dict[str, int]:
        """Quarantined rows by reason, over all ingests."""
        totals: dict[str, int] = {}
        for batch in self.batches():
            for reason, n in batch.get("reasons", {}).items():
                totals[reason] = totals.get(reason, 0) + int(n)
        return totals

    # -- writing (by procmine.ingest) --------------------------------------------------------

    def batch_file(self, batch_id: str) -> Path:
        """The Parquet file of one ingest batch (every record, with its check result)."""
        return self.events_dir / f"{batch_id}.parquet"

    def quarantine_file(self, batch_id: str) -> Path:
        """The quarantine CSV of one ingest batch."""
        return self.quarantine_dir / f"{batch_id}.csv"

    def record_batch(self, record: Mapping[str, Any]) -> None:
        """Add one ingest to the history (``batches.jsonl``)."""
        self.batches_file.parent.mkdir(parents=True, exist_ok=True)
        with self.batches_file.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(dict(record), ensure_ascii=False) + "\n")


def _connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection reading and writing times in UTC (naive times are kept as written)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Progress is tracked (for query_progress) but never printed by DuckDB itself.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


def remove_store(home: str | Path) -> None:
    """Delete a workspace's event store and quarantine (used by tests and `demo` rebuilds)."""
    root = Path(home)
    for sub in ("store", "quarantine"):
        shutil.rmtree(root / sub, ignore_errors=True)
