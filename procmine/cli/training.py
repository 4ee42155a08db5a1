"""``procmine quiz`` and ``procmine spotcheck``: the training room from the command line.

``quiz`` keeps the question bank (generated from the approved SOPs, plus the regulation bank in
``sops/questions/``), builds closed-book papers and assigns them, shows participation and expert
rates against the targets with item analysis, and exchanges the bank with a learning platform
(GIFT, Moodle XML, Aiken). ``spotcheck`` records what a trainer or supervisor saw a teller do at
the counter, lists the checks and says who is due for one.

Thin, like the rest of the command line: each command parses its options, calls the library
(:mod:`procmine.training`) and prints the result. A command that acts for someone names them
with ``--as``: a user of the app database (a trainer or operations manager; the library checks
the role). The command line is the workspace administrator's tool (as ``procmine user`` is), so
it asks for no password; the audit trail records the user named. Mistakes raise ProcmineError,
which ``procmine.cli.main.main`` prints without a traceback.

Example:
    $ procmine quiz generate --activate
    $ procmine quiz paper --title "10月业务技能闭卷测试" --sop SOP-P17 --sop SOP-P18 \\
          --regulation aml --count 20 --due 2026-10-31 --as trainer
    $ procmine quiz assign 1 --everyone --as trainer
    $ procmine quiz results 1 --items
    $ procmine quiz export --format moodle-xml bank.xml
    $ procmine spotcheck add --teller 0102 --sop SOP-P18 --observed count_cash,enter_transaction \\
          --wrong enter_transaction --seconds 210 --as trainer
    $ procmine spotcheck due
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import typer

from procmine import (
    EXPORT_FORMATS,
    QUESTION_STATUSES,
    EventStore,
    ProcmineError,
    SopLibrary,
    User,
    add_spot_check,
    assign_paper,
    build_paper,
    expert_targets,
    export_questions,
    get_user,
    import_questions,
    item_analysis,
    list_papers,
    list_questions,
    list_spot_checks,
    monthly_rates,
    paper_results,
    spot_check_grid,
    sync_bank,
    sync_questions,
    teller_roster,
    training_targets,
)
from procmine.cli.common import (
    CliApp,
    Column,
    HomeOption,
    JsonOption,
    WideOption,
    command_actor,
    fit_table,
    out,
    parse_day,
    print_json,
    print_table,
)

__all__ = ["acting_user", "quiz_app", "spotcheck_app"]

quiz_app = CliApp(help="The question bank, closed-book papers, results and the exchange "
                       "with learning platforms.", no_args_is_help=True)
spotcheck_app = CliApp(help="Spot checks: a trainer or supervisor watches a teller work "
                            "through an SOP.", no_args_is_help=True)

AsOption = Annotated[str, typer.Option(
    "--as", help="Act as this user of the app database (a trainer or operations manager).")]
ActivateOption = Annotated[bool, typer.Option(
    "--activate", help="Make the questions active at once (papers draw from active questions) "
    "instead of new, waiting for a trainer's review.")]
MonthOption = Annotated[str | None, typer.Option("--month", help="Only this month, YYYY-MM.")]

_MANAGERS = ("trainer", "operations")



def acting_user(name: str, home: Path | None, roles: tuple[str, ...] = _MANAGERS) -> User:
    """The user ``--as`` names: enabled, and in one of ``roles``."""
    user = get_user(name.strip().lower(), home)
    if user is None or user.disabled:
        raise ProcmineError(f"--as {name}: no such user in the app database, or disabled "
                            "(see 'procmine user list')")
    if user.role not in roles:
        raise ProcmineError(f"--as {name}: a {user.role} may not do this; it takes "
                            f"{' or '.join(roles)}")
    return user



def _status(value: str | None, *, also: tuple[str, ...] = ()) -> str | None:
    """A question state named by ``--status``, checked."""
    if value is not None and value not in (*QUESTION_STATUSES, *also):
        raise ProcmineError(f"--status {value!r}: expected one of "
                            f"{', '.join((*QUESTION_STATUSES, *also))}")
    return value


def _items(values: list[str] | None) -> tuple[str, ...]:
    """Repeatable options that also take commas: ``--observed a,b --observed c``."""
    return tuple(part.strip() for value in values or () for part in value.split(",")
                 if part.strip())


def _kind(values: pd.Series) -> Literal["key", "num", "text"]:
    """Numbers, short values (ids, dates, states: never cut) or text (wraps)."""
    if pd.api.types.is_numeric_dtype(values):
        return "num"
    return "key" if values.astype(str).str.len().max() <= 12 else "text"


def _frame(frame: pd.DataFrame, title: str, optional: tuple[str, ...] = ()) -> None:
    """A frame as a table fitted to the terminal (the ``optional`` columns only where all
    fit)."""
    if frame.empty:
        out.print(f"{title}: none", highlight=False)
        return
    columns = [Column(str(c).replace("_", " "), _kind(frame[c]), essential=c not in optional)
               for c in frame.columns]
    rows = [[_cell(v, c in _SHARES) for c, v in zip(frame.columns, row, strict=True)]
            for row in frame.itertuples(index=False)]
    print_table(fit_table(title, columns, rows))


#: columns that hold a share (0..1), shown as percentages
_SHARES = ("participation", "expert_rate", "pass_rate")


def _cell(value: Any, share: bool = False) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if share:
        return f"{float(value):.1%}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): (None if isinstance(v, float) and pd.isna(v) else v) for k, v in r.items()}
            for r in frame.to_dict(orient="records")]


# -- the bank --------------------------------------------------------------------------------------


@quiz_app.command("generate")
def generate(activate: ActivateOption = False, home: HomeOption = None,
             as_json: JsonOption = False) -> None:
    """Bring the question bank up to date with the approved SOPs in force and the regulation
    bank: new questions are added, changed ones get a new revision, and the questions of steps
    a new SOP version changed are re-opened for review (stale)."""
    report = sync_bank(SopLibrary.open(home), actor=command_actor(),
                       status="active" if activate else "new", home=home)
    counts = {"added": report.added, "updated": report.updated,
              "unchanged": report.unchanged, "reopened": report.reopened}
    if as_json:
        print_json(counts)
        return
    out.print(", ".join(f"{name} {n:,}" for name, n in counts.items()), highlight=False)


@quiz_app.command("list")
def list_bank(
    status: Annotated[str | None, typer.Option(
        "--status", help="Only questions in this state: new, active, stale or retired.")] = None,
    topic: Annotated[str | None, typer.Option(
        "--topic", help="Only this topic: an SOP id (SOP-P17) or regulation/<area>.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """The questions of the bank: key, kind, state, revision, topic and the stem's beginning
    (--json: the whole question)."""
    found = list_questions(status=_status(status), topic=topic, home=home)
    if as_json:
        print_json([{"key": b.question.key, "status": b.status, "revision": b.revision,
                     "updated_at": b.updated_at, "updated_by": b.updated_by}
                    | b.question.to_dict() for b in found])
        return
    # the key whole (folded, never cut: to copy), the stem's beginning (--json: all of it)
    columns = [Column("key"), Column("kind", "key"), Column("status", "key"),
               Column("rev", "num", essential=False), Column("topic", "key", essential=False),
               Column("stem")]
    rows = [(b.question.key, b.question.kind, b.status, b.revision, b.question.topic,
             b.question.stem if len(b.question.stem) <= 40 else b.question.stem[:39] + "…")
            for b in found]
    print_table(fit_table(f"{len(found):,} questions", columns, rows, wide=wide))


@quiz_app.command("export")
def export(
    fmt: Annotated[str, typer.Option(
        "--format", help=f"One of {', '.join(EXPORT_FORMATS)} (Aiken holds single choice "
        "only).")],
    path: Annotated[Path, typer.Argument(help="The file to write.")],
    status: Annotated[str, typer.Option(
        "--status", help="Only questions in this state (new, active, stale, retired), or all."
        )] = "active",
    home: HomeOption = None,
) -> None:
    """Write the bank's questions for a learning platform: GIFT or Moodle XML (Moodle's
    question import) or Aiken."""
    if fmt not in EXPORT_FORMATS:
        raise ProcmineError(f"--format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    _status(status, also=("all",))
    found = list_questions(status=None if status == "all" else status, home=home)
    text, left_out = export_questions([b.question for b in found], fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    out.print(f"wrote {len(found) - left_out:,} questions to {path} ({fmt}); left out "
              f"{left_out:,}" + (" (Aiken holds single choice only)" if left_out else ""),
              highlight=False)


@quiz_app.command("import")
def import_bank(
    path: Annotated[Path, typer.Argument(help="A GIFT (.gift), Moodle XML (.xml) or Aiken "
                                        "(.txt) file.")],
    as_user: AsOption,
    activate: ActivateOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add questions from a learning platform's export to the bank (new, for review, unless
    --activate). A malformed file is refused whole, every error named with its line."""
    user = acting_user(as_user, home)
    questions = import_questions(path)
    report = sync_questions(questions, actor=user.username,
                            status="active" if activate else "new", home=home)
    counts = {"read": len(questions), "added": report.added, "updated": report.updated,
              "unchanged": report.unchanged}
    if as_json:
        print_json(counts)
        return
    out.print(f"{path}: " + ", ".join(f"{name} {n:,}" for name, n in counts.items()),
              highlight=False)


