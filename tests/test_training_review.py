"""Spaced review with FSRS: what a paper misses is due at once, a right review answer pushes
the card out by days, a wrong one brings it back within minutes; retired questions drop out; a
teller reviews only their own cards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from test_training_people import T0101, T0103, TRAINER, make_library
from test_training_results import make_paper, question

from procmine.app.appdb import session_for
from procmine.core.errors import ProcmineError
from procmine.training.acknowledgements import acknowledge_sop
from procmine.training.attempts import (
    ClosedBook,
    record_paper_attempt,
    start_attempt,
    submit_attempt,
)
from procmine.training.question import Choice
from procmine.training.review import answer_review, review_queue
from procmine.training.settings import AccessDenied
from procmine.training.tables import QuestionRow, ReviewCardRow, ReviewLogRow

pytestmark = pytest.mark.usefixtures("own_app_db")

T0 = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
SINGLE = question("reg:aml:single")  # choice 0 is right
TRUE = question("reg:aml:tf", "truefalse")
MULTI = question("reg:aml:multi", "multiple", choices=[
    Choice("甲", 50.0), Choice("乙", 50.0), Choice("丙", -100.0)])


def sit(home: Path, responses: dict[int, list[int]], at: datetime = T0,
        teller: str = "0101") -> None:
    """Teller sits a paper of SINGLE, TRUE and MULTI, submitted at ``at``."""
    paper = make_paper(home, [SINGLE, TRUE, MULTI], title=f"paper {at}")
    record_paper_attempt(paper, teller, responses, actor="trainer",
                         started_at=at - timedelta(minutes=20), submitted_at=at,
                         branch_id="B01", home=home)


def keys(home: Path, now: datetime, teller: str = "0101", limit: int = 10) -> list[str]:
    return [i.key for i in review_queue(teller, home=home, now=now, limit=limit)]


def test_a_missed_item_is_due_at_once(home: Path) -> None:
    sit(home, {1: [1], 2: [0]})  # SINGLE wrong, TRUE right, MULTI unanswered
    assert keys(home, T0 - timedelta(seconds=1)) == []
    queue = review_queue("0101", home=home, now=T0)
    assert [i.key for i in queue] == [SINGLE.key, MULTI.key]
    assert queue[0].question == SINGLE
    assert (queue[0].reviews, queue[0].lapses) == (1, 1)  # the paper's miss
    assert keys(home, T0, teller="0103") == []


def test_a_right_answer_pushes_the_card_out_by_days(home: Path) -> None:
    sit(home, {1: [1]})
    now = T0 + timedelta(minutes=5)
    outcome = answer_review("0101", SINGLE.key, [0], user=T0101, home=home, now=now)
    assert (outcome.correct, outcome.credit, outcome.right_texts) == (True, 1.0, ("对",))
    assert outcome.next_due - now >= timedelta(days=1)
    assert SINGLE.key not in keys(home, now + timedelta(hours=12))
    assert SINGLE.key in keys(home, outcome.next_due)
    # right again: further out still
    later = answer_review("0101", SINGLE.key, [0], user=T0101, home=home,
                          now=outcome.next_due)
    assert later.next_due - outcome.next_due > outcome.next_due - now


def test_a_wrong_answer_brings_it_back_soon(home: Path) -> None:
    sit(home, {1: [1]})
    now = T0 + timedelta(minutes=5)
    right = answer_review("0101", SINGLE.key, [0], user=T0101, home=home, now=now)
    wrong = answer_review("0101", SINGLE.key, [2], user=T0101, home=home, now=right.next_due)
    assert (wrong.correct, wrong.credit) == (False, 0.0)
    assert timedelta(0) < wrong.next_due - right.next_due <= timedelta(minutes=10)
    assert SINGLE.key in keys(home, wrong.next_due)
    with session_for(home) as session:
        logs = session.scalars(select(ReviewLogRow.correct).where(
            ReviewLogRow.question_key == SINGLE.key).order_by(ReviewLogRow.id)).all()
    assert logs == [False, True, False]  # the paper, then the two reviews


def test_partial_credit_is_not_right(home: Path) -> None:
    sit(home, {3: [2]})
    outcome = answer_review("0101", MULTI.key, [0], user=T0101, home=home, now=T0)
    assert (outcome.correct, outcome.credit) == (False, 0.5)
    assert outcome.right_texts == ("甲", "乙")
    assert outcome.next_due - T0 <= timedelta(minutes=10)


def test_the_queue_is_oldest_first_and_limited(home: Path) -> None:
    sit(home, {1: [1], 2: [1], 3: [2]}, at=T0)
    with session_for(home) as session:  # make TRUE the oldest due card
        session.execute(update(ReviewCardRow).where(ReviewCardRow.question_key == TRUE.key)
                        .values(due=T0 - timedelta(days=2)))
    assert keys(home, T0, limit=2) == [TRUE.key, SINGLE.key]
    assert keys(home, T0) == [TRUE.key, SINGLE.key, MULTI.key]
    assert keys(home, T0, limit=0) == []
    # a later paper answered right rates the cards Good: out of today's review
    sit(home, {1: [0], 2: [0], 3: [0, 1]}, at=T0 + timedelta(hours=1))
    assert keys(home, T0 + timedelta(hours=2)) == []


def test_retired_questions_are_suspended_and_stale_ones_wait(home: Path) -> None:
    sit(home, {1: [1], 2: [1]})

    def set_status(key: str, status: str) -> None:
        with session_for(home) as session:
            session.execute(update(QuestionRow).where(QuestionRow.key == key)
                            .values(status=status))

    set_status(SINGLE.key, "retired")
    set_status(TRUE.key, "stale")
    assert keys(home, T0) == [MULTI.key]
    with session_for(home) as session:
        suspended = dict(session.execute(select(ReviewCardRow.question_key,
                                                ReviewCardRow.suspended)).all())
    assert suspended == {SINGLE.key: True, TRUE.key: False, MULTI.key: False}
    set_status(SINGLE.key, "active")
    set_status(TRUE.key, "active")
    assert keys(home, T0) == [TRUE.key, MULTI.key]  # the suspended card stays out
    with pytest.raises(ProcmineError, match="not in the review"):
        answer_review("0101", SINGLE.key, [0], user=T0101, home=home, now=T0)


def test_a_teller_reviews_only_their_own_cards(home: Path) -> None:
    sit(home, {1: [1], 2: [0], 3: [0, 1]})
    before = keys(home, T0)
    for who in (T0103, TRAINER):
        with pytest.raises(AccessDenied):
            answer_review("0101", SINGLE.key, [0], user=who, home=home, now=T0)
        with pytest.raises(AccessDenied):
            review_queue("0101", home=home, now=T0, user=who)
    assert [i.key for i in review_queue("0101", home=home, now=T0, user=T0101)] == before
    with pytest.raises(ProcmineError, match="not in the review"):
        answer_review("0101", TRUE.key, [0], user=T0101, home=home, now=T0)
    with pytest.raises(ProcmineError, match="exactly one choice"):
        answer_review("0101", SINGLE.key, [0, 1], user=T0101, home=home, now=T0)
    with pytest.raises(ProcmineError, match="give an answer"):
        answer_review("0101", SINGLE.key, [], user=T0101, home=home, now=T0)
    assert keys(home, T0) == before  # nothing was rescheduled


def test_review_and_sop_acknowledgement_are_closed_during_a_paper(tmp_path: Path,
                                                                  home: Path) -> None:
    """Review shows right answers and acknowledging means reading an SOP: neither while the
    teller has an attempt open."""
    library = make_library(tmp_path, home)
    sit(home, {1: [1], 2: [0], 3: [0, 1]})
    paper = make_paper(home, [TRUE], title="open", assigned=[("0101", "B01")])
    view = start_attempt(paper, user=T0101, home=home, now=T0)
    during = T0 + timedelta(minutes=5)
    with pytest.raises(ClosedBook):
        review_queue("0101", home=home, now=during, user=T0101)
    with pytest.raises(ClosedBook):
        answer_review("0101", SINGLE.key, [0], user=T0101, home=home, now=during)
    with pytest.raises(ClosedBook):
        acknowledge_sop("SOP-P17", user=T0101, library=library, home=home, now=during)
    submit_attempt(view.id, user=T0101, home=home, now=during)
    after = T0 + timedelta(minutes=6)
    # TRUE was left unanswered in the paper just submitted: it joins the review
    assert [i.key for i in review_queue("0101", home=home, now=after, user=T0101)] == [
        SINGLE.key, TRUE.key]
    assert answer_review("0101", SINGLE.key, [0], user=T0101, home=home, now=after).correct
    assert acknowledge_sop("SOP-P17", user=T0101, library=library, home=home,
                           now=after).sop_version == "2.0"
