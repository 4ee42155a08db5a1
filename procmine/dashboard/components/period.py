"""The one period control: a month of the data (the latest by default) or the whole period.

Every page with period figures draws it with :func:`choose` and names what it shows with
:func:`caption`. The choice lives in the session under :data:`SHARED` (not a widget key, so
that it outlives the page it was made on): the month chosen on one page is the month the next
page opens on. A page that needs one month (the league) takes the latest when the whole period
is chosen (``whole=False``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from procmine import Filters
from procmine.dashboard import data
from procmine.dashboard.session import tr

__all__ = ["SHARED", "WHOLE", "caption", "choose", "current", "filters", "label", "show_caption"]

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
    picked = place.selectbox(tr("filters.period"), options, key=_WIDGET, on_change=_keep,
                             format_func=label)
    return None if picked == WHOLE else str(picked)


def filters(month: str | None, **kwargs: Any) -> Filters:
    """The :class:`procmine.Filters` of ``month`` (None: no date bound) with ``kwargs``."""
    return Filters.for_month(month, **kwargs) if month else Filters(**kwargs)


def caption(month: str | None) -> str:
    """The line a page puts under its title: which period its figures cover."""
    return tr("period.caption", period=label(month))


def current() -> str | None:
    """The month the control shows in this run (after :func:`choose`); None: the whole period."""
    picked = st.session_state.get(_WIDGET)
    return None if picked in (None, WHOLE) else str(picked)


def show_caption(month: str | None) -> None:
    """The caption under the page's title: the period its figures cover."""
    st.caption(caption(month))
