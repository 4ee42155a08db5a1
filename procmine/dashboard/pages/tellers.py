"""Tellers (operations; a branch manager for their branch's tellers): one teller's speed index
over the months and steps against the bank.

``?teller=0301`` in the address opens that teller; otherwise the page opens on the teller who
lost the most hours against the standard times in the period chosen (actual less standard
hours, :func:`procmine.teller_summary`; a teller sees themself). A branch manager's picker
lists only their branch's tellers, and an address naming another branch's teller is refused
here, on the server (:func:`procmine.require_teller`), before anything of the teller is read.
"""

from __future__ import annotations

import streamlit as st

from procmine import (
    AccessDenied,
    Filters,
    branch_scope,
    require_teller,
    teller_error_rates,
    visible_branches,
    visible_tellers,
)
from procmine.dashboard import data, session
from procmine.dashboard.components import charts, columns, filters, period, tables
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr


def _most_hours_lost(allowed: list[str], chosen: Filters) -> str:
    """The teller (of ``allowed``) who lost the most hours against the standard times under
    ``chosen``; the first allowed one when none has enough transactions."""
    summary = data.tellers(chosen)
    summary = summary[summary["teller_id"].isin(allowed)]
    if summary.empty:
        return allowed[0]
    lost = summary.assign(hours_lost=summary["actual_hours"] - summary["standard_hours"])
    return str(lost.sort_values(["hours_lost", "teller_id"],
                                ascending=[False, True])["teller_id"].iloc[0])


user = session.guard(__file__)
st.title(tr("tellers.title"))
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()
scope = branch_scope(user)
known = data.teller_branches()
asked = st.query_params.get("teller")
if asked:
    try:
        require_teller(user, asked, known.get(asked))
    except AccessDenied:
        st.error(tr("scope.teller_refused", teller=plain(asked), branch=plain(scope)))
        st.stop()
allowed = visible_tellers(user, known)
if not allowed:
    st.info(tr("scope.no_tellers", branch=plain(scope)))
    st.stop()
if asked and asked not in known:
    st.warning(tr("tellers.unknown", teller=plain(asked)))
elif asked and asked != st.session_state.get("tellers_asked"):
    st.session_state["tellers_pick"] = asked   # a new address: open its teller
st.session_state["tellers_asked"] = asked
chosen = filters.show("tellers_filters", tellers=False,
                      branches=visible_branches(user, data.options()["branch_id"]))
period.show_caption(period.current())
if st.session_state.get("tellers_pick") not in allowed:
    st.session_state["tellers_pick"] = _most_hours_lost(allowed, chosen)
teller = st.selectbox(tr("filters.teller"), allowed, key="tellers_pick",
                      placeholder=tr("widgets.no_options"))
if teller != asked:
    st.query_params["teller"] = teller       # the address names the teller shown
    st.session_state["tellers_asked"] = teller
profile = data.profile(teller, chosen)
months = profile["months"]
if not months.empty:
    st.subheader(tr("tellers.speed_over_months"))
    st.plotly_chart(charts.speed_over_months(months, {
        "speed": tr("my_figures.speed_index"), "standard": tr("overview.standard_time")}),
        width="stretch")
st.subheader(tr("tellers.steps_vs_bank"))
steps = profile["steps"]
above = steps[steps["minutes_above_bank"] > 0].head(10)
if not above.empty:
    st.caption(tr("tellers.above_caption"))
    st.plotly_chart(charts.minutes_above_bank(above, {
        "minutes": tr("tellers.minutes_above_bank")}), width="stretch")
columns.table(steps, ["business_type", "activity", "count", "median_seconds",
                      "bank_median_seconds", "vs_bank", "minutes_above_bank"])

# the teller's error rates, raw beside corrected: errors are few, so a month says little
# about a teller and the corrected rate alone would hide how little (the latest six months)
rates = teller_error_rates([data.league(m) for m in data.months()[:6]], teller)
if not rates.empty:
    st.subheader(tr("errors.teller_title"))
    st.caption(tr("errors.teller_caption"))
    percent = {name: st.column_config.NumberColumn(tr(f"errors.{name}"), format="%.2f%%")
               for name in ("error_rate", "error_rate_shrunk", "bank_error_rate", "own_share")}
    shown = rates.assign(**{name: rates[name] * 100 for name in percent})
    tables.show(shown, {
        "month": tr("errors.month"), "transactions": tr("errors.transactions"),
        "errors": tr("errors.errors"), **percent,
        "error_prior_strength": st.column_config.NumberColumn(tr("errors.prior_weight"),
                                                              format="%.0f")})
