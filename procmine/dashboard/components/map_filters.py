"""What the Process map and Variants pages narrow the cases to: one business type, a month or
the whole period, a branch, a teller.

``show(key, user)`` draws the pickers in one row and returns a :class:`MapChoice` (None when the
user's scope has no transactions). The branch scope is applied here, on the server: a branch
manager is offered their own branch only (:func:`procmine.visible_branches`), the branch read
is checked again (:func:`procmine.require_branch`), and the tellers offered are the ones that
user may see in the chosen branch (:func:`procmine.visible_tellers`). The business types are
those with transactions within the other choices, each with its code and name; the default is
the one with the most transactions. The period is the shared one (:mod:`.period`). With
``every_type`` the first choice is every type together (``business_type`` ""), and it is the
default.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from procmine import (
    Filters,
    User,
    branch_scope,
    require_branch,
    require_teller,
    visible_branches,
    visible_tellers,
)
from procmine.dashboard import data
from procmine.dashboard.components import period
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

__all__ = ["MapChoice", "busiest_type", "show"]

_EVERY = ""   # the "every branch / teller / month" choice


@dataclass(frozen=True)
class MapChoice:
    """The business type ("": every type, where offered) and the cases chosen (``filters``:
    period, branch, teller)."""

    business_type: str
    filters: Filters


def _type_label(code: str) -> str:
    baseline = data.baseline()
    return f"{code} {baseline[code].name(lang())}" if code in baseline else code


def busiest_type(volumes: pd.DataFrame) -> str | None:
    """The business type with the most transactions in ``volumes`` (``data.business_types``;
    the smallest code among ties), which the map pages open on; None when there is none."""
    volumes = volumes[volumes["transactions"] > 0]
    if volumes.empty:
        return None
    return str(volumes.sort_values(["transactions", "business_type"],
                                   ascending=[False, True])["business_type"].iloc[0])


def show(key: str, user: User, *, every_type: bool = False) -> MapChoice | None:
    """Draw the pickers (widget keys start with ``key``); None when nothing is left to map.
    ``every_type``: offer every type together first (the default then)."""
    type_cell, period_cell, branch_cell, teller_cell = st.columns([2, 1, 1, 1])
    every = tr("filters.all")
    month = period.choose(period_cell)
    period.show_caption(month)
    scope = branch_scope(user)
    branches = visible_branches(user, data.options()["branch_id"])
    if scope is not None and not branches:
        return None
    offered = branches if scope is not None else [_EVERY, *branches]
    picked = branch_cell.selectbox(tr("filters.branch"), offered, key=f"{key}_branch",
                                   format_func=lambda b: every if b == _EVERY else plain(b),
                                   placeholder=tr("widgets.no_options"))
    branch = require_branch(user, picked or None)
    known = data.teller_branches()
    tellers = [t for t in visible_tellers(user, known) if branch is None or known[t] == branch]
    teller = teller_cell.selectbox(tr("filters.teller"), [_EVERY, *tellers],
                                   key=f"{key}_teller",
                                   format_func=lambda t: every if t == _EVERY else plain(t),
                                   placeholder=tr("widgets.no_options"))
    if teller:
        require_teller(user, teller, known.get(teller))
    filters = period.filters(month, branches=(branch,) if branch else (),
                             tellers=(teller,) if teller else ())
    volumes = data.business_types(filters)
    busiest = busiest_type(volumes)
    if busiest is None:
        return None
    codes = sorted(str(c) for c in volumes.loc[volumes["transactions"] > 0, "business_type"])
    if every_type:
        codes, busiest = [_EVERY, *codes], _EVERY
    if st.session_state.get(f"{key}_type") not in codes:
        st.session_state[f"{key}_type"] = busiest
    code = type_cell.selectbox(tr("filters.business_type"), codes, key=f"{key}_type",
                               format_func=lambda c: every if c == _EVERY else _type_label(c),
                               placeholder=tr("widgets.no_options"))
    return MapChoice(business_type=str(code), filters=filters)
