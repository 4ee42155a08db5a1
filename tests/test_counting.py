"""The CSV line count an ingest reconciles against (procmine.ingest.counting), against a plain
reference: every line ending in a line feed, and a last one without it, is blank when it holds
nothing or a lone carriage return; the file holds a control character when any character but
a line feed and the carriage return before it is a C0 control, DEL or a C1 control. Blocks of
one to seven bytes put line ends, carriage returns and multi-byte characters across the blocks'
edges."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procmine.ingest import counting

_PIECES = st.sampled_from([b"a", b",", b"\n", b"\r", b"\r\n", b"\n\n", b"xy", "点".encode(),
                           b"\t", b"\x00", b"\x7f", "\x85".encode(), "·".encode(), "\x9f".encode()])
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _reference(data: bytes) -> list[bool]:
    """Whether each line of ``data`` is blank."""
    lines = data.split(b"\n")
    if lines[-1] == b"":   # the text after the last line feed, when there is any
        lines.pop()
    return [line in (b"", b"\r") for line in lines]


def _controls(data: bytes) -> bool:
    """Whether ``data`` holds a control character other than a line end."""
    return bool(_CONTROL.search(data.decode("utf-8").replace("\r\n", "").replace("\n", "")))


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40), st.sampled_from([1, 2, 3, 5, 7, 1 << 24]),
       st.sampled_from(["utf-8", "utf-16"]))
def test_lines_and_blank_lines_are_counted_across_blocks(pieces: list[bytes], block: int,
                                                         encoding: str) -> None:
    data = b"".join(pieces)
    blank = _reference(data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        path.write_bytes(data.decode("utf-8").encode(encoding))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(counting, "_BLOCK", block)
            found = counting.count_csv_lines(path, encoding)
            numbers = counting.blank_line_numbers(path, encoding)
    filled = blank.count(False)
    assert (found.lines, found.blank) == (max(filled - 1, 0), blank.count(True))
    assert numbers == [n + 1 for n, b in enumerate(blank) if b]
    # a control is never missed; a C1 lead byte (0xC2) that ends a block counts, to be safe
    controls = _controls(data)
    assert found.controls == controls or (
        found.controls and b"\xc2" in data and block < len(data) and encoding == "utf-8")


def test_only_utf8_bytes_are_scanned_for_controls() -> None:
    assert counting.scans_controls("utf-8") and counting.scans_controls("UTF-16")
    assert not counting.scans_controls("gb18030") and not counting.scans_controls("latin-1")
