"""What the phases of one ingest share: the source's columns and the run's state.

The source is the view ``src`` (see :mod:`procmine.ingest.source`): every column as text, plus
``_row`` where the reader numbers records (Parquet, XES, Excel). A CSV is not numbered while it
streams; the lines of its quarantined rows are found again afterwards
(:mod:`procmine.ingest.quarantine`), by hashes of the source text that the typed rows carry
along as ``__src_<i>`` columns (see :meth:`SourceColumns.line_hash`).

Long statements run through :meth:`RunState.execute`, which reports DuckDB's own progress
estimate while they run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from procmine.core.progress import Progress
from procmine.io.eventlog import SourceSpec

__all__ = ["RunState", "SourceColumns"]


@dataclass(frozen=True)
class SourceColumns:
    """The columns of the view ``src`` and the hashes built from them."""

    #: Every column of ``src``, ``_row`` included where the reader gives it.
    names: tuple[str, ...]
    #: Columns no canonical column reads.
    unmapped: tuple[str, ...]
    #: Source columns that nearly identify a record: case, activity, end time.
    key: tuple[str, ...]

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> SourceColumns:
        """The columns of ``src`` as ``spec`` describes it."""
        if spec.csv_reader is not None:
            names = tuple(spec.columns)  # the source was described when registered
        else:
            names = tuple(r[0] for r in con.execute("DESCRIBE src").fetchall())
        mapped = set(spec.mapping.values())
        record = [c for c in names if c != "_row"]
        return cls(
            names=names,
            unmapped=tuple(c for c in record if c not in mapped),
            key=tuple(spec.mapping[c] for c in ("case_id", "activity", "end_time")),
        )

    @property
    def record(self) -> list[str]:
        """The source's own columns (not the reader's record number)."""
        return [c for c in self.names if c != "_row"]

    @property
    def numbered(self) -> bool:
        """Whether the reader numbers the records (``_row``)."""
        return "_row" in self.names

    @property
    def has_unmapped(self) -> bool:
        """Whether the source has columns no canonical column reads (then a record's hash
        covers them too, and differs from the hash of its canonical values)."""
        return bool(self.unmapped)

    def line_key(self) -> str:
        """A hash of a record's key columns as written (see ``key``)."""
        record = self.record
        return "hash(" + ", ".join(f"__src_{record.index(c)}" for c in self.key) + ")"

    def line_hash(self) -> str:
        """A hash of a record's source text, to find a quarantined CSV record's line again."""
        return "hash(" + ", ".join(f"__src_{i}" for i in range(len(self.record))) + ")"


@dataclass
class RunState:
    """The state of one ingest run, shared by its phases."""

    con: duckdb.DuckDBPyConnection
    spec: SourceSpec
    columns: SourceColumns
    #: The batch file being written (it joins the store when the run commits).
    partial: Path
    progress: Progress | None = None
    #: Whether the rows carry their source line or record number (``src_row``) yet.
    numbered: bool = False
    #: Lines the CSV reader could not split: (line, text, error).
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    #: Whether the table ``line_map`` maps the reader's lines to the file's (a CSV whose
    #: records span lines: ``procmine.ingest.quarantine.span_lines``).
    line_map: bool = False
    #: Repeated record hashes among the good rows (see ``procmine.ingest.copies``).
    copies: int = 0

    def scalar(self, sql: str) -> int:
        """The first value of a query as an int (0 for NULL or no row)."""
        row = self.con.execute(sql).fetchall()[0]
        return int(row[0]) if row and row[0] is not None else 0

    def execute(self, sql: str, phase: str) -> None:
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
