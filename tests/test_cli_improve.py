"""``procmine improve``: items opened from the numbers of ``procmine bottlenecks`` and
``procmine staffing``, the lifecycle with its role checks, links, the re-measurement printed
when an item is done, the escalation report's files, the causes, the ingest's refresh hook,
and output that fits an 80-column terminal. On the demo workspace (which has items of its own:
the tests assert on theirs), and the register's round trip on each app database."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from demo_kit import copy_demo_workspace
from openpyxl import load_workbook
from typer.testing import CliRunner

import procmine.cli.improve as improve_cli
from procmine import workspace_references
from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.app.appdb import DB_FILE, engine_for
from procmine.app.auth import get_user, seed_demo_users
from procmine.cli.main import app
from procmine.core.baseline import load_baseline
from procmine.core.errors import ProcmineError
from procmine.improve.items import RegisterError
from procmine.improve.refresh import RefreshReport
from procmine.improve.register import get_item, list_items
from procmine.improve.subjects import finding_key, shortfall_key
from procmine.queue.measures import QueueFilter
from procmine.queue.staffing import staffing_plan
from procmine.store.event_store import EventStore

runner = CliRunner()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli-improve") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture(scope="module")
def findings(home: Path) -> list[Any]:
    """The findings ``procmine bottlenecks`` numbers (its defaults, the workspace's SOPs)."""
    store = EventStore(home)
    return find_bottlenecks(store, load_baseline(),
                            step_references=workspace_references(store.home))


def _invoke(home: Path, *args: str, width: int = 80) -> Any:
    return runner.invoke(app, ["improve", *args, "--home", str(home)],
                         env={"COLUMNS": str(width)})


def _run(home: Path, *args: str, width: int = 80) -> str:
    result = _invoke(home, *args, width=width)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def _json(home: Path, *args: str) -> Any:
    return json.loads(_run(home, *args, "--json"))


def _refused(home: Path, *args: str) -> str:
    result = _invoke(home, *args)
    assert result.exit_code != 0
    assert isinstance(result.exception, ProcmineError), result.output
    return str(result.exception)


def _ops(home: Path) -> Any:
    return get_user("ops", home)


def _row(text: str, item: int) -> str:
    """The line of item ``item`` in ``improve list``'s output."""
    return next(line for line in text.splitlines() if line.split()[:1] == [str(item)])


def test_add_from_a_finding_freezes_its_evidence_and_list_shows_it(
        home: Path, findings: list[Any]) -> None:
    data = _json(home, "add", "--finding", "1", "--cause", "procedure", "--group",
                 "accounting-and-cash", "--change", "Read the account back", "--owner",
                 "reviewer", "--due", "2027-01-15", "--as", "ops")
    first = findings[0]
    assert (data["source"], data["key"], data["status"], data["review_group"]) == (
        "finding", finding_key(first), "proposed", "accounting-and-cash")
    assert data["evidence"]["figures"]["ratio"] == pytest.approx(first.ratio)
    assert data["evidence"]["figures"]["cases"] == first.cases
    assert data["evidence"]["as_of"] == EventStore(home).info().last_event[:10]
    assert data["evidence"]["store_version"] == EventStore(home).version()
    assert (data["owner"], data["due_on"], data["proposed_change"]) == (
        "reviewer", "2027-01-15", "Read the account back")
    assert data["summary"]["en"] == first.summary_in("en")
    assert data["hours_per_month"] == pytest.approx(first.monthly_teller_hours)

    listed = _json(home, "list", "--group", "accounting-and-cash", "--as", "reviewer")
    assert data["id"] in [i["id"] for i in listed]
    assert {i["review_group"] for i in listed} == {"accounting-and-cash"}
    text = _run(home, "list", "--status", "proposed", "--as", "ops")
    row = _row(text, data["id"])
    assert row.split()[:5] == [str(data["id"]), "proposed", "accounting", "reviewer",
                               "2027-01-15"]
    assert f"{first.monthly_teller_hours:.1f}" in row

    # --month numbers the findings of that month, and the evidence runs to its last day
    store = EventStore(home)
    september = find_bottlenecks(store, load_baseline(), month="2026-09",
                                 step_references=workspace_references(store.home))
    data = _json(home, "add", "--finding", "1", "--month", "2026-09", "--cause", "procedure",
                 "--group", "accounting-and-cash", "--as", "ops")
    assert (data["key"], data["evidence"]["as_of"]) == (finding_key(september[0]), "2026-09-30")
    assert data["evidence"]["figures"]["cases"] == september[0].cases != first.cases

    # a number out of range says how many there are; a bad day is a clear mistake
    assert f"lists {len(findings)}" in _refused(
        home, "add", "--finding", str(len(findings) + 1), "--cause", "procedure", "--group",
        "accounting-and-cash", "--as", "ops")
    assert "expected a date YYYY-MM-DD" in _refused(
        home, "add", "--finding", "1", "--cause", "procedure", "--group",
        "accounting-and-cash", "--due", "15.01.2027", "--as", "ops")
    assert "give one of --finding N, --shortfall N or --deviation N" in _refused(
        home, "add", "--cause", "procedure", "--group", "accounting-and-cash", "--as", "ops")


def test_add_from_a_staffing_shortfall(home: Path) -> None:
    plan = staffing_plan(EventStore(home), QueueFilter())
    shortfalls = [s for s in plan.shifts if s.reason == "shortfall"]
    data = _json(home, "add", "--shortfall", "2", "--cause", "staffing", "--group",
                 "compliance-and-control", "--as", "ops")
    shift = shortfalls[1]
    assert (data["source"], data["key"]) == ("queue", shortfall_key(shift.to_dict()))
    figures = data["evidence"]["figures"]
    assert (figures["branch_id"], figures["weekday"], figures["counters"]) == (
        shift.branch_id, shift.weekday, shift.counters)
    assert 0 <= figures["service_level"] <= 1 and figures["target_wait"] == 600
    assert data["hours_per_month"] == 0.0


def test_a_teller_cannot_open_the_register(home: Path) -> None:
    assert "a teller cannot open the improvement register" in _refused(
        home, "list", "--as", "teller")
    assert "no such user" in _refused(home, "list", "--as", "nobody")
    # through the entry point: a message and exit code 2, no traceback
    result = subprocess.run(
        [sys.executable, "-m", "procmine.cli", "improve", "list", "--as", "teller", "--home",
         str(home)], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "error:" in result.stderr and "teller cannot open" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_the_lifecycle_links_and_the_measurement_when_done(home: Path) -> None:
    item = _json(home, "add", "--finding", "1", "--cause", "procedure", "--group",
                 "accounting-and-cash", "--as", "ops")["id"]
    assert "belongs to accounting-and-cash" in _refused(
        home, "set-status", str(item), "accepted", "--decision", "retrain", "--as",
        "settlement")
    assert "unknown status 'finished'" in _refused(
        home, "set-status", str(item), "finished", "--as", "reviewer")
    accepted = _json(home, "set-status", str(item), "accepted", "--decision", "revise_sop",
                     "--as", "reviewer")
    assert (accepted["status"], accepted["decision"]) == ("accepted", "revise_sop")
    assert "SOP-P18 has no version 9.9" in _refused(
        home, "link", str(item), "--sop", "SOP-P18@9.9", "--as", "reviewer")
    assert "Linked sop_revision SOP-P18@3.0" in _run(
        home, "link", str(item), "--sop", "SOP-P18@3.0", "--as", "reviewer")
    assert _json(home, "set-status", str(item), "in_progress", "--as", "reviewer")[
        "status"] == "in_progress"
    printed = _run(home, "set-status", str(item), "done", "--on", "2026-09-21", "--as",
                   "reviewer")
    done = get_item(item, user=_ops(home), home=home)
    # the demo's SOP-P18 3.0 changed "Count cash", not this teller's "Enter transaction":
    # the revision-effect method finds no effect on the step
    assert done.changed_on == date(2026, 9, 21)
    assert done.measurement is not None and done.measurement["method"] == "revision_effect"
    assert done.status == done.measurement["verdict"] == "not_effective"
    assert "measured: " + done.measurement["text"]["en"] in " ".join(printed.split())
    assert [(e.action, e.to_status) for e in done.events][-2:] == [
        ("status", "done"), ("measure", "not_effective")]
    shown = _run(home, "show", str(item), "--as", "reviewer")
    assert "links: sop_revision SOP-P18@3.0 (reviewer)" in shown
    assert "changed on 2026-09-21" in shown and "not_effective" in shown
    # tried again: back in progress
    assert _json(home, "set-status", str(item), "in_progress", "--note", "retrain too",
                 "--as", "reviewer")["status"] == "in_progress"


def test_assign_show_json_and_the_overdue_mark(home: Path) -> None:
    item = _json(home, "add", "--finding", "2", "--cause", "training", "--group",
                 "accounting-and-cash", "--due", "2026-01-31", "--as", "ops")["id"]
    assert "only the operations department" in _refused(
        home, "assign", str(item), "--group", "domestic-settlement", "--as", "reviewer")
    data = _json(home, "assign", str(item), "--owner", "reviewer2", "--cause", "procedure",
                 "--decision", "retrain", "--reason", "new staff", "--branch-action",
                 "coached at the counter", "--as", "reviewer")
    assert (data["owner"], data["cause"], data["decision"], data["decision_reason"],
            data["branch_action"]) == ("reviewer2", "procedure", "retrain", "new staff",
                                       "coached at the counter")
    assert _json(home, "show", str(item), "--as", "trainer") == get_item(
        item, user=_ops(home), home=home).to_dict()
    assert item in [i["id"] for i in _json(home, "list", "--owner", "reviewer2", "--as", "ops")]
    overdue = [i["id"] for i in _json(home, "list", "--overdue", "--as", "ops")]
    assert item in overdue
    assert item not in [i["id"] for i in _json(home, "list", "--due-by", "2025-12-31",
                                               "--as", "ops")]
    text = _run(home, "list", "--overdue", "--as", "ops")
    assert "2026-01-31!" in _row(text, item)
    assert "! overdue: open and past its due day" in text
    # a paper linked by the trainer; a trainer may not link an SOP revision
    assert _json(home, "link", str(item), "--paper", "1", "--as", "trainer")["links"][-1][
        "ref"] == "1"
    assert "may not link" in _refused(home, "link", str(item), "--sop", "SOP-P18@3.0",
                                      "--as", "trainer")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_escalation_report_writes_files_that_open(home: Path, tmp_path: Path) -> None:
    item = _json(home, "add", "--finding", "3", "--cause", "system", "--group",
                 "accounting-and-cash", "--decision", "escalate", "--branch-action",
                 "double-checked by hand", "--as", "ops")["id"]
    escalated = [i.id for i in list_items(user=_ops(home), home=home)
                 if i.decision == "escalate" and i.status != "rejected"]
    assert item in escalated
    book, page = tmp_path / "up.xlsx", tmp_path / "up.html"
    printed = _run(home, "report", "--excel", str(book), "--html", str(page), "--lang", "en",
                   "--as", "ops")
    assert f"{len(escalated)} escalated item" in printed and "wrote" in printed
    sheet = load_workbook(book).worksheets[0]
    values = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert item in values and "double-checked by hand" in values
    parser = _Text()
    parser.feed(page.read_text(encoding="utf-8"))
    words = " ".join(parser.text)
    assert "double-checked by hand" in words and "escalated" in words.lower()
    summary = _run(home, "report", "--as", "ops")
    assert any(line.startswith(f"#{item} proposed accounting-and-cash")
               for line in summary.splitlines())
    assert "a teller cannot open" in _refused(home, "report", "--as", "teller")


def test_causes_list_and_add(home: Path) -> None:
    codes = [c["code"] for c in _json(home, "causes")]
    assert codes[:7] == ["procedure", "training", "system", "staffing", "layout",
                         "customer_behaviour", "data"]
    assert "only the operations department adds causes" in _refused(
        home, "causes", "--add", "counter_layout", "--zh", "柜台布局", "--en", "Counter layout",
        "--as", "reviewer")
    added = _json(home, "causes", "--add", "counter_layout", "--zh", "柜台布局", "--en",
                  "Counter layout", "--as", "ops")
    assert {"code": "counter_layout", "zh": "柜台布局", "en": "Counter layout"} in added
    assert "--add needs --as USER" in _refused(home, "causes", "--add", "x_y", "--zh", "甲",
                                               "--en", "X")


def test_every_line_fits_80_columns(home: Path) -> None:
    item = _json(home, "add", "--finding", "1", "--kind", "step", "--cause", "layout",
                 "--group", "compliance-and-control", "--owner", "a-very-long-owner-name",
                 "--change", "Move the cash counter next to the authorisation desk " * 3,
                 "--as", "ops")["id"]
    outputs = [_run(home, "list", "--as", "ops"), _run(home, "show", str(item), "--as", "ops"),
               _run(home, "report", "--as", "ops"), _run(home, "refresh")]
    for output in outputs:
        assert output.strip()
        assert max(len(line) for line in output.splitlines()) <= 80
    wide = _run(home, "list", "--as", "ops", width=160)
    assert "compliance-and-control" in wide and "a-very-long-owner-name" in wide


def test_refresh_and_the_ingest_hook(home: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    data = _json(home, "refresh")
    assert set(data) == {"measured", "verified", "not_effective", "regressions"}
    assert improve_cli.refresh_text(RefreshReport(verified=[3], regressions=[4])) == (
        "1 item verified, 1 regression")
    assert improve_cli.refresh_text(RefreshReport(measured=[5, 6], not_effective=[6])) == (
        "1 item not effective, 1 item measured, awaiting more data")
    assert improve_cli.refresh_text(RefreshReport()) == ""

    log = tmp_path / "log.csv"
    log.write_text("case_id,activity,end_time,business_type\n"
                   "1,Count cash,2026-09-01 09:00:00,P17\n", encoding="utf-8")
    calls: list[dict[str, Any]] = []

    def changed(home: Path | None, **options: Any) -> RefreshReport:
        calls.append(options)
        return RefreshReport(measured=[1], verified=[1], regressions=[2])

    monkeypatch.setattr(improve_cli, "refresh_register", changed)
    # a workspace without an app database has no register: the hook is not even loaded
    bare = tmp_path / "bare"
    result = runner.invoke(app, ["ingest", str(log), "--home", str(bare)])
    assert result.exit_code == 0 and not calls and "Improvement register" not in result.output
    assert not (bare / DB_FILE).exists()
    ws = tmp_path / "ws"
    engine_for(ws)   # its app database, where a register can be
    result = runner.invoke(app, ["ingest", str(log), "--home", str(ws)])
    assert result.exit_code == 0, result.output
    assert ("Improvement register: 1 item verified, 1 regression (procmine improve list)"
            in result.stdout)
    assert len(calls) == 1 and calls[0]["store"].home == ws
    # with --json the line goes to stderr and the JSON stays clean
    result = runner.invoke(app, ["ingest", str(log), "--json", "--home", str(ws)])
    assert json.loads(result.stdout)["read"] == 1
    assert "1 item verified" in result.stderr

    def nothing(home: Path | None, **options: Any) -> RefreshReport:
        return RefreshReport()

    monkeypatch.setattr(improve_cli, "refresh_register", nothing)
    result = runner.invoke(app, ["ingest", str(log), "--home", str(ws)])
    assert result.exit_code == 0 and "Improvement register" not in result.output

    def broken(home: Path | None, **options: Any) -> RefreshReport:
        raise OSError("the app database is away")

    monkeypatch.setattr(improve_cli, "refresh_register", broken)
    result = runner.invoke(app, ["ingest", str(log), "--home", str(ws)])
    assert result.exit_code == 0, result.output
    assert "the improvement register was not refreshed" in " ".join(result.stderr.split())
    assert "the app database is away" in result.stderr


def test_the_round_trip_on_each_app_database(home: Path, own_app_db: None) -> None:
    """The store is the demo's; the app database is the workspace's SQLite file, or an empty
    PostgreSQL database with the demo users."""
    seed_demo_users(home)
    item = _json(home, "add", "--finding", "4", "--cause", "training", "--group",
                 "accounting-and-cash", "--as", "ops")["id"]
    _json(home, "set-status", str(item), "accepted", "--decision", "retrain", "--as",
          "reviewer2")
    listed = {i["id"]: i for i in _json(home, "list", "--status", "accepted", "--as",
                                        "reviewer")}
    assert listed[item]["decision"] == "retrain"
    history = _json(home, "show", str(item), "--as", "manager")["history"]
    assert [(h["action"], h["username"]) for h in history] == [("add", "ops"),
                                                               ("status", "reviewer2")]
    with pytest.raises(RegisterError, match="teller cannot open"):
        list_items(user=get_user("teller", home), home=home)


def test_bottlenecks_names_each_findings_open_item_and_its_regression(
        home: Path, findings: list[Any]) -> None:
    """``procmine bottlenecks`` lists, under its findings, the open item of each (by the
    finding's number) and a regression where a verified item's finding came back."""
    from procmine.improve.register import open_item, record_measurement, record_regression
    from procmine.improve.register import set_status as move
    from procmine.improve.subjects import finding_subject

    ops = _ops(home)
    items = list_items(user=ops, home=home)
    rank_of = {finding_key(f): k for k, f in enumerate(findings, 1)}
    open_ones = {rank_of[i.subject.key]: i for i in reversed(items)
                 if i.is_open and i.subject.key in rank_of}
    # a verified item on the last finding that has no open item, whose finding came back
    free = max(k for k in rank_of.values() if k not in open_ones)
    subject = finding_subject(findings[free - 1], as_of=date(2026, 10, 31), store_version="v")
    item = open_item(subject, user=ops, cause="training", review_group="compliance-and-control",
                     home=home)
    move(item.id, "accepted", user=ops, decision="retrain", home=home)
    move(item.id, "in_progress", user=ops, home=home)
    move(item.id, "done", user=ops, changed_on=date(2026, 9, 1), home=home)
    record_measurement(item.id, {"text": {"en": "fixed"}}, "verified", home=home)
    record_regression(item.id, {"text": {"en": "back"}}, home=home)

    result = runner.invoke(app, ["bottlenecks", "--home", str(home)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("In the improvement register (procmine improve show N):")
    listed = lines[start + 1:]
    for rank, open_item_ in open_ones.items():
        assert any(line.startswith(f"  {rank}: item #{open_item_.id}, ") for line in listed)
    assert f"  {free}: REGRESSION - came back after item #{item.id} was verified" in listed
    assert max(len(line) for line in lines) <= 80
