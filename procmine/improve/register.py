"""The improvement register: open an item on a finding, decide, assign, move it through its
lifecycle, link what the decision produced, and read it back (see :mod:`procmine.improve.items`
for the statuses and who may do what).

Every change is one transaction that writes the item, a row of its history and a row of the
app's audit trail (``improve.add``, ``improve.status``, ``improve.assign``, ``improve.link``,
``improve.measure``, ``improve.regression``). The re-measurement of an item closed as done and
the regression check live in :mod:`procmine.improve.refresh`; they record their results here
(:func:`record_measurement`, :func:`record_regression`).

Example:
    >>> from procmine import find_bottlenecks
    >>> from procmine.app.auth import get_user, seed_demo_users
    >>> from procmine.improve.subjects import finding_subject
    >>> ws = Path("ws"); _ = seed_demo_users(ws)   # a workspace of its own
    >>> ops, reviewer = get_user("ops", ws), get_user("reviewer", ws)
    >>> finding = find_bottlenecks(store, baseline, kinds=("step",))[0]
    >>> subject = finding_subject(finding, as_of=date(2026, 11, 30), store_version="v1")
    >>> item = open_item(subject, user=ops, cause="procedure", review_group="accounting-and-cash",
    ...                  proposed_change="Read the account back before entering", home=ws)
    >>> item.status, item.review_group
    ('proposed', 'accounting-and-cash')
    >>> set_status(item.id, "accepted", user=reviewer, decision="revise_sop", home=ws).status
    'accepted'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from procmine.app.appdb import has_app_database, record_audit, session_for, utc_now
from procmine.app.auth import User
from procmine.app.i18n import t
from procmine.core.baseline import REVIEW_GROUPS
from procmine.improve.items import (
    CAUSES,
    DECISIONS,
    LINK_KINDS,
    MEASURED_STATUSES,
    STATUSES,
    SYSTEM_USER,
    TRANSITIONS,
    ImprovementItem,
    ItemEvent,
    ItemLink,
    RegisterError,
    can_act,
    can_open,
    check_view,
    system_user,
)
from procmine.improve.subjects import Subject
from procmine.improve.tables import CauseRow, ItemEventRow, ItemLinkRow, ItemRow

__all__ = [
    "DEFAULT_DUE_DAYS",
    "add_cause",
    "add_link",
    "causes",
    "get_item",
    "has_register",
    "items_by_key",
    "list_items",
    "open_item",
    "record_measurement",
    "record_regression",
    "register_items",
    "set_status",
    "update_item",
]

#: An item opened without a due day is due this many days later.
DEFAULT_DUE_DAYS = 30
_CAUSE_CODE = re.compile(r"[a-z][a-z0-9_]{1,63}")
_SOP_REF = re.compile(r"SOP-[A-Za-z0-9_-]+@\d+(\.\d+)*")


# -- causes --------------------------------------------------------------------------------------

def causes(home: Path | None = None) -> list[tuple[str, str, str]]:
    """Every cause as (code, Chinese, English): the built-in ones, then the bank's own."""
    built_in = [(c, t(f"improve.cause.{c}", "zh-CN"), t(f"improve.cause.{c}", "en"))
                for c in CAUSES]
    with session_for(home) as session:
        rows = session.scalars(select(CauseRow).order_by(CauseRow.at))
        own = [(r.code, r.zh, r.en) for r in rows]
    return built_in + own


def add_cause(code: str, zh: str, en: str, *, user: User, home: Path | None = None) -> None:
    """Add a cause of the bank's own (operations only)."""
    if user.role != "operations":
        raise RegisterError(f"{user.username}: only the operations department adds causes",
                            code="improve.cause_ops_only")
    code = code.strip().lower()
    if not _CAUSE_CODE.fullmatch(code):
        raise RegisterError(f"cause code {code!r}: expected lower-case letters, digits and _, "
                            "starting with a letter (e.g. queue_layout)", code="improve.cause_code",
                            cause=code)
    if not zh.strip() or not en.strip():
        raise RegisterError("a cause needs a Chinese and an English name",
                            code="improve.cause_names")
    if code in {c for c, _, _ in causes(home)}:
        raise RegisterError(f"the cause {code!r} exists already", code="improve.cause_exists",
                            cause=code)
    with session_for(home) as session:
        session.add(CauseRow(code=code, zh=zh.strip(), en=en.strip(), added_by=user.username))
        record_audit(session, user.username, "improve.cause", f"{code}: {zh} / {en}")


