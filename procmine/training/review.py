"""Spaced review of missed questions with FSRS (the ``fsrs`` package's scheduler).

A question a teller misses in a paper (or in review) becomes a card of theirs, due at once; each
review rates it (a right answer Good, a wrong one Again) and FSRS sets when it comes back. Cards
are kept as the package's own JSON in ``review_cards`` and every review in ``review_logs``.

A teller's daily review (:func:`review_queue`) is their cards due now, oldest due first, a few
at a time, each with its question as the bank holds it today; a card whose question was retired
(or is gone from the bank) is suspended and never shown again, one whose question is stale (its
SOP step changed) waits until the question is reviewed. :func:`answer_review` grades an answer
with the papers' rule (:func:`procmine.training.grading.grade_response`; right = full credit)
and reschedules the card: a miss brings it back within minutes, a right answer pushes it out by
days.

Example:
    >>> review_queue("0101", home=Path("ws"))  # a workspace of its own: nothing due
    []
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from fsrs import Card, Rating, Scheduler
from sqlalchemy import select
from sqlalchemy.orm import Session

from procmine.app.appdb import session_for, utc_now
from procmine.app.auth import User
from procmine.core.errors import ProcmineError
from procmine.training.grading import check_response, grade_response
from procmine.training.question import Question
from procmine.training.settings import AccessDenied, own_teller_id
from procmine.training.tables import QuestionRow, ReviewCardRow, ReviewLogRow

__all__ = ["ReviewItem", "ReviewOutcome", "answer_review", "record_outcomes", "review_queue"]

#: the question states a review card is suspended for (never shown again)
_GONE = ("retired",)
#: the question states a card waits out (shown again once the question is active)
_WAITING = ("stale",)


@dataclass(frozen=True)
class ReviewItem:
    """A card due for review, with its question as the bank holds it now."""

    key: str
    question: Question
    due: datetime
    reviews: int  # reviews so far (from the review log)
    lapses: int   # of which missed


@dataclass(frozen=True)
class ReviewOutcome:
    """What a review answer earned and when the card comes back."""

    correct: bool
    credit: float
    next_due: datetime
    right_texts: tuple[str, ...]


#: one learning step: a card missed again comes back within the session (10 minutes), one
#: answered right after a miss graduates to days (FSRS's default has a second step of minutes)
LEARNING_STEPS = (timedelta(minutes=10),)


def _scheduler() -> Scheduler:
    return Scheduler(learning_steps=LEARNING_STEPS, enable_fuzzing=False)


def record_outcomes(session: Session, teller_id: str, outcomes: Mapping[str, bool], *,
                    now: datetime | None = None) -> int:
    """Update a teller's cards in ``session`` from answers given (question key -> right?): a
    missed question gets a card (or its card is rated Again); a right answer to a question that
    has a card rates it Good. Right answers without a card make none. Returns the cards made."""
    now = now or utc_now()
    scheduler = _scheduler()
    made = 0
    rows = {r.question_key: r for r in session.scalars(
        select(ReviewCardRow).where(ReviewCardRow.teller_id == teller_id,
                                    ReviewCardRow.question_key.in_(list(outcomes))))}
    for key, right in outcomes.items():
        row = rows.get(key)
        if row is None and right:
            continue
        card = Card.from_json(row.card) if row is not None else Card(due=now)
        card, _ = scheduler.review_card(card, Rating.Good if right else Rating.Again,
                                        review_datetime=now)
        if row is None:
            card.due = now  # a question just missed is due for review at once
        if row is None:
            row = ReviewCardRow(teller_id=teller_id, question_key=key, created_at=now,
                                card=card.to_json(), due=card.due)
            session.add(row)
            made += 1
        else:
            row.card, row.due = card.to_json(), card.due
        session.add(ReviewLogRow(teller_id=teller_id, question_key=key,
                                 rating=int(Rating.Good if right else Rating.Again),
                                 correct=right, at=now))
    return made


def card_state(row: ReviewCardRow) -> dict[str, object]:
    """A card's FSRS fields as a dict (state, step, stability, difficulty, due, last review)."""
    return dict(json.loads(row.card))


