"""The event store: canonical rows in Parquet under the workspace, read and written with DuckDB.

The store offers its paths, a connection with the ``events`` view, a version for caches, the
ingest history and reads; ``procmine.ingest`` writes into it (one batch file per ingest, its
quarantine file, and a line in the history). Layout under the workspace (``PROCMINE_HOME``,
default ``./workspace``)::

    store/events/<batch>.parquet     every record of one ingested file with its check results;
                                     the ``events`` view shows the loaded ones (reason NULL)
    store/tickets/<batch>.parquet    the same for a queue-system export (``kind: tickets`` in
                                     its mapping); the ``tickets`` view shows the loaded ones
    store/batches.jsonl              one line per ingest: source, mapping, counts, reasons
    store/.lock                      the writers' lock: one ingest or batch drop at a time
    quarantine/<batch>.csv           rejected rows with their source row and reason

Writers (an ingest, a batch drop) hold the store's lock (:meth:`EventStore.lock`) for their
whole run, so a second ingest of the same file sees the first one's rows. A batch is committed
in two steps: its line is appended to the history, then its written ``<batch>.parquet.partial``
is renamed to ``<batch>.parquet`` (the view reads ``*.parquet`` only, so a partial file is never
read, and :meth:`EventStore.batches` leaves out a batch whose file is still partial, so a reader
between the two steps sees the history and the rows agree). A writer killed on the way leaves a
partial file behind; the next writer, under the lock, finishes the rename when the history has
the batch's line and removes the file otherwise (:meth:`EventStore.recover`), so the store
holds each batch whole or not at all.

Example:
    >>> from procmine.store.event_store import EventStore
    >>> store = EventStore(home)
    >>> info = store.info()
    >>> info.events, info.branches, info.tellers
    (199730, 6, 48)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa

from procmine.core.errors import ProcmineError
from procmine.core.paths import default_home
from procmine.core.schema import CANONICAL_COLUMNS, TICKET_COLUMNS
from procmine.core.sql import lit as _lit
from procmine.core.sql import quote as _q

__all__ = [
    "LOCK_TIMEOUT",
    "PREPARED_VERSION",
    "EventStore",
    "StoreInfo",
]

#: Bumped when the prepared step relation's columns or their meaning change: older ones are
#: prepared again (:mod:`procmine.store.prepared`).
PREPARED_VERSION = 3
#: Seconds a writer waits for another one to finish before it gives up (``--wait``).
LOCK_TIMEOUT = 600.0
#: Suffixes of the files a writer leaves while it runs (never read as batches).
_PARTIAL_SUFFIXES = (".parquet.partial", ".parquet.marked", ".parquet.fast")
_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


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
        self.tickets_dir = self.home / "store" / "tickets"
        self.quarantine_dir = self.home / "quarantine"
        self.batches_file = self.home / "store" / "batches.jsonl"
        self.tmp_dir = self.home / "tmp"
        self.lock_file = self.home / "store" / ".lock"
        self.steps_dir = self.home / "store" / "steps"
        self.cases_dir = self.home / "store" / "cases"

    # -- connections -------------------------------------------------------------------------

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with the store's ``events`` and ``tickets`` views."""
        con = _connect()
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = {_lit(str(self.tmp_dir))}")
        _limit_memory(con)
        self._define_events_view(con)
        self._define_tickets_view(con)
        self._define_prepared_view(con)
        return con

    # -- the prepared step relation (written by procmine.store.prepared) ------------------------

    def prepared_files(self) -> list[Path]:
        """The prepared step files (``store/steps/<batch>/<YYYY-MM>-<n>.parquet``)."""
        return _batch_month_files(self.steps_dir)

    def prepared_case_files(self) -> list[Path]:
        """The prepared transaction files (``store/cases/<batch>/<YYYY-MM>-<n>.parquet``)."""
        return _batch_month_files(self.cases_dir)

    def events_stamp(self, leave_out: str | None = None) -> str:
        """A stamp of the committed event files (names, sizes, modification times), without
        batch ``leave_out``'s: what the prepared steps record they were prepared from."""
        parts = [(f.name, f.stat().st_size, f.stat().st_mtime_ns)
                 for f in self._event_files() if f.stem != leave_out]
        return hashlib.sha1(repr((PREPARED_VERSION, parts)).encode()).hexdigest()[:16]

    def prepared_manifest(self) -> dict[str, Any]:
        """What the prepared steps record (``store/steps/prepared.json``; empty when absent)."""
        path = self.steps_dir / "prepared.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def is_prepared(self) -> bool:
        """Whether the prepared steps were prepared from exactly the event files there are now
        (an ingest or drop since, or a workspace from before the relation existed, says no)."""
        recorded = self.prepared_manifest().get("events")
        return recorded is not None and recorded == self.events_stamp()

    @staticmethod
    def _has_prepared_view(con: duckdb.DuckDBPyConnection) -> bool:
        row = con.execute("SELECT count(*) FROM duckdb_views() "
                          "WHERE view_name = 'prepared_cases'").fetchone()
        return bool(row and row[0])

    def _define_prepared_view(self, con: duckdb.DuckDBPyConnection) -> None:
        """``prepared_steps``: the prepared step relation, when it is current."""
        files, cases = self.prepared_files(), self.prepared_case_files()
        if files and cases and self.is_prepared():
            paths = ", ".join(_lit(str(f)) for f in files)
            con.execute(f"CREATE OR REPLACE VIEW prepared_steps AS "
                        f"SELECT * FROM read_parquet([{paths}])")
            paths = ", ".join(_lit(str(f)) for f in cases)
            con.execute(f"CREATE OR REPLACE VIEW prepared_cases AS "
                        f"SELECT * FROM read_parquet([{paths}])")

    def _event_files(self) -> list[Path]:
        return sorted(self.events_dir.glob("*.parquet")) if self.events_dir.exists() else []

    def ticket_files(self) -> list[Path]:
        """The committed ticket batch files."""
        return sorted(self.tickets_dir.glob("*.parquet")) if self.tickets_dir.exists() else []

    def has_tickets(self) -> bool:
        """Whether a queue-system export has been ingested."""
        return bool(self.ticket_files())

    def _define_tickets_view(self, con: duckdb.DuckDBPyConnection) -> None:
        """``tickets``: canonical ticket rows (reason NULL) with their batch and source row."""
        cols = ", ".join(TICKET_COLUMNS)
        if self.ticket_files():
            glob = _lit(str(self.tickets_dir / "*.parquet"))
            con.execute(
                f"CREATE OR REPLACE VIEW tickets AS SELECT {cols}, "
                r"regexp_extract(filename, '([^/\\]+)\.parquet$', 1) AS source_batch, "
                "src_row AS source_row "
                f"FROM read_parquet({glob}, union_by_name = true, filename = true) "
                "WHERE reason IS NULL"
            )
        else:
            typed = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in TICKET_COLUMNS.items())
            con.execute(
                f"CREATE OR REPLACE VIEW tickets AS SELECT {typed}, "
                "CAST(NULL AS VARCHAR) AS source_batch, CAST(NULL AS BIGINT) AS source_row "
                "WHERE false"
            )

    def _define_events_view(self, con: duckdb.DuckDBPyConnection) -> None:
        """``events``: canonical rows with their batch and source row; ``events_hashed`` adds
        each row's content hash (used by ingest to recognise rows already stored) and its row
        number in its batch file (``file_row``)."""
        cols = ", ".join(CANONICAL_COLUMNS)
        if self._event_files():
            glob = _lit(str(self.events_dir / "*.parquet"))
            con.execute(
                f"CREATE OR REPLACE VIEW events_hashed AS SELECT {cols}, "
                r"regexp_extract(filename, '([^/\\]+)\.parquet$', 1) AS source_batch, "
                f"src_row AS source_row, row_hash, file_row_number AS file_row "
                f"FROM read_parquet({glob}, union_by_name = true, filename = true, "
                "file_row_number = true) "
                "WHERE reason IS NULL"
            )
        else:
            typed = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in CANONICAL_COLUMNS.items())
            con.execute(
                f"CREATE OR REPLACE VIEW events_hashed AS SELECT {typed}, "
                "CAST(NULL AS VARCHAR) AS source_batch, CAST(NULL AS BIGINT) AS source_row, "
                "CAST(NULL AS UBIGINT) AS row_hash, CAST(NULL AS BIGINT) AS file_row WHERE false"
            )
        # ``file_row`` (the row's place in its batch file) keys a row within its batch for
        # procmine.store.prepared; the events view leaves it out with the hash
        con.execute("CREATE OR REPLACE VIEW events AS SELECT * EXCLUDE (row_hash, file_row) "
                    "FROM events_hashed")

    # -- reading ------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        return not self._event_files()

    def version(self) -> str:
        """Changes whenever the stored data changes (for caches keyed on the store)."""
        files = self._event_files() + self.ticket_files()
        stamp = [(f"{f.parent.name}/{f.name}", f.stat().st_mtime_ns) for f in files]
        for extra in (self.batches_file, self.steps_dir / "prepared.json"):
            if extra.exists():
                stamp.append((extra.name, extra.stat().st_mtime_ns))
        return hashlib.sha1(repr(stamp).encode()).hexdigest()[:16]

    def batches(self) -> list[dict[str, Any]]:
        """The committed ingest history, oldest first. A batch whose commit or drop is under
        way (or was cut short: its line in the history and its file still partial, see
        :meth:`recover`) is left out, as its rows are, so the history and the rows agree."""
        return [record for record in self._history() if not self._pending(record)]

    def _history(self) -> list[dict[str, Any]]:
        """Every line of the history, a batch under way included (for writers)."""
        if not self.batches_file.exists():
            return []
        with self.batches_file.open(encoding="utf-8") as fh:
            # A line without its newline is a write cut short: not committed (see recover).
            return [json.loads(line) for line in fh if line.endswith("\n") and line.strip()]

    def _pending(self, record: Mapping[str, Any]) -> bool:
        """Whether a history line's batch file is still partial (not yet renamed in, or on its
        way out)."""
        kind = str(record.get("kind", "events"))
        if kind not in ("events", "tickets"):
            return False
        return self.partial_file(str(record.get("batch_id")), kind).exists()

    def info(self) -> StoreInfo:
        """Counts and period of what is stored (from the figures the preparation recorded when
        it is current: :meth:`event_figures`)."""
        recorded = self.prepared_manifest().get("figures") if self.is_prepared() else None
        figures = recorded if isinstance(recorded, dict) else self.event_figures()
        batches = self.batches()
        return StoreInfo(home=str(self.home), **figures, batches=len(batches),
                         quarantined=sum(int(b.get("quarantined", 0)) for b in batches))

    def event_figures(self, case_files: Sequence[Path] | None = None) -> dict[str, Any]:
        """The loaded events' counts (events, cases, tellers, branches, business types,
        activities) and period (first and last event, ISO text): one pass over the events.
        ``case_files``: prepared transaction files (one row per case) to count the cases by."""
        con = self.connect()
        try:
            # the distinct cases from the prepared transactions (one row each): the costliest
            # count of the store's events otherwise
            if case_files is not None:
                listed = ", ".join(_lit(str(f)) for f in case_files)
                cases = f"(SELECT count(*) FROM read_parquet([{listed}]))" if listed else "0"
            elif self._has_prepared_view(con):
                cases = "(SELECT count(*) FROM prepared_cases)"
            else:
                cases = "count(DISTINCT case_id)"
            row = con.execute(
                f"""
                SELECT count(*), {cases}, count(DISTINCT teller_id),
                       count(DISTINCT branch_id), count(DISTINCT business_type),
                       count(DISTINCT activity),
                       min(coalesce(start_time, end_time)), max(end_time)
                FROM events
                """
            ).fetchall()[0]
        finally:
            con.close()
        assert row is not None
        names = ("events", "cases", "tellers", "branches", "business_types", "activities")
        figures: dict[str, Any] = {name: int(value) for name, value in zip(names, row[:6],
                                                                            strict=True)}
        figures["first_event"] = row[6].isoformat(sep=" ") if row[6] is not None else None
        figures["last_event"] = row[7].isoformat(sep=" ") if row[7] is not None else None
        return figures

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

    @contextmanager
    def lock(
        self, timeout: float = LOCK_TIMEOUT, on_wait: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """Hold the store's writer lock (a thread lock and a file lock for other processes);
        stale files of a killed writer are cleaned up first (:meth:`recover`).

        A writer that finds the lock held calls ``on_wait`` with a message once, then waits up
        to ``timeout`` seconds and raises ProcmineError if it is still held.
        """
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        with _thread_locks_guard:
            thread_lock = _thread_locks.setdefault(str(self.lock_file.resolve()),
                                                   threading.Lock())
        deadline = time.monotonic() + max(timeout, 0.0)
        waited = False
        with open(self.lock_file, "a") as handle:
            while True:
                if thread_lock.acquire(blocking=False):
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        thread_lock.release()
                if not waited and on_wait is not None:
                    on_wait(f"{self.home}: another ingest or batch drop is running; waiting up "
                            f"to {timeout:g} s for it to finish")
                waited = True
                if time.monotonic() >= deadline:
                    raise ProcmineError(
                        f"{self.home}: another ingest or batch drop still holds the store after "
                        f"{timeout:g} s; try again when it has finished (or raise --wait)",
                        code="store.busy", seconds=f"{timeout:g}")
                time.sleep(0.05)
            try:
                self.recover()
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                thread_lock.release()

    def recover(self) -> list[str]:
        """Finish or undo what a killed writer left (call it under :meth:`lock`); returns the
        names of the files removed or renamed.

        A partial batch file whose batch is in the history was written whole and only missed its
        rename: it is renamed. Any other partial file, and a quarantine file of a batch the
        history does not know, is removed; so is a transcoded copy left in ``tmp/``.
        """
        done: list[str] = []
        if self.batches_file.exists():
            text = self.batches_file.read_bytes()
            if text and not text.endswith(b"\n"):  # a history line cut short
                self._write_history(self._history())
                done.append(self.batches_file.name)
        known = {str(b.get("batch_id")) for b in self._history()}
        for folder in (self.events_dir, self.tickets_dir):
            if not folder.exists():
                continue
            for path in sorted(folder.iterdir()):
                suffix = next((s for s in _PARTIAL_SUFFIXES if path.name.endswith(s)), None)
                if suffix is None:
                    continue
                batch_id = path.name[: -len(suffix)]
                if suffix == ".parquet.partial" and batch_id in known:
                    path.replace(folder / f"{batch_id}.parquet")
                else:
                    path.unlink(missing_ok=True)
                done.append(path.name)
        if self.quarantine_dir.exists():
            for path in sorted(self.quarantine_dir.glob("*.csv*")):
                if path.name.split(".")[0] not in known:
                    path.unlink(missing_ok=True)
                    done.append(path.name)
        for folder in (self.steps_dir, self.cases_dir):  # a preparation cut short
            if folder.exists():
                for path in sorted(folder.glob("*.partial")):
                    shutil.rmtree(path, ignore_errors=True)
                    done.append(path.name)
                if (folder / ".work").exists():
                    shutil.rmtree(folder / ".work", ignore_errors=True)
                    done.append(f"{folder.name}/.work")
        if self.tmp_dir.exists():
            for path in self.tmp_dir.glob("*.csv"):  # transcoded copies (procmine.ingest)
                path.unlink(missing_ok=True)
                done.append(path.name)
        return done

    def batch_file(self, batch_id: str, kind: str = "events") -> Path:
        """The Parquet file of one ingest batch (every record, with its check result);
        ``kind`` is ``events`` or ``tickets`` (the batch's record kind)."""
        return self._kind_dir(kind) / f"{batch_id}.parquet"

    def _kind_dir(self, kind: str) -> Path:
        if kind == "events":
            return self.events_dir
        if kind == "tickets":
            return self.tickets_dir
        raise ProcmineError(f"unknown record kind {kind!r}; expected events or tickets")

    def quarantine_file(self, batch_id: str) -> Path:
        """The quarantine CSV of one ingest batch."""
        return self.quarantine_dir / f"{batch_id}.csv"

    def partial_file(self, batch_id: str, kind: str = "events") -> Path:
        """Where an ingest writes its batch file before it commits (never read as a batch)."""
        return self._kind_dir(kind) / f"{batch_id}.parquet.partial"

    def record_batch(self, record: Mapping[str, Any]) -> None:
        """Add one ingest to the history (``batches.jsonl``)."""
        self.batches_file.parent.mkdir(parents=True, exist_ok=True)
        with self.batches_file.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(dict(record), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def commit_batch(self, record: Mapping[str, Any]) -> None:
        """Commit one ingest (under :meth:`lock`): its history line, then its partial file
        renamed into the store (absent when nothing was loaded). The record's ``kind``
        (default ``events``) says which record kind the batch holds."""
        batch_id = str(record["batch_id"])
        kind = str(record.get("kind", "events"))
        self.record_batch(record)
        partial = self.partial_file(batch_id, kind)
        if partial.exists():
            partial.replace(self.batch_file(batch_id, kind))

    def remove_batch(self, batch_id: str) -> dict[str, Any]:
        """Take one batch out of the store (under :meth:`lock`): its rows leave the ``events``
        view at once (the file is renamed partial), then its history line goes, then its files.
        Returns the batch's history record; raises ProcmineError for an unknown batch."""
        batches = self._history()
        record = next((b for b in batches if b.get("batch_id") == batch_id), None)
        if record is None:
            raise ProcmineError(f"{self.home}: no batch {batch_id!r} (see procmine batch list)",
                                code="store.no_batch", batch=batch_id)
        kind = str(record.get("kind", "events"))
        target, partial = self.batch_file(batch_id, kind), self.partial_file(batch_id, kind)
        if target.exists():
            target.replace(partial)  # killed from here on, recover() finishes the drop
        self._write_history([b for b in batches if b.get("batch_id") != batch_id])
        partial.unlink(missing_ok=True)
        self.quarantine_file(batch_id).unlink(missing_ok=True)
        return record

    def _write_history(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Replace the history at once (a new file renamed over the old one)."""
        tmp = self.batches_file.with_suffix(".jsonl.new")
        with tmp.open("w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(dict(record), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.batches_file)


def _connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection reading and writing times in UTC (naive times are kept as written)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Progress is tracked (for query_progress) but never printed by DuckDB itself.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


#: The environment variable that caps the memory of procmine's DuckDB queries (DuckDB's
#: ``memory_limit``, e.g. ``4GB``); past it they spill to the workspace's ``tmp/``.
MEMORY_ENV: Final = "PROCMINE_DUCKDB_MEMORY"


def _limit_memory(con: duckdb.DuckDBPyConnection) -> None:
    """Apply ``PROCMINE_DUCKDB_MEMORY`` when it is set (DuckDB's default, 80% of the machine's
    memory, otherwise)."""
    value = os.environ.get(MEMORY_ENV, "").strip()
    if not value:
        return
    try:
        con.execute(f"SET memory_limit = {_lit(value)}")
    except duckdb.Error:
        raise ProcmineError(
            f"{MEMORY_ENV}={value!r} is not a memory size DuckDB reads (e.g. 4GB or 800MB)",
            code="store.memory_limit", env=MEMORY_ENV, value=value) from None


def remove_store(home: str | Path) -> None:
    """Delete a workspace's event store and quarantine (used by tests and `demo` rebuilds)."""
    root = Path(home)
    for sub in ("store", "quarantine"):
        shutil.rmtree(root / sub, ignore_errors=True)


def _batch_month_files(folder: Path) -> list[Path]:
    """The Parquet files of a prepared relation's batch folders (``<batch>/*.parquet``), by batch
    and month; a folder being written (``.partial``, ``.work``) is not one."""
    if not folder.exists():
        return []
    return sorted(path for path in folder.glob("*/*.parquet")
                  if not path.parent.name.startswith(".")
                  and not path.parent.name.endswith(".partial"))
