"""``procmine league``: the monthly teller announcement, on screen, as JSON, Excel or HTML.

Thin, like the rest of the command line: it calls
:func:`procmine.analysis.league.monthly_league` and the
exports. Mistakes raise ProcmineError, which ``procmine.cli.main.main`` prints without a traceback.

Example:
    $ procmine league --month 2026-10
    $ procmine league --month 2026-10 --excel league-2026-10.xlsx --html league-2026-10.html
    $ procmine league --month 2026-10 --json
    $ procmine league --month 2026-10 --engine spark --master local[4]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from procmine.analysis.league import (
    column_labels,
    export_league_excel,
    export_league_html,
    league_records,
    monthly_league,
)
from procmine.app.i18n import normalize_language, t
from procmine.cli.common import (
    BaselineOption,
    EngineOption,
    HomeOption,
    JsonOption,
    MasterOption,
    print_json,
)
from procmine.core.baseline import load_baseline
from procmine.store.engine import get_engine
from procmine.store.event_store import EventStore

__all__ = ["league"]

_SHOWN = ("rank_overall", "teller_id", "branch_id", "rank_in_branch", "transactions",
          "standard_hours", "errors", "error_rate", "speed_index", "speed_index_shrunk",
          "rank_change")


def _show(value: object, column: str) -> str:
    if value is None:
        return "–"
    if column == "error_rate" and isinstance(value, float):
        return f"{value:.1%}"
    if column in ("speed_index", "speed_index_shrunk") and isinstance(value, float):
        return f"{value:.2f}"
    if column == "standard_hours" and isinstance(value, float):
        return f"{value:,.1f}"
    if column == "rank_change" and isinstance(value, int):
        return f"{value:+d}" if value else "0"
    return f"{value:,}" if isinstance(value, int) else str(value)


def league(
    month: Annotated[str, typer.Option("--month", help="The month to announce, YYYY-MM.")],
    baseline_file: BaselineOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    excel: Annotated[
        Path | None,
        typer.Option("--excel", help="Also write a formatted workbook (.xlsx): the bank-wide "
                     "sheet, then one sheet per branch."),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write a printable HTML page (print it to PDF from "
                     "the browser; each branch starts a new page)."),
    ] = None,
    lang: Annotated[
        str, typer.Option("--lang", help="Column headers in zh or en (table and exports).")
    ] = "zh",
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
) -> None:
    """The monthly teller announcement: per teller, transactions, standard-time weighted
    volume, errors and speed index, ranked within the branch and across all branches, with the
    change against last month.

    Speed index = sum of standard times / sum of actual counter times (above 1: faster).
    Ranks use it shrunk toward the bank level (empirical Bayes),
    so a teller with few transactions cannot top or bottom the table by chance.
    --engine spark runs the queries on Apache Spark (local mode, or the cluster of --master)
    with the same results.
    """
    # consoles made per call: the table's width follows the terminal (or COLUMNS) of this run
    out, err = Console(), Console(stderr=True)
    lang = normalize_language(lang)
    store = EventStore(home)
    baseline = load_baseline(baseline_file)
    engine = get_engine(engine_name, store, master)
    try:
        table = monthly_league(store, baseline, month, engine=engine)
    finally:
        engine.close()
    label = str(table.attrs["method"]["month"])
    written = []
    if excel is not None:
        written.append(export_league_excel(table, excel, lang=lang))
    if html is not None:
        written.append(export_league_html(table, html, label, lang))
    if as_json:
        print_json(league_records(table))
        for path in written:
            err.print(f"wrote {path}", highlight=False)
        return
    labels = column_labels(lang)
    view = Table(title=f"{label} {t('nav.announcement', lang)}")
    for column in _SHOWN:
        view.add_column(labels[column],
                        justify="left" if column in ("teller_id", "branch_id") else "right")
    for record in league_records(table, _SHOWN):
        view.add_row(*(_show(record[c], c) for c in _SHOWN))
    out.print(view)
    method = table.attrs["method"]
    k = method.get("speed_prior_strength")
    out.print(
        f"bank speed index {method.get('bank_speed_index', float('nan')):.2f}; ranks shrink "
        "each teller toward it with a prior weight of "
        + (f"{k:.0f} transactions" if k is not None else "all transactions (full pooling)"),
        highlight=False,
    )
    for path in written:
        out.print(f"wrote {path}", highlight=False)