def _check_cause(cause: str, home: Path | None) -> None:
    known = [c for c, _, _ in causes(home)]
    if cause not in known:
        raise RegisterError(f"unknown cause {cause!r}; expected one of {', '.join(known)}",
                            code="improve.unknown_cause", cause=cause)


def _check_decision(decision: str | None, reason: str) -> None:
    if decision is None:
        return
    if decision not in DECISIONS:
        raise RegisterError(f"unknown decision {decision!r}; expected one of "
                            f"{', '.join(DECISIONS)}", code="improve.unknown_decision",
                            decision=decision)
    if decision == "no_action" and not reason.strip():
        raise RegisterError("a decision of no action needs a reason",
                            code="improve.no_action_reason")


def _check_group(group: str) -> None:
    if group not in REVIEW_GROUPS:
        raise RegisterError(f"unknown review group {group!r}; expected one of "
                            f"{', '.join(REVIEW_GROUPS)}", code="improve.unknown_group",
                            group=group)


# -- reading -------------------------------------------------------------------------------------

def _item(session: Session, row: ItemRow) -> ImprovementItem:
    links = session.scalars(select(ItemLinkRow).where(ItemLinkRow.item_id == row.id)
                            .order_by(ItemLinkRow.id))
    events = session.scalars(select(ItemEventRow).where(ItemEventRow.item_id == row.id)
                             .order_by(ItemEventRow.id))
    return ImprovementItem(
        id=row.id, created_at=row.created_at, created_by=row.created_by,
        subject=Subject.from_json(row.evidence), cause=row.cause,
        proposed_change=row.proposed_change, review_group=row.review_group, owner=row.owner,
        due_on=row.due_on, decision=row.decision, decision_reason=row.decision_reason,
        branch_action=row.branch_action, status=row.status, changed_on=row.changed_on,
        measurement=json.loads(row.measurement) if row.measurement else None,
        measured_at=row.measured_at,
        regression=json.loads(row.regression) if row.regression else None,
        regression_at=row.regression_at, updated_at=row.updated_at,
        links=tuple(ItemLink(r.kind, r.ref, r.added_by, r.at) for r in links),
        events=tuple(ItemEvent(e.at, e.username, e.action, e.from_status, e.to_status, e.note)
                     for e in events),
    )


def _require(session: Session, item_id: int) -> ItemRow:
    row = session.get(ItemRow, item_id)
    if row is None:
        raise RegisterError(f"no improvement item #{item_id}", code="improve.no_item",
                            item_id=item_id)
    return row


def _visible(user: User, row: ItemRow) -> bool:
    if user.role == "branch_manager":
        return row.branch_id is not None and row.branch_id == user.branch_id
    return True


def get_item(item_id: int, *, user: User, home: Path | None = None) -> ImprovementItem:
    """One item with its links and history (a branch manager: of their branch only)."""
    check_view(user)
    with session_for(home) as session:
        row = _require(session, item_id)
        if not _visible(user, row):
            raise RegisterError(f"{user.username}: item #{item_id} is not of branch "
                                f"{user.branch_id}", code="improve.other_branch",
                                item_id=item_id, branch=user.branch_id)
        return _item(session, row)


def list_items(*, user: User, home: Path | None = None, review_group: str | None = None,
               status: str | Sequence[str] | None = None, owner: str | None = None,
               due_by: date | None = None, overdue_on: date | None = None,
               key: str | None = None, source: str | None = None) -> list[ImprovementItem]:
    """Items the user may see, newest first, narrowed by group, status (one or several), owner,
    due on or before ``due_by``, overdue on ``overdue_on``, subject key and source."""
    check_view(user)
    query = select(ItemRow).order_by(ItemRow.id.desc())
    if review_group:
        query = query.where(ItemRow.review_group == review_group)
    if status:
        wanted = [status] if isinstance(status, str) else list(status)
        unknown = [s for s in wanted if s not in STATUSES]
        if unknown:
            raise RegisterError(f"unknown status {unknown[0]!r}; expected one of "
                                f"{', '.join(STATUSES)}", code="improve.unknown_status",
                                status=unknown[0])
        query = query.where(ItemRow.status.in_(wanted))
    if owner:
        query = query.where(ItemRow.owner == owner)
    if due_by is not None:
        query = query.where(ItemRow.due_on <= due_by)
    if key:
        query = query.where(ItemRow.subject_key == key)
    if source:
        query = query.where(ItemRow.source == source)
    if user.role == "branch_manager":
        query = query.where(ItemRow.branch_id == user.branch_id)
    with session_for(home) as session:
        items = [_item(session, row) for row in session.scalars(query)]
    if overdue_on is not None:
        items = [i for i in items if i.overdue(overdue_on)]
    return items


