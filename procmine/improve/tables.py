"""The improvement register's tables in the app database (:mod:`procmine.app.appdb`).

An item keeps a frozen copy of what it acts on (``evidence``: the finding's or the shortfall's
figures as JSON, with the day the data ran to and the store version), so new data changes no
item's evidence. Its history is one row per change (``improvement_events``), beside the app's
audit trail. Links name what the decision produced: an SOP revision, a paper, a spot check.
The causes a bank can choose from are rows too, so that a bank can add its own.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from procmine.app.appdb import Base, UtcDateTime, utc_now

__all__ = ["CauseRow", "ItemEventRow", "ItemLinkRow", "ItemRow"]


class ItemRow(Base):
    """One improvement item: a decision about a finding (or a queue shortfall) and its fate."""

    __tablename__ = "improvement_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    #: "finding" or "queue" (procmine.improve.subjects.SOURCES)
    source: Mapped[str] = mapped_column(String(16))
    #: the identity a later finding of the same thing has (procmine.improve.subjects)
    subject_key: Mapped[str] = mapped_column(String(400), index=True)
    #: the frozen figures, JSON (Subject.to_json)
    evidence: Mapped[str] = mapped_column(Text)
    summary_zh: Mapped[str] = mapped_column(Text, default="")
    summary_en: Mapped[str] = mapped_column(Text, default="")
    branch_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    business_type: Mapped[str | None] = mapped_column(String(16), default=None)
    hours_per_month: Mapped[float] = mapped_column(Float, default=0.0)
    cause: Mapped[str] = mapped_column(String(64))
    proposed_change: Mapped[str] = mapped_column(Text, default="")
    review_group: Mapped[str] = mapped_column(String(64), index=True)
    owner: Mapped[str] = mapped_column(String(64), default="")
    due_on: Mapped[date | None] = mapped_column(Date, default=None)
    #: procmine.improve.items.DECISIONS, or None while undecided
    decision: Mapped[str | None] = mapped_column(String(32), default=None)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    #: what the branch did itself (the escalation report says so)
    branch_action: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True, default="proposed")
    #: the day the change took effect (set when the item is done); the re-measurement's cut
    changed_on: Mapped[date | None] = mapped_column(Date, default=None)
    #: the last re-measurement, JSON (procmine.improve.measure.Measurement.to_dict), or None
    measurement: Mapped[str | None] = mapped_column(Text, default=None)
    measured_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    #: when a verified item's finding came back, and the figures it came back with (JSON)
    regression_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    regression: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class ItemEventRow(Base):
    """One change of an item: who, when, what (and the status before and after)."""

    __tablename__ = "improvement_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("improvement_items.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    username: Mapped[str] = mapped_column(String(64))
    #: procmine.improve.items.EVENT_ACTIONS
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16), default=None)
    to_status: Mapped[str | None] = mapped_column(String(16), default=None)
    note: Mapped[str] = mapped_column(Text, default="")


class ItemLinkRow(Base):
    """What an item's decision produced: an SOP revision, a paper or a spot check."""

    __tablename__ = "improvement_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("improvement_items.id"), index=True)
    #: procmine.improve.items.LINK_KINDS
    kind: Mapped[str] = mapped_column(String(16))
    #: "SOP-P18@3.0", a paper's id, a spot check's id
    ref: Mapped[str] = mapped_column(String(128))
    added_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class CauseRow(Base):
    """A cause the bank added to the built-in list (procmine.improve.items.CAUSES)."""

    __tablename__ = "improvement_causes"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    zh: Mapped[str] = mapped_column(String(200))
    en: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
