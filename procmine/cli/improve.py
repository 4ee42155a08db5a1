"""``procmine improve``: the improvement register from the command line.

An item records what was decided about a finding of ``procmine bottlenecks`` (``--finding N``:
its number in that list, with the same ``--month`` and ``--kind``), a shortfall of
``procmine staffing`` (``--shortfall N``: the N-th suggestion to open windows, in that list's
order) or a deviation from the SOP of ``procmine conformance`` (``--deviation N``: its finding
N, with the same ``--type``, ``--month`` and ``--branch``; the review group defaults to the
finding's, the compliance group for a skipped control step): the evidence frozen as it stood,
the cause, the change proposed, the review group, an owner, a due day and a decision; then its
lifecycle (``set-status``), its assignment (``assign``), what it produced (``link``), the
escalation report for the superior bank (``report``), the bank's causes (``causes``) and the
re-measurement (``refresh``).

Thin, like the rest of the command line: each command parses its options and calls the
register through the facade (:func:`procmine.open_improvement` and its neighbours); the library
checks the role of the user named with ``--as`` (a user of the app database, as the training
commands have it; no password: the command line is the workspace administrator's tool).
Mistakes raise ProcmineError, which ``procmine.cli.main.main`` prints without a traceback.

Example:
    $ procmine improve add --finding 1 --cause procedure --group accounting-and-cash --as ops
    $ procmine improve add --deviation 1 --type P18 --cause training --as ops
    $ procmine improve list --status proposed --status accepted --as reviewer
    $ procmine improve set-status 7 accepted --decision revise_sop --as reviewer
    $ procmine improve link 7 --sop SOP-P18@3.0 --as reviewer
    $ procmine improve set-status 7 done --on 2026-09-21 --as reviewer
    $ procmine improve report --excel escalated.xlsx --html escalated.html --as ops
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from procmine import (
    DEFAULT_TARGET_WAIT,
    IMPROVEMENT_DECISIONS,
    IMPROVEMENT_STATUSES,
    REVIEW_GROUPS,
    ROLES,
    EventStore,
    ImprovementItem,
    ProcmineError,
    QueueFilter,
    RefreshReport,
    SopLibrary,
    Subject,
    User,
    add_improvement_cause,
    deviation_subject,
    escalated_items,
    export_escalation_excel,
    export_escalation_html,
    finding_subject,
    get_improvement,
    improvement_causes,
    link_improvement,
    list_improvements,
    load_baseline,
    normalize_language,
    open_improvement,
    queue_summary,
    refresh_register,
    set_improvement_status,
    shortfall_subject,
    staffing_plan,
    update_improvement,
)
from procmine.cli.analysis import run_bottlenecks
from procmine.cli.common import (
    BaselineOption,
    CliApp,
    HomeOption,
    JsonOption,
    err,
    parse_day,
    print_json,
)
from procmine.cli.conformance import run_deviation_findings
from procmine.cli.improve_view import item_text, measurement_line, print_items, wrap
from procmine.cli.queue import queue_filter
from procmine.cli.training import acting_user

__all__ = ["improve_app", "known_versions", "refresh_after_ingest", "refresh_text"]

improve_app = CliApp(help="The improvement register: decisions on findings, their "
                          "lifecycle, links, re-measurement and escalation.",
                          no_args_is_help=True)

AsOption = Annotated[str, typer.Option("--as", help="Act as this user of the app database.")]
ItemArgument = Annotated[int, typer.Argument(help="The item's number.")]
GroupOption = Annotated[str | None, typer.Option(
    "--group", help=f"Review group: {', '.join(REVIEW_GROUPS)}.")]
OwnerOption = Annotated[str | None, typer.Option("--owner", help="Who carries it out.")]
DueOption = Annotated[str | None, typer.Option("--due", help="Due day, YYYY-MM-DD.")]
DecisionOption = Annotated[str | None, typer.Option(
    "--decision", help=f"Decision: {', '.join(IMPROVEMENT_DECISIONS)}.")]
ReasonOption = Annotated[str | None, typer.Option(
    "--reason", help="Why (needed for no_action).")]
ChangeOption = Annotated[str | None, typer.Option("--change", help="The change proposed.")]
BranchActionOption = Annotated[str | None, typer.Option(
    "--branch-action", help="What the branch did itself.")]
StatusesOption = Annotated[list[str] | None, typer.Option(
    "--status", metavar="STATUS",
    help=f"Only these (repeatable): {', '.join(IMPROVEMENT_STATUSES)}.")]


def _user(name: str, home: Path | None) -> User:
    """The user ``--as`` names (any role: the register says what each may do)."""
    return acting_user(name, home, roles=tuple(ROLES))


def _console() -> Console:
    # made per call: the width follows the terminal (or COLUMNS) of this run
    return Console()


def _say(lines: list[str]) -> None:
    out = _console()
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


# -- add -----------------------------------------------------------------------------------------


def _as_of(store: EventStore, month: str | None) -> date | None:
    """The last day of the data the figures came from (of ``month``, when one is given)."""
    last = store.info().last_event
    day = date.fromisoformat(last[:10]) if last else None
    if month and day is not None:
        year, number = (int(part) for part in month.split("-")[:2])
        end = date(year + number // 12, number % 12 + 1, 1).toordinal() - 1
        day = min(day, date.fromordinal(end))
    return day


def _pick(count: int, n: int, what: str, command: str) -> int:
    if not 1 <= n <= count:
        raise ProcmineError(f"{what} {n}: '{command}' lists {count}; give a number from 1 to "
                            f"{count}" if count else f"{what} {n}: '{command}' lists none")
    return n - 1


def _finding_subject(store: EventStore, n: int, baseline_file: Path | None, month: str | None,
                     kinds: list[str] | None) -> Subject:
    """Finding ``n`` of ``procmine bottlenecks --month M --kind K`` (its defaults), frozen."""
    findings = run_bottlenecks(store, load_baseline(baseline_file), month=month, kinds=kinds)
    finding = findings[_pick(len(findings), n, "--finding", "procmine bottlenecks")]
    return finding_subject(finding, as_of=_as_of(store, month), store_version=store.version(),
                           library=SopLibrary.open(store.home))


def _shortfall_subject(store: EventStore, n: int) -> Subject:
    """Shortfall ``n`` of ``procmine staffing`` (its defaults: every branch, all days, a 600 s
    target wait for 80% of the customers), frozen with its branch's queue figures."""
    filters = queue_filter(None, DEFAULT_TARGET_WAIT, None, None, "auto")
    plan = staffing_plan(store, filters, target_share=0.8)
    shortfalls = [s for s in plan.shifts if s.reason == "shortfall"]
    shift = shortfalls[_pick(len(shortfalls), n, "--shortfall",
                             "procmine staffing (open more windows)")]
    summary = queue_summary(store, QueueFilter(branch=shift.branch_id,
                                               target_wait=DEFAULT_TARGET_WAIT))
    branch = plan.branches[plan.branches["branch_id"] == shift.branch_id]
    figures: dict[str, Any] = {
        "service_level": summary.service_level.get("share"),
        "target_wait": DEFAULT_TARGET_WAIT, "target_share": 0.8,
        "mean_wait_seconds_served": summary.mean_wait_seconds_served,
        "p90_wait_seconds_served": summary.p90_wait_seconds_served,
        **({str(k): v for k, v in branch.iloc[0].to_dict().items() if k != "branch_id"}
           if not branch.empty else {}),
    }
    last = summary.last_day
    as_of = date.fromisoformat(str(last)[:10]) if last else _as_of(store, None)
    return shortfall_subject(shift.to_dict(), as_of=as_of, store_version=store.version(),
                             figures=figures)


