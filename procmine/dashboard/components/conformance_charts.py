"""The Conformance page's charts: the deviations ranked by occurrences (a bar per deviation,
coloured by its kind, its time cost in the hover) and the fitness (or conformance rate) of each
teller, branch or business type, lowest first, against the bank's line.

Both take plain frames and the labels already translated, so they draw the same in either
language; each trace carries a ``meta`` name (a kind; ``"fitness"``) that the tests read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from procmine.dashboard.components.charts import fit

__all__ = ["KIND_COLOURS", "fitness_chart", "ranked_chart"]

#: A colour per deviation kind (a skipped step red: a control risk may be among them).
KIND_COLOURS: Mapping[str, str] = {"skipped": "#b22222", "extra": "#e69f00",
                                   "rework": "#1f5f99", "order": "#7b3294"}


def ranked_chart(frame: pd.DataFrame, kinds: Sequence[str], labels: Mapping[str, str]
                 ) -> go.Figure:
    """A bar per deviation, most frequent first (``frame``: ``label`` (what the bar is called:
    unique), ``kind``, ``occurrences``, ``cases``, ``share``, ``minutes`` (its events' time),
    ``sop``); one trace per kind in ``kinds`` (display names in ``labels[kind]``), its
    ``meta`` the kind. ``labels``: also ``occurrences``, ``minutes``, ``cases``, ``sop``."""
    figure = go.Figure()
    order = frame["label"].tolist()
    for kind in kinds:
        rows = frame[frame["kind"] == kind]
        if rows.empty:
            continue
        custom = list(zip(rows["cases"], rows["share"], rows["minutes"], rows["sop"],
                          strict=True))
        figure.add_bar(
            x=rows["label"].tolist(), y=rows["occurrences"].tolist(), name=labels[kind],
            meta=kind, marker_color=KIND_COLOURS.get(kind, "#64748b"), customdata=custom,
            hovertemplate=(f"%{{x}}<br>{labels['occurrences']}: %{{y:,}}<br>"
                           f"{labels['cases']}: %{{customdata[0]:,}} (%{{customdata[1]:.1%}})"
                           f"<br>{labels['minutes']}: %{{customdata[2]:,.1f}}<br>"
                           f"{labels['sop']}: %{{customdata[3]}}<extra></extra>"))
    figure.update_layout(
        height=380, barmode="stack",
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": order,
               "tickangle": -30},
        yaxis={"title": labels["occurrences"]}, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure)


def fitness_chart(frame: pd.DataFrame, measure: str, bank: float, labels: Mapping[str, str]
                  ) -> go.Figure:
    """A bar per group (``frame``: ``label``, ``cases``, ``fitness``, ``conformance_rate``),
    lowest ``measure`` first, with the bank's value as a dashed line. ``labels``: ``measure``
    (the axis), ``bank`` (the line's name), ``cases``, ``group``."""
    rows = frame.sort_values([measure, "cases"], ascending=[True, False])
    values = rows[measure].astype(float)
    low = min(float(values.min()), bank) if len(values) else bank
    figure = go.Figure()
    figure.add_bar(
        x=rows["label"].tolist(), y=values.tolist(), meta="fitness", name=labels["measure"],
        marker_color=["#b22222" if v < bank else "#1f5f99" for v in values],
        customdata=rows["cases"].tolist(),
        hovertemplate=(f"%{{x}}<br>{labels['measure']}: %{{y:.2%}}<br>{labels['cases']}: "
                       "%{customdata:,}<extra></extra>"))
    figure.add_hline(y=bank, line_dash="dash", line_color="#64748b",
                     annotation_text=f"{labels['bank']} {bank:.2%}",
                     annotation_position="top left")
    figure.update_layout(
        height=340, showlegend=False,
        xaxis={"type": "category", "title": labels["group"]},
        yaxis={"tickformat": ".1%", "range": [max(0.0, low - (1 - low) * 0.5 - 0.005), 1.0005]},
        margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure)
