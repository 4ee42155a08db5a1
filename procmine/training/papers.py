"""Papers: a fixed set of questions drawn from the bank, with a time limit and marks, assigned
to tellers.

Building a paper (a trainer or operations) draws ``count`` questions from the bank's **active**
questions on the chosen topics: SOPs by id, review groups (every SOP of the library whose
``owner_group`` is one of them), regulation areas. Each SOP and each regulation area is a topic;
the questions are spread evenly across the topics: the questions of each topic are shuffled
(seeded, so a seed rebuilds the same paper), then taken round-robin, one from each topic in turn,
a topic that runs out being skipped. Fewer active questions than asked is an error that says how
many there are, and so is an SOP or regulation area named without any active question (a review
group's SOPs without questions are passed over). The paper keeps a frozen copy of each
question, so editing or retiring a bank question later changes neither the paper nor its
results.

Marks are percentages with ``0 < pass_mark <= expert_mark <= 100``; the time limit is 1 to 240
minutes. Assigning (to tellers of the roster, every roster teller of some branches, or everyone)
makes one row per teller, once: assigning twice changes nothing. An assigned paper is open to its
tellers until it is closed. Each step writes an audit row (``quiz.paper_build``,
``quiz.paper_assign``, ``quiz.paper_close``).

Example:
    >>> papers = list_papers(home=Path("ws"))  # a workspace of its own: no papers yet
    >>> papers
    []
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from procmine.app.appdb import record_audit, session_for, utc_now
from procmine.app.auth import User
from procmine.core.baseline import REVIEW_GROUPS
from procmine.core.errors import ProcmineError
from procmine.training.access import require_manager
from procmine.training.bank import active_questions
from procmine.training.marking import expire_overdue, paper_questions, question_of
from procmine.training.question import REGULATIONS, Question
from procmine.training.roster import Trainee
from procmine.training.tables import AssignmentRow, AttemptRow, PaperQuestionRow, PaperRow

if TYPE_CHECKING:
    from procmine.sop.library import SopLibrary

__all__ = [
    "PAPER_STATES",
    "Paper",
    "TellerPaper",
    "assign_paper",
    "build_paper",
    "close_paper",
    "get_paper",
    "list_papers",
    "papers_for_teller",
]

#: a paper as a teller sees it
PAPER_STATES = ("to_do", "in_progress", "done", "overdue")
MAX_TIME_LIMIT = 240


@dataclass(frozen=True)
class Paper:
    """A paper with its frozen questions (by position) and how many tellers it is assigned to."""

    id: int
    title: str
    created_by: str
    created_at: datetime
    selection: dict[str, Any]
    time_limit_minutes: int
    pass_mark: float
    expert_mark: float
    shuffle: bool
    max_attempts: int
    due_on: date | None
    status: str
    questions: tuple[Question, ...]
    assigned: int


@dataclass(frozen=True)
class TellerPaper:
    """A paper assigned to a teller, and where they are with it (one of PAPER_STATES); the
    attempt is the open one, else the latest finished one."""

    paper: Paper
    state: str
    attempt_id: int | None
    score: float | None


def _paper(session: Session, row: PaperRow) -> Paper:
    questions = tuple(question_of(q) for q in paper_questions(session, row.id))
    assigned = session.scalar(select(func.count()).select_from(AssignmentRow).where(
        AssignmentRow.paper_id == row.id)) or 0
    return Paper(id=row.id, title=row.title, created_by=row.created_by,
                 created_at=row.created_at, selection=json.loads(row.selection or "{}"),
                 time_limit_minutes=row.time_limit_minutes, pass_mark=row.pass_mark,
                 expert_mark=row.expert_mark, shuffle=row.shuffle,
                 max_attempts=row.max_attempts, due_on=row.due_on, status=row.status,
                 questions=questions, assigned=int(assigned))


def require_paper(session: Session, paper_id: int) -> PaperRow:
    """The paper's row, or ProcmineError."""
    row = session.get(PaperRow, int(paper_id))
    if row is None:
        raise ProcmineError(f"no paper {paper_id}", code="training.no_paper", paper_id=paper_id)
    return row


def _check_rules(title: str, count: int, time_limit_minutes: int, pass_mark: float,
                 expert_mark: float, max_attempts: int) -> None:
    if not title.strip():
        raise ProcmineError("a paper needs a title", code="training.paper_title")
    if count < 1:
        raise ProcmineError(f"a paper needs at least 1 question (asked for {count})",
                            code="training.paper_count", count=count)
    if not 1 <= time_limit_minutes <= MAX_TIME_LIMIT:
        raise ProcmineError(f"the time limit is 1 to {MAX_TIME_LIMIT} minutes "
                            f"(got {time_limit_minutes})", code="training.time_limit",
                            maximum=MAX_TIME_LIMIT)
    if not 0 < pass_mark <= expert_mark <= 100:
        raise ProcmineError("the marks must satisfy 0 < pass mark <= expert mark <= 100 "
                            f"(got pass {pass_mark:g}, expert {expert_mark:g})",
                            code="training.marks", pass_mark=f"{pass_mark:g}",
                            expert_mark=f"{expert_mark:g}")
    if max_attempts < 1:
        raise ProcmineError(f"a paper allows at least 1 attempt (got {max_attempts})",
                            code="training.max_attempts")


