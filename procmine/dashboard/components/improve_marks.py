"""The improvement register beside the findings: each finding's mark (its open item and status,
verified, or a regression), the "act on this" control under a finding or a staffing shortfall,
and the operations overview's "what to act on this month".

The act control shows the finding's open item (a link to the item's page) when it has one, and
otherwise, to a user who may open an item on it (:func:`procmine.can_open_item` for some review
group on the finding's branch: operations, any reviewer for their group, the branch manager for
their own branch), a button that opens the register's form (:func:`improve_widgets.open_item_form`)
on the finding's frozen evidence, with the default group: the owner group of the finding's SOP,
else the review group of its business type in the baseline."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path

import streamlit as st

from procmine import (
    REVIEW_GROUPS,
    Agenda,
    Finding,
    FindingMark,
    ImprovementItem,
    ShiftSuggestion,
    Subject,
    User,
    can_open_item,
    finding_key,
    shortfall_subject,
)
from procmine.dashboard.components.improve_widgets import (
    ITEM_PAGE,
    group_label,
    open_item_form,
    overdue_days,
    status_label,
)
from procmine.dashboard.components.names import finding_summary
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

__all__ = [
    "act_control",
    "groups_for",
    "item_link",
    "mark_label",
    "marks_column",
    "shortfall_control",
    "show_agenda",
    "show_regression",
    "subject_mark",
]

BOTTLENECKS_PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "bottlenecks.py")
_FORM = "act_form_open"   # the key of the subject whose form is open


def mark_label(mark: FindingMark | None) -> str:
    """A finding's mark in the findings table: its open item and status, ⚠ a regression, ✓ a
    verified item, another item's number and status; "" without an item."""
    if mark is None:
        return ""
    if mark.regression and mark.latest_item is not None:
        return tr("act.mark_regression", id=mark.latest_item.id)
    if mark.open_item is not None:
        return tr("act.mark_open", id=mark.open_item.id,
                  status=status_label(mark.open_item.status))
    item = mark.latest_item
    if item is None:
        return ""
    if item.status == "verified":
        return tr("act.mark_verified", id=item.id)
    return tr("act.mark_open", id=item.id, status=status_label(item.status))


def groups_for(user: User, branch_id: str | None) -> list[str]:
    """The review groups ``user`` may open an item for on a subject of ``branch_id``."""
    return [g for g in REVIEW_GROUPS if can_open_item(user, g, branch_id)]


def item_link(item: ImprovementItem, label: str | None = None) -> None:
    """A link to an item's page."""
    st.page_link(ITEM_PAGE, label=label or tr("act.open_item", id=item.id,
                                              status=status_label(item.status)),
                 icon=":material/assignment_turned_in:", query_params={"item": str(item.id)})


def show_regression(mark: FindingMark | None) -> None:
    """The warning of a finding that came back after its item was verified."""
    if mark is not None and mark.regression and mark.latest_item is not None:
        st.warning(tr("act.regression", id=mark.latest_item.id), icon="⚠️")


def act_control(subject: Subject, *, user: User, group: str | None, mark: FindingMark | None,
                key: str, label: str = "act.button") -> None:
    """Under a finding (or a shortfall): its open item, linked; else the button that opens the
    register's form on ``subject`` (for a user who may open an item on it), named by the
    catalogue key ``label``."""
    if mark is not None and mark.open_item is not None:
        if st.session_state.get(_FORM) == subject.key:   # the form opened it (and moved on)
            st.session_state.pop(_FORM, None)
        item_link(mark.open_item)
        return
    if not groups_for(user, subject.branch_id):
        return
    is_open = st.session_state.get(_FORM) == subject.key
    if not is_open:
        if st.button(tr(label), key=f"{key}_button", icon=":material/add_task:"):
            st.session_state[_FORM] = subject.key
            st.rerun()
        return
    if st.button(tr("act.close_form"), key=f"{key}_close"):
        st.session_state.pop(_FORM, None)
        st.rerun()
    if open_item_form(subject, default_group=group, key=key, user=user,
                      expanded=True) is not None:
        st.session_state.pop(_FORM, None)


