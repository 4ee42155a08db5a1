"""``procmine quiz`` and ``procmine spotcheck``, and the re-test list ``procmine sop approve``
prints: each command against what the library holds afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

from procmine.app.auth import add_user
from procmine.cli.main import app
from procmine.core.errors import ProcmineError
from procmine.sop.library import SopLibrary
from procmine.training.attempts import record_paper_attempt
from procmine.training.bank import list_questions
from procmine.training.papers import get_paper
from procmine.training.question import Question
from procmine.training.spotchecks import spot_check_summary

runner = CliRunner()
PASSWORD = "a-long-password"


def _workspace(home: Path) -> Path:
    """A workspace with a trainer, a reviewer pair and three teller accounts (the roster: no
    events, so the teller accounts are the tellers)."""
    add_user("trainer", PASSWORD, "trainer", home=home)
    add_user("li", PASSWORD, "reviewer", home=home, review_group="accounting-and-cash")
    add_user("wang", PASSWORD, "reviewer", home=home, review_group="accounting-and-cash")
    for name, teller, branch in (("t1", "0101", "B01"), ("t2", "0102", "B01"),
                                 ("t3", "0201", "B02")):
        add_user(name, PASSWORD, "teller", home=home, teller_id=teller, branch_id=branch)
    return home


def _run(home: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--home", str(home)])
    assert result.exit_code == 0, result.output
    return result.stdout


def _right(q: Question) -> list[int]:
    if q.kind == "ordering":
        return list(range(len(q.choices)))
    return [i for i, c in enumerate(q.choices) if c.correct]


def _wrong(q: Question) -> list[int]:
    if q.kind == "ordering":
        return list(reversed(range(len(q.choices))))
    return [next(i for i, c in enumerate(q.choices) if not c.correct)]


def test_generate_list_paper_assign_and_results(tmp_path: Path, own_app_db: None) -> None:
    home = _workspace(tmp_path / "ws")
    first = json.loads(_run(home, "quiz", "generate", "--activate", "--json"))
    total = len(list_questions(home=home))
    assert first["added"] == total > 100 and first["reopened"] == 0
    again = json.loads(_run(home, "quiz", "generate", "--json"))
    assert again == {"added": 0, "updated": 0, "unchanged": total, "reopened": 0}
    listed = json.loads(_run(home, "quiz", "list", "--status", "active", "--topic", "SOP-P17",
                             "--json"))
    assert listed and {q["topic"] for q in listed} == {"SOP-P17"}
    assert len(listed) == len(list_questions(status="active", topic="SOP-P17", home=home))

    made = json.loads(_run(home, "quiz", "paper", "--title", "10月测试", "--sop", "SOP-P17",
                           "--regulation", "aml", "--count", "6", "--due", "2026-10-31",
                           "--seed", "5", "--minutes", "20", "--expert-mark", "80",
                           "--as", "trainer", "--json"))
    paper = get_paper(made["id"], home=home)
    assert (paper.title, len(paper.questions), paper.time_limit_minutes, paper.expert_mark,
            paper.pass_mark, paper.due_on) == ("10月测试", 6, 20, 80.0, 60.0, date(2026, 10, 31))
    assert {q.sop_id or q.regulation for q in paper.questions} == {"SOP-P17", "aml"}
    refused = runner.invoke(app, ["quiz", "paper", "--title", "x", "--as", "t1",
                                  "--home", str(home)])
    assert isinstance(refused.exception, ProcmineError)
    assert "a teller may not" in str(refused.exception)

    assert "assigned to 2 more tellers" in _run(home, "quiz", "assign", str(paper.id),
                                                "--branch", "B01", "--as", "trainer")
    assert "assigned to 1 more tellers" in _run(home, "quiz", "assign", str(paper.id),
                                                "--everyone", "--as", "trainer")
    when = datetime(2026, 10, 20, 2, tzinfo=UTC)
    questions = dict(enumerate(paper.questions, start=1))
    # 0101 answers everything right; 0102 gets the first two wrong (4 of 6: 66.7, not expert)
    record_paper_attempt(paper.id, "0101", {p: _right(q) for p, q in questions.items()},
                         actor="trainer", started_at=when, submitted_at=when, home=home)
    record_paper_attempt(paper.id, "0102", {p: (_wrong(q) if p <= 2 else _right(q))
                                            for p, q in questions.items()},
                         actor="trainer", started_at=when, submitted_at=when, home=home)
    results = json.loads(_run(home, "quiz", "results", str(paper.id), "--items", "--json"))
    assert (results["assigned"], results["participated"]) == (3, 2)
    assert results["participation"] == pytest.approx(2 / 3)
    assert results["expert_rate"] == pytest.approx(0.5)
    assert results["pass_rate"] == pytest.approx(1.0)
    assert results["targets"]["participation"] == 1.0 and results["targets"]["expert"] == 0.98
    branches = {b["branch_id"]: b for b in results["by_branch"]}
    assert branches["B01"]["participation"] == 1.0 and branches["B02"]["participation"] == 0.0
    assert [i["position"] for i in results["items"]] == [1, 2, 3, 4, 5, 6]
    assert [i["difficulty"] for i in results["items"]][:3] == [0.5, 0.5, 1.0]
    text = _run(home, "quiz", "results", str(paper.id))
    assert "participation: 66.7% (target 100%) below target" in " ".join(text.split())
    month = json.loads(_run(home, "quiz", "results", "--month", "2026-10", "--json"))
    bank = next(r for r in month if r["branch_id"] == "all")
    assert (bank["papers"], bank["assigned"], bank["participated"]) == (1, 3, 2)
    targets = json.loads(_run(home, "quiz", "results", "--year", "2026", "--json"))
    assert [(r["teller_id"], r["expert_papers"], r["target"], r["met"]) for r in targets] == [
        ("0101", 1, 2, False), ("0102", 0, 2, False), ("0201", 0, 2, False)]
    assert "0 of 3 tellers reached the expert mark on 2 papers" in " ".join(
        _run(home, "quiz", "results", "--year", "2026").split())
    every = json.loads(_run(home, "quiz", "results", "--json"))
    assert [(p["id"], p["participated"]) for p in every] == [(paper.id, 2)]


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)
def test_export_then_import_in_every_format(tmp_path: Path, own_app_db: None) -> None:
    home = _workspace(tmp_path / "ws")
    _run(home, "quiz", "generate", "--activate")
    active = list_questions(status="active", home=home)
    singles = sum(1 for b in active if b.question.kind == "single")
    for fmt, name in (("gift", "bank.gift"), ("moodle-xml", "bank.xml"), ("aiken", "bank.txt")):
        out = tmp_path / name
        said = " ".join(_run(home, "quiz", "export", "--format", fmt, str(out)).split())
        written = len(active) if fmt != "aiken" else singles
        assert f"wrote {written:,} questions" in said
        assert f"left out {len(active) - written:,}" in said
        other = _workspace(tmp_path / f"other-{fmt}")
        got = json.loads(_run(other, "quiz", "import", str(out), "--as", "trainer", "--json"))
        assert got["read"] == got["added"] == written
        imported = {b.question.key: b for b in list_questions(home=other)}
        assert {b.status for b in imported.values()} == {"new"}
        if fmt == "moodle-xml":  # Moodle's question XML: <quiz>, a category per topic
            root = ElementTree.parse(out).getroot()
            kinds = Counter(q.get("type") for q in root.iter("question"))
            assert root.tag == "quiz" and set(kinds) == {"category", "multichoice", "truefalse",
                                                         "ordering"}
            assert kinds["category"] == len({b.question.topic for b in active})
        if fmt != "aiken":  # GIFT and Moodle XML carry the keys and everything else
            assert {k: b.question for k, b in imported.items()} == {
                b.question.key: b.question for b in active}
    bad = runner.invoke(app, ["quiz", "export", "--format", "csv", str(tmp_path / "x"),
                              "--home", str(home)])
    assert isinstance(bad.exception, ProcmineError) and "gift" in str(bad.exception)
    for command in (["export", "--format", "gift", str(tmp_path / "y"), "--status", "done"],
                    ["list", "--status", "done"]):
        wrong = runner.invoke(app, ["quiz", *command, "--home", str(home)])
        assert isinstance(wrong.exception, ProcmineError)
        assert "--status 'done': expected one of new, active" in str(wrong.exception)


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)
def test_spot_checks_add_list_and_due(tmp_path: Path, own_app_db: None) -> None:
    home = _workspace(tmp_path / "ws")
    library = SopLibrary.open(home)
    in_force = library.in_force("SOP-P18", date(2026, 10, 6), "B01")
    assert in_force is not None
    added = json.loads(_run(home, "spotcheck", "add", "--teller", "0102", "--sop", "SOP-P18",
                            "--observed", "call_number,read_card", "--observed",
                            "enter_transaction", "--wrong", "enter_transaction",
                            "--seconds", "200", "--date", "2026-10-06", "--note", "慢",
                            "--as", "trainer", "--json"))
    assert added["passed"] is False and added["sop_version"] == in_force.sop.version
    assert added["steps_observed"] == ["call_number", "read_card", "enter_transaction"]
    ok = _run(home, "spotcheck", "add", "--teller", "0101", "--sop", "SOP-P18", "--observed",
              "call_number", "--date", "2026-10-07", "--as", "trainer")
    assert "passed" in ok and "not passed" not in ok
    wrong_step = runner.invoke(app, ["spotcheck", "add", "--teller", "0101", "--sop", "SOP-P18",
                                     "--observed", "no_such_step", "--as", "trainer",
                                     "--home", str(home)])
    assert isinstance(wrong_step.exception, ProcmineError)
    assert "no_such_step" in str(wrong_step.exception)
    stranger = runner.invoke(app, ["spotcheck", "add", "--teller", "9999", "--sop", "SOP-P18",
                                   "--observed", "call_number", "--as", "trainer",
                                   "--home", str(home)])
    assert isinstance(stranger.exception, ProcmineError)
    assert "teller 9999 is not on the roster" in str(stranger.exception)
    listed = json.loads(_run(home, "spotcheck", "list", "--as", "trainer", "--month",
                             "2026-10", "--json"))
    assert [(c["teller_id"], c["passed"]) for c in listed] == [("0101", True), ("0102", False)]
    only = json.loads(_run(home, "spotcheck", "list", "--as", "trainer", "--teller", "0102",
                           "--json"))
    assert [c["steps_wrong"] for c in only] == [["enter_transaction"]]
    summary = spot_check_summary("2026-10", home=home).set_index("teller_id")
    assert summary.loc["0102", ["checks", "passed", "failed"]].tolist() == [1, 0, 1]
    due = json.loads(_run(home, "spotcheck", "due", "--sop", "SOP-P18", "--today", "2026-10-31",
                          "--json"))
    assert {(r["teller_id"], r["state"], r["due_on"]) for r in due} == {
        ("0102", "failed", "2027-01-04"), ("0201", "never", None)}
    later = json.loads(_run(home, "spotcheck", "due", "--sop", "SOP-P18", "--today",
                            "2027-01-05", "--json"))
    assert {(r["teller_id"], r["state"]) for r in later} == {
        ("0102", "failed"), ("0201", "never"), ("0101", "due")}
    monthly = json.loads(_run(home, "spotcheck", "due", "--sop", "SOP-P18", "--every", "20",
                              "--today", "2026-10-28", "--json"))
    assert ("0101", "due") in {(r["teller_id"], r["state"]) for r in monthly}
    text = " ".join(_run(home, "spotcheck", "due", "--today", "2026-10-31").split())
    assert "passed 1, failed 1, due 0, never" in text


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)
def test_sop_approve_lists_the_tellers_to_retest(tmp_path: Path, own_app_db: None) -> None:
    home = _workspace(tmp_path / "ws")
    _run(home, "quiz", "generate", "--activate")
    pool = list_questions(status="active", topic="SOP-P17", home=home)
    made = json.loads(_run(home, "quiz", "paper", "--title", "P17", "--sop", "SOP-P17",
                           "--count", str(len(pool)), "--seed", "1", "--as", "trainer",
                           "--json"))
    paper = get_paper(made["id"], home=home)
    _run(home, "quiz", "assign", str(paper.id), "--everyone", "--as", "trainer")
    when = datetime(2026, 10, 20, 2, tzinfo=UTC)
    questions = dict(enumerate(paper.questions, start=1))
    counted = [p for p, q in questions.items() if q.step_id == "count_cash"]
    assert counted
    # 0101 answers the count_cash questions; 0102 only questions on other steps
    record_paper_attempt(paper.id, "0101", {p: _right(questions[p]) for p in counted},
                         actor="trainer", started_at=when, submitted_at=when, home=home)
    record_paper_attempt(paper.id, "0102", {p: _right(q) for p, q in questions.items()
                                            if q.step_id not in (None, "count_cash")},
                         actor="trainer", started_at=when, submitted_at=when, home=home)
    text = runner.invoke(app, ["sop", "show", "SOP-P17", "--home", str(home)]).stdout
    edited = tmp_path / "SOP-P17.md"
    edited.write_text(text.replace("唱收金额", "唱收金额并与凭条核对", 1), encoding="utf-8")
    for args in (["save", "SOP-P17", str(edited), "--user", "li", "--note", "Check the slip"],
                 ["submit", "SOP-P17", "--user", "li"]):
        result = runner.invoke(app, ["sop", *args, "--password-stdin", "--home", str(home)],
                               input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
    approved = runner.invoke(app, ["sop", "approve", "SOP-P17", "--user", "wang",
                                   "--effective", date.today().isoformat(),
                                   "--password-stdin", "--home", str(home), "--json"],
                             input=PASSWORD + "\n")
    assert approved.exit_code == 0, approved.output
    report = json.loads(approved.stdout)
    assert report["status"] == "approved"
    stale = {b.question.key for b in list_questions(status="stale", home=home)}
    assert stale and set(report["reopened"]) == stale
    assert all(":count_cash:" in key or ":-:" in key for key in stale)
    assert [r["teller_id"] for r in report["retest"]] == ["0101"]
    assert set(report["retest"][0]["question_keys"]) <= stale


def test_a_role_mistake_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    add_user("t1", PASSWORD, "teller", home=home, teller_id="0101", branch_id="B01")
    result = subprocess.run(
        [sys.executable, "-m", "procmine.cli", "quiz", "assign", "1", "--everyone", "--as", "t1",
         "--home", str(home)], capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--as t1: a teller may not do this" in " ".join(result.stderr.split())
    bad = tmp_path / "bad.gift"
    bad.write_text("::q1:: 点钞须在客户视线内进行。{T}\n\n::q2:: 题目 {\n=对\n~错\n\n"
                   "::q3:: 没有答案 {~a ~b}\n", encoding="utf-8")
    add_user("trainer", PASSWORD, "trainer", home=home)
    refused = subprocess.run(
        [sys.executable, "-m", "procmine.cli", "quiz", "import", str(bad), "--as", "trainer",
         "--home", str(home)], capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    lines = " ".join(refused.stderr.split())
    assert "bad.gift:3:" in lines and "bad.gift:7: no right answer" in lines
    nobody = subprocess.run(
        [sys.executable, "-m", "procmine.cli", "spotcheck", "list", "--as", "nobody",
         "--home", str(home)], capture_output=True, text=True, check=False)
    assert nobody.returncode == 2 and "no such user" in nobody.stderr
