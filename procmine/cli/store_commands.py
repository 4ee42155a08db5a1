"""The store's commands: ``procmine ingest`` and ``procmine info``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from procmine import (
    QUARANTINE_REASONS,
    TICKET_REASONS,
    WARNINGS,
    EventStore,
    Limits,
    ingest_log,
    ingest_tickets,
    load_baseline,
    load_column_map,
    load_ticket_map,
    read_map_kind,
    use_limits,
    warm,
)
from procmine.cli.common import (
    BaselineOption,
    HomeOption,
    JsonOption,
    NoWarmOption,
    WaitOption,
    err,
    out,
    print_json,
    progress_bar,
    start_warm_up_for,
)

__all__ = ["info", "ingest", "print_ingest", "warm_command"]


def _refresh_after_ingest(home: Path | None, *, quiet: bool, **options: Any) -> None:
    """The improvement register's refresh after an ingest, in a workspace with an app database
    (where a register can be). Its module, whose imports take seconds, is loaded only then: the
    ingest itself needs none of it."""
    from procmine import has_app_database

    if not has_app_database(home):
        return
    from procmine.cli.improve import refresh_after_ingest

    refresh_after_ingest(home, quiet=quiet, **options)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Event-log files: CSV, XES, XES.gz, "
                                                "Parquet or Excel (.xlsx).")],
    map_file: Annotated[
        Path | None,
        typer.Option("--map", help="YAML column mapping (canonical name: column in the file); "
                     "a mapping with 'kind: tickets' reads a queue-system export (one row "
                     "per ticket or call) into the store's tickets."),
    ] = None,
    baseline_file: BaselineOption = None,
    wait: WaitOption = 600.0,
    earliest: Annotated[
        datetime | None,
        typer.Option("--earliest", formats=["%Y-%m-%d"],
                     help="Timestamps before this date are implausible (default 2000-01-01)."),
    ] = None,
    latest_days: Annotated[
        int, typer.Option("--latest-days",
                          help="Timestamps later than this many days after today are "
                               "implausible.")
    ] = 1,
    max_step_hours: Annotated[
        float, typer.Option("--max-step-hours",
                            help="Steps longer than this (end - start) are implausible.")
    ] = 8.0,
    home: HomeOption = None,
    as_json: JsonOption = False,
    max_decompressed_mb: Annotated[int | None, typer.Option(
        "--max-decompressed-mb", min=1,
        help="Refuse an XES file whose XML text (decompressed) is larger (default 2048).")] = None,
    max_columns: Annotated[int | None, typer.Option(
        "--max-columns", min=1,
        help="Refuse an XES file with more attribute keys, a sheet with more columns "
        "(default 500).")] = None,
    max_cells: Annotated[int | None, typer.Option(
        "--max-cells", min=1,
        help="Refuse an Excel sheet whose used range has more cells (default 5,000,000).")] = None,
    no_warm: NoWarmOption = False,
) -> None:
    """Check event-log files row by row and add the good rows to the store.

    Rows that cannot be loaded go to a quarantine CSV with their line and reason; read (counted
    from the file) = loaded + quarantined always holds (for XES, start/complete pairs merge two
    events into one row); blank CSV lines are counted apart. Re-ingesting a file adds nothing.
    Timestamps outside the plausible window, overlong steps and control characters in
    identifiers are quarantined too. A queue-system export (one row per ticket or call) is
    read through a mapping that says kind: tickets, with the same guarantees. One ingest at a
    time per workspace: a second one waits
    (--wait seconds at most). A file over a resource limit is refused whole; the limits also
    come from PROCMINE_MAX_... environment variables (see the README). Then the dashboard's
    kept results are computed again for the new data in the background (procmine warm).
    """
    plausible: dict[str, Any] = {"latest_days": latest_days, "max_step_hours": max_step_hours}
    if earliest is not None:
        plausible["earliest"] = earliest.date()
    limits = Limits.from_env().with_overrides(
        max_decompressed_mb=max_decompressed_mb, max_columns=max_columns, max_cells=max_cells)
    with use_limits(limits):
        _ingest(paths, map_file, baseline_file, home, as_json, wait, plausible)
    if not no_warm:
        start_warm_up_for(EventStore(home), quiet=as_json)


def _ingest(paths: list[Path], map_file: Path | None, baseline_file: Path | None,
            home: Path | None, as_json: bool, wait: float, plausible: dict[str, Any]) -> None:
    kind = read_map_kind(map_file) if map_file else "events"
    if kind == "tickets":
        assert map_file is not None
        _ingest_tickets(paths, map_file, home, as_json, wait, plausible)
        return
    column_map = load_column_map(map_file) if map_file else None
    baseline = load_baseline(baseline_file)
    store = EventStore(home)
    _each_file(paths, as_json, lambda path, progress: ingest_log(
        store, path, column_map=column_map, baseline=baseline, progress=progress, wait=wait,
        on_wait=_say, **plausible))
    # the data is in: re-measure the register's items done, look for regressions
    _refresh_after_ingest(home, quiet=as_json, store=store, baseline=baseline)


def _ingest_tickets(paths: list[Path], map_file: Path, home: Path | None, as_json: bool,
                    wait: float, plausible: dict[str, Any]) -> None:
    """Queue-system exports (the mapping says kind: tickets): one ticket per row."""
    ticket_map = load_ticket_map(map_file)
    store = EventStore(home)
    _each_file(paths, as_json, lambda path, progress: ingest_tickets(
        store, path, ticket_map, progress=progress, wait=wait, on_wait=_say,
        earliest=plausible.get("earliest"), latest_days=plausible["latest_days"]))
    _refresh_after_ingest(home, quiet=as_json, store=store)


def _say(message: str) -> None:
    err.print(message, highlight=False)


def _each_file(paths: list[Path], as_json: bool, ingest_one: Callable[[Path, Any], Any]) -> None:
    """Ingest each file with a progress bar (``ingest_one(path, progress)`` gives its report):
    each report printed as it comes, or all of them as JSON at the end."""
    reports = []
    for path in paths:
        with progress_bar(err.is_terminal and not as_json) as progress:
            report = ingest_one(path, progress)
        reports.append(report)
        if not as_json:
            print_ingest(report)
    if as_json:
        data = [r.to_dict() for r in reports]
        print_json(data[0] if len(data) == 1 else data)


def print_ingest(report: Any) -> None:
    kind = "" if report.kind == "events" else f", {report.kind}"
    out.print(f"[bold]{report.source}[/bold] ({report.format}{kind}, "
              f"{report.seconds:.1f} s)")
    line = (
        f"  read {report.read:,}  loaded [green]{report.loaded:,}[/green]  "
        f"quarantined [red]{report.quarantined:,}[/red]"
    )
    if report.merged_by_pairing:
        line += f"  start/complete pairs merged {report.merged_by_pairing:,}"
    if report.blank_lines:
        line += f"  blank lines {report.blank_lines:,}"
    out.print(line)
    if report.pairing:
        p = report.pairing
        out.print(
            f"  lifecycle: {p['start_events']:,} start + {p['complete_events']:,} complete "
            f"events -> {p['paired']:,} paired rows, {p['unmatched_complete']:,} completes "
            f"without start, {p['unmatched_start']:,} starts without complete"
        )
    for reason, n in report.reasons.items():
        reasons = TICKET_REASONS if report.kind == "tickets" else QUARANTINE_REASONS
        out.print(f"  [red]{n:>10,}[/red]  {reason}: {reasons[reason]}")
    for warning, n in report.warnings.items():
        out.print(f"  [yellow]{n:>10,}[/yellow]  warning {warning}: {WARNINGS[warning]}")
    if report.quarantine_file:
        out.print(f"  quarantine: {report.quarantine_file}")


def info(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Show what is in the store: events, cases, tellers, branches, period, ingests."""
    store = EventStore(home)
    summary = store.info()
    if as_json:
        data = summary.to_dict()
        data["quarantine_reasons"] = store.quarantine_summary()
        print_json(data)
        return
    table = Table(title=f"procmine store: {summary.home}", show_header=False)
    for key, value in summary.to_dict().items():
        if key != "home":
            table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int)
                          else str(value))
    out.print(table)
    reasons = store.quarantine_summary()
    if reasons:
        out.print("quarantined by reason: " + ", ".join(f"{k} {v:,}" for k, v in reasons.items()))


def warm_command(
    home: HomeOption = None,
    as_json: JsonOption = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", help="Print nothing (how an ingest starts it in the background).")] = False,
) -> None:
    """Compute again, for the store as it is now, the results the dashboard kept for its pages
    (the ones people opened), slowest first, so that the first view after an ingest is as fast
    as a repeated one. A workspace whose pages nobody has opened yet gets the results its
    roles' first pages read.

    An ingest and a batch drop start it in the background; a page opened meanwhile waits for
    a result being computed rather than computing it twice.
    """
    store = EventStore(home)
    with progress_bar(err.is_terminal and not (as_json or quiet)) as progress:
        report = warm(store, progress)
    if quiet:
        return
    if as_json:
        print_json(report.to_dict())
        return
    state = "stopped: the store changed" if report.stopped else "done"
    out.print(f"warm-up of store version {report.version}: the first views "
              f"({report.first_views:,} results) and {report.computed:,} kept results "
              f"computed in {report.seconds:.1f} s ({state})")
    for target, error in report.failed.items():
        out.print(f"  [yellow]failed[/yellow] {target}: {error}", highlight=False)
