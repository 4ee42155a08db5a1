"""Ingest: one event-log file into the store, losing nothing.

The pipeline runs in DuckDB. A CSV is first read with its ISO timestamps and plain amounts typed
by the CSV reader itself, checked and written in one pass; when that finds nothing to quarantine
(no reason, no copy, no line the reader rejects), the file is done. Otherwise, and for every
other format, the full path runs: in one streaming pass every record is read as text, typed,
checked (rows the store already holds included) and written to the batch's Parquet file with its
quarantine reason, NULL for a good row (lifecycle logs are first staged and their start and
complete events paired). Exact copies within the file are found by sorting the file's hash
column; only a file that has them is written again, with the copies marked. The batch file keeps
every record; the store's ``events`` view shows the good ones, and the quarantined ones also go
to a CSV with their line (or record number) and reason, so that ``read == loaded + quarantined +
merged_by_pairing`` holds for every ingest. ``read`` is counted from the source apart from the
reader (:mod:`~procmine.ingest.counting`; blank CSV lines are counted and reported on their
own), so a record the reader skipped makes the ingest fail instead of going unnoticed.

The whole run holds the store's writer lock (:meth:`EventStore.lock
<procmine.store.event_store.EventStore.lock>`): a second ingest into the same workspace waits for
the first, then finds its rows already stored. The batch file is written as a partial file and
committed (history line, then rename) only when the counts reconcile.

The phases live next door: the source view (:mod:`~procmine.ingest.source`), typing
(:mod:`~procmine.ingest.typing`), the rules (:mod:`~procmine.ingest.rules`), lifecycle pairing
(:mod:`~procmine.ingest.lifecycle`), copies (:mod:`~procmine.ingest.copies`) and the quarantine
file (:mod:`~procmine.ingest.quarantine`). This module runs them in order.

Example:
    >>> from pathlib import Path
    >>> from procmine.ingest.run import ingest_log
    >>> from procmine.store.event_store import EventStore
    >>> _ = Path("log.csv").write_text("case_id,activity,end_time\\n"
    ...     "C1,Open,2026-10-01 09:00:05\\nC1,Close,2026-10-01 09:02:00\\n"
    ...     ",Open,2026-10-01 09:03:00\\n")
    >>> report = ingest_log(EventStore("ws"), "log.csv")
    >>> report.read, report.loaded, report.quarantined, report.reasons, report.reconciles
    (3, 2, 1, {'missing_case_id': 1}, True)
    >>> _ = Path("blank.csv").write_text("case_id,activity,end_time\\n"
    ...     "C2,Open,2026-10-02 09:00:05\\n\\n\\nC2,Close,2026-10-02 09:02:00\\n")
    >>> report = ingest_log(EventStore("ws"), "blank.csv")
    >>> report.read, report.loaded, report.blank_lines
    (2, 2, 2)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.core.progress import Progress, monotonic
from procmine.core.schema import CANONICAL_COLUMNS
from procmine.core.sql import lit as _lit
from procmine.ingest.copies import (
    find_repeated_hashes,
    load_stored_hashes,
    mark_copies,
    read_written,
)
from procmine.ingest.counting import (
    CsvLines,
    count_csv_lines,
    quarantined_by_reason,
    records_spanning_lines,
    scans_controls,
)
from procmine.ingest.lifecycle import pair_lifecycle
from procmine.ingest.quarantine import (
    collect_rejects,
    line_expr,
    line_join,
    lines_around,
    reader_records,
    write_quarantine,
)
from procmine.ingest.rules import (
    IDENTIFIER_COLUMNS,
    LOAD_WARNINGS,
    QUARANTINE_REASONS,
    Plausibility,
    check_select,
    control_in,
)
from procmine.ingest.source import refuse_runaway_quote, registered_source, typed_csv_reader
from procmine.ingest.state import RunState, SourceColumns
from procmine.ingest.typing import ColumnTyping
from procmine.io.eventlog import ColumnMap, SourceSpec, source_format
from procmine.store.event_store import LOCK_TIMEOUT, EventStore
from procmine.store.prepared import prepare_batch

__all__ = ["IngestReport", "IngestRun", "commit_reconciled", "ingest_log", "new_batch_id"]

_CANONICAL = ", ".join(CANONICAL_COLUMNS)


@dataclass
class IngestReport:
    """What one ingest did. ``read == loaded + quarantined + merged_by_pairing`` always holds.

    ``read`` counts records of the source (CSV lines, Excel/Parquet rows, XES events), apart
    from the reader; blank CSV lines are not records and are counted in ``blank_lines``. Where
    start and complete events are paired into one row, each pair merges two records into one
    row: ``merged_by_pairing`` counts those pairs. ``kind`` says what the batch holds: events, or
    the tickets of a queue-system export (:func:`procmine.ingest.tickets.ingest_tickets`).
    """

    source: str
    format: str
    batch_id: str
    #: The record kind of the batch: ``events`` (an event log) or ``tickets`` (a queue export).
    kind: str = "events"
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    merged_by_pairing: int = 0
    blank_lines: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    pairing: dict[str, int] = field(default_factory=dict)
    quarantine_file: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: Seconds spent preparing the step relation after the commit (not in ``seconds``; the
    #: history line, written at the commit, does not have it).
    prepare_seconds: float = 0.0
    ingested_at: str = ""

    @property
    def reconciles(self) -> bool:
        return self.read == self.loaded + self.quarantined + self.merged_by_pairing

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ingest_log(
    store: EventStore,
    path: str | Path,
    column_map: ColumnMap | None = None,
    baseline: Baseline | None = None,
    progress: Progress | None = None,
    *,
    wait: float = LOCK_TIMEOUT,
    on_wait: Callable[[str], None] | None = None,
    earliest: date = Plausibility.earliest,
    latest_days: int = Plausibility.latest_days,
    max_step_hours: float = Plausibility.max_step_hours,
) -> IngestReport:
    """Validate one event-log file and add its good rows to ``store``.

    Bad rows go to ``quarantine/<batch>.csv`` with their source row and reason; rows already
    in the store are not added twice. The run holds the store's writer lock: while another
    ingest (or batch drop) runs, ``on_wait`` gets a message and the run waits up to ``wait``
    seconds. Raises ProcmineError for a file that cannot be read at all (missing, unknown
    type, no case/activity/time columns), for a store still locked after ``wait`` seconds,
    and when the records counted in the source are not all accounted for (nothing is stored).
    A timestamp before ``earliest`` or after the day ``latest_days`` after today, and a step
    longer than ``max_step_hours``, are implausible (see
    :class:`~procmine.ingest.rules.Plausibility`).
    """
    limits = Plausibility(earliest, latest_days, max_step_hours)
    limits.values(date.today())  # a window that is empty is the user's mistake: say so now
    source = Path(path)
    if not source.is_file():
        raise ProcmineError(f"{source}: no such file", code="ingest.no_file", file=source.name)
    started = time.perf_counter()
    fmt = source_format(source)
    with store.lock(wait, on_wait):
        batch_id = new_batch_id(source)
        store.events_dir.mkdir(parents=True, exist_ok=True)
        store.quarantine_dir.mkdir(parents=True, exist_ok=True)
        con = store.connect()
        try:
            with registered_source(con, source, fmt, column_map, store.tmp_dir,
                                   progress) as spec:
                report = IngestRun(store, con, spec, batch_id, baseline, progress,
                                   limits).run()
        finally:
            con.close()
        commit_reconciled(store, source, report, started)
        if progress is not None:
            progress("prepare", 0.0)
        prepared = time.perf_counter()
        prepare_batch(store, report.batch_id)
        report.prepare_seconds = round(time.perf_counter() - prepared, 3)
        if progress is not None:
            progress("prepare", 1.0)
    return report


def commit_reconciled(store: EventStore, source: Path, report: IngestReport,
                      started: float) -> None:
    """Commit an ingest's batch (under the store's lock) when its counts reconcile; otherwise
    remove what it wrote and raise ProcmineError. ``started``: its ``perf_counter`` start."""
    report.seconds = round(time.perf_counter() - started, 3)
    report.ingested_at = datetime.now(UTC).isoformat(timespec="seconds")
    if not report.reconciles:
        store.partial_file(report.batch_id, report.kind).unlink(missing_ok=True)
        store.quarantine_file(report.batch_id).unlink(missing_ok=True)
        accounted = report.loaded + report.quarantined + report.merged_by_pairing
        raise ProcmineError(
            f"{source}: {report.read:,} records counted in the file, but the reader "
            f"accounted for {accounted:,} (loaded, quarantined or paired); nothing was "
            "stored. The reader skipped lines of the file (a stray line ending, or a "
            "record split over lines): check it, or export it again", code="ingest.unreconciled",
            file=Path(source).name, read=f"{report.read:,}", accounted=f"{accounted:,}")
    store.commit_batch(report.to_dict())


def new_batch_id(source: Path) -> str:
    """A new batch's id: the UTC time of the ingest and a digest of the file and the moment."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha1(f"{source.resolve()}|{time.time_ns()}".encode()).hexdigest()[:8]
    return f"{stamp}-{digest}"


