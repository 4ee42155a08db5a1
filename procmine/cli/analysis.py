"""``procmine league`` and ``procmine bottlenecks``: the analyses of the store, on screen or JSON.

``league`` is the monthly teller announcement (also as Excel and HTML), ``bottlenecks`` the slow
steps of tellers and branches, most time lost first. Thin, like the rest of the command line:
each parses its options, calls :func:`procmine.analysis.league.monthly_league` and the exports
of :mod:`procmine.reports.league`, or :func:`procmine.analysis.bottlenecks.find_bottlenecks`,
and prints the result. Mistakes raise ProcmineError, which ``procmine.cli.main.main`` prints
without a traceback.

Example:
    $ procmine league --month 2026-10
    $ procmine league --month 2026-10 --excel league-2026-10.xlsx --html league-2026-10.html
    $ procmine league --month 2026-10 --json
    $ procmine league --month 2026-10 --engine spark --master local[4]
    $ procmine bottlenecks
    $ procmine bottlenecks --month 2026-10 --ratio 2 --min-cases 50
    $ procmine bottlenecks --explain 1
    $ procmine bottlenecks --json > findings.json
    $ procmine bottlenecks --engine spark --master local[4]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from procmine import (
    ANALYSES,
    MIN_TRANSACTIONS,
    Baseline,
    Engine,
    EventStore,
    Finding,
    ProcmineError,
    Recipe,
    ResultCache,
    add_spot_checks,
    code_stamp,
    column_labels,
    export_league_excel,
    export_league_html,
    find_bottlenecks,
    get_engine,
    league_records,
    load_baseline,
    monthly_league,
    months_with_data,
    normalize_language,
    register_items,
    spot_check_summary,
    t,
    workspace_references,
)
from procmine.cli.common import (
    BaselineOption,
    Column,
    EngineOption,
    HomeOption,
    JsonOption,
    LangOption,
    MasterOption,
    WideOption,
    err,
    fit_table,
    print_json,
    print_table,
    progress_bar,
    step_namer,
)
from procmine.cli.findings_view import named, print_findings
from procmine.cli.improve_view import register_lines

__all__ = ["bottlenecks", "keep_bottlenecks", "league", "run_bottlenecks"]

# -- league ----------------------------------------------------------------------------------------

_SHOWN = ("rank_overall", "teller_id", "branch_id", "rank_in_branch", "transactions",
          "standard_hours", "errors", "error_rate", "error_rate_shrunk", "speed_index",
          "speed_index_shrunk", "rank_change")


def _show(value: object, column: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if column == "error_rate" and isinstance(value, float):
        return f"{value:.1%}"
    if column == "error_rate_shrunk" and isinstance(value, float):
        return f"{value:.2%}"   # corrected rates sit close together: a digit more
    if column in ("speed_index", "speed_index_shrunk") and isinstance(value, float):
        return f"{value:.2f}"
    if column == "standard_hours" and isinstance(value, float):
        return f"{value:,.1f}"
    if column == "rank_change" and isinstance(value, int):
        return f"{value:+d}" if value else "0"
    return f"{value:,}" if isinstance(value, int) else str(value)


_ESSENTIAL = ("rank_overall", "teller_id", "branch_id", "transactions", "error_rates",
              "speed_index_shrunk", "rank_change")
#: The raw and corrected error rates share a column ("0.4%/1.20%"): both fit an 80-column
#: terminal beside the ranks, and --wide shows the same column.
_COLUMNS = tuple("error_rates" if c == "error_rate" else c
                 for c in _SHOWN if c != "error_rate_shrunk")


def _rates(record: dict[str, object]) -> str:
    return (f"{_show(record['error_rate'], 'error_rate')}/"
            f"{_show(record['error_rate_shrunk'], 'error_rate_shrunk')}")


def _league_table(table: pd.DataFrame, label: str, lang: str, wide: bool) -> Table:
    """The announcement's main columns as a terminal table, headers in ``lang``: the essential
    ones fitted to the terminal, or all of them with ``wide``."""
    labels = column_labels(lang) | {"error_rates": t("cli.league.error_rates", lang)}
    # a Chinese header may wrap before its bracket, as an English one does
    labels = {c: label if " (" in label else label.replace("(", " (")
              for c, label in labels.items()}
    columns = [Column(labels[c], "key" if c in ("teller_id", "branch_id") else "num",
                      essential=c in _ESSENTIAL) for c in _COLUMNS]
    word = t("league.not_ranked", lang)
    rows = []
    for record, ranked in zip(league_records(table, _SHOWN), table["ranked"], strict=True):
        if not ranked:
            record |= {"rank_overall": word, "rank_in_branch": word}
        rows.append([_rates(record) if c == "error_rates" else _show(record[c], c)
                     for c in _COLUMNS])
    return fit_table(f"{label} {t('nav.announcement', lang)}", columns, rows, wide=wide)


def league(
    month: Annotated[str | None, typer.Option(
        "--month", help="The month to announce, YYYY-MM (default: the latest month in the "
        "data).")] = None,
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
    min_transactions: Annotated[
        int, typer.Option("--min-transactions", min=0,
                          help="Fewest transactions in the month (counted in the speed index) "
                          "for a teller to be ranked; fewer are listed as not ranked.")
    ] = MIN_TRANSACTIONS,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
    wide: WideOption = False,
) -> None:
    """The monthly teller announcement: per teller, transactions, standard-time weighted
    volume, errors and speed index, ranked within the branch and across all branches, with the
    change against last month.

    Speed index = sum of standard times / sum of actual counter times (above 1: faster).
    The Excel and HTML exports also carry each teller's spot checks of the month.
    Ranks use it shrunk toward the bank level (empirical Bayes),
    so a teller with few transactions cannot top or bottom the table by chance; tellers below
    --min-transactions are listed as not ranked.
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
        if month is None:
            month = _latest_month(store, engine, lang, err if as_json else out)
        table = monthly_league(store, baseline, month, min_transactions=min_transactions,
                               engine=engine)
    finally:
        engine.close()
    label = str(table.attrs["method"]["month"])
    written = _export_league(table, label, lang, store, excel, html)
    if as_json:
        print_json(league_records(table))
        for path in written:
            err.print(f"wrote {path}", highlight=False)
        return
    print_table(_league_table(table, label, lang, wide), out)
    method = table.attrs["method"]
    k = method.get("speed_prior_strength")
    out.print(
        f"bank speed index {method.get('bank_speed_index', float('nan')):.2f}; ranks shrink "
        "each teller toward it with a prior weight of "
        + (f"{k:.0f} transactions" if k is not None else "all transactions (full pooling)"),
        highlight=False,
    )
    if unranked := int((~table["ranked"]).sum()):
        out.print(t("announcement.not_ranked", lang, count=unranked, min=min_transactions),
                  highlight=False)
    for path in written:
        out.print(f"wrote {path}", highlight=False)


