"""Ticket ingest: one queue-system export into the store's tickets, losing nothing.

The same guarantees as the event ingest (:mod:`procmine.ingest.run`), for a file of one row
per ticket (or call) read through a ticket mapping (:mod:`procmine.io.tickets`). All of it
runs in DuckDB:

1. the file is the view ``src`` (:func:`~procmine.ingest.source.raw_source`: CSV/TSV/TXT with
   lines the reader cannot split kept apart, Parquet, Excel), every column as text, staged
   once with its line (CSV, counted around the rejected lines as
   :mod:`~procmine.ingest.quarantine` does) or record number;
2. each value is trimmed, and one of the mapping's ``missing`` values becomes NULL; the
   canonical columns are built from their rules (a composite key joins its parts, ``first``
   takes the first value there), value maps applied, timestamps parsed (a time of day with
   the row's date);
3. times of day roll over midnight along :data:`~procmine.core.schema.TICKET_STAGES`: a stage
   more than 12 hours before the latest earlier stage of the same ticket is on the next day
   (a service that starts at 23:58 and ends at 0:03). A stage still before an earlier one
   (by more than the mapping's ``stage_tolerance_seconds``) is ``stage_out_of_order``;
4. every ticket gets its reason (:mod:`~procmine.ingest.ticket_rules`, by precedence), a
   ticket the store holds already (same canonical values: ``row_hash``, kept in the batch
   file) is ``already_in_store``, and of exact copies within the file (every source column
   equal) the first is kept and the others are ``duplicate``;
5. the batch file (``store/tickets/<batch>.parquet``: every ticket, ``reason`` NULL for a
   loaded one, with ``src_row`` and ``row_hash``) and the quarantine CSV (line or record
   number, reason, the source values; the raw text of a line the reader rejected) are
   written; ``read`` is counted from the file apart from the reader
   (:mod:`~procmine.ingest.counting`) and must equal ``loaded + quarantined``, or nothing is
   committed. The run holds the store's writer lock throughout.

Example:
    >>> from pathlib import Path
    >>> from procmine.io.tickets import load_ticket_map
    >>> from procmine.store.event_store import EventStore
    >>> _ = Path("q.csv").write_text("num,taken,called,start,end,who,state\\n"
    ...     "1,2026-10-01 09:00:00,2026-10-01 09:04:00,2026-10-01 09:04:10,"
    ...     "2026-10-01 09:09:00,0101,done\\n"
    ...     "2,2026-10-01 09:01:00,,,,,gone\\n"
    ...     "3,2026-10-01 09:02:00,,,,,test\\n")
    >>> _ = Path("q.yaml").write_text("kind: tickets\\ncolumns: {ticket_id: num, "
    ...     "arrival_time: taken, queue_start: taken, call_time: called, "
    ...     "service_start: start, service_end: end, teller_id: who, outcome: state}\\n"
    ...     "values: {outcome: {done: served, gone: abandoned, test: skip}}\\n"
    ...     "constants: {branch_id: B01}\\n")
    >>> store = EventStore("ws-tickets")
    >>> report = ingest_tickets(store, "q.csv", load_ticket_map("q.yaml"))
    >>> report.kind, report.read, report.loaded, report.reasons, report.reconciles
    ('tickets', 3, 2, {'outcome_excluded': 1}, True)
    >>> con = store.connect()
    >>> con.sql("SELECT ticket_id, branch_id, outcome FROM tickets ORDER BY 1").fetchall()
    [('1', 'B01', 'served'), ('2', 'B01', 'abandoned')]
    >>> con.close()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Final

import duckdb
import pyarrow.parquet as pq

from procmine.core.errors import ProcmineError
from procmine.core.progress import Progress, monotonic
from procmine.core.schema import TICKET_COLUMNS, TICKET_STAGES
from procmine.core.sql import lit as _lit
from procmine.core.sql import quote as _q
from procmine.ingest.counting import (
    CsvLines,
    count_csv_lines,
    quarantined_by_reason,
    records_spanning_lines,
)
from procmine.ingest.quarantine import (
    collect_rejects,
    line_expr,
    line_join,
    lines_around,
    malformed_lines,
    reader_records,
)
from procmine.ingest.rules import Plausibility
from procmine.ingest.run import IngestReport, commit_reconciled, new_batch_id
from procmine.ingest.source import raw_source, refuse_runaway_quote
from procmine.ingest.state import RunState, SourceColumns
from procmine.ingest.ticket_rules import TICKET_REASONS, ticket_reason_case
from procmine.io.eventlog import SourceSpec, source_format
from procmine.io.tickets import TicketMap, load_ticket_map, read_map_kind
from procmine.store.event_store import LOCK_TIMEOUT, EventStore

# The mapping's names are offered here too, beside the ingest that reads it.
__all__ = ["TicketMap", "ingest_tickets", "load_ticket_map", "read_map_kind"]

_CANONICAL: Final = ", ".join(TICKET_COLUMNS)
#: A stage this far before the latest earlier stage of its ticket is on the next day.
_ROLL_OVER: Final = "INTERVAL 12 HOUR"


def ingest_tickets(
    store: EventStore,
    path: str | Path,
    ticket_map: TicketMap,
    progress: Progress | None = None,
    *,
    wait: float = LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
    earliest: date | None = None,
    latest_days: int = Plausibility.latest_days,
) -> IngestReport:
    """Check a queue-system export ticket by ticket and add the good tickets to ``store``.

    Every row is loaded or quarantined with its reason (see the module); the report's
    ``kind`` is ``tickets``. A time before ``earliest`` (default: the mapping's ``earliest``,
    else 2000-01-01) or after the day ``latest_days`` after today is implausible. Raises
    ProcmineError for a file that cannot be read, a column the mapping names that the file
    lacks, a store still locked after ``wait`` seconds, and rows counted in the file but not
    accounted for (then nothing is stored).
    """
    limits = Plausibility(earliest or ticket_map.earliest or Plausibility.earliest,
                          latest_days)
    limits.values(date.today())  # an empty window is the user's mistake: say so now
    source = Path(path)
    if not source.is_file():
        raise ProcmineError(f"{source}: no such file")
    started = time.perf_counter()
    fmt = source_format(source)
    if fmt == "xes":
        raise ProcmineError(f"{source}: a ticket export is a table (CSV, Parquet or Excel), "
                            "not an XES event log")
    with store.lock(wait, on_wait):
        batch_id = new_batch_id(source)
        store.tickets_dir.mkdir(parents=True, exist_ok=True)
        store.quarantine_dir.mkdir(parents=True, exist_ok=True)
        con = store.connect()
        try:
            with raw_source(con, source, fmt, store.tmp_dir, progress,
                            encoding=ticket_map.encoding,
                            delimiter=ticket_map.delimiter) as spec:
                report = _TicketRun(store, con, spec, batch_id, ticket_map, limits,
                                    progress).run()
        finally:
            con.close()
        commit_reconciled(store, source, report, started)
    return report


class _TicketRun:
    """One ticket ingest of the view ``src`` (see :func:`ingest_tickets`)."""

    def __init__(self, store: EventStore, con: duckdb.DuckDBPyConnection, spec: SourceSpec,
                 batch_id: str, ticket_map: TicketMap, limits: Plausibility,
                 progress: Progress | None) -> None:
        ticket_map.check_file_columns(spec.path, spec.columns)
        self.store, self.con, self.spec, self.map, self.limits = (
            store, con, spec, ticket_map, limits)
        names = tuple(r[0] for r in con.execute("DESCRIBE src").fetchall())
        self.record = [c for c in names if c != "_row"]
        self.state = RunState(
            con=con, spec=spec, columns=SourceColumns(names=names, unmapped=(), key=()),
            partial=store.partial_file(batch_id, "tickets"),
            progress=monotonic(progress) if progress is not None else None,
            numbered="_row" in names,
        )
        self.quarantine_path = store.quarantine_file(batch_id)
        self.lines: CsvLines | None = None  # a CSV's lines, counted apart from the reader
        used = ticket_map.source_columns()
        self.report = IngestReport(
            source=str(spec.path), format=spec.format, batch_id=batch_id, kind="tickets",
            mapping=ticket_map.describe(),
            encoding=spec.encoding if spec.format == "csv" else None,
            ignored_columns=[c for c in self.record if c not in used],
        )

    def run(self) -> IngestReport:
        """Stage, type, check and write the partial batch file and the quarantine; the
        caller commits them (nothing is left behind on an error)."""
        try:
            self._stage()
            self._load_stored_hashes()
            self.state.execute(f"CREATE TEMP TABLE checked AS {self._checked()}", "check")
            self._mark_copies()
            self._count()
            if self.report.loaded:
                cols = ", ".join(TICKET_COLUMNS)
                self.state.execute(
                    f"COPY (SELECT {cols}, src_row, reason, row_hash FROM final "
                    f"ORDER BY src_row) TO {_lit(str(self.state.partial))} (FORMAT parquet)",
                    "write")
            if self.report.quarantined:
                self._write_quarantine()
                self.report.quarantine_file = str(self.quarantine_path)
        except BaseException:
            self.state.partial.unlink(missing_ok=True)
            self.quarantine_path.unlink(missing_ok=True)
            raise
        return self.report

    def _stage(self) -> None:
        """The file once into the temp table ``raw`` (source columns as ``__src_<i>``), and
        the view ``numbered`` with each record's line or record number (``src_row``)."""
        cols = ", ".join(f"{_q(c)} AS __src_{i}" for i, c in enumerate(self.record))
        row = ", CAST(_row AS BIGINT) AS src_row" if self.state.numbered else ""
        self.state.execute(f"CREATE TEMP TABLE raw AS SELECT {cols}{row} FROM src", "read")
        if self.state.numbered:
            self.con.execute("CREATE TEMP VIEW numbered AS SELECT * FROM raw")
            return
        refuse_runaway_quote(self.con, self.spec)
        # (its check quarantines control characters in every pass: no scan for them here)
        self.lines = count_csv_lines(Path(self.spec.path), self.spec.encoding or "utf-8",
                                     controls=False)
        assert self.spec.csv_path is not None
        # the lines around rejected and blank ones, and records over several lines
        collect_rejects(self.state, lines_around(self.state, self.spec.csv_path, self.lines,
                                                 reader_records(self.state, "raw")))
        mapped = self.state.line_map
        self.con.execute(
            f"CREATE TEMP VIEW numbered AS SELECT r.*, {line_expr('r.rowid', mapped)} AS src_row "
            f"FROM raw r {line_join('r.rowid', mapped)}"
        )

    def _load_stored_hashes(self) -> None:
        files = self.store.ticket_files()
        if not files:
            self.con.execute("CREATE TEMP TABLE stored_hashes (row_hash UBIGINT)")
            return
        listed = ", ".join(_lit(str(f)) for f in files)
        self.con.execute(
            "CREATE TEMP TABLE stored_hashes AS SELECT DISTINCT row_hash FROM "
            f"read_parquet([{listed}], union_by_name = true) WHERE reason IS NULL"
        )

    # -- typing --------------------------------------------------------------------------

    def _source_text(self, column: str) -> str:
        """A source column's value: trimmed, NULL when empty or one of the missing values."""
        ref = f"__src_{self.record.index(column)}"
        missing = ", ".join(_lit(v) for v in ("", *self.map.missing))
        return f"CASE WHEN trim({ref}) IN ({missing}) THEN NULL ELSE trim({ref}) END"

    def _rule_text(self, canonical: str) -> str:
        """The text of a canonical column, from its rule (NULL where the mapping has none)."""
        rule = self.map.columns.get(canonical)
        if rule is None:
            constant = self.map.constants.get(canonical)
            return "CAST(NULL AS VARCHAR)" if constant is None else _lit(constant)
        texts = [self._source_text(c) for c in rule.sources]
        if rule.kind == "first":
            return f"coalesce({', '.join(texts)})"
        if rule.kind == "join":
            any_missing = " OR ".join(f"({t}) IS NULL" for t in texts)
            return (f"CASE WHEN {any_missing} THEN NULL "
                    f"ELSE concat_ws({_lit(rule.sep)}, {', '.join(texts)}) END")
        return texts[0]

    def _typed(self, canonical: str) -> str:
        """The typed value of a canonical column, from its text (``<column>__text``)."""
        text = f"{canonical}__text"
        kind = TICKET_COLUMNS[canonical]
        if kind == "TIMESTAMP":
            if self.map.date:
                fmt = f"{self.map.date_format} {self.map.time_format}"
                return f"try_strptime(__date__text || ' ' || {text}, {_lit(fmt)})"
            if self.map.timestamp_format:
                return f"try_strptime({text}, {_lit(self.map.timestamp_format)})"
            # ISO 8601; with an offset, in UTC like the events (the connection's time zone
            # is UTC, so a time without an offset is kept as written)
            return f"CAST(try_cast({text} AS TIMESTAMPTZ) AS TIMESTAMP)"
        if kind == "DOUBLE":
            return f"try_cast(replace({text}, ',', '') AS DOUBLE)"
        pairs = self.map.values.get(canonical, {})
        whens = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in pairs.items())
        other = f"lower({text})" if canonical == "outcome" else text
        return f"CASE {text} {whens} ELSE {other} END" if whens else other

    def _checked(self) -> str:
        """Every staged record typed, rolled over midnight and checked (see the module)."""
        sources = ", ".join(f"__src_{i}" for i in range(len(self.record)))
        texts = [f"{self._rule_text(c)} AS {c}__text" for c in TICKET_COLUMNS]
        if self.map.date:
            texts.append(f"{self._source_text(self.map.date)} AS __date__text")
        rows = (f"SELECT {sources}, src_row, hash({sources}) AS record_hash, "
                f"{', '.join(texts)} FROM numbered")
        typed = ", ".join(f"{self._typed(c)} AS {c}" for c in TICKET_COLUMNS)
        rows = f"SELECT *, {typed} FROM ({rows})"
        if self.map.date:  # times of day: roll a stage over midnight where it reads earlier
            for k, stage in enumerate(TICKET_STAGES[1:], start=1):
                latest = self._latest(TICKET_STAGES[:k])
                rows = (f"SELECT * REPLACE (CASE WHEN {stage} < {latest} - {_ROLL_OVER} "
                        f"THEN {stage} + INTERVAL 1 DAY ELSE {stage} END AS {stage}) "
                        f"FROM ({rows})")
        skew = f"to_milliseconds({round(self.map.stage_tolerance_seconds * 1000)})"
        out_of_order = " OR ".join(
            f"{stage} < {self._latest(TICKET_STAGES[:k])} - {skew}"
            for k, stage in enumerate(TICKET_STAGES) if k > 0)
        rows = (f"SELECT *, coalesce({out_of_order}, false) AS out_of_order, "
                f"hash({_CANONICAL}) AS row_hash FROM ({rows})")
        off = set()
        if "service_start" not in self.map.columns:
            off.add("missing_service_start")
        if not self.store.has_tickets():
            off.add("already_in_store")
        return f"SELECT *, {ticket_reason_case(off, self.limits)} AS reason FROM ({rows})"

    @staticmethod
    def _latest(stages: tuple[str, ...]) -> str:
        """The latest of the stages that have a time (NULL when none has)."""
        return stages[0] if len(stages) == 1 else f"greatest({', '.join(stages)})"

    # -- copies, counts, quarantine --------------------------------------------------------

    def _mark_copies(self) -> None:
        """Exact copies among the good tickets: the first is kept, the others are
        ``duplicate`` (the table ``final``)."""
        self.state.execute(
            "CREATE TEMP TABLE final AS SELECT * REPLACE (CASE WHEN reason IS NULL AND "
            "sum(CASE WHEN reason IS NULL THEN 1 ELSE 0 END) OVER (PARTITION BY record_hash, "
            "row_hash ORDER BY src_row ROWS UNBOUNDED PRECEDING) > 1 THEN 'duplicate' "
            "ELSE reason END AS reason) FROM checked",
            "check")

    def _count(self) -> None:
        report, state = self.report, self.state
        report.reasons = quarantined_by_reason(self.con, state.rejected, list(TICKET_REASONS))
        report.quarantined = sum(report.reasons.values())
        report.loaded = state.scalar("SELECT count(*) FROM final WHERE reason IS NULL")
        if "teller_id" in self.map.columns:
            unknown = state.scalar(
                "SELECT count(*) FROM final WHERE reason IS NULL AND teller_id IS NULL "
                "AND outcome IN ('served', 'transferred')")
            if unknown:
                report.warnings = {"missing_teller": unknown}
        report.read = self._source_records()

    def _source_records(self) -> int:
        """The records of the file, counted apart from the reader (blank CSV lines apart)."""
        spec, report = self.spec, self.report
        if spec.format == "parquet":
            return int(pq.ParquetFile(spec.path).metadata.num_rows)
        if spec.format != "csv":
            return self.state.scalar("SELECT count(*) FROM src")
        lines = self.lines
        assert lines is not None
        report.blank_lines = lines.blank
        if lines.lines == report.loaded + report.quarantined:
            return lines.lines
        columns = [f"__src_{i}" for i in range(len(self.record))]
        records, report.blank_lines = records_spanning_lines(lines, self.con, "raw", columns,
                                                             self.state.rejected)
        return records

    def _write_quarantine(self) -> None:
        """The quarantined tickets with their line (or record number), reason and source
        values; lines the reader rejected with their raw text."""
        values = ", ".join(f"__src_{i} AS {_q(c)}" for i, c in enumerate(self.record))
        select = ("SELECT src_row AS source_row, reason, CAST(NULL AS VARCHAR) AS detail, "
                  f"{values} FROM final WHERE reason IS NOT NULL")
        if self.state.rejected:
            select = f"SELECT * FROM ({select}) UNION ALL BY NAME ({malformed_lines(self.state)})"
        self.con.execute(f"COPY ({select} ORDER BY source_row) TO "
                         f"{_lit(str(self.quarantine_path))} (HEADER, DELIMITER ',')")
