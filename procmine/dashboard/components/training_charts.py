"""Plotly figures of the training pages (figures only: data comes in as frames).

Rates are shares (0..1) drawn as percent, each against its target as a dashed line; the spot-check
grid is a heatmap of states (passed, failed, due, never) with the state's name on hover.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from procmine.dashboard.components.charts import fit

__all__ = ["STATES", "STATE_COLOURS", "rates_against_targets", "spot_grid", "trend"]

#: the spot-check states, in the order of the grid's colour scale
STATES = ("never", "due", "failed", "passed")
STATE_COLOURS = {"never": "#e9ecef", "due": "#f59f00", "failed": "#c92a2a", "passed": "#2f9e44"}
_COLOURS = ("#1f5f99", "#b22222", "#2e7d32", "#b8860b")


def _text(values: Iterable[object]) -> list[str]:
    return [html.escape(str(v), quote=False) for v in values]


def rates_against_targets(frame: pd.DataFrame, by: str, rates: Mapping[str, str],
                          targets: Mapping[str, float], labels: Mapping[str, str]) -> go.Figure:
    """Grouped bars of rates per ``by`` value (a branch, a month, a paper), in percent, with a
    dashed line at each rate's target. ``rates``: column -> its label; ``targets``: column ->
    target share (0..1); ``labels["target"]`` names the lines."""
    names = _text(frame[by])
    figure = go.Figure()
    for i, (column, label) in enumerate(rates.items()):
        values = [None if pd.isna(v) else round(100 * float(v), 1) for v in frame[column]]
        figure.add_bar(x=names, y=values, name=label, marker_color=_COLOURS[i % len(_COLOURS)],
                       hovertemplate="%{x}: %{y:.1f}%<extra>" + html.escape(label)
                       + "</extra>")
    for i, (column, target) in enumerate(targets.items()):
        figure.add_hline(y=100 * target, line_dash="dash",
                         line_color=_COLOURS[list(rates).index(column) % len(_COLOURS)]
                         if column in rates else _COLOURS[i % len(_COLOURS)],
                         annotation_text=f"{labels['target']} {rates.get(column, column)} "
                                         f"{100 * target:g}%",
                         # two targets close together (100% and 98%): labels at both ends
                         annotation_position="top left" if i % 2 == 0 else "bottom right")
    figure.update_layout(barmode="group", height=340, yaxis={"range": [0, 105],
                                                             "ticksuffix": "%"},
                         xaxis_type="category",
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure)


def spot_grid(grid: pd.DataFrame, state_labels: Mapping[str, str]) -> go.Figure:
    """The teller x SOP grid of spot-check states (grid: teller_id, sop_id, state, one row per
    teller and SOP, as :func:`procmine.spot_check_grid` gives)."""
    frame = grid.pivot(index="teller_id", columns="sop_id", values="state").fillna("never")
    codes = {s: i for i, s in enumerate(STATES)}
    z = [[codes.get(str(v), 0) for v in row] for row in frame.to_numpy()]
    hover = [[state_labels.get(str(v), str(v)) for v in row] for row in frame.to_numpy()]
    n = len(STATES)
    scale = []
    for i, state in enumerate(STATES):
        scale += [[i / n, STATE_COLOURS[state]], [(i + 1) / n, STATE_COLOURS[state]]]
    figure = go.Figure(go.Heatmap(
        z=z, x=_text(frame.columns), y=_text(frame.index), text=hover, zmin=-0.5,
        zmax=n - 0.5, colorscale=scale, xgap=1, ygap=1,
        hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
        colorbar={"tickvals": list(range(n)), "ticktext": [state_labels[s] for s in STATES]}))
    figure.update_layout(height=max(320, 16 * len(frame) + 120),
                         xaxis={"type": "category", "side": "top"},
                         yaxis={"type": "category", "autorange": "reversed"},
                         margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fit(figure)


def trend(months: Sequence[str], series: Mapping[str, Sequence[float | None]],
          labels: Mapping[str, str], reference: float | None = None) -> go.Figure:
    """Lines by month (months are labels YYYY-MM), with an optional dashed reference line."""
    figure = go.Figure()
    for i, (name, values) in enumerate(series.items()):
        figure.add_scatter(x=list(months), y=list(values), mode="lines+markers", name=name,
                           marker_color=_COLOURS[i % len(_COLOURS)])
    if reference is not None:
        figure.add_hline(y=reference, line_dash="dash", annotation_text=labels["reference"])
    figure.update_layout(height=280, xaxis_type="category",
                         yaxis_title=labels.get("y", ""),
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure)