def _export_league(table: pd.DataFrame, label: str, lang: str, store: EventStore,
                   excel: Path | None, html: Path | None) -> list[Path]:
    """The workbook and page --excel and --html ask for; the files written."""
    written: list[Path] = []
    if excel is not None or html is not None:
        # the announcement carries the month's spot checks per teller (the training room's)
        announced = add_spot_checks(table, spot_check_summary(label, home=store.home))
        if excel is not None:
            written.append(export_league_excel(announced, excel, lang=lang))
        if html is not None:
            written.append(export_league_html(announced, html, label, lang))
    return written


def _latest_month(store: EventStore, engine: Engine, lang: str, console: Console) -> str:
    """The latest month with transactions, said on ``console`` (the default of --month)."""
    months = months_with_data(store, engine=engine)
    if not months:
        raise ProcmineError(t("cli.league.no_data", lang))
    console.print(t("cli.league.latest_month", lang, month=months[-1]), highlight=False)
    return months[-1]


# -- bottlenecks -----------------------------------------------------------------------------------


def run_bottlenecks(store: EventStore, baseline: Baseline, *, ratio: float = 1.5,
                    min_cases: int = 30, q: float = 0.05, month: str | None = None,
                    kinds: list[str] | None = None, evidence: bool = False,
                    engine_name: str = "duckdb", master: str | None = None,
                    use_sops: bool = True) -> list[Finding]:
    """The findings ``procmine bottlenecks`` lists, in its order (its defaults; the SOP step
    standards of the workspace's library unless ``use_sops`` is off): ``procmine improve add
    --finding N`` numbers them the same way."""
    references = workspace_references(store.home) if use_sops else None

    def compute() -> list[Finding]:
        engine = get_engine(engine_name, store, master)
        try:
            # DuckDB keeps the analysis' own connection (its kept steps are materialized)
            with progress_bar(err.is_terminal) as progress:
                return find_bottlenecks(
                    store, baseline, ratio=ratio, min_cases=min_cases, q=q, month=month,
                    evidence=evidence, engine=engine, step_references=references,
                    progress=progress, kinds=kinds or None,
                )
        finally:
            engine.close()

    if engine_name.strip().lower() != "duckdb" or master is not None:
        return compute()  # another engine asked for runs (and its options are checked)
    # the findings of this store version, SOP standards, baseline and options are kept in the
    # workspace (procmine.ResultCache): the next run reads them back
    key = (code_stamp(), baseline, references, ratio, min_cases, q, month,
           sorted(kinds or []), evidence)
    # and computed again by the warm-up after the next ingest (procmine warm)
    recipe = Recipe("procmine.cli.analysis:keep_bottlenecks", {
        "home": str(store.home.resolve()), "baseline": baseline, "ratio": ratio,
        "min_cases": min_cases, "q": q, "month": month, "kinds": kinds, "evidence": evidence,
        "use_sops": use_sops})
    return ResultCache(store).get("cli.bottlenecks", key, compute, recipe)


