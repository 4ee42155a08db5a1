"""Teller x business type (operations, a branch manager for their branch, a teller for their
own row): each teller's median counter time on each business type as a heat map coloured by its
ratio to the standard time, too-few cells grey, with an Excel download (one sheet per branch).

The scope is applied here, on the server, before anything is read: a branch manager's branch
picker offers their branch alone and :func:`procmine.require_branch` refuses any other; a
teller's cells are read with their own teller id only.
"""

from __future__ import annotations

import streamlit as st

from procmine import MIN_MATRIX_CASES, branch_scope, require_branch, visible_branches
from procmine.dashboard import data, session
from procmine.dashboard.components import period
from procmine.dashboard.components.matrix_chart import teller_type_heatmap
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

user = session.guard(__file__)
st.title(tr("matrix.title"))
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()
teller = None
if user.role == "teller":   # their own row, wherever they worked (their id is the scope)
    if not user.teller_id:
        st.info(tr("my_figures.no_teller_id"))
        st.stop()
    teller = user.teller_id
    st.caption(tr("matrix.own_row"))
every = tr("filters.all")
left, middle, right = st.columns(3)
branch: str | None = None
if teller is None:
    scope = branch_scope(user)
    branches = visible_branches(user, data.options()["branch_id"])
    if not branches:
        st.info(tr("scope.no_tellers", branch=plain(scope)))
        st.stop()
    offered = branches if scope is not None else [every, *branches]
    picked = left.selectbox(tr("matrix.branch"), offered, key="matrix_branch", format_func=plain,
                            placeholder=tr("widgets.no_options"))
    branch = require_branch(user, None if picked == every else picked)
month = period.choose(middle)
period.show_caption(month)
min_cases = int(right.number_input(tr("matrix.min_cases"), min_value=1, step=1,
                                   value=MIN_MATRIX_CASES, key="matrix_min_cases"))
cells = data.matrix(branch, month, teller, min_cases)
if cells.empty:
    st.info(tr("matrix.empty"))
    st.stop()
st.caption(tr("matrix.caption", min=min_cases))
baseline = data.baseline()
labels = {key: tr(f"matrix.{key}") for key in
          ("teller", "median", "cases", "standard", "ratio", "too_few")}
labels["type"] = tr("matrix.business_type")
st.plotly_chart(teller_type_heatmap(
    cells, labels, lambda c: baseline[c].name(lang()) if c in baseline else "",
    baseline.codes),
    width="stretch")
# the workbook is made when the button is pressed (Streamlit calls the function then), not on
# every run of the page: writing it took most of the page's time
shown_lang = lang()
st.download_button(tr("matrix.download_excel"),
                   lambda: data.matrix_export(branch, month, teller, min_cases, shown_lang),
                   file_name=f"matrix-{month or 'all'}.xlsx", key="matrix_xlsx", on_click="ignore",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