def _counts(session: Session, teller_id: str, keys: Sequence[str]) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    for key, correct in session.execute(
            select(ReviewLogRow.question_key, ReviewLogRow.correct)
            .where(ReviewLogRow.teller_id == teller_id, ReviewLogRow.question_key.in_(keys))):
        done, missed = counts.get(key, (0, 0))
        counts[key] = (done + 1, missed + (0 if correct else 1))
    return counts


def review_queue(teller_id: str, *, home: Path | None = None, now: datetime | None = None,
                 limit: int = 10, user: User | None = None) -> list[ReviewItem]:
    """The teller's cards due now (due at or before ``now``), oldest due first, at most
    ``limit``; cards of retired (or deleted) questions are suspended on the way. Given
    ``user``, only that teller may ask, and not while they have a paper open (ClosedBook)."""
    if user is not None and own_teller_id(user) != teller_id:
        raise AccessDenied(f"{user.username} may not see the review cards of teller {teller_id}",
                           code="training.review_denied", teller_id=teller_id)
    moment = now or utc_now()
    if user is not None:
        _closed_book(user, home, moment)
    if limit < 1:
        return []
    items: list[ReviewItem] = []
    with session_for(home) as session:
        cards = list(session.scalars(
            select(ReviewCardRow).where(ReviewCardRow.teller_id == teller_id,
                                        ReviewCardRow.suspended.is_(False),
                                        ReviewCardRow.due <= moment)
            .order_by(ReviewCardRow.due, ReviewCardRow.id)))
        for card in cards:
            row = session.scalar(select(QuestionRow).where(QuestionRow.key == card.question_key))
            if row is None or row.status in _GONE:
                card.suspended = True
                continue
            if row.status in _WAITING:
                continue
            items.append(ReviewItem(key=card.question_key,
                                    question=Question.from_dict(json.loads(row.body)),
                                    due=card.due, reviews=0, lapses=0))
            if len(items) >= limit:
                break
        counts = _counts(session, teller_id, [i.key for i in items])
    return [ReviewItem(i.key, i.question, i.due, *counts.get(i.key, (0, 0))) for i in items]


def right_texts(question: Question) -> tuple[str, ...]:
    """The right answer's texts: the right choices, or an ordering's items in order."""
    return tuple(c.text for c in question.correct_choices())


def answer_review(teller_id: str, key: str, response: Sequence[int], *, user: User,
                  home: Path | None = None, now: datetime | None = None) -> ReviewOutcome:
    """Grade a review answer (choice indexes into the question's stored choices; for an
    ordering question the item indexes in the teller's order) and reschedule the card. Only
    the teller may answer their own cards, and not while they have a paper open."""
    if own_teller_id(user) != teller_id:
        raise AccessDenied(f"{user.username} may not answer the review cards of teller "
                           f"{teller_id}", code="training.review_denied", teller_id=teller_id)
    moment = now or utc_now()
    _closed_book(user, home, moment)
    with session_for(home) as session:
        card = session.scalar(select(ReviewCardRow).where(ReviewCardRow.teller_id == teller_id,
                                                          ReviewCardRow.question_key == key))
        if card is None or card.suspended:
            raise ProcmineError(f"{key} is not in the review of teller {teller_id}",
                                code="training.not_in_review", key=key)
        row = session.scalar(select(QuestionRow).where(QuestionRow.key == key))
        if row is None or row.status in _GONE:
            card.suspended = True
            raise ProcmineError(f"{key} was retired from the question bank",
                                code="training.retired_card", key=key)
        question = Question.from_dict(json.loads(row.body))
        if not check_response(question, response):
            raise ProcmineError(f"give an answer to {key}", code="training.answer_needed",
                                key=key)
        credit = grade_response(question, response)
        correct = credit >= 1.0 - 1e-9
        record_outcomes(session, teller_id, {key: correct}, now=moment)
        session.flush()
        return ReviewOutcome(correct=correct, credit=credit, next_due=card.due,
                             right_texts=right_texts(question))


def _closed_book(user: User, home: Path | None, now: datetime) -> None:
    """Review shows right answers: refused (ClosedBook) while the teller has a paper open."""
    # imported here: attempts reaches this module (submitting records the outcomes)
    from procmine.training.attempts import ensure_not_in_attempt

    ensure_not_in_attempt(user, home=home, now=now)
