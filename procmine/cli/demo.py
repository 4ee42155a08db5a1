"""``procmine demo-data``: a generated demo log with the truth it hides, or the bundled one.

Thin: parses the options into a :class:`procmine.DemoConfig` and calls
:func:`procmine.write_demo_data` (or :func:`procmine.write_bundled_demo`). Every injection is
off unless asked for; ``truth.json`` lists what was injected, where, and on how many cases.

Example:
    $ procmine demo-data demo --events 200000 --seed 3
    $ procmine demo-data demo --events 400000 --conditional-slow 2 --waits 2 --slow-branch 1.3
    $ procmine demo-data demo --start 2026-09-15 --days 47 --branch-start B06=2026-10-01
    $ procmine demo-data demo --slow-steps 0 --branch-slow-steps 0 --habits 1.25
    $ procmine demo-data demo --wrong-standard P18:2 --completion-only
    $ procmine demo-data demo --events 150000 --deviations 1 --deviation-share 0.3
    $ procmine demo-data event_logs --bundled
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from procmine import (
    DEMO_DATA,
    DEMO_TICKETS_FILE,
    DEMO_TICKETS_MAP,
    DemoConfig,
    EventStore,
    NotADemoWorkspace,
    ProcmineError,
    build_demo_workspace,
    parse_branch_start,
    parse_revision,
    parse_wrong_standard,
    write_bundled_demo,
    write_demo_data,
)
from procmine.cli.common import (
    HomeOption,
    JsonOption,
    err,
    out,
    print_json,
    progress_bar,
    start_warm_up_for,
)
from procmine.cli.store_commands import print_ingest

__all__ = ["demo_data", "demo_workspace"]


def _opt(name: str, help_text: str, **kwargs: Any) -> Any:
    return typer.Option(name, help=help_text, **kwargs)


Count = Annotated[int | None, _opt("--events", "Approximate number of events (default 100000).")]
Seed = Annotated[int | None, _opt("--seed", "Random seed (same seed, same log; default 7).")]
Fmt = Annotated[str | None, _opt("--format", "csv (the default) or parquet.")]
Revisions = Annotated[list[str] | None, _opt(
    "--revision",
    "An SOP revision that takes effect in the data, TYPE:ACTIVITY:FACTOR:DATE[:BRANCH=DATE,...]: "
    "from DATE the step takes FACTOR times as long, e.g. 'P18:Count cash:0.7:2026-10-12' (30% "
    "faster at every branch); with branches, only those adopt it, each on its own date, e.g. "
    "'P18:Count cash:0.7:2026-10-12:B01=2026-10-05,B02=2026-10-19'. Repeatable.")]
Bundled = Annotated[bool, _opt(
    "--bundled",
    "Write the log bundled in event_logs/ (demo_events.parquet, demo_truth.json): 200,000 "
    "events, seed 7 and one SOP revision story (P18 'Count cash' 30% faster, adopted by B01-B03 "
    "and later by B04-B06). Takes no other option.")]
Start = Annotated[str | None, _opt(
    "--start", "First day of the log, YYYY-MM-DD (default 2026-09-01); may be mid-month.")]
Days = Annotated[int | None, _opt(
    "--days", "Calendar days the log covers from --start (default: whole months, at least two).",
    min=1)]
BranchStarts = Annotated[list[str] | None, _opt(
    "--branch-start", "BRANCH=DATE: the branch reports only from DATE on (its period is "
    "shorter). Repeatable.")]
Branches = Annotated[int | None, _opt("--branches", "Branches (default 6).")]
Tellers = Annotated[int | None, _opt("--tellers-per-branch", "Tellers per branch (default 8).")]
SlowSteps = Annotated[int | None, _opt(
    "--slow-steps", "Tellers slow 2-3x at one step of a common type (default 6).", min=0)]
BranchSlowSteps = Annotated[int | None, _opt(
    "--branch-slow-steps", "Branches slow 2x at one step of a common type (default 1).", min=0)]
Conditional = Annotated[int | None, _opt(
    "--conditional-slow", "Tellers slow at one step of a common type only from 15:00 (the "
    "closing hour band); truth.json: conditional_slow_steps.", min=0)]
ConditionalFactor = Annotated[float | None, _opt(
    "--conditional-factor", "How much slower the conditional slow steps are (default 2.5).")]
Waits = Annotated[int | None, _opt(
    "--waits", "Tellers (and one whole branch) waiting before one step: the supervisor's "
    "authorization where they have enough of them, else a common teller step; the step itself "
    "unchanged. truth.json: waits.", min=0)]
WaitBranches = Annotated[int | None, _opt(
    "--wait-branches", "Whole branches waiting with --waits (default 1).", min=0)]
WaitSeconds = Annotated[float | None, _opt(
    "--wait-seconds", "Seconds of the injected waits (default 120).")]
SlowBranch = Annotated[float | None, _opt(
    "--slow-branch", "One branch of typical tellers takes FACTOR times as long at every step "
    "(e.g. 1.2). truth.json: slow_overall.")]
SlowTeller = Annotated[float | None, _opt(
    "--slow-teller", "One typical teller takes FACTOR times as long at every step (e.g. 1.5).")]
WrongStandards = Annotated[list[str] | None, _opt(
    "--wrong-standard", "TYPE:FACTOR: everyone takes FACTOR times as long at every step of TYPE, "
    "so the baseline's standard is FACTOR times too low (0.5: twice too high). Repeatable.")]
Habits = Annotated[float | None, _opt(
    "--habits", "Tellers' own pace at each step drawn between 1/MAX and MAX (e.g. 1.25) in "
    "place of the small personal deviations: variation, not an anomaly.")]
Deviations = Annotated[int | None, _opt(
    "--deviations", "Tellers per kind of deviation from the SOP: a skipped control step (and, "
    "in a log big enough, one that large cash brings), an extra step, a repeated step, each in "
    "a share of the teller's cases of a type an SOP governs. truth.json: deviations.", min=0)]
DeviationShare = Annotated[float | None, _opt(
    "--deviation-share", "The share of such a teller's cases of the type that deviate "
    "(default 0.3).")]
CompletionOnly = Annotated[bool, _opt(
    "--completion-only", "Leave the start_time column out of the written log (times then come "
    "from the completion timestamps).")]


def demo_data(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write events.csv and truth.json.")],
    events: Count = None, seed: Seed = None, fmt: Fmt = None, revision: Revisions = None,
    bundled: Bundled = False, start: Start = None, days: Days = None,
    branch_start: BranchStarts = None, branches: Branches = None,
    tellers_per_branch: Tellers = None, slow_steps: SlowSteps = None,
    branch_slow_steps: BranchSlowSteps = None, conditional_slow: Conditional = None,
    conditional_factor: ConditionalFactor = None, waits: Waits = None,
    wait_branches: WaitBranches = None, wait_seconds: WaitSeconds = None,
    slow_branch: SlowBranch = None, slow_teller: SlowTeller = None,
    wrong_standard: WrongStandards = None, habits: Habits = None,
    deviations: Deviations = None, deviation_share: DeviationShare = None,
    completion_only: CompletionOnly = False, as_json: JsonOption = False,
) -> None:
    """Generate a realistic teller event log over all 58 business types, with injected slow
    steps, waits, slow branches and tellers, wrong standards, deviations from the SOP and SOP
    revisions listed in truth.json."""
    settings: dict[str, Any] = {
        "events": events, "seed": seed, "branches": branches,
        "tellers_per_branch": tellers_per_branch, "slow_steps": slow_steps,
        "branch_slow_steps": branch_slow_steps, "days": days,
        "conditional_slow": conditional_slow, "conditional_factor": conditional_factor,
        "waits": waits, "wait_branches": wait_branches, "wait_seconds": wait_seconds,
        "slow_branch": slow_branch, "slow_teller": slow_teller, "habits": habits,
        "deviations": deviations, "deviation_share": deviation_share,
        "start": _day(start) if start is not None else None,
        "revisions": tuple(parse_revision(text) for text in revision or ()) or None,
        "wrong_standards": tuple(parse_wrong_standard(t) for t in wrong_standard or ()) or None,
        "branch_starts": tuple(parse_branch_start(t) for t in branch_start or ()) or None,
        "completion_only": completion_only or None,
    }
    given = {name: value for name, value in settings.items() if value is not None}
    if bundled and (given or fmt is not None):
        raise ProcmineError("--bundled fixes every setting; leave out --events, --seed, "
                            "--format, --revision and the other settings")
    fmt = fmt or "csv"
    if fmt not in ("csv", "parquet"):
        raise ProcmineError(f"--format must be csv or parquet, not {fmt!r}")
    with progress_bar(err.is_terminal and not as_json) as progress:
        report = (lambda f: progress("generate", f)) if progress else None
        if bundled:
            result = write_bundled_demo(out_dir, progress=report)
        else:
            result = write_demo_data(out_dir, DemoConfig(**given), fmt=fmt, progress=report)
    if as_json:
        print_json(vars(result))
    else:
        out.print(
            f"wrote {result.events:,} events ({result.cases:,} transactions, {result.first_day} "
            f"to {result.last_day}) to {result.events_path}; injected slow steps and revisions "
            f"in {result.truth_path}"
        )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ProcmineError(f"--start {text!r} is not a date; expected YYYY-MM-DD") from None


def demo_workspace(
    home: HomeOption = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if it exists.")] = False,
) -> None:
    """Build the demo workspace from the bundled log in event_logs/ (skipped when the store
    already has data), with its users, SOP library and, once, its training room (question
    bank, a past paper with attempts, spot checks). Only in an empty workspace or one it built
    itself: a workspace with real data is left as it is (a message, exit code 0), so that
    'make run' can serve it."""
    try:
        report = build_demo_workspace(home, force=force)
    except NotADemoWorkspace as exc:
        if force:
            raise
        err.print(f"[yellow]note:[/yellow] {exc}", highlight=False)
        return
    if report is None:
        out.print(f"demo workspace already present in {EventStore(home).home}")
    else:
        print_ingest(report)
        start_warm_up_for(EventStore(home), quiet=False)  # its first views, as after an ingest
    export = EventStore(home).home / DEMO_DATA / DEMO_TICKETS_FILE
    if export.is_file():
        out.print(f"the demo lobby's queue-system export: {export} (in the store's tickets; "
                  f"its mapping: event_logs/mappings/{DEMO_TICKETS_MAP})", highlight=False)