def _topics(sops: Sequence[str], groups: Sequence[str], regulations: Sequence[str],
            library: SopLibrary | None, home: Path | None) -> list[tuple[str, str]]:
    """The paper's topics as (kind, name): ("sop", id) and ("regulation", area), in order."""
    unknown = [g for g in groups if g not in REVIEW_GROUPS]
    if unknown:
        raise ProcmineError(f"unknown review group {unknown[0]!r}; expected one of "
                            f"{', '.join(REVIEW_GROUPS)}", code="training.unknown_group",
                            group=unknown[0])
    unknown = [r for r in regulations if r not in REGULATIONS]
    if unknown:
        raise ProcmineError(f"unknown regulation area {unknown[0]!r}; expected one of "
                            f"{', '.join(REGULATIONS)}", code="training.unknown_regulation",
                            area=unknown[0])
    sop_ids = list(dict.fromkeys(sops))
    if groups:
        if library is None:
            from procmine.sop.library import SopLibrary
            library = SopLibrary.open(home)
        for sop_id in library.ids():
            version = library.approved(sop_id)
            if version is not None and version.sop.owner_group in groups \
                    and sop_id not in sop_ids:
                sop_ids.append(sop_id)
    topics = [("sop", s) for s in sop_ids] + [("regulation", r)
                                              for r in dict.fromkeys(regulations)]
    if not topics:
        raise ProcmineError("choose the paper's SOPs, review groups or regulation areas",
                            code="training.choose_topics")
    return topics


def _draw(pools: dict[tuple[str, str], list[Any]], count: int, rng: random.Random) -> list[Any]:
    """``count`` items taken round-robin over the pools (each shuffled with ``rng`` first)."""
    queues = []
    for topic in pools:
        pool = list(pools[topic])
        rng.shuffle(pool)
        queues.append(pool)
    drawn: list[Any] = []
    while len(drawn) < count and any(queues):
        for queue in queues:
            if queue and len(drawn) < count:
                drawn.append(queue.pop(0))
    return drawn


def build_paper(*, title: str, user: User, sops: Sequence[str] = (),
                groups: Sequence[str] = (), regulations: Sequence[str] = (), count: int = 20,
                time_limit_minutes: int = 30, pass_mark: float = 60.0,
                expert_mark: float = 90.0, shuffle: bool = True, max_attempts: int = 1,
                due_on: date | None = None, seed: int | None = None,
                library: SopLibrary | None = None, home: Path | None = None) -> Paper:
    """Build a paper (status ``draft``) from the bank's active questions on the chosen topics
    (see the module's notes); a trainer or operations only."""
    require_manager(user, "build a paper")
    _check_rules(title, count, time_limit_minutes, pass_mark, expert_mark, max_attempts)
    topics = _topics(sops, groups, regulations, library, home)
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    with session_for(home) as session:
        rows = active_questions(session, sop_ids=[n for k, n in topics if k == "sop"],
                                regulations=[n for k, n in topics if k == "regulation"])
        pools: dict[tuple[str, str], list[Any]] = {t: [] for t in topics}
        for row in rows:
            topic = ("regulation", row.regulation) if row.regulation else ("sop", row.sop_id)
            if topic in pools:
                pools[topic].append(row)
        named = [("sop", s) for s in sops] + [("regulation", r) for r in regulations]
        empty = [name for topic in named if not pools.get(topic) for name in topic[1:]]
        if empty:
            raise ProcmineError(f"no active question on {', '.join(dict.fromkeys(empty))} in "
                                "the bank (review its questions first)",
                                code="training.no_questions",
                                topics=", ".join(dict.fromkeys(empty)))
        available = sum(len(p) for p in pools.values())
        if available < count:
            raise ProcmineError(
                f"only {available} active question{'s' if available != 1 else ''} on the chosen "
                f"topics ({', '.join(n for _, n in topics)}); asked for {count}",
                code="training.too_few_questions", available=available, count=count)
        drawn = _draw(pools, count, random.Random(seed))
        selection = {"sops": list(sops), "groups": list(groups),
                     "regulations": list(regulations), "count": count, "seed": seed}
        paper = PaperRow(title=title.strip(), created_by=user.username, created_at=utc_now(),
                         selection=json.dumps(selection, ensure_ascii=False),
                         time_limit_minutes=time_limit_minutes, pass_mark=float(pass_mark),
                         expert_mark=float(expert_mark), shuffle=shuffle,
                         max_attempts=max_attempts, due_on=due_on, status="draft")
        session.add(paper)
        session.flush()
        for position, row in enumerate(drawn, start=1):
            session.add(PaperQuestionRow(paper_id=paper.id, position=position,
                                         question_id=row.id, question_key=row.key,
                                         revision=row.revision, body=row.body, points=1.0))
        session.flush()
        record_audit(session, user.username, "quiz.paper_build",
                     f"paper {paper.id} {paper.title!r}: {count} questions from "
                     f"{', '.join(n for _, n in topics)}")
        return _paper(session, paper)


