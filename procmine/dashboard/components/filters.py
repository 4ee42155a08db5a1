"""The filters every page shares: period, branch, business type, teller.

``show(key=...)`` draws them in the sidebar and returns a
:class:`procmine.Filters`;
the widget values live in the session under ``key`` so they follow the user across pages.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from procmine import Filters, add_months, last_day
from procmine.dashboard import data
from procmine.dashboard.session import lang, tr

__all__ = ["show"]

_PERIODS = ("this_month", "last_month", "whole_period")


def _month_bounds(first: date, months_back: int) -> tuple[date, date]:
    """The first and last day of the month ``months_back`` before ``first``'s (9999-12
    included: :func:`procmine.last_day` stops at the calendar's end)."""
    start = add_months(first.replace(day=1), -months_back)
    return start, last_day(start)


def show(key: str = "filters", *, tellers: bool = True, fixed_teller: str | None = None,
         branches: list[str] | None = None) -> Filters:
    """Draw the shared filters; ``fixed_teller`` pins the teller (a teller sees only self),
    ``branches`` the branches offered (a branch manager's own; None: every branch). Only what
    is offered narrows: a page that must stay in a branch scopes its data itself."""
    options = data.options()
    offered = options["branch_id"] if branches is None else branches
    baseline = data.baseline()
    this_month = data.this_month()
    with st.sidebar:
        st.subheader(tr("filters.title"))
        period = st.selectbox(
            tr("filters.period"), _PERIODS, key=f"{key}_period",
            format_func=lambda p: tr(f"filters.{p}"), placeholder=tr("widgets.no_options")
        )
        chosen_branches = st.multiselect(tr("filters.branch"), offered,
                                         key=f"{key}_branches", placeholder=tr("filters.all"))
        types = st.multiselect(
            tr("filters.business_type"), options["business_type"], key=f"{key}_types",
            placeholder=tr("filters.all"),
            format_func=lambda c: f"{c} {baseline[c].name(lang()) if c in baseline else ''}",
        )
        chosen_tellers: list[str] = []
        if tellers and fixed_teller is None:
            chosen_tellers = st.multiselect(tr("filters.teller"), options["teller_id"],
                                            key=f"{key}_tellers", placeholder=tr("filters.all"))
    start = end = None
    if this_month is not None and period != "whole_period":
        start, end = _month_bounds(this_month, 0 if period == "this_month" else 1)
    return Filters(
        start=start, end=end, branches=tuple(chosen_branches), business_types=tuple(types),
        tellers=(fixed_teller,) if fixed_teller else tuple(chosen_tellers),
    )
