"""Taking a paper: timed, closed-book attempts, each answer saved as it is given.

A teller (a ``teller`` account with a teller id) starts an attempt at a paper assigned to them
while it is open (status ``assigned``), when no other attempt of theirs is open (one at a time,
whatever the paper) and they have attempts left (``max_attempts``, counting submitted and
expired ones). The deadline is the start plus the paper's time limit. When the paper says
``shuffle``, the attempt shows the questions, and each question's choices, in an order of its
own (seeded by the attempt); an ordering question's items are always shown out of order. Both
orders are stored in the attempt's row, so resuming shows the same page.

Each answer is written, and committed, the moment it is given (one row per question, replaced
when the teller changes it): a dropped connection, a closed browser or a restarted server loses
nothing, and :func:`open_attempt` brings the attempt back with its answers. Answers are taken
until the deadline plus a short grace (:data:`procmine.training.marking.GRACE`); after that the
attempt is graded as it stands and closed as ``expired`` the first time anything looks at it.
Submitting grades every question (:mod:`procmine.training.grading`), stores the score, passed and
expert flags, and hands the missed questions to spaced review
(:func:`procmine.training.review.record_outcomes`), in the same transaction.

What a teller sees never tells the right answer: an :class:`AttemptView` holds the stems and
the choice texts in the order shown, nothing of the choices' fractions. A teller reads only
their own attempts and results, and a result only once the attempt is finished; trainers,
operations (and reviewers, for results) see all. While a teller has an attempt open, the SOPs
are closed to them: :func:`ensure_not_in_attempt` raises :class:`ClosedBook`, and the SOP pages
and SOP reading functions call it first.

Example:
    >>> from procmine.app.auth import seed_demo_users
    >>> from procmine.training.bank import sync_questions
    >>> from procmine.training.papers import assign_paper, build_paper
    >>> from procmine.training.question import Question, true_false
    >>> from procmine.training.roster import Trainee
    >>> ws = Path("ws")  # a workspace of its own
    >>> trainer, teller = (u for u in seed_demo_users(ws) if u.role in ("trainer", "teller"))
    >>> q = Question(key="reg:cash:in-sight", kind="truefalse", stem="点钞须在客户视线内进行。",
    ...              choices=true_false(True), topic="regulation/cash", source="regulation",
    ...              regulation="cash")
    >>> _ = sync_questions([q], actor="trainer", status="active", home=ws)
    >>> paper = build_paper(title="现金", user=trainer, regulations=["cash"], count=1, home=ws)
    >>> assign_paper(paper.id, user=trainer, roster=[Trainee("0101", "B01", "teller")],
    ...              everyone=True, home=ws)
    1
    >>> view = start_attempt(paper.id, user=teller, home=ws)
    >>> view.items[0].choices, view.seconds_left
    (('正确', '错误'), 1800)
    >>> save_answer(view.id, view.items[0].position, [0], user=teller, home=ws)
    >>> ensure_not_in_attempt(teller, home=ws)
    Traceback (most recent call last):
    ...
    procmine.training.attempts.ClosedBook: an attempt is open (paper 1, '现金', until ...
    >>> submit_attempt(view.id, user=teller, home=ws).score
    100.0
    >>> ensure_not_in_attempt(teller, home=ws)
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from procmine.app.appdb import record_audit, session_for, utc_now
from procmine.app.auth import User
from procmine.core.errors import ProcmineError
from procmine.training.access import MANAGERS, READERS, is_teller, require_manager
from procmine.training.grading import check_response
from procmine.training.marking import (
    GRACE,
    answers_of,
    expire_overdue,
    finish_attempt,
    paper_questions,
    question_of,
)
from procmine.training.papers import require_paper
from procmine.training.tables import AnswerRow, AssignmentRow, AttemptRow, PaperQuestionRow

__all__ = [
    "AttemptItem",
    "AttemptResult",
    "AttemptView",
    "ClosedBook",
    "ItemResult",
    "attempt_result",
    "ensure_not_in_attempt",
    "get_attempt",
    "list_attempts",
    "open_attempt",
    "record_paper_attempt",
    "save_answer",
    "start_attempt",
    "submit_attempt",
]


class ClosedBook(ProcmineError):
    """The teller has an attempt open: the SOPs stay closed until it is submitted."""


@dataclass(frozen=True)
class AttemptItem:
    """A question as the teller sees it: the choices in the order shown, ``choice_ids`` their
    indexes in the question (what a response names), the saved response (None: unanswered)."""

    position: int
    kind: str
    stem: str
    choices: tuple[str, ...]
    choice_ids: tuple[int, ...]
    response: tuple[int, ...] | None


@dataclass(frozen=True)
class AttemptView:
    """An attempt in progress (or finished) as its teller sees it, in the attempt's order."""

    id: int
    paper_id: int
    title: str
    teller_id: str
    status: str
    started_at: datetime
    deadline_at: datetime
    seconds_left: int
    items: tuple[AttemptItem, ...]
    answered: int