def assign_paper(paper_id: int, *, user: User, roster: Sequence[Trainee],
                 tellers: Sequence[str] = (), branches: Sequence[str] = (),
                 everyone: bool = False, home: Path | None = None) -> int:
    """Assign a paper to tellers of the roster, to every roster teller of some branches, or to
    everyone on the roster; returns the assignments made (a teller assigned already is skipped).
    The paper becomes ``assigned``."""
    require_manager(user, "assign a paper")
    by_id = {t.teller_id: t for t in roster}
    unknown = [t for t in tellers if str(t) not in by_id]
    if unknown:
        raise ProcmineError(f"teller {unknown[0]} is not on the roster",
                            code="training.not_on_roster", teller_id=unknown[0])
    known_branches = {t.branch_id for t in roster}
    unknown = [b for b in branches if b not in known_branches]
    if unknown:
        raise ProcmineError(f"branch {unknown[0]} has no teller on the roster",
                            code="training.branch_not_on_roster", branch=unknown[0])
    chosen = list(by_id) if everyone else sorted(
        {str(t) for t in tellers} | {t.teller_id for t in roster if t.branch_id in branches})
    if not chosen:
        raise ProcmineError("choose the tellers, branches or everyone to assign the paper to",
                            code="training.choose_tellers")
    with session_for(home) as session:
        paper = require_paper(session, paper_id)
        if paper.status == "closed":
            raise ProcmineError(f"paper {paper_id} is closed", code="training.paper_closed",
                                paper_id=paper_id)
        have = set(session.scalars(select(AssignmentRow.teller_id).where(
            AssignmentRow.paper_id == paper.id)))
        now = utc_now()
        new = [t for t in chosen if t not in have]
        for teller_id in new:
            session.add(AssignmentRow(paper_id=paper.id, teller_id=teller_id,
                                      branch_id=by_id[teller_id].branch_id, assigned_at=now,
                                      assigned_by=user.username))
        paper.status = "assigned"
        record_audit(session, user.username, "quiz.paper_assign",
                     f"paper {paper.id}: {len(new)} tellers"
                     + (" (everyone)" if everyone else "")
                     + (f" of {', '.join(branches)}" if branches else ""))
    return len(new)


def list_papers(*, home: Path | None = None) -> list[Paper]:
    """Every paper, newest first."""
    with session_for(home) as session:
        rows = session.scalars(select(PaperRow).order_by(PaperRow.id.desc()))
        return [_paper(session, r) for r in rows]


def get_paper(paper_id: int, *, home: Path | None = None) -> Paper:
    """One paper (ProcmineError when there is none)."""
    with session_for(home) as session:
        return _paper(session, require_paper(session, paper_id))


def close_paper(paper_id: int, *, user: User, home: Path | None = None) -> Paper:
    """Close a paper: no new attempts (an attempt already open may still be finished)."""
    require_manager(user, "close a paper")
    with session_for(home) as session:
        paper = require_paper(session, paper_id)
        if paper.status != "closed":
            paper.status = "closed"
            record_audit(session, user.username, "quiz.paper_close", f"paper {paper.id}")
        return _paper(session, paper)


def papers_for_teller(teller_id: str, *, home: Path | None = None,
                      now: datetime | None = None) -> list[TellerPaper]:
    """The papers assigned to a teller (not drafts), newest first, each with its state:
    ``in_progress`` (an attempt is open), ``done`` (an attempt was submitted or expired),
    ``overdue`` (past its due date, or closed, and not done), else ``to_do``."""
    now = now or utc_now()
    today = now.date()
    with session_for(home) as session:
        expire_overdue(session, now, teller_id=teller_id)
        papers = session.scalars(select(PaperRow).join(
            AssignmentRow, AssignmentRow.paper_id == PaperRow.id).where(
            AssignmentRow.teller_id == teller_id, PaperRow.status != "draft").order_by(
            PaperRow.id.desc()))
        found = []
        for paper in papers:
            attempts = list(session.scalars(select(AttemptRow).where(
                AttemptRow.paper_id == paper.id, AttemptRow.teller_id == teller_id).order_by(
                AttemptRow.id.desc())))
            current = next((a for a in attempts if a.status == "open"), None)
            finished = next((a for a in attempts if a.status != "open"), None)
            if current is not None:
                state, chosen = "in_progress", current
            elif finished is not None:
                state, chosen = "done", finished
            else:
                late = paper.status == "closed" or (paper.due_on is not None
                                                    and paper.due_on < today)
                state, chosen = ("overdue" if late else "to_do"), None
            found.append(TellerPaper(paper=_paper(session, paper), state=state,
                                     attempt_id=chosen.id if chosen else None,
                                     score=chosen.score if chosen else None))
        return found
