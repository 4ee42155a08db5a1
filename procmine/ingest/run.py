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
merged_by_pairing`` holds for every ingest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa

from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.core.schema import CANONICAL_COLUMNS, TIMESTAMP_COLUMNS
from procmine.core.sql import lit as _lit
from procmine.core.sql import quote as _q
from procmine.io.eventlog import INSTANCE, LIFECYCLE, QUARANTINE_REASONS, SourceSpec

if TYPE_CHECKING:
    from procmine.store.event_store import EventStore

__all__ = ["IngestReport", "IngestRun", "Progress"]

#: Called with (phase, fraction done in 0..1) while an ingest runs.
Progress = Callable[[str, float], None]

#: Up to this many rows, copies are found by sorting the rows' hashes in memory (see
#: ``IngestRun._find_repeated_hashes``).
SORT_LIMIT = 50_000_000

_STRING_COLUMNS = tuple(c for c, t in CANONICAL_COLUMNS.items() if t == "VARCHAR")
_CONVERTED_COLUMNS = (*TIMESTAMP_COLUMNS, "amount", "error")
_CANONICAL = ", ".join(CANONICAL_COLUMNS)

# Timestamp formats tried, in order, when a column is not ISO 8601 and no format is given.
_TIMESTAMP_FORMATS = (
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%d-%m-%Y %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y%m%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
)

_TRUE_WORDS = ("1", "true", "t", "y", "yes", "是", "冲正", "差错", "reversed", "error")
_FALSE_WORDS = ("0", "false", "f", "n", "no", "否", "正常", "none", "ok")


