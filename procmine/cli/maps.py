"""``procmine map``: the process map (directly-follows graph) of a business type, as text or JSON.

Thin, like the rest of the command line: it parses its options, calls
:func:`procmine.process_map` (and :meth:`procmine.ProcessMap.filtered` for ``--min-share`` and
``--top``) and prints the edges, most frequent first, one line each on an 80-column terminal:
source -> target, passages, median and p90 transition time (the source's end to the target's
start). The heading says what was mapped and how many cases; the start and end activities
follow the table.

Example:
    $ procmine map --type P18
    $ procmine map --type P17 --month 2026-10 --branch B01 --min-share 0.05
    $ procmine map --type P18 --teller 0101 --top 10 --json > map.json
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from procmine import (
    EventStore,
    Filters,
    ProcessMap,
    ProcmineError,
    filter_options,
    get_engine,
    months_with_data,
    process_map,
)
from procmine.cli.common import (
    EngineOption,
    HomeOption,
    JsonOption,
    LangOption,
    MasterOption,
    print_json,
    step_namer,
)

__all__ = ["map_command", "no_transactions", "what_of"]


def _seconds(value: float | None) -> str:
    """Seconds as the table shows them: whole seconds, tenths under a minute."""
    if value is None:
        return "–"
    return f"{value:,.1f}" if abs(value) < 60 else f"{value:,.0f}"


def what_of(business_type: str | None, month: str | None, branch: str | None,
          teller: str | None) -> str:
    parts = [f"type {business_type}" if business_type else "every type",
             month or "all months"]
    parts += [f"branch {branch}"] if branch else []
    parts += [f"teller {teller}"] if teller else []
    return ", ".join(parts)


def _counts(counts: dict[str, int], step_name: Callable[[str], str] = str) -> str:
    return "; ".join(f"{step_name(name)} {n:,}" for name, n in counts.items()) or "–"


def _edges_table(shown: ProcessMap, whole: ProcessMap, what: str,
                 step_name: Callable[[str], str] = str) -> Table:
    """The edges as a terminal table, one line each (the step names fold where too long)."""
    title = (f"Process map of {what}: {whole.cases:,} cases, {len(whole.nodes)} steps, "
             f"{len(whole.edges)} paths")
    if len(shown.edges) < len(whole.edges):
        title += f" ({len(shown.edges)} shown)"
    view = Table(title=title, title_justify="left")
    view.add_column("source -> target", overflow="fold")
    for name in ("count", "median s", "p90 s"):
        view.add_column(name, justify="right", no_wrap=True)
    for edge in shown.to_dict()["edges"]:
        view.add_row(f"{step_name(edge['source'])} -> {step_name(edge['target'])}",
                     f"{edge['count']:,}",
                     _seconds(edge["median_seconds"]), _seconds(edge["p90_seconds"]))
    return view


def no_transactions(store: EventStore, what: str, engine_name: str,
                    master: str | None) -> ProcmineError:
    """The error for a selection without transactions (a map, a model, a conformance
    check), naming the business types, branches and months that have data."""
    engine = get_engine(engine_name, store, master)
    try:
        months = months_with_data(store, engine=engine)
        options = filter_options(store, engine=engine)
    finally:
        engine.close()
    if not months:
        return ProcmineError("the store has no events; ingest an event log first "
                             "(procmine ingest FILE)")
    return ProcmineError(f"no transactions for {what}; business types with data: "
                         f"{', '.join(options['business_type']) or 'none'}; branches: "
                         f"{', '.join(options['branch_id']) or 'none'}; months: "
                         f"{', '.join(months)}")


def map_command(
    business_type: Annotated[
        str | None, typer.Option("--type", help="Only this business type's transactions, "
                                 "e.g. P18 (default: every type).")
    ] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="Only this month, YYYY-MM (default: all data).")
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Only this branch's steps.")
    ] = None,
    teller: Annotated[
        str | None, typer.Option("--teller", help="Only this teller's steps.")
    ] = None,
    min_share: Annotated[
        float, typer.Option("--min-share", min=0.0, max=1.0,
                            help="Hide paths taken in fewer than this share of the cases, "
                            "e.g. 0.05 (default 0: every path).")
    ] = 0.0,
    top: Annotated[
        int | None, typer.Option("--top", min=1, help="Show only the N most frequent paths.")
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
    lang: LangOption = "en",
) -> None:
    """The process map of a business type: each path from one step to the next with how often
    it is taken and the median and p90 time from the end of one step to the start of the next.

    Paths are listed most frequent first; --min-share and --top hide rare ones. --json prints
    the map: cases, nodes (steps with their service times), edges (source, target, count,
    median_seconds, p90_seconds, mean_seconds), start and end activities. --engine spark runs
    the query on Apache Spark with the same results. --lang zh names the steps in Chinese.
    """
    store = EventStore(home)
    branches, tellers = (branch,) if branch else (), (teller,) if teller else ()
    filters = (Filters.for_month(month, branches=branches, tellers=tellers) if month
               else Filters(branches=branches, tellers=tellers))
    engine = get_engine(engine_name, store, master)
    try:
        whole = process_map(store, business_type=business_type, filters=filters, engine=engine)
    finally:
        engine.close()
    what = what_of(business_type, month, branch, teller)
    if whole.cases == 0:
        raise no_transactions(store, what, engine_name, master)
    shown = whole.filtered(min_share=min_share, top_edges=top)
    if as_json:
        print_json(shown.to_dict())
        return
    out = Console()
    step_name = step_namer(home, lang)
    out.print(_edges_table(shown, whole, what, step_name))
    out.print(f"starts: {_counts(shown.start_activities, step_name)}", highlight=False)
    out.print(f"ends: {_counts(shown.end_activities, step_name)}", highlight=False)