@dataclass(frozen=True)
class ItemResult:
    """One question of a finished attempt: what was answered, what was right, the credit."""

    position: int
    key: str
    stem: str
    kind: str
    response_texts: tuple[str, ...]
    right_texts: tuple[str, ...]
    credit: float
    sop_id: str | None
    step_id: str | None
    regulation: str | None


@dataclass(frozen=True)
class AttemptResult:
    """A graded attempt (score in percent; None while open); ``items`` by paper position
    (empty in lists)."""

    id: int
    paper_id: int
    title: str
    teller_id: str
    status: str
    score: float | None
    passed: bool | None
    expert: bool | None
    submitted_at: datetime | None
    items: tuple[ItemResult, ...]
    branch_id: str | None = None
    started_at: datetime | None = None


def _now(now: datetime | None) -> datetime:
    if now is None:
        return utc_now()
    if now.tzinfo is None:
        raise ValueError("times in the training room are timezone-aware (UTC)")
    return now


def _get(session: Session, attempt_id: int) -> AttemptRow:
    row = session.get(AttemptRow, int(attempt_id))
    if row is None:
        raise ProcmineError(f"no attempt {attempt_id}", code="training.no_attempt",
                            attempt_id=attempt_id)
    return row


def _own(session: Session, attempt_id: int, user: User) -> AttemptRow:
    """The attempt, when ``user`` is the teller who is taking it."""
    row = _get(session, attempt_id)
    if not is_teller(user) or row.teller_id != user.teller_id:
        raise ProcmineError(f"attempt {attempt_id} is not your attempt", code="training.not_yours",
                            attempt_id=attempt_id)
    return row


def _readable(session: Session, attempt_id: int, user: User, roles: Sequence[str]) -> AttemptRow:
    """The attempt, when ``user`` is its teller or has one of ``roles``."""
    row = _get(session, attempt_id)
    mine = is_teller(user) and row.teller_id == user.teller_id
    if (user.role == "teller" or user.role not in roles) and not mine:
        raise ProcmineError(f"attempt {attempt_id} is not your attempt", code="training.not_yours",
                            attempt_id=attempt_id)
    return row


# -- starting ----------------------------------------------------------------------------------

def _shuffled_orders(questions: Sequence[PaperQuestionRow], shuffle: bool,
                     rng: random.Random) -> tuple[list[int], dict[str, list[int]]]:
    """The order the attempt shows the questions in, and each one's choice order."""
    positions = [q.position for q in questions]
    if shuffle:
        rng.shuffle(positions)
    choices: dict[str, list[int]] = {}
    for row in questions:
        question = question_of(row)
        order = list(range(len(question.choices)))
        if question.kind == "ordering":
            order = _out_of_order(order, rng)
        elif shuffle and question.kind != "truefalse":
            rng.shuffle(order)
        choices[str(row.position)] = order
    return positions, choices


def _out_of_order(order: list[int], rng: random.Random) -> list[int]:
    """A shuffle of ``order`` that is not the right order (the answer is not given away)."""
    if len(order) < 2:
        return order
    shown = list(order)
    for _ in range(20):
        rng.shuffle(shown)
        if shown != order:
            return shown
    return order[1:] + order[:1]


def start_attempt(paper_id: int, *, user: User, home: Path | None = None,
                  now: datetime | None = None, seed: int | None = None) -> AttemptView:
    """Start the teller's attempt at a paper (the rules are in the module's notes)."""
    now = _now(now)
    if not is_teller(user):
        raise ProcmineError("only a teller (an account with a teller id) can take a paper",
                            code="training.teller_only")
    try:
        return _start(int(paper_id), user, str(user.teller_id), home, now, seed)
    except IntegrityError:  # another attempt of theirs was started at the same moment
        raise ProcmineError("finish your open attempt first: one attempt at a time",
                            code="training.one_attempt") from None


