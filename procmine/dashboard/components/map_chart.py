"""The process map and the variants' Pareto chart (figures only: the graph comes in as frames).

The map is a directly-follows graph drawn with plotly over a layered layout computed with
networkx, so nothing but Python packages is needed to see it (no Graphviz), and the browser
pans, zooms and downloads it (PNG or SVG, the modebar's camera: :func:`download_config`).

The layout, in three steps (:func:`layered_layout`):

1. *A DAG.* The edges are taken most frequent first, from a "start" node to the start
   activities and from the end activities to an "end" node, and each is kept unless it closes a
   cycle (networkx ``has_path`` from its target back to its source): what is left is the main
   flow; the dropped edges (rework, going back) are drawn as arcs against it.
2. *Layers.* ``networkx.topological_generations`` of the DAG: a step's layer is one more than
   the longest chain of steps before it, so an optional step sits between its neighbours and
   the step after it one layer further on. The end node goes last.
3. *Rows.* The main path (from the start node along the most frequent edge, to the end node)
   takes row 0, so it is drawn straight; every other step takes the free row nearest the
   count-weighted mean row of its predecessors (the barycentre heuristic), never row 0, so an
   optional step sits beside the main path and a chain of them stays on one row.

Layers run left to right (``direction="LR"``) or top to bottom (``"TB"``); "auto" (the pages'
default) goes left to right up to :data:`AUTO_LR_LAYERS` layers, where a box still holds its
label at a page's width, and top to bottom beyond. A node is a box whose
colour grows with its count (frequency overlay) or its service time (performance); an edge is a
line from box to box whose width grows with its count and whose colour is its transition time
(median or p90, on a scale from 0 to the longest shown but at least
:data:`EDGE_SCALE_SECONDS`, beside the map); an edge that skips a layer or goes back bends so it
passes beside the boxes, a self-loop (a step repeated) is a small loop beside its box. Each
edge's figure (its count or its time) is written at its middle, where hovering gives them all.

Labels made of data (activity names) are escaped before plotly renders them as HTML.

Example:
    >>> import pandas as pd
    >>> edges = pd.DataFrame({"source": ["a", "b", "b"], "target": ["b", "c", "a"],
    ...                       "count": [10, 8, 2]})
    >>> place = layered_layout(edges, {"a": 10}, {"c": 8})
    >>> [place[n] for n in ("a", "b", "c")], place[END]
    ([(1, 0), (2, 0), (3, 0)], (4, 0))
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from procmine.dashboard.components.charts import fit

__all__ = ["AUTO_LR_LAYERS", "EDGE_SCALE_SECONDS", "END", "START", "download_config",
           "layered_layout", "orientation", "pareto_chart", "process_map_figure"]

#: The start and end nodes (tuples: never equal to an activity name, which is a string).
START: tuple[str] = ("start",)
END: tuple[str] = ("end",)

_FREQ_SCALE = "Blues"
_PERF_SCALE = "Oranges"
_NO_TIME = "#9aa5b1"
_TERMINAL = "#475569"
_HALF = {"LR": (0.5, 0.3), "TB": (0.8, 0.28)}   # a box's half width and half height


def _escape(value: object) -> str:
    return html.escape(str(value), quote=False)


def _wrap(text: str, width: int) -> str:
    """``text`` broken into lines of about ``width`` characters at spaces (HTML line breaks)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(_escape(line) for line in lines) or _escape(text)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or bool(
        pd.isna(value))


# -- the layout ------------------------------------------------------------------------------------