@dataclass
class IngestReport:
    """What one ingest did. ``read == loaded + quarantined + merged_by_pairing`` always holds.

    ``read`` counts records of the source (CSV lines, Excel/Parquet rows, XES events). Where
    start and complete events are paired into one row, each pair merges two records into one
    row: ``merged_by_pairing`` counts those pairs.
    """

    source: str
    format: str
    batch_id: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    merged_by_pairing: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    pairing: dict[str, int] = field(default_factory=dict)
    quarantine_file: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ingested_at: str = ""

    @property
    def reconciles(self) -> bool:
        return self.read == self.loaded + self.quarantined + self.merged_by_pairing

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class IngestRun:
    """One ingest of the view ``src`` that ``spec`` describes (see ``EventStore.ingest``): type
    and check in one pass, mark copies, write the batch file and the quarantine."""

    def __init__(
        self,
        store: EventStore,
        con: duckdb.DuckDBPyConnection,
        spec: SourceSpec,
        batch_id: str,
        baseline: Baseline | None,
        progress: Progress | None,
    ) -> None:
        self.store = store
        self.con = con
        self.spec = spec
        self.batch_id = batch_id
        self.baseline = baseline
        self.progress = _monotonic(progress) if progress is not None else None
        self._padded: set[str] | None = None
        self._columns: list[str] | None = None
        self._sampled = False
        self.report = IngestReport(
            source=str(spec.path),
            format=spec.format,
            batch_id=batch_id,
            mapping=dict(spec.mapping),
            encoding=spec.encoding if spec.format == "csv" else None,
            ignored_columns=[c for c in spec.columns if c not in spec.mapping.values()],
        )

    # -- expressions ----------------------------------------------------------------------

    def _text(self, canonical: str) -> str:
        """The column's text, NULL when empty; trimmed where the file pads values.

        Trimming every value costs as much as reading the file, so it is done only for columns
        whose sample shows padding (fixed-width exports); casts to time and number ignore
        surrounding spaces anyway. The CSV reader already reads empty fields as NULL.
        """
        column = self.spec.column_for(canonical)
        if column is None:
            return "CAST(NULL AS VARCHAR)"
        if column in self._padded_columns():
            return f"nullif(trim({_q(column)}), '')"
        if self.spec.format == "csv":
            return _q(column)
        return f"nullif({_q(column)}, '')"

    def _sample(self) -> str:
        """The first 20,000 records, read once for the format checks (a query on ``src``
        sniffs a CSV again)."""
        if not self._sampled:
            self.con.execute("CREATE TEMP TABLE src_sample AS SELECT * FROM src LIMIT 20000")
            self._sampled = True
        return "src_sample"

    def _padded_columns(self) -> set[str]:
        if self._padded is None:
            columns = [c for c in self.spec.mapping.values()]
            checks = ", ".join(
                f"count(*) FILTER (WHERE {_q(c)} <> trim({_q(c)}) OR {_q(c)} = '')"
                for c in columns
            )
            counts = self.con.execute(f"SELECT {checks} FROM {self._sample()}").fetchall()[0]
            self._padded = {c for c, n in zip(columns, counts, strict=True) if n}
        return self._padded

    def _timestamp_expr(self, canonical: str) -> str:
        column = self.spec.column_for(canonical)
        if column is None:
            return "CAST(NULL AS TIMESTAMP)"
        text = self._text(canonical)
        fmt = self.spec.timestamp_format or self._detect_timestamp_format(column)
        if fmt == "iso":
            return f"try_cast({text} AS TIMESTAMP)"
        if fmt == "iso_offset":
            # Offsets (which change with daylight saving) are resolved to UTC.
            return f"CAST(try_cast({text} AS TIMESTAMPTZ) AS TIMESTAMP)"
        return f"try_strptime({text}, {_lit(fmt)})"

    def _detect_timestamp_format(self, column: str) -> str:
        """Pick the format that reads the most of a sample of the column: ISO 8601 when it
        reads all of it, else the best of the usual export formats."""
        sample = (f"(SELECT trim({_q(column)}) AS v FROM {self._sample()} "
                  f"WHERE nullif(trim({_q(column)}), '') IS NOT NULL LIMIT 2000)")
        sampled, example, iso, with_offset = self.con.execute(
            "SELECT count(*), any_value(v), count(try_cast(v AS TIMESTAMPTZ)), "
            r"count(*) FILTER (WHERE regexp_matches(v, '(Z|[+-]\d\d:?\d\d)$')) "
            f"FROM {sample}"
        ).fetchall()[0]
        if not sampled:
            return "iso"
        if iso == sampled:
            return "iso_offset" if with_offset else "iso"
        candidates = _TIMESTAMP_FORMATS
        parsed = self.con.execute(
            "SELECT " + ", ".join(f"count(try_strptime(v, {_lit(f)}))" for f in candidates)
            + f" FROM {sample}"
        ).fetchall()[0]
        best = max(range(len(candidates)), key=lambda i: (parsed[i], -i))  # ties: earlier wins
        if max(parsed[best], iso) < 0.5 * sampled:
            raise ProcmineError(
                f"{self.spec.path}: column {column!r} holds timestamps procmine cannot read "
                f"(e.g. {example!r}); give timestamp_format in a mapping file (--map), "
                "e.g. timestamp_format: \"%Y-%m-%d %H:%M:%S\""
            )
        if iso >= parsed[best]:
            return "iso_offset" if with_offset else "iso"
        return candidates[best]

    def _error_expr(self) -> str:
        text = self._text("error")
        trues = ", ".join(_lit(w) for w in _TRUE_WORDS)
        falses = ", ".join(_lit(w) for w in _FALSE_WORDS)
        if text.startswith("CAST(NULL"):
            return "CAST(NULL AS BOOLEAN)"
        return (
            f"CASE WHEN {text} IN ('0', '1') THEN {text} = '1' "  # the common case, no lower()
            f"WHEN lower({text}) IN ({trues}) THEN true "
            f"WHEN lower({text}) IN ({falses}) THEN false ELSE NULL END"
        )

    def _amount_expr(self) -> str:
        return f"try_cast(replace({self._text('amount')}, ',', '') AS DOUBLE)"

    # -- steps ---------------------------------------------------------------------------

    def run(self) -> IngestReport:
        self.numbered = "_row" in self._src_columns()
        self._rejected: list[tuple[int, str, str]] = []
        self.target = self.store.events_dir / f"{self.batch_id}.parquet"
        self.partial = self.target.with_suffix(".parquet.partial")
        self._load_stored_hashes()
        try:
            if self._fast_pass():
                self._count()
                self._commit()
                return self.report
            if self.spec.has_lifecycle and self.spec.column_for("start_time") is None:
                # Events with lifecycle transitions: stage, pair start with complete, check.
                self._run_with_progress(
                    f"CREATE TEMP TABLE staged AS {self._stage_select()}", "read"
                )
                if not self.numbered:
                    self._collect_rejects()
                    self.con.execute(
                        "CREATE TEMP VIEW numbered AS SELECT s.* REPLACE ("
                        f"{self._line_expr('s.rowid')} AS src_row) FROM staged s "
                        f"{self._line_join('s.rowid')}"
                    )
                    self.numbered = True
                else:
                    self.con.execute("CREATE TEMP VIEW numbered AS SELECT * FROM staged")
                self._pair_lifecycle()
                rows, phase = self._check_select("paired_rows"), "check"
            else:
                # One streaming pass: read, type, check and write every record.
                rows, phase = self._check_select(f"({self._stage_select()})"), "read"
            self._run_with_progress(
                f"COPY ({rows}) TO {_lit(str(self.partial))} (FORMAT parquet)", phase
            )
            if not self.numbered:
                self._collect_rejects()
            self.con.execute(f"CREATE TEMP VIEW written AS {self._read_written(self.partial)}")
            self._mark_copies()
            self._count()
            if self.report.quarantined:
                self._write_quarantine()
            self._commit()
        finally:
            self.partial.unlink(missing_ok=True)
        return self.report

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
        """
        read_typed = self._fast_columns()
        if not read_typed or self.spec.has_lifecycle or self.spec.csv_reader is None:
            return False
        types = ", ".join(
            f"{_lit(self.spec.mapping[c])}: {_lit(CANONICAL_COLUMNS[c])}" for c in read_typed
        )
        # Without store_rejects, the reader raises at the first line it cannot read.
        reader = self.spec.csv_reader[:-1] + f", types = {{{types}}})"
        hashes = "row_hash, record_hash" if self._has_unmapped() else "row_hash"
        staged = self._stage_select("src_typed", read_typed)
        rows = (
            f"SELECT {_CANONICAL}, src_row, {hashes}, CASE WHEN reason IS NULL THEN reason "
            f"ELSE error('procmine: a row to quarantine') END AS reason "
            f"FROM ({self._check_select(f'({staged})')})"
        )
        try:
            self.con.execute(f"CREATE TEMP VIEW src_typed AS SELECT * FROM {reader}")
            described = self.con.execute("DESCRIBE src_typed").fetchall()
            if [r[0] for r in described] != self._src_columns():  # read the same way, or not
                raise duckdb.InvalidInputException("the typed reader sees other columns")
            self._run_with_progress(
                f"COPY ({rows}) TO {_lit(str(self.partial))} (FORMAT parquet)", "read"
            )
            self.con.execute(f"CREATE TEMP VIEW written AS {self._read_written(self.partial)}")
            clean = not self._find_repeated_hashes()
        except duckdb.Error:  # a row to quarantine, or a line to reject: the full path says
            clean = False
        if clean:
            self.con.execute("CREATE TEMP VIEW final AS SELECT * FROM written")
            return True
        for name in ("written", "src_typed"):
            self.con.execute(f"DROP VIEW IF EXISTS {name}")
        self.con.execute("DROP TABLE IF EXISTS repeated_hashes")
        self.partial.unlink(missing_ok=True)
        return False

    def _fast_columns(self) -> frozenset[str]:
        """Canonical columns the CSV reader can type itself: ISO timestamps and plain numbers
        (as the sample shows them), unpadded; '1,234.5' or an offset would be rejected."""
        if self.spec.format != "csv":
            return frozenset()
        chosen = set()
        for canonical in (*TIMESTAMP_COLUMNS, "amount"):
            column = self.spec.column_for(canonical)
            if column is None or column in self._padded_columns():
                continue
            if canonical == "amount":
                plain = self._scalar(
                    f"SELECT count(*) FILTER (WHERE try_cast({_q(column)} AS DOUBLE) IS NULL) "
                    f"FROM {self._sample()} WHERE {_q(column)} IS NOT NULL"
                ) == 0
            else:
                plain = not self.spec.timestamp_format and (
                    self._detect_timestamp_format(column) == "iso")
            if plain:
                chosen.add(canonical)
        return frozenset(chosen)

    def _load_stored_hashes(self) -> None:
        """The content hashes of the rows already stored, to recognise them in one pass."""
        if self.store.is_empty():
            self.con.execute("CREATE TEMP TABLE stored_hashes (row_hash UBIGINT)")
        else:
            self.con.execute(
                "CREATE TEMP TABLE stored_hashes AS SELECT DISTINCT row_hash FROM events_hashed"
            )

    def _run_with_progress(self, sql: str, phase: str) -> None:
        """Run a long statement, reporting DuckDB's own progress estimate while it runs."""
        if self.progress is None:
            self.con.execute(sql)
            return
        failure: list[BaseException] = []

        def target() -> None:
            try:
                self.con.execute(sql)
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)

        worker = threading.Thread(target=target, daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.2)
            try:
                done = self.con.query_progress()
            except duckdb.Error:
                done = -1
            if done >= 0:
                self.progress(phase, min(done / 100.0, 0.99))
        if failure:
            raise failure[0]
        self.progress(phase, 1.0)

    def _stage_select(self, source: str = "src", read_typed: frozenset[str] = frozenset()) -> str:
        """Typed canonical columns from ``source``, with the text of the columns that are typed.

        ``read_typed`` names the canonical columns that ``source`` already reads typed (see
        ``_fast_pass``): they pass through, and stand for their own text, which is empty
        exactly when the value is NULL and never fails to convert.
        """
        typed: dict[str, str] = {c: self._text(c) for c in _STRING_COLUMNS}
        typed.update({c: self._timestamp_expr(c) for c in TIMESTAMP_COLUMNS})
        typed["amount"] = self._amount_expr()
        typed["error"] = self._error_expr()
        texts = {c: self._text(c) for c in _CONVERTED_COLUMNS}
        for canonical in read_typed:
            typed[canonical] = texts[canonical] = _q(self.spec.mapping[canonical])
        src_columns = self._src_columns()
        inner = [f"{expr} AS {_q(name)}" for name, expr in typed.items()]
        inner += [f"{texts[c]} AS {_q(c + '__text')}" for c in _CONVERTED_COLUMNS]
        inner.append(f"lower({self._text(LIFECYCLE)}) AS lifecycle")
        inner.append(f"{self._text(INSTANCE)} AS instance")
        row = "_row" if "_row" in src_columns else "NULL"  # CSV lines are numbered later
        inner.append(f"CAST({row} AS BIGINT) AS src_row")
        # The source text passes through (no copy) for the hash of a quarantined record.
        inner += [f"{_q(c)} AS __src_{i}" for i, c in enumerate(self._record_columns())]
        unmapped = [c for c in self._record_columns() if c not in self.spec.mapping.values()]
        if unmapped:
            inner.append("hash(" + ", ".join(_q(c) for c in unmapped) + ") AS unmapped_hash")
        # Two records are copies when their canonical values and unmapped columns are equal.
        record = "hash(row_hash, unmapped_hash)" if unmapped else "row_hash"
        return (
            f"SELECT * EXCLUDE ({'unmapped_hash' if unmapped else 'src_row'}) "
            f"{'' if unmapped else ', src_row'}, {record} AS record_hash FROM ("
            f"SELECT *, hash({_CANONICAL}) AS row_hash FROM (SELECT {', '.join(inner)} "
            f"FROM {source}))"
        )

    def _has_unmapped(self) -> bool:
        """Whether the source has columns no canonical column reads (then a record's hash
        covers them too, and differs from the hash of its canonical values)."""
        return any(c not in self.spec.mapping.values() for c in self._record_columns())

    def _read_written(self, path: Path) -> str:
        """A written batch file, with ``record_hash`` even where the file holds only
        ``row_hash`` (every column mapped: the two are equal, so only one is written)."""
        alias = "" if self._has_unmapped() else ", row_hash AS record_hash"
        return (f"SELECT *{alias} FROM read_parquet({_lit(str(path))}, "
                "file_row_number = true)")

    def _record_columns(self) -> list[str]:
        """The source's own columns (not the reader's record number)."""
        return [c for c in self._src_columns() if c != "_row"]

    def _key_columns(self) -> list[str]:
        """Source columns that nearly identify a record: case, activity, end time."""
        return [self.spec.mapping[c] for c in ("case_id", "activity", "end_time")]

    def _line_key(self) -> str:
        """A hash of a record's key columns as written (see ``_key_columns``)."""
        columns = self._record_columns()
        return "hash(" + ", ".join(
            f"__src_{columns.index(c)}" for c in self._key_columns()) + ")"

    def _line_hash(self, prefix: str = "__src_") -> str:
        """A hash of a record's source text, to find a quarantined CSV record's line again."""
        n = len(self._record_columns())
        return "hash(" + ", ".join(f"{prefix}{i}" for i in range(n)) + ")"

    def _src_columns(self) -> list[str]:
        if self._columns is None and self.spec.csv_reader is not None:
            self._columns = list(self.spec.columns)  # the store described ``src`` already
        if self._columns is None:  # DESCRIBE re-sniffs a CSV: ask once
            self._columns = [r[0] for r in self.con.execute("DESCRIBE src").fetchall()]
        return self._columns

    def _pair_lifecycle(self) -> None:
        """Pair start and complete events of the same case and activity into one row.

        Pairing is first-in first-out per (case, activity, instance): each complete closes the
        earliest open start, so the k-th start pairs with the k-th complete that found one open.
        A complete with no open start is loaded without a start time; a start never closed is
        quarantined. Other transitions (schedule, suspend, ...) are quarantined as not used.
        """
        starts = self._scalar("SELECT count(*) FROM staged WHERE lifecycle = 'start'")
        if starts == 0:  # a complete-only log: every event is a row of its own
            self.con.execute(
                "CREATE TEMP TABLE paired_rows AS SELECT *, false AS unmatched_start, "
                "false AS unmatched_complete FROM numbered"
            )
            return
        key = "case_id, activity, coalesce(instance, '')"
        order = "end_time, CASE lifecycle WHEN 'start' THEN 0 ELSE 1 END, src_row"
        self.con.execute(
            f"""
            CREATE TEMP TABLE walk AS
            WITH ev AS (
                SELECT case_id, activity, instance, lifecycle, end_time, teller_id, src_row,
                       CASE lifecycle WHEN 'start' THEN 1 ELSE -1 END AS step
                FROM numbered
                WHERE lifecycle IN ('start', 'complete') AND case_id IS NOT NULL
                  AND activity IS NOT NULL AND end_time IS NOT NULL
            ), s AS (
                SELECT *, sum(step) OVER (PARTITION BY {key} ORDER BY {order}
                                          ROWS UNBOUNDED PRECEDING) AS balance
                FROM ev
            ), m AS (
                SELECT *, coalesce(min(balance) OVER (PARTITION BY {key} ORDER BY {order}
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS prev_min
                FROM s
            )
            SELECT *, (step = -1 AND balance < least(prev_min, 0)) AS lone_complete FROM m
            """
        )
        self.con.execute(
            f"""
            CREATE TEMP TABLE pairs AS
            WITH st AS (
                SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY {order}) AS k
                FROM walk WHERE step = 1
            ), co AS (
                SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY {order}) AS k
                FROM walk WHERE step = -1 AND NOT lone_complete
            )
            SELECT co.src_row AS complete_row, st.src_row AS start_row,
                   st.end_time AS start_ts, st.teller_id AS start_teller
            FROM st JOIN co ON st.case_id = co.case_id AND st.activity = co.activity
                 AND coalesce(st.instance, '') = coalesce(co.instance, '') AND st.k = co.k
            """
        )
        self.con.execute(
            """
            CREATE TEMP TABLE paired_rows AS
            SELECT s.* REPLACE (
                       coalesce(p.start_ts, s.start_time) AS start_time,
                       coalesce(s.teller_id, p.start_teller) AS teller_id),
                   (s.lifecycle = 'start' AND s.end_time IS NOT NULL AND s.case_id IS NOT NULL
                    AND s.activity IS NOT NULL) AS unmatched_start,
                   coalesce(w.lone_complete, false) AS unmatched_complete
            FROM numbered s
            LEFT JOIN pairs p ON s.lifecycle = 'complete' AND p.complete_row = s.src_row
            LEFT JOIN walk w ON w.src_row = s.src_row
            WHERE s.src_row NOT IN (SELECT start_row FROM pairs)
            """
        )
        pairs = self._scalar("SELECT count(*) FROM pairs")
        self.report.merged_by_pairing = pairs
        self.report.pairing = {
            "start_events": starts,
            "complete_events": self._scalar(
                "SELECT count(*) FROM staged WHERE lifecycle = 'complete'"
            ),
            "paired": pairs,
            "unmatched_start": self._scalar(
                "SELECT count(*) FROM paired_rows WHERE unmatched_start"
            ),
            "unmatched_complete": self._scalar(
                "SELECT count(*) FROM paired_rows WHERE unmatched_complete"
            ),
        }

    def _scalar(self, sql: str) -> int:
        row = self.con.execute(sql).fetchall()[0]
        return int(row[0]) if row and row[0] is not None else 0

    def _check_select(self, rows: str) -> str:
        """``rows`` with each row's quarantine reason (NULL when good) and content hash.

        A bad row keeps the source text of its typed columns (``<column>__raw``), so the
        quarantine shows what the file said; a good row keeps only the typed values.
        """
        if self.baseline is not None:
            # An ENUM of the codes: a cast looks a code up in a hash table, where NOT IN would
            # compare it with each code in turn, and (unlike a join with a table of the codes)
            # it keeps DuckDB's progress on the file being read.
            codes = ", ".join(_lit(code) for code in self.baseline.codes)
            self.con.execute(f"CREATE OR REPLACE TYPE baseline_code AS ENUM ({codes})")
            unknown_type = ("business_type IS NOT NULL AND "
                            "try_cast(business_type AS baseline_code) IS NULL")
        else:
            unknown_type = "false"
        lifecycle_bad = (
            "lifecycle IS NOT NULL AND lifecycle NOT IN ('start', 'complete')"
            if self.spec.has_lifecycle else "false"
        )
        unmatched_start = "unmatched_start" if rows == "paired_rows" else "false"
        unmatched_complete = (
            "" if rows == "paired_rows" else ", false AS unmatched_complete"
        )
        in_store = (
            "false" if self.store.is_empty()
            else "row_hash IN (SELECT row_hash FROM stored_hashes)"
        )

        def failed(c: str) -> str:
            return f"({c} IS NULL AND {c}__text IS NOT NULL)"

        bad_ts = " OR ".join(failed(c) for c in TIMESTAMP_COLUMNS)
        texts = ", ".join(
            [f"{c}__text" for c in _CONVERTED_COLUMNS]
            + [f"__src_{i}" for i in range(len(self._record_columns()))]
        )
        raws = ", ".join(
            f"CASE WHEN reason IS NOT NULL THEN {c}__text END AS {c}__raw"
            for c in _CONVERTED_COLUMNS
        )
        if not self._has_unmapped():
            texts += ", record_hash"  # equal to row_hash: written once
        return f"""
            SELECT * EXCLUDE ({texts}), {raws},
                CASE WHEN reason IS NOT NULL THEN {self._line_hash()} END AS line_hash,
                CASE WHEN reason IS NOT NULL THEN {self._line_key()} END AS line_key FROM (
            SELECT *,
                CASE
                    WHEN case_id IS NULL THEN 'missing_case_id'
                    WHEN activity IS NULL THEN 'missing_activity'
                    WHEN end_time__text IS NULL THEN 'missing_end_time'
                    WHEN {lifecycle_bad} THEN 'lifecycle_not_used'
                    WHEN {unmatched_start} THEN 'unmatched_start'
                    WHEN {bad_ts} THEN 'bad_timestamp'
                    WHEN {failed("amount")} THEN 'bad_amount'
                    WHEN {failed("error")} THEN 'bad_error_flag'
                    WHEN start_time > end_time THEN 'end_before_start'
                    WHEN {unknown_type} THEN 'unknown_business_type'
                    WHEN {in_store} THEN 'already_in_store'
                END AS reason{unmatched_complete}
            FROM {rows})
        """

    def _collect_rejects(self) -> None:
        """Lines the CSV reader could not split into the header's fields."""
        if self._rejected:
            return
        rows = self.con.execute(
            "SELECT line, any_value(csv_line), string_agg(DISTINCT error_type, ', ') "
            "FROM reject_errors GROUP BY line ORDER BY line"
        ).fetchall()
        self._rejected = [(int(r[0]), str(r[1]), str(r[2])) for r in rows]
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE reject_marks AS SELECT "
            "line - 1 - row_number() OVER (ORDER BY line) AS kept_before, "
            "row_number() OVER (ORDER BY line) AS n FROM (SELECT DISTINCT line FROM reject_errors)"
        )

    def _line_expr(self, index: str) -> str:
        """The CSV line of the kept row at 0-based position ``index`` (the header is line 1).

        DuckDB keeps insertion order, so the n-th row kept is the n-th record read; the i-th
        rejected line L_i has L_i - 1 - i kept rows before it, which ``reject_marks`` holds.
        """
        return f"{index} + 2 + coalesce(m.n, 0)"

    def _line_join(self, index: str) -> str:
        return f"ASOF LEFT JOIN reject_marks m ON {index} >= m.kept_before"

    def _mark_copies(self) -> None:
        """Exact copies within the file: the first is kept, the others are quarantined.

        Records are compared by a 64-bit hash of all their source columns, confirmed on the
        canonical values. Found from the written file's hash column alone; only a file that
        has copies is written a second time, with the copies marked.
        """
        self.copies = self._find_repeated_hashes()
        if not self.copies:
            self.con.execute("CREATE TEMP VIEW final AS SELECT * FROM written")
            return
        self.con.execute(
            f"""
            CREATE TEMP TABLE copy_marks AS
            SELECT file_row_number FROM (
                SELECT file_row_number, row_number() OVER (
                    PARTITION BY record_hash, {_CANONICAL} ORDER BY file_row_number) AS copy
                FROM written
                WHERE reason IS NULL AND record_hash IN (SELECT record_hash FROM repeated_hashes)
            ) WHERE copy > 1
            """
        )
        marked = self.partial.with_suffix(".marked")
        extra = "" if self._has_unmapped() else ", record_hash"  # an alias of row_hash
        self._run_with_progress(
            f"COPY (SELECT w.* EXCLUDE (file_row_number{extra}) REPLACE (CASE WHEN "
            "m.file_row_number "
            "IS NOT NULL THEN 'duplicate' ELSE w.reason END AS reason) FROM written w "
            "LEFT JOIN copy_marks m USING (file_row_number) ORDER BY w.file_row_number) "
            f"TO {_lit(str(marked))} (FORMAT parquet)",
            "write",
        )
        marked.replace(self.partial)
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW final AS {self._read_written(self.partial)}"
        )

    def _find_repeated_hashes(self) -> int:
        """Record hashes that occur more than once among the good rows, into the temp table
        ``repeated_hashes``; returns how many there are.

        Sorting the hashes (vectorised, in memory) costs a fraction of a hash aggregate over
        millions of distinct keys; very large files, whose hashes would not sit in memory
        comfortably, are grouped by DuckDB instead, which can spill to disk.
        """
        good = "SELECT record_hash FROM written WHERE reason IS NULL"
        if self._scalar("SELECT count(*) FROM written WHERE reason IS NULL") > SORT_LIMIT:
            self.con.execute(
                f"CREATE TEMP TABLE repeated_hashes AS {good} GROUP BY ALL HAVING count(*) > 1"
            )
        else:
            hashes = self.con.execute(good).fetchnumpy()["record_hash"]
            hashes = np.sort(np.asarray(hashes, dtype=np.uint64))
            repeated = np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
            self.con.register("repeated_arrow", pa.table({"record_hash": repeated}))
            self.con.execute("CREATE TEMP TABLE repeated_hashes AS SELECT * FROM repeated_arrow")
            self.con.unregister("repeated_arrow")
        return self._scalar("SELECT count(*) FROM repeated_hashes")

    def _count(self) -> None:
        report = self.report
        reasons = dict(self.con.execute(
            "SELECT reason, count(*) FROM final WHERE reason IS NOT NULL GROUP BY ALL"
        ).fetchall())
        if self._rejected:
            reasons["malformed_line"] = len(self._rejected)
        report.reasons = {r: int(reasons[r]) for r in (*QUARANTINE_REASONS, "malformed_line")
                          if r in reasons}
        report.quarantined = sum(report.reasons.values())
        report.loaded = self._scalar("SELECT count(*) FROM final WHERE reason IS NULL")
        report.read = report.loaded + report.quarantined + report.merged_by_pairing
        warnings: dict[str, int] = {}
        if self.spec.column_for("teller_id") is not None:
            n = self._scalar(
                "SELECT count(*) FROM final WHERE reason IS NULL AND teller_id IS NULL"
            )
            if n:
                warnings["missing_teller"] = n
        if report.pairing.get("unmatched_complete"):
            n = self._scalar(
                "SELECT count(*) FROM final WHERE reason IS NULL AND unmatched_complete"
            )
            if n:
                warnings["unmatched_complete"] = n
        report.warnings = warnings

    def _commit(self) -> None:
        """The written file joins the store (its quarantined rows stay in it, hidden by the
        ``events`` view, so the batch file keeps every record of the source)."""
        if self.report.loaded:
            self.partial.replace(self.target)

    def _write_quarantine(self) -> None:
        """Bad rows with their line (or record number), reason and values as in the source."""
        path = self.store.quarantine_dir / f"{self.batch_id}.csv"
        values = []
        for canonical, col in self.spec.mapping.items():
            if canonical in _CONVERTED_COLUMNS:
                values.append(
                    f"coalesce({canonical}__raw, CAST({canonical} AS VARCHAR)) AS {_q(col)}"
                )
            elif canonical in CANONICAL_COLUMNS:
                values.append(f"{canonical} AS {_q(col)}")
            elif canonical == LIFECYCLE:
                values.append(f"lifecycle AS {_q(col)}")
        self.con.execute(
            "CREATE TEMP TABLE quarantined AS SELECT *, reason AS why FROM final "
            "WHERE reason IS NOT NULL"
        )
        if not self.numbered:
            self._number_quarantined_csv_rows()
        select = (
            f"SELECT src_row AS source_row, why AS reason, CAST(NULL AS VARCHAR) AS detail, "
            f"{', '.join(values)} FROM quarantined"
        )
        if self._rejected:
            self.con.execute(
                "CREATE TEMP TABLE malformed AS SELECT line AS source_row, "
                "'malformed_line' AS reason, any_value(error_type) AS detail, "
                "any_value(csv_line) AS raw_line FROM reject_errors GROUP BY line"
            )
            select = (
                f"SELECT * FROM ({select}) UNION ALL BY NAME "
                "(SELECT source_row, reason, detail, raw_line FROM malformed)"
            )
        self.con.execute(
            f"COPY ({select} ORDER BY source_row) TO {_lit(str(path))} (HEADER, DELIMITER ',')"
        )
        self.report.quarantine_file = str(path)

    def _number_quarantined_csv_rows(self) -> None:
        """Give quarantined CSV rows their line in the file.

        The streaming pass does not number CSV lines (that would cost a second copy of the
        data), so the file is read once more, only when something was quarantined, keeping a
        hash per line in order. A bad record is matched on the hash of its text, a copy on the
        hash of its content; identical records take their lines in order, the first copy of an
        exact duplicate being the one that was kept.
        """
        raw = "hash(" + ", ".join(_q(c) for c in self._record_columns()) + ")"
        # Hash every line's key columns (cheap); the whole text only where the key matches.
        wanted = "(SELECT line_key FROM quarantined WHERE line_key IS NOT NULL)"
        copies = "(SELECT record_hash FROM quarantined WHERE why = 'duplicate')"
        if self.copies:
            self.con.execute(
                f"CREATE TEMP TABLE file_lines AS SELECT CASE WHEN {self._line_key()} IN "
                f"{wanted} THEN {self._line_hash()} END AS line_hash, CASE WHEN record_hash IN "
                f"{copies} THEN record_hash END AS record_hash FROM ({self._stage_select()})"
            )
        else:
            key = "hash(" + ", ".join(_q(c) for c in self._key_columns()) + ")"
            self.con.execute(
                f"CREATE TEMP TABLE file_lines AS SELECT CASE WHEN {key} IN {wanted} "
                f"THEN {raw} END AS line_hash, CAST(NULL AS UBIGINT) AS record_hash FROM src"
            )
        self.con.execute(
            "CREATE TEMP TABLE candidate_lines AS SELECT rowid AS pos, line_hash, record_hash "
            "FROM file_lines WHERE line_hash IS NOT NULL OR record_hash IS NOT NULL"
        )
        self.con.execute(
            f"""
            CREATE TEMP TABLE quarantine_lines AS
            WITH numbered AS (
                SELECT h.line_hash, h.record_hash, h.pos, {self._line_expr('h.pos')} AS line
                FROM candidate_lines h {self._line_join('h.pos')}
            )
            SELECT 'text' AS via, line_hash AS key, line,
                   row_number() OVER (PARTITION BY line_hash ORDER BY pos) AS k
            FROM numbered WHERE line_hash IN (SELECT line_hash FROM quarantined)
            UNION ALL
            SELECT 'copy', record_hash, line,
                   row_number() OVER (PARTITION BY record_hash ORDER BY pos)
            FROM numbered WHERE record_hash IN (SELECT record_hash FROM quarantined
                                                WHERE why = 'duplicate')
            """
        )
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE quarantined AS
            WITH q AS (
                SELECT * EXCLUDE (src_row),
                    CASE WHEN why = 'duplicate' THEN 'copy' ELSE 'text' END AS via,
                    CASE WHEN why = 'duplicate' THEN record_hash ELSE line_hash END AS key
                FROM quarantined
            ), k AS (
                SELECT *, row_number() OVER (PARTITION BY via, key ORDER BY file_row_number)
                          + CASE WHEN via = 'copy' THEN 1 ELSE 0 END AS k
                FROM q
            )
            SELECT k.* EXCLUDE (via, key, k), l.line AS src_row
            FROM k LEFT JOIN quarantine_lines l USING (via, key, k)
            """
        )


def _monotonic(progress: Progress) -> Progress:
    """``progress`` never moving back within a phase (a CSV whose typed pass stopped is read
    again by the full path: its bar waits until the second read passes the first)."""
    reached: dict[str, float] = {}

    def report(phase: str, fraction: float) -> None:
        reached[phase] = max(reached.get(phase, 0.0), fraction)
        progress(phase, reached[phase])

    return report
