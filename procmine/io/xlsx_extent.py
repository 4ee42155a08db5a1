"""The extent of an Excel sheet, read from the workbook's XML before any reader loads it.

The Excel reader (calamine) holds a sheet as one dense rows x columns grid counted from A1, so
a 5 KB workbook with one cell at XFD1048576 makes it allocate 16,384 x 1,048,576 cells (512 GB)
and abort the process. This module opens the workbook as the zip file it is, finds the sheet's
XML part (``xl/workbook.xml`` and its relationships), and streams that part once: the declared
``<dimension ref=...>`` and every row and cell reference (``r="XFD1048576"``) give the extent.
A sheet wider than ``max_columns`` or larger than ``max_cells`` is refused before any reader
sees it; the XML text of the sheet counts against ``max_decompressed_mb``.

Example (a workbook whose one sheet spans A1:C2)::

    >>> import pandas as pd
    >>> pd.DataFrame({"a": [1], "b": [2], "c": [3]}).to_excel("tiny.xlsx", index=False)
    >>> check_sheet_extent("tiny.xlsx", 0, Limits())
    SheetExtent(rows=2, columns=3)
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final
from xml.etree import ElementTree

from procmine.core.errors import ProcmineError
from procmine.core.limits import Limits

__all__ = ["SheetExtent", "check_sheet_extent"]

_REL_NS: Final = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_DIMENSION_RE: Final = re.compile(
    rb'<(?:\w+:)?dimension\b[^>]*?\bref="([A-Za-z]{0,3})([0-9]{0,7})'
    rb'(?::([A-Za-z]{0,3})([0-9]{0,7}))?"'
)
# A row (r="12") or cell (r="B12") reference; not r:id=, not ref=.
_REF_RE: Final = re.compile(rb'(?<![\w:])r="([A-Za-z]{0,3})([0-9]{1,7})"')
_CHUNK: Final = 1 << 20
_SMALL_PART: Final = 16 << 20  # workbook.xml and its relationships


@dataclass(frozen=True)
class SheetExtent:
    """The used range of a sheet from A1: its last row and last column (1-based)."""

    rows: int
    columns: int

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + (ch - 64)
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _small_xml(zf: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    try:
        with zf.open(name) as fh:
            data = fh.read(_SMALL_PART + 1)
    except KeyError:
        return None
    if len(data) > _SMALL_PART:
        return None
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return None


def _sheet_part(zf: zipfile.ZipFile, sheet: int | str) -> str | None:
    """The zip member holding the sheet's XML, or None when the workbook does not say."""
    workbook = _small_xml(zf, "xl/workbook.xml")
    rels = _small_xml(zf, "xl/_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return None
    sheets = [e for e in workbook.iter() if e.tag.rpartition("}")[2] == "sheet"]
    chosen = (
        (sheets[sheet] if 0 <= sheet < len(sheets) else None) if isinstance(sheet, int)
        else next((e for e in sheets if e.get("name") == sheet), None)
    )
    if chosen is None:
        return None
    rel_id = chosen.get(f"{_REL_NS}id")
    target = next((r.get("Target") for r in rels if r.get("Id") == rel_id), None)
    if not target:
        return None
    part = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return posixpath.normpath(part)


def check_sheet_extent(path: str | Path, sheet: int | str, limits: Limits) -> SheetExtent:
    """The sheet's extent; raises ProcmineError when it is over ``limits`` or not a workbook.

    A workbook whose sheet cannot be located is passed (``SheetExtent(0, 0)``): the reader,
    run in its own process, then reports what is wrong with it.
    """
    source = Path(path)
    try:
        with zipfile.ZipFile(source) as zf:
            part = _sheet_part(zf, sheet)
            if part is None or part not in zf.NameToInfo:
                return SheetExtent(0, 0)
            with zf.open(part) as fh:
                return _scan(source, fh, limits)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ProcmineError(f"{source}: cannot read as an Excel workbook ({exc})",
                            code="ingest.not_excel", file=Path(source).name) from exc


def _scan(source: Path, fh: IO[bytes], limits: Limits) -> SheetExtent:
    """Stream the sheet's XML: the largest row and column named by the dimension or any cell."""
    read = fh.read
    cap = limits.max_decompressed_mb << 20
    rows = columns = total = 0
    carry = b""
    while chunk := read(_CHUNK):
        total += len(chunk)
        if total > cap:
            raise limits.exceeded("max_decompressed_mb", f"{source}: the sheet's XML expands "
                                  f"to more than {limits.max_decompressed_mb:,} MB")
        text = carry + chunk
        for m in _DIMENSION_RE.finditer(text):
            has_end = bool(m.group(3) or m.group(4))
            letters, digits = m.group(3, 4) if has_end else m.group(1, 2)
            columns = max(columns, _column_number(letters))
            rows = max(rows, int(digits or 0))
        for m in _REF_RE.finditer(text):
            columns = max(columns, _column_number(m.group(1)))
            rows = max(rows, int(m.group(2)))
        _check(source, SheetExtent(rows, columns), limits)
        carry = text[-64:]
    return SheetExtent(rows, columns)


def _check(source: Path, extent: SheetExtent, limits: Limits) -> None:
    last = f"{_column_letters(extent.columns)}{extent.rows}"
    if extent.columns > limits.max_columns:
        raise limits.exceeded("max_columns", f"{source}: the sheet reaches column "
                              f"{_column_letters(extent.columns)} ({extent.columns:,} columns)")
    if extent.cells > limits.max_cells:
        raise limits.exceeded(
            "max_cells", f"{source}: the sheet's range A1:{last} holds {extent.rows:,} rows x "
            f"{extent.columns:,} columns = {extent.cells:,} cells",
        )
