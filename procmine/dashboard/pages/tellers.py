"""Tellers (operations): one teller's speed index over the months and steps against the bank."""

from __future__ import annotations

import streamlit as st

from procmine.dashboard import data, session
from procmine.dashboard.components import charts, columns, filters
from procmine.dashboard.session import tr

session.guard(__file__)
st.title(tr("tellers.title"))
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()
chosen = filters.show("tellers_filters", tellers=False)
teller = st.selectbox(tr("filters.teller"), data.options()["teller_id"], key="tellers_pick")
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
