"""``procmine queue``: the counter queue of a branch or the bank, on screen or JSON.

Thin, like the rest of the command line: it parses its options into a
:class:`procmine.QueueFilter`, calls :func:`procmine.queue_summary` (or, with ``--by``,
:func:`procmine.queue_measures`) and prints the result. Mistakes raise ProcmineError, which
``procmine.cli.main.main`` prints without a traceback.

Example:
    $ procmine queue
    $ procmine queue --branch B01 --target-wait 300 --json
    $ procmine queue --from 2026-10-01 --to 2026-10-31 --by branch_id --by window_type
    $ procmine queue --by interval_of_day --json > waits-by-interval.json
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from procmine import (
    DEFAULT_TARGET_WAIT,
    QUEUE_DIMENSIONS,
    EventStore,
    QueueFilter,
    QueueSummary,
    get_engine,
    queue_measures,
    queue_summary,
)
from procmine.cli.common import (
    EngineOption,
    HomeOption,
    JsonOption,
    MasterOption,
    parse_day,
    print_json,
)

__all__ = ["queue"]

BranchOption = Annotated[
    str | None, typer.Option("--branch", help="Only this branch (default: every branch).")]
TargetWaitOption = Annotated[
    float, typer.Option("--target-wait", min=0.0,
                        help="The service level's target wait in seconds (default 600 = 10 "
                        "minutes).")]
FromOption = Annotated[
    str | None, typer.Option("--from", help="First day, YYYY-MM-DD (the day a ticket joined "
                             "the queue).")]
ToOption = Annotated[
    str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (inclusive).")]
SourceOption = Annotated[
    str, typer.Option("--source", help="Where the tickets come from: auto (the ingested queue "
                      "exports when there are any, else the event log's ticket and call "
                      "times), tickets or events.")]


def queue_filter(branch: str | None, target_wait: float, start: str | None, end: str | None,
                 source: str = "auto") -> QueueFilter:
    """The options every queue command shares, as a :class:`procmine.QueueFilter` (``--to``
    is inclusive; the filter's end is the day after)."""
    last = parse_day(end, "--to")
    return QueueFilter(branch=branch, start=parse_day(start, "--from"),
                       end=last + timedelta(days=1) if last is not None else None,
                       target_wait=target_wait, source=source)


def _plain(value: Any, column: str = "") -> Any:
    """A JSON value: None for a missing one, a day as YYYY-MM-DD, a time as ISO text."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if column == "day" else value.isoformat(sep=" ")
    return value.item() if hasattr(value, "item") else value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v, str(k)) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


def _number(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if kind == "share":
        return f"{float(value):.1%}"
    if kind == "seconds":
        return f"{float(value):,.0f}"
    if kind == "rate":
        return f"{float(value):.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


_SUMMARY_ROWS = (
    ("tickets", "tickets", "count"), ("queued", "queued", "count"),
    ("served", "served", "count"), ("transferred", "transferred", "count"),
    ("abandoned", "abandoned", "count"), ("no_show", "no-show", "count"),
    ("abandonment_rate", "abandonment rate (of those who queued)", "share"),
    ("mean_wait_seconds_served", "mean wait s (served)", "seconds"),
    ("median_wait_seconds_served", "median wait s", "seconds"),
    ("p90_wait_seconds_served", "p90 wait s", "seconds"),
    ("max_wait_seconds_served", "max wait s", "seconds"),
    ("service_level", "service level", "level"),
    ("mean_service_seconds", "mean service s", "seconds"),
    ("occupancy", "teller occupancy", "share"),
    ("transactions_per_teller_hour", "transactions per teller-hour", "rate"),
)

_MEASURE_KINDS = {
    "abandonment_rate": "share", "service_level": "share", "occupancy": "share",
    "transactions_per_teller_hour": "rate", "mean_wait_seconds": "seconds",
    "median_wait_seconds": "seconds", "p90_wait_seconds": "seconds",
    "max_wait_seconds": "seconds", "mean_service_seconds": "seconds",
}


def _summary_tables(summary: QueueSummary, title: str) -> tuple[Table, Table]:
    data = summary.to_dict()
    head = Table(title=title, show_header=False)
    level = summary.service_level
    for key, label, kind in _SUMMARY_ROWS:
        if kind == "level":
            head.add_row(f"{label} (wait <= {level['target_seconds']:g} s)",
                         _number(level["share"], "share"))
        else:
            head.add_row(label, _number(data[key], kind))
    tellers = Table(title=f"{len(summary.per_teller)} tellers")
    for column in ("teller", "served", "mean service s", "occupancy", "per teller-hour"):
        tellers.add_column(column, justify="left" if column == "teller" else "right")
    for row in summary.per_teller:
        tellers.add_row(row["teller_id"], _number(row["served"], "count"),
                        _number(row["mean_service_seconds"], "seconds"),
                        _number(row["occupancy"], "share"),
                        _number(row["transactions_per_teller_hour"], "rate"))
    return head, tellers


def _measures_table(frame: pd.DataFrame, by: list[str], title: str) -> Table:
    view = Table(title=title)
    shown = [*by, "arrivals", "served", "abandoned", "abandonment_rate", "mean_wait_seconds",
             "p90_wait_seconds", "service_level", "mean_service_seconds", "occupancy"]
    for column in shown:
        view.add_column(column.replace("_seconds", " s").replace("_", " "),
                        justify="left" if column in by else "right")
    for row in _records(frame[shown]):
        view.add_row(*(_number(row[c], _MEASURE_KINDS.get(c, "count")) for c in shown))
    return view


def queue(
    branch: BranchOption = None,
    target_wait: TargetWaitOption = DEFAULT_TARGET_WAIT,
    start: FromOption = None,
    end: ToOption = None,
    source: SourceOption = "auto",
    by: Annotated[list[str] | None, typer.Option(
        "--by", help=f"Group by these (repeatable): {', '.join(QUEUE_DIMENSIONS)}.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
) -> None:
    """The counter queue: tickets, served, abandoned, waits of the served customers, the
    service level (share served within the target wait), the abandonment rate (of those who
    queued), service time, teller occupancy and transactions per teller-hour, then per teller;
    with --by, the same measures per group (e.g. --by branch_id --by interval_of_day).

    Tickets come from the ingested queue-system exports, or from the event log's ticket and
    call times when there are none (--source).
    """
    out = Console()
    filters = queue_filter(branch, target_wait, start, end, source)
    store = EventStore(home)
    engine = get_engine(engine_name, store, master)
    try:
        if by:
            frame = queue_measures(store, by, filters, engine=engine)
        else:
            summary = queue_summary(store, filters, engine=engine)
    finally:
        engine.close()
    scope = f"branch {branch}" if branch else "all branches"
    if by:
        if as_json:
            print_json(_records(frame))
        else:
            out.print(_measures_table(frame, by, f"Queue by {', '.join(by)}, {scope}"))
        return
    if as_json:
        print_json(summary.to_dict())
        return
    period = f"{summary.first_day} to {summary.last_day}" if summary.first_day else "no tickets"
    for table in _summary_tables(summary, f"Queue, {scope}, {period} ({summary.source})"):
        out.print(table)
