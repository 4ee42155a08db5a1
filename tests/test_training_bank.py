"""The question bank in the app database: sync by key, revisions, retired stays retired,
validation, edits and status changes by trainers only (audited), search, and a new SOP version
re-opening the questions of its changed steps while the others carry over. On SQLite and
PostgreSQL (``own_app_db``)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from procmine.app.appdb import list_audit
from procmine.app.auth import User, add_user
from procmine.core.errors import ProcmineError
from procmine.sop.document import Sop, parse_sop, set_front_matter
from procmine.sop.library import SopLibrary
from procmine.sop.repository import bundled_sops_dir
from procmine.sop.workflow import Editor
from procmine.training.bank import (
    edit_question,
    get_question,
    list_questions,
    reopen_changed,
    set_question_status,
    sync_bank,
    sync_questions,
    validate_question,
)
from procmine.training.question import Choice, Question, true_false

PASSWORD = "s3cret-pass-x"


def tf(key: str, stem: str, answer: bool = True, area: str = "aml") -> Question:
    return Question(key=key, kind="truefalse", stem=stem, choices=true_false(answer),
                    topic=f"regulation/{area}", source="regulation", regulation=area)


def single(key: str, right: int = 0, n: int = 4) -> Question:
    return Question(key=key, kind="single", stem=f"问题 {key}",
                    choices=tuple(Choice(f"选项{i}", 100.0 if i == right else 0.0)
                                  for i in range(n)),
                    topic="regulation/cash", source="regulation", regulation="cash")


@pytest.fixture
def trainer(own_app_db: None, home: Path) -> User:
    return add_user("t.wang", PASSWORD, "trainer", home=home)


@pytest.fixture
def teller(own_app_db: None, home: Path) -> User:
    return add_user("z.li", PASSWORD, "teller", teller_id="0101", branch_id="B01", home=home)


def test_sync_upserts_by_key_and_bumps_the_revision_only_on_change(own_app_db: None,
                                                                    home: Path) -> None:
    first = [tf("reg:aml:a", "大额交易标准为5万元。"), tf("reg:aml:b", "可疑交易须报告。")]
    assert tuple(vars(sync_questions(first, actor="sys", home=home)).values()) == (2, 0, 0, 0)
    changed = [tf("reg:aml:a", "大额交易标准为人民币5万元。"), first[1],
               tf("reg:aml:c", "新题", False)]
    report = sync_questions(changed, actor="sys", home=home)
    assert (report.added, report.updated, report.unchanged) == (1, 1, 1)
    bank = {b.question.key: b for b in list_questions(home=home)}
    assert {k: b.revision for k, b in bank.items()} == {"reg:aml:a": 2, "reg:aml:b": 1,
                                                        "reg:aml:c": 1}
    assert bank["reg:aml:a"].question.stem == "大额交易标准为人民币5万元。"
    assert {b.status for b in bank.values()} == {"new"}


def test_a_retired_question_stays_retired_through_a_sync_until_a_trainer_reactivates(
        trainer: User, home: Path) -> None:
    sync_questions([tf("reg:aml:a", "甲")], actor="sys", status="active", home=home)
    set_question_status("reg:aml:a", "retired", user=trainer, note="out of date", home=home)
    sync_questions([tf("reg:aml:a", "甲（改）")], actor="sys", status="active", home=home)
    again = get_question("reg:aml:a", home=home)
    assert again is not None
    assert (again.status, again.revision, again.question.stem) == ("retired", 2, "甲（改）")
    back = set_question_status("reg:aml:a", "active", user=trainer, home=home)
    assert back.status == "active"
    details = [e.detail for e in list_audit(home, action="quiz.question_status")]
    assert details == ["reg:aml:a: retired -> active",
                       "reg:aml:a: active -> retired (out of date)"]


def test_validation_names_every_problem() -> None:
    assert validate_question(single("reg:cash:ok")) == []
    two_right = replace(single("x"), choices=(Choice("甲", 100), Choice("乙", 100)))
    assert validate_question(two_right) == [
        "a single-choice question has exactly one right choice (2 here)"]
    one_choice = replace(single("x"), choices=(Choice("甲", 100),))
    assert validate_question(one_choice) == ["a question needs 2 or more choices (1 here)"]
    same_text = replace(single("x"), choices=(Choice("甲", 100), Choice(" 甲", 0)))
    assert validate_question(same_text) == ["two choices have the same text: 甲"]
    multiple = replace(single("x"), kind="multiple", choices=(
        Choice("甲", 50), Choice("乙", 40), Choice("丙", -50)))
    assert validate_question(multiple) == [
        "the right choices of a multiple-choice question add up to 100% (90% here)"]
    close_enough = replace(multiple, choices=(Choice("甲", 33.333), Choice("乙", 33.333),
                                              Choice("丙", 33.334), Choice("丁", -100)))
    assert validate_question(close_enough) == []
    none_right = replace(multiple, choices=(Choice("甲", -50), Choice("乙", 0)))
    assert validate_question(none_right) == [
        "a multiple-choice question needs at least one right choice"]
    assert validate_question(replace(single("x"), kind="essay")) == [
        "unknown kind 'essay' (expected one of single, multiple, truefalse, ordering)"]
    short_order = replace(single("x"), kind="ordering", choices=(Choice("甲", 100),))
    assert validate_question(short_order) == ["a question needs 2 or more choices (1 here)"]


def test_sync_refuses_invalid_questions_and_twice_given_keys_writing_nothing(
        own_app_db: None, home: Path) -> None:
    bad = replace(single("reg:cash:bad"), choices=(Choice("甲", 0), Choice("乙", 0)))
    with pytest.raises(ProcmineError, match="reg:cash:bad: a single-choice question has "
                                            r"exactly one right choice \(0 here\)"):
        sync_questions([single("reg:cash:ok"), bad], actor="sys", home=home)
    with pytest.raises(ProcmineError, match="the same key is given twice: reg:cash:ok"):
        sync_questions([single("reg:cash:ok"), single("reg:cash:ok")], actor="sys", home=home)
    assert list_questions(home=home) == []


def test_only_trainers_and_operations_edit_and_each_edit_is_a_revision_with_an_audit_row(
        trainer: User, teller: User, home: Path) -> None:
    sync_questions([single("reg:cash:q1")], actor="sys", home=home)
    edited = replace(single("reg:cash:q1", right=2), stem="点钞应当在哪里进行？")
    with pytest.raises(ProcmineError, match="only a trainer or operations may edit questions"):
        edit_question("reg:cash:q1", edited, user=teller, note="", home=home)
    with pytest.raises(ProcmineError, match="an edit keeps the key"):
        edit_question("reg:cash:q1", edited.with_key("reg:cash:q2"), user=trainer, note="",
                      home=home)
    with pytest.raises(ProcmineError, match="exactly one right choice"):
        edit_question("reg:cash:q1", replace(edited, choices=(Choice("甲", 0), Choice("乙", 0))),
                      user=trainer, note="", home=home)
    after = edit_question("reg:cash:q1", edited, user=trainer, note="clearer stem", home=home)
    assert (after.revision, after.updated_by, after.note) == (2, "t.wang", "clearer stem")
    assert after.question.correct_choices() == [Choice("选项2", 100.0)]
    same = edit_question("reg:cash:q1", edited, user=trainer, note="again", home=home)
    assert same.revision == 2  # nothing changed, no new revision
    assert [(e.username, e.detail) for e in list_audit(home, action="quiz.question_edit")] == [
        ("t.wang", "reg:cash:q1 revision 2: clearer stem")]
    with pytest.raises(ProcmineError, match="may change a question's status"):
        set_question_status("reg:cash:q1", "active", user=teller, home=home)
    with pytest.raises(ProcmineError, match="unknown question status 'gone'"):
        set_question_status("reg:cash:q1", "gone", user=trainer, home=home)
    with pytest.raises(ProcmineError, match="no question with the key 'reg:cash:nope'"):
        set_question_status("reg:cash:nope", "active", user=trainer, home=home)


def test_search_ignores_case_and_reads_stem_choices_title_and_key(own_app_db: None,
                                                                  home: Path) -> None:
    questions = [
        replace(tf("reg:aml:kyc", "客户身份识别须联网核查。"), title="KYC basics"),
        Question(key="reg:cash:counterfeit", kind="single", stem="发现假币应当？",
                 choices=(Choice("当面收缴", 100), Choice("退还客户", 0)),
                 topic="regulation/cash", source="regulation", regulation="cash"),
        Question(key="gen:SOP-P17:2.1:count_cash:next_step", kind="single",
                 stem="点钞之后的下一步是？", choices=(Choice("Enter Transaction", 100),
                                                  Choice("叫号", 0)),
                 topic="SOP-P17", source="generated", sop_id="SOP-P17", sop_version="2.1",
                 step_id="count_cash", template="next_step"),
    ]
    sync_questions(questions, actor="sys", home=home)

    def keys(**kw: str) -> list[str]:
        return [b.question.key for b in list_questions(home=home, **kw)]

    assert keys(search="kyc") == ["reg:aml:kyc"]                 # title and key, any case
    assert keys(search="联网") == ["reg:aml:kyc"]                 # stem
    assert keys(search="当面收缴") == ["reg:cash:counterfeit"]     # a choice
    assert keys(search="enter transaction") == ["gen:SOP-P17:2.1:count_cash:next_step"]
    assert keys(search="COUNT_CASH") == ["gen:SOP-P17:2.1:count_cash:next_step"]
    assert keys(search="nothing like it") == []
    assert keys(source="generated") == ["gen:SOP-P17:2.1:count_cash:next_step"]
    assert keys(sop_id="SOP-P17") == ["gen:SOP-P17:2.1:count_cash:next_step"]
    assert keys(topic="regulation/aml") == ["reg:aml:kyc"]
    assert keys(status="active") == []


def _p17(seconds_of_count_cash: int | None = None) -> Sop:
    text = (bundled_sops_dir() / "SOP-P17.md").read_text(encoding="utf-8")
    if seconds_of_count_cash is not None:
        old = "  - id: count_cash\n    activity: Count cash\n    standard_seconds: 30\n"
        assert old in text
        text = text.replace(old, old.replace("30", str(seconds_of_count_cash)))
        text = text.replace('version: "2.1"', 'version: "2.2"')
    return parse_sop(text)


def test_a_new_version_reopens_exactly_the_questions_of_its_changed_steps(
        own_app_db: None, home: Path) -> None:
    old, new = _p17(), _p17(seconds_of_count_cash=45)

    def gen(step: str | None, template: str, status_note: str = "") -> Question:
        return Question(key=f"gen:SOP-P17:2.1:{step or 'all'}:{template}", kind="truefalse",
                        stem=f"{step} {template}", choices=true_false(True), topic="SOP-P17",
                        source="generated", sop_id="SOP-P17", sop_version="2.1",
                        step_id=step, template=template)

    questions = [gen("count_cash", "duration"), gen("count_cash", "control"),
                 gen("enter_transaction", "duration"), gen(None, "order_steps")]
    other_version = replace(gen("count_cash", "next_step"), key="gen:SOP-P17:2.0:x:next_step",
                            sop_version="2.0")
    sync_questions([*questions, other_version], actor="sys", status="active", home=home)
    reopened = reopen_changed(old, new, actor="sys", home=home)
    assert reopened == ["gen:SOP-P17:2.1:all:order_steps",
                        "gen:SOP-P17:2.1:count_cash:control",
                        "gen:SOP-P17:2.1:count_cash:duration"]
    status = {b.question.key: b.status for b in list_questions(home=home)}
    assert status["gen:SOP-P17:2.1:enter_transaction:duration"] == "active"
    assert status["gen:SOP-P17:2.0:x:next_step"] == "active"  # another version: untouched
    assert reopen_changed(old, new, actor="sys", home=home) == []  # stale already
    assert reopen_changed(old, old, actor="sys", home=home) == []


def test_sync_bank_reopens_a_new_versions_changed_steps_and_carries_the_rest_over(
        own_app_db: None, home: Path, tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    for sop_id in ("SOP-P17", "SOP-P18", "SOP-P19"):
        shutil.copy(bundled_sops_dir() / f"{sop_id}.md", seed)
    library = SopLibrary.open(home, seed=seed)
    first = sync_bank(library, actor="sys", status="active", today=date(2026, 10, 1),
                      home=home, regulations=[])
    p17 = {b.question.key: b for b in list_questions(sop_id="SOP-P17", home=home)}
    assert first.added == len(list_questions(home=home)) and first.reopened == 0
    assert {b.question.sop_version for b in p17.values()} == {"2.1"}
    # a new version slows counting cash down: its questions are re-opened, the others carried
    head = library.current("SOP-P17")
    step = "  - id: count_cash\n    activity: Count cash\n    standard_seconds: 30\n"
    text = set_front_matter(head.sop.text.replace(step, step.replace("30", "45")),
                            effective=date(2026, 10, 12))
    alice = Editor("alice", "reviewer", "accounting-and-cash", "Alice")
    library.save("SOP-P17", text, user=alice, note="slower count", base=head.commit)
    library.submit("SOP-P17", user=alice)
    version = library.approve("SOP-P17", user=Editor("bob", "reviewer", "accounting-and-cash",
                                                      "Bob"), today=date(2026, 10, 1)).sop.version
    assert version == "3.0"
    second = sync_bank(library, actor="sys", today=date(2026, 10, 20), home=home,
                       regulations=[])
    reopened = sorted(k for k in p17 if ":count_cash:" in k or ":-:order_steps" in k)
    assert second.reopened == len(reopened) == 6
    assert second.added == len(p17)  # every 3.0 question is new to the bank
    assert second.unchanged == first.added - len(p17)  # SOP-P18 and SOP-P19 as they were
    status = {b.question.key: b.status for b in list_questions(sop_id="SOP-P17", home=home)}
    assert sorted(k for k, s in status.items() if s == "stale") == reopened
    assert {status[k] for k in p17 if k not in reopened} == {"retired"}
    assert {status[k.replace(":2.1:", ":3.0:")] for k in p17 if k not in reopened} == {"active"}
    assert {status[k.replace(":2.1:", ":3.0:")] for k in reopened} == {"new"}
    third = sync_bank(library, actor="sys", today=date(2026, 10, 20), home=home,
                      regulations=[])
    assert (third.added, third.updated, third.reopened) == (0, 0, 0)