def layered_layout(edges: pd.DataFrame, starts: Mapping[str, int], ends: Mapping[str, int],
                   activities: Iterable[str] = ()) -> dict[Any, tuple[int, int]]:
    """Each node's layer and row (0: the main path): the activities of ``edges`` (source,
    target, count) and ``activities``, and :data:`START` and :data:`END`."""
    import networkx as nx

    weighted: list[tuple[Any, Any, float]] = [(START, a, float(n)) for a, n in starts.items()]
    weighted += [(a, END, float(n)) for a, n in ends.items()]
    weighted += [(s, t, float(n)) for s, t, n in zip(edges["source"], edges["target"],
                                                     edges["count"], strict=True) if s != t]
    dag = nx.DiGraph()
    dag.add_nodes_from([START, *activities, *edges["source"], *edges["target"], END])
    for source, target, count in sorted(weighted, key=lambda e: -e[2]):
        if not nx.has_path(dag, target, source):   # kept unless it closes a cycle
            dag.add_edge(source, target, count=count)
    layer = {node: i for i, generation in enumerate(nx.topological_generations(dag))
             for node in generation}
    layer[END] = max((v for k, v in layer.items() if k != END), default=0) + 1
    row = dict.fromkeys(_main_path(dag), 0)
    taken = {(layer[n], 0) for n in row}
    for node in sorted(dag, key=lambda n: (layer[n], -dag.in_degree(n, weight="count"),
                                           str(n))):
        if node in row:
            continue
        before = [(row[p], dag.edges[p, node]["count"]) for p in dag.predecessors(node)
                  if p in row]
        total = sum(c for _, c in before)
        wish = sum(r * c for r, c in before) / total if total else 0.0
        free = (r for r in sorted(range(-len(dag), len(dag) + 1),
                                  key=lambda r: (abs(r - wish), -r))
                if r != 0 and (layer[node], r) not in taken)
        row[node] = next(free)
        taken.add((layer[node], row[node]))
    return {node: (layer[node], row[node]) for node in dag}


def _main_path(dag: Any) -> list[Any]:
    """The main path: from the start node along the most frequent edge to the end node."""
    path, node = [START], START
    while node != END and dag.out_degree(node):
        node = max(dag.successors(node), key=lambda n: (dag.edges[path[-1], n]["count"],
                                                        str(n)))
        path.append(node)
    return path


# -- the map ---------------------------------------------------------------------------------------

#: Layers left to right up to this many (start and end included), top to bottom beyond:
#: a box must stay wide enough for its label at a page's width.
AUTO_LR_LAYERS = 9


def orientation(place: Mapping[Any, tuple[int, int]], direction: str) -> str:
    """``direction`` ("LR", "TB"), or for "auto" the one that fits the map's layers."""
    if direction in ("LR", "TB"):
        return direction
    layers = max((p[0] for p in place.values()), default=0) + 1
    return "LR" if layers <= AUTO_LR_LAYERS else "TB"


def _xy(place: tuple[int, int], direction: str) -> tuple[float, float]:
    layer, row = place
    return (layer * 1.5, -float(row)) if direction == "LR" else (row * 2.0, -float(layer))


def _half(node: Any, direction: str) -> tuple[float, float]:
    """Half the width and height of a node's box (a small disc for start and end)."""
    return (0.12, 0.12) if node in (START, END) else _HALF[direction]


def _curve(a: tuple[float, float], b: tuple[float, float], bend: float,
           points: int = 24) -> np.ndarray:
    """A quadratic Bezier from ``a`` to ``b`` whose middle lies ``bend`` beside the chord."""
    start, end = np.array(a), np.array(b)
    chord = end - start
    length = float(np.hypot(*chord)) or 1.0
    normal = np.array([-chord[1], chord[0]]) / length
    control = (start + end) / 2 + 2 * bend * normal
    t = np.linspace(0, 1, points)[:, None]
    return np.asarray((1 - t) ** 2 * start + 2 * (1 - t) * t * control + t ** 2 * end)


def _outside(curve: np.ndarray, centre: tuple[float, float], half: tuple[float, float]
             ) -> np.ndarray:
    inside = ((np.abs(curve[:, 0] - centre[0]) < half[0])
              & (np.abs(curve[:, 1] - centre[1]) < half[1]))
    return np.asarray(curve[~inside])


