"""My figures (teller): one's own transactions against the standard times."""

from __future__ import annotations

import streamlit as st

from procmine.dashboard import data, session
from procmine.dashboard.components import charts, filters
from procmine.dashboard.session import lang, tr

user = session.guard(__file__)
st.title(tr("my_figures.title"))
if not user.teller_id:
    st.info(tr("my_figures.no_teller_id"))
    st.stop()
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()
chosen = filters.show("my_filters", fixed_teller=user.teller_id)
summary = data.summary(chosen)
me = data.tellers(chosen, min_transactions=1)
cols = st.columns(3)
cols[0].metric(tr("overview.transactions"), f"{summary['transactions']:,}")
cols[1].metric(tr("my_figures.errors"), f"{int(me['errors'].sum()) if len(me) else 0:,}")
cols[2].metric(tr("my_figures.speed_index"),
               f"{me['speed_index'].iloc[0]:.2f}" if len(me) else "–",
               help=tr("my_figures.speed_index_help"))
if summary["transactions"] == 0:
    st.warning(tr("overview.no_data_for_filters"))
    st.stop()
baseline = data.baseline()
types = data.business_types(chosen).copy()
types["name"] = [f"{c} {baseline[c].name(lang())}" for c in types["business_type"]]
st.subheader(tr("overview.actual_vs_standard"))
st.plotly_chart(charts.actual_vs_standard(types, {
    "standard": tr("overview.standard_time"), "actual": tr("overview.actual_median"),
    "lost": tr("overview.time_lost"), "seconds": tr("units.seconds", value="")}),
    width="stretch")
