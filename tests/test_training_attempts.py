"""Grading and attempts: the credit rules (Moodle's multiple-choice partial credit, ordering by
adjacent pairs); a teller cannot see another teller's answers or results; an interrupted attempt
resumes with its answers (engines closed between: nothing is kept in memory); the SOPs are
closed during an attempt and open after it; one attempt at a time; the deadline. The db-backed
tests run on SQLite and PostgreSQL (``own_app_db``)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from procmine.app.appdb import close_engines, list_audit, session_for
from procmine.app.auth import User, add_user
from procmine.core.errors import ProcmineError
from procmine.training.attempts import (
    AttemptItem,
    AttemptView,
    ClosedBook,
    attempt_result,
    ensure_not_in_attempt,
    get_attempt,
    list_attempts,
    open_attempt,
    record_paper_attempt,
    save_answer,
    start_attempt,
    submit_attempt,
)
from procmine.training.bank import sync_questions
from procmine.training.grading import check_response, grade_response, paper_score
from procmine.training.papers import assign_paper, build_paper, close_paper
from procmine.training.question import Choice, Question, true_false
from procmine.training.roster import Trainee
from procmine.training.tables import AnswerRow, AssignmentRow, AttemptRow, ReviewCardRow

PASSWORD = "s3cret-pass-x"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ROSTER = [Trainee("0101", "B01", "z.li"), Trainee("0102", "B01", "q.zhao")]

SINGLE = Question(key="reg:cash:single", kind="single", stem="假币应当？",
                  choices=(Choice("退还客户", 0), Choice("当面收缴", 100), Choice("放行", 0)),
                  topic="regulation/cash", source="regulation", regulation="cash")
MULTIPLE = Question(key="reg:aml:multiple", kind="multiple", stem="哪些属于客户身份识别？",
                    choices=(Choice("核对证件", 50), Choice("代客签名", -50),
                             Choice("联网核查", 50), Choice("先办后补", -50)),
                    topic="regulation/aml", source="regulation", regulation="aml")
ORDERING = Question(key="reg:cash:ordering", kind="ordering", stem="现金存款的步骤顺序",
                    choices=(Choice("叫号", 100), Choice("点钞", 100), Choice("记账", 100),
                             Choice("交回单", 100)),
                    topic="regulation/cash", source="regulation", regulation="cash")
TRUE_FALSE = Question(key="reg:aml:tf", kind="truefalse", stem="5万元以上现金存取为大额交易。",
                      choices=true_false(True), topic="regulation/aml", source="regulation",
                      regulation="aml")


# -- grading (pure) ----------------------------------------------------------------------------

def test_single_and_true_false_earn_credit_only_for_exactly_the_right_choice() -> None:
    assert [grade_response(SINGLE, [i]) for i in range(3)] == [0.0, 1.0, 0.0]
    assert grade_response(SINGLE, []) == 0.0
    assert (grade_response(TRUE_FALSE, [0]), grade_response(TRUE_FALSE, [1])) == (1.0, 0.0)
    with pytest.raises(ProcmineError, match="exactly one choice; got 2"):
        grade_response(SINGLE, [1, 0])


def test_multiple_choice_follows_moodles_partial_credit_rule() -> None:
    # 2 right (+50 each), 2 wrong (-50 each): the sum of the chosen fractions, clamped 0..1
    assert grade_response(MULTIPLE, [0]) == 0.5
    assert grade_response(MULTIPLE, [2, 0]) == 1.0
    assert grade_response(MULTIPLE, [0, 2, 1]) == 0.5
    assert grade_response(MULTIPLE, [0, 1, 2, 3]) == 0.0  # ticking everything earns nothing
    assert grade_response(MULTIPLE, [1]) == 0.0           # clamped, not -0.5
    assert grade_response(MULTIPLE, [0, 1]) == 0.0
    thirds = Question(key="x", kind="multiple", stem="?", topic="x", source="manual",
                      choices=(Choice("a", 33.33333), Choice("b", 33.33333),
                               Choice("c", 33.33334), Choice("d", -100)))
    assert grade_response(thirds, [0, 1, 2]) == 1.0
    assert grade_response(thirds, [0]) == pytest.approx(1 / 3, abs=1e-5)
    assert grade_response(thirds, [0, 1, 2, 3]) == 0.0


def test_ordering_earns_the_share_of_adjacent_pairs_in_the_right_order() -> None:
    assert grade_response(ORDERING, [0, 1, 2, 3]) == 1.0
    assert grade_response(ORDERING, [1, 2, 3, 0]) == pytest.approx(2 / 3, abs=1e-6)
    assert grade_response(ORDERING, [3, 2, 1, 0]) == 0.0
    assert grade_response(ORDERING, [0, 2, 1, 3]) == 0.0  # 0-2, 2-1, 1-3: none adjacent
    assert grade_response(ORDERING, [2, 3, 0, 1]) == pytest.approx(2 / 3, abs=1e-6)
    with pytest.raises(ProcmineError, match="put all 4 items in order; got 3"):
        grade_response(ORDERING, [0, 1, 2])
    with pytest.raises(ProcmineError, match="a choice is given twice"):
        check_response(ORDERING, [0, 1, 1, 2])
    with pytest.raises(ProcmineError, match="choice numbers run from 0 to 3"):
        check_response(ORDERING, [0, 1, 2, 4])


def test_a_paper_score_weighs_credits_by_points() -> None:
    assert paper_score([(1.0, 1.0), (0.5, 1.0), (0.0, 2.0)]) == 37.5
    assert paper_score([(1.0, 3.0), (0.0, 1.0)]) == 75.0
    assert paper_score([]) == 0.0


# -- attempts (app database) -------------------------------------------------------------------

@pytest.fixture
def people(own_app_db: None, home: Path) -> dict[str, User]:
    return {
        "trainer": add_user("t.wang", PASSWORD, "trainer", home=home),
        "reviewer": add_user("r.chen", PASSWORD, "reviewer", review_group="accounting-and-cash",
                             home=home),
        "teller": add_user("z.li", PASSWORD, "teller", teller_id="0101", branch_id="B01",
                           home=home),
        "other": add_user("q.zhao", PASSWORD, "teller", teller_id="0102", branch_id="B01",
                          home=home),
    }


def make_paper(home: Path, trainer: User, *, title: str = "综合", minutes: int = 30,
               max_attempts: int = 1, shuffle: bool = True) -> int:
    sync_questions([SINGLE, MULTIPLE, ORDERING, TRUE_FALSE], actor="sys", status="active",
                   home=home)
    paper = build_paper(title=title, user=trainer, regulations=["cash", "aml"], count=4,
                        time_limit_minutes=minutes, pass_mark=60.0, expert_mark=90.0,
                        max_attempts=max_attempts, shuffle=shuffle, seed=3, home=home)
    assign_paper(paper.id, user=trainer, roster=ROSTER, everyone=True, home=home)
    return paper.id


def item(view: AttemptView, key_stem: str) -> AttemptItem:
    return next(i for i in view.items if i.stem == key_stem)


def right_response(q: Question) -> list[int]:
    return list(range(len(q.choices))) if q.kind == "ordering" else [
        i for i, c in enumerate(q.choices) if c.correct]


def test_an_attempt_is_graded_on_submit_and_missed_items_go_to_review(
        people: dict[str, User], home: Path) -> None:
    teller = people["teller"]
    paper_id = make_paper(home, people["trainer"])
    view = start_attempt(paper_id, user=teller, home=home, now=NOW, seed=1)
    assert (view.status, view.deadline_at, view.seconds_left) == ("open", NOW + timedelta(
        minutes=30), 1800)
    assert sorted(i.stem for i in view.items) == sorted(
        q.stem for q in (SINGLE, MULTIPLE, ORDERING, TRUE_FALSE))
    # what a teller sees carries no fraction: only texts and choice numbers
    assert "fraction" not in str(view) and "correct" not in {
        f.name for f in dataclasses.fields(AttemptItem)}
    order = item(view, ORDERING.stem)
    assert list(order.choice_ids) != [0, 1, 2, 3]  # never shown in the right order
    assert list(order.choices) == [ORDERING.choices[i].text for i in order.choice_ids]
    later = NOW + timedelta(minutes=10)
    save_answer(view.id, item(view, SINGLE.stem).position, [1], user=teller, home=home, now=later)
    save_answer(view.id, item(view, MULTIPLE.stem).position, [0], user=teller, home=home,
                now=later)
    save_answer(view.id, order.position, [1, 2, 3, 0], user=teller, home=home, now=later)
    result = submit_attempt(view.id, user=teller, home=home, now=later)
    # single 1 + multiple 0.5 + ordering 2/3 + true/false unanswered 0, out of 4
    assert result.score == pytest.approx(100 * (1 + 0.5 + 2 / 3) / 4, abs=1e-3)
    assert (result.status, result.passed, result.expert) == ("submitted", False, False)
    credits = {r.key: r.credit for r in result.items}
    assert credits == pytest.approx({SINGLE.key: 1.0, MULTIPLE.key: 0.5,
                                     ORDERING.key: 2 / 3, TRUE_FALSE.key: 0.0}, abs=1e-6)
    by_key = {r.key: r for r in result.items}
    assert by_key[ORDERING.key].response_texts == ("点钞", "记账", "交回单", "叫号")
    assert by_key[ORDERING.key].right_texts == ("叫号", "点钞", "记账", "交回单")
    assert by_key[MULTIPLE.key].right_texts == ("核对证件", "联网核查")
    assert by_key[TRUE_FALSE.key].response_texts == ()
    with session_for(home) as session:
        cards = sorted(session.scalars(select(ReviewCardRow.question_key).where(
            ReviewCardRow.teller_id == "0101")))
    assert cards == sorted([MULTIPLE.key, ORDERING.key, TRUE_FALSE.key])
    assert [e.username for e in list_audit(home, action="quiz.submit")] == ["z.li"]
    with pytest.raises(ProcmineError, match="is submitted already"):
        submit_attempt(view.id, user=teller, home=home, now=later)
    with pytest.raises(ProcmineError, match="is submitted: answers are closed"):
        save_answer(view.id, 1, [0], user=teller, home=home, now=later)


def test_a_teller_cannot_see_or_touch_another_tellers_attempt_or_result(
        people: dict[str, User], home: Path) -> None:
    teller, other = people["teller"], people["other"]
    paper_id = make_paper(home, people["trainer"])
    view = start_attempt(paper_id, user=teller, home=home, now=NOW)
    save_answer(view.id, 1, right_response(SINGLE), user=teller, home=home, now=NOW)
    for action in (lambda: get_attempt(view.id, user=other, home=home, now=NOW),
                   lambda: save_answer(view.id, 1, [0], user=other, home=home, now=NOW),
                   lambda: submit_attempt(view.id, user=other, home=home, now=NOW),
                   lambda: attempt_result(view.id, user=other, home=home, now=NOW),
                   lambda: get_attempt(view.id, user=people["reviewer"], home=home, now=NOW),
                   lambda: save_answer(view.id, 1, [0], user=people["trainer"], home=home,
                                       now=NOW)):
        with pytest.raises(ProcmineError, match=f"attempt {view.id} is not your attempt"):
            action()
    with pytest.raises(ProcmineError, match="still open"):
        attempt_result(view.id, user=teller, home=home, now=NOW)
    submit_attempt(view.id, user=teller, home=home, now=NOW)
    with pytest.raises(ProcmineError, match="not your attempt"):
        attempt_result(view.id, user=other, home=home, now=NOW)
    assert list_attempts(user=other, home=home, now=NOW) == []
    with pytest.raises(ProcmineError, match="a teller sees only their own attempts"):
        list_attempts(user=other, teller_id="0101", home=home, now=NOW)
    mine = attempt_result(view.id, user=teller, home=home, now=NOW)
    assert mine.score is not None
    for reader in ("trainer", "reviewer"):
        assert attempt_result(view.id, user=people[reader], home=home, now=NOW) == mine
        assert [a.id for a in list_attempts(user=people[reader], teller_id="0101",
                                            home=home, now=NOW)] == [view.id]
    assert get_attempt(view.id, user=people["trainer"], home=home, now=NOW).id == view.id


def test_an_interrupted_attempt_resumes_with_its_answers_and_order(
        people: dict[str, User], home: Path) -> None:
    teller = people["teller"]
    paper_id = make_paper(home, people["trainer"])
    view = start_attempt(paper_id, user=teller, home=home, now=NOW, seed=5)
    multiple, ordering = item(view, MULTIPLE.stem), item(view, ORDERING.stem)
    save_answer(view.id, multiple.position, [0, 1], user=teller, home=home, now=NOW)
    save_answer(view.id, multiple.position, [2, 0], user=teller, home=home, now=NOW)  # replaces
    save_answer(view.id, ordering.position, [0, 1, 3, 2], user=teller, home=home, now=NOW)
    close_engines()  # a restart: a new engine, new sessions, nothing kept in memory
    resumed = open_attempt("0101", home=home, now=NOW + timedelta(minutes=12))
    assert resumed is not None
    assert resumed.id == view.id
    assert [(i.position, i.choice_ids) for i in resumed.items] == [
        (i.position, i.choice_ids) for i in view.items]
    answers = {i.stem: i.response for i in resumed.items}
    assert answers == {SINGLE.stem: None, MULTIPLE.stem: (2, 0), ORDERING.stem: (0, 1, 3, 2),
                       TRUE_FALSE.stem: None}
    assert (resumed.answered, resumed.seconds_left) == (2, 18 * 60)
    with session_for(home) as session:  # one row per position, the latest answer
        rows = session.scalars(select(AnswerRow).where(AnswerRow.attempt_id == view.id))
        assert sorted(r.position for r in rows) == sorted([multiple.position, ordering.position])
    save_answer(view.id, multiple.position, [], user=teller, home=home, now=NOW)  # cleared
    assert get_attempt(view.id, user=teller, home=home, now=NOW).answered == 1


def test_the_sops_are_closed_during_an_attempt_and_open_after_it(
        people: dict[str, User], home: Path) -> None:
    teller = people["teller"]
    paper_id = make_paper(home, people["trainer"])
    ensure_not_in_attempt(teller, home=home, now=NOW)  # no attempt: nothing raised
    view = start_attempt(paper_id, user=teller, home=home, now=NOW)
    with pytest.raises(ClosedBook, match="an attempt is open"):
        ensure_not_in_attempt(teller, home=home, now=NOW + timedelta(minutes=5))
    ensure_not_in_attempt(people["other"], home=home, now=NOW)  # another teller: open
    ensure_not_in_attempt(people["trainer"], home=home, now=NOW)
    submit_attempt(view.id, user=teller, home=home, now=NOW + timedelta(minutes=6))
    ensure_not_in_attempt(teller, home=home, now=NOW + timedelta(minutes=7))
    # an attempt left open closes the book only until its time is up
    other = people["other"]
    start_attempt(paper_id, user=other, home=home, now=NOW)
    with pytest.raises(ClosedBook):
        ensure_not_in_attempt(other, home=home, now=NOW + timedelta(minutes=30, seconds=30))
    ensure_not_in_attempt(other, home=home, now=NOW + timedelta(minutes=30, seconds=31))


def test_one_attempt_at_a_time_and_no_more_than_the_paper_allows(
        people: dict[str, User], home: Path) -> None:
    teller, trainer = people["teller"], people["trainer"]
    first = make_paper(home, trainer, title="一")
    second = make_paper(home, trainer, title="二", max_attempts=2)
    view = start_attempt(first, user=teller, home=home, now=NOW)
    with pytest.raises(ProcmineError, match=f"finish your open attempt at paper {first} first"):
        start_attempt(second, user=teller, home=home, now=NOW)
    start_attempt(second, user=people["other"], home=home, now=NOW)  # others are not held up
    submit_attempt(view.id, user=teller, home=home, now=NOW)
    with pytest.raises(ProcmineError, match=f"used your 1 attempt at paper {first}"):
        start_attempt(first, user=teller, home=home, now=NOW)
    for _ in range(2):
        again = start_attempt(second, user=teller, home=home, now=NOW)
        submit_attempt(again.id, user=teller, home=home, now=NOW)
    with pytest.raises(ProcmineError, match=f"used your 2 attempts at paper {second}"):
        start_attempt(second, user=teller, home=home, now=NOW)
    with pytest.raises(ProcmineError, match="only a teller"):
        start_attempt(second, user=trainer, home=home, now=NOW)


def test_start_needs_an_open_paper_assigned_to_the_teller(people: dict[str, User],
                                                          home: Path) -> None:
    teller, trainer = people["teller"], people["trainer"]
    sync_questions([SINGLE, TRUE_FALSE], actor="sys", status="active", home=home)
    draft = build_paper(title="d", user=trainer, regulations=["cash"], count=1, home=home)
    with pytest.raises(ProcmineError, match=f"paper {draft.id} is not open \\(draft\\)"):
        start_attempt(draft.id, user=teller, home=home, now=NOW)
    assign_paper(draft.id, user=trainer, roster=ROSTER, tellers=["0102"], home=home)
    with pytest.raises(ProcmineError, match=f"paper {draft.id} is not assigned to you"):
        start_attempt(draft.id, user=teller, home=home, now=NOW)
    close_paper(draft.id, user=trainer, home=home)
    with pytest.raises(ProcmineError, match="is not open \\(closed\\)"):
        start_attempt(draft.id, user=people["other"], home=home, now=NOW)


def test_answers_are_refused_after_the_deadline_and_the_attempt_expires_graded(
        people: dict[str, User], home: Path) -> None:
    teller = people["teller"]
    paper_id = make_paper(home, people["trainer"], minutes=10)
    view = start_attempt(paper_id, user=teller, home=home, now=NOW)
    single = item(view, SINGLE.stem)
    deadline = NOW + timedelta(minutes=10)
    save_answer(view.id, single.position, [1], user=teller, home=home,
                now=deadline + timedelta(seconds=29))  # within the grace
    with pytest.raises(ProcmineError, match="the time is up"):
        save_answer(view.id, item(view, TRUE_FALSE.stem).position, [0], user=teller,
                    home=home, now=deadline + timedelta(seconds=31))
    with pytest.raises(ProcmineError, match=r"paper \d+ has no question 9"):
        save_answer(view.id, 9, [0], user=teller, home=home, now=NOW)
    with pytest.raises(ProcmineError, match="exactly one choice"):
        save_answer(view.id, single.position, [0, 1], user=teller, home=home, now=NOW)
    assert open_attempt("0101", home=home, now=deadline + timedelta(seconds=31)) is None
    result = attempt_result(view.id, user=teller, home=home)
    assert (result.status, result.score, result.submitted_at) == ("expired", 25.0, deadline)
    assert list_audit(home, username="z.li")[0].action == "quiz.expire"


def test_a_late_submit_is_graded_as_expired(people: dict[str, User], home: Path) -> None:
    teller = people["teller"]
    paper_id = make_paper(home, people["trainer"], minutes=5)
    view = start_attempt(paper_id, user=teller, home=home, now=NOW)
    save_answer(view.id, item(view, TRUE_FALSE.stem).position, [0], user=teller, home=home,
                now=NOW)
    result = submit_attempt(view.id, user=teller, home=home, now=NOW + timedelta(minutes=6))
    assert (result.status, result.score) == ("expired", 25.0)


def test_a_past_attempt_is_recorded_and_graded_the_same_way(people: dict[str, User],
                                                            home: Path) -> None:
    paper_id = make_paper(home, people["trainer"], shuffle=False)
    positions = {q.key: n for n, q in enumerate(
        build_paper(title="probe", user=people["trainer"], regulations=["cash", "aml"],
                    count=4, seed=3, home=home).questions, start=1)}
    responses = {positions[SINGLE.key]: [1], positions[MULTIPLE.key]: [0, 2],
                 positions[ORDERING.key]: [0, 1, 2, 3], positions[TRUE_FALSE.key]: [0]}
    result = record_paper_attempt(paper_id, "0201", responses, actor="demo",
                                  started_at=NOW - timedelta(days=30),
                                  submitted_at=NOW - timedelta(days=30, minutes=-20),
                                  branch_id="B02", home=home)
    assert (result.score, result.passed, result.expert, result.branch_id) == (
        100.0, True, True, "B02")
    assert result.submitted_at == NOW - timedelta(days=29, hours=23, minutes=40)
    with pytest.raises(ProcmineError, match="only a trainer or operations may record"):
        record_paper_attempt(paper_id, "0201", {}, actor=people["teller"], started_at=NOW,
                             submitted_at=NOW, home=home)
    with pytest.raises(ProcmineError, match="put all 4 items in order"):
        record_paper_attempt(paper_id, "0202", {positions[ORDERING.key]: [0, 1]},
                             actor="demo", started_at=NOW, submitted_at=NOW, home=home)
    assert [a.teller_id for a in list_attempts(user=people["trainer"], paper_id=paper_id,
                                               home=home, now=NOW)] == ["0201"]
    with session_for(home) as session:  # the teller who sat it was assigned it
        assigned = session.scalars(select(AssignmentRow).where(
            AssignmentRow.paper_id == paper_id, AssignmentRow.teller_id == "0201")).one()
        assert (assigned.branch_id, assigned.assigned_by) == ("B02", "demo")


def test_the_database_keeps_two_attempts_started_at_once_from_both_being_open(
        people: dict[str, User], home: Path) -> None:
    teller = people["teller"]
    paper_id = make_paper(home, people["trainer"], max_attempts=3)
    # another request's attempt, committed between this start's check and its insert: the
    # check saw no open attempt, the unique open_teller column still refuses the second one
    with session_for(home) as session:
        session.add(AttemptRow(paper_id=paper_id, teller_id="0101", username="z.li",
                               started_at=NOW, deadline_at=NOW + timedelta(minutes=30),
                               status="racing", open_teller="0101"))
    with pytest.raises(ProcmineError, match="one attempt at a time"):
        start_attempt(paper_id, user=teller, home=home, now=NOW)
    with session_for(home) as session:
        statuses = list(session.scalars(select(AttemptRow.status).where(
            AttemptRow.teller_id == "0101")))
    assert statuses == ["racing"]
    view = start_attempt(paper_id, user=people["other"], home=home, now=NOW)
    submit_attempt(view.id, user=people["other"], home=home, now=NOW)
    again = start_attempt(paper_id, user=people["other"], home=home, now=NOW)  # freed on submit
    assert again.id != view.id
