"""The event store: canonical rows in Parquet under the workspace, read and written with DuckDB.

Together with ``procmine.ingest.run`` (the ingest pipeline), the one place that builds SQL.
Layout under the workspace (``PROCMINE_HOME``,
default ``./workspace``)::

    store/events/<batch>.parquet     every record of one ingested file with its check results;
                                     the ``events`` view shows the loaded ones (reason NULL)
    store/batches.jsonl              one line per ingest: source, mapping, counts, reasons
    quarantine/<batch>.csv           rejected rows with their source row and reason

Example:
    >>> from procmine.store.event_store import EventStore
    >>> store = EventStore("workspace")                      # doctest: +SKIP
    >>> report = store.ingest("event_logs/demo_events.csv")  # doctest: +SKIP
    >>> report.read == report.loaded + report.quarantined + report.merged_by_pairing
    True
"""

from __future__ import annotations

import codecs
import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.core.paths import default_home
from procmine.core.schema import CANONICAL_COLUMNS
from procmine.core.sql import lit as _lit
from procmine.core.sql import quote as _q
from procmine.ingest.run import IngestReport, IngestRun, Progress
from procmine.io.eventlog import (
    ColumnMap,
    SourceSpec,
    describe_source,
    detect_encoding,
    source_format,
)

__all__ = [
    "EventStore",
    "IngestReport",
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

    # -- ingest -------------------------------------------------------------------------------

    def ingest(
        self,
        path: str | Path,
        column_map: ColumnMap | None = None,
        baseline: Baseline | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Validate one event-log file and add its good rows to the store.

        Bad rows go to ``quarantine/<batch>.csv`` with their source row and reason; rows already
        in the store are not added twice. Raises ProcmineError for a file that cannot be read at
        all (missing, unknown type, no case/activity/time columns).
        """
        source = Path(path)
        if not source.is_file():
            raise ProcmineError(f"{source}: no such file")
        started = time.perf_counter()
        fmt = source_format(source)
        batch_id = _batch_id(source)
        self.events_dir.mkdir(parents=True, exist_ok=True)
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        con = self.connect()
        try:
            with self._registered_source(con, source, fmt, column_map, progress) as spec:
                report = IngestRun(self, con, spec, batch_id, baseline, progress).run()
        finally:
            con.close()
        report.seconds = round(time.perf_counter() - started, 3)
        report.ingested_at = datetime.now(UTC).isoformat(timespec="seconds")
        if not report.reconciles:  # pragma: no cover - a bug, never a user error
            raise AssertionError(f"ingest counts do not reconcile: {report}")
        with self.batches_file.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
        return report

    @contextmanager
    def _registered_source(
        self,
        con: duckdb.DuckDBPyConnection,
        source: Path,
        fmt: str,
        column_map: ColumnMap | None,
        progress: Progress | None,
    ) -> Iterator[SourceSpec]:
        """Define the view ``src`` (all text columns, plus ``_row`` where the reader gives it)."""
        cleanup: list[Path] = []
        try:
            if fmt == "csv":
                encoding = (
                    column_map.encoding if column_map and column_map.encoding
                    else detect_encoding(source)
                )
                csv_path = source
                if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
                    csv_path = self._transcode(source, encoding, progress)
                    cleanup.append(csv_path)
                delim = column_map.delimiter if column_map and column_map.delimiter else None
                options = ["all_varchar = true", "header = true", "strict_mode = true"]
                if delim:
                    options.append(f"delim = {_lit(delim)}")
                reader = f"read_csv({_lit(str(csv_path))}, {', '.join(options)})"
                try:
                    # Lines the reader cannot split are kept in reject_errors (malformed_line).
                    con.execute(
                        f"CREATE VIEW src AS SELECT * FROM {reader[:-1]}, store_rejects = true)"
                    )
                    names = [r[0] for r in con.execute("DESCRIBE src").fetchall()]
                except duckdb.Error as exc:
                    raise ProcmineError(f"{source}: cannot read as CSV: {exc}") from exc
                spec = replace(
                    describe_source(source, names, column_map, fmt=fmt, encoding=encoding,
                                    delimiter=delim),
                    csv_reader=reader,
                )
            elif fmt == "parquet":
                try:
                    names = con.sql(f"SELECT * FROM read_parquet({_lit(str(source))})").columns
                    cols = ", ".join(f"CAST({_q(n)} AS VARCHAR) AS {_q(n)}" for n in names)
                    con.execute(
                        f"CREATE VIEW src AS SELECT file_row_number + 1 AS _row, {cols} "
                        f"FROM read_parquet({_lit(str(source))}, file_row_number = true)"
                    )
                except duckdb.Error as exc:
                    raise ProcmineError(f"{source}: cannot read as Parquet: {exc}") from exc
                spec = describe_source(source, names, column_map, fmt=fmt)
            else:
                table = self._read_table(source, fmt, progress)
                con.register("src_arrow", table)
                con.execute("CREATE VIEW src AS SELECT * FROM src_arrow")
                names = [n for n in table.column_names if n != "_row"]
                spec = describe_source(source, names, column_map, fmt=fmt)
            yield spec
        finally:
            for path in cleanup:
                path.unlink(missing_ok=True)

    def _transcode(self, source: Path, encoding: str, progress: Progress | None) -> Path:
        """Re-encode a CSV as UTF-8 in a stream (GB18030 exports of core-banking systems)."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        target = self.tmp_dir / f"{uuid.uuid4().hex}.csv"
        total = max(source.stat().st_size, 1)
        done = 0
        try:
            with source.open("rb") as raw, target.open("w", encoding="utf-8") as out:
                decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
                while chunk := raw.read(1 << 22):
                    out.write(decoder.decode(chunk))
                    done += len(chunk)
                    if progress:
                        progress("decode", done / total)
                out.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError as exc:
            target.unlink(missing_ok=True)
            raise ProcmineError(
                f"{source}: byte {done + exc.start} is not valid {encoding}; check the encoding "
                "in the mapping file"
            ) from None
        return target

    @staticmethod
    def _read_table(source: Path, fmt: str, progress: Progress | None) -> pa.Table:
        if fmt == "xes":
            from procmine.io.xes import read_xes_table

            result = read_xes_table(
                source, progress=(lambda f: progress("read", f)) if progress else None
            )
            return result.table
        if fmt == "xlsx":
            from procmine.io.excel import read_excel_table

            return read_excel_table(source)
        raise ProcmineError(f"{source}: unsupported format {fmt}")  # pragma: no cover


def _connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection reading and writing times in UTC (naive times are kept as written)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Progress is tracked (for query_progress) but never printed by DuckDB itself.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


def _batch_id(source: Path) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha1(f"{source.resolve()}|{time.time_ns()}".encode()).hexdigest()[:8]
    return f"{stamp}-{digest}"


def remove_store(home: str | Path) -> None:
    """Delete a workspace's event store and quarantine (used by tests and `demo` rebuilds)."""
    root = Path(home)
    for sub in ("store", "quarantine"):
        shutil.rmtree(root / sub, ignore_errors=True)