def _start(paper_id: int, user: User, teller_id: str, home: Path | None, now: datetime,
           seed: int | None) -> AttemptView:
    with session_for(home) as session:
        expire_overdue(session, now, teller_id=teller_id)
        paper = require_paper(session, paper_id)
        if paper.status != "assigned":
            raise ProcmineError(f"paper {paper_id} is not open ({paper.status})",
                                code="training.paper_not_open", paper_id=paper_id)
        assignment = session.scalars(select(AssignmentRow).where(
            AssignmentRow.paper_id == paper.id, AssignmentRow.teller_id == teller_id)).first()
        if assignment is None:
            raise ProcmineError(f"paper {paper_id} is not assigned to you",
                                code="training.not_assigned", paper_id=paper_id)
        current = session.scalars(select(AttemptRow).where(
            AttemptRow.teller_id == teller_id, AttemptRow.status == "open")).first()
        if current is not None:
            raise ProcmineError(f"finish your open attempt at paper {current.paper_id} first: "
                                "one attempt at a time", code="training.open_attempt",
                                paper_id=current.paper_id)
        used = session.scalar(select(func.count()).select_from(AttemptRow).where(
            AttemptRow.paper_id == paper.id, AttemptRow.teller_id == teller_id)) or 0
        if used >= paper.max_attempts:
            raise ProcmineError(f"you have used your {paper.max_attempts} attempt"
                                f"{'s' if paper.max_attempts != 1 else ''} at paper {paper_id}",
                                code="training.attempts_used", count=paper.max_attempts,
                                paper_id=paper_id)
        questions = paper_questions(session, paper.id)
        row = AttemptRow(paper_id=paper.id, teller_id=teller_id,
                         branch_id=user.branch_id or assignment.branch_id,
                         username=user.username, started_at=now,
                         deadline_at=now + timedelta(minutes=paper.time_limit_minutes),
                         status="open", open_teller=teller_id)
        session.add(row)
        session.flush()
        seed = secrets.randbelow(2**31) if seed is None else int(seed)
        order, choices = _shuffled_orders(questions, paper.shuffle,
                                          random.Random(f"{row.id}:{seed}"))
        row.question_order, row.choice_order = json.dumps(order), json.dumps(choices)
        record_audit(session, user.username, "quiz.start",
                     f"attempt {row.id} paper {paper.id} teller {teller_id}")
        return _view(session, row, now)


def _view(session: Session, row: AttemptRow, now: datetime) -> AttemptView:
    paper = require_paper(session, row.paper_id)
    questions = {q.position: q for q in paper_questions(session, row.paper_id)}
    answers = answers_of(session, row.id)
    choice_order = json.loads(row.choice_order or "{}")
    items = []
    for position in json.loads(row.question_order or "[]") or sorted(questions):
        question = question_of(questions[position])
        ids = tuple(choice_order.get(str(position), range(len(question.choices))))
        answer = answers.get(position)
        items.append(AttemptItem(
            position=position, kind=question.kind, stem=question.stem,
            choices=tuple(question.choices[i].text for i in ids), choice_ids=ids,
            response=tuple(json.loads(answer.response)) if answer is not None else None))
    left = (row.deadline_at - now).total_seconds() if row.status == "open" else 0
    return AttemptView(id=row.id, paper_id=row.paper_id, title=paper.title,
                       teller_id=row.teller_id, status=row.status, started_at=row.started_at,
                       deadline_at=row.deadline_at, seconds_left=max(0, int(left)),
                       items=tuple(items), answered=len(answers))


def open_attempt(teller_id: str, *, home: Path | None = None,
                 now: datetime | None = None) -> AttemptView | None:
    """The teller's open attempt (None: none); one past its deadline is graded and closed as
    expired first."""
    now = _now(now)
    with session_for(home) as session:
        expire_overdue(session, now, teller_id=str(teller_id))
        row = session.scalars(select(AttemptRow).where(
            AttemptRow.teller_id == str(teller_id), AttemptRow.status == "open").order_by(
            AttemptRow.id.desc())).first()
        return _view(session, row, now) if row is not None else None


def get_attempt(attempt_id: int, *, user: User, home: Path | None = None,
                now: datetime | None = None) -> AttemptView:
    """An attempt as its teller sees it (their own only; trainers and operations any)."""
    now = _now(now)
    with session_for(home) as session:
        row = _readable(session, attempt_id, user, MANAGERS)
        expire_overdue(session, now, attempt_id=row.id)
        return _view(session, row, now)


