"""Reading Excel (.xlsx) event logs into an Arrow table of text columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from procmine.core.errors import ProcmineError
from procmine.io.eventlog import unique_names

__all__ = ["read_excel_table"]


def _text(value: object) -> str | None:
    """A cell as text: dates in ISO form, whole numbers without a trailing '.0'."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_excel_table(path: str | Path, sheet: int | str = 0) -> pa.Table:
    """The first (or named) sheet of a workbook; first row is the header, ``_row`` the sheet row.

    Example (a two-row workbook written first; cells come back as text):
        >>> import pandas as pd
        >>> pd.DataFrame({"case_id": ["C1", "C1"], "amount": [250.0, 99.5]}).to_excel(
        ...     "log.xlsx", index=False)
        >>> table = read_excel_table("log.xlsx")
        >>> table.to_pydict()
        {'_row': [2, 3], 'case_id': ['C1', 'C1'], 'amount': ['250', '99.5']}
    """
    from python_calamine import CalamineWorkbook

    source = Path(path)
    try:
        workbook = CalamineWorkbook.from_path(str(source))
        sheet_obj = (
            workbook.get_sheet_by_index(sheet) if isinstance(sheet, int)
            else workbook.get_sheet_by_name(sheet)
        )
        rows = sheet_obj.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types per failure
        raise ProcmineError(f"{source}: cannot read as an Excel workbook ({exc})") from exc
    if not rows:
        raise ProcmineError(f"{source}: the sheet is empty")
    # a header called "_row" must not replace the reader's own record number
    header = unique_names(["_row", *(_text(h) for h in rows[0])])[1:]
    width = len(header)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    numbers: list[int] = []
    for number, row in enumerate(rows[1:], start=2):
        if all(v in (None, "") for v in row):
            continue
        numbers.append(number)
        for i in range(width):
            columns[i].append(_text(row[i]) if i < len(row) else None)
    arrays = {"_row": pa.array(numbers, pa.int64())}
    for name, values in zip(header, columns, strict=True):
        arrays[name] = pa.array(values, pa.string())
    return pa.table(arrays)
