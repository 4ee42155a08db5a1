"""The question bank in the app database: sync from the generator and the regulation files,
review, edit, retire, search.

Each question is one ``quiz_questions`` row, keyed by its stable key
(:mod:`procmine.training.question`). Syncing upserts by key: a new key is added with the status
asked for (``new``: waiting for a trainer's review), a changed body bumps the revision, an equal
body changes nothing; the status is kept, so a retired question stays retired (and a stale one
stale) until a trainer sets it back. Papers draw only from ``active`` questions and keep frozen
copies, so nothing done here changes a paper already built.

A new SOP version re-opens the questions of the old version's changed steps
(:func:`reopen_changed`: status ``stale``); an old version's question on an unchanged step is
retired when the new version's question of the same key (but for the version) asks the same
thing, which then inherits its status (an approved question needs no second review).

Only a trainer or operations edits a question or changes its status; each change writes an
audit row (``quiz.question_edit``, ``quiz.question_status``).

Example:
    >>> from procmine.training.question import Question, true_false
    >>> q = Question(key="reg:cash:count-twice", kind="truefalse", stem="现金须当面点清。",
    ...              choices=true_false(True), topic="regulation/cash", source="regulation",
    ...              regulation="cash")
    >>> sync_questions([q], actor="trainer", home=Path("ws"))
    SyncReport(added=1, updated=0, unchanged=0, reopened=0)
    >>> sync_questions([q], actor="trainer", home=Path("ws"))
    SyncReport(added=0, updated=0, unchanged=1, reopened=0)
    >>> [(b.question.key, b.status, b.revision) for b in list_questions(home=Path("ws"))]
    [('reg:cash:count-twice', 'new', 1)]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from procmine.app.appdb import record_audit, session_for, utc_now
from procmine.app.auth import User
from procmine.core.errors import ProcmineError
from procmine.sop.document import Sop
from procmine.sop.steps import changed_steps
from procmine.training.access import require_manager
from procmine.training.question import KINDS, REGULATIONS, SOURCES, TEMPLATES, Question
from procmine.training.tables import QuestionRow

if TYPE_CHECKING:
    from procmine.sop.library import SopLibrary

__all__ = [
    "QUESTION_STATUSES",
    "BankQuestion",
    "SyncReport",
    "edit_question",
    "get_question",
    "list_questions",
    "reopen_changed",
    "set_question_status",
    "sync_bank",
    "sync_questions",
    "validate_question",
]

#: new (waiting for review), active (papers draw from these), stale (its SOP step changed),
#: retired
QUESTION_STATUSES = ("new", "active", "stale", "retired")


@dataclass(frozen=True)
class BankQuestion:
    """A question of the bank with its review state."""

    id: int
    question: Question
    status: str
    revision: int
    updated_at: datetime
    updated_by: str
    note: str

    @classmethod
    def from_row(cls, row: QuestionRow) -> BankQuestion:
        return cls(id=row.id, question=Question.from_dict(json.loads(row.body)),
                   status=row.status, revision=row.revision, updated_at=row.updated_at,
                   updated_by=row.updated_by, note=row.note)


@dataclass(frozen=True)
class SyncReport:
    """What a sync did: questions added, updated (new revision), unchanged, re-opened (stale)."""

    added: int
    updated: int
    unchanged: int
    reopened: int


def validate_question(q: Question) -> list[str]:
    """What is wrong with a question (empty: nothing).

    Example:
        >>> from procmine.training.question import Choice, Question
        >>> for problem in validate_question(Question(key="imp:x:1", kind="single", stem="?",
        ...         topic="x", source="imported", choices=(Choice("a", 100), Choice("a", 100)))):
        ...     print(problem)
        two choices have the same text: a
        a single-choice question has exactly one right choice (2 here)
    """
    problems = []
    if not q.key.strip():
        problems.append("the key is empty")
    if q.kind not in KINDS:
        problems.append(f"unknown kind {q.kind!r} (expected one of {', '.join(KINDS)})")
    if q.source not in SOURCES:
        problems.append(f"unknown source {q.source!r} (expected one of {', '.join(SOURCES)})")
    if q.template is not None and q.template not in TEMPLATES:
        problems.append(f"unknown template {q.template!r}")
    if q.regulation is not None and q.regulation not in REGULATIONS:
        problems.append(f"unknown regulation area {q.regulation!r}")
    if not q.stem.strip():
        problems.append("the question text is empty")
    if len(q.choices) < 2:
        problems.append(f"a question needs 2 or more choices ({len(q.choices)} here)")
    texts = [c.text.strip() for c in q.choices]
    if any(not t for t in texts):
        problems.append("a choice is empty")
    twice = sorted({t for t in texts if t and texts.count(t) > 1})
    if twice:
        problems.append(f"two choices have the same text: {', '.join(twice)}")
    problems += _kind_problems(q)
    return problems


def _kind_problems(q: Question) -> list[str]:
    right = [c for c in q.choices if c.fraction > 0]
    if q.kind in ("single", "truefalse"):
        name = "single-choice" if q.kind == "single" else "true/false"
        if len(right) != 1:
            return [f"a {name} question has exactly one right choice ({len(right)} here)"]
        if abs(right[0].fraction - 100.0) > 0.01:
            return [f"the right choice of a {name} question is worth 100% "
                    f"({right[0].fraction:g}% here)"]
    if q.kind == "multiple":
        total = sum(c.fraction for c in right)
        if not right:
            return ["a multiple-choice question needs at least one right choice"]
        if abs(total - 100.0) > 0.01:
            return [f"the right choices of a multiple-choice question add up to 100% "
                    f"({total:g}% here)"]
    return []


def _check(q: Question) -> None:
    problems = validate_question(q)
    if problems:
        raise ProcmineError(f"question {q.key}: " + "; ".join(problems),
                            code="training.invalid_question", key=q.key,
                            problems="; ".join(problems))


def _body(q: Question) -> str:
    return json.dumps(q.to_dict(), ensure_ascii=False, sort_keys=True)


def _fill(row: QuestionRow, q: Question) -> None:
    row.kind, row.topic, row.source = q.kind, q.topic, q.source
    row.sop_id, row.sop_version, row.step_id = q.sop_id, q.sop_version, q.step_id
    row.template, row.regulation = q.template, q.regulation
    row.body = _body(q)


def sync_questions(questions: Iterable[Question], *, actor: str, status: str = "new",
                   home: Path | None = None) -> SyncReport:
    """Upsert ``questions`` by key: new ones get ``status``, a changed body a new revision, the
    status of a question already in the bank stays as it is. Every question is validated first
    (ProcmineError naming each bad one; nothing is written then)."""
    if status not in QUESTION_STATUSES:
        raise ProcmineError(f"unknown question status {status!r}")
    given = list(questions)
    keys = [q.key for q in given]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ProcmineError(f"the same key is given twice: {', '.join(twice[:5])}")
    problems = [f"{q.key}: {'; '.join(p)}" for q in given if (p := validate_question(q))]
    if problems:
        raise ProcmineError("invalid questions: " + " | ".join(problems[:20]))
    added = updated = unchanged = 0
    now = utc_now()
    with session_for(home) as session:
        rows = {r.key: r for r in session.scalars(select(QuestionRow))}
        for q in given:
            row = rows.get(q.key)
            if row is None:
                row = QuestionRow(key=q.key, status=status, revision=1, created_at=now,
                                  updated_at=now, updated_by=actor, note="")
                _fill(row, q)
                session.add(row)
                added += 1
            elif row.body != _body(q):
                _fill(row, q)
                row.revision += 1
                row.updated_at, row.updated_by = now, actor
                updated += 1
            else:
                unchanged += 1
        if added or updated:
            record_audit(session, actor, "quiz.bank_sync",
                         f"{added} added, {updated} updated, {unchanged} unchanged")
    return SyncReport(added=added, updated=updated, unchanged=unchanged, reopened=0)


def sync_bank(library: SopLibrary, *, actor: str = "system", status: str = "new",
              today: date | None = None, home: Path | None = None,
              regulations: Sequence[Question] | None = None) -> SyncReport:
    """Sync the bank with the questions generated from the SOPs in force ``today`` and the
    regulation questions (default: the bundled regulation bank,
    :func:`procmine.training.exchange.regulation_bank`); then, for each SOP whose version in
    force is newer than some of its questions', re-open the old version's questions on changed
    steps (:func:`reopen_changed`) and supersede the rest (see the module's notes)."""
    from procmine.training.generate import generate_bank

    if regulations is None:
        from procmine.training.exchange import regulation_bank
        regulations = regulation_bank()
    generated = generate_bank(library, today=today)
    report = sync_questions([*generated, *regulations], actor=actor, status=status,
                            home=home)
    in_force = {q.sop_id: q.sop_version for q in generated if q.sop_id and q.sop_version}
    reopened = 0
    for sop_id, version in sorted(in_force.items()):
        versions = library.approved_versions(sop_id)
        order = [v.sop.version for v in versions]
        new = next((v.sop for v in versions if v.sop.version == version), None)
        if new is None:
            continue
        for old_version in _stored_versions(sop_id, home):
            if old_version in order and order.index(old_version) < order.index(version):
                old = versions[order.index(old_version)].sop
                reopened += len(reopen_changed(old, new, actor=actor, home=home))
                _supersede(old, new, actor=actor, home=home)
    return SyncReport(report.added, report.updated, report.unchanged, reopened)


def _stored_versions(sop_id: str, home: Path | None) -> list[str]:
    with session_for(home) as session:
        found = session.scalars(select(QuestionRow.sop_version).where(
            QuestionRow.sop_id == sop_id, QuestionRow.status.in_(("new", "active"))).distinct())
        return sorted(v for v in found if v)


def _step_changed(step_id: str | None, old: Sop, changed: set[str]) -> bool:
    """A question on a step the new version changed; one on no step of the SOP (ordering the
    whole SOP) is affected by any change."""
    if step_id in {s.id for s in old.steps}:
        return step_id in changed
    return bool(changed)


def reopen_changed(old_sop: Sop, new_sop: Sop, *, actor: str,
                   home: Path | None = None) -> list[str]:
    """Set the questions of ``old_sop``'s version on the steps ``new_sop`` changed to ``stale``
    (retired and stale ones are left alone); returns their keys."""
    changed = changed_steps(old_sop, new_sop)
    keys = []
    with session_for(home) as session:
        rows = session.scalars(select(QuestionRow).where(
            QuestionRow.sop_id == old_sop.id, QuestionRow.sop_version == old_sop.version,
            QuestionRow.status.in_(("new", "active"))).order_by(QuestionRow.key))
        for row in rows:
            if _step_changed(row.step_id, old_sop, changed):
                _set_status(session, row, "stale", actor,
                            f"{old_sop.id} {new_sop.version} changed step {row.step_id or '*'}")
                keys.append(row.key)
    return keys


def _asks(row: QuestionRow) -> tuple[object, ...]:
    """What a question asks: its kind, stem and choices (in any order but an ordering's)."""
    q = Question.from_dict(json.loads(row.body))
    choices = q.choices if q.kind == "ordering" else tuple(sorted(q.choices, key=str))
    return q.kind, q.stem, choices


def _supersede(old: Sop, new: Sop, *, actor: str, home: Path | None) -> int:
    """The old version's live questions whose counterpart in the new version (the same key but
    for the version) asks the same thing (kind, stem, choices in any order): the counterpart,
    when still ``new``, takes the old one's status and the old one is retired. A counterpart
    that asks something else waits for review; the old question stays as it is. Returns those
    retired."""
    old_prefix, new_prefix = f"gen:{old.id}:{old.version}:", f"gen:{new.id}:{new.version}:"
    retired = 0
    with session_for(home) as session:
        rows = {r.key: r for r in session.scalars(select(QuestionRow).where(
            QuestionRow.sop_id == old.id,
            QuestionRow.sop_version.in_((old.version, new.version))))}
        for key, row in sorted(rows.items()):
            if not key.startswith(old_prefix) or row.status not in ("new", "active"):
                continue
            twin = rows.get(new_prefix + key[len(old_prefix):])
            if twin is None or _asks(twin) != _asks(row):
                continue
            if twin.status == "new":
                _set_status(session, twin, row.status, actor, f"as {key}")
            _set_status(session, row, "retired", actor, f"superseded by {twin.key}")
            retired += 1
    return retired


def _set_status(session: Session, row: QuestionRow, status: str, actor: str, note: str) -> None:
    before = row.status
    row.status, row.note = status, note
    row.updated_at, row.updated_by = utc_now(), actor
    record_audit(session, actor, "quiz.question_status",
                 f"{row.key}: {before} -> {status}" + (f" ({note})" if note else ""))


def list_questions(*, status: str | None = None, topic: str | None = None,
                   sop_id: str | None = None, source: str | None = None,
                   search: str | None = None, home: Path | None = None) -> list[BankQuestion]:
    """The bank's questions by key, filtered; ``search`` matches the stem, choices, title and
    key, ignoring case."""
    query = select(QuestionRow).order_by(QuestionRow.key)
    if status is not None:
        query = query.where(QuestionRow.status == status)
    if topic is not None:
        query = query.where(QuestionRow.topic == topic)
    if sop_id is not None:
        query = query.where(QuestionRow.sop_id == sop_id)
    if source is not None:
        query = query.where(QuestionRow.source == source)
    with session_for(home) as session:
        found = [BankQuestion.from_row(r) for r in session.scalars(query)]
    if search and search.strip():
        needle = search.strip().casefold()
        found = [b for b in found if needle in _haystack(b.question)]
    return found


def _haystack(q: Question) -> str:
    return "\n".join([q.key, q.title, q.stem, *(c.text for c in q.choices)]).casefold()


def get_question(key: str, *, home: Path | None = None) -> BankQuestion | None:
    """The bank question with ``key``, or None."""
    with session_for(home) as session:
        row = session.scalars(select(QuestionRow).where(QuestionRow.key == key)).first()
        return BankQuestion.from_row(row) if row is not None else None


def _require(session: Session, key: str) -> QuestionRow:
    row = session.scalars(select(QuestionRow).where(QuestionRow.key == key)).first()
    if row is None:
        raise ProcmineError(f"no question with the key {key!r} in the bank",
                            code="training.no_question_key", key=key)
    return row


def edit_question(key: str, question: Question, *, user: User, note: str,
                  home: Path | None = None) -> BankQuestion:
    """Replace a question's text and choices (a trainer's or operations' edit): validated, a new
    revision, audited. The key stays; papers already built keep their copy."""
    require_manager(user, "edit questions")
    if question.key != key:
        raise ProcmineError(f"an edit keeps the key: {question.key!r} is not {key!r}",
                            code="training.edit_keeps_key", key=key)
    _check(question)
    with session_for(home) as session:
        row = _require(session, key)
        if row.body == _body(question):
            return BankQuestion.from_row(row)
        _fill(row, question)
        row.revision += 1
        row.updated_at, row.updated_by, row.note = utc_now(), user.username, note
        record_audit(session, user.username, "quiz.question_edit",
                     f"{key} revision {row.revision}" + (f": {note}" if note else ""))
        return BankQuestion.from_row(row)


def set_question_status(key: str, status: str, *, user: User, note: str = "",
                        home: Path | None = None) -> BankQuestion:
    """Review a question: make it active, retire it, or set it back (trainer or operations;
    audited). Only valid questions become active."""
    require_manager(user, "change a question's status")
    if status not in QUESTION_STATUSES:
        raise ProcmineError(f"unknown question status {status!r}; expected one of "
                            f"{', '.join(QUESTION_STATUSES)}")
    with session_for(home) as session:
        row = _require(session, key)
        if status == "active":
            _check(Question.from_dict(json.loads(row.body)))
        if row.status != status:
            _set_status(session, row, status, user.username, note)
        return BankQuestion.from_row(row)


def active_questions(session: Session, *, sop_ids: Sequence[str] = (),
                     regulations: Sequence[str] = ()) -> list[QuestionRow]:
    """The active questions of some SOPs or regulation areas, by key (for papers)."""
    query = select(QuestionRow).where(QuestionRow.status == "active")
    if sop_ids and regulations:
        query = query.where(QuestionRow.sop_id.in_(list(sop_ids))
                            | QuestionRow.regulation.in_(list(regulations)))
    elif sop_ids:
        query = query.where(QuestionRow.sop_id.in_(list(sop_ids)))
    elif regulations:
        query = query.where(QuestionRow.regulation.in_(list(regulations)))
    else:
        return []
    return list(session.scalars(query.order_by(QuestionRow.key)))