def _loop(centre: tuple[float, float], half: tuple[float, float], direction: str
          ) -> np.ndarray:
    """A self-loop: a circle's arc from a box's side back to it (its top left to right, its
    right side top to bottom)."""
    radius = half[1] * 0.8
    angles = np.linspace(-0.3 * math.pi, 1.3 * math.pi, 30)
    if direction == "LR":
        return np.column_stack([centre[0] + radius * np.cos(angles),
                                centre[1] + half[1] + radius * 0.8 + radius * np.sin(angles)])
    return np.column_stack([centre[0] + half[0] + radius * 0.8 - radius * np.sin(angles),
                            centre[1] + radius * np.cos(angles)])


def _blocked(source: tuple[int, int], target: tuple[int, int],
             taken: set[tuple[int, int]]) -> bool:
    """Whether the straight line between two places passes a box of a layer in between."""
    span = target[0] - source[0]
    for layer in range(source[0] + 1, target[0]):
        at = source[1] + (target[1] - source[1]) * (layer - source[0]) / span
        if any((layer, r) in taken for r in (math.floor(at), math.ceil(at))
               if abs(r - at) < 0.6):
            return True
    return False


def _edge_path(source: Any, target: Any, place: Mapping[Any, tuple[int, int]],
               direction: str) -> np.ndarray:
    """The points of an edge's line, from the border of its source's box to its target's."""
    a, b = _xy(place[source], direction), _xy(place[target], direction)
    if source == target:
        return _loop(a, _half(source, direction), direction)
    span = place[target][0] - place[source][0]
    beside = _HALF[direction][1 if direction == "LR" else 0] + 0.15   # clear of the boxes
    bend = 0.0
    if span <= 0:                     # going back: an arc beside the flow
        bend = beside + 0.1 + 0.05 * (1 - span)
    elif span > 1 and _blocked(place[source], place[target], set(place.values())):
        bend = -(beside + 0.05 * span)   # around the boxes between
    curve = _outside(_curve(a, b, bend), a, _half(source, direction))
    curve = _outside(curve, b, _half(target, direction))
    return curve if len(curve) >= 2 else np.array([a, b])


#: Transition times: slate when short, amber, red when long.
_EDGE_SCALE = [[0.0, "#64748b"], [0.5, "#f59e0b"], [1.0, "#b91c1c"]]
#: The edges' colour scale runs from 0 to the longest time shown, at least this many seconds:
#: a step handed on in 2 s stays slate even where every edge takes about 2 s.
EDGE_SCALE_SECONDS = 30.0


def _top(values: pd.Series, floor: float = 0.0) -> float:
    """The largest of ``values`` (0 when none), at least ``floor``."""
    top = pd.to_numeric(values, errors="coerce").max()
    return max(float(top) if pd.notna(top) else 0.0, floor)


def _colours(values: pd.Series, scale: Any, top: float, low: float = 0.0,
             high: float = 1.0) -> list[str]:
    """A colour per value from 0 to ``top`` on the part ``low`` to ``high`` of ``scale``; grey
    when missing."""
    numbers = pd.to_numeric(values, errors="coerce").tolist()
    known = [float(v) for v in numbers if pd.notna(v)]
    shares = [low + (high - low) * (min(max(v / top, 0.0), 1.0) if top > 0 else 0.0)
              for v in known]
    sampled = iter(sample_colorscale(scale, shares) if shares else [])   # one call for all
    return [_NO_TIME if pd.isna(v) else next(sampled) for v in numbers]


def _width(count: float, most: float) -> float:
    return 1.0 + 7.0 * math.sqrt(count / most) if most > 0 else 1.0


def _duration(value: Any, duration: Callable[[float], str]) -> str:
    return "–" if _missing(value) else duration(float(value))


