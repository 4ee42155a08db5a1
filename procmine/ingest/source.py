"""The source of an ingest: one file as the DuckDB view ``src``, every column as text.

A CSV is read by DuckDB's reader (``all_varchar``, strict, lines it cannot split kept in
``reject_errors``); one that is not UTF-8 (GB18030 exports of core-banking systems) is first
re-encoded in a stream into the workspace's ``tmp/``. Parquet is read by DuckDB with each
column cast to text and the record number as ``_row``. XES and Excel are read in Python into
one Arrow table of strings (:mod:`procmine.io.xes`, :mod:`procmine.io.excel`) that DuckDB
scans. The columns' roles come from :func:`procmine.io.eventlog.describe_source`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa

from procmine.core.errors import ProcmineError
from procmine.core.progress import Progress
from procmine.core.sql import lit as _lit
from procmine.core.sql import quote as _q
from procmine.io.eventlog import (
    ColumnMap,
    SourceSpec,
    describe_source,
    detect_encoding,
    unique_names,
)

__all__ = [
    "DELIMITERS",
    "csv_header",
    "csv_reader",
    "exact_path",
    "raw_source",
    "refuse_runaway_quote",
    "registered_source",
    "transcode",
    "typed_csv_reader",
]


@contextmanager
def registered_source(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    fmt: str,
    column_map: ColumnMap | None,
    tmp_dir: Path,
    progress: Progress | None = None,
) -> Iterator[SourceSpec]:
    """Define the view ``src`` (all text columns, plus ``_row`` where the reader gives it)
    and describe it; a transcoded copy in ``tmp_dir`` is removed on leaving."""
    encoding = column_map.encoding if column_map else None
    delimiter = column_map.delimiter if column_map else None
    with raw_source(con, source, fmt, tmp_dir, progress, encoding=encoding,
                    delimiter=delimiter) as raw:
        spec = describe_source(source, raw.columns, column_map, fmt=fmt,
                               encoding=raw.encoding, delimiter=raw.delimiter)
        yield replace(spec, csv_reader=raw.csv_reader, csv_path=raw.csv_path,
                      csv_skip=raw.csv_skip)


@contextmanager
def raw_source(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    fmt: str,
    tmp_dir: Path,
    progress: Progress | None = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Iterator[SourceSpec]:
    """Define the view ``src`` (all text columns, plus ``_row`` where the reader gives it);
    the spec names the file's columns and maps none of them (the caller maps them: events
    with :func:`registered_source`, queue tickets with their own mapping). A transcoded copy
    in ``tmp_dir`` is removed on leaving."""
    cleanup: list[Path] = []
    try:
        if fmt == "csv":
            spec = _csv_source(con, source, encoding, delimiter, tmp_dir, progress, cleanup)
            try:
                yield spec
            except duckdb.InvalidInputException as exc:
                # DuckDB's reader gives up on some texts instead of rejecting a line.
                reason = str(exc).splitlines()[0].removeprefix("Invalid Input Error: ")
                raise ProcmineError(
                    f"{source}: the CSV reader cannot go on ({reason}); a carriage return "
                    "without a line feed, or a quote left open, can cause this: check the "
                    "line endings and quoting", code="ingest.csv_stuck", file=Path(source).name
                ) from None
        elif fmt == "parquet":
            yield _parquet_source(con, source)
        else:
            table = _read_table(source, fmt, progress)
            con.register("src_arrow", table)
            con.execute("CREATE VIEW src AS SELECT * FROM src_arrow")
            names = tuple(n for n in table.column_names if n != "_row")
            yield SourceSpec(path=source, format=fmt, columns=names, mapping={})
    finally:
        for path in cleanup:
            path.unlink(missing_ok=True)


def _csv_source(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    encoding: str | None,
    delimiter: str | None,
    tmp_dir: Path,
    progress: Progress | None,
    cleanup: list[Path],
) -> SourceSpec:
    encoding = encoding or detect_encoding(source)
    csv_path = source
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
        csv_path = transcode(source, encoding, tmp_dir, progress)
        cleanup.append(csv_path)
    delim, names, skip = csv_header(csv_path, delimiter, source)
    reader = csv_reader(csv_path, delim, names, skip)
    try:
        # Lines the reader cannot split are kept in reject_errors (malformed_line).
        con.execute(f"CREATE VIEW src AS SELECT * FROM {reader[:-1]}, store_rejects = true)")
    except duckdb.Error as exc:
        raise ProcmineError(f"{source}: cannot read as CSV: {exc}", code="ingest.not_csv",
                            file=Path(source).name) from exc
    return SourceSpec(path=source, format="csv", columns=names, mapping={}, encoding=encoding,
                      delimiter=delim, csv_reader=reader, csv_path=csv_path, csv_skip=skip)


#: Delimiters tried on the header line, in order of preference on a tie.
DELIMITERS: Final = (",", ";", "\t", "|")


def csv_header(
    path: Path, delimiter: str | None = None, source: Path | None = None
) -> tuple[str, tuple[str, ...], int]:
    """The delimiter, the column names and the blank lines before the header of a CSV.

    The dialect is decided on the header line alone, never on a sample of the rows, so one
    broken line reads the same (as a malformed line) wherever it is in the file: the
    delimiter is the one (of :data:`DELIMITERS`, unless given) that splits the header into
    the most fields; quoting is RFC 4180 (``"``, doubled inside a quoted value). Names are
    trimmed, an empty one becomes ``column<i>`` and a repeated one gets ``_1``, ``_2``...
    (as DuckDB's reader names them), so the first of two equal headers is the one mapped.

    Example:
        >>> _ = Path("semi.csv").write_text('case;"activity";end_time\\nC1;Open;2026-10-01\\n')
        >>> csv_header(Path("semi.csv"))
        (';', ('case', 'activity', 'end_time'), 0)
    """
    shown = source or path
    with path.open(encoding="utf-8-sig", newline="") as fh:
        text = fh.read(1 << 20)
    lines = text.splitlines(keepends=True)
    skip = 0
    while skip < len(lines) and not lines[skip].strip():
        skip += 1
    if skip == len(lines):
        raise ProcmineError(f"{shown}: the file is empty (no header line)", code="ingest.empty",
                            file=Path(str(shown)).name)
    rest = "".join(lines[skip:])
    candidates = (delimiter,) if delimiter else DELIMITERS
    best: tuple[str, list[str]] | None = None
    for candidate in candidates:
        try:
            fields = next(csv.reader(io.StringIO(rest), delimiter=candidate, strict=True))
        except (csv.Error, StopIteration):
            continue
        if best is None or len(fields) > len(best[1]):
            best = (candidate, fields)
    if best is None:
        raise ProcmineError(f"{shown}: the header line cannot be read as CSV",
                            code="ingest.bad_header", file=Path(str(shown)).name)
    return best[0], unique_names(best[1]), skip


def exact_path(path: Path) -> str:
    """``path`` as DuckDB's readers take it to mean that one file: they expand ``*``, ``?``
    and ``[...]`` (a glob), so each of those characters is put in a class of its own.

    Example:
        >>> exact_path(Path("logs/p[1]*.csv"))
        'logs/p[[]1][*].csv'
    """
    return re.sub(r"([*?\[])", r"[\1]", str(path))


def typed_csv_reader(spec: SourceSpec, types: dict[str, str]) -> str:
    """The reader of ``spec``'s CSV with the columns ``types`` names read typed."""
    assert spec.csv_path is not None and spec.delimiter is not None
    return csv_reader(spec.csv_path, spec.delimiter, spec.columns, spec.csv_skip, types)


def csv_reader(path: Path, delimiter: str, names: tuple[str, ...], skip: int = 0,
               types: dict[str, str] | None = None) -> str:
    """The ``read_csv`` call that reads ``path`` with this dialect, every column as text
    unless ``types`` names its type (the reader does not sniff: see :func:`csv_header`)."""
    types = types or {}
    columns = ", ".join(f"{_lit(n)}: {_lit(types.get(n, 'VARCHAR'))}" for n in names)
    options = [
        "auto_detect = false", "header = true", "strict_mode = true",
        f"delim = {_lit(delimiter)}", "quote = '\"'", "escape = '\"'",
        f"skip = {skip}", f"columns = {{{columns}}}",
    ]
    return f"read_csv({_lit(exact_path(path))}, {', '.join(options)})"


def _parquet_source(con: duckdb.DuckDBPyConnection, source: Path) -> SourceSpec:
    try:
        exact = _lit(exact_path(source))
        names = con.sql(f"SELECT * FROM read_parquet({exact})").columns
        cols = ", ".join(f"CAST({_q(n)} AS VARCHAR) AS {_q(n)}" for n in names)
        con.execute(
            f"CREATE VIEW src AS SELECT file_row_number + 1 AS _row, {cols} "
            f"FROM read_parquet({exact}, file_row_number = true)"
        )
    except duckdb.Error as exc:
        raise ProcmineError(f"{source}: cannot read as Parquet: {exc}", code="ingest.not_parquet",
                            file=Path(source).name) from exc
    return SourceSpec(path=source, format="parquet", columns=tuple(names), mapping={})


def refuse_runaway_quote(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Refuse a CSV in which a rejected line runs on over the lines after it.

    A quote that opens and does not close on its line makes the reader take the lines after
    it (up to the next quote, or to the end of the file) as part of one record, which it then
    rejects as one line: those lines would be lost without a count. One broken line among good
    ones is quarantined (``malformed_line``); this is the case that cannot be, so the file is
    refused with the line to mend.
    """
    if spec.csv_path is None:
        return
    for line, text in con.execute(
        "SELECT line, csv_line FROM reject_errors ORDER BY line"
    ).fetchall():
        # the reader puts the blank lines before a rejected line at the start of its text
        body = str(text or "").strip("\r\n")
        if "\n" not in body and "\r" not in body:
            continue
        after = body.count("\n") or 1  # the reader keeps only the start of the text
        raise ProcmineError(
            f"{spec.path}: line {line}: a quote opens and does not close on its line, so the "
            f"line(s) after it (at least {after:,}) would be read as part of it; close the "
            'quote (a quote inside a quoted value is written twice: "") or remove it',
            code="ingest.open_quote", file=spec.path.name, line=line
        )


def transcode(
    source: Path, encoding: str, tmp_dir: Path, progress: Progress | None = None
) -> Path:
    """Re-encode a CSV as UTF-8 in a stream, into a new file in ``tmp_dir``."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    target = tmp_dir / f"{uuid.uuid4().hex}.csv"
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
            "in the mapping file", code="ingest.bad_byte", file=Path(source).name,
            byte=done + exc.start, encoding=encoding
        ) from None
    return target


def _read_table(source: Path, fmt: str, progress: Progress | None) -> pa.Table:
    """An XES log or an Excel sheet as a table (their readers are loaded only for them)."""
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