def has_register(home: Path | None = None) -> bool:
    """Whether the workspace has an app database, hence perhaps a register (a server named by
    ``PROCMINE_DB_URL``, or the workspace's SQLite file). Reading a register creates the SQLite
    file; an ingest or a listing in a workspace without one asks this first and creates none."""
    return has_app_database(home)


def register_items(home: Path | None = None) -> list[ImprovementItem]:
    """Every item, newest first, as the command line on the workspace's machine reads them (as
    :func:`~procmine.improve.items.system_user`); none when the workspace has no app database."""
    return list_items(user=system_user(), home=home) if has_register(home) else []


def items_by_key(items: Iterable[ImprovementItem]) -> dict[str, list[ImprovementItem]]:
    """Items grouped by their subject's key, newest first in each list (to show a finding's
    items beside it)."""
    grouped: dict[str, list[ImprovementItem]] = {}
    for item in sorted(items, key=lambda i: i.id, reverse=True):
        grouped.setdefault(item.subject.key, []).append(item)
    return grouped


# -- writing -------------------------------------------------------------------------------------

def _event(session: Session, row: ItemRow, username: str, action: str, note: str = "",
           before: str | None = None, *, audit_note: str | None = None) -> None:
    """A row of the item's history and one of the audit trail (``audit_note`` when the audit
    should say more than the history, e.g. which finding an item was opened on)."""
    session.add(ItemEventRow(item_id=row.id, at=utc_now(), username=username, action=action,
                             from_status=before, to_status=row.status, note=note))
    row.updated_at = utc_now()
    said = note if audit_note is None else audit_note
    record_audit(session, username, f"improve.{action}",
                 f"#{row.id} {row.status}" + (f": {said}" if said else ""))


def open_item(subject: Subject, *, user: User, cause: str, review_group: str,
              proposed_change: str = "", owner: str = "", due_on: date | None = None,
              decision: str | None = None, decision_reason: str = "", branch_action: str = "",
              home: Path | None = None, today: date | None = None) -> ImprovementItem:
    """Open an item on ``subject`` (its evidence is frozen as given), status ``proposed``; due
    :data:`DEFAULT_DUE_DAYS` after ``today`` unless ``due_on`` says otherwise."""
    check_view(user)
    _check_group(review_group)
    if not can_open(user, review_group, subject.branch_id):
        raise RegisterError(f"{user.username}: a {user.role} may not open an item for "
                            f"{review_group}" + (f" on branch {subject.branch_id}"
                                                 if subject.branch_id else ""),
                            code="improve.may_not_open", group=review_group)
    _check_cause(cause, home)
    _check_decision(decision, decision_reason)
    today = today or date.today()
    with session_for(home) as session:
        row = ItemRow(
            created_at=utc_now(), created_by=user.username, source=subject.source,
            subject_key=subject.key, evidence=subject.to_json(),
            summary_zh=subject.summary_in("zh-CN"), summary_en=subject.summary_in("en"),
            branch_id=subject.branch_id, business_type=subject.business_type,
            hours_per_month=subject.hours_per_month, cause=cause,
            proposed_change=proposed_change.strip(), review_group=review_group,
            owner=owner.strip(), due_on=due_on or today + timedelta(days=DEFAULT_DUE_DAYS),
            decision=decision, decision_reason=decision_reason.strip(),
            branch_action=branch_action.strip(), status="proposed", updated_at=utc_now())
        session.add(row)
        session.flush()
        _event(session, row, user.username, "add", audit_note=subject.key)
        return _item(session, row)


