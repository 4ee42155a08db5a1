"""The filters every page shares: period, branch, business type, teller.

``show(key=...)`` draws them in the sidebar and returns a
:class:`procmine.Filters`;
the widget values live in the session under ``key`` so they follow the user across pages.
"""

from __future__ import annotations

import streamlit as st

from procmine import Filters
from procmine.dashboard import data
from procmine.dashboard.components import period as period_control
from procmine.dashboard.session import lang, tr

__all__ = ["show"]


def show(key: str = "filters", *, tellers: bool = True, fixed_teller: str | None = None,
         branches: list[str] | None = None, types: bool = True) -> Filters:
    """Draw the shared filters; ``fixed_teller`` pins the teller (a teller sees only self),
    ``branches`` the branches offered (a branch manager's own; None: every branch). Only what
    is offered narrows: a page that must stay in a branch scopes its data itself. The period
    is the shared one (:mod:`.period`: the latest month unless chosen otherwise); ``types``
    False leaves the business type to the page's own picker (one picker per notion)."""
    options = data.options()
    offered = options["branch_id"] if branches is None else branches
    baseline = data.baseline()
    with st.sidebar:
        st.subheader(tr("filters.title"))
        month = period_control.choose()
        chosen_branches = st.multiselect(tr("filters.branch"), offered,
                                         key=f"{key}_branches", placeholder=tr("filters.all"))
        chosen_types: list[str] = []
        if types:
            chosen_types = st.multiselect(
                tr("filters.business_type"), options["business_type"], key=f"{key}_types",
                placeholder=tr("filters.all"),
                format_func=lambda c: f"{c} {baseline[c].name(lang()) if c in baseline else ''}",
            )
        chosen_tellers: list[str] = []
        if tellers and fixed_teller is None:
            chosen_tellers = st.multiselect(tr("filters.teller"), options["teller_id"],
                                            key=f"{key}_tellers", placeholder=tr("filters.all"))
    return period_control.filters(
        month, branches=tuple(chosen_branches), business_types=tuple(chosen_types),
        tellers=(fixed_teller,) if fixed_teller else tuple(chosen_tellers),
    )
