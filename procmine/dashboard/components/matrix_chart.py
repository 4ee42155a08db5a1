"""The teller x business type heat map (figure only: the cells come from the library).

Rows are tellers (with their branch when the map holds several branches), columns the business
types that have data; a cell's colour is its median over the type's standard time on a scale
centred on 1 (green faster, yellow at standard, red slower, saturated from 2x), and hovering
gives the median, the transactions and the standard. A cell with too few transactions is drawn
grey by a trace of its own and its hover says "too few", with the count, never a median. Labels
made of data (teller, branch, type names) are escaped before plotly renders them as HTML.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from procmine import matrix_grid
from procmine.dashboard.components.charts import fit

__all__ = ["teller_type_heatmap"]

#: Faster green, standard yellow, slower red; centred on a ratio of 1.
_RATIO_SCALE = [[0.0, "#1a9850"], [0.5, "#ffffbf"], [1.0, "#d73027"]]
_TOO_FEW = "#c8c8c8"
_MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


def _escape(value: object) -> str:
    return html.escape(str(value), quote=False)


def _number(value: Any, digits: int = 0) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):,.{digits}f}"


def teller_type_heatmap(cells: pd.DataFrame, labels: dict[str, str],
                        type_name: Callable[[str], str],
                        order: Sequence[str] | None = None) -> go.Figure:
    """Tellers x types, coloured by the ratio to the standard; too-few cells grey.

    ``cells``: :func:`procmine.teller_type_matrix`'s frame; ``labels``: the words of the hover
    (teller, type, median, cases, standard, ratio, too_few); ``type_name``: a type's name in
    the page's language; ``order``: the types' order (the baseline's), alphabetical without."""
    medians, ratios = (matrix_grid(cells, "median_seconds", order),
                       matrix_grid(cells, "ratio", order))
    counts, enough = matrix_grid(cells, "cases", order), matrix_grid(cells, "enough", order)
    standards = dict(zip(cells["business_type"], cells["standard_seconds"], strict=True))
    several = cells["branch_id"].nunique(dropna=False) > 1
    rows = [_escape(f"{teller} · {branch}" if several else teller)
            for teller, branch in medians.index]
    types = [str(c) for c in medians.columns]
    names = [_escape(f"{c} {type_name(c)}".strip()) for c in types]
    hover: list[list[str]] = []
    grey: list[list[float | None]] = []
    for count_row, enough_row, median_row, ratio_row in zip(
            counts.itertuples(index=False), enough.itertuples(index=False),
            medians.itertuples(index=False), ratios.itertuples(index=False), strict=True):
        texts: list[str] = []
        flags: list[float | None] = []
        for j, code in enumerate(types):
            count, ok = count_row[j], enough_row[j]
            if pd.isna(count):
                texts.append("")
                flags.append(None)
                continue
            head = f"{names[j]}<br>{labels['cases']}: {int(count):,}"
            standard = f"{labels['standard']}: {_number(standards.get(code))}"
            if not pd.isna(ok) and bool(ok):
                texts.append(f"{head}<br>{labels['median']}: {_number(median_row[j])}<br>"
                             f"{standard}<br>{labels['ratio']}: {_number(ratio_row[j], 2)}")
                flags.append(None)
            else:
                texts.append(f"{head}<br>{labels['too_few']}<br>{standard}")
                flags.append(1.0)
        hover.append(texts)
        grey.append(flags)
    z = [[None if pd.isna(v) else float(v) for v in row] for row in ratios.to_numpy()]
    template = f"{labels['teller']}: %{{y}}<br>%{{customdata}}<extra></extra>"
    figure = go.Figure()
    figure.add_trace(go.Heatmap(
        z=grey, x=types, y=rows, customdata=hover, hovertemplate=template, showscale=False,
        colorscale=[[0.0, _TOO_FEW], [1.0, _TOO_FEW]], zmin=0, zmax=1, xgap=1, ygap=1,
        name=labels["too_few"]))
    figure.add_trace(go.Heatmap(
        z=z, x=types, y=rows, customdata=hover, hovertemplate=template,
        colorscale=_RATIO_SCALE, zmin=0.0, zmid=1.0, zmax=2.0, xgap=1, ygap=1,
        colorbar={"title": labels["ratio"]}, name=labels["ratio"]))
    figure.update_layout(
        height=140 + 24 * len(rows), margin=_MARGIN,
        xaxis={"type": "category", "title": labels["type"], "side": "top"},
        yaxis={"type": "category", "categoryorder": "array", "categoryarray": rows,
               "autorange": "reversed", "title": labels["teller"]},
        plot_bgcolor="#ffffff")
    return fit(figure)
