"""Self-service diversion (operations; a branch manager for their branch): the small cash business
and other self-service-capable types done at the counters, the counter time they take by branch
and hour, the waiting moving a share of them to machines would save (the queueing model of the
staffing page), and the monthly trend a branch that starts diverting shows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from procmine import CASH_TYPES, DIVERSION_THRESHOLD, SELF_SERVICE_TYPES
from procmine.dashboard import data, session
from procmine.dashboard.components import columns, queue_charts, queue_filters
from procmine.dashboard.session import lang, tr

user = session.guard(__file__)
st.title(tr("diversion.title"))
st.caption(tr("diversion.caption"))
choice = queue_filters.show("diversion", user, goal=False)
baseline = data.baseline()


def _type_name(code: str) -> str:
    return f"{code} {baseline[code].name(lang())}" if code in baseline else code


cells = st.columns(2)
threshold = cells[0].number_input(tr("diversion.threshold"), 100.0, 1_000_000.0,
                                  float(DIVERSION_THRESHOLD), 1000.0, key="div_threshold")
share = cells[1].slider(tr("diversion.share"), 0, 100, 50, 5, key="div_share")
codes = [b.code for b in baseline]
cells = st.columns(2)
cash = cells[0].multiselect(tr("diversion.cash_types"), codes, default=list(CASH_TYPES),
                            format_func=_type_name, key="div_cash",
                            placeholder=tr("widgets.choose"))
other = cells[1].multiselect(tr("diversion.other_types"), codes,
                             default=list(SELF_SERVICE_TYPES), format_func=_type_name,
                             key="div_other", placeholder=tr("widgets.choose"))
if not cash and not other:
    st.warning(tr("diversion.no_types"))
    st.stop()
report = data.diversion(choice.filters, float(threshold), tuple(cash), tuple(other),
                        share / 100)
if report.message:
    st.warning(report.message)

figures = st.columns(3)
figures[0].metric(tr("diversion.qualifying"), f"{report.qualifying:,}",
                delta=tr("diversion.qualifying_share",
                         share=f"{report.qualifying / report.served:.1%}")
                if report.served else None, delta_color="off", delta_arrow="off")
figures[1].metric(tr("diversion.counter_hours"),
                tr("diversion.hours", value=f"{report.counter_seconds / 3600:,.1f}"))
figures[2].metric(tr("diversion.minutes_saved"),
                tr("diversion.customer_hours", value=f"{report.customer_minutes_saved / 60:,.1f}"))
if report.overloaded_intervals:
    st.caption(tr("diversion.overloaded", n=report.overloaded_intervals))

st.subheader(tr("diversion.by_branch_hour"))
if not report.by_branch_hour.empty:
    st.plotly_chart(queue_charts.branch_hour_heatmap(
        report.by_branch_hour, "qualifying",
        {"value": tr("diversion.count"), "hour": tr("diversion.hour")}),
        width="stretch", key="div_heatmap")
st.subheader(tr("diversion.by_type"))
by_type = report.by_type.assign(
    name=[_type_name(c) for c in report.by_type["business_type"]],
    counter_hours=report.by_type["counter_seconds"] / 3600)
columns.table(by_type, ["name", "served", "qualifying", "counter_hours", "mean_service_seconds"])

saved = report.wait_saved
labels = {"now": tr("diversion.now"), "after": tr("diversion.after", share=share),
          "wait": tr("queue.wait_axis"), "time": tr("queue.time_of_day"),
          "minutes": tr("diversion.customer_minutes"), "share": tr("diversion.share_axis")}
if choice.filters.branch is not None and saved["wait_saved_seconds"].notna().any():
    st.subheader(tr("diversion.wait_saved"))
    days = sorted({pd.Timestamp(d).date() for d in saved["day"]})
    # the day of the interval where diverting saves the most opens first
    most = int(saved["wait_saved_seconds"].fillna(-1.0).to_numpy().argmax())
    best = pd.Timestamp(saved["day"].iloc[most]).date()
    day = st.selectbox(tr("diversion.day"), days, index=days.index(best), key="div_day",
                       placeholder=tr("widgets.no_options"))
    one_day = saved[pd.to_datetime(saved["day"]).dt.date == day]
    st.plotly_chart(queue_charts.wait_saved(one_day, labels), width="stretch", key="div_day_chart")
st.subheader(tr("diversion.monthly"))
st.plotly_chart(queue_charts.monthly_saving(report.monthly_saving, labels), width="stretch",
                key="div_monthly")
st.subheader(tr("diversion.trend"))
st.caption(tr("diversion.trend_caption"))
st.plotly_chart(queue_charts.trend(report.trend, labels), width="stretch", key="div_trend")
