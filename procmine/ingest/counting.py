"""The source's records, counted apart from the reader, so that the report can catch a lost one.

An ingest reports ``read``, the records of the source, and must account for each: loaded,
quarantined or merged with its partner by lifecycle pairing. If ``read`` were the sum of those
(what the reader returned), a record the reader skipped would go unnoticed. So the source is
counted on its own:

- a CSV by its lines, straight from the bytes (no CSV parser): ``lines`` after the header that
  hold something, and ``blank`` lines (empty, or a lone carriage return), which DuckDB's reader
  skips and the report lists apart. A record whose quoted value spans lines takes more than one
  line; the reader's records tell how many line breaks sit inside values, so
  ``records = lines - line breaks inside values``. The bytes are read in blocks and the line
  ends found with numpy: a pass costs about what reading the file costs. Line ends are the
  byte 0x0A in UTF-8 and in GB18030 alike (no GB18030 trail byte takes that value), so such a
  file is counted as it lies on disk; one in another encoding (UTF-16) is decoded in a stream
  first;
- a Parquet file by the row count in its footer;
- an Excel sheet or an XES log by the rows of the table its reader built.

Example:
    >>> from pathlib import Path
    >>> _ = Path("lines.csv").write_bytes(b"a,b\\n1,2\\n\\n3,4\\r\\n\\r\\n5,6")
    >>> count_csv_lines(Path("lines.csv"))
    CsvLines(lines=3, blank=2)
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from procmine.core.sql import quote as _q

__all__ = [
    "CsvLines", "blank_line_numbers", "count_csv_lines", "line_breaks_in_values",
    "quarantined_by_reason",
]

_BLOCK = 1 << 24
#: Encodings in which the byte 0x0A is a line feed and nothing else.
_LINE_FEED_SAFE = frozenset({"utf-8", "utf-8-sig", "gb18030", "gbk", "gb2312", "big5", "ascii",
                             "latin-1", "iso8859-1", "cp1252"})


@dataclass(frozen=True)
class CsvLines:
    """The lines of a CSV: ``lines`` after the header that hold something, ``blank`` ones."""

    lines: int
    blank: int


def count_csv_lines(path: Path, encoding: str = "utf-8") -> CsvLines:
    """Count a CSV's non-blank lines after the header, and its blank lines (see the module)."""
    filled = blank = 0
    for blanks in _lines(path, encoding):
        n_blank = int(np.count_nonzero(blanks))
        filled, blank = filled + len(blanks) - n_blank, blank + n_blank
    return CsvLines(lines=max(filled - 1, 0), blank=blank)  # the first filled line is the header


def _blocks(path: Path, encoding: str) -> Iterator[bytes]:
    """The file's bytes in blocks, re-encoded as UTF-8 unless 0x0A is a line feed already."""
    name = codecs.lookup(encoding).name
    decoder = None if name in _LINE_FEED_SAFE else codecs.getincrementaldecoder(name)("replace")
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            yield block if decoder is None else decoder.decode(block).encode("utf-8")
    if decoder is not None:
        yield decoder.decode(b"", final=True).encode("utf-8")


def _lines(path: Path, encoding: str) -> Iterator[np.ndarray]:
    """Whether each line of the file is blank (nothing, or a lone carriage return, before its
    line feed), the lines ending in one block at a time; a last line without a line feed comes
    last. Each block is read where it lies (a line crossing blocks is measured by its ends'
    positions in the file), not copied."""
    last_end = -1      # the position in the file of the last line feed seen
    position = 0       # the position of the block's first byte
    previous = -1      # the byte before the block (-1 at the file's start)
    for block in _blocks(path, encoding):
        data = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(data == 10)
        if len(ends):
            starts = np.empty_like(ends)
            starts[0], starts[1:] = last_end + 1 - position, ends[:-1] + 1
            length = ends - starts
            before = data[np.maximum(ends - 1, 0)]   # the byte before each line feed
            if ends[0] == 0:
                before[0] = max(previous, 0)
            yield (length == 0) | ((length == 1) & (before == 13))
            last_end = position + int(ends[-1])
        position += len(data)
        if len(data):
            previous = int(data[-1])
    rest = position - (last_end + 1)
    if rest:
        yield np.array([rest == 1 and previous == 13])


def blank_line_numbers(path: Path, encoding: str = "utf-8") -> list[int]:
    """The numbers (1-based) of a CSV's blank lines, which the CSV reader skips: the lines
    of the records after them are numbered past them.

    Example:
        >>> _ = Path("gaps.csv").write_bytes(b"a,b\\n\\n1,2\\r\\n\\r\\n3,4\\n")
        >>> blank_line_numbers(Path("gaps.csv"))
        [2, 4]
    """
    found: list[int] = []
    seen = 0
    for blanks in _lines(path, encoding):
        found.extend((np.flatnonzero(blanks) + seen + 1).tolist())
        seen += len(blanks)
    return found


def line_breaks_in_values(con: duckdb.DuckDBPyConnection, relation: str,
                          columns: Sequence[str], rejected: Sequence[tuple[int, str, str]]
                          ) -> int:
    """Line breaks inside a CSV's values (quoted values that span lines): in the ``columns``
    of the records the reader returned (``relation``) and in the lines it ``rejected``
    ((line, text, error), as :func:`procmine.ingest.quarantine.collect_rejects` keeps them)."""
    breaks = " + ".join(
        f"coalesce(length({_q(c)}) - length(replace({_q(c)}, chr(10), '')), 0)"
        for c in columns
    )
    row = con.execute(f"SELECT sum({breaks}) FROM {relation}").fetchall()[0]
    inside = int(row[0]) if row and row[0] is not None else 0
    return inside + sum(text.count("\n") for _, text, _ in rejected)


def quarantined_by_reason(con: duckdb.DuckDBPyConnection, rejected: Sequence[object],
                          order: Sequence[str]) -> dict[str, int]:
    """The quarantined rows of the view ``final`` by reason, in ``order`` (the rule table's),
    with the lines the CSV reader rejected as ``malformed_line``."""
    found = dict(con.execute(
        "SELECT reason, count(*) FROM final WHERE reason IS NOT NULL GROUP BY ALL"
    ).fetchall())
    if rejected:
        found["malformed_line"] = len(rejected)
    return {r: int(found[r]) for r in order if r in found}
