"""Plotly figures for the pages (figures only: data comes in as frames)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = [
    "actual_vs_standard", "breakdown", "distribution", "reasons_bar", "revision_medians",
    "speed_over_months", "steps_vs_reference",
]


def actual_vs_standard(frame: pd.DataFrame, labels: dict[str, str], top: int = 20) -> go.Figure:
    """Median counter time against the standard, per business type, most time lost on top.

    ``frame`` has business_type, name, median_seconds, standard_seconds, hours_lost.
    """
    rows = frame.head(top).iloc[::-1]
    figure = go.Figure()
    figure.add_bar(y=rows["name"], x=rows["standard_seconds"], orientation="h",
                   name=labels["standard"], marker_color="#9aa5b1")
    figure.add_bar(y=rows["name"], x=rows["median_seconds"], orientation="h",
                   name=labels["actual"], marker_color="#b22222",
                   customdata=rows[["hours_lost"]].to_numpy(),
                   hovertemplate="%{y}: %{x:.0f} s<br>" + labels["lost"]
                   + " %{customdata[0]:.1f} h<extra></extra>")
    figure.update_layout(barmode="group", height=max(320, 26 * len(rows) + 80),
                         xaxis_title=labels["seconds"], legend_orientation="h",
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def reasons_bar(reasons: dict[str, int], labels: dict[str, str]) -> go.Figure:
    """Quarantined rows by reason."""
    items = sorted(reasons.items(), key=lambda kv: kv[1])
    figure = go.Figure(go.Bar(
        y=[labels.get(k, k) for k, _ in items], x=[v for _, v in items], orientation="h",
        marker_color="#d97706",
    ))
    figure.update_layout(height=max(200, 30 * len(items) + 60),
                         margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return figure


def distribution(frame: pd.DataFrame, labels: dict[str, str], reference: float) -> go.Figure:
    """Service times of a step: the finding's group against its branch and the bank, with the
    reference time as a line."""
    figure = go.Figure()
    colours = {"group": "#b22222", "branch": "#d97706", "bank": "#64748b"}
    for level in ("group", "branch", "bank"):
        values = frame.loc[frame["level"] == level, "service_seconds"]
        if len(values):
            figure.add_trace(go.Box(x=values, name=labels[level], marker_color=colours[level],
                                    boxpoints=False))
    figure.add_vline(x=reference, line_dash="dash", annotation_text=labels["reference"])
    figure.update_layout(height=300, xaxis_title=labels["seconds"], showlegend=False,
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def breakdown(rows: list[dict[str, object]], labels: dict[str, str]) -> go.Figure:
    """Group vs bank median by a breakdown value (hour, amount band, window)."""
    values = [str(r["value"]) for r in rows]
    figure = go.Figure()
    figure.add_bar(x=values, y=[r.get("group_median_seconds") for r in rows],
                   name=labels["group"], marker_color="#b22222")
    figure.add_bar(x=values, y=[r.get("bank_median_seconds") for r in rows],
                   name=labels["bank"], marker_color="#64748b")
    figure.update_layout(barmode="group", height=280, yaxis_title=labels["seconds"],
                         legend_orientation="h", margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def steps_vs_reference(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """A type's steps: median against reference time (frame: activity, median_seconds,
    reference_seconds)."""
    rows = frame.iloc[::-1]
    figure = go.Figure()
    figure.add_bar(y=rows["activity"], x=rows["reference_seconds"], orientation="h",
                   name=labels["reference"], marker_color="#9aa5b1")
    figure.add_bar(y=rows["activity"], x=rows["median_seconds"], orientation="h",
                   name=labels["actual"], marker_color="#b22222")
    figure.update_layout(barmode="group", height=max(300, 28 * len(rows) + 80),
                         xaxis_title=labels["seconds"], legend_orientation="h",
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def speed_over_months(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """A teller's speed index per month (frame: month, speed_index), 1.0 = standard."""
    figure = go.Figure(go.Scatter(x=frame["month"], y=frame["speed_index"], mode="lines+markers",
                                  marker_color="#b22222", name=labels["speed"]))
    figure.add_hline(y=1.0, line_dash="dash", annotation_text=labels["standard"])
    figure.update_layout(height=280, yaxis_title=labels["speed"],
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def revision_medians(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Each revised step's median time before and after the revision came in force, with its
    standard time after it as a marker (frame: version, business_type, activity,
    median_before, median_after, standard_after)."""
    several = frame["version"].nunique() > 1 or frame["business_type"].nunique() > 1
    names = [f"{v} · {t} · {a}" if several else a for v, t, a in
             zip(frame["version"], frame["business_type"], frame["activity"], strict=True)]
    figure = go.Figure()
    figure.add_bar(x=names, y=frame["median_before"], name=labels["before"],
                   marker_color="#9aa5b1")
    figure.add_bar(x=names, y=frame["median_after"], name=labels["after"],
                   marker_color="#1c7ed6")
    figure.add_scatter(x=names, y=frame["standard_after"], mode="markers",
                       name=labels["standard"], marker={"symbol": "line-ew-open", "size": 28,
                                                        "color": "#b22222"})
    figure.update_layout(barmode="group", height=420, yaxis_title=labels["seconds"],
                         xaxis={"tickangle": -35, "automargin": True},
                         legend={"orientation": "h", "y": 1.12},
                         margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return figure