def update_item(item_id: int, *, user: User, home: Path | None = None,
                review_group: str | None = None, owner: str | None = None,
                due_on: date | None = None, decision: str | None = None,
                decision_reason: str | None = None, cause: str | None = None,
                proposed_change: str | None = None, branch_action: str | None = None,
                note: str = "") -> ImprovementItem:
    """Assign (group, owner, due day) or decide (decision and its reason, cause, proposed change,
    what the branch did itself). Moving an item to another group is for operations."""
    with session_for(home) as session:
        row = _require(session, item_id)
        if not can_act(user, row.review_group):
            raise RegisterError(f"{user.username}: item #{item_id} belongs to "
                                f"{row.review_group}; a {user.role} of "
                                f"{user.review_group or 'no group'} may not change it",
                                code="improve.other_group", item_id=item_id,
                                group=row.review_group)
        changes: list[str] = []
        if review_group is not None and review_group != row.review_group:
            _check_group(review_group)
            if user.role != "operations":
                raise RegisterError("only the operations department moves an item to another "
                                    "review group", code="improve.move_ops_only")
            changes.append(f"group {row.review_group} -> {review_group}")
            row.review_group = review_group
        if cause is not None and cause != row.cause:
            _check_cause(cause, home)
            changes.append(f"cause {cause}")
            row.cause = cause
        for name, value in (("owner", owner), ("proposed_change", proposed_change),
                            ("branch_action", branch_action)):
            if value is not None and value.strip() != getattr(row, name):
                setattr(row, name, value.strip())
                changes.append(f"{name} {value.strip()[:60]}")
        if due_on is not None and due_on != row.due_on:
            row.due_on = due_on
            changes.append(f"due {due_on.isoformat()}")
        if decision is not None or decision_reason is not None:
            new_decision = decision if decision is not None else row.decision
            reason = decision_reason if decision_reason is not None else row.decision_reason
            _check_decision(new_decision, reason)
            if (new_decision, reason.strip()) != (row.decision, row.decision_reason):
                row.decision, row.decision_reason = new_decision, reason.strip()
                changes.append(f"decision {new_decision}")
        if not changes and not note:
            return _item(session, row)
        action = "decide" if decision is not None else "assign" if changes else "note"
        _event(session, row, user.username, action, "; ".join(filter(None, [*changes, note])),
               before=row.status)
        return _item(session, row)


def set_status(item_id: int, status: str, *, user: User, home: Path | None = None,
               note: str = "", decision: str | None = None, decision_reason: str | None = None,
               changed_on: date | None = None, today: date | None = None) -> ImprovementItem:
    """Move an item along its lifecycle (``TRANSITIONS``). Accepting needs a decision (given
    here or before); rejecting needs a note saying why; an item decided as ``revise_sop`` is done
    only once an SOP revision is linked; ``changed_on`` (default today) is the day the change
    took effect, from which the re-measurement counts "after". Verified and not effective are
    set by the re-measurement only (:func:`record_measurement`)."""
    if status not in STATUSES:
        raise RegisterError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}",
                            code="improve.unknown_status", status=status)
    if status in MEASURED_STATUSES:
        raise RegisterError(f"{status}: set by the re-measurement of an item done, not by hand",
                            code="improve.measured_status")
    with session_for(home) as session:
        row = _require(session, item_id)
        if not can_act(user, row.review_group):
            raise RegisterError(f"{user.username}: item #{item_id} belongs to "
                                f"{row.review_group}; a {user.role} of "
                                f"{user.review_group or 'no group'} may not move it",
                                code="improve.other_group", item_id=item_id,
                                group=row.review_group)
        before = row.status
        if status not in TRANSITIONS[before]:
            allowed = ", ".join(TRANSITIONS[before]) or "nothing (by hand)"
            raise RegisterError(f"item #{item_id} is {before}: it can move to {allowed}, "
                                f"not {status}", code="improve.bad_transition",
                                item_id=item_id)
        if decision is not None or decision_reason is not None:
            new_decision = decision if decision is not None else row.decision
            reason = decision_reason if decision_reason is not None else row.decision_reason
            _check_decision(new_decision, reason)
            row.decision, row.decision_reason = new_decision, reason.strip()
        if status == "accepted" and row.decision is None:
            raise RegisterError(f"item #{item_id}: accepting needs a decision "
                                f"({', '.join(DECISIONS)})", code="improve.accept_decision",
                                item_id=item_id)
        if status == "rejected" and not note.strip():
            raise RegisterError(f"item #{item_id}: rejecting needs a note saying why",
                                code="improve.reject_note", item_id=item_id)
        if status in ("in_progress", "done") and row.decision == "no_action":
            raise RegisterError(f"item #{item_id} was decided as no action: nothing to carry out",
                                code="improve.no_action_done", item_id=item_id)
        if status == "done":
            linked = session.scalars(select(ItemLinkRow).where(
                ItemLinkRow.item_id == row.id, ItemLinkRow.kind == "sop_revision")).first()
            if row.decision == "revise_sop" and linked is None:
                raise RegisterError(f"item #{item_id} revises an SOP: link the revision "
                                    "(SOP id and version) before closing it as done",
                                    code="improve.link_revision", item_id=item_id)
            row.changed_on = changed_on or today or date.today()
            row.measurement, row.measured_at = None, None
        row.status = status
        _event(session, row, user.username, "status", note.strip(), before=before)
        return _item(session, row)