def ensure_not_in_attempt(user: User, *, home: Path | None = None,
                          now: datetime | None = None) -> None:
    """Raise :class:`ClosedBook` when ``user`` is a teller with an attempt open."""
    if not is_teller(user):
        return
    current = open_attempt(str(user.teller_id), home=home, now=now)
    if current is not None:
        raise ClosedBook(f"an attempt is open (paper {current.paper_id}, {current.title!r}, "
                         f"until {current.deadline_at:%H:%M} UTC): the SOPs are closed until "
                         "it is submitted", code="training.closed_book",
                         paper_id=current.paper_id, until=f"{current.deadline_at:%H:%M}")


# -- answering ---------------------------------------------------------------------------------

def save_answer(attempt_id: int, position: int, response: Sequence[int], *, user: User,
                home: Path | None = None, now: datetime | None = None) -> None:
    """Save (and commit) the teller's answer to the question at ``position`` of the paper,
    replacing the one given before; an empty response clears it. Refused on another teller's
    attempt, a finished attempt, after the deadline (plus the grace), or for an answer that
    breaks its question's rules."""
    now = _now(now)
    for retry in (False, True):
        try:
            _save(attempt_id, int(position), response, user, home, now)
            return
        except IntegrityError:  # the same answer saved twice at once: the other one won
            if retry:
                raise


def _save(attempt_id: int, position: int, response: Sequence[int], user: User,
          home: Path | None, now: datetime) -> None:
    with session_for(home) as session:
        row = _own(session, attempt_id, user)
        if row.status != "open":
            raise ProcmineError(f"attempt {attempt_id} is {row.status}: answers are closed",
                                code="training.answers_closed", attempt_id=attempt_id)
        if now > row.deadline_at + GRACE:
            raise ProcmineError(f"attempt {attempt_id}: the time is up "
                                f"({row.deadline_at:%H:%M:%S} UTC)", code="training.time_up",
                                attempt_id=attempt_id, deadline=f"{row.deadline_at:%H:%M:%S}")
        question = session.scalars(select(PaperQuestionRow).where(
            PaperQuestionRow.paper_id == row.paper_id,
            PaperQuestionRow.position == position)).first()
        if question is None:
            raise ProcmineError(f"paper {row.paper_id} has no question {position}",
                                code="training.no_question", paper_id=row.paper_id,
                                position=position)
        chosen = check_response(question_of(question), response)
        answer = session.scalars(select(AnswerRow).where(
            AnswerRow.attempt_id == row.id, AnswerRow.position == position)).first()
        if not chosen:
            if answer is not None:
                session.delete(answer)
        elif answer is None:
            session.add(AnswerRow(attempt_id=row.id, position=position,
                                  response=json.dumps(list(chosen)), answered_at=now))
        else:
            answer.response, answer.answered_at, answer.credit = (json.dumps(list(chosen)),
                                                                  now, None)


def submit_attempt(attempt_id: int, *, user: User, home: Path | None = None,
                   now: datetime | None = None) -> AttemptResult:
    """Grade and close the teller's attempt (as ``expired`` when sent after its deadline plus
    the grace); missed questions go to spaced review; audited."""
    now = _now(now)
    with session_for(home) as session:
        row = _own(session, attempt_id, user)
        if row.status != "open":
            raise ProcmineError(f"attempt {attempt_id} is {row.status} already",
                                code="training.attempt_finished", attempt_id=attempt_id)
        status = "expired" if now > row.deadline_at + GRACE else "submitted"
        finish_attempt(session, row, status, now, actor=user.username)
        return _result(session, row, items=True)


# -- results -----------------------------------------------------------------------------------

def _result(session: Session, row: AttemptRow, *, items: bool) -> AttemptResult:
    paper = require_paper(session, row.paper_id)
    found: list[ItemResult] = []
    if items:
        answers = answers_of(session, row.id)
        for question_row in paper_questions(session, row.paper_id):
            question = question_of(question_row)
            answer = answers.get(question_row.position)
            given = json.loads(answer.response) if answer is not None else []
            texts = [c.text for c in question.choices]
            found.append(ItemResult(
                position=question_row.position, key=question_row.question_key,
                stem=question.stem, kind=question.kind,
                response_texts=tuple(texts[i] for i in given if 0 <= i < len(texts)),
                right_texts=tuple(c.text for c in question.correct_choices()),
                credit=float(answer.credit or 0.0) if answer is not None else 0.0,
                sop_id=question.sop_id, step_id=question.step_id,
                regulation=question.regulation))
    return AttemptResult(id=row.id, paper_id=row.paper_id, title=paper.title,
                         teller_id=row.teller_id, status=row.status, score=row.score,
                         passed=row.passed, expert=row.expert, submitted_at=row.submitted_at,
                         items=tuple(found), branch_id=row.branch_id,
                         started_at=row.started_at)