# -- papers ----------------------------------------------------------------------------------------


@quiz_app.command("paper")
def paper(
    title: Annotated[str, typer.Option("--title", help="The paper's title.")],
    as_user: AsOption,
    sop: Annotated[list[str] | None, typer.Option(
        "--sop", help="Draw from this SOP's questions (repeatable).")] = None,
    group: Annotated[list[str] | None, typer.Option(
        "--group", help="Draw from the SOPs of this review group (repeatable).")] = None,
    regulation: Annotated[list[str] | None, typer.Option(
        "--regulation", help="Draw from this regulation area's questions: savings, "
        "negotiable-instruments, payment-settlement, aml, cash (repeatable).")] = None,
    count: Annotated[int, typer.Option("--count", min=1, help="Number of questions.")] = 20,
    minutes: Annotated[int, typer.Option("--minutes", min=1, help="Time limit.")] = 30,
    pass_mark: Annotated[float, typer.Option(
        "--pass-mark", min=0, max=100, help="Pass mark, percent.")] = 60.0,
    expert_mark: Annotated[float, typer.Option(
        "--expert-mark", min=0, max=100, help="Expert mark, percent (at or above it a teller "
        "counts as expert).")] = 90.0,
    due: Annotated[str | None, typer.Option("--due", help="Due date, YYYY-MM-DD.")] = None,
    no_shuffle: Annotated[bool, typer.Option(
        "--no-shuffle", help="Show questions and choices in the paper's order (default: "
        "each attempt shuffles them).")] = False,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Random seed of the draw (same seed and bank, same paper).")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Build a closed-book paper from the active questions: by SOPs, review groups and
    regulation areas, with its time limit, pass and expert marks and due date. Prints its id."""
    user = acting_user(as_user, home)
    built = build_paper(title=title, user=user, sops=tuple(sop or ()),
                        groups=tuple(group or ()), regulations=tuple(regulation or ()),
                        count=count, time_limit_minutes=minutes, pass_mark=pass_mark,
                        expert_mark=expert_mark, shuffle=not no_shuffle,
                        due_on=parse_day(due, "--due"), seed=seed, library=SopLibrary.open(home),
                        home=home)
    if as_json:
        print_json({"id": built.id, "title": built.title, "questions": len(built.questions)})
        return
    out.print(f"paper {built.id}: {built.title} ({len(built.questions)} questions, "
              f"{built.time_limit_minutes} min); assign it with 'procmine quiz assign "
              f"{built.id}'", highlight=False)


@quiz_app.command("assign")
def assign(
    paper_id: Annotated[int, typer.Argument(help="The paper's id (see 'procmine quiz results').")],
    as_user: AsOption,
    teller: Annotated[list[str] | None, typer.Option(
        "--teller", help="Assign to this teller id (repeatable).")] = None,
    branch: Annotated[list[str] | None, typer.Option(
        "--branch", help="Assign to every teller of this branch (repeatable).")] = None,
    everyone: Annotated[bool, typer.Option(
        "--everyone", help="Assign to every teller on the roster.")] = False,
    home: HomeOption = None,
) -> None:
    """Assign a paper to tellers, branches or everyone on the roster (the tellers of the latest
    month and the teller accounts); a teller already assigned is not counted twice."""
    user = acting_user(as_user, home)
    roster = teller_roster(EventStore(home), home=home)
    n = assign_paper(paper_id, user=user, roster=roster, tellers=_items(teller),
                     branches=_items(branch), everyone=everyone, home=home)
    out.print(f"paper {paper_id} assigned to {n:,} more tellers", highlight=False)


@quiz_app.command("results")
def results(
    paper_id: Annotated[int | None, typer.Argument(
        help="A paper's id (default: every paper, one line each).")] = None,
    month: MonthOption = None,
    items: Annotated[bool, typer.Option(
        "--items", help="With a paper: the item analysis (difficulty, discrimination, choices "
        "taken).")] = False,
    year: Annotated[int | None, typer.Option(
        "--year", min=2000, max=2100, help="The expert targets per person of this year: the "
        "papers each teller of the roster passed at the expert mark, against the target.")
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Participation and expert rates against the targets: of one paper by branch (with
    --items, its item analysis), of a month by branch (--month), or of every paper; with
    --year, the expert targets per person."""
    if paper_id is not None:
        _paper_results(paper_id, items, home, as_json)
    elif year is not None:
        _expert_targets(year, home, as_json)
    elif month is not None:
        frame = monthly_rates(month, home=home)
        if as_json:
            print_json(_records(frame))
        else:
            _targets_line(home)
            _frame(frame, f"{month}: rates by branch")
    else:
        _papers(home, as_json)


def _expert_targets(year: int, home: Path | None, as_json: bool) -> None:
    frame = expert_targets(year, home=home, roster=teller_roster(EventStore(home), home=home))
    if as_json:
        print_json(_records(frame))
        return
    met = int(frame["met"].sum())
    target = training_targets(home=home).expert_targets_per_person
    out.print(f"{year}: {met:,} of {len(frame):,} tellers reached the expert mark on {target} "
              "papers or more (the target per person)", highlight=False)
    _frame(frame.sort_values(["expert_papers", "teller_id"]), f"{year}: expert papers per teller")


def _targets_line(home: Path | None) -> None:
    targets = training_targets(home=home)
    out.print(f"targets: participation {targets.participation:.0%}, expert rate "
              f"{targets.expert:.0%}", highlight=False)


def _papers(home: Path | None, as_json: bool) -> None:
    rows = []
    for p in list_papers(home=home):
        r = paper_results(p.id, home=home)
        rows.append({"id": p.id, "title": p.title, "status": p.status, "due_on": p.due_on,
                     "assigned": r.assigned, "participated": r.participated,
                     "participation": r.participation, "expert_rate": r.expert_rate})
    if as_json:
        print_json(rows)
        return
    _targets_line(home)
    _frame(pd.DataFrame(rows), f"{len(rows)} papers", optional=("assigned",))


def _paper_results(paper_id: int, items: bool, home: Path | None, as_json: bool) -> None:
    r = paper_results(paper_id, home=home)
    analysis = item_analysis(paper_id, home=home) if items else None
    if as_json:
        data: dict[str, Any] = {
            "paper_id": paper_id, "assigned": r.assigned, "participated": r.participated,
            "participation": r.participation, "expert_rate": r.expert_rate,
            "pass_rate": r.pass_rate, "targets": vars(r.targets),
            "by_branch": _records(r.by_branch)}
        if analysis is not None:
            data["items"] = _records(analysis)
        print_json(data)
        return
    t = r.targets
    out.print(f"paper {paper_id}: {r.participated:,} of {r.assigned:,} tellers took it",
              highlight=False)
    out.print(_against("participation", r.participation, t.participation), highlight=False)
    out.print(_against("expert rate", r.expert_rate, t.expert), highlight=False)
    _frame(r.by_branch, "by branch")
    if analysis is not None:
        _frame(analysis.drop(columns=["stem"], errors="ignore"), "item analysis (difficulty: "
               "mean credit; discrimination: upper-lower 27% index; choices taken by index)")


def _against(name: str, value: float | None, target: float) -> str:
    if value is None or pd.isna(value):
        return f"{name}: – (target {target:.0%})"
    mark = "[green]met[/green]" if value >= target else "[red]below target[/red]"
    return f"{name}: {value:.1%} (target {target:.0%}) {mark}"


# -- spot checks -----------------------------------------------------------------------------------


@spotcheck_app.command("add")
def spotcheck_add(
    teller: Annotated[str, typer.Option("--teller", help="The teller id checked.")],
    sop: Annotated[str, typer.Option("--sop", help="The SOP checked, e.g. SOP-P18.")],
    observed: Annotated[list[str], typer.Option(
        "--observed", help="The step ids watched, comma-separated (repeatable).")],
    as_user: AsOption,
    version: Annotated[str | None, typer.Option(
        "--version", help="The SOP version (default: the one in force at the teller's branch "
        "on the date).")] = None,
    wrong: Annotated[list[str] | None, typer.Option(
        "--wrong", help="Step ids done wrongly, comma-separated (repeatable).")] = None,
    skipped: Annotated[list[str] | None, typer.Option(
        "--skipped", help="Step ids skipped, comma-separated (repeatable).")] = None,
    seconds: Annotated[float | None, typer.Option(
        "--seconds", min=0, help="Time the teller took, in seconds.")] = None,
    on: Annotated[str | None, typer.Option(
        "--date", help="The day of the check, YYYY-MM-DD (default today).")] = None,
    note: Annotated[str, typer.Option("--note", help="What the checker noted.")] = "",
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a spot check: the steps watched, done wrongly or skipped, the time taken. It
    passes when no step was done wrongly or skipped."""
    user = acting_user(as_user, home)
    day = parse_day(on, "--date") or datetime.now(UTC).date()
    store = EventStore(home)
    roster = {t.teller_id: t for t in teller_roster(store, home=home)}
    branch = roster[teller].branch_id if teller in roster else None
    library = SopLibrary.open(home)
    if version is None:
        in_force = library.in_force(sop, day, branch)
        if in_force is None:
            raise ProcmineError(f"no approved version of {sop} was in force on {day}; name one "
                                "with --version")
        version = in_force.sop.version
    check = add_spot_check(user=user, teller_id=teller, sop_id=sop, sop_version=version,
                           steps_observed=_items(observed), steps_wrong=_items(wrong),
                           steps_skipped=_items(skipped), seconds=seconds, checked_on=day,
                           note=note, branch_id=branch, library=library, store=store,
                           home=home)
    if as_json:
        print_json(_plain(check))
        return
    out.print(f"spot check {check.id}: {teller} on {sop} {version}, {day}: "
              + ("[green]passed[/green]" if check.passed else "[red]not passed[/red]"),
              highlight=False)


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(vars(obj))


@spotcheck_app.command("list")
def spotcheck_list(
    as_user: AsOption,
    teller: Annotated[str | None, typer.Option("--teller", help="Only this teller id.")] = None,
    sop: Annotated[str | None, typer.Option("--sop", help="Only this SOP id.")] = None,
    month: MonthOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """The spot checks recorded, newest first: teller, SOP version, date, checker, steps done
    wrongly or skipped, time, result."""
    user = acting_user(as_user, home, roles=(*_MANAGERS, "reviewer"))
    checks = list_spot_checks(user=user, teller_id=teller, sop_id=sop,
                              month=month, home=home)
    if as_json:
        print_json([_plain(c) for c in checks])
        return
    columns = [Column("date", "key"), Column("teller", "key"), Column("SOP", "key"),
               Column("version", "key", essential=False), Column("checker", "key"),
               Column("wrong"), Column("skipped"), Column("seconds", "num", essential=False),
               Column("result", "key")]
    rows = [(str(c.checked_on), c.teller_id, c.sop_id, c.sop_version, c.checker,
             ", ".join(c.steps_wrong), ", ".join(c.steps_skipped), _cell(c.seconds),
             "passed" if c.passed else "not passed") for c in checks]
    print_table(fit_table(f"{len(checks)} spot checks", columns, rows, wide=wide))


@spotcheck_app.command("due")
def spotcheck_due(
    sop: Annotated[list[str] | None, typer.Option(
        "--sop", help="Only this SOP (repeatable; default every SOP of the library).")] = None,
    every: Annotated[int | None, typer.Option(
        "--every", min=1, help="Days between checks (default: the training setting, 90).")
    ] = None,
    today: Annotated[str | None, typer.Option(
        "--today", help="Judge on this date (YYYY-MM-DD) instead of today.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who is due for a spot check, per teller and SOP: never checked, last check failed, or
    the last one older than the interval."""
    roster = teller_roster(EventStore(home), home=home)
    sop_ids = list(_items(sop)) or SopLibrary.open(home).ids()
    grid = spot_check_grid(roster, sop_ids, home=home, interval_days=every,
                           today=parse_day(today, "--today"))
    due = grid[grid["state"] != "passed"]
    if as_json:
        print_json(_records(due))
        return
    counts = grid["state"].value_counts()
    out.print(", ".join(f"{state} {int(counts.get(state, 0)):,}"
                        for state in ("passed", "failed", "due", "never")), highlight=False)
    _frame(due[due["state"] != "never"], "failed or due")
    if counts.get("never", 0):
        out.print("(tellers never checked on an SOP are counted, not listed here; --json lists "
                  "them)", highlight=False)
