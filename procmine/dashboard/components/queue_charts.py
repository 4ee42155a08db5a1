"""Plotly figures of the queue pages (figures only: the frames come from the library).

Times of day are the 15-minute intervals' starts (``interval_of_day``, minutes after midnight),
drawn as ``HH:MM`` categories in order. Waits are shown in minutes, shares in percent. The
staffing gap is drawn red where counters fall short and blue where they are spare, white at
zero. A label made of data (a branch id, a segment) goes through :func:`_text` first (see
:mod:`procmine.dashboard.components.charts`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go

from procmine.dashboard.components.charts import fit

__all__ = [
    "arrivals_and_waits", "branch_hour_heatmap", "clock", "gap_heatmap", "monthly_saving",
    "service_level",
    "trend", "wait_saved", "waits_by_window", "what_if_curve",
]

_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
_ARRIVALS = "#9aa5b1"
_WAIT = "#b22222"
_GOOD = "#2e7d32"
_SHORT = "#c62828"
_LINE = "#1f5f99"
#: Shortfall red, spare blue, white at zero (a diverging scale centred by ``zmid=0``).
_GAP_SCALE = [[0.0, "#b71c1c"], [0.5, "#ffffff"], [1.0, "#0d47a1"]]
_BRANCH_COLOURS = ["#b22222", "#1f5f99", "#2e7d32", "#b8860b", "#6a1b9a", "#00838f",
                   "#5d4037", "#c2185b"]


def _text(values: Iterable[object]) -> list[str]:
    return [html.escape(str(v), quote=False) for v in values]


def clock(minutes: object) -> str:
    """Minutes after midnight as ``HH:MM``.

    Example:
        >>> clock(570), clock(75.0)
        ('09:30', '01:15')
    """
    value = int(float(str(minutes)))
    return f"{value // 60:02d}:{value % 60:02d}"


def _minutes(values: pd.Series) -> list[float | None]:
    """Seconds as minutes; unknown or infinite (an overloaded interval) as a gap."""
    return [None if pd.isna(v) or not math.isfinite(float(v)) else float(v) / 60 for v in values]


def _percent(values: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) * 100 for v in values]


def arrivals_and_waits(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Arrivals per interval of the day (bars) and the mean wait of the served (line, minutes,
    right axis). ``frame``: interval_of_day, arrivals, mean_wait_seconds."""
    x = [clock(m) for m in frame["interval_of_day"]]
    figure = go.Figure()
    figure.add_bar(x=x, y=frame["arrivals"].tolist(), name=labels["arrivals"],
                   marker_color=_ARRIVALS)
    figure.add_scatter(x=x, y=_minutes(frame["mean_wait_seconds"]), name=labels["wait"],
                       mode="lines+markers", marker_color=_WAIT, yaxis="y2")
    figure.update_layout(
        height=340, xaxis={"type": "category", "title": labels["time"]},
        yaxis={"title": labels["arrivals"]},
        yaxis2={"title": labels["wait"], "overlaying": "y", "side": "right", "rangemode": "tozero",
                "showgrid": False},
        margin=_MARGIN)
    return fit(figure)


def service_level(frame: pd.DataFrame, target_share: float, labels: dict[str, str]) -> go.Figure:
    """Service level per interval (bars, red below the target share) and abandonment (line),
    both in percent, with the target as a dashed line. ``frame``: interval_of_day,
    service_level, abandonment_rate."""
    x = [clock(m) for m in frame["interval_of_day"]]
    levels = _percent(frame["service_level"])
    colours = [_SHORT if v is not None and v < target_share * 100 else _GOOD for v in levels]
    figure = go.Figure()
    figure.add_bar(x=x, y=levels, name=labels["service_level"], marker_color=colours)
    figure.add_scatter(x=x, y=_percent(frame["abandonment_rate"]), name=labels["abandonment"],
                       mode="lines+markers", marker_color=_LINE)
    figure.add_hline(y=target_share * 100, line_dash="dash", annotation_text=labels["target"])
    figure.update_layout(height=320, xaxis={"type": "category", "title": labels["time"]},
                         yaxis={"title": "%", "range": [0, 105], "dtick": 20},
                         margin=_MARGIN)
    return fit(figure)


def waits_by_window(frame: pd.DataFrame, window_label: dict[str, str],
                    labels: dict[str, str]) -> go.Figure:
    """Mean wait (minutes) by window type, one bar per segment. ``frame``: window_type,
    segment, mean_wait_seconds."""
    figure = go.Figure()
    for i, segment in enumerate(sorted(frame["segment"].dropna().unique())):
        part = frame[frame["segment"] == segment]
        figure.add_bar(x=_text(window_label.get(str(w), str(w)) for w in part["window_type"]),
                       y=_minutes(part["mean_wait_seconds"]), name=_text([segment])[0],
                       marker_color=_BRANCH_COLOURS[i % len(_BRANCH_COLOURS)])
    figure.update_layout(barmode="group", height=300, yaxis_title=labels["wait"],
                         margin=_MARGIN)
    return fit(figure)


def gap_heatmap(frame: pd.DataFrame, weekdays: dict[int, str],
                labels: dict[str, str]) -> go.Figure:
    """Counters open minus counters needed, weekday (rows) x interval of the day (columns):
    shortfall red, spare blue. ``frame``: index weekday (1..7), columns interval_of_day."""
    z = [[None if pd.isna(v) else float(v) for v in row] for row in frame.to_numpy()]
    finite = [abs(v) for row in z for v in row if v is not None and math.isfinite(v)]
    reach = max(finite, default=1.0) or 1.0
    days = [weekdays.get(int(d), str(d)) for d in frame.index]
    figure = go.Figure(go.Heatmap(
        z=z, x=[clock(m) for m in frame.columns], y=days,
        colorscale=_GAP_SCALE, zmid=0, zmin=-reach, zmax=reach,
        colorbar={"title": labels["gap"]},
        hovertemplate="%{y} %{x}: %{z:+.1f}<extra></extra>"))
    figure.update_layout(height=120 + 34 * len(frame.index),
                         xaxis={"type": "category", "title": labels["time"]},
                         yaxis={"type": "category", "categoryorder": "array",
                                "categoryarray": days, "autorange": "reversed"},
                         margin=_MARGIN)
    return fit(figure)


