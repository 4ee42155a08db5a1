"""Inert exports: values from the logs written to Excel or CSV so that no spreadsheet runs them.

Teller, branch and activity names come from the banks' files and can hold anything. A text cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula when the file is opened (a CSV) or re-typed (a
workbook), and a formula can run commands or send the sheet's data elsewhere ("CSV injection").
Following OWASP's guidance, every export goes through this module:

* :func:`safe_cell`: a text value that starts with one of those characters gets a single quote
  in front (``=1+1`` is written as ``'=1+1``, shown as text); a number stays a number, and a text
  that is a plain signed number (``-12``, ``+3.5``) is left as it is, since a spreadsheet reads
  it as that number and nothing else. Control characters (C0 and C1, but tab, line feed and
  carriage return) are removed first: Excel cannot store them (openpyxl refuses the whole file)
  and they are never part of an identifier.
* :func:`safe_sheet_name`: a sheet title Excel accepts and nothing can misread: no ``[]:*?/\\``,
  no leading formula character or quote, at most 31 characters, unique in the workbook (Excel
  compares sheet names without case), never the reserved ``History``.
* :func:`safe_csv`: a CSV text re-written with every field through :func:`safe_cell`.

Example:
    >>> safe_cell("=cmd|' /C calc'!A0"), safe_cell("-1+2"), safe_cell(-1.5), safe_cell("-12")
    ("'=cmd|' /C calc'!A0", "'-1+2", -1.5, '-12')
    >>> safe_cell("T\\x00 01\\x0b")
    'T 01'
    >>> used: set[str] = set()
    >>> safe_sheet_name("=1+1", used), safe_sheet_name("=1+1", used), safe_sheet_name("a/b", used)
    ('_=1+1', '_=1+1 (2)', 'a_b')
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Final

__all__ = ["FORMULA_START", "remove_control", "safe_cell", "safe_csv", "safe_sheet_name"]

#: The first characters that make a spreadsheet read a text as a formula (OWASP).
FORMULA_START: Final[tuple[str, ...]] = ("=", "+", "-", "@", "\t", "\r")

# C0 controls but tab, line feed and carriage return; DEL; C1 controls
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_SHEET_MAX = 31


def remove_control(text: str) -> str:
    """``text`` without control characters (tab, line feed and carriage return are kept).

    Example:
        >>> remove_control("B\\x0001\\x7f")
        'B01'
    """
    return _CONTROL.sub("", text)


def safe_cell(value: Any) -> Any:
    """``value`` as it may be written to a spreadsheet cell: a text without control
    characters, quoted when a spreadsheet would read it as a formula; other values unchanged.

    Example:
        >>> [safe_cell(v) for v in ("@x", "+SUM(A1)", "\\t=1", "B01", 3, None)]
        ["'@x", "'+SUM(A1)", "'\\t=1", 'B01', 3, None]
    """
    if not isinstance(value, str):
        return value
    text = remove_control(value)
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_sheet_name(title: str, used: set[str]) -> str:
    """A sheet name for ``title`` that Excel accepts and that differs from every name in
    ``used`` (compared without case); the name is added to ``used``.

    Example:
        >>> used = {"b01"}
        >>> safe_sheet_name("B01", used), safe_sheet_name("x" * 40, used)
        ('B01 (2)', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')
    """
    base = _SHEET_BAD.sub("_", remove_control(title).replace("\t", " ").replace("\r", " ")
                          .replace("\n", " ")).strip()
    base = base.strip("'")
    if base.startswith(FORMULA_START):
        base = "_" + base
    base = base[:_SHEET_MAX].rstrip("'") or "_"
    if base.lower() == "history":
        base += "_"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = base[: _SHEET_MAX - len(suffix)].rstrip("'") + suffix
        n += 1
    used.add(name.lower())
    return name


def safe_csv(text: str) -> str:
    """A CSV text (comma-separated, a header first) with every field through
    :func:`safe_cell`; the quoting is redone, the rows and their order stay.

    Example:
        >>> safe_csv('teller_id,amount\\r\\n"=1+1",-5\\r\\n@x,7\\r\\n')
        "teller_id,amount\\r\\n'=1+1,-5\\r\\n'@x,7\\r\\n"
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([safe_cell(field) for field in row])
    return out.getvalue()
