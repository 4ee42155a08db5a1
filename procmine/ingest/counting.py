"""The source's records, counted apart from the reader, so that the report can catch a lost one.

An ingest reports ``read``, the records of the source, and must account for each: loaded,
quarantined or merged with its partner by lifecycle pairing. If ``read`` were the sum of those
(what the reader returned), a record the reader skipped would go unnoticed. So the source is
counted on its own:

- a CSV by its lines, straight from the bytes (no CSV parser): ``lines`` after the header that
  hold something, and ``blank`` lines (empty, or a lone carriage return), which DuckDB's reader
  skips and the report lists apart. A record whose quoted value spans lines takes more than one
  line; the reader's records tell how many line breaks sit inside values, so
  ``records = lines - line breaks inside values``, a blank line inside a value (which the count
  took for a blank line) added back (:func:`records_spanning_lines`). The bytes are read in
  blocks and the line ends found with numpy: a pass costs about what reading the file costs.
  Line ends are the
  byte 0x0A in UTF-8 and in GB18030 alike (no GB18030 trail byte takes that value), so such a
  file is counted as it lies on disk; one in another encoding (UTF-16) is decoded in a stream
  first;
- a Parquet file by the row count in its footer;
- an Excel sheet or an XES log by the rows of the table its reader built.

Example:
    >>> from pathlib import Path
    >>> _ = Path("lines.csv").write_bytes(b"a,b\\n1,2\\n\\n3,4\\r\\n\\r\\n5,6")
    >>> count_csv_lines(Path("lines.csv"))
    CsvLines(lines=3, blank=2, controls=False)
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
    "CsvLines", "LogicalLines", "blank_line_numbers", "count_csv_lines", "logical_lines",
    "quarantined_by_reason", "records_spanning_lines", "scans_controls",
]

_BLOCK = 1 << 24
#: Encodings in which the byte 0x0A is a line feed and nothing else.
_LINE_FEED_SAFE = frozenset({"utf-8", "utf-8-sig", "gb18030", "gbk", "gb2312", "big5", "ascii",
                             "latin-1", "iso8859-1", "cp1252"})
#: Encodings whose bytes, as they lie, are UTF-8.
_UTF8_BYTES = frozenset({"utf-8", "utf-8-sig", "ascii"})


@dataclass(frozen=True)
class CsvLines:
    """The lines of a CSV: ``lines`` after the header that hold something, ``blank`` ones.

    ``controls``: whether the file's bytes hold a control character anywhere but in its line
    ends (see :func:`count_csv_lines`); ``None`` where the bytes cannot tell (an encoding
    other than UTF-8, UTF-16 or ASCII).
    """

    lines: int
    blank: int
    controls: bool | None = None


def count_csv_lines(path: Path, encoding: str = "utf-8", *, controls: bool = True) -> CsvLines:
    """Count a CSV's non-blank lines after the header, and its blank lines (see the module).

    The same pass looks for the bytes of a control character: a C0 control other than a line's
    line feed and the carriage return before it, DEL, or a C1 control (its UTF-8 lead byte
    0xC2 followed by 0x80-0x9F; a 0xC2 that ends a block counts, to be safe). Where there is
    none, and every record is one line, no value of the file holds a control character: the
    ingest's typed pass can leave that check to this count (``IngestRun._fast_pass``). With
    ``controls=False`` (a caller that checks them itself) it does not look, and says ``None``.
    """
    filled = blank = found = 0
    scan = controls and scans_controls(encoding)
    for blanks, in_block in _lines(path, encoding, scan):
        n_blank = int(np.count_nonzero(blanks))
        filled, blank, found = filled + len(blanks) - n_blank, blank + n_blank, found + in_block
    # the first filled line is the header
    return CsvLines(lines=max(filled - 1, 0), blank=blank,
                    controls=found > 0 if scan else None)


def scans_controls(encoding: str) -> bool:
    """Whether :func:`count_csv_lines` can tell control characters in a file of ``encoding``:
    its bytes are UTF-8 as they lie (UTF-8, ASCII) or once decoded (UTF-16 and the others that
    are not line-feed safe); in GB18030 or Latin-1 a C1 control has other bytes."""
    name = codecs.lookup(encoding).name
    return name in _UTF8_BYTES or name not in _LINE_FEED_SAFE


def _blocks(path: Path, encoding: str) -> Iterator[tuple[bytes | bytearray, int]]:
    """The file's bytes in blocks (a buffer and how many of its bytes are the block's),
    re-encoded as UTF-8 unless 0x0A is a line feed already.

    Where the bytes are read as they lie, every block is read into the same buffer (a fresh
    block per read would cost as much again as the count): a block is valid until the next.
    """
    name = codecs.lookup(encoding).name
    with path.open("rb") as fh:
        if name in _LINE_FEED_SAFE:
            buffer = bytearray(_BLOCK)
            while size := fh.readinto(buffer):
                yield buffer, size
            return
        decoder = codecs.getincrementaldecoder(name)("replace")
        while block := fh.read(_BLOCK):
            decoded = decoder.decode(block).encode("utf-8")
            yield decoded, len(decoded)
        decoded = decoder.decode(b"", final=True).encode("utf-8")
        yield decoded, len(decoded)


def _lines(path: Path, encoding: str, scan: bool = False) -> Iterator[tuple[np.ndarray, int]]:
    """Whether each line of the file is blank (nothing, or a lone carriage return, before its
    line feed), the lines ending in one block at a time; a last line without a line feed comes
    last. Each block is read where it lies (a line crossing blocks is measured by its ends'
    positions in the file), not copied.

    With ``scan``, each block also gives a number whose sum over the file is positive exactly
    when the file holds the bytes of a control character (see :func:`count_csv_lines`): its C0
    bytes less its line feeds and the carriage returns before them (a carriage return that
    ends a block is taken off with the line feed that starts the next), plus one for a DEL or
    a C1 control; 0 without ``scan``."""
    last_end = -1      # the position in the file of the last line feed seen
    position = 0       # the position of the block's first byte
    previous = -1      # the byte before the block (-1 at the file's start)
    for raw, size in _blocks(path, encoding):
        data = np.frombuffer(raw, dtype=np.uint8, count=size)
        controls = 0
        if scan:   # the C0 bytes found once: the line feeds are among them
            low = np.flatnonzero(data < 32)
            ends = low[data[low] == 10]
            controls = len(low) - len(ends) + int(
                raw.find(b"\x7f", 0, size) >= 0 or _c1_control(raw, data, size))
        else:
            ends = np.flatnonzero(data == 10)
        if len(ends):
            starts = np.empty_like(ends)
            starts[0], starts[1:] = last_end + 1 - position, ends[:-1] + 1
            length = ends - starts
            before = data[np.maximum(ends - 1, 0)]   # the byte before each line feed
            if ends[0] == 0:
                before[0] = max(previous, 0)
            carriage = before == 13
            if scan:
                controls -= int(np.count_nonzero(carriage))
            yield (length == 0) | ((length == 1) & carriage), controls
            last_end = position + int(ends[-1])
        elif controls:
            yield np.zeros(0, dtype=bool), controls
        position += size
        if size:
            previous = int(data[-1])
    rest = position - (last_end + 1)
    if rest:
        yield np.array([rest == 1 and previous == 13]), 0


def _c1_control(raw: bytes | bytearray, data: np.ndarray, size: int) -> bool:
    """Whether a block holds a C1 control in UTF-8 (0xC2, then 0x80-0x9F), or ends in 0xC2."""
    if raw.find(b"\xc2", 0, size) < 0:
        return False
    leads = np.flatnonzero(data == 0xC2)
    if leads[-1] == size - 1:
        return True
    after = data[leads + 1]
    return bool(np.any((after >= 0x80) & (after <= 0x9F)))


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
    for blanks, _ in _lines(path, encoding):
        found.extend((np.flatnonzero(blanks) + seen + 1).tolist())
        seen += len(blanks)
    return found


@dataclass(frozen=True)
class LogicalLines:
    """A CSV's lines as its reader numbers them where quoted values span lines: one per record
    (the header's included) and one per blank line between records. ``starts`` holds the
    line in the file (1-based) where each begins, ``blank`` whether it is a blank line."""

    starts: np.ndarray
    blank: np.ndarray


def logical_lines(path: Path, encoding: str = "utf-8") -> LogicalLines:
    """The lines of a CSV whose quoted values span lines, as its reader numbers them.

    DuckDB's reader numbers a record that spans lines as one line (its rejected lines too),
    and a blank line between records as one; the quarantine file names each line as it lies
    in the file. A record ends at the first line feed after an even number of double quotes
    (an escaped quote is two), so the bytes tell where each begins (two passes: the blank
    lines, the quotes). A file with a stray quote or another escape character does not split
    as its reader split it: the caller checks the count
    (:func:`procmine.ingest.quarantine.span_lines`). Only a file whose records span lines is
    read this way: elsewhere the reader's lines are the file's.

    Example:
        >>> _ = Path("spans.csv").write_bytes(b'a,b\\n1,"x\\n\\ny"\\n\\n2,3\\n')
        >>> found = logical_lines(Path("spans.csv"))
        >>> found.starts.tolist(), found.blank.tolist()
        ([1, 2, 5, 6], [False, False, True, False])
    """
    physical_blank = np.concatenate([blank for blank, _ in _lines(path, encoding)] or
                                    [np.zeros(0, dtype=bool)])
    even = _even_quotes_at_line_ends(path, encoding)
    last = np.flatnonzero(even)   # the physical line (0-based) each logical line ends on
    starts = np.empty(len(last), dtype=np.int64)
    starts[:1], starts[1:] = 0, last[:-1] + 1
    return LogicalLines(starts=starts + 1, blank=physical_blank[starts] & (starts == last))


def _even_quotes_at_line_ends(path: Path, encoding: str) -> np.ndarray:
    """Whether an even number of double quotes comes before each line's end (the file's end
    for a last line without a line feed), line by line."""
    found: list[np.ndarray] = []
    quotes, last = 0, 10
    for raw, size in _blocks(path, encoding):
        data = np.frombuffer(raw, dtype=np.uint8, count=size)
        ends, marks = np.flatnonzero(data == 10), np.flatnonzero(data == 34)
        found.append((quotes + np.searchsorted(marks, ends)) % 2 == 0)
        quotes += len(marks)
        if size:
            last = int(data[-1])
    if last != 10:
        found.append(np.array([quotes % 2 == 0]))
    return np.concatenate(found) if found else np.zeros(0, dtype=bool)


def records_spanning_lines(lines: CsvLines, con: duckdb.DuckDBPyConnection, relation: str,
                           columns: Sequence[str], rejected: Sequence[tuple[int, str, str]]
                           ) -> tuple[int, int]:
    """The records and the blank lines of a CSV whose ``lines`` were counted, where quoted
    values span lines: each line break inside a value joins two lines of one record, and a
    blank line inside a value (which the count took for a blank line) is a line of its record.

    The values are the ``columns`` of the records the reader returned (``relation``) and the
    lines it ``rejected`` ((line, text, error), as
    :func:`procmine.ingest.quarantine.collect_rejects` keeps them).
    """
    # the pieces of a value between its line feeds, but its first and last, are whole lines
    breaks = " + ".join(
        f"coalesce(length({_q(c)}) - length(replace({_q(c)}, chr(10), '')), 0)"
        for c in columns
    )
    blank = " + ".join(
        f"CASE WHEN contains({_q(c)}, chr(10)) THEN len(list_filter("
        f"string_split({_q(c)}, chr(10))[2:-2], lambda x: x = '' OR x = chr(13))) ELSE 0 END"
        for c in columns
    )
    row = con.execute(f"SELECT sum({breaks}), sum({blank}) FROM {relation}").fetchall()[0]
    inside, blank_inside = (int(v) if v is not None else 0 for v in row)
    for _, text, _ in rejected:
        inside += text.count("\n")
        blank_inside += sum(piece in ("", "\r") for piece in text.split("\n")[1:-1])
    return lines.lines + blank_inside - inside, lines.blank - blank_inside


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
