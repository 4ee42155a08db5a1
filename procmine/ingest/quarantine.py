"""The quarantine file of a batch, and the CSV lines of its rows.

Every quarantined row goes to ``quarantine/<batch>.csv`` with its line (CSV) or record number
(other formats), its reason and its values as the source wrote them, in the source's column
names; lines the CSV reader could not split come with their raw text.

Lines of a CSV: DuckDB keeps insertion order, so the n-th row kept by the reader is the n-th
record read; the i-th rejected line L_i has L_i - 1 - i kept rows before it (the table
``reject_marks``), so the line of the kept row at position p is p + 2 plus the rejected lines
before it (the header is line 1). The streaming pass does not number CSV lines (that would
cost a second copy of the data): only when something was quarantined is the file read once
more, keeping a hash per line, and each quarantined record is matched to its line
(:func:`number_quarantined_csv_rows`).

Those are the reader's lines, one per record and one per blank line between records. Where a
quoted value spans lines, they are mapped to the file's own (the table ``line_map``,
:func:`span_lines`), so that a bad record is named by the line where it begins in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from procmine.core.schema import CANONICAL_COLUMNS
from procmine.core.sql import lit as _lit
from procmine.core.sql import quote as _q
from procmine.ingest.counting import CsvLines, blank_line_numbers, logical_lines
from procmine.ingest.rules import CONVERTED_COLUMNS
from procmine.ingest.state import RunState
from procmine.ingest.typing import ColumnTyping
from procmine.io.eventlog import LIFECYCLE

__all__ = [
    "collect_rejects",
    "line_expr",
    "line_join",
    "lines_around",
    "malformed_lines",
    "number_quarantined_csv_rows",
    "reader_records",
    "span_lines",
    "write_quarantine",
]


def collect_rejects(state: RunState, blank_lines: Sequence[int] = ()) -> None:
    """Lines the CSV reader could not split into the header's fields (``state.rejected``),
    and the table ``reject_marks`` that numbers the lines around them (and around the
    ``blank_lines`` given, which the reader skips)."""
    if state.rejected:
        return
    con = state.con
    rows = con.execute(
        "SELECT line, any_value(csv_line), string_agg(DISTINCT error_type, ', ') "
        "FROM reject_errors GROUP BY line ORDER BY line"
    ).fetchall()
    # The reader starts a rejected line's text with the blank lines before it: not its own.
    state.rejected = [(int(r[0]), str(r[1]).lstrip("\r\n"), str(r[2])) for r in rows]
    skipped = "SELECT DISTINCT line FROM reject_errors"
    if blank_lines:
        con.register("blank_arrow", pa.table({"line": pa.array(blank_lines, pa.int64())}))
        skipped += " UNION SELECT line FROM blank_arrow"
    # The n-th line the reader skipped, at line L, has L - 1 - n kept rows before it.
    # Consecutive skipped lines share that count: the mark keeps the last of them (the
    # ASOF join of line_join would otherwise take any one).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE reject_marks AS SELECT kept_before, max(n) AS n FROM ("
        "SELECT line - 1 - row_number() OVER (ORDER BY line) AS kept_before, "
        f"row_number() OVER (ORDER BY line) AS n FROM ({skipped})) GROUP BY kept_before"
    )
    if blank_lines:
        con.unregister("blank_arrow")


def line_expr(index: str, mapped: bool = False) -> str:
    """The CSV line of the kept row at 0-based position ``index`` (with :func:`line_join`):
    the file's own line where ``mapped`` (``state.line_map``), else the reader's."""
    line = f"{index} + 2 + coalesce(m.n, 0)"
    return f"coalesce(lm.physical, {line})" if mapped else line


def line_join(index: str, mapped: bool = False) -> str:
    """The joins that :func:`line_expr` reads: ``reject_marks``, and ``line_map`` where
    ``mapped``."""
    join = f"ASOF LEFT JOIN reject_marks m ON {index} >= m.kept_before"
    if mapped:
        join += f" LEFT JOIN line_map lm ON lm.logical = {index} + 2 + coalesce(m.n, 0)"
    return join


def malformed_lines(state: RunState) -> str:
    """The lines the CSV reader rejected, as quarantine rows: their line in the file, the
    reason, the reader's error and their raw text."""
    line = "coalesce(lm.physical, e.line)" if state.line_map else "e.line"
    mapped = " LEFT JOIN line_map lm ON lm.logical = e.line" if state.line_map else ""
    return (f"SELECT any_value({line}) AS source_row, 'malformed_line' AS reason, "
            "any_value(e.error_type) AS detail, "
            "ltrim(any_value(e.csv_line), chr(13) || chr(10)) AS raw_line "
            f"FROM reject_errors e{mapped} GROUP BY e.line")


def reader_records(state: RunState, relation: str) -> int:
    """The records the CSV reader read: the rows of ``relation`` and the lines it rejected."""
    return (state.scalar(f"SELECT count(*) FROM {relation}")
            + state.scalar("SELECT count(DISTINCT line) FROM reject_errors"))


