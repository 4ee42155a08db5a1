"""Variants (operations, reviewers; a branch manager for their branch): the step sequences one
business type's transactions follow, most frequent first, with their cases, shares and dwell
times; the sequence the governing SOP prescribes is marked, and a Pareto chart shows how few
variants cover most transactions.

A branch manager's variants are their branch's (the pickers offer it alone and check it on the
server). Step names stay as the log has them.
"""

from __future__ import annotations

import streamlit as st

from procmine.dashboard import data, data_maps, session
from procmine.dashboard.components import map_chart, map_filters, tables
from procmine.dashboard.components.names import step_labels
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr

user = session.guard(__file__)
st.title(tr("variants.title"))
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()
choice = map_filters.show("variants", user)
if choice is None:
    st.info(tr("overview.no_data_for_filters"))
    st.stop()
top = int(st.columns([1, 3])[0].number_input(tr("variants.top"), min_value=1, max_value=500,
                                             value=data_maps.VARIANTS_TOP, step=1,
                                             key="variants_top"))
table = data_maps.variants_of(choice.business_type, choice.filters, top)
if table.cases == 0:
    st.info(tr("overview.no_data_for_filters"))
    st.stop()
frame = table.frame
covered = float(frame["cumulative_share"].iloc[-1])
reached = frame.index[frame["cumulative_share"] >= 0.8 - 1e-9]
cells = st.columns(4)
cells[0].metric(tr("overview.transactions"), f"{table.cases:,}")
cells[1].metric(tr("variants.count_metric"), f"{table.variant_count:,}")
cells[2].metric(tr("variants.coverage_metric", n=len(frame)), f"{covered:.1%}")
cells[3].metric(tr("variants.eighty_metric"),
                str(int(frame.loc[reached[0], "rank"])) if len(reached)
                else tr("variants.more_than", n=len(frame)))
if table.sop is None:
    st.caption(tr("variants.no_sop"))
elif table.prescribed_rank is None:
    st.caption(tr("variants.prescribed_none", sop=plain(table.sop)))
else:
    st.caption(tr("variants.prescribed_at", sop=plain(table.sop), rank=table.prescribed_rank,
                  cases=f"{table.prescribed_cases:,}",
                  share=f"{table.prescribed_cases / table.cases:.1%}"))
if table.prescribed is not None:
    with st.expander(tr("variants.prescribed_steps", sop=plain(table.sop))):
        st.write(plain(" → ".join(step_labels(table.prescribed))))

st.subheader(tr("variants.pareto"))
st.plotly_chart(map_chart.pareto_chart(table.pareto(), {
    "share": tr("variants.col.share"), "cumulative": tr("variants.col.cumulative_share"),
    "variant": tr("variants.variant"), "eighty": tr("variants.eighty")}),
    width="stretch", key="variants_pareto")

st.subheader(tr("variants.table"))
mark = tr("variants.prescribed_mark")
rows = frame.assign(mark=[mark if p else "" for p in frame["prescribed"]],
                    steps=[" → ".join(step_labels(a)) for a in frame["activities"]])
names = ["rank", "mark", "cases", "share", "cumulative_share", "median_dwell_seconds",
         "p90_dwell_seconds", "length", "steps"]
formats = {"rank": "%d", "cases": "%d", "share": "percent", "cumulative_share": "percent",
           "median_dwell_seconds": "%.0f", "p90_dwell_seconds": "%.0f", "length": "%d"}
tables.show(rows[names], {
    name: st.column_config.NumberColumn(tr(f"variants.col.{name}"), format=formats[name])
    if name in formats else tr(f"variants.col.{name}") for name in names}, keys=["rank"],
    extra=["cumulative_share", "p90_dwell_seconds"], extra_key="variants_all_columns")
