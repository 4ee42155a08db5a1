"""``procmine queue``, ``staffing``, ``diversion`` and ``windows``: the counter queue of a branch
or the bank, the counters it needs, the business self-service machines could take, and who the
windows served, on screen or JSON.

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
    $ procmine diversion --branch B01 --threshold 20000 --share 0.5
    $ procmine diversion --types P28,P26 --cash-types P17 --json
    $ procmine windows --branch B01 --json
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from procmine import (
    CASH_TYPES,
    DEFAULT_TARGET_WAIT,
    DIVERSION_THRESHOLD,
    QUEUE_DIMENSIONS,
    SELF_SERVICE_TYPES,
    VIP_SEGMENTS,
    VIP_WINDOWS,
    DiversionReport,
    EventStore,
    ProcmineError,
    QueueFilter,
    QueueSummary,
    StaffingPlan,
    WaitMetrics,
    WindowReport,
    diversion_report,
    get_engine,
    load_baseline,
    queue_measures,
    queue_summary,
    staffing_plan,
    what_if,
    window_report,
)
from procmine.cli.common import (
    BaselineOption,
    Column,
    EngineOption,
    HomeOption,
    JsonOption,
    MasterOption,
    WideOption,
    fit_table,
    parse_day,
    print_json,
    print_table,
)

__all__ = ["diversion", "queue", "staffing", "windows"]

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


def _plan_tables(plan: StaffingPlan, title: str, wide: bool = False) -> list[Table]:
    columns = [Column("branch", "key"), Column("queued", "num"),
               Column("served", "num", essential=False),
               Column("abandoned", "num", essential=False), Column("abandonment", "num"),
               Column("mean service s", "num", essential=False), Column("patience s", "num"),
               Column("model", "key")]
    branches = fit_table(title, columns, [
        (row["branch_id"], _number(row["queued"], "count"), _number(row["served"], "count"),
         _number(row["abandoned"], "count"), _number(row["abandonment_rate"], "share"),
         _number(row["mean_service_seconds"], "seconds"),
         _number(row["patience_seconds"], "seconds"), row["model"])
        for row in _records(plan.branches)], wide=wide)
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
    wide: WideOption = False,
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
                              f"{target_wait:g} s", wide):
        print_table(table, out)


# -- diversion and windows -------------------------------------------------------------------


def _codes(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """``P28,P26`` as ("P28", "P26"); the default when not given; ``""`` or ``none``: none."""
    if text is None:
        return default
    if text.strip().lower() in ("", "none"):
        return ()
    return tuple(code.strip().upper() for code in text.split(",") if code.strip())


def _diversion_tables(report: DiversionReport, title: str) -> list[Table]:
    head = Table(title=title, show_header=False)
    types = ", ".join(report.cash_types) or "none"
    head.add_row(f"qualifying (cash {types} under {report.threshold:,.0f}; "
                 f"{', '.join(report.other_types) or 'no other types'})",
                 f"{report.qualifying:,} of {report.served:,} served")
    head.add_row("counter hours they took", f"{report.counter_seconds / 3600:,.1f}")
    head.add_row(f"customer minutes saved moving {report.share:.0%} of them",
                 f"{report.customer_minutes_saved:,.0f}")
    head.add_row("intervals overloaded now (left out) / relieved by it",
                 f"{report.overloaded_intervals:,} / {report.relieved_intervals:,}")
    by_type = Table(title="By business type")
    for column in ("type", "name", "qualifying", "counter hours", "mean service s"):
        by_type.add_column(column, justify="left" if column in ("type", "name") else "right")
    for row in _records(report.by_type):
        by_type.add_row(row["business_type"], row["name_en"], _number(row["qualifying"], "count"),
                        f"{row['counter_seconds'] / 3600:,.1f}",
                        _number(row["mean_service_seconds"], "seconds"))
    months = Table(title="Per branch and month")
    for column in ("branch", "month", "served", "qualifying", "share", "change",
                   "customer minutes saved"):
        months.add_column(column, justify="left" if column in ("branch", "month") else "right")
    saving = report.monthly_saving.set_index(["branch_id", "month"])["customer_minutes_saved"]
    for row in _records(report.trend):
        saved = saving.get((row["branch_id"], row["month"]))
        change = row["share_change"]
        months.add_row(row["branch_id"], row["month"], _number(row["served"], "count"),
                       _number(row["qualifying"], "count"),
                       _number(row["qualifying_share"], "share"),
                       "–" if change is None else f"{change:+.1%}",
                       _number(saved, "seconds"))
    return [head, by_type, months]


def diversion(
    branch: BranchOption = None,
    threshold: Annotated[float, typer.Option(
        "--threshold", help="Cash business under this amount (yuan) qualifies (default "
        f"{DIVERSION_THRESHOLD:,.0f}; exactly the threshold does not).")] = DIVERSION_THRESHOLD,
    share: Annotated[float, typer.Option(
        "--share", help="The share of the qualifying tickets moved to machines, 0 to 1, for "
        "the wait saved.")] = 0.5,
    types: Annotated[str | None, typer.Option(
        "--types", help="Other self-service-capable business types, comma-separated, any "
        f"amount (default {','.join(SELF_SERVICE_TYPES)}; none for none).")] = None,
    cash_types: Annotated[str | None, typer.Option(
        "--cash-types", help="Cash business types that qualify under the threshold (default "
        f"{','.join(CASH_TYPES)}; none for none).")] = None,
    target_wait: TargetWaitOption = DEFAULT_TARGET_WAIT,
    start: FromOption = None,
    end: ToOption = None,
    source: SourceOption = "auto",
    baseline_file: BaselineOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
) -> None:
    """Self-service diversion: the small cash deposits and withdrawals (under --threshold) and
    other self-service-capable types served at the counters, the counter time they took, and
    the wait moving --share of them to machines would save (Erlang C, or Erlang A where
    abandonment is material, as in procmine staffing; per branch and 15-minute interval at
    the counters open), with the qualifying share per branch and month. Tickets without
    amounts are not guessed: the report says so.
    """
    filters = queue_filter(branch, target_wait, start, end, source)
    store = EventStore(home)
    baseline = load_baseline(baseline_file)
    engine = get_engine(engine_name, store, master)
    try:
        report = diversion_report(store, baseline, filters, threshold=threshold,
                                  cash_types=_codes(cash_types, CASH_TYPES),
                                  other_types=_codes(types, SELF_SERVICE_TYPES), share=share,
                                  engine=engine)
    finally:
        engine.close()
    if as_json:
        print_json(report.to_dict())
        return
    out = Console()
    scope = f"branch {branch}" if branch else "all branches"
    for table in _diversion_tables(report, f"Self-service diversion, {scope} "
                                          f"({report.source})"):
        out.print(table)
    if report.message:
        Console(stderr=True).print(f"[yellow]{report.message}[/yellow]")


def _windows_tables(report: WindowReport, title: str) -> list[Table]:
    head = Table(title=title, show_header=False)
    head.add_row("VIP windows served / of them non-VIP customers",
                 f"{report.vip_window_served:,} / {report.vip_window_nonvip:,}")
    head.add_row("non-VIP served at a VIP window while a VIP waited (at peaks)",
                 f"{report.vip_window_nonvip_while_vip_waited:,} "
                 f"({report.vip_window_nonvip_while_vip_waited_at_peaks:,})")
    head.add_row("VIP served at a regular window while a regular customer waited over "
                 f"{report.target_seconds:g} s (at peaks)",
                 f"{report.regular_window_vip_while_regular_waited:,} "
                 f"({report.regular_window_vip_while_regular_waited_at_peaks:,})")
    head.add_row("VIP-window time on non-VIP customers (at peaks)",
                 f"{_number(report.nonvip_time_share, 'share')} "
                 f"({_number(report.nonvip_time_share_at_peaks, 'share')})")
    head.add_row("peak intervals (mean wait over the target)", f"{report.peak_intervals:,}")
    waits = Table(title="Waits by window type and segment")
    for column in ("window", "segment", "served", "mean wait s", "p90 wait s", "service level",
                   "mean service s"):
        waits.add_column(column, justify="left" if column in ("window", "segment") else "right")
    for row in _records(report.by_window_segment):
        waits.add_row(str(row["window_type"]), str(row["segment"]),
                      _number(row["served"], "count"),
                      _number(row["mean_wait_seconds"], "seconds"),
                      _number(row["p90_wait_seconds"], "seconds"),
                      _number(row["service_level"], "share"),
                      _number(row["mean_service_seconds"], "seconds"))
    return [head, waits]


def windows(
    branch: BranchOption = None,
    vip_windows: Annotated[str | None, typer.Option(
        "--vip-windows", help="Window types that are VIP windows, comma-separated (default "
        f"{','.join(VIP_WINDOWS)}).")] = None,
    vip_segments: Annotated[str | None, typer.Option(
        "--vip-segments", help="Customer segments that are VIP customers, comma-separated "
        f"(default {','.join(VIP_SEGMENTS)}).")] = None,
    target_wait: TargetWaitOption = DEFAULT_TARGET_WAIT,
    start: FromOption = None,
    end: ToOption = None,
    source: SourceOption = "auto",
    home: HomeOption = None,
    as_json: JsonOption = False,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
) -> None:
    """VIP and other windows: waits and service by window type and segment; how often a VIP
    window called a non-VIP customer while a VIP customer was waiting, and a regular window a
    VIP while a regular customer had waited longer than --target-wait, overall and at peaks
    (intervals whose mean wait is over the target); the share of VIP-window time spent on
    non-VIP customers.
    """
    filters = queue_filter(branch, target_wait, start, end, source)
    store = EventStore(home)
    engine = get_engine(engine_name, store, master)
    try:
        report = window_report(
            store, filters,
            vip_windows=tuple(v.strip() for v in vip_windows.split(",")) if vip_windows
            else VIP_WINDOWS,
            vip_segments=tuple(v.strip() for v in vip_segments.split(",")) if vip_segments
            else VIP_SEGMENTS,
            engine=engine)
    finally:
        engine.close()
    if as_json:
        print_json(report.to_dict())
        return
    out = Console()
    scope = f"branch {branch}" if branch else "all branches"
    for table in _windows_tables(report, f"Windows, {scope} ({report.source})"):
        out.print(table)
