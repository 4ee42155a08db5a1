"""Business types (operations, reviewers): each type's steps against their reference time.

The page opens on the type that lost the most counter hours against its standard in the period
chosen (:func:`procmine.business_type_summary`'s ``hours_lost``); its own type picker is the
only one (the sidebar's filters leave the type to it)."""

from __future__ import annotations

import streamlit as st

from procmine.dashboard import data, session
from procmine.dashboard.components import charts, columns, filters, period
from procmine.dashboard.session import lang, tr

session.guard(__file__)
st.title(tr("types.title"))
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()
chosen = filters.show("types_filters", types=False)
period.show_caption(period.current())
baseline = data.baseline()
codes = data.options()["business_type"]
volumes = data.business_types(chosen)
volumes = volumes[volumes["business_type"].isin(codes)]
if st.session_state.get("types_code") not in codes and not volumes.empty:
    # the type that cost the most hours in the period (the first code on a tie)
    st.session_state["types_code"] = str(volumes.sort_values(
        ["hours_lost", "business_type"], ascending=[False, True])["business_type"].iloc[0])
code = st.selectbox(
    tr("filters.business_type"), codes, key="types_code",
    format_func=lambda c: f"{c} {baseline[c].name(lang()) if c in baseline else ''}",
    placeholder=tr("widgets.no_options")
)
steps = data.steps_of_type(code, chosen)
if steps.empty:
    st.warning(tr("overview.no_data_for_filters"))
    st.stop()
if code in baseline:
    st.caption(tr("types.caption", standard=f"{baseline[code].standard_seconds:.0f}"))
st.plotly_chart(charts.steps_vs_reference(steps, {
    "reference": tr("bottlenecks.reference"), "actual": tr("overview.actual_median"),
    "seconds": tr("units.seconds", value="")}), width="stretch")
columns.table(steps, ["activity", "count", "median_seconds", "p90_seconds", "share",
                      "reference_seconds", "ratio"])