def what_if_curve(rows: Sequence[dict[str, float]], chosen: int,
                  labels: dict[str, str]) -> go.Figure:
    """Mean wait (minutes, bars) and service level (percent, line, right axis) at each number
    of counters; the chosen number stands out, and a number too small for the arrivals (no
    steady wait: the queue keeps growing) is marked with an infinity sign. ``rows``: counters,
    mean_wait_seconds, service_level."""
    x = [str(int(r["counters"])) for r in rows]
    waits = [r["mean_wait_seconds"] / 60 if math.isfinite(r["mean_wait_seconds"]) else None
             for r in rows]
    colours = [_WAIT if int(r["counters"]) == chosen else _ARRIVALS for r in rows]
    endless = [i for i, w in enumerate(waits) if w is None]
    figure = go.Figure()
    figure.add_bar(x=x, y=waits, name=labels["wait"], marker_color=colours)
    if endless:
        figure.add_scatter(x=[x[i] for i in endless], y=[0] * len(endless), mode="text",
                           text=["∞"] * len(endless), textposition="top center",
                           textfont={"size": 18, "color": [colours[i] for i in endless]},
                           name=labels["endless"], hoverinfo="skip")
    figure.add_scatter(x=x, y=[r["service_level"] * 100 for r in rows], yaxis="y2",
                       name=labels["service_level"], mode="lines+markers", marker_color=_LINE)
    figure.update_layout(height=300, xaxis={"type": "category", "title": labels["counters"]},
                         yaxis={"title": labels["wait"], "rangemode": "tozero"},
                         yaxis2={"title": "%", "overlaying": "y", "side": "right",
                                 "range": [0, 105], "dtick": 20, "showgrid": False},
                         margin=_MARGIN)
    return fit(figure)


def branch_hour_heatmap(frame: pd.DataFrame, value: str, labels: dict[str, str]) -> go.Figure:
    """A value (e.g. qualifying tickets) by branch (rows) x hour of the day (columns).
    ``frame``: one row per branch_id x hour, with ``value``."""
    table = frame.dropna(subset=["branch_id"]).pivot(index="branch_id", columns="hour",
                                                     values=value)
    branches = _text(table.index)
    figure = go.Figure(go.Heatmap(
        z=table.to_numpy().tolist(), x=[f"{int(h):02d}:00" for h in table.columns],
        y=branches, colorscale="Oranges", colorbar={"title": labels["value"]},
        hovertemplate="%{y} %{x}: %{z:,.0f}<extra></extra>"))
    # the branches top to bottom in their order, whatever order Plotly would find them in
    figure.update_layout(height=140 + 34 * len(table.index),
                         xaxis={"type": "category", "title": labels["hour"]},
                         yaxis={"type": "category", "categoryorder": "array",
                                "categoryarray": branches, "autorange": "reversed"},
                         margin=_MARGIN)
    return fit(figure)


def wait_saved(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Mean model wait now and with the share moved, per interval of the day (minutes).
    ``frame``: interval_of_day, wait_now_seconds, wait_after_seconds."""
    x = [clock(m) for m in frame["interval_of_day"]]
    figure = go.Figure()
    figure.add_scatter(x=x, y=_minutes(frame["wait_now_seconds"]), name=labels["now"],
                       mode="lines+markers", marker_color=_WAIT)
    figure.add_scatter(x=x, y=_minutes(frame["wait_after_seconds"]), name=labels["after"],
                       mode="lines+markers", marker_color=_GOOD)
    figure.update_layout(height=300, xaxis={"type": "category", "title": labels["time"]},
                         yaxis={"title": labels["wait"], "rangemode": "tozero"},
                         margin=_MARGIN)
    return fit(figure)


def monthly_saving(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Customer minutes saved per month, one bar per branch. ``frame``: branch_id, month,
    customer_minutes_saved."""
    figure = go.Figure()
    for i, branch in enumerate(sorted(frame["branch_id"].dropna().unique())):
        part = frame[frame["branch_id"] == branch]
        figure.add_bar(x=part["month"].astype(str).tolist(),
                       y=part["customer_minutes_saved"].tolist(), name=_text([branch])[0],
                       marker_color=_BRANCH_COLOURS[i % len(_BRANCH_COLOURS)])
    figure.update_layout(barmode="group", height=300, xaxis_type="category",
                         yaxis_title=labels["minutes"], margin=_MARGIN)
    return fit(figure)


def trend(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """The qualifying share of the served, per branch and month (percent). ``frame``:
    branch_id, month, qualifying_share."""
    figure = go.Figure()
    for i, branch in enumerate(sorted(frame["branch_id"].dropna().unique())):
        part = frame[frame["branch_id"] == branch]
        figure.add_scatter(x=part["month"].astype(str).tolist(),
                           y=_percent(part["qualifying_share"]), mode="lines+markers",
                           name=_text([branch])[0],
                           marker_color=_BRANCH_COLOURS[i % len(_BRANCH_COLOURS)])
    figure.update_layout(height=300, xaxis_type="category", yaxis_title=labels["share"],
                         margin=_MARGIN)
    return fit(figure)
