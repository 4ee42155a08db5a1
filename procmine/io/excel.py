"""Reading Excel (.xlsx) event logs into an Arrow table of text columns.

The reader (calamine, in Rust) aborts the whole process when an allocation fails, which no
``except`` can catch. So a workbook is first measured (:mod:`procmine.io.xlsx_extent`: a sheet
over ``max_cells`` or ``max_columns`` is refused), and then read in a separate Python process
whose address space is capped at ``max_reader_mb`` (``resource.setrlimit``); the sheet comes
back as an Arrow IPC file in a temporary folder. A workbook that still makes the reader fail
costs that process only, never the dashboard's server or the command that asked.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc

from procmine.core.errors import ProcmineError
from procmine.core.limits import Limits, current_limits
from procmine.io.eventlog import unique_names
from procmine.io.xlsx_extent import check_sheet_extent

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


def read_excel_table(
    path: str | Path, sheet: int | str = 0, *, limits: Limits | None = None,
    isolated: bool = True,
) -> pa.Table:
    """The first (or named) sheet of a workbook; first row is the header, ``_row`` the sheet row.

    The sheet's extent is checked against ``limits`` (default: ``current_limits()``) first;
    ``isolated`` reads it in a separate, memory-capped process (see the module docstring).

    Example (a two-row workbook written first; cells come back as text):
        >>> import pandas as pd
        >>> pd.DataFrame({"case_id": ["C1", "C1"], "amount": [250.0, 99.5]}).to_excel(
        ...     "log.xlsx", index=False)
        >>> table = read_excel_table("log.xlsx")
        >>> table.to_pydict()
        {'_row': [2, 3], 'case_id': ['C1', 'C1'], 'amount': ['250', '99.5']}
    """
    source = Path(path)
    lim = limits if limits is not None else current_limits()
    check_sheet_extent(source, sheet, lim)
    if isolated:
        return _read_isolated(source, sheet, lim)
    return _read_sheet(source, sheet)


# The separate reader: run as ``python -c _WORKER PATH SHEET_JSON OUT MAX_MB``.
_WORKER = "from procmine.io.excel import _worker; _worker()"
_REFUSED = 3  # the worker's exit code for a ProcmineError (its message on stderr)


def _worker() -> None:
    """Entry point of the reader process: cap the address space, read, write Arrow IPC."""
    path, sheet_json, out, max_mb = sys.argv[1:5]
    try:
        import resource

        cap = int(max_mb) << 20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not on this platform
        pass
    try:
        table = _read_sheet(Path(path), json.loads(sheet_json))
        with pa.OSFile(out, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    except ProcmineError as exc:
        sys.stderr.write(str(exc))
        sys.exit(_REFUSED)


def _read_isolated(source: Path, sheet: int | str, limits: Limits) -> pa.Table:
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the procmine package
    env = dict(os.environ, RUST_BACKTRACE="0")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryDirectory(prefix="procmine-xlsx-") as tmp:
        out = Path(tmp) / "sheet.arrow"
        done = subprocess.run(
            [sys.executable, "-c", _WORKER, str(source.resolve()), json.dumps(sheet), str(out),
             str(limits.max_reader_mb)],
            env=env, capture_output=True, text=True, errors="replace", check=False,
        )
        if done.returncode == _REFUSED:
            raise ProcmineError(done.stderr.strip())
        if done.returncode != 0 or not out.is_file():
            code = done.returncode
            how = f"signal {-code}" if code < 0 else f"exit status {code}"
            if -code in signal.Signals.__members__.values():
                how = f"signal {signal.Signals(-code).name}"
            raise limits.exceeded(
                "max_reader_mb", f"{source}: the Excel reader stopped ({how}) without reading "
                "the sheet: the workbook is damaged or needs more memory than allowed",
            )
        with pa.OSFile(str(out), "rb") as src:
            return pa.ipc.open_file(src).read_all()


def _read_sheet(source: Path, sheet: int | str) -> pa.Table:
    """Read the sheet in this process (calamine): the body of the reader process."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(source))
        sheet_obj = (
            workbook.get_sheet_by_index(sheet) if isinstance(sheet, int)
            else workbook.get_sheet_by_name(sheet)
        )
        rows = sheet_obj.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types per failure
        raise ProcmineError(f"{source}: cannot read as an Excel workbook ({exc})",
                            code="ingest.not_excel", file=Path(source).name) from exc
    if not rows:
        raise ProcmineError(f"{source}: the sheet is empty", code="ingest.sheet_empty",
                            file=Path(source).name)
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
