"""The one period control: a month of the data (the latest by default) or the whole period.

Every page with period figures draws it with :func:`choose` and names what it shows with
:func:`caption`. The choice lives in the session under :data:`SHARED` (not a widget key, so
that it outlives the page it was made on): the month chosen on one page is the month the next
page opens on. A page that needs one month (the league) takes the latest when the whole period
is chosen (``whole=False``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from procmine import Filters
from procmine.dashboard import data
from procmine.dashboard.session import tr

__all__ = ["SHARED", "WHOLE", "caption", "choose", "current", "days", "filters", "kept", "label",
           "range_caption", "show_caption"]

SHARED = "period_month"   # the month chosen ("YYYY-MM") or WHOLE, kept across pages
WHOLE = "whole"
_WIDGET = "period_pick"


def label(month: str | None) -> str:
    """``2026年10月 (最新)`` / ``October 2026 (latest)``; None: the whole period."""
    if month is None or month == WHOLE:
        return tr("period.whole")
    year, number = (int(part) for part in month.split("-"))
    name = tr("period.month", year=year, month=tr(f"period.m{number}"))
    months = data.months()
    return tr("period.latest", month=name) if months and month == months[0] else name


def _keep() -> None:
    st.session_state[SHARED] = st.session_state[_WIDGET]


def choose(where: Any = None, *, whole: bool = True) -> str | None:
    """Draw the control (in ``where``, a container; the sidebar when None) and return the
    month chosen, or None for the whole period. ``whole=False``: months only (the whole
    period, if chosen elsewhere, shows the latest month here)."""
    months = data.months()
    options = [*months, WHOLE] if whole else list(months)
    if not options:
        return None
    kept = st.session_state.get(SHARED)
    st.session_state[_WIDGET] = kept if kept in options else options[0]
    place = st.sidebar if where is None else where
    # the labels made now, in this run's language (a test reads them outside the run)
    labels = {option: label(option) for option in options}
    picked = place.selectbox(tr("filters.period"), options, key=_WIDGET, on_change=_keep,
                             format_func=labels.__getitem__,
                             placeholder=tr("widgets.no_options"))
    return None if picked == WHOLE else str(picked)


def filters(month: str | None, **kwargs: Any) -> Filters:
    """The :class:`procmine.Filters` of ``month`` (None: no date bound) with ``kwargs``."""
    return Filters.for_month(month, **kwargs) if month else Filters(**kwargs)


def caption(month: str | None) -> str:
    """The line a page puts under its title: which period its figures cover."""
    return tr("period.caption", period=label(month))


def kept() -> str | None:
    """The month chosen last on any page (the latest with data before any choice), or None for
    the whole period, without drawing the control: for a page whose period is a range of days."""
    months = data.months()
    value = st.session_state.get(SHARED)
    if value == WHOLE:
        return None
    return str(value) if value in months else (months[0] if months else None)


def days(month: str | None, first: date, last: date) -> tuple[date, date]:
    """The first and last day of ``month`` within ``first``..``last`` (the data's days); the
    whole of them for None or a month outside them."""
    if month is None:
        return first, last
    bounds = Filters.for_month(month)
    start, end = max(first, bounds.start or first), min(last, bounds.end or last)
    return (start, end) if start <= end else (first, last)


def range_caption(start: date, end: date, first: date, last: date) -> str:
    """The caption of a range of days: the month's or the whole period's name when it is one,
    else its first and last day."""
    if (start, end) == (first, last):
        return caption(None)
    for month in data.months():
        if days(month, first, last) == (start, end):
            return caption(month)
    return tr("period.caption", period=tr("overview.period_range", start=start.isoformat(),
                                          end=end.isoformat()))


def current() -> str | None:
    """The month the control shows in this run (after :func:`choose`); None: the whole period."""
    picked = st.session_state.get(_WIDGET)
    return None if picked in (None, WHOLE) else str(picked)


def show_caption(month: str | None) -> None:
    """The caption under the page's title: the period its figures cover."""
    st.caption(caption(month))
