"""Plotly figures for the pages (figures only: data comes in as frames).

Every figure goes through :func:`fit` last: its legend above the plot area (or at its right),
never over an axis's labels, and tick labels (long Chinese step names) given the margin they
need.

Plotly draws a label's ``<a href>``, ``<span style>``, ``<b>`` and the like as markup; a label
made of data (a teller or branch id, an activity) goes through :func:`_text` first, so that it
reads as written (Plotly shows ``&lt;`` as ``<``); an activity is named in the user's language
first (:func:`_steps`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

from procmine.dashboard.components.names import step_labels

__all__ = [
    "LEGEND_ABOVE", "actual_vs_standard", "breakdown", "by_month", "distribution", "fit",
    "league_speed",
    "minutes_above_bank", "reasons_bar", "revision_medians", "speed_over_months",
    "steps_vs_reference",
]


#: A legend above the plot area, left-aligned, growing upward into the top margin.
LEGEND_ABOVE = {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"}
#: A legend at the right of the plot area, top-aligned (for many entries).
LEGEND_RIGHT = {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"}


def fit(figure: go.Figure, *, legend: str = "above", lift: float = 0.0) -> go.Figure:
    """``figure`` laid out so that nothing covers an axis: its legend ``"above"`` the plot
    area (``lift``: higher still, in plot heights, above a line's label) or at its ``"right"``,
    the top margin kept for it, and every axis's tick labels and title given the room they
    need (``automargin``). Its other settings stay as they are.

    Example:
        >>> figure = fit(go.Figure(go.Bar(x=["点钞", "录入交易"], y=[1, 2], name="中位数")))
        >>> figure.layout.legend.orientation, figure.layout.legend.yanchor, figure.layout.legend.y
        ('h', 'bottom', 1.02)
        >>> figure.layout.xaxis.automargin, figure.layout.yaxis.automargin
        (True, True)
    """
    if figure.layout.showlegend is not False:
        place: dict[str, object] = dict(LEGEND_RIGHT if legend == "right" else LEGEND_ABOVE)
        if legend != "right":
            place["y"] = round(1.02 + lift, 3)
        top = figure.layout.margin.t
        figure.update_layout(legend=place,
                             margin_t=max(int(top) if top is not None else 0, 30))
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)
    return figure


def _text(values: Iterable[object]) -> list[str]:
    """Data values as Plotly labels that show their text, markup included."""
    return [html.escape(str(v), quote=False) for v in values]


def _steps(values: Iterable[object]) -> list[str]:
    """Activities as Plotly labels: their names in the user's language (:mod:`.names`)."""
    return _text(step_labels(values))


def actual_vs_standard(frame: pd.DataFrame, labels: dict[str, str], top: int = 20) -> go.Figure:
    """Median counter time against the standard, per business type, most time lost on top.

    ``frame`` has business_type, name, median_seconds, standard_seconds, hours_lost.
    """
    rows = frame.head(top).iloc[::-1]
    figure = go.Figure()
    names = _text(rows["name"])
    figure.add_bar(y=names, x=rows["standard_seconds"], orientation="h",
                   name=labels["standard"], marker_color="#9aa5b1")
    figure.add_bar(y=names, x=rows["median_seconds"], orientation="h",
                   name=labels["actual"], marker_color="#b22222",
                   customdata=rows[["hours_lost"]].to_numpy(),
                   hovertemplate="%{y}: %{x:.0f} s<br>" + labels["lost"]
                   + " %{customdata[0]:.1f} h<extra></extra>")
    figure.update_layout(barmode="group", height=max(320, 26 * len(rows) + 80),
                         xaxis_title=labels["seconds"],
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure)


def reasons_bar(reasons: dict[str, int], labels: dict[str, str]) -> go.Figure:
    """Quarantined rows by reason."""
    items = sorted(reasons.items(), key=lambda kv: kv[1])
    figure = go.Figure(go.Bar(
        y=[labels.get(k, k) for k, _ in items], x=[v for _, v in items], orientation="h",
        marker_color="#d97706",
    ))
    figure.update_layout(height=max(200, 30 * len(items) + 60),
                         margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fit(figure)


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
    return fit(figure)


def breakdown(rows: list[dict[str, object]], labels: dict[str, str]) -> go.Figure:
    """Group vs bank median by a breakdown value (hour, amount band, window)."""
    values = _text(r["value"] for r in rows)
    figure = go.Figure()
    figure.add_bar(x=values, y=[r.get("group_median_seconds") for r in rows],
                   name=labels["group"], marker_color="#b22222")
    figure.add_bar(x=values, y=[r.get("bank_median_seconds") for r in rows],
                   name=labels["bank"], marker_color="#64748b")
    figure.update_layout(barmode="group", height=280, yaxis_title=labels["seconds"],
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure)


def steps_vs_reference(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """A type's steps: median against reference time (frame: activity, median_seconds,
    reference_seconds)."""
    rows = frame.iloc[::-1]
    figure = go.Figure()
    activities = _steps(rows["activity"])
    figure.add_bar(y=activities, x=rows["reference_seconds"], orientation="h",
                   name=labels["reference"], marker_color="#9aa5b1")
    figure.add_bar(y=activities, x=rows["median_seconds"], orientation="h",
                   name=labels["actual"], marker_color="#b22222")
    figure.update_layout(barmode="group", height=max(300, 28 * len(rows) + 80),
                         xaxis_title=labels["seconds"],
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure)


def speed_over_months(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """A teller's speed index per month (frame: month, speed_index), 1.0 = standard."""
    figure = go.Figure(go.Scatter(x=frame["month"], y=frame["speed_index"], mode="lines+markers",
                                  marker_color="#b22222", name=labels["speed"]))
    figure.add_hline(y=1.0, line_dash="dash", annotation_text=labels["standard"])
    # months are labels (YYYY-MM), not dates: one tick each, however few there are
    figure.update_layout(height=280, yaxis_title=labels["speed"], xaxis_type="category",
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure)


def by_month(rows: list[dict[str, object]], labels: dict[str, str]) -> go.Figure:
    """A finding's step month by month: the group's median and the bank's (rows: value = the
    month YYYY-MM, group_median_seconds, bank_median_seconds)."""
    months = [str(r["value"]) for r in rows]
    figure = go.Figure()
    figure.add_scatter(x=months, y=[r.get("group_median_seconds") for r in rows],
                       mode="lines+markers", name=labels["group"], marker_color="#b22222")
    figure.add_scatter(x=months, y=[r.get("bank_median_seconds") for r in rows],
                       mode="lines+markers", name=labels["bank"], marker_color="#64748b")
    figure.update_layout(height=280, xaxis_type="category", yaxis_title=labels["seconds"],
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure)


def minutes_above_bank(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """A teller's steps with the most time beyond the bank's median pace, most on top (frame:
    business_type, activity, minutes_above_bank)."""
    rows = frame.iloc[::-1]
    figure = go.Figure(go.Bar(
        x=rows["minutes_above_bank"].tolist(),
        y=_text(f"{t} {a}" for t, a in zip(rows["business_type"], step_labels(rows["activity"]),
                                             strict=True)),
        orientation="h", marker_color="#b22222",
        hovertemplate="%{y}: %{x:.1f}<extra></extra>"))
    figure.update_layout(height=max(240, 28 * len(rows) + 80), xaxis_title=labels["minutes"],
                         margin={"l": 10, "r": 10, "t": 20, "b": 10})
    return fit(figure)


_BRANCH_COLOURS = ["#b22222", "#1f5f99", "#2e7d32", "#b8860b", "#6a1b9a", "#00838f",
                   "#5d4037", "#c2185b"]


def league_speed(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """The league as a picture: each teller's raw speed index (grey) and the ranked one
    (adjusted and shrunk toward the bank, coloured by branch), best first; a line joins the
    two, so a teller whom chance alone would have put at the top or bottom stands out (frame:
    teller_id, branch_id, transactions, speed_index, speed_index_shrunk, rank_overall)."""
    rows = frame.sort_values("rank_overall", ascending=False)
    names = _text(f"{t} ({b})" for t, b in zip(rows["teller_id"], rows["branch_id"],
                                                strict=True))
    figure = go.Figure()
    for name, raw, ranked in zip(names, rows["speed_index"], rows["speed_index_shrunk"],
                                 strict=True):
        figure.add_scatter(x=[raw, ranked], y=[name, name], mode="lines",
                           line={"color": "#cbd5e1", "width": 2}, showlegend=False,
                           hoverinfo="skip")
    figure.add_scatter(x=rows["speed_index"].tolist(), y=names, mode="markers",
                       name=labels["raw"], marker={"color": "#94a3b8", "size": 8},
                       customdata=rows["transactions"].tolist(),
                       hovertemplate="%{y}: %{x:.2f} (%{customdata} " + labels["transactions"]
                       + ")<extra></extra>")
    branches = sorted(rows["branch_id"].dropna().unique())
    for i, branch in enumerate(branches):
        part = rows[rows["branch_id"] == branch]
        figure.add_scatter(
            x=part["speed_index_shrunk"].tolist(),
            y=_text(f"{t} ({b})" for t, b in zip(part["teller_id"], part["branch_id"],
                                                 strict=True)),
            mode="markers", name=f"{labels['ranked']} · {_text([branch])[0]}",
            marker={"color": _BRANCH_COLOURS[i % len(_BRANCH_COLOURS)], "size": 10},
            hovertemplate="%{y}: %{x:.2f}<extra></extra>")
    figure.add_vline(x=1.0, line_dash="dash", annotation_text=labels["standard"])
    figure.update_layout(height=max(320, 22 * len(rows) + 120), xaxis_title=labels["speed"],
                         yaxis={"type": "category", "categoryorder": "array",
                                "categoryarray": names},
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure, legend="right")   # a key per branch; the line's label stays above


def revision_medians(frame: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Each revised step's median time before and after the revision came in force, with its
    standard time after it as a marker (frame: version, business_type, activity,
    median_before, median_after, standard_after)."""
    several = frame["version"].nunique() > 1 or frame["business_type"].nunique() > 1
    names = _text(f"{v} · {t} · {a}" if several else a for v, t, a in
                  zip(frame["version"], frame["business_type"], step_labels(frame["activity"]),
                      strict=True))
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
                         margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fit(figure)