def process_map_figure(nodes: pd.DataFrame, edges: pd.DataFrame, starts: Mapping[str, int],
                       ends: Mapping[str, int], labels: Mapping[str, str],
                       duration: Callable[[float], str], *, overlay: str = "frequency",
                       stat: str = "median", direction: str = "auto",
                       name: Callable[[str], str] = str) -> go.Figure:
    """The map: ``nodes`` (activity, count, cases, median_seconds, p90_seconds), ``edges``
    (source, target, count, median_seconds, p90_seconds), the start and end activities with
    their cases. ``overlay`` "frequency" labels the counts, "performance" the times (``stat``:
    "median" or "p90"); the edges' colour is always their ``stat`` transition time.
    ``direction``: "LR", "TB" or "auto" (:func:`orientation`). ``labels``: start, end, count,
    cases, median, p90, service, transition, colour. The edges' figures are the trace whose
    ``meta`` is "edges" (one point per edge, in ``edges``' order), the nodes' "nodes".
    ``name``: an activity's display name (:func:`.names.namer`; default as logged)."""
    place = layered_layout(edges, starts, ends, nodes["activity"])
    direction = orientation(place, direction)
    figure = go.Figure()
    arrows = _Arrows()
    _draw_edges(figure, arrows, edges, place, labels, duration, overlay=overlay, stat=stat,
                direction=direction, name=name)
    _draw_terminals(figure, arrows, starts, ends, place, labels, direction)
    _draw_nodes(figure, nodes, place, labels, duration, overlay=overlay, stat=stat,
                direction=direction, name=name)
    arrows.draw(figure)
    if len(edges):   # the colour scale of the edges, as an invisible trace's bar
        figure.add_scatter(x=[None], y=[None], mode="markers", hoverinfo="skip",
                           showlegend=False, marker={
                               "colorscale": _EDGE_SCALE, "cmin": 0.0, "color": [0.0],
                               "cmax": _top(edges[f"{stat}_seconds"], EDGE_SCALE_SECONDS),
                               "showscale": True,
                               "colorbar": {"title": {"text": labels["colour"], "side": "right"},
                                            "thickness": 12, "len": 0.5, "y": 1,
                                            "yanchor": "top"}})
    xs = [_xy(p, direction)[0] for p in place.values()]
    ys = [_xy(p, direction)[1] for p in place.values()]
    half = _HALF[direction]
    x_range = [min(xs) - half[0] - 0.3, max(xs) + half[0] + 0.9]
    y_range = [min(ys) - half[1] - 0.4, max(ys) + half[1] + 0.8]
    across = (y_range[1] - y_range[0]) / (x_range[1] - x_range[0])
    figure.update_layout(
        height=int(min(900, max(320, 1000 * across))) if direction == "LR"
        else int(max(420, 66 * (y_range[1] - y_range[0]))),
        showlegend=False, plot_bgcolor="white", dragmode="pan", hovermode="closest",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False, "range": x_range},
        yaxis={"visible": False, "range": y_range, "scaleanchor": "x", "scaleratio": 1})
    return fit(figure)


class _Arrows:
    """Edge lines with an arrowhead at their end, drawn at once: each line an SVG path (a
    layout shape, which plotly draws without laying out or hovering a trace of its own), and
    every arrowhead a point of one trace, turned along its line's last segment. A trace per
    edge made the browser's drawing of a map grow with its edges."""

    def __init__(self) -> None:
        self.shapes: list[dict[str, Any]] = []
        self.heads: dict[str, list[Any]] = {"x": [], "y": [], "angle": [], "color": [],
                                            "size": []}

    def add(self, path: np.ndarray, colour: str, width: float, dash: str = "solid") -> None:
        self.shapes.append({
            "type": "path", "layer": "below",
            "path": "M " + " L ".join(f"{x:.4f},{y:.4f}" for x, y in path),
            "line": {"color": colour, "width": width, "dash": dash}})
        (x0, y0), (x1, y1) = path[-2], path[-1]
        heads = self.heads
        heads["x"].append(float(x1))
        heads["y"].append(float(y1))
        # degrees clockwise from up (the axes keep one scale, so data and screen agree)
        heads["angle"].append(math.degrees(math.atan2(x1 - x0, y1 - y0)))
        heads["color"].append(colour)
        heads["size"].append(7 + 2.2 * width)

    def draw(self, figure: go.Figure) -> None:
        """The lines (over the boxes, which end them) and the arrowheads, under every label."""
        figure.layout.shapes = (*figure.layout.shapes, *self.shapes)
        heads = self.heads
        figure.add_scatter(x=heads["x"], y=heads["y"], mode="markers", hoverinfo="skip",
                           showlegend=False, meta="arrowheads",
                           marker={"symbol": "arrow", "angle": heads["angle"],
                                   "color": heads["color"], "size": heads["size"],
                                   "line": {"width": 0}})
        figure.data = (figure.data[-1], *figure.data[:-1])


