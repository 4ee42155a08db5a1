"""Overview (operations): what to act on this month (the latest month's top findings without an
improvement item, the overdue items, the regressions), the store, counter time per business type
against the baseline, the slowest business types and tellers this month, and data quality."""

from __future__ import annotations

from datetime import date

import streamlit as st

from procmine import QUARANTINE_REASONS, TICKET_REASONS, ProcmineError
from procmine.dashboard import data, session
from procmine.dashboard.components import (
    charts,
    columns,
    filters,
    improve_marks,
    period,
    tables,
)
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

user = session.guard(__file__)
st.title(tr("overview.title"))

info = data.store_info()
if info["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()

today = date.today()
with st.container(border=True):
    try:   # the register up to the data first (once per ingest): done items measured, regressions
        data.refreshed_register()
    except ProcmineError as exc:
        st.caption(tr("improve.page.refresh_failed", message=plain(session.error(exc))))
    month, agenda = data.month_agenda(user, today)
    improve_marks.show_agenda(agenda, month=month, today=today)

chosen = filters.show("filters")
period.show_caption(period.current())
summary = data.summary(chosen)
st.subheader(tr("overview.store_summary"))
cols = st.columns(5)
cols[0].metric(tr("overview.transactions"), f"{summary['transactions']:,}")
cols[1].metric(tr("overview.events"), f"{summary['events']:,}")
cols[2].metric(tr("overview.tellers"), f"{summary['tellers']:,}")
cols[3].metric(tr("overview.branches"), f"{summary['branches']:,}")
cols[4].metric(tr("overview.business_types"), f"{summary['business_types']:,}")
if summary["transactions"] == 0:
    st.warning(tr("overview.no_data_for_filters"))
    st.stop()
st.caption(tr("overview.period") + ": " + tr(
    "overview.period_range", start=str(summary["first"])[:16], end=str(summary["last"])[:16]))

baseline = data.baseline()
types = data.business_types(chosen).copy()
types["name"] = [f"{c} {baseline[c].name(lang())}" for c in types["business_type"]]
st.subheader(tr("overview.actual_vs_standard"))
st.caption(tr("overview.time_lost_help"))
st.plotly_chart(charts.actual_vs_standard(types, {
    "standard": tr("overview.standard_time"), "actual": tr("overview.actual_median"),
    "lost": tr("overview.time_lost"), "seconds": tr("units.seconds", value="")}),
    width="stretch")

shown_period = period.label(period.current())
left, right = st.columns(2)
with left:
    st.subheader(tr("overview.slowest_business_types", n=5) + " · " + shown_period)
    slow = data.business_types(chosen)
    slow = slow[slow["transactions"] >= 10].sort_values("ratio", ascending=False).head(5)
    # half the page: three short columns (the type's code before its name), read at a glance
    columns.table(slow.assign(name=[f"{c} {baseline[c].name(lang())}"
                                    for c in slow["business_type"]]),
                  ["name", "ratio", "hours_lost"], room=tables.HALF)
with right:
    st.subheader(tr("overview.slowest_tellers", n=5) + " · " + shown_period)
    columns.table(data.tellers(chosen).head(5),
                  ["teller_id", "branch_id", "transactions", "errors", "speed_index"],
                  room=tables.HALF)

st.subheader(tr("quality.title"))
reasons = data.quarantine_summary()
if reasons:
    labels = {r: tr(f"quality.reason.{r}")
              for r in [*QUARANTINE_REASONS, *TICKET_REASONS, "malformed_line"]}
    st.plotly_chart(charts.reasons_bar(reasons, labels), width="stretch")
else:
    st.success(tr("quality.no_quarantine"))
