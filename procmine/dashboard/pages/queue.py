"""Queue (operations; a branch manager for their branch): tickets and waits by 15-minute interval,
the service level against its goal, abandonment, waits by window type and segment, the tellers.

A branch manager picks their own branch only; the bank appears as one aggregate line beside it.
The page opens on the figures and the day's curves; the windows and segments, the VIP windows and
the tellers are sections drawn once opened (each stays open for the session).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from procmine.dashboard import data, session
from procmine.dashboard.components import columns, queue_charts, queue_filters, sections
from procmine.dashboard.components.finding_widgets import window_label
from procmine.dashboard.session import tr

user = session.guard(__file__)
st.title(tr("queue.title"))
choice = queue_filters.show("queue", user)
filters = choice.filters
summary = data.queue(filters)
minutes = f"{filters.target_wait / 60:g}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _min(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}"


st.caption(tr(f"queue.source_{summary.source}"))
cells = st.columns(6)
cells[0].metric(tr("queue.tickets"), f"{summary.tickets:,}")
cells[1].metric(tr("queue.served"), f"{summary.served + summary.transferred:,}")
cells[2].metric(tr("queue.abandonment_rate"), _pct(summary.abandonment_rate))
cells[3].metric(tr("queue.mean_wait"),
                tr("queue.minutes", value=_min(summary.mean_wait_seconds_served)))
level = summary.service_level.get("share")
cells[4].metric(tr("queue.service_level", minutes=minutes), _pct(level),
                delta=None if level is None else tr(
                    "queue.vs_goal", value=f"{(level - choice.target_share) * 100:+.1f}"))
cells[5].metric(tr("queue.mean_service"),
                tr("queue.minutes", value=_min(summary.mean_service_seconds)))
if filters.branch is not None:
    bank = data.queue(choice.bank)
    st.caption(tr("queue.bank_caption", level=_pct(bank.service_level.get("share")),
                  wait=_min(bank.mean_wait_seconds_served), abandon=_pct(bank.abandonment_rate)))

by_interval = data.queue_by(("interval_of_day",), filters)
chart_labels = {"arrivals": tr("queue.arrivals_axis"), "wait": tr("queue.wait_axis"),
                "time": tr("queue.time_of_day"), "service_level": tr("qcol.service_level"),
                "abandonment": tr("qcol.abandonment_rate"), "target": tr("queue.target_line")}
st.subheader(tr("queue.by_interval"))
st.caption(tr("queue.by_interval_caption"))
st.plotly_chart(queue_charts.arrivals_and_waits(by_interval, chart_labels), width="stretch",
                key="queue_arrivals")
st.subheader(tr("queue.service_by_interval"))
st.caption(tr("queue.service_caption", minutes=minutes, share=f"{choice.target_share * 100:g}"))
st.plotly_chart(queue_charts.service_level(by_interval, choice.target_share, chart_labels),
                width="stretch", key="queue_service_level")


def _by_window() -> None:
    by_window = data.queue_by(("window_type", "segment"), filters)
    windows = {str(w): window_label(str(w)) for w in by_window["window_type"].dropna()}
    segments = {str(s): queue_filters.segment_label(s) for s in by_window["segment"].dropna()}
    named = by_window.assign(segment=by_window["segment"].map(lambda s: segments.get(str(s), s)))
    st.plotly_chart(queue_charts.waits_by_window(named, windows, chart_labels), width="stretch",
                    key="queue_by_window")
    columns.table(named.assign(window_type=named["window_type"].map(
                      lambda w: windows.get(str(w), w))),
                  ["window_type", "segment", "arrivals", "served", "abandonment_rate",
                   "mean_wait_seconds", "p90_wait_seconds", "service_level",
                   "mean_service_seconds"],
                  extra=["p90_wait_seconds"], extra_key="queue_window_all_columns")


def _vip_windows() -> None:
    st.caption(tr("windows.caption", minutes=minutes))
    report = data.windows(filters)
    panes = st.columns(4)
    aside: dict[str, Any] = {"delta_color": "off", "delta_arrow": "off"}  # a count beside
    panes[0].metric(tr("windows.vip_served"), f"{report.vip_window_served:,}",
                    delta=f"{tr('windows.vip_nonvip')} {report.vip_window_nonvip:,}", **aside)
    panes[1].metric(tr("windows.nonvip_while_vip_waited"),
                    f"{report.vip_window_nonvip_while_vip_waited:,}", **aside,
                    delta=tr("windows.at_peaks",
                             n=report.vip_window_nonvip_while_vip_waited_at_peaks))
    panes[2].metric(tr("windows.regular_vip_while_waited"),
                    f"{report.regular_window_vip_while_regular_waited:,}", **aside,
                    delta=tr("windows.at_peaks",
                             n=report.regular_window_vip_while_regular_waited_at_peaks))
    panes[3].metric(tr("windows.nonvip_time"), _pct(report.nonvip_time_share))
    if filters.branch is None and not report.by_branch.empty:
        st.markdown(f"**{tr('windows.by_branch')}**")
        columns.table(report.by_branch, ["branch_id", "vip_window_served", "vip_window_nonvip",
                                         "nonvip_while_vip_waited", "vip_while_regular_waited",
                                         "peak_intervals", "nonvip_time_share"],
                      extra=["peak_intervals"], extra_key="queue_branch_all_columns")


def _tellers() -> None:
    columns.table(data.per_teller(filters), ["teller_id", "served", "mean_service_seconds",
                                             "occupancy", "transactions_per_teller_hour"])


# Drawn when opened: a branch manager's landing page draws its figures and the day's curves
# first (each chart and table below costs the browser 0.1-0.3 s of drawing at sign-in)
sections.lazy(tr("queue.by_window"), "queue_windows_open", _by_window)
sections.lazy(tr("queue.windows"), "queue_vip_open", _vip_windows)
sections.lazy(tr("queue.per_teller"), "queue_tellers_open", _tellers)
