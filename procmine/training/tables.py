"""The training room's tables in the app database (:mod:`procmine.app.appdb`).

Questions are kept as JSON (:meth:`procmine.training.question.Question.to_dict`) with the columns
a query filters on beside it. A paper keeps a frozen copy of each question as it was when the
paper was built, so editing the bank later changes no paper and no past result. Attempts and
answers are written as they happen (one row per answer, replaced when the teller changes it), so
a dropped connection loses nothing.

Who is who: tellers are named by their teller id in the event log (``teller_id``, text), the
id their figures, spot checks and results join on; a teller's user account carries the same id.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from procmine.app.appdb import Base, UtcDateTime, utc_now

__all__ = [
    "AcknowledgementRow",
    "AnswerRow",
    "AssignmentRow",
    "AttemptRow",
    "PaperQuestionRow",
    "PaperRow",
    "QuestionRow",
    "ReviewCardRow",
    "ReviewLogRow",
    "SpotCheckRow",
    "TrainingSettingRow",
]


class QuestionRow(Base):
    """A question of the bank (its current revision)."""

    __tablename__ = "quiz_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(200), index=True)
    source: Mapped[str] = mapped_column(String(16))
    sop_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    sop_version: Mapped[str | None] = mapped_column(String(32), default=None)
    step_id: Mapped[str | None] = mapped_column(String(128), default=None)
    template: Mapped[str | None] = mapped_column(String(32), default=None)
    regulation: Mapped[str | None] = mapped_column(String(64), default=None)
    #: the question itself, as Question.to_dict() JSON
    body: Mapped[str] = mapped_column(Text)
    #: new (not yet reviewed), active (papers draw from these), stale (its SOP step changed in a
    #: new version: re-opened for review), retired
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class PaperRow(Base):
    """A paper: a fixed set of questions with its rules."""

    __tablename__ = "quiz_papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    #: JSON: {"sops": [...], "groups": [...], "regulations": [...], "count": n, "seed": s}
    selection: Mapped[str] = mapped_column(Text, default="{}")
    time_limit_minutes: Mapped[int] = mapped_column(Integer, default=30)
    pass_mark: Mapped[float] = mapped_column(Float, default=60.0)     # percent
    expert_mark: Mapped[float] = mapped_column(Float, default=90.0)   # percent
    shuffle: Mapped[bool] = mapped_column(Boolean, default=True)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    due_on: Mapped[date | None] = mapped_column(Date, default=None)
    #: draft (being built), assigned (open to its tellers), closed
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)


class PaperQuestionRow(Base):
    """A question on a paper, frozen as it was when the paper was built."""

    __tablename__ = "quiz_paper_questions"
    __table_args__ = (UniqueConstraint("paper_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("quiz_papers.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)          # 1-based, the paper's own order
    question_id: Mapped[int] = mapped_column(ForeignKey("quiz_questions.id"), index=True)
    question_key: Mapped[str] = mapped_column(String(300))
    revision: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)                 # Question.to_dict() JSON, frozen
    points: Mapped[float] = mapped_column(Float, default=1.0)


class AssignmentRow(Base):
    """A paper assigned to one teller (assigning to a branch or everyone makes one row each)."""

    __tablename__ = "quiz_assignments"
    __table_args__ = (UniqueConstraint("paper_id", "teller_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("quiz_papers.id"), index=True)
    teller_id: Mapped[str] = mapped_column(String(64), index=True)
    branch_id: Mapped[str | None] = mapped_column(String(64), default=None)
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    assigned_by: Mapped[str] = mapped_column(String(64))


class AttemptRow(Base):
    """One teller's attempt at a paper."""

    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("quiz_papers.id"), index=True)
    teller_id: Mapped[str] = mapped_column(String(64), index=True)
    branch_id: Mapped[str | None] = mapped_column(String(64), default=None)
    username: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    #: open, submitted (by the teller), expired (graded when its time ran out)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    #: JSON list of paper positions in the order this attempt shows them
    question_order: Mapped[str] = mapped_column(Text, default="[]")
    #: JSON {position: [choice indexes in the order shown]} for shuffled choices and items
    choice_order: Mapped[str] = mapped_column(Text, default="{}")
    score: Mapped[float | None] = mapped_column(Float, default=None)     # percent, when graded
    passed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    expert: Mapped[bool | None] = mapped_column(Boolean, default=None)
    #: the teller id while the attempt is open, else empty: unique, so two attempts started at
    #: the same moment cannot both be open (one attempt at a time, on every backend)
    open_teller: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)


class AnswerRow(Base):
    """The answer to one question of an attempt (the latest one given)."""

    __tablename__ = "quiz_answers"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)          # the paper position answered
    #: JSON: a list of choice indexes into the question's choices as stored (for ordering: the
    #: item indexes in the order the teller put them)
    response: Mapped[str] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    credit: Mapped[float | None] = mapped_column(Float, default=None)    # 0..1, when graded


class AcknowledgementRow(Base):
    """A teller's acknowledgement that they read a version of an SOP."""

    __tablename__ = "sop_acknowledgements"
    __table_args__ = (UniqueConstraint("sop_id", "sop_version", "teller_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_id: Mapped[str] = mapped_column(String(64), index=True)
    sop_version: Mapped[str] = mapped_column(String(32))
    commit: Mapped[str] = mapped_column(String(64))
    teller_id: Mapped[str] = mapped_column(String(64), index=True)
    branch_id: Mapped[str | None] = mapped_column(String(64), default=None)
    username: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class SpotCheckRow(Base):
    """A spot check: a checker watched a teller work through an SOP."""

    __tablename__ = "spot_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teller_id: Mapped[str] = mapped_column(String(64), index=True)
    branch_id: Mapped[str | None] = mapped_column(String(64), default=None)
    sop_id: Mapped[str] = mapped_column(String(64), index=True)
    sop_version: Mapped[str] = mapped_column(String(32))
    checked_on: Mapped[date] = mapped_column(Date, index=True)
    checker: Mapped[str] = mapped_column(String(64))
    steps_observed: Mapped[str] = mapped_column(Text, default="[]")   # JSON list of step ids
    steps_wrong: Mapped[str] = mapped_column(Text, default="[]")      # done wrongly
    steps_skipped: Mapped[str] = mapped_column(Text, default="[]")
    seconds: Mapped[float | None] = mapped_column(Float, default=None)  # time taken
    passed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    created_by: Mapped[str] = mapped_column(String(64), default="")


class ReviewCardRow(Base):
    """A teller's FSRS card for a question they missed (the ``fsrs`` package's Card as JSON)."""

    __tablename__ = "review_cards"
    __table_args__ = (UniqueConstraint("teller_id", "question_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teller_id: Mapped[str] = mapped_column(String(64), index=True)
    question_key: Mapped[str] = mapped_column(String(300))
    card: Mapped[str] = mapped_column(Text)
    due: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)


class ReviewLogRow(Base):
    """One review of a card (the rating the teller's answer earned)."""

    __tablename__ = "review_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teller_id: Mapped[str] = mapped_column(String(64), index=True)
    question_key: Mapped[str] = mapped_column(String(300))
    rating: Mapped[int] = mapped_column(Integer)    # fsrs.Rating: 1 again .. 4 easy
    correct: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class TrainingSettingRow(Base):
    """A training setting the trainers may change (targets, the spot-check interval)."""

    __tablename__ = "training_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
