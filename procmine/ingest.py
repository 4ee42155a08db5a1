"""Ingest: one event-log file into the store, losing nothing.

The pipeline runs in DuckDB. In one streaming pass every record is typed, checked and written to
Parquet split into good and bad rows (lifecycle logs are first staged and their start and
complete events paired). Then, reading only hash columns, exact copies within the file and rows
the store already holds are set aside. Good rows become the batch's file in the store; every
other record goes to the quarantine CSV with its line (or record number) and reason, so that
``read == loaded + quarantined + merged_by_pairing`` holds for every ingest.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from procmine.baseline import Baseline
from procmine.errors import ProcmineError
from procmine.eventlog import INSTANCE, LIFECYCLE, QUARANTINE_REASONS, SourceSpec
from procmine.schema import CANONICAL_COLUMNS, TIMESTAMP_COLUMNS
from procmine.sql import lit as _lit
from procmine.sql import quote as _q

if TYPE_CHECKING:
    from procmine.store import EventStore

__all__ = ["IngestReport", "Progress", "run_ingest"]

#: Called with (phase, fraction done in 0..1) while an ingest runs.
Progress = Callable[[str, float], None]

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


def run_ingest(
    store: EventStore,
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    batch_id: str,
    baseline: Baseline | None,
    progress: Progress | None,
) -> IngestReport:
    """Run the pipeline over the view ``src`` that ``spec`` describes (see EventStore.ingest)."""
    return _Ingest(store, con, spec, batch_id, baseline, progress).run()


class _Ingest:
    """One ingest: type and check in one pass, set copies aside, write store and quarantine."""

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
        self.progress = progress
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
        column = self.spec.column_for(canonical)
        return f"nullif(trim({_q(column)}), '')" if column else "CAST(NULL AS VARCHAR)"

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
        """Pick the format that reads the most of a sample of the column (ISO 8601 first)."""
        sample = [
            r[0]
            for r in self.con.execute(
                f"SELECT trim({_q(column)}) FROM src WHERE nullif(trim({_q(column)}), '') "
                "IS NOT NULL LIMIT 2000"
            ).fetchall()
        ]
        if not sample:
            return "iso"
        self.con.register("ts_sample", pa.table({"v": pa.array(sample, pa.string())}))
        try:
            candidates = ["iso", *_TIMESTAMP_FORMATS]
            counts = self.con.execute(
                "SELECT "
                + ", ".join(
                    "count(try_cast(v AS TIMESTAMPTZ))" if f == "iso"
                    else f"count(try_strptime(v, {_lit(f)}))"
                    for f in candidates
                )
                + r", count(*) FILTER (WHERE regexp_matches(v, '(Z|[+-]\d\d:?\d\d)$'))"
                + " FROM ts_sample"
            ).fetchall()[0]
        finally:
            self.con.unregister("ts_sample")
        assert counts is not None
        best = max(range(len(candidates)), key=lambda i: (counts[i], -i))  # ties: earlier wins
        if counts[best] < 0.5 * len(sample):
            raise ProcmineError(
                f"{self.spec.path}: column {column!r} holds timestamps procmine cannot read "
                f"(e.g. {sample[0]!r}); give timestamp_format in a mapping file (--map), "
                "e.g. timestamp_format: \"%Y-%m-%d %H:%M:%S\""
            )
        if candidates[best] == "iso" and counts[-1] > 0:
            return "iso_offset"
        return candidates[best]

    def _error_expr(self) -> str:
        text = self._text("error")
        trues = ", ".join(_lit(w) for w in _TRUE_WORDS)
        falses = ", ".join(_lit(w) for w in _FALSE_WORDS)
        return (
            f"CASE WHEN lower({text}) IN ({trues}) THEN true "
            f"WHEN lower({text}) IN ({falses}) THEN false ELSE NULL END"
        )

    def _amount_expr(self) -> str:
        return f"try_cast(replace({self._text('amount')}, ',', '') AS DOUBLE)"

    # -- steps ---------------------------------------------------------------------------

    def run(self) -> IngestReport:
        self.work_dir = self.store.tmp_dir / f"ingest-{self.batch_id}"
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.numbered = "_row" in self._src_columns()
        self._rejected: list[tuple[int, str, str]] = []
        try:
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
                rows = self._check_select("paired_rows")
                phase = "check"
            else:
                # One streaming pass: read, type, check and write every record.
                rows = self._check_select(f"({self._stage_select()})")
                phase = "read"
            self._run_with_progress(
                "COPY (SELECT *, CASE WHEN reason IS NULL THEN 'ok' ELSE 'bad' END AS status "
                f"FROM ({rows})) TO {_lit(str(self.work_dir))} "
                "(FORMAT parquet, PARTITION_BY (status), WRITE_PARTITION_COLUMNS false)",
                phase,
            )
            if not self.numbered:
                self._collect_rejects()
            self._define_parts()
            self._set_aside_copies()
            self._count()
            self._write_store()
            if self.report.quarantined:
                self._write_quarantine()
        finally:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        return self.report

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

    def _stage_select(self) -> str:
        """Typed canonical columns from ``src``, with the text of the columns that are typed."""
        typed: dict[str, str] = {c: self._text(c) for c in _STRING_COLUMNS}
        typed.update({c: self._timestamp_expr(c) for c in TIMESTAMP_COLUMNS})
        typed["amount"] = self._amount_expr()
        typed["error"] = self._error_expr()
        src_columns = self._src_columns()
        inner = [f"{expr} AS {_q(name)}" for name, expr in typed.items()]
        inner += [f"{self._text(c)} AS {_q(c + '__text')}" for c in _CONVERTED_COLUMNS]
        inner.append(f"lower({self._text(LIFECYCLE)}) AS lifecycle")
        inner.append(f"{self._text(INSTANCE)} AS instance")
        row = "_row" if "_row" in src_columns else "NULL"  # CSV lines are numbered later
        inner.append(f"CAST({row} AS BIGINT) AS src_row")
        # An exact duplicate is a copy of the whole source record, every column included.
        inner.append(
            "hash(" + ", ".join(_q(c) for c in src_columns if c != "_row") + ") AS record_hash"
        )
        return f"SELECT {', '.join(inner)} FROM src"

    def _src_columns(self) -> list[str]:
        return [r[0] for r in self.con.execute("DESCRIBE src").fetchall()]

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
            self.con.register(
                "baseline_codes", pa.table({"code": pa.array(self.baseline.codes, pa.string())})
            )
            unknown_type = (
                "business_type IS NOT NULL AND business_type NOT IN "
                "(SELECT code FROM baseline_codes)"
            )
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
        def failed(c: str) -> str:
            return f"({c} IS NULL AND {c}__text IS NOT NULL)"

        bad_ts = " OR ".join(failed(c) for c in TIMESTAMP_COLUMNS)
        texts = ", ".join(f"{c}__text" for c in _CONVERTED_COLUMNS)
        raws = ", ".join(
            f"CASE WHEN reason IS NOT NULL THEN {c}__text END AS {c}__raw"
            for c in _CONVERTED_COLUMNS
        )
        return f"""
            SELECT * EXCLUDE ({texts}), {raws} FROM (
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
                END AS reason,
                hash({", ".join(CANONICAL_COLUMNS)}) AS row_hash{unmatched_complete}
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

    def _define_parts(self) -> None:
        """Views ``ok`` and ``bad`` over the two halves written by the streaming pass."""
        folders = {part: self.work_dir / f"status={part}" for part in ("ok", "bad")}
        files = {p: sorted(f.glob("*.parquet")) if f.exists() else [] for p, f in folders.items()}
        self.ok_files = files["ok"]
        present = [p for p in ("ok", "bad") if files[p]]
        if not present:
            raise ProcmineError(f"{self.spec.path}: the file holds no records")
        for part in present:
            glob = _lit(str(folders[part] / "*.parquet"))
            self.con.execute(f"CREATE TEMP VIEW {part} AS SELECT * FROM read_parquet({glob})")
        for part in ("ok", "bad"):
            if part not in present:
                self.con.execute(f"CREATE TEMP VIEW {part} AS SELECT * FROM {present[0]} "
                                 "WHERE false")

    def _set_aside_copies(self) -> None:
        """Find exact copies within the file and rows the store already holds.

        Copies are found by a 64-bit hash of all source columns, confirmed on the canonical
        values; the first copy is kept. Stored rows are matched on the canonical values, so
        re-ingesting a file, or the same log in another format, adds nothing.
        """
        self.con.execute(
            "CREATE TEMP TABLE copy_groups AS SELECT record_hash FROM ok "
            "GROUP BY record_hash HAVING count(*) > 1"
        )
        if self.store.is_empty():
            self.con.execute("CREATE TEMP TABLE stored AS SELECT CAST(NULL AS UBIGINT) AS "
                             "row_hash WHERE false")
        else:
            same = " AND ".join(f"o.{c} IS NOT DISTINCT FROM e.{c}" for c in CANONICAL_COLUMNS)
            self.con.execute(
                "CREATE TEMP TABLE stored AS SELECT DISTINCT o.row_hash FROM ok o "
                f"JOIN events_hashed e ON o.row_hash = e.row_hash AND {same}"
            )
        self.con.execute(
            f"""
            CREATE TEMP VIEW ok_marked AS
            SELECT o.*, CASE
                WHEN o.row_hash IN (SELECT row_hash FROM stored) THEN 'already_in_store'
                WHEN o.record_hash IN (SELECT record_hash FROM copy_groups)
                     AND row_number() OVER (PARTITION BY o.record_hash, {_CANONICAL}
                                            ORDER BY o.src_row) > 1 THEN 'duplicate'
            END AS set_aside
            FROM ok o
            """
        )
        self.set_aside = self._scalar(
            "SELECT count(*) FROM ok WHERE row_hash IN (SELECT row_hash FROM stored)"
            " OR record_hash IN (SELECT record_hash FROM copy_groups)"
        ) > 0
        # Rows that stay: all of ``ok`` unless something was set aside.
        self.kept = "ok_marked WHERE set_aside IS NULL" if self.set_aside else "ok WHERE true"

    def _count(self) -> None:
        report = self.report
        sql = "SELECT reason, count(*) FROM bad GROUP BY ALL"
        if self.set_aside:
            sql += (" UNION ALL SELECT set_aside, count(*) FROM ok_marked "
                    "WHERE set_aside IS NOT NULL GROUP BY ALL")
        reasons = dict(self.con.execute(sql).fetchall())
        if self._rejected:
            reasons["malformed_line"] = len(self._rejected)
        report.reasons = {r: int(reasons[r]) for r in (*QUARANTINE_REASONS, "malformed_line")
                          if r in reasons}
        report.quarantined = sum(report.reasons.values())
        report.loaded = self._scalar(f"SELECT count(*) FROM {self.kept}")
        report.read = report.loaded + report.quarantined + report.merged_by_pairing
        warnings: dict[str, int] = {}
        if self.spec.column_for("teller_id") is not None:
            n = self._scalar(f"SELECT count(*) FROM {self.kept} AND teller_id IS NULL")
            if n:
                warnings["missing_teller"] = n
        if report.pairing.get("unmatched_complete"):
            n = self._scalar(f"SELECT count(*) FROM {self.kept} AND unmatched_complete")
            if n:
                warnings["unmatched_complete"] = n
        report.warnings = warnings

    def _write_store(self) -> None:
        """Good rows become the batch's file in the store (moved as written when nothing was
        set aside, rewritten without the set-aside rows otherwise)."""
        if not self.report.loaded:
            return
        target = self.store.events_dir / f"{self.batch_id}.parquet"
        if not self.set_aside and len(self.ok_files) == 1:
            shutil.move(str(self.ok_files[0]), target)
            return
        partial = target.with_suffix(".parquet.partial")
        self._run_with_progress(
            f"COPY (SELECT * FROM {self.kept}) TO {_lit(str(partial))} (FORMAT parquet)", "write"
        )
        partial.replace(target)

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
        rows = "SELECT *, reason AS why FROM bad"
        if self.set_aside:
            rows += " UNION ALL BY NAME SELECT *, set_aside AS why FROM ok_marked " \
                    "WHERE set_aside IS NOT NULL"
        self.con.execute(f"CREATE TEMP TABLE quarantined AS {rows}")
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
        data), so here the file's record hashes are read once more in order, and the
        quarantined rows matched to them; identical records take their lines in order, the
        first copy of an exact duplicate being the one that was kept.
        """
        names = [c for c in self._src_columns() if c != "_row"]
        self.con.execute(
            "CREATE TEMP TABLE file_hashes AS SELECT hash("
            + ", ".join(_q(c) for c in names) + ") AS record_hash FROM src"
        )
        self.con.execute(
            f"""
            CREATE TEMP TABLE quarantine_lines AS
            SELECT h.record_hash, {self._line_expr('h.rowid')} AS line,
                   row_number() OVER (PARTITION BY h.record_hash ORDER BY h.rowid) AS copy
            FROM file_hashes h {self._line_join('h.rowid')}
            WHERE h.record_hash IN (SELECT record_hash FROM quarantined)
            """
        )
        self.con.execute(
            """
            CREATE OR REPLACE TEMP TABLE quarantined AS
            WITH q AS (
                SELECT * EXCLUDE (src_row), row_number() OVER (
                    PARTITION BY record_hash ORDER BY why) + CASE WHEN why = 'duplicate'
                    THEN 1 ELSE 0 END AS copy
                FROM quarantined
            )
            SELECT q.* EXCLUDE (copy), l.line AS src_row
            FROM q LEFT JOIN quarantine_lines l
              ON q.record_hash = l.record_hash AND q.copy = l.copy
            """
        )

