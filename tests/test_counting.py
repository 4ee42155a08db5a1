"""The CSV line count an ingest reconciles against (procmine.ingest.counting), against a plain
reference: every line ending in a line feed, and a last one without it, is blank when it holds
nothing or a lone carriage return. Blocks of one to seven bytes put line ends, carriage returns
and multi-byte characters across the blocks' edges."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procmine.ingest import counting

_PIECES = st.sampled_from([b"a", b",", b"\n", b"\r", b"\r\n", b"\n\n", b"xy", "点".encode()])


def _reference(data: bytes) -> list[bool]:
    """Whether each line of ``data`` is blank."""
    lines = data.split(b"\n")
    if lines[-1] == b"":   # the text after the last line feed, when there is any
        lines.pop()
    return [line in (b"", b"\r") for line in lines]


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40), st.integers(1, 7), st.sampled_from(["utf-8", "utf-16"]))
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
