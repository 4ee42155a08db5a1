"""The improvement register's vocabulary: statuses and how an item moves between them, causes,
decisions, links, and who may do what.

Lifecycle (:data:`TRANSITIONS`)::

    proposed -> accepted | rejected
    accepted -> in_progress | rejected
    in_progress -> done
    done -> verified | not_effective      (the re-measurement only, never a person)
    rejected -> proposed                  (reopened)
    not_effective -> in_progress          (tried again)

An accepted item whose decision is ``no_action`` is closed: nothing to do, nothing to measure.
An item is *open* while proposed, accepted (with an action to take) or in progress; an open item
past its due day is *overdue*.

Who (:func:`can_view`, :func:`can_open`, :func:`can_act`): the operations department opens items
on any finding for any review group and acts on every item; a reviewer opens items for their own
group and acts only on their group's items; a branch manager opens items on their branch's
findings and sees their branch's items; a trainer sees every item and links papers and spot
checks to items decided as retraining; a teller cannot open the register.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from procmine.app.auth import User
from procmine.core.errors import ProcmineError
from procmine.improve.subjects import Subject

__all__ = [
    "CAUSES",
    "DECISIONS",
    "EVENT_ACTIONS",
    "LINK_KINDS",
    "OPEN_STATUSES",
    "REGISTER_ROLES",
    "STATUSES",
    "SYSTEM_USER",
    "TRANSITIONS",
    "ImprovementItem",
    "ItemEvent",
    "ItemLink",
    "RegisterError",
    "can_act",
    "can_open",
    "can_view",
    "check_view",
    "is_open",
    "system_user",
]

STATUSES: Final[tuple[str, ...]] = ("proposed", "accepted", "rejected", "in_progress", "done",
                                    "verified", "not_effective")
#: Where a person may move an item from each status (verified / not effective: the measurement).
TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    "proposed": ("accepted", "rejected"),
    "accepted": ("in_progress", "rejected"),
    "in_progress": ("done",),
    "done": (),
    "verified": (),
    "not_effective": ("in_progress",),
    "rejected": ("proposed",),
}
#: Statuses only the re-measurement sets.
MEASURED_STATUSES: Final[tuple[str, ...]] = ("verified", "not_effective")
OPEN_STATUSES: Final[tuple[str, ...]] = ("proposed", "accepted", "in_progress")
#: The built-in causes; a bank adds its own (procmine.improve.register.add_cause).
CAUSES: Final[tuple[str, ...]] = ("procedure", "training", "system", "staffing", "layout",
                                  "customer_behaviour", "data")
DECISIONS: Final[tuple[str, ...]] = ("revise_sop", "retrain", "change_staffing", "escalate",
                                     "no_action")
#: What a decision can produce: "sop_revision" (ref "SOP-P18@3.0"), "paper" and "spot_check"
#: (ref: the id in the app database).
LINK_KINDS: Final[tuple[str, ...]] = ("sop_revision", "paper", "spot_check")
#: What an item's history records.
EVENT_ACTIONS: Final[tuple[str, ...]] = ("add", "status", "assign", "decide", "link", "measure",
                                         "regression", "note")
#: The name the automatic re-measurement acts under in the history and the audit trail.
SYSTEM_USER: Final[str] = "procmine"
REGISTER_ROLES: Final[tuple[str, ...]] = ("operations", "reviewer", "branch_manager", "trainer")


class RegisterError(ProcmineError):
    """A register action refused: not allowed for this user, or not a valid move."""


@dataclass(frozen=True)
class ItemLink:
    kind: str
    ref: str
    added_by: str
    at: datetime


@dataclass(frozen=True)
class ItemEvent:
    """One change of an item. A re-measurement's or a regression's ``note`` holds its line in
    each language (a JSON object); :meth:`note_in` reads any note in one language."""

    at: datetime
    username: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str

    def note_in(self, lang: str) -> str:
        """The note in ``lang`` (English when it has no line in ``lang``; as written when it
        is a person's note).

        Example:
            >>> e = ItemEvent(datetime(2026, 12, 1), "procmine", "measure", "done", "verified",
            ...               '{"en": "fixed", "zh-CN": "有效"}')
            >>> e.note_in("zh-CN"), e.note_in("en")
            ('有效', 'fixed')
        """
        if not (self.note.startswith("{") and self.note.endswith("}")):
            return self.note
        try:
            lines = json.loads(self.note)
        except ValueError:
            return self.note
        if not isinstance(lines, dict):
            return self.note
        return str(lines.get(lang) or lines.get("en") or self.note)


@dataclass(frozen=True)
class ImprovementItem:
    """An item as callers see it (``subject``: the frozen evidence; ``measurement`` and
    ``regression``: the parsed JSON, or None)."""

    id: int
    created_at: datetime
    created_by: str
    subject: Subject
    cause: str
    proposed_change: str
    review_group: str
    owner: str
    due_on: date | None
    decision: str | None
    decision_reason: str
    branch_action: str
    status: str
    changed_on: date | None
    measurement: dict[str, Any] | None
    measured_at: datetime | None
    regression: dict[str, Any] | None
    regression_at: datetime | None
    updated_at: datetime
    links: tuple[ItemLink, ...] = ()
    events: tuple[ItemEvent, ...] = ()

    @property
    def is_open(self) -> bool:
        return is_open(self.status, self.decision)

    def overdue(self, today: date) -> bool:
        """Open and past its due day."""
        return self.is_open and self.due_on is not None and self.due_on < today

    def sop_revision(self) -> tuple[str, str] | None:
        """The linked SOP revision as (SOP id, version), the latest linked; None if none."""
        for link in reversed(self.links):
            if link.kind == "sop_revision" and "@" in link.ref:
                sop_id, version = link.ref.split("@", 1)
                return sop_id, version
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``procmine improve show --json``."""
        return {
            "id": self.id, "created_at": self.created_at.isoformat(),
            "created_by": self.created_by, "source": self.subject.source,
            "key": self.subject.key, "summary": dict(self.subject.summary),
            "evidence": {"figures": dict(self.subject.figures),
                         "as_of": self.subject.as_of.isoformat() if self.subject.as_of else None,
                         "store_version": self.subject.store_version},
            "branch_id": self.subject.branch_id,
            "hours_per_month": self.subject.hours_per_month,
            "cause": self.cause, "proposed_change": self.proposed_change,
            "review_group": self.review_group, "owner": self.owner,
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "decision": self.decision, "decision_reason": self.decision_reason,
            "branch_action": self.branch_action, "status": self.status,
            "changed_on": self.changed_on.isoformat() if self.changed_on else None,
            "measurement": self.measurement,
            "measured_at": self.measured_at.isoformat() if self.measured_at else None,
            "regression": self.regression,
            "regression_at": self.regression_at.isoformat() if self.regression_at else None,
            "updated_at": self.updated_at.isoformat(),
            "links": [{"kind": k.kind, "ref": k.ref, "added_by": k.added_by,
                       "at": k.at.isoformat()} for k in self.links],
            "history": [{"at": e.at.isoformat(), "username": e.username, "action": e.action,
                         "from_status": e.from_status, "to_status": e.to_status,
                         "note": e.note} for e in self.events],
        }


def system_user() -> User:
    """The user the automatic re-measurement and the local command line's read-only listings act
    as: the operations department, named :data:`SYSTEM_USER` (never a row of the users table,
    so no one signs in as it)."""
    return User(username=SYSTEM_USER, role="operations", display_name=SYSTEM_USER,
                review_group=None, teller_id=None, branch_id=None,
                created_at=datetime(2026, 1, 1, tzinfo=UTC), disabled=False)


def is_open(status: str, decision: str | None) -> bool:
    """Still to be dealt with: proposed, in progress, or accepted with an action to take."""
    if status == "accepted":
        return decision != "no_action"
    return status in OPEN_STATUSES


def can_view(user: User) -> bool:
    """May open the register at all (every role but a teller)."""
    return user.role in REGISTER_ROLES and not user.disabled


def check_view(user: User) -> None:
    if not can_view(user):
        raise RegisterError(f"{user.username}: a {user.role} cannot open the improvement register",
                        code="improve.no_register", username=user.username)


def can_open(user: User, review_group: str, branch_id: str | None) -> bool:
    """May open an item for ``review_group`` on a subject of ``branch_id``."""
    if user.role == "operations":
        return True
    if user.role == "reviewer":
        return user.review_group == review_group
    if user.role == "branch_manager":
        return branch_id is not None and branch_id == user.branch_id
    return False


def can_act(user: User, review_group: str) -> bool:
    """May decide, move and assign the items of ``review_group``."""
    if user.role == "operations":
        return True
    return user.role == "reviewer" and user.review_group == review_group
