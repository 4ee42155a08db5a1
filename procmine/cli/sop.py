"""``procmine sop``: the SOP library from the command line: lint, versions, review workflow,
links to the slow steps.

Thin: each command calls :mod:`procmine.sop.lint`, :mod:`procmine.sop.library` or
:mod:`procmine.sop.links` and prints the result. Workflow commands act as a user of the app
database, as the dashboard does for the signed-in user: ``--user`` names them and the command asks
for their password (or reads it with ``--password-stdin``), checked by
:func:`procmine.authenticate` with its lockout. The library enforces the same rules.

Example:
    $ procmine sop lint sops/
    $ procmine sop history SOP-P18
    $ procmine sop save SOP-P18 edited.md --user reviewer --note "Counting machine"
    Password for reviewer:
    $ echo "$PASSWORD" | procmine sop approve SOP-P18 --user reviewer2 --password-stdin
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from procmine import (
    EventStore,
    NewVersionReport,
    ProcmineError,
    SopLibrary,
    SopVersion,
    User,
    authenticate,
    coverage_report,
    errors_first,
    findings_by_step,
    linked_findings,
    lint_sops,
    load_baseline,
    logged_activities,
    on_new_version,
    review_standing,
    revision_effects,
    sops_folder,
    t,
)
from procmine.cli.common import (
    BaselineOption,
    CliApp,
    Column,
    HomeOption,
    JsonOption,
    LangOption,
    WideOption,
    err,
    fit_table,
    out,
    parse_day,
    print_json,
    print_table,
    step_namer,
)

__all__ = ["sop_app"]

sop_app = CliApp(help="The SOP library: lint, versions, review workflow, links to the slow "
                      "steps.", no_args_is_help=True)

SopId = Annotated[str, typer.Argument(help="SOP id, e.g. SOP-P18.")]
UserOption = Annotated[str, typer.Option(
    "--user", help="Act as this user of the app database (their password is asked for).")]
PasswordStdinOption = Annotated[bool, typer.Option(
    "--password-stdin", help="Read --user's password from the first line of standard input "
    "(for scripts) instead of asking.")]
TodayOption = Annotated[
    str | None,
    typer.Option("--today", help="Date the action (YYYY-MM-DD) instead of today, e.g. to record "
                 "an approval given on paper."),
]


def _library(home: Path | None) -> SopLibrary:
    return SopLibrary.open(home)


def _user(name: str, from_stdin: bool, home: Path | None) -> User:
    """The user named by --user, once their password is checked (a sign-in, audited)."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ProcmineError("--password-stdin: nothing was given on standard input")
        password = line.rstrip("\r\n")
    else:
        password = typer.prompt(f"Password for {name}", hide_input=True)
    user = authenticate(name, password, home)
    if user is None:
        raise ProcmineError(f"--user {name}: wrong user name or password, or the user is "
                            "disabled")
    return user



def _say(v: SopVersion, as_json: bool) -> None:
    if as_json:
        print_json(v.to_dict())
    else:
        out.print(f"{v.sop.id} {v.sop.version} {v.sop.status} ({v.action} by {v.author}, "
                  f"commit {v.short})", highlight=False)