def subject_mark(key: str, items: Sequence[ImprovementItem]) -> FindingMark | None:
    """The mark of a subject by its key among ``items`` (a shortfall: never a regression)."""
    mine = sorted((i for i in items if i.subject.key == key), key=lambda i: i.id, reverse=True)
    if not mine:
        return None
    return FindingMark(open_item=next((i for i in mine if i.is_open), None),
                       latest_item=mine[0], regression=False)


def shortfall_control(shifts: Sequence[ShiftSuggestion], *, user: User,
                      describe: Callable[[ShiftSuggestion], str],
                      figures: Callable[[ShiftSuggestion], Mapping[str, object]],
                      as_of: date | None, store_version: str,
                      items: Sequence[ImprovementItem]) -> None:
    """"Act on this" on a staffing shortfall: pick one of the shortfalls ``user`` may open an
    item on (``describe`` names it), then its open item or the button that opens the form on
    its frozen evidence (the suggestion and the branch's queue ``figures``); no default group
    (operations chooses)."""
    mine = [s for s in shifts if s.reason == "shortfall" and groups_for(user, s.branch_id)]
    if not mine:
        st.caption(tr("act.no_shortfall"))
        return
    st.markdown(f"**{tr('act.shortfall_heading')}**")
    index = st.selectbox(tr("act.pick_shortfall"), range(len(mine)), key="act_shortfall",
                         format_func=lambda i: describe(mine[i]),
                         placeholder=tr("widgets.no_options"))
    shift = mine[min(int(index or 0), len(mine) - 1)]
    subject = shortfall_subject(shift.to_dict(), as_of=as_of, store_version=store_version,
                                figures=figures(shift))
    act_control(subject, user=user, group=None, mark=subject_mark(subject.key, items),
                key="staffing_act", label="act.button_shortfall")


def _unhandled(findings: Sequence[Finding], month: str) -> None:
    st.markdown(f"**{tr('agenda.unhandled')}**")
    if not findings:
        st.caption(tr("agenda.none"))
    for finding in findings:
        left, right = st.columns([4, 1])
        hours = tr("agenda.hours", hours=f"{finding.monthly_teller_hours:,.1f}")
        left.markdown(f"- **{hours}** · {plain(finding_summary(finding))}")
        right.page_link(BOTTLENECKS_PAGE, label=tr("agenda.act_link"),
                        icon=":material/add_task:",
                        query_params={"month": month, "finding": finding_key(finding)})


def _items(title: str, items: Sequence[ImprovementItem], line: str, today: date) -> None:
    st.markdown(f"**{tr(title)}**")
    if not items:
        st.caption(tr("agenda.none"))
    for item in items:
        item_link(item, label=tr(line, id=item.id, summary=plain(item.subject.summary_in(lang())),
                                 group=group_label(item.review_group),
                                 days=overdue_days(item, today)))


def show_agenda(agenda: Agenda | None, *, month: str | None, today: date) -> None:
    """The overview's "what to act on this month": the month's top findings without an item
    (each linked to Slow steps, where it can be acted on), the overdue items and the
    regressions (each linked to its item); an empty list says so in a word."""
    st.subheader(tr("agenda.title"))
    if agenda is None or month is None:
        st.caption(tr("agenda.no_month"))
        return
    st.caption(tr("agenda.caption", month=month, today=today.isoformat()))
    _unhandled(agenda.unhandled, month)
    _items("agenda.overdue", agenda.overdue, "agenda.overdue_line", today)
    _items("agenda.regressions", agenda.regressions, "agenda.regression_line", today)


def marks_column(findings: Sequence[Finding], marks: Mapping[str, FindingMark]) -> list[str]:
    """The findings table's "Action" column: each finding's mark, in order."""
    return [mark_label(marks.get(finding_key(f))) for f in findings]