def _draw_edges(figure: go.Figure, arrows: _Arrows, edges: pd.DataFrame,
                place: Mapping[Any, tuple[int, int]], labels: Mapping[str, str],
                duration: Callable[[float], str], *, overlay: str, stat: str, direction: str,
                name: Callable[[str], str] = str) -> None:
    most = float(edges["count"].max()) if len(edges) else 0.0
    colours = _colours(edges[f"{stat}_seconds"], _EDGE_SCALE,
                       _top(edges[f"{stat}_seconds"], EDGE_SCALE_SECONDS))
    middles: list[np.ndarray] = []
    for (source, target, count), colour in zip(
            edges[["source", "target", "count"]].itertuples(index=False), colours,
            strict=True):
        path = _edge_path(source, target, place, direction)
        width = _width(float(count), most)
        arrows.add(path, colour, width)
        # a self-loop's figure at its far side, another edge's at its middle
        far = path[:, 1].argmax() if direction == "LR" else path[:, 0].argmax()
        middles.append(path[far] if source == target else path[len(path) // 2])
    text = [f"{int(n):,}" if overlay == "frequency" else _duration(v, duration)
            for n, v in zip(edges["count"], edges[f"{stat}_seconds"], strict=True)]
    custom = [[_escape(name(s)), _escape(name(t)), f"{int(n):,}", _duration(m, duration),
               _duration(p, duration)]
              for s, t, n, m, p in zip(edges["source"], edges["target"], edges["count"],
                                       edges["median_seconds"], edges["p90_seconds"],
                                       strict=True)]
    # a figure beside its line, on the side the line bends to
    beside = [("bottom center" if m[1] < _xy(place[s], direction)[1] - 0.05 else "top center")
              if direction == "LR" else
              ("middle left" if m[0] < _xy(place[s], direction)[0] - 0.05 else "middle right")
              for m, s in zip(middles, edges["source"], strict=True)]
    figure.add_scatter(
        x=[m[0] for m in middles], y=[m[1] for m in middles], mode="markers+text", text=text,
        marker={"size": 8, "color": "rgba(0,0,0,0)"}, textposition=beside,
        textfont={"size": 10, "color": "#1f2937"}, meta="edges", customdata=custom,
        hovertemplate=(f"%{{customdata[0]}} → %{{customdata[1]}}<br>{labels['count']} "
                       f"%{{customdata[2]}}<br>{labels['transition']} {labels['median']} "
                       f"%{{customdata[3]}} · {labels['p90']} %{{customdata[4]}}"
                       "<extra></extra>"))


def _draw_terminals(figure: go.Figure, arrows: _Arrows, starts: Mapping[str, int],
                    ends: Mapping[str, int], place: Mapping[Any, tuple[int, int]],
                    labels: Mapping[str, str], direction: str) -> None:
    """The start and end nodes and their dotted edges to the first and last activities."""
    pairs = [(START, a) for a in starts] + [(a, END) for a in ends]
    for source, target in pairs:
        path = _edge_path(source, target, place, direction)
        arrows.add(path, _TERMINAL, 1.2, "dot")
    points = [_xy(place[n], direction) for n in (START, END)]
    figure.add_scatter(
        x=[p[0] for p in points], y=[p[1] for p in points], mode="markers+text",
        marker={"size": 16, "color": _TERMINAL, "symbol": ["circle", "square"]},
        text=[_escape(labels["start"]), _escape(labels["end"])],
        textposition="bottom center" if direction == "LR" else "middle left",
        textfont={"size": 11}, meta="terminals",
        customdata=[f"{sum(starts.values()):,}", f"{sum(ends.values()):,}"],
        hovertemplate="%{text}: %{customdata} " + labels["cases"] + "<extra></extra>")


def _draw_nodes(figure: go.Figure, nodes: pd.DataFrame, place: Mapping[Any, tuple[int, int]],
                labels: Mapping[str, str], duration: Callable[[float], str], *, overlay: str,
                stat: str, direction: str, name: Callable[[str], str] = str) -> None:
    half = _HALF[direction]
    time_column = f"{stat}_seconds"
    shown = nodes["count"] if overlay == "frequency" else nodes[time_column]
    fills = _colours(shown, _FREQ_SCALE if overlay == "frequency" else _PERF_SCALE,
                     _top(shown), 0.05, 0.45)
    xs, ys, text, custom, boxes = [], [], [], [], []
    for row, fill in zip(nodes.to_dict("records"), fills, strict=True):
        x, y = _xy(place[row["activity"]], direction)
        boxes.append({"type": "rect", "x0": x - half[0], "x1": x + half[0], "y0": y - half[1],
                      "y1": y + half[1], "fillcolor": fill, "layer": "below",
                      "line": {"color": "#334155", "width": 1}})
        count = f"{int(row['count']):,}"
        value = count if overlay == "frequency" else _duration(row[time_column], duration)
        xs.append(x)
        ys.append(y)
        text.append(f"{_wrap(name(str(row['activity'])), 12 if direction == 'LR' else 16)}"
                    f"<br><b>{value}</b>")
        custom.append([_escape(name(str(row["activity"]))), count, f"{int(row['cases']):,}",
                       _duration(row["median_seconds"], duration),
                       _duration(row["p90_seconds"], duration)])
    # at once: add_shape one by one copies and checks every shape already there each time
    figure.layout.shapes = (*figure.layout.shapes, *boxes)
    figure.add_scatter(
        x=xs, y=ys, mode="text", text=text, textfont={"size": 10, "color": "#0f172a"},
        meta="nodes", customdata=custom,
        hovertemplate=(f"%{{customdata[0]}}<br>{labels['count']} %{{customdata[1]}} · "
                       f"{labels['cases']} %{{customdata[2]}}<br>{labels['service']} "
                       f"{labels['median']} %{{customdata[3]}} · {labels['p90']} "
                       "%{customdata[4]}<extra></extra>"))


def download_config(filename: str, fmt: str) -> dict[str, Any]:
    """The chart's config: the modebar's camera downloads the map as ``fmt`` ("png" or "svg")
    under ``filename``, drawn by the browser (no kaleido); scrolling zooms."""
    return {"scrollZoom": True, "displaylogo": False,
            "toImageButtonOptions": {"format": fmt, "filename": filename, "scale": 2}}


# -- the variants' coverage ------------------------------------------------------------------------


def pareto_chart(frame: pd.DataFrame, labels: Mapping[str, str]) -> go.Figure:
    """Variant coverage: a bar per variant (its share of the cases) and the cumulative share
    as a line, on one axis from 0 to 100%, with the 80% line (``frame``: rank, share,
    cumulative_share; ``labels``: share, cumulative, variant, eighty). The bars are the trace
    whose ``meta`` is "share", the line "cumulative"."""
    ranks = [f"#{int(r)}" for r in frame["rank"]]
    figure = go.Figure()
    figure.add_bar(x=ranks, y=frame["share"].tolist(), name=labels["share"],
                   marker_color="#1f5f99", meta="share",
                   hovertemplate="%{x}: %{y:.1%}<extra></extra>")
    figure.add_scatter(x=ranks, y=frame["cumulative_share"].tolist(), name=labels["cumulative"],
                       mode="lines+markers", marker_color="#b22222", meta="cumulative",
                       hovertemplate="%{x}: %{y:.1%}<extra></extra>")
    figure.add_hline(y=0.8, line_dash="dash", line_color="#64748b",
                     annotation_text=labels["eighty"], annotation_position="bottom right")
    figure.update_layout(
        height=340, xaxis={"title": labels["variant"], "type": "category"},
        yaxis={"tickformat": ".0%", "range": [0, 1.05]},
        margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fit(figure)