def _deviation_subject(home: Path | None, store: EventStore, n: int, business_type: str | None,
                       month: str | None, branch: str | None) -> tuple[Subject, str]:
    """Finding ``n`` of ``procmine conformance`` (same type, month and branch), frozen, and its
    review group."""
    _, findings = run_deviation_findings(home, business_type=business_type, month=month,
                                         branch=branch)
    finding = findings[_pick(len(findings), n, "--deviation", "procmine conformance")]
    subject = deviation_subject(finding, as_of=_as_of(store, month),
                                store_version=store.version())
    return subject, finding.review_group


def _subject(home: Path | None, store: EventStore, picks: tuple[int | None, ...],
             baseline_file: Path | None, month: str | None, kinds: list[str] | None,
             business_type: str | None, branch: str | None) -> tuple[Subject, str | None]:
    """The subject ``--finding``, ``--shortfall`` or ``--deviation`` names, and its default
    review group (a deviation's; None for the others)."""
    finding, shortfall, deviation = picks
    if sum(p is not None for p in picks) != 1:
        raise ProcmineError("give one of --finding N, --shortfall N or --deviation N")
    if deviation is None and (business_type or branch):
        raise ProcmineError("--type and --branch go with --deviation N (as procmine "
                            "conformance has them)")
    if finding is not None:
        return _finding_subject(store, finding, baseline_file, month, kinds), None
    if shortfall is not None:
        return _shortfall_subject(store, shortfall), None
    return _deviation_subject(home, store, deviation or 0, business_type, month, branch)


