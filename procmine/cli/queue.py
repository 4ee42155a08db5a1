"""``procmine queue`` and ``procmine staffing``: the counter queue of a branch or the bank, and
the counters it needs, on screen or JSON.

Thin, like the rest of the command line: it parses its options into a
:class:`procmine.QueueFilter`, calls :func:`procmine.queue_summary` (or, with ``--by``,
:func:`procmine.queue_measures`) and prints the result. Mistakes raise ProcmineError, which
``procmine.cli.main.main`` prints without a traceback.

Example:
    $ procmine queue
    $ procmine queue --branch B01 --target-wait 300 --json
    $ procmine queue --from 2026-10-01 --to 2026-10-31 --by branch_id --by window_type
    $ procmine queue --by interval_of_day --json > waits-by-interval.json
    $ procmine staffing --branch B01 --target-wait 600 --target-share 0.8
    $ procmine staffing --branch B01 --weekday 1 --at 12:00 --counters 5
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
    ProcmineError,
    QueueFilter,
    QueueSummary,
    StaffingPlan,
    WaitMetrics,
    get_engine,
    queue_measures,
    queue_summary,
    staffing_plan,
    what_if,
)
from procmine.cli.common import (
    EngineOption,
    HomeOption,
    JsonOption,
    MasterOption,
    parse_day,
    print_json,
)

__all__ = ["queue", "staffing"]

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


# -- procmine staffing ---------------------------------------------------------------------------

def _clock_minute(text: str) -> int:
    """``HH:MM`` (a quarter-hour) as minutes after midnight."""
    try:
        hours, minutes = (int(part) for part in text.split(":"))
    except ValueError:
        raise ProcmineError(f"--at {text!r}: expected HH:MM, e.g. 12:15") from None
    if not (0 <= hours < 24 and minutes in (0, 15, 30, 45)):
        raise ProcmineError(f"--at {text!r}: expected the start of a 15-minute interval, "
                            "e.g. 12:00, 12:15, 12:30 or 12:45")
    return hours * 60 + minutes


def _plan_tables(plan: StaffingPlan, title: str) -> list[Table]:
    branches = Table(title=title)
    for column in ("branch", "queued", "abandonment", "patience s", "model"):
        branches.add_column(column, justify="left" if column in ("branch", "model") else "right")
    for row in _records(plan.branches):
        branches.add_row(row["branch_id"], _number(row["queued"], "count"),
                         _number(row["abandonment_rate"], "share"),
                         _number(row["patience_seconds"], "seconds"), row["model"])
    data = plan.to_dict()
    short = Table(title=f"Shortfall {data['shortfall_counter_hours']:g} counter-hours a week, "
                  f"surplus {data['surplus_counter_hours']:g}")
    for column in ("suggestion", "counters"):
        short.add_column(column, justify="left" if column == "suggestion" else "right")
    for shift in plan.shifts:
        short.add_row(shift.describe(), str(shift.counters))
    assumptions = Table(title="Model and assumptions", show_header=False)
    for item in data["assumptions"]:
        assumptions.add_row(item["text"])
    return [branches, short, assumptions]


def _what_if_table(metrics: WaitMetrics, title: str) -> Table:
    view = Table(title=title, show_header=False)
    data = metrics.to_dict()
    for key, kind in (("model", "text"), ("arrivals_per_hour", "rate"),
                      ("mean_service_seconds", "seconds"), ("patience_seconds", "seconds"),
                      ("counters", "count"), ("prob_wait", "share"),
                      ("mean_wait_seconds", "seconds"), ("mean_wait_served_seconds", "seconds"),
                      ("service_level", "share"), ("abandon_share", "share"),
                      ("occupancy", "share")):
        view.add_row(key.replace("_seconds", " s").replace("_", " "), _number(data[key], kind))
    return view


def staffing(
    branch: BranchOption = None,
    target_wait: TargetWaitOption = DEFAULT_TARGET_WAIT,
    target_share: Annotated[float, typer.Option(
        "--target-share", min=0.01, max=0.99,
        help="The share of customers to serve within the target wait (default 0.8).")] = 0.8,
    start: FromOption = None,
    end: ToOption = None,
    source: SourceOption = "auto",
    weekday: Annotated[int | None, typer.Option(
        "--weekday", min=1, max=7, help="What-if: the weekday (1 = Monday .. 7 = Sunday); "
        "with --at and --counters.")] = None,
    at: Annotated[str | None, typer.Option(
        "--at", help="What-if: the 15-minute interval, HH:MM.")] = None,
    counters: Annotated[int | None, typer.Option(
        "--counters", min=0, help="What-if: the number of counters open.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
) -> None:
    """Counters needed per branch, weekday and 15-minute interval to serve --target-share of
    the customers within --target-wait (Erlang C, or Erlang A where abandonment is material),
    against the counters open; suggested windows to open or close, and the model's
    assumptions. With --branch, --weekday, --at and --counters: the waits that number of
    counters would give in that interval (what-if).
    """
    out = Console()
    what = (weekday, at, counters)
    if any(v is not None for v in what) and (branch is None or any(v is None for v in what)):
        raise ProcmineError("a what-if needs --branch, --weekday, --at and --counters together")
    filters = queue_filter(branch, target_wait, start, end, source)
    store = EventStore(home)
    engine = get_engine(engine_name, store, master)
    try:
        plan = staffing_plan(store, filters, target_share=target_share, engine=engine)
    finally:
        engine.close()
    if branch is not None and weekday is not None and at is not None and counters is not None:
        metrics = what_if(plan, branch, weekday, _clock_minute(at), counters)
        if as_json:
            print_json(metrics.to_dict())
        else:
            out.print(_what_if_table(metrics, f"What if {branch} had {counters} counters on "
                                     f"weekday {weekday} at {at}"))
        return
    if as_json:
        print_json(plan.to_dict())
        return
    scope = f"branch {branch}" if branch else "all branches"
    for table in _plan_tables(plan, f"Staffing, {scope}: {target_share:.0%} within "
                              f"{target_wait:g} s"):
        out.print(table)
