"""The queue pages' choices: branch, dates, target wait and the service-level goal.

``show(key=..., user=...)`` draws them across the top of the page and returns a
:class:`QueueChoice`: the :class:`procmine.QueueFilter` to read with and the goal (the share of
customers to call within the target wait). The branch picker offers the branches the user may
see (:func:`procmine.visible_branches`: a branch manager their own only); the choice is checked
again on the server (:func:`procmine.require_branch`) before any figure is read. When the store
has no queue data, or the user's branch none, or the chosen days none, the page stops with a
message saying so. The days open on the shared period's month (the latest with data unless
chosen otherwise on another page), and the caption names them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import streamlit as st

from procmine import AccessDenied, QueueFilter, User, branch_scope, require_branch, visible_branches
from procmine.dashboard import data
from procmine.dashboard.components import period
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

__all__ = ["ALL", "QueueChoice", "segment_label", "show"]

#: The picker's value for every branch (bank-wide roles only).
ALL = "*"


def segment_label(value: object) -> str:
    """A customer segment in the user's language where the catalogue knows it, else as the log
    writes it."""
    key = f"segments.{str(value).lower()}"
    label = tr(key)
    return str(value) if label == key else label


@dataclass(frozen=True)
class QueueChoice:
    """What the user chose: the filter, the service-level goal (a share) and the period."""

    filters: QueueFilter
    target_share: float
    first_day: date
    last_day: date

    @property
    def bank(self) -> QueueFilter:
        """The same days and target over every branch: the bank's aggregate to compare with."""
        return replace(self.filters, branch=None)


def _period(key: str, first: date, last: date) -> tuple[date, date]:
    """The days chosen: a range, opening on the shared period's month (:mod:`.period`)."""
    picked = st.date_input(tr("queue.period"), value=period.days(period.kept(), first, last),
                           min_value=first, max_value=last, key=f"{key}_period")
    days = [d for d in (picked if isinstance(picked, tuple | list) else (picked,))
            if isinstance(d, date)]
    start = days[0] if days else first
    end = days[1] if len(days) > 1 else last   # a range being picked: up to the last day
    return start, max(start, end)


def show(key: str, user: User, *, goal: bool = True) -> QueueChoice:
    """Draw the choices (see the module): "all branches" is offered to the bank-wide roles only;
    ``goal`` asks for the service-level goal (the share to call within the target wait)."""
    overall = data.queue(QueueFilter())
    if overall.tickets == 0 or overall.first_day is None or overall.last_day is None:
        st.info(tr("queue.empty"))
        st.stop()
    scope = branch_scope(user)
    branches = visible_branches(user, data.queue_branches())
    if not branches:
        st.info(tr("queue.no_branch_data", branch=plain(scope)))
        st.stop()
    options = [ALL, *branches] if scope is None else branches
    cols = st.columns([2, 3, 2, 2] if goal else [2, 3, 2])
    branch = cols[0].selectbox(
        tr("filters.branch"), options, key=f"{key}_branch",
        format_func=lambda b: tr("queue.all_branches") if b == ALL else b,
        placeholder=tr("widgets.no_options"))
    with cols[1]:
        start, end = _period(key, date.fromisoformat(overall.first_day),
                             date.fromisoformat(overall.last_day))
    minutes = cols[2].number_input(tr("queue.target_wait"), 1, 120, 10, 1, key=f"{key}_target")
    share = 80
    if goal:
        share = cols[3].number_input(tr("queue.target_share"), 5, 100, 80, 5, key=f"{key}_goal")
    chosen = None if branch == ALL else branch
    try:
        require_branch(user, chosen)   # on the server, whatever the picker offered
    except AccessDenied:
        st.error(tr("scope.branch_refused", branch=plain(scope)))
        st.stop()
    filters = QueueFilter(branch=chosen, start=start, end=end + timedelta(days=1),
                          target_wait=float(minutes) * 60)
    st.caption(period.range_caption(start, end, date.fromisoformat(overall.first_day),
                                    date.fromisoformat(overall.last_day)))
    if data.queue(filters).tickets == 0:
        st.info(tr("queue.no_data_in_period", start=start.isoformat(), end=end.isoformat()))
        st.stop()
    return QueueChoice(filters, float(share) / 100, start, end)