def keep_bottlenecks(home: str, baseline: Baseline, **options: Any) -> None:
    """Compute and keep the findings of :func:`run_bottlenecks` for the workspace ``home``:
    the recipe the warm-up after an ingest runs (:mod:`procmine.store.warm_up`)."""
    run_bottlenecks(EventStore(home), baseline, **options)


def bottlenecks(
    baseline_file: BaselineOption = None,
    min_cases: Annotated[
        int, typer.Option("--min-cases", help="Fewest steps a teller or branch needs on a type "
                          "x step to be judged.", min=1)
    ] = 30,
    ratio: Annotated[
        float, typer.Option("--ratio", help="How far above the reference a median must be to "
                            "count as slow (1.5 = 50% above).", min=1.0)
    ] = 1.5,
    q: Annotated[
        float, typer.Option("--q", help="False-discovery rate of the Mann-Whitney tests "
                            "(Benjamini-Hochberg).", min=0.0, max=1.0)
    ] = 0.05,
    month: Annotated[
        str | None, typer.Option("--month", help="Only this month, YYYY-MM (default: all data).")
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
    use_sops: Annotated[
        bool, typer.Option("--sop/--no-sop", help="Judge steps against the SOP step standards "
                           "in force on each transaction's date, from the workspace's SOP "
                           "library (the default when it has one), or only against the baseline "
                           "shares.")
    ] = True,
    explain: Annotated[
        str | None, typer.Option("--explain", metavar="N|all",
                                 help="Print the figures and evidence of finding N (its number "
                                 "in the list), or of every finding with 'all', as text.")
    ] = None,
    kinds: Annotated[
        list[str] | None, typer.Option(
            "--kind", metavar="KIND",
            help=f"Run only these analyses (repeatable): {', '.join(ANALYSES)}; "
                 "default all. 'conditional' is the slow steps that hold in one slice.")
    ] = None,
    wide: WideOption = False,
    lang: LangOption = "en",
) -> None:
    """Find the slow steps: a teller x business type x step (or a branch's, when most of its
    tellers share it) whose median is materially above the step's reference time and
    significantly above the rest of the bank, ranked by the teller hours it costs a month.
    Also: slow steps that hold only in one slice (after 15:00, large amounts, a window type, a
    weekday), time lost waiting before a step, tellers and branches slower across most steps,
    and business types whose standard time the whole bank misses (check the standard).

    A step's reference is its share of the type's standard time (baseline), or the standard of
    the approved SOP step in force on the transaction's date. With --json each finding carries
    its evidence (rework, waits before the step, times by amount band, hour and window type
    next to its branch's and the bank's). --engine spark runs the queries on Apache Spark.

    On a terminal narrower than 120 columns each finding is one line (rank, kind, teller hours
    a month, ratio with its 95% interval, who, type and step); a wider one shows the full
    table, and the heading the period the costs are over (--wide: the full table on any
    terminal). --explain N prints N's evidence. --lang zh names the steps in Chinese.
    """
    out = Console()
    findings = run_bottlenecks(
        EventStore(home), load_baseline(baseline_file), ratio=ratio, min_cases=min_cases, q=q,
        month=month, kinds=kinds, evidence=as_json or explain is not None,
        engine_name=engine_name, master=master, use_sops=use_sops)
    if as_json:
        print_json([f.to_dict() for f in findings])
        return
    period = month or "all months"
    if not findings:
        out.print(f"No slow steps in {period} (ratio {ratio:g}, at least {min_cases} steps, "
                  f"q {q:g}).", highlight=False)
        return
    print_findings(out, named(findings, step_namer(home, lang)), period, explain, wide=wide,
                   min_cases=min_cases)
    if explain is None:
        for line in register_lines(findings, register_items(home)):
            out.print(line, highlight=False)