class IngestRun:
    """One ingest of the view ``src`` that ``spec`` describes (see :func:`ingest_log`): type
    and check in one pass, mark copies, write the batch file and the quarantine."""

    def __init__(
        self,
        store: EventStore,
        con: duckdb.DuckDBPyConnection,
        spec: SourceSpec,
        batch_id: str,
        baseline: Baseline | None,
        progress: Progress | None,
        limits: Plausibility | None = None,
    ) -> None:
        self.store = store
        self.limits = limits
        self.con = con
        self.spec = spec
        self.baseline = baseline
        self.quarantine_path = store.quarantine_file(batch_id)
        columns = SourceColumns.of(con, spec)
        self.state = RunState(
            con=con,
            spec=spec,
            columns=columns,
            partial=store.partial_file(batch_id),
            progress=monotonic(progress) if progress is not None else None,
            numbered=columns.numbered,
        )
        self.typing = ColumnTyping(self.state)
        #: A CSV's lines, being counted (see :meth:`run`).
        self._lines: Future[CsvLines] | None = None
        self.report = IngestReport(
            source=str(spec.path),
            format=spec.format,
            batch_id=batch_id,
            mapping=dict(spec.mapping),
            encoding=spec.encoding if spec.format == "csv" else None,
            ignored_columns=[c for c in spec.columns if c not in spec.mapping.values()],
        )

    def run(self) -> IngestReport:
        """Type, check and write the batch's partial file (``store.partial_file``) and its
        quarantine; the caller commits them (nothing is left behind on an error).

        A CSV's lines are counted in a thread beside the passes: the count (one core) runs
        while DuckDB reads the file and while the copies' hashes are sorted, instead of after.
        """
        state = self.state
        load_stored_hashes(state, self.store.is_empty())
        counter = ThreadPoolExecutor(1, thread_name_prefix="procmine-count")
        if self.spec.format == "csv":
            self._lines = counter.submit(count_csv_lines, Path(self.spec.path),
                                         self.spec.encoding or "utf-8")
        counter.shutdown(wait=False)
        try:
            if self._fast_pass():
                self._count()
            else:
                self._full_pass()
                self._count()
                if self.report.quarantined:
                    self._number_lines()
                    write_quarantine(state, self.typing, self.quarantine_path)
                    self.report.quarantine_file = str(self.quarantine_path)
            if not self.report.loaded:  # nothing joins the store; the history still says so
                state.partial.unlink(missing_ok=True)
        except BaseException:
            state.partial.unlink(missing_ok=True)
            state.partial.with_suffix(".fast").unlink(missing_ok=True)
            self.quarantine_path.unlink(missing_ok=True)
            raise
        return self.report

    def _full_pass(self) -> None:
        """Every record read as text, typed, checked and written; copies marked (the view
        ``final``)."""
        state = self.state
        if self.spec.has_lifecycle and self.spec.column_for("start_time") is None:
            # Events with lifecycle transitions: stage, pair start with complete, check.
            self._stage_and_pair()
            rows, phase = self._check_select("paired_rows", paired=True), "check"
        else:
            # One streaming pass: read, type, check and write every record.
            rows = self._check_select(f"({self.typing.stage_select()})", paired=False)
            phase = "read"
        state.execute(f"COPY ({rows}) TO {_lit(str(state.partial))} (FORMAT parquet)", phase)
        if not state.numbered:
            collect_rejects(state)
        self.con.execute(
            f"CREATE TEMP VIEW written AS {read_written(state.partial, state.columns)}"
        )
        refuse_runaway_quote(self.con, self.spec)
        mark_copies(state)

    def _number_lines(self) -> None:
        """Number the CSV's lines (for the quarantine file) past the blank lines the reader
        skipped and the records that span lines, once the count has found some; a lifecycle
        log was numbered when it was staged (:meth:`_stage_and_pair`)."""
        state, path = self.state, self.spec.csv_path
        if state.numbered or path is None or self._lines is None:
            return
        lines = self._lines.result()
        if not self.report.blank_lines and lines.lines <= self.report.read:
            return
        state.rejected = []  # read again, with the blank lines beside them
        collect_rejects(state, lines_around(state, path, lines, self.report.read))

    def _stage_and_pair(self) -> None:
        """Stage the typed events (numbering CSV lines) and pair them (``paired_rows``)."""
        state = self.state
        state.execute(f"CREATE TEMP TABLE staged AS {self.typing.stage_select()}", "read")
        if not state.numbered:
            assert self.spec.csv_path is not None and self._lines is not None
            collect_rejects(state, lines_around(state, self.spec.csv_path, self._lines.result(),
                                                reader_records(state, "staged")))
            self.con.execute(
                "CREATE TEMP VIEW numbered AS SELECT s.* REPLACE ("
                f"{line_expr('s.rowid', state.line_map)} AS src_row) FROM staged s "
                f"{line_join('s.rowid', state.line_map)}"
            )
            state.numbered = True
        else:
            self.con.execute("CREATE TEMP VIEW numbered AS SELECT * FROM staged")
        self.report.merged_by_pairing, self.report.pairing = pair_lifecycle(state)

    def _check_select(self, rows: str, paired: bool, apart: Collection[str] = ()) -> str:
        """``rows`` checked against the rules that apply to this source, but those checked
        ``apart``."""
        off = set(apart)
        if self.baseline is not None:
            # An ENUM of the codes: a cast looks a code up in a hash table, where NOT IN would
            # compare it with each code in turn, and (unlike a join with a table of the codes)
            # it keeps DuckDB's progress on the file being read.
            codes = ", ".join(_lit(code) for code in self.baseline.codes)
            self.con.execute(f"CREATE OR REPLACE TYPE baseline_code AS ENUM ({codes})")
        else:
            off.add("unknown_business_type")
        if not self.spec.has_lifecycle:
            off.add("lifecycle_not_used")
        if self.store.is_empty():
            off.add("already_in_store")
        return check_select(rows, self.state.columns, off, paired, self.limits)

    def _fast_pass(self) -> bool:
        """Ingest a CSV in one pass with its timestamps and amounts typed by the CSV reader,
        when the file has nothing to quarantine; False (and nothing kept) otherwise.

        Parsing a value in the reader costs much less than reading it as text and converting
        it, and for what the reader accepts the two give the same value (its casts are
        DuckDB's). The pass stops at the first value the reader cannot convert, line it cannot
        split or row with a reason, and a file with copies is not kept either: such a file
        goes down the full path (every value read as text), which gives every quarantined row
        its reason, line and text. Most exports are clean and pay for one typed pass and a
        sort of the row hashes.

        Control characters in the identifiers are left to the count of the file's lines, which
        reads every byte anyway (a pattern match on five columns of every row costs a fifth of
        the pass): where it finds no control byte and every record is one line, no value can
        hold one; otherwise the written identifiers are checked (:meth:`_holds_controls`).
        """
        state, spec = self.state, self.spec
        read_typed = self.typing.fast_columns()
        if not read_typed or spec.has_lifecycle or spec.csv_reader is None:
            return False
        scanned = self._lines is not None and scans_controls(spec.encoding or "utf-8")
        apart = ("control_character",) if scanned else ()
        # Without store_rejects, the reader raises at the first line it cannot read.
        reader = typed_csv_reader(
            spec, {spec.mapping[c]: CANONICAL_COLUMNS[c] for c in read_typed})
        hashes = "row_hash, record_hash" if state.columns.has_unmapped else "row_hash"
        staged = self.typing.stage_select("src_typed", read_typed)
        rows = (
            f"SELECT {_CANONICAL}, src_row, {hashes}, CASE WHEN reason IS NULL THEN reason "
            f"ELSE error('procmine: a row to quarantine') END AS reason "
            f"FROM ({self._check_select(f'({staged})', paired=False, apart=apart)})"
        )
        # Its own file: DuckDB removes the file of a COPY that failed, and a worker thread
        # can do so after the error has reached us, when the full pass's file has the name.
        attempt = state.partial.with_suffix(".fast")
        try:
            self.con.execute(f"CREATE TEMP VIEW src_typed AS SELECT * FROM {reader}")
            described = self.con.execute("DESCRIBE src_typed").fetchall()
            if tuple(r[0] for r in described) != state.columns.names:  # read the same way?
                raise duckdb.InvalidInputException("the typed reader sees other columns")
            state.execute(f"COPY ({rows}) TO {_lit(str(attempt))} (FORMAT parquet)", "read")
            attempt.replace(state.partial)
            self.con.execute(
                f"CREATE TEMP VIEW written AS {read_written(state.partial, state.columns)}"
            )
            clean = not find_repeated_hashes(state) and not (scanned and self._holds_controls())
        except duckdb.Error:  # a row to quarantine, or a line to reject: the full path says
            clean = False
        if clean:
            self.con.execute("CREATE TEMP VIEW final AS SELECT * FROM written")
            return True
        for name in ("written", "src_typed"):
            self.con.execute(f"DROP VIEW IF EXISTS {name}")
        self.con.execute("DROP TABLE IF EXISTS repeated_hashes")
        attempt.unlink(missing_ok=True)
        state.partial.unlink(missing_ok=True)
        return False

    def _holds_controls(self) -> bool:
        """Whether a written identifier holds a control character, which the typed pass left
        to the count of the CSV's lines: no, when the count found no control byte and as
        many lines as rows (no line break inside a value); else the identifiers are read."""
        assert self._lines is not None
        lines = self._lines.result()
        if lines.controls is False and lines.lines == self.state.scalar(
                "SELECT count(*) FROM written"):
            return False
        return self.state.scalar(
            f"SELECT count(*) FROM written WHERE {control_in(IDENTIFIER_COLUMNS)}") > 0

    def _count(self) -> None:
        """The report's counts, reasons and warnings, from the view ``final``."""
        report, state = self.report, self.state
        report.reasons = quarantined_by_reason(self.con, state.rejected,
                                               list(QUARANTINE_REASONS))
        report.quarantined = sum(report.reasons.values())
        report.loaded = state.scalar("SELECT count(*) FROM final WHERE reason IS NULL")
        report.read = self._source_records()
        applies = {
            "missing_teller": self.spec.column_for("teller_id") is not None,
            "unmatched_complete": bool(report.pairing.get("unmatched_complete")),
        }
        warnings: dict[str, int] = {}
        for warning in LOAD_WARNINGS:
            if applies[warning.code]:
                n = state.scalar(
                    f"SELECT count(*) FROM final WHERE reason IS NULL AND {warning.condition}"
                )
                if n:
                    warnings[warning.code] = n
        report.warnings = warnings

    def _source_records(self) -> int:
        """The records of the source, counted apart from the reader (see
        :mod:`~procmine.ingest.counting`); blank CSV lines go to ``blank_lines``."""
        spec, report = self.spec, self.report
        if spec.format == "parquet":
            return int(pq.ParquetFile(spec.path).metadata.num_rows)
        if spec.format != "csv":
            return self.state.scalar("SELECT count(*) FROM src")
        assert self._lines is not None, "a CSV's lines are counted from the start of run()"
        lines = self._lines.result()
        report.blank_lines = lines.blank
        if lines.lines == report.loaded + report.quarantined + report.merged_by_pairing:
            return lines.lines
        records, report.blank_lines = records_spanning_lines(
            lines, self.con, "src", self.state.columns.record, self.state.rejected)
        return records
