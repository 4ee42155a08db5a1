"""Pieces the improvement register's pages share: the labels of statuses, decisions, causes and
review groups in the user's language, the status badge, the register's table (overdue rows in
red), the link to one item's page, and the form that opens an item on a finding or a queue
shortfall (:func:`open_item_form`, also behind the "act on this" buttons of other pages).

The library decides who may do what (:func:`procmine.can_open_item`,
:func:`procmine.can_act_on_item`) and refuses the rest with a
:class:`procmine.RegisterError`; the pieces here only offer what the user may choose and show a
refusal as an error, never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from procmine import (
    DEFAULT_LANGUAGE,
    IMPROVEMENT_DECISIONS,
    REVIEW_GROUPS,
    ImprovementItem,
    ProcmineError,
    Subject,
    User,
    can_open,
    can_open_item,
    improvement_causes,
    list_users,
    open_improvement,
    t,
)
from procmine.dashboard import session
from procmine.dashboard.components import tables
from procmine.dashboard.components.charts import fit
from procmine.dashboard.components.text import plain
from procmine.dashboard.registry import page_for
from procmine.dashboard.session import lang, tr

__all__ = [
    "FLASH",
    "ITEM_PAGE",
    "MOVES",
    "OPEN_STATUSES",
    "REGISTER_PAGE",
    "can_open_page",
    "cause_label",
    "decision_label",
    "effect_chart",
    "flash",
    "group_label",
    "item_frame",
    "lang_key",
    "open_item_form",
    "overdue_days",
    "owners",
    "page_path",
    "show_flash",
    "show_item_table",
    "status_badge",
    "status_label",
]

_PAGES = Path(__file__).resolve().parents[1] / "pages"
#: The item page's script (``st.switch_page`` / ``st.page_link`` with ``?item=<id>``).
ITEM_PAGE = str(_PAGES / "improvement_item.py")
REGISTER_PAGE = str(_PAGES / "improvements.py")
#: A message shown once on the next page drawn (:func:`flash`, :func:`show_flash`).
FLASH = "improve_flash"
#: Default due day of a new item, days from today.
DUE_DAYS = 30
#: The statuses of an item still to be dealt with (as procmine.improve.items has them).
OPEN_STATUSES = ("proposed", "accepted", "in_progress")
#: The moves a person makes from each status (the library checks them again).
MOVES: dict[str, tuple[str, ...]] = {
    "proposed": ("accepted", "rejected"), "accepted": ("in_progress", "rejected"),
    "in_progress": ("done",), "not_effective": ("in_progress",), "rejected": ("proposed",)}
_Colour = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray", "primary"]
_BADGE_COLOURS: dict[str, _Colour] = {"proposed": "blue", "accepted": "violet", "rejected": "gray",
                  "in_progress": "orange", "done": "primary", "verified": "green",
                  "not_effective": "red"}


def lang_key(key: str) -> str:
    """A widget's key in this run's language: a select box whose options are named in the
    language keeps, after a switch, the name it had (the browser sends it back), so each
    language gets a widget of its own (the default language keeps the plain key)."""
    return key if lang() == DEFAULT_LANGUAGE else f"{key}.{lang()}"


def status_label(status: str, language: str | None = None) -> str:
    """A status in ``language`` (the session's by default). The labels take the language as
    an argument: a select box's labels are named in the run's language, bound when drawn."""
    return t(f"improve.status.{status}", language or lang())


def decision_label(decision: str | None, language: str | None = None) -> str:
    return t(f"improve.decision.{decision}", language or lang()) if decision else ""


def group_label(group: str, language: str | None = None) -> str:
    key = f"review_groups.{group}"
    label = t(key, language or lang())
    return group if label == key else label


def cause_label(code: str, causes: Sequence[tuple[str, str, str]] | None = None,
                language: str | None = None) -> str:
    """A cause by its name in the user's language: a built-in one from the catalogue, one the
    bank added from its own names (``causes``: :func:`procmine.improvement_causes`)."""
    for known, zh, en in causes or improvement_causes():
        if known == code:
            return zh if (language or lang()) == "zh-CN" else en
    return code


def can_open_page(user: User, script: str) -> bool:
    """Whether ``user``'s role may open the page ``script`` (e.g. ``sop_history.py``)."""
    return can_open(user.role, page_for(script).roles)


def status_badge(item: ImprovementItem) -> None:
    """The item's status as a coloured badge."""
    st.badge(status_label(item.status), color=_BADGE_COLOURS.get(item.status, "gray"))


def overdue_days(item: ImprovementItem, today: date) -> int:
    """Days past the due day of an open item (0 when not overdue)."""
    if not item.overdue(today) or item.due_on is None:
        return 0
    return (today - item.due_on).days


def flash(kind: str, message: str) -> None:
    """Keep a message (``kind``: success, info, warning, error) for the next page drawn."""
    st.session_state[FLASH] = (kind, message)


def show_flash() -> None:
    """Show the message kept by :func:`flash`, once."""
    kept = st.session_state.pop(FLASH, None)
    if kept is not None:
        getattr(st, kept[0])(kept[1])


# -- the register's table --------------------------------------------------------------------------

#: The register's columns, the summary last (the long one: it wraps when the page is narrow).
_COLUMNS = ("id", "status", "decision", "group", "owner", "due", "overdue", "hours", "summary")


def item_frame(items: Sequence[ImprovementItem], today: date) -> pd.DataFrame:
    """One row per item, labelled in the user's language (column names ``improve.col.*``)."""
    rows = [{
        "id": item.id,
        "status": status_label(item.status),
        "group": group_label(item.review_group),
        "owner": item.owner,
        "due": item.due_on,
        "overdue": (tr("improve.page.overdue_days", days=overdue_days(item, today))
                    if item.overdue(today) else ""),
        "hours": round(item.subject.hours_per_month, 1),
        "summary": item.subject.summary_in(lang()),
        "decision": decision_label(item.decision),
    } for item in items]
    frame = pd.DataFrame(rows, columns=list(_COLUMNS))
    return frame.rename(columns={c: tr(f"improve.col.{c}") for c in _COLUMNS})


def show_item_table(items: Sequence[ImprovementItem], today: date) -> None:
    """The register's table, widths set to fit the page; an overdue row in red."""
    frame = item_frame(items, today)
    overdue_col = tr("improve.col.overdue")

    def red(row: pd.Series) -> list[str]:
        colour = "color: #c92a2a; font-weight: 600" if row[overdue_col] else ""
        return [colour] * len(row)

    config = {tr("improve.col.hours"): st.column_config.NumberColumn(format="%.1f"),
              tr("improve.col.due"): st.column_config.DateColumn(format="YYYY-MM-DD")}
    tables.show(frame.style.apply(red, axis=1), config, keys=[tr("improve.col.id")],
                key="improve_table")


# -- opening an item ---------------------------------------------------------------------------


def page_path(script: str) -> str:
    """The path of a page's script, for ``st.page_link`` and ``st.switch_page``."""
    return str(_PAGES / script)


def owners(group: str) -> list[str]:
    """The user names of a review group (the owner's suggestions)."""
    return [u.username for u in list_users()
            if u.review_group == group and not u.disabled and u.role == "reviewer"]


def _groups(user: User, subject: Subject) -> list[str]:
    return [g for g in REVIEW_GROUPS if can_open_item(user, g, subject.branch_id)]


def open_item_form(subject: Subject, *, default_group: str | None, key: str,
                   user: User | None = None, switch: bool = True,
                   expanded: bool = False) -> ImprovementItem | None:
    """A form, in an expander, that opens an improvement item on ``subject`` as the signed-in
    user (or ``user``): the review group (``default_group`` first; a reviewer: their own only),
    the cause (the bank's own too), the proposed change, the owner (free text, the group's
    reviewers suggested), the due day (today + 30), a decision (optional) and its reason, what
    the branch did itself. On success it switches to the item's page (``?item=<id>``; with
    ``switch=False`` it stays and returns the item); a refusal shows as an error and returns
    None. Not inside another expander (Streamlit does not nest them)."""
    user = user or session.current_user()
    if user is None:
        return None
    groups = _groups(user, subject)
    if not groups:
        st.caption(tr("improve.form.not_allowed"))
        return None
    causes = improvement_causes()
    today = date.today()
    language = lang()
    with st.expander(tr("improve.form.open"), expanded=expanded, icon=":material/add_task:"):
        group = st.selectbox(tr("improve.form.group"), groups,
                             format_func=functools.partial(group_label, language=language),
                             index=groups.index(default_group) if default_group in groups
                             else 0, key=lang_key(f"{key}_group"),
                             placeholder=tr("widgets.no_options"))
        with st.form(f"{key}_form"):
            left, right = st.columns(2)
            cause = left.selectbox(tr("improve.form.cause"), [c for c, _, _ in causes],
                                   format_func=lambda c: cause_label(c, causes, language),
                                   key=lang_key(f"{key}_cause"),
                                   placeholder=tr("widgets.no_options"))
            owner = right.selectbox(tr("improve.form.owner"), owners(group), index=None,
                                    accept_new_options=True, key=f"{key}_owner_{group}",
                                    placeholder=tr("improve.form.owner_placeholder"))
            change = st.text_area(tr("improve.form.proposed_change"), key=f"{key}_change",
                                  height=80)
            left, right = st.columns(2)
            due = left.date_input(tr("improve.form.due"), value=today + timedelta(DUE_DAYS),
                                  min_value=today, key=f"{key}_due")
            decision = right.selectbox(tr("improve.form.decision"),
                                       [None, *IMPROVEMENT_DECISIONS],
                                       key=lang_key(f"{key}_decision"),
                                       format_func=lambda d: decision_label(d, language) if d
                                       else t("improve.form.decision_none", language),
                                       placeholder=tr("widgets.no_options"))
            reason = st.text_input(tr("improve.form.reason"), key=f"{key}_reason")
            branch_action = st.text_input(tr("improve.form.branch_action"),
                                          key=f"{key}_branch_action")
            submitted = st.form_submit_button(tr("improve.form.submit"), type="primary")
    if not submitted:
        return None
    try:
        item = open_improvement(
            subject, user=user, cause=str(cause), review_group=str(group),
            proposed_change=change or "", owner=str(owner or ""),
            due_on=due if isinstance(due, date) else None, decision=decision,
            decision_reason=reason or "", branch_action=branch_action or "")
    except ProcmineError as exc:
        st.error(tr("common.error", message=plain(session.error(exc))))
        return None
    flash("success", tr("improve.form.opened", id=item.id))
    if switch:
        st.switch_page(ITEM_PAGE, query_params={"item": str(item.id)})
    return item


# -- before and after ------------------------------------------------------------------------------


def effect_chart(measurement: dict[str, Any], reference: float | None,
                 labels: dict[str, str]) -> go.Figure:
    """The measure's median before and after the change as two bars (their n above them), with
    the ``reference`` (the finding's reference time; 1.0 for a ratio) as a dashed line when
    there is one. ``labels``: "reference" (the line's name) and "axis"."""
    before, after = measurement.get("before") or {}, measurement.get("after") or {}
    counts = [before.get("n") or 0, after.get("n") or 0]
    figure = go.Figure(go.Bar(
        x=[tr("improve.chart.before"), tr("improve.chart.after")],
        y=[before.get("median"), after.get("median")], marker_color=["#9aa5b1", "#1c7ed6"],
        text=[f"n={n}" for n in counts], textposition="inside", insidetextanchor="end",
        hovertemplate="%{x}: %{y:.3g}<extra></extra>"))
    heights = [v for v in (before.get("median"), after.get("median"), reference)
               if isinstance(v, int | float)]
    if reference is not None and reference > 0:
        figure.add_hline(y=reference, line_dash="dash", line_color="#b22222",
                         annotation_text=labels["reference"], annotation_position="top right")
    figure.update_layout(height=340, yaxis_title=labels["axis"], showlegend=False,
                         yaxis_range=[0, 1.25 * max(heights)] if heights else None,
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure)
