"""``procmine matrix``: each teller's counter time on each business type, against the standard.

Thin, like the rest of the command line: it parses its options, calls
:func:`procmine.teller_type_matrix` (and :func:`procmine.export_matrix_excel` for ``--excel``)
and prints the cells. The terminal gets a long list, one line per teller x type (teller,
branch, type, transactions, median, standard, ratio), which fits an 80-column terminal however
many types the tellers did; a cell with too few transactions says so instead of a median.

Example:
    $ procmine matrix --month 2026-10
    $ procmine matrix --branch B01 --month 2026-10 --min-cases 10
    $ procmine matrix --month 2026-10 --excel matrix-2026-10.xlsx --lang en
    $ procmine matrix --json > cells.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from procmine import (
    MIN_MATRIX_CASES,
    EventStore,
    ProcmineError,
    export_matrix_excel,
    filter_options,
    get_engine,
    load_baseline,
    matrix_records,
    months_with_data,
    normalize_language,
    teller_type_matrix,
)
from procmine.cli.common import (
    BaselineOption,
    EngineOption,
    HomeOption,
    JsonOption,
    MasterOption,
    print_json,
)

__all__ = ["matrix"]

_COLUMNS = (("teller", "left"), ("branch", "left"), ("type", "left"), ("cases", "right"),
            ("median s", "right"), ("standard s", "right"), ("ratio", "right"))


def _seconds(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:,.0f}"


def _cells_table(cells: pd.DataFrame, period: str, min_cases: int) -> Table:
    """The cells as a long terminal table, one line each (fits 80 columns)."""
    few = int((~cells["enough"]).sum())
    view = Table(title=f"Counter time per teller and type, {period}: {len(cells):,} cells, "
                 f"{few:,} with fewer than {min_cases} transactions", title_justify="left")
    for name, justify in _COLUMNS:
        view.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for cell in matrix_records(cells):
        enough = bool(cell["enough"])
        ratio = cell["ratio"]
        view.add_row(
            str(cell["teller_id"]), str(cell["branch_id"] or "–"), str(cell["business_type"]),
            f"{cell['cases']:,}",
            _seconds(cell["median_seconds"]) if enough else "too few",
            _seconds(cell["standard_seconds"]),
            f"{ratio:.2f}x" if enough and ratio is not None else "",
        )
    return view


def _nothing(store: EventStore, branch: str | None, month: str | None,
             engine_name: str, master: str | None) -> ProcmineError:
    """The error for a request without cells, naming what has data."""
    engine = get_engine(engine_name, store, master)
    try:
        months = months_with_data(store, engine=engine)
        branches = filter_options(store, engine=engine)["branch_id"]
    finally:
        engine.close()
    if not months:
        return ProcmineError("the store has no events; ingest an event log first "
                             "(procmine ingest FILE)")
    asked = " ".join(p for p in (f"branch {branch}" if branch else "",
                                 f"in {month}" if month else "") if p)
    return ProcmineError(f"no teller transactions for {asked}; branches with data: "
                         f"{', '.join(branches)}; months with data: {', '.join(months)}")


def matrix(
    branch: Annotated[
        str | None, typer.Option("--branch", help="Only this branch's tellers (default: all).")
    ] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="Only this month, YYYY-MM (default: all data).")
    ] = None,
    min_cases: Annotated[
        int, typer.Option("--min-cases", min=1, help="Fewest transactions of a teller on a "
                          "type for the cell to show its median; fewer are shown as too few.")
    ] = MIN_MATRIX_CASES,
    excel: Annotated[
        Path | None,
        typer.Option("--excel", help="Also write a workbook (.xlsx): one sheet per branch, "
                     "tellers x business types, median seconds, too-few cells marked."),
    ] = None,
    lang: Annotated[
        str, typer.Option("--lang", help="Labels of the Excel workbook in zh or en.")
    ] = "zh",
    baseline_file: BaselineOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
) -> None:
    """Each teller's counter dwell time on each business type: transactions, median seconds,
    the type's standard time and the ratio of the median to it (above 1: slower).

    A cell with fewer than --min-cases transactions (default 5) shows its count only. --json
    prints the cells (median and ratio null where too few); --excel writes one sheet per
    branch. --engine spark runs the query on Apache Spark with the same results.
    """
    out, err = Console(), Console(stderr=True)
    store = EventStore(home)
    baseline = load_baseline(baseline_file)
    engine = get_engine(engine_name, store, master)
    try:
        cells = teller_type_matrix(store, baseline, branch=branch, month=month,
                                   min_cases=min_cases, engine=engine)
    finally:
        engine.close()
    if cells.empty:
        raise _nothing(store, branch, month, engine_name, master)
    written = None
    if excel is not None:
        written = export_matrix_excel(cells, excel, baseline, period=month,
                                      lang=normalize_language(lang), min_cases=min_cases)
    if as_json:
        print_json(matrix_records(cells))
        if written is not None:
            err.print(f"wrote {written}", highlight=False)
        return
    period = " ".join(p for p in (f"branch {branch}" if branch else "", month or "all months")
                      if p)
    out.print(_cells_table(cells, period, min_cases))
    if written is not None:
        out.print(f"wrote {written}", highlight=False)