def span_lines(state: RunState, path: Path, lines: CsvLines, records: int) -> list[int] | None:
    """Where a CSV's records span lines (more of its lines hold something than it has
    ``records``), the table ``line_map`` from the reader's lines (one per record, and one per
    blank line between records) to the line where each begins in the file, which
    :func:`line_expr` and :func:`malformed_lines` read from then on (``state.line_map``); and
    the blank lines as the reader numbers them, for :func:`collect_rejects`.

    None where every record is one line, or where the file's quotes do not split it as the
    reader did (:func:`procmine.ingest.counting.logical_lines`): the reader's lines stand."""
    if lines.lines <= records:
        return None
    found = logical_lines(path)
    blank = np.flatnonzero(found.blank)
    if len(found.blank) - len(blank) - 1 != records:
        return None
    state.con.register("line_map_arrow", pa.table({
        "logical": pa.array(np.arange(1, len(found.starts) + 1, dtype=np.int64)),
        "physical": pa.array(found.starts)}))
    state.con.execute("CREATE OR REPLACE TEMP TABLE line_map AS SELECT * FROM line_map_arrow")
    state.con.unregister("line_map_arrow")
    state.line_map = True
    return (blank + 1).tolist()


def lines_around(state: RunState, path: Path, lines: CsvLines, records: int) -> list[int]:
    """The blank lines a CSV's rows are numbered around (:func:`collect_rejects`): as the
    reader numbers them where its records span lines (:func:`span_lines`), else as they lie
    in the file (none to find where the count found none)."""
    spanned = span_lines(state, path, lines, records)
    if spanned is not None:
        return spanned
    return blank_line_numbers(path) if lines.blank else []


def write_quarantine(state: RunState, typing: ColumnTyping, path: Path) -> None:
    """Bad rows of the view ``final`` with their line (or record number), reason and values
    as in the source, to ``path``."""
    con = state.con
    values = []
    for canonical, col in state.spec.mapping.items():
        if canonical in CONVERTED_COLUMNS:
            values.append(
                f"coalesce({canonical}__raw, CAST({canonical} AS VARCHAR)) AS {_q(col)}"
            )
        elif canonical in CANONICAL_COLUMNS:
            values.append(f"{canonical} AS {_q(col)}")
        elif canonical == LIFECYCLE:
            values.append(f"lifecycle AS {_q(col)}")
    con.execute(
        "CREATE TEMP TABLE quarantined AS SELECT *, reason AS why FROM final "
        "WHERE reason IS NOT NULL"
    )
    if not state.numbered:
        number_quarantined_csv_rows(state, typing)
    select = (
        f"SELECT src_row AS source_row, why AS reason, CAST(NULL AS VARCHAR) AS detail, "
        f"{', '.join(values)} FROM quarantined"
    )
    if state.rejected:
        select = f"SELECT * FROM ({select}) UNION ALL BY NAME ({malformed_lines(state)})"
    con.execute(
        f"COPY ({select} ORDER BY source_row) TO {_lit(str(path))} (HEADER, DELIMITER ',')"
    )


# The lines of the candidate records, by the hash of their text or (copies) of their content.
_QUARANTINE_LINES = """
    CREATE TEMP TABLE quarantine_lines AS
    WITH numbered AS (
        SELECT h.line_hash, h.record_hash, h.pos, {line} AS line
        FROM candidate_lines h {join}
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

# The k-th quarantined record of a hash takes the k-th line of that hash (a copy the one after:
# the first of the copies is the one kept).
_NUMBERED_QUARANTINE = """
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


def number_quarantined_csv_rows(state: RunState, typing: ColumnTyping) -> None:
    """Give quarantined CSV rows (the table ``quarantined``) their line in the file.

    The file is read once more, keeping a hash per line in order. A bad record is matched on
    the hash of its text, a copy on the hash of its content; identical records take their
    lines in order, the first copy of an exact duplicate being the one that was kept.
    """
    con, columns = state.con, state.columns
    raw = "hash(" + ", ".join(_q(c) for c in columns.record) + ")"
    # Hash every line's key columns (cheap); the whole text only where the key matches.
    wanted = "(SELECT line_key FROM quarantined WHERE line_key IS NOT NULL)"
    copies = "(SELECT record_hash FROM quarantined WHERE why = 'duplicate')"
    if state.copies:
        con.execute(
            f"CREATE TEMP TABLE file_lines AS SELECT CASE WHEN {columns.line_key()} IN "
            f"{wanted} THEN {columns.line_hash()} END AS line_hash, CASE WHEN record_hash IN "
            f"{copies} THEN record_hash END AS record_hash FROM ({typing.stage_select()})"
        )
    else:
        key = "hash(" + ", ".join(_q(c) for c in columns.key) + ")"
        con.execute(
            f"CREATE TEMP TABLE file_lines AS SELECT CASE WHEN {key} IN {wanted} "
            f"THEN {raw} END AS line_hash, CAST(NULL AS UBIGINT) AS record_hash FROM src"
        )
    con.execute(
        "CREATE TEMP TABLE candidate_lines AS SELECT rowid AS pos, line_hash, record_hash "
        "FROM file_lines WHERE line_hash IS NOT NULL OR record_hash IS NOT NULL"
    )
    mapped = state.line_map
    con.execute(_QUARANTINE_LINES.format(line=line_expr("h.pos", mapped),
                                         join=line_join("h.pos", mapped)))
    con.execute(_NUMBERED_QUARANTINE)
