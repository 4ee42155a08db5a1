"""Staffing (operations; a branch manager for their branch): the counters each 15-minute interval
needs to meet the service-level goal against the counters open, as a weekday x interval heat map
(shortfall red, surplus blue), the suggested flexible shifts, the model and its assumptions, and a
what-if: the waits of one interval at a chosen number of counters. A shortfall can be acted on:
an improvement item opened on it, with the branch's queue figures frozen as its evidence."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pandas as pd
import streamlit as st

from procmine import ShiftSuggestion, what_if
from procmine.dashboard import data, session
from procmine.dashboard.components import improve_marks, queue_charts, queue_filters, tables
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr


def _queue_figures(shift: ShiftSuggestion) -> dict[str, Any]:
    """The branch's observed queue over the period chosen: the evidence beside a shortfall."""
    summary = data.queue(dataclasses.replace(filters, branch=shift.branch_id))
    return {"service_level": summary.service_level,
            "mean_wait_seconds": summary.mean_wait_seconds_served,
            "median_wait_seconds": summary.median_wait_seconds_served,
            "p90_wait_seconds": summary.p90_wait_seconds_served,
            "abandonment_rate": summary.abandonment_rate, "tickets": summary.tickets,
            "target_wait_seconds": filters.target_wait, "target_share": choice.target_share,
            "first_day": summary.first_day, "last_day": summary.last_day}


def _shift_text(s: ShiftSuggestion) -> str:
    return tr(f"staffing.shift.{s.reason}", branch=s.branch_id, weekday=weekdays[s.weekday],
              start=s.start, end=s.end, counters=s.counters)


user = session.guard(__file__)
st.title(tr("staffing.title"))
choice = queue_filters.show("staffing", user)
filters = choice.filters
plan = data.staffing(filters, choice.target_share)
minutes = f"{filters.target_wait / 60:g}"
models = ", ".join(f"{plain(b)} {'Erlang A' if m == 'erlang_a' else 'Erlang C'}"
                   for b, m in zip(plan.branches["branch_id"], plan.branches["model"],
                                   strict=True))
st.caption(tr("staffing.model", minutes=minutes, share=f"{choice.target_share * 100:g}",
              models=models))
with st.expander(tr("staffing.assumptions")):
    st.markdown("\n".join(f"- {tr(key)}" for key in plan.assumptions))

gaps = plan.intervals["gap"]
totals = st.columns(2)
totals[0].metric(tr("staffing.shortfall_hours"), tr(
    "staffing.counter_hours", value=f"{-gaps.clip(upper=0).sum() / 4:,.1f}"))
totals[1].metric(tr("staffing.surplus_hours"), tr(
    "staffing.counter_hours", value=f"{gaps.clip(lower=0).sum() / 4:,.1f}"))

weekdays = {d: tr(f"staffing.weekday.{d}") for d in range(1, 8)}
st.subheader(tr("staffing.heatmap"))
st.caption(tr("staffing.heatmap_caption",
              scope="" if filters.branch else tr("staffing.heatmap_all")))
heat = plan.heatmap(filters.branch)
if not heat.empty:
    st.plotly_chart(queue_charts.gap_heatmap(heat, weekdays, {
        "gap": tr("staffing.gap"), "time": tr("queue.time_of_day")}), width="stretch",
        key="staffing_heatmap")

st.subheader(tr("staffing.shifts"))
if plan.shifts:
    tables.show(pd.DataFrame([{tr("staffing.action"): _shift_text(s)} for s in plan.shifts]))
    improve_marks.shortfall_control(
        plan.shifts, user=user, describe=_shift_text, figures=_queue_figures,
        as_of=choice.last_day, store_version=data.store().version(),
        items=data.improvement_items(user))
else:
    st.info(tr("staffing.no_shifts"))

st.subheader(tr("staffing.what_if"))
rows = plan.intervals
cells = st.columns(4)
branch = cells[0].selectbox(tr("filters.branch"), sorted(rows["branch_id"].unique()),
                            key="wi_branch", placeholder=tr("widgets.no_options"))
mine = rows[rows["branch_id"] == branch]
weekday = cells[1].selectbox(tr("staffing.weekday"), sorted(mine["weekday"].unique()),
                             format_func=lambda d: weekdays[int(d)], key="wi_weekday",
                             placeholder=tr("widgets.no_options"))
day = mine[mine["weekday"] == weekday]
# the interval where the counters fall shortest is the one worth asking about first
worst = int(day.loc[day["gap"].idxmin(), "interval_of_day"])
times = sorted(int(m) for m in day["interval_of_day"])
interval = cells[2].selectbox(tr("staffing.interval"), times, index=times.index(worst),
                              format_func=queue_charts.clock, key="wi_interval",
                              placeholder=tr("widgets.no_options"))
row = day[day["interval_of_day"] == interval].iloc[0]
required = int(row["required"])
counters = int(cells[3].number_input(tr("staffing.counters"), 0, 60,
                                     max(round(float(row["open_counters"])), 0), 1,
                                     key="wi_counters"))
st.caption(tr("staffing.observed", arrivals=f"{row['arrivals_per_hour']:.1f}",
              service=f"{row['mean_service_seconds'] / 60:.1f}",
              open=f"{row['open_counters']:.1f}", required=required,
              model="Erlang A" if row["model"] == "erlang_a" else "Erlang C"))
waits = what_if(plan, branch, int(weekday), interval, counters)
if not waits.stable:
    st.warning(tr("staffing.unstable"))
figures = st.columns(5)
figures[0].metric(tr("staffing.mean_wait"), "—" if not math.isfinite(waits.mean_wait_seconds)
                else tr("queue.minutes", value=f"{waits.mean_wait_seconds / 60:.1f}"))
figures[1].metric(tr("staffing.service_level"), f"{waits.service_level:.1%}")
figures[2].metric(tr("staffing.prob_wait"), f"{waits.prob_wait:.1%}")
figures[3].metric(tr("staffing.occupancy"), f"{waits.occupancy:.1%}")
figures[4].metric(tr("staffing.abandon"), f"{waits.abandon_share:.1%}")
span = range(max(1, min(counters, required) - 2), max(counters, required) + 3)
curve = [{"counters": n, **{k: getattr(what_if(plan, branch, int(weekday), interval, n), k)
                            for k in ("mean_wait_seconds", "service_level")}} for n in span]
st.markdown(f"**{tr('staffing.curve')}**")
st.plotly_chart(queue_charts.what_if_curve(curve, counters, {
    "wait": tr("queue.wait_axis"), "service_level": tr("staffing.service_level"),
    "counters": tr("staffing.counters"), "endless": tr("staffing.endless")}), width="stretch",
    key="staffing_curve")