@improve_app.command("add")
def add(
    as_user: AsOption,
    cause: Annotated[str, typer.Option("--cause", help="The cause (procmine improve causes).")],
    group: Annotated[str | None, typer.Option(
        "--group", help=f"Review group: {', '.join(REVIEW_GROUPS)} (a deviation: its "
        "finding's by default).")] = None,
    finding: Annotated[int | None, typer.Option(
        "--finding", help="Finding N of procmine bottlenecks (same --month, --kind).")] = None,
    shortfall: Annotated[int | None, typer.Option(
        "--shortfall", help="Shortfall N of procmine staffing (windows to open).")] = None,
    deviation: Annotated[int | None, typer.Option(
        "--deviation", help="Finding N of procmine conformance (same --type, --month, "
        "--branch).")] = None,
    change: ChangeOption = None,
    owner: OwnerOption = None,
    due: DueOption = None,
    decision: DecisionOption = None,
    reason: ReasonOption = None,
    branch_action: BranchActionOption = None,
    month: Annotated[str | None, typer.Option(
        "--month", help="As bottlenecks (or conformance) --month, YYYY-MM.")] = None,
    kinds: Annotated[list[str] | None, typer.Option(
        "--kind", metavar="KIND", help="As bottlenecks --kind (repeatable).")] = None,
    business_type: Annotated[str | None, typer.Option(
        "--type", metavar="CODE", help="As conformance --type (with --deviation).")] = None,
    branch: Annotated[str | None, typer.Option(
        "--branch", help="As conformance --branch (with --deviation).")] = None,
    baseline_file: BaselineOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open an item on a finding, a queue shortfall or a deviation from the SOP, its evidence
    frozen as it stands now."""
    user = _user(as_user, home)
    store = EventStore(home)
    subject, default = _subject(home, store, (finding, shortfall, deviation), baseline_file,
                                month, kinds, business_type, branch)
    group = group or default
    if group is None:
        raise ProcmineError(f"--group is needed: one of {', '.join(REVIEW_GROUPS)}")
    item = open_improvement(
        subject, user=user, cause=cause, review_group=group, proposed_change=change or "",
        owner=owner or "", due_on=parse_day(due, "--due"), decision=decision,
        decision_reason=reason or "", branch_action=branch_action or "", home=home)
    if as_json:
        print_json(item.to_dict())
        return
    _say(wrap(f"Opened item #{item.id}: {item.subject.summary_in('en')} "
              f"({item.review_group}, due {item.due_on})", _console().width, 2))


# -- list and show -------------------------------------------------------------------------------


@improve_app.command("list")
def list_(
    as_user: AsOption,
    group: GroupOption = None,
    statuses: StatusesOption = None,
    owner: OwnerOption = None,
    due_by: Annotated[str | None, typer.Option(
        "--due-by", help="Due on or before this day, YYYY-MM-DD.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open items past due.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The items you may see, newest first: number, status, group, owner, due, hours, what."""
    user = _user(as_user, home)
    today = date.today()
    items = list_improvements(user=user, home=home, review_group=group,
                              status=statuses or None, owner=owner,
                              due_by=parse_day(due_by, "--due-by"),
                              overdue_on=today if overdue else None)
    if as_json:
        print_json([i.to_dict() for i in items])
        return
    if not items:
        _console().print("No improvement items match.", highlight=False)
        return
    print_items(_console(), items, f"Improvement register: {len(items)} items", today=today)


@improve_app.command("show")
def show(item_id: ItemArgument, as_user: AsOption, home: HomeOption = None,
         as_json: JsonOption = False) -> None:
    """One item: evidence, decision, links, history, measurement and regression."""
    item = get_improvement(item_id, user=_user(as_user, home), home=home)
    if as_json:
        print_json(item.to_dict())
        return
    _say(item_text(item, _console().width, today=date.today()))


# -- set-status, assign, link --------------------------------------------------------------------


def _refresh(home: Path | None, **options: Any) -> RefreshReport:
    return refresh_register(home, **options)


def _after_done(item: ImprovementItem, user: User, home: Path | None) -> str:
    """Re-measure an item just closed as done; the line saying what came of it."""
    try:
        _refresh(home, item_ids=[item.id])
    except Exception as exc:  # the status is recorded: a failed measurement is said, not raised
        return f"not re-measured now ({exc}); procmine improve refresh measures it"
    item = get_improvement(item.id, user=user, home=home)
    line = measurement_line(item)
    if item.status == "done":
        awaiting = f"awaiting data after {item.changed_on}"
        return f"{awaiting}: {line}" if line else awaiting
    return f"measured: {line}" if line else f"now {item.status}"


def _done(item: ImprovementItem, as_json: bool) -> None:
    if as_json:
        print_json(item.to_dict())
    else:
        _say(wrap(f"Item #{item.id} is {item.status}: {item.subject.summary_in('en')}",
                  _console().width, 2))


@improve_app.command("set-status")
def set_status(
    item_id: ItemArgument,
    status: Annotated[str, typer.Argument(help=f"One of {', '.join(IMPROVEMENT_STATUSES)}.")],
    as_user: AsOption,
    note: Annotated[str | None, typer.Option("--note", help="A note (needed to reject).")] = None,
    decision: DecisionOption = None,
    reason: ReasonOption = None,
    on: Annotated[str | None, typer.Option(
        "--on", help="For done: the day the change took effect, YYYY-MM-DD.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move an item: accepted, rejected, in_progress, done (re-measured at once), proposed."""
    user = _user(as_user, home)
    item = set_improvement_status(item_id, status, user=user, home=home, note=note or "",
                                  decision=decision, decision_reason=reason,
                                  changed_on=parse_day(on, "--on"))
    line = _after_done(item, user, home) if item.status == "done" else ""
    if line:
        item = get_improvement(item.id, user=user, home=home)
    _done(item, as_json)
    if line:
        (err if as_json else _console()).print(line, markup=False, highlight=False)


@improve_app.command("assign")
def assign(
    item_id: ItemArgument,
    as_user: AsOption,
    group: GroupOption = None,
    owner: OwnerOption = None,
    due: DueOption = None,
    decision: DecisionOption = None,
    reason: ReasonOption = None,
    cause: Annotated[str | None, typer.Option("--cause", help="The cause.")] = None,
    change: ChangeOption = None,
    branch_action: BranchActionOption = None,
    note: Annotated[str | None, typer.Option("--note", help="A note for the history.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Assign (group, owner, due day) or decide (decision, reason, cause, change)."""
    item = update_improvement(item_id, user=_user(as_user, home), home=home, review_group=group,
                              owner=owner, due_on=parse_day(due, "--due"), decision=decision,
                              decision_reason=reason, cause=cause, proposed_change=change,
                              branch_action=branch_action, note=note or "")
    _done(item, as_json)


def known_versions(home: Path | None) -> dict[str, list[str]]:
    """The approved versions of every SOP of the workspace's library, by SOP id."""
    library = SopLibrary.open(home)
    return {sop_id: [v.sop.version for v in library.approved_versions(sop_id)]
            for sop_id in library.ids()}


@improve_app.command("link")
def link(
    item_id: ItemArgument,
    as_user: AsOption,
    sop: Annotated[str | None, typer.Option(
        "--sop", help="An SOP revision, SOP-ID@VERSION (e.g. SOP-P18@3.0).")] = None,
    paper: Annotated[int | None, typer.Option("--paper", help="A paper's id.")] = None,
    spot_check: Annotated[int | None, typer.Option(
        "--spot-check", help="A spot check's id.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Link what the decision produced: an approved SOP revision, a paper or a spot check."""
    given = [(k, v) for k, v in (("sop_revision", sop), ("paper", paper),
                                 ("spot_check", spot_check)) if v is not None]
    if len(given) != 1:
        raise ProcmineError("give one of --sop, --paper or --spot-check")
    kind, ref = given[0]
    user = _user(as_user, home)
    versions = known_versions(home) if kind == "sop_revision" else None
    item = link_improvement(item_id, kind, str(ref), user=user, home=home,
                            known_versions=versions)
    if as_json:
        print_json(item.to_dict())
        return
    _console().print(f"Linked {kind} {ref} to item #{item.id}.", highlight=False)


# -- report, causes, refresh ---------------------------------------------------------------------


@improve_app.command("report")
def report(
    as_user: AsOption,
    excel: Annotated[Path | None, typer.Option("--excel", help="Write a workbook.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write a printable page.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh-CN or en.")] = "zh-CN",
    statuses: StatusesOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The items escalated to the superior bank, as a workbook, a page or a summary (--json:
    the items, as improve list --json gives them)."""
    lang = normalize_language(lang)
    items = escalated_items(list_improvements(user=_user(as_user, home), home=home,
                                              status=statuses or None))
    out = _console()
    written = []
    if excel is not None:
        written.append(export_escalation_excel(items, excel, lang, home=home))
    if html is not None:
        written.append(export_escalation_html(items, html, lang, home=home))
    if as_json:
        print_json([i.to_dict() for i in items])
        for path in written:
            err.print(f"wrote {path}", highlight=False, markup=False)
        return
    hours = sum(i.subject.hours_per_month for i in items)
    out.print(f"{_plural(len(items), 'escalated item')}, {hours:,.1f} teller hours a month",
              highlight=False)
    if not written:
        for item in items:
            _say(wrap(f"#{item.id} {item.status} {item.review_group} "
                      f"{item.subject.hours_per_month:,.1f} h: "
                      f"{item.subject.summary_in(lang)}", out.width, 4))
    for path in written:
        out.print(f"wrote {path}", highlight=False, markup=False)


@improve_app.command("causes")
def causes(
    add_code: Annotated[str | None, typer.Option(
        "--add", metavar="CODE", help="Add a cause with this code (operations).")] = None,
    zh: Annotated[str | None, typer.Option("--zh", help="Its Chinese name.")] = None,
    en: Annotated[str | None, typer.Option("--en", help="Its English name.")] = None,
    as_user: Annotated[str | None, typer.Option(
        "--as", help="Act as this user (for --add).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The causes an item can name; with --add, add one of the bank's own."""
    if add_code is not None:
        if as_user is None:
            raise ProcmineError("--add needs --as USER (the operations department)")
        add_improvement_cause(add_code, zh or "", en or "", user=_user(as_user, home),
                              home=home)
    rows = improvement_causes(home)
    if as_json:
        print_json([{"code": c, "zh": z, "en": e} for c, z, e in rows])
        return
    view = Table(title=f"{len(rows)} causes")
    for column in ("code", "zh", "en"):
        view.add_column(column)
    for row in rows:
        view.add_row(*row)
    _console().print(view)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def refresh_text(report: RefreshReport) -> str:
    """What a refresh did, in words ("" when it changed nothing): "1 item verified,
    1 regression"."""
    verified, failed = list(report.verified), list(report.not_effective)
    parts = []
    if verified:
        parts.append(f"{_plural(len(verified), 'item')} verified")
    if failed:
        parts.append(f"{_plural(len(failed), 'item')} not effective")
    if report.regressions:
        parts.append(_plural(len(report.regressions), "regression"))
    if waiting := set(report.measured) - set(verified) - set(failed):
        parts.append(f"{_plural(len(waiting), 'item')} measured, awaiting more data")
    return ", ".join(parts)


@improve_app.command("refresh")
def refresh(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Re-measure the items done and check the verified ones for regressions, now."""
    result = _refresh(home)
    if as_json:
        print_json(dataclasses.asdict(result))
        return
    said = refresh_text(result)
    _console().print(f"Improvement register: {said}" if said else
                     "Improvement register: nothing changed", highlight=False)


def refresh_after_ingest(home: Path | None, *, quiet: bool = False, **options: Any) -> None:
    """The ingest's hook: refresh the register; one line when it changed something, a warning
    (never a failure: the data is in) when the refresh failed."""
    console = err if quiet else _console()
    try:
        result = _refresh(home, **options)
    except Exception as exc:  # the ingest succeeded whatever happens here
        err.print(f"[yellow]warning:[/yellow] the improvement register was not refreshed "
                  f"({exc}); run procmine improve refresh", highlight=False)
        return
    if said := refresh_text(result):
        console.print(f"Improvement register: {said} (procmine improve list)", highlight=False)