def attempt_result(attempt_id: int, *, user: User, home: Path | None = None,
                   now: datetime | None = None) -> AttemptResult:
    """A finished attempt's result, question by question: a teller's own only, once it is
    submitted or expired; trainers, operations and reviewers any."""
    now = _now(now)
    with session_for(home) as session:
        row = _readable(session, attempt_id, user, READERS)
        expire_overdue(session, now, attempt_id=row.id)
        if row.status == "open":
            raise ProcmineError(f"attempt {attempt_id} is still open: its result comes when it "
                                "is submitted", code="training.result_later",
                                attempt_id=attempt_id)
        return _result(session, row, items=True)


def list_attempts(*, user: User, paper_id: int | None = None, teller_id: str | None = None,
                  home: Path | None = None, now: datetime | None = None) -> list[AttemptResult]:
    """Attempts (without their items), oldest first: a teller gets only their own; trainers,
    operations and reviewers any, of a paper and/or a teller."""
    now = _now(now)
    if user.role == "teller":
        if not is_teller(user):
            return []
        if teller_id is not None and str(teller_id) != user.teller_id:
            raise ProcmineError("a teller sees only their own attempts",
                                code="training.own_attempts")
        teller_id = user.teller_id
    elif user.role not in READERS:
        raise ProcmineError(f"{user.username} ({user.role}) may not see attempts",
                            code="training.may_not_see_attempts", username=user.username)
    with session_for(home) as session:
        expire_overdue(session, now, teller_id=teller_id)
        query = select(AttemptRow).order_by(AttemptRow.id)
        if paper_id is not None:
            query = query.where(AttemptRow.paper_id == int(paper_id))
        if teller_id is not None:
            query = query.where(AttemptRow.teller_id == str(teller_id))
        return [_result(session, r, items=False) for r in session.scalars(query)]


def record_paper_attempt(paper_id: int, teller_id: str,
                         responses: Mapping[int, Sequence[int]], *, actor: str | User,
                         started_at: datetime, submitted_at: datetime,
                         branch_id: str | None = None,
                         home: Path | None = None) -> AttemptResult:
    """Record an attempt made elsewhere (on paper, or the demo's past one): answers by paper
    position, graded the same way, no timing checks; the teller is assigned the paper if they
    were not. ``actor`` is a trainer or operations user, or a name (the demo, the CLI)."""
    name = actor if isinstance(actor, str) else require_manager(actor, "record attempts").username
    with session_for(home) as session:
        paper = require_paper(session, paper_id)
        questions = {q.position: q for q in paper_questions(session, paper.id)}
        unknown = sorted(set(responses) - set(questions))
        if unknown:
            raise ProcmineError(f"paper {paper_id} has no question {unknown[0]}")
        assignment = session.scalars(select(AssignmentRow).where(
            AssignmentRow.paper_id == paper.id, AssignmentRow.teller_id == str(teller_id))).first()
        if assignment is None:
            assignment = AssignmentRow(paper_id=paper.id, teller_id=str(teller_id),
                                       branch_id=branch_id, assigned_at=started_at,
                                       assigned_by=name)
            session.add(assignment)
        row = AttemptRow(paper_id=paper.id, teller_id=str(teller_id),
                         branch_id=branch_id or assignment.branch_id, username=name,
                         started_at=started_at,
                         deadline_at=started_at + timedelta(minutes=paper.time_limit_minutes),
                         status="open", question_order=json.dumps(sorted(questions)),
                         choice_order="{}")
        session.add(row)
        session.flush()
        for position, response in sorted(responses.items()):
            chosen = check_response(question_of(questions[position]), response)
            if chosen:
                session.add(AnswerRow(attempt_id=row.id, position=position,
                                      response=json.dumps(list(chosen)),
                                      answered_at=submitted_at))
        session.flush()
        finish_attempt(session, row, "submitted", submitted_at, actor=name,
                       action="quiz.record")
        return _result(session, row, items=True)