@sop_app.command("lint")
def lint(
    folder: Annotated[Path | None, typer.Argument(
        help="Folder of SOP-*.md files (default: the workspace's SOP library, or the bundled "
        "sops/ when there is none).")] = None,
    baseline_file: BaselineOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check SOP files: schema (with file, line and field), business types against the baseline,
    step times adding up to the type's standard time, step anchors and links; warn about steps
    whose activity never occurs in the store's logs. Exits 1 when there are errors."""
    baseline = load_baseline(baseline_file)
    seen = logged_activities(EventStore(home), baseline)
    report = lint_sops(folder or sops_folder(home), baseline, activities=seen or None)
    if as_json:
        print_json(report.to_dict())
    else:
        for issue in errors_first(report.issues):
            out.print(str(issue), highlight=False, soft_wrap=True)
        out.print(f"{report.files} files, {len(report.sops)} SOPs: {len(report.errors)} errors, "
                  f"{len(report.warnings)} warnings", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@sop_app.command("list")
def list_sops(home: HomeOption = None, as_json: JsonOption = False,
              wide: WideOption = False) -> None:
    """The SOPs of the library: latest version, status, owner group, review date."""
    library = _library(home)
    latest = library.latest()
    if as_json:
        print_json([v.to_dict() | {"title": dict(v.sop.title),
                                        "business_types": list(v.sop.business_types),
                                        "owner_group": v.sop.owner_group,
                                        "review_due": v.sop.review_due}
                    for v in latest.values()])
        return
    columns = [Column("id", "key"), Column("title"), Column("types", essential=False),
               Column("group", essential=False), Column("version", "key"),
               Column("status", "key"), Column("effective", "key"),
               Column("review due", "key", essential=False)]
    rows = [(s.id, s.title_in("en"), ", ".join(s.business_types), s.owner_group, s.version,
             s.status, s.effective.isoformat(),
             s.review_due.isoformat() if s.review_due else "")
            for s in (v.sop for v in latest.values())]
    print_table(fit_table(f"SOP library: {len(latest)} procedures", columns, rows, wide=wide))


@sop_app.command("show")
def show(
    sop_id: SopId,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The text in force on this date "
                                              "(YYYY-MM-DD) instead of today.")] = None,
    branch: Annotated[str | None, typer.Option("--branch", help="At this branch (versions may "
                                               "name branch adoption dates).")] = None,
    draft: Annotated[bool, typer.Option("--draft", help="The latest version, whatever its "
                                        "status (a draft or one in review), instead of the "
                                        "one in force.")] = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print an SOP's text: the version in force today (at --branch), on --as-of, or the latest
    draft with --draft. Which version it is goes to standard error, so that the text can be
    saved to a file, edited and given to sop save; --json prints the version with its text."""
    library = _library(home)
    day = parse_day(as_of, "--as-of") or datetime.now(UTC).date()
    version = library.current(sop_id) if draft else library.in_force(sop_id, day, branch)
    if version is None:
        if as_of is not None:
            raise ProcmineError(f"no version of {sop_id} was in force on {day}")
        raise ProcmineError(t("cli.sop.none_in_force", "en", sop_id=sop_id))
    if as_json:
        print_json(version.to_dict() | {"title": dict(version.sop.title),
                                        "in_force_on": None if draft else day.isoformat(),
                                        "branch": branch, "text": version.sop.text})
        return
    if not draft:
        err.print(t("cli.sop.shown_in_force", "en", sop_id=sop_id, version=version.sop.version,
                    day=version.sop.effective.isoformat()), highlight=False)
    typer.echo(version.sop.text, nl=False)


@sop_app.command("history")
def history(sop_id: SopId, home: HomeOption = None, as_json: JsonOption = False,
            wide: WideOption = False) -> None:
    """Every version of an SOP, newest first: version, status, action, author, date, note."""
    versions = _library(home).history(sop_id)
    if as_json:
        print_json([v.to_dict() for v in versions])
        return
    columns = [Column("commit", "key"), Column("version", "key"), Column("status", "key"),
               Column("action", "key"), Column("author", "key"),
               Column("when", "key", essential=False), Column("note")]
    rows = [(v.short, v.sop.version, v.sop.status, v.action, v.author,
             v.when.strftime("%Y-%m-%d %H:%M"), v.note.splitlines()[0] if v.note else "")
            for v in versions]
    print_table(fit_table(f"{sop_id}: {len(versions)} versions", columns, rows, wide=wide))


@sop_app.command("diff")
def diff(
    sop_id: SopId,
    old: Annotated[str, typer.Argument(help="Commit of the older version (see history).")],
    new: Annotated[str, typer.Argument(help="Commit of the newer version.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The unified diff between two versions of an SOP."""
    text = _library(home).diff(sop_id, old, new)
    if as_json:
        print_json({"sop": sop_id, "old": old, "new": new, "diff": text})
        return
    typer.echo(text, nl=False)


@sop_app.command("due")
def due(
    within: Annotated[int, typer.Option("--within", help="Days ahead.", min=0)] = 30,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approved SOPs whose periodic review is due within --within days, or overdue."""
    today = datetime.now(UTC).date()
    versions = _library(home).due_for_review(today, within)
    if as_json:
        print_json([v.to_dict() | {"review_due": v.sop.review_due} for v in versions])
        return
    if not versions:
        out.print(f"No SOP is due for review within {within} days.")
        return
    columns = [Column("id", "key"), Column("version", "key"), Column("title"),
               Column("group", "key", essential=False), Column("review due", "key"),
               Column("when", "key")]
    rows = []
    for v in versions:
        standing, days = review_standing(v.sop.review_due or today, today)
        rows.append((v.sop.id, v.sop.version, v.sop.title_in("en"), v.sop.owner_group,
                     str(v.sop.review_due), f"overdue {days} days" if standing == "overdue"
                     else "today" if standing == "today" else f"in {days} days"))
    print_table(fit_table(f"{len(versions)} SOPs due for review within {within} days",
                          columns, rows))


@sop_app.command("save")
def save(
    sop_id: SopId,
    file: Annotated[Path, typer.Argument(help="The edited SOP file (markdown with front matter).")],
    user: UserOption,
    note: Annotated[str, typer.Option("--note", help="The change note (required).")],
    base: Annotated[str | None, typer.Option("--base", help="Commit the edit started from "
                                             "(default: the version in the SOP's history the "
                                             "text is closest to). Changes saved since are "
                                             "merged; a change to the same lines is a conflict "
                                             "and the text is kept on a ref.")] = None,
    password_stdin: PasswordStdinOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Save an edited SOP as a draft: a commit with the user as author and the change note."""
    library = _library(home)
    text = file.read_text(encoding="utf-8")
    editor = _user(user, password_stdin, home)
    result = library.save(sop_id, text, user=editor, note=note, base=base)
    _say(result.version, as_json)
    if result.merged_with and not as_json:
        out.print(f"merged with the changes saved since (up to {result.merged_with[:8]})",
                  highlight=False)


@sop_app.command("submit")
def submit(sop_id: SopId, user: UserOption, password_stdin: PasswordStdinOption = False,
           home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Send a draft for review (draft -> in_review)."""
    _say(_library(home).submit(sop_id, user=_user(user, password_stdin, home)), as_json)


def _adoption(values: list[str] | None) -> dict[str, date]:
    """``--adopt B01=2026-10-05`` options as branch -> date."""
    out: dict[str, date] = {}
    for value in values or []:
        branch, sep, day = value.partition("=")
        if not sep or not branch.strip():
            raise ProcmineError(f"--adopt {value!r}: expected BRANCH=YYYY-MM-DD, "
                                "e.g. B01=2026-10-05")
        parsed = parse_day(day.strip(), f"--adopt {branch.strip()}=")
        assert parsed is not None
        out[branch.strip()] = parsed
    return out


@sop_app.command("approve")
def approve(sop_id: SopId, user: UserOption,
            comment: Annotated[str, typer.Option("--comment", help="Review comment.")] = "",
            effective: Annotated[str | None, typer.Option(
                "--effective", help="The date the version comes in force (YYYY-MM-DD; "
                "default: the draft's). A date that has passed is refused.")] = None,
            adopt: Annotated[list[str] | None, typer.Option(
                "--adopt", help="A branch's adoption date, BRANCH=YYYY-MM-DD (repeatable; "
                "default: the draft's dates). A date that has passed is refused.")] = None,
            today: TodayOption = None, password_stdin: PasswordStdinOption = False,
            home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Approve an SOP in review: a reviewer of the owning group who changed none of it, on the
    dates the reviewer chooses (--effective, --adopt; the draft's by default). When it
    replaces an approved version, the questions of the steps it changed are re-opened for
    review and the tellers who answered them are listed for a re-test."""
    library = _library(home)
    chosen, adoption = parse_day(effective, "--effective"), _adoption(adopt)
    reviewer = _user(user, password_stdin, home)
    version = library.approve(sop_id, user=reviewer, comment=comment,
                              today=parse_day(today, "--today"), effective=chosen,
                              adoption=adoption or None)
    report = on_new_version(library, sop_id, actor=reviewer.username, home=home)
    if as_json:
        print_json(version.to_dict() | {
            "reopened": report.reopened,
            "retest": report.tellers.to_dict(orient="records")})
        return
    _say(version, False)
    if report.old_version is not None:
        _say_retest(report)


def _say_retest(report: NewVersionReport) -> None:
    """The questions a new version re-opened and the tellers to re-test."""
    out.print(f"{report.sop_id} {report.old_version} -> {report.new_version}: "
              f"{len(report.reopened)} questions re-opened for review (stale); "
              f"{len(report.tellers)} tellers to re-test", highlight=False)
    for r in report.tellers.to_dict(orient="records"):
        out.print(f"  {r['teller_id']} ({r['branch_id'] or '-'}): {len(r['question_keys'])} "
                  "questions on changed steps", highlight=False)


@sop_app.command("reject")
def reject(sop_id: SopId, user: UserOption,
           comment: Annotated[str, typer.Option("--comment", help="Why (required).")],
           password_stdin: PasswordStdinOption = False, home: HomeOption = None,
           as_json: JsonOption = False) -> None:
    """Send an SOP in review back to draft with the reviewer's comment."""
    _say(_library(home).reject(sop_id, user=_user(user, password_stdin, home), comment=comment),
         as_json)


@sop_app.command("findings")
def findings(
    sop_id: SopId,
    month: Annotated[str | None, typer.Option("--month", help="Only this month, YYYY-MM.")] = None,
    baseline_file: BaselineOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
    lang: LangOption = "en",
) -> None:
    """An SOP's steps with the slow steps linked to them: findings, hours lost a month,
    tellers and branches affected. --lang zh names the steps in Chinese."""
    library = _library(home)
    version = library.approved(sop_id) or library.current(sop_id)
    found = linked_findings(EventStore(home), load_baseline(baseline_file), library, month=month)
    table = findings_by_step(found, version.sop)
    if as_json:
        print_json(table.to_dict(orient="records"))
        return
    columns = [Column("step", "key", essential=False), Column("activity"),
               Column("standard s", "num"), Column("findings", "num"),
               Column("teller hours a month", "num"),
               Column("hours lost", "num", essential=False),
               Column("tellers"), Column("branches", essential=False)]
    step_name = step_namer(home, lang)
    rows = [(r["step_id"], step_name(r["activity"]), f"{r['standard_seconds']:g}", r["findings"],
             f"{r['monthly_teller_hours']:.2f}", f"{r['time_lost_hours']:.2f}", r["tellers"],
             r["branches"]) for r in table.to_dict(orient="records")]
    title = f"{sop_id} {version.sop.version}: slow steps by SOP step, {month or 'all months'}"
    print_table(fit_table(title, columns, rows, wide=wide))


_COVERAGE_SHOWN = 20


@sop_app.command("coverage")
def coverage(baseline_file: BaselineOption = None, home: HomeOption = None,
             as_json: JsonOption = False, wide: WideOption = False,
             show_all: Annotated[bool, typer.Option(
                 "--all", help=f"List every row (default: the first {_COVERAGE_SHOWN} of each "
                 "list, and how many more).")] = False,
             lang: LangOption = "en") -> None:
    """What the SOPs cover of the logs: business types no SOP covers, frequent steps no SOP
    step governs, SOP steps never seen in the logs. --lang zh names the steps in Chinese."""
    report = coverage_report(EventStore(home), load_baseline(baseline_file), _library(home))
    if as_json:
        print_json(report.to_dict())
        return
    out.print(f"SOPs cover {report.transaction_share:.1%} of {report.transactions:,} "
              "transactions.", highlight=False)
    step_name = step_namer(home, lang)
    lists = (("Business types no SOP covers", report.uncovered_types,
              [Column("type", "key"), Column("transactions", "num")]),
             ("Frequent steps no SOP step governs", report.uncovered_steps,
              [Column("type", "key"), Column("activity"), Column("count", "num"),
               Column("share", "num")]),
             ("SOP steps never seen in the logs", report.unseen_steps,
              [Column("SOP", "key"), Column("step", "key", essential=False),
               Column("type", "key"), Column("activity")]))
    for title, frame, columns in lists:
        if frame.empty:
            out.print(f"\n{title}: none", highlight=False)
            continue
        shown = frame if show_all else frame.head(_COVERAGE_SHOWN)
        if "activity" in shown.columns:
            shown = shown.assign(activity=[step_name(a) for a in shown["activity"]])
        rows = [[f"{v:.1%}" if c == "share" else f"{v:,}" if isinstance(v, int) else v
                 for c, v in r.items()] for r in shown.to_dict(orient="records")]
        out.print()
        print_table(fit_table(f"{title}: {len(frame)}", columns, rows, wide=wide))
        if len(frame) > len(shown):
            out.print(t("cli.sop.coverage_cut", "en", count=len(frame) - len(shown)),
                      highlight=False)


_EFFECTS: tuple[tuple[str, Literal["key", "num", "text"], bool], ...] = (
            ("version", "key", True), ("effective", "key", True), ("business_type", "key", False),
            ("activity", "text", True), ("n_before", "num", False), ("n_after", "num", False),
            ("median_before", "num", True), ("median_after", "num", True),
            ("change", "num", True), ("p_value", "num", True), ("did_effect", "num", False),
            ("did_p_value", "num", False))
_EFFECT_HEADERS = {"business_type": "type", "n_before": "n before", "n_after": "n after",
                   "median_before": "median before s", "median_after": "median after s",
                   "p_value": "p", "did_effect": "DiD effect", "did_p_value": "DiD p"}


def _effect_cell(column: str, value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):  # NaN: no figure
        return "–"
    if column == "change" and isinstance(value, float):
        return f"{value:+.1%}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


#: The ``evidence`` of a revision effect's row as the table shows it.
_EVIDENCE_WORDS = {"enough": "", "few_cases": "few cases", "no_data_before": "no data before",
                   "no_data_yet": "no data yet"}


@sop_app.command("effects")
def effects(
    sop_id: SopId,
    window: Annotated[int, typer.Option("--window", help="Days before and after each revision.",
                                        min=1)] = 60,
    home: HomeOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
    lang: LangOption = "en",
) -> None:
    """The effect of each revision of an SOP: step times before and after it came in force
    (Mann-Whitney), and a difference-in-differences where branches adopted it on different
    dates. --lang zh names the steps in Chinese."""
    table = revision_effects(EventStore(home), _library(home), sop_id, window_days=window)
    if as_json:
        print_json(table.to_dict(orient="records"))
        return
    if table.empty:
        out.print(f"{sop_id} has no revision with step times on both sides.")
        return
    # a version with no times after it yet: "no data yet", not NaN; a small sample is marked
    names = [c for c, _, _ in _EFFECTS]
    columns = [Column(_EFFECT_HEADERS.get(c, c), kind, essential=essential)
               for c, kind, essential in _EFFECTS]
    columns.append(Column("evidence", "text", essential=True))
    rows = []
    step_name = step_namer(home, lang)
    for record in table.to_dict(orient="records"):
        record["activity"] = step_name(record["activity"])
        cells = [_effect_cell(c, record[c]) for c in names]
        if record["evidence"] == "no_data_yet":
            cells[names.index("median_after")] = "no data yet"
            for c in ("change", "p_value", "did_effect", "did_p_value"):
                cells[names.index(c)] = "–"
        rows.append([*cells, _EVIDENCE_WORDS.get(str(record["evidence"]), "")])
    title = f"{sop_id}: step times before and after each revision ({window} days)"
    print_table(fit_table(title, columns, rows, wide=wide))
    if (table["evidence"] == "no_data_yet").any():
        out.print("no data yet: the version came in force after the last step times of the log.",
                  highlight=False)
    if (table["evidence"] == "few_cases").any():
        out.print("few cases: fewer than 100 step times on a side; a change of 10-20% there is "
                  "often chance (see p_value).", highlight=False)