def add_link(item_id: int, kind: str, ref: str, *, user: User, home: Path | None = None,
             known_versions: Mapping[str, Sequence[str]] | None = None) -> ImprovementItem:
    """Link what the decision produced: an SOP revision (``ref`` "SOP-P18@3.0", checked against
    ``known_versions`` {SOP id: versions} when given), a paper or a spot check (their ids). The
    item's group (or operations) links anything; a trainer links papers and spot checks."""
    if kind not in LINK_KINDS:
        raise RegisterError(f"unknown link {kind!r}; expected one of {', '.join(LINK_KINDS)}",
                            code="improve.unknown_link", kind=kind)
    ref = ref.strip()
    if kind == "sop_revision":
        if not _SOP_REF.fullmatch(ref):
            raise RegisterError(f"SOP revision {ref!r}: expected SOP-ID@VERSION, e.g. SOP-P18@3.0",
                                code="improve.revision_ref", ref=ref)
        sop_id, version = ref.split("@", 1)
        if known_versions is not None and version not in known_versions.get(sop_id, ()):
            raise RegisterError(f"{sop_id} has no version {version} in the SOP library",
                                code="improve.no_version", sop_id=sop_id, version=version)
    elif not ref.isdigit():
        raise RegisterError(f"{kind} {ref!r}: expected its number", code="improve.link_number",
                            ref=ref)
    with session_for(home) as session:
        row = _require(session, item_id)
        trainer_link = user.role == "trainer" and kind in ("paper", "spot_check")
        if not (can_act(user, row.review_group) or trainer_link):
            raise RegisterError(f"{user.username}: a {user.role} may not link to item "
                                f"#{item_id} of {row.review_group}", code="improve.may_not_link",
                                item_id=item_id)
        session.add(ItemLinkRow(item_id=row.id, kind=kind, ref=ref, added_by=user.username,
                                at=utc_now()))
        _event(session, row, user.username, "link", f"{kind} {ref}", before=row.status)
        return _item(session, row)


def _note(figures: Mapping[str, Any]) -> str:
    """The history note of a measurement or a regression: its line in each language as a JSON
    object (:meth:`~procmine.improve.items.ItemEvent.note_in` reads it in one)."""
    text = figures.get("text", "")
    if isinstance(text, Mapping):
        return json.dumps({str(k): str(v)[:500] for k, v in text.items()}, ensure_ascii=False)
    return str(text)[:500]


def record_measurement(item_id: int, measurement: Mapping[str, Any], verdict: str | None, *,
                       home: Path | None = None) -> ImprovementItem:
    """Keep a re-measurement of a done item; ``verdict`` "verified" or "not_effective" moves it
    there, None (not enough data after the change yet) leaves it done."""
    if verdict not in (None, *MEASURED_STATUSES):
        raise RegisterError(f"unknown verdict {verdict!r}", code="improve.unknown_verdict",
                            verdict=verdict)
    with session_for(home) as session:
        row = _require(session, item_id)
        if row.status != "done":
            raise RegisterError(f"item #{item_id} is {row.status}, not done: nothing to measure",
                                code="improve.measure_not_done", item_id=item_id)
        row.measurement = json.dumps(dict(measurement), ensure_ascii=False, default=str)
        row.measured_at = utc_now()
        before = row.status
        if verdict is not None:
            row.status = verdict
        _event(session, row, SYSTEM_USER, "measure", _note(measurement), before=before)
        return _item(session, row)


def record_regression(item_id: int, figures: Mapping[str, Any], *,
                      home: Path | None = None) -> ImprovementItem:
    """Flag a verified item whose finding came back, with the figures it came back with."""
    with session_for(home) as session:
        row = _require(session, item_id)
        if row.status != "verified":
            raise RegisterError(f"item #{item_id} is {row.status}: only a verified item regresses",
                                code="improve.regress_not_verified", item_id=item_id)
        row.regression = json.dumps(dict(figures), ensure_ascii=False, default=str)
        row.regression_at = utc_now()
        _event(session, row, SYSTEM_USER, "regression", _note(figures), before=row.status)
        return _item(session, row)
