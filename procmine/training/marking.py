"""Marking an attempt in the app database: every answer graded, the score, pass and expert
flags, the missed questions handed to spaced review, one audit row.

An attempt ends in one of two ways: the teller submits it (``submitted``), or its time runs out
(``expired``: graded as it stands the first time anything looks at it after its deadline plus a
grace of :data:`GRACE`, which covers a last answer sent just before the end). Unanswered
questions earn 0; the score is ``100 * sum(credit * points) / sum(points)``
(:func:`procmine.training.grading.paper_score`), passed at the paper's pass mark, expert at its
expert mark (both inclusive).

Example:
    >>> GRACE.total_seconds()
    30.0
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from procmine.app.appdb import record_audit
from procmine.core.errors import ProcmineError
from procmine.training.grading import grade_response, paper_score
from procmine.training.question import Question
from procmine.training.review import record_outcomes
from procmine.training.tables import AnswerRow, AttemptRow, PaperQuestionRow, PaperRow

__all__ = ["GRACE", "answers_of", "expire_overdue", "finish_attempt", "paper_questions",
           "question_of"]

#: how long after its deadline an answer is still taken (the network's delay, a last click)
GRACE = timedelta(seconds=30)


def paper_questions(session: Session, paper_id: int) -> list[PaperQuestionRow]:
    """A paper's frozen questions, by position."""
    return list(session.scalars(select(PaperQuestionRow).where(
        PaperQuestionRow.paper_id == paper_id).order_by(PaperQuestionRow.position)))


def question_of(row: PaperQuestionRow) -> Question:
    """The question as it was when the paper was built."""
    return Question.from_dict(json.loads(row.body))


def answers_of(session: Session, attempt_id: int) -> dict[int, AnswerRow]:
    """An attempt's answers, by paper position."""
    return {a.position: a for a in session.scalars(
        select(AnswerRow).where(AnswerRow.attempt_id == attempt_id))}


def finish_attempt(session: Session, attempt: AttemptRow, status: str, now: datetime,
                   *, actor: str | None = None, action: str | None = None) -> None:
    """Grade ``attempt`` in ``session`` and close it as ``status`` (submitted or expired); the
    audit row is ``action`` (default ``quiz.submit`` or ``quiz.expire``) by ``actor`` (default:
    the attempt's user)."""
    paper = session.get(PaperRow, attempt.paper_id)
    if paper is None:  # the foreign key makes this impossible; say so rather than crash
        raise ProcmineError(f"attempt {attempt.id} names no paper")
    answers = answers_of(session, attempt.id)
    credits: list[tuple[float, float]] = []
    outcomes: dict[str, bool] = {}
    for row in paper_questions(session, attempt.paper_id):
        credit = 0.0
        answer = answers.get(row.position)
        if answer is not None:
            try:
                credit = grade_response(question_of(row), json.loads(answer.response))
            except ProcmineError:  # a response saved before a rule tightened: no credit
                credit = 0.0
            answer.credit = credit
        credits.append((credit, row.points))
        outcomes[row.question_key] = outcomes.get(row.question_key, True) and credit >= 1.0
    attempt.score = paper_score(credits)
    attempt.passed = attempt.score >= paper.pass_mark
    attempt.expert = attempt.score >= paper.expert_mark
    attempt.status, attempt.open_teller = status, None
    attempt.submitted_at = min(now, attempt.deadline_at) if status == "expired" else now
    record_outcomes(session, attempt.teller_id, outcomes, now=now)
    action = action or ("quiz.submit" if status == "submitted" else "quiz.expire")
    record_audit(session, actor or attempt.username, action,
                 f"attempt {attempt.id} paper {attempt.paper_id} teller {attempt.teller_id}: "
                 f"{attempt.score:g}%")


def expire_overdue(session: Session, now: datetime, *, teller_id: str | None = None,
                   attempt_id: int | None = None) -> int:
    """Grade and close as ``expired`` the open attempts past their deadline plus the grace (of
    one teller, or one attempt, or all); returns how many."""
    query = select(AttemptRow).where(AttemptRow.status == "open",
                                     AttemptRow.deadline_at < now - GRACE)
    if teller_id is not None:
        query = query.where(AttemptRow.teller_id == teller_id)
    if attempt_id is not None:
        query = query.where(AttemptRow.id == attempt_id)
    rows = list(session.scalars(query.order_by(AttemptRow.id)))
    for row in rows:
        finish_attempt(session, row, "expired", now)
    return len(rows)
