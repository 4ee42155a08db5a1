"""The discovered model on the Process map page: a BPMN diagram or a Petri net drawn with
plotly, its noise slider and its downloads.

:func:`model_figure` draws :meth:`procmine.DiscoveredModel.graph` where its layered layout puts
each node (layers left to right; nothing but Python packages, no Graphviz). BPMN: a task is a
box with the step's name, an exclusive gateway a diamond with ``×``, a parallel one with ``+``,
the start event a thin circle, the end event a thick one. Petri net: a place is a circle (the
initial marking's token ``●`` in it), a transition a box with the step's name, a silent one
(``tau``: a skip or a loop's way back) a narrow dark bar. An arc is a line with an arrowhead;
one going back (a loop) bends beside the flow. The step's name is the SOP's Chinese name where
an SOP in force names the step (``names``), else the log's. A long model opens on its first
layers: the chart pans and zooms (scroll), and a double click shows it whole.

:func:`show` is the page's section: the BPMN / Petri net switch and the noise slider (its
widgets' keys start with ``key``), the model of the map at hand (:func:`procmine.model_from_map`:
pm4py's inductive miner on the map's graph, a fifth of a second and more; the page passes its
kept one, :class:`DrawnModel`, what the section shows of it as plain values, since pm4py's
BPMN objects do not survive a pickle), the chart, and the BPMN XML and PNML downloads.

Labels made of data (activity names) are escaped before plotly renders them as HTML.

Example:
    >>> import networkx as nx
    >>> g = nx.DiGraph([("s", "t"), ("t", "e")])
    >>> for n, kind, label in (("s", "startEvent", None), ("t", "task", "Count cash"),
    ...                        ("e", "endEvent", None)):
    ...     g.add_node(n, kind=kind, label=label)
    >>> g.graph["kind"] = "bpmn"
    >>> _ = [g.nodes[n].update(layer=i, row=0.0) for i, n in enumerate(("s", "t", "e"))]
    >>> g.edges["s", "t"]["back"] = g.edges["t", "e"]["back"] = False
    >>> figure = model_figure(g, {"Count cash": "点钞"})
    >>> [trace.customdata[0][0] for trace in figure.data if trace.meta == "steps"]
    ['点钞']
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from procmine import DiscoveredModel, ProcessMap, ProcmineError, model_from_map
from procmine.dashboard.components.charts import fit
from procmine.dashboard.components.map_chart import download_config
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import error, tr

__all__ = ["FIRST_LAYERS", "MODEL_NOISE", "DrawnModel", "model_figure", "show"]

@dataclass(frozen=True)
class DrawnModel:
    """What the section shows of a discovered model, as plain values (kept by the dashboard
    per store version: pm4py's own objects do not survive a pickle)."""

    cases: int
    steps: int                    # the model's steps (its visible transitions' labels)
    dropped: int                  # the edges the noise filter dropped
    graphs: Mapping[str, Any]     # "bpmn" / "petri" -> the networkx graph drawn
    bpmn_xml: str
    pnml: str
    tree: str                     # the process tree in pm4py's notation

    @classmethod
    def of(cls, model: DiscoveredModel) -> DrawnModel:
        return cls(cases=model.cases, steps=len(model.activities()),
                   dropped=len(model.dropped_edges),
                   graphs={kind: model.graph(kind) for kind in ("bpmn", "petri")},
                   bpmn_xml=model.bpmn_xml(), pnml=model.pnml(), tree=str(model.tree))


#: A model opens on this many layers; the rest is a pan away.
FIRST_LAYERS: Final = 14
#: The noise threshold the model opens at (none: every path of the map)
MODEL_NOISE: Final = 0.0

_DX, _DY = 1.6, 1.1                # a layer's width and a row's height
_BOX = (0.6, 0.3)                  # a task's or a visible transition's half width and height
_BAR = (0.07, 0.3)                 # a silent transition's
_DOT = 0.17                        # a gateway's, event's or place's radius, about
_LINE = "#475569"
_TASK_FILL, _TASK_EDGE = "#dbeafe", "#1e3a8a"
_MARKERS: Final[dict[str, tuple[str, str, str]]] = {   # kind: symbol, text, colour
    "exclusiveGateway": ("diamond", "×", "#f59e0b"),
    "parallelGateway": ("diamond", "+", "#f59e0b"),
    "inclusiveGateway": ("diamond", "○", "#f59e0b"),
    "startEvent": ("circle", "", "#16a34a"),
    "endEvent": ("circle", "", "#b91c1c"),
    "place": ("circle", "", "#334155"),
}


def _escape(value: object) -> str:
    return html.escape(str(value), quote=False)


def _wrap(text: str, width: int) -> str:
    """``text`` in lines of about ``width`` characters, at spaces (a text without spaces, such
    as a Chinese name, every ``width`` characters)."""
    words = text.split() if " " in text else [text[i:i + width]
                                              for i in range(0, len(text), width)]
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(_escape(line) for line in lines) or _escape(text)


def _xy(data: Mapping[str, Any]) -> tuple[float, float]:
    return float(data["layer"]) * _DX, -float(data["row"]) * _DY


def _half(data: Mapping[str, Any]) -> tuple[float, float]:
    """Half the width and height of a node (a box's, or about a marker's)."""
    if data["kind"] in ("task", "transition"):
        return _BOX if data.get("label") is not None else _BAR
    return (_DOT, _DOT)


def _clip(a: np.ndarray, towards: np.ndarray, half: tuple[float, float]) -> np.ndarray:
    """The point where the segment from a node's centre ``a`` towards ``towards`` leaves the
    node's box."""
    d = towards - a
    scale = min(half[0] / abs(d[0]) if d[0] else math.inf,
                half[1] / abs(d[1]) if d[1] else math.inf, 1.0)
    return np.asarray(a + d * scale)


def _path(a: np.ndarray, b: np.ndarray, half_a: tuple[float, float],
          half_b: tuple[float, float], lift: float) -> np.ndarray:
    """An arc's points from the border of its source to the border of its target: straight
    (``lift`` 0), or a curve whose middle passes ``lift`` above the chord (below: negative)."""
    if not lift:
        return np.array([_clip(a, b, half_a), _clip(b, a, half_b)])
    control = (a + b) / 2 + np.array([0.0, 2 * lift])
    t = np.linspace(0, 1, 24)[:, None]
    curve = (1 - t) ** 2 * a + 2 * (1 - t) * t * control + t ** 2 * b
    inside_a = (np.abs(curve[:, 0] - a[0]) < half_a[0]) & (np.abs(curve[:, 1] - a[1]) < half_a[1])
    inside_b = (np.abs(curve[:, 0] - b[0]) < half_b[0]) & (np.abs(curve[:, 1] - b[1]) < half_b[1])
    kept = curve[~(inside_a | inside_b)]
    return np.asarray(kept) if len(kept) >= 2 else np.array([a, b])


def _blocked(source: Mapping[str, Any], target: Mapping[str, Any],
             taken: set[tuple[int, float]]) -> bool:
    """Whether the straight line between two nodes passes a node of a layer in between."""
    span = int(target["layer"]) - int(source["layer"])
    for step in range(1, span):
        at = float(source["row"]) + (float(target["row"]) - float(source["row"])) * step / span
        if any(layer == int(source["layer"]) + step and abs(row - at) < 0.6
               for layer, row in taken):
            return True
    return False


def _lift(source: Mapping[str, Any], target: Mapping[str, Any], back: bool,
          taken: set[tuple[int, float]]) -> float:
    """How far an arc bends: a loop's way back below the flow, an arc that would cross a node
    above it, any other straight."""
    span = abs(int(target["layer"]) - int(source["layer"]))
    if back:
        return -(0.55 + 0.12 * span)
    return 0.45 + 0.05 * span if span > 1 and _blocked(source, target, taken) else 0.0


def _arcs(figure: go.Figure, graph: Any) -> None:
    """Every arc as one line trace (gaps between arcs) and their arrowheads as another."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    heads: list[tuple[np.ndarray, np.ndarray]] = []
    taken = {(int(d["layer"]), float(d["row"])) for _, d in graph.nodes(data=True)}
    for source, target, back in graph.edges(data="back"):
        ends = graph.nodes[source], graph.nodes[target]
        path = _path(np.array(_xy(ends[0])), np.array(_xy(ends[1])), _half(ends[0]),
                     _half(ends[1]), _lift(*ends, bool(back), taken))
        xs += [*path[:, 0].tolist(), None]
        ys += [*path[:, 1].tolist(), None]
        heads.append((path[-2], path[-1]))
    figure.add_scatter(x=xs, y=ys, mode="lines", line={"color": _LINE, "width": 1.3},
                       hoverinfo="skip", meta="arcs", showlegend=False)
    # an arrowhead: a marker at the arc's end, turned along its last segment
    angles = [90 - math.degrees(math.atan2(e[1] - s[1], e[0] - s[0])) for s, e in heads]
    figure.add_scatter(x=[e[0] for _, e in heads], y=[e[1] for _, e in heads], mode="markers",
                       marker={"symbol": "triangle-up", "size": 8, "color": _LINE,
                               "angle": angles}, hoverinfo="skip", showlegend=False)


def _boxes(figure: go.Figure, graph: Any, names: Mapping[str, str],
           counts: Mapping[str, int], count_label: str) -> None:
    """The tasks or transitions: a box each (silent ones a dark bar), the steps' names in
    them; the steps are the trace whose ``meta`` is "steps" (customdata: shown name, log's)."""
    xs, ys, text, custom, boxes = [], [], [], [], []
    for _, data in graph.nodes(data=True):
        if data["kind"] not in ("task", "transition"):
            continue
        x, y = _xy(data)
        half = _half(data)
        silent = data.get("label") is None
        boxes.append({"type": "rect", "x0": x - half[0], "x1": x + half[0], "y0": y - half[1],
                      "y1": y + half[1], "layer": "below",
                      "fillcolor": "#1f2937" if silent else _TASK_FILL,
                      "line": {"color": "#1f2937" if silent else _TASK_EDGE, "width": 1}})
        if silent:
            continue
        label = str(data["label"])
        shown = names.get(label, label)
        xs.append(x)
        ys.append(y)
        text.append(_wrap(shown, 6 if " " not in shown else 13))
        custom.append([shown, label, f"{counts[label]:,}" if label in counts else "–"])
    figure.layout.shapes = (*figure.layout.shapes, *boxes)   # at once: add_shape copies all
    figure.add_scatter(
        x=xs, y=ys, mode="text", text=text, textfont={"size": 10, "color": "#0f172a"},
        meta="steps", customdata=custom, showlegend=False,
        hovertemplate=(f"%{{customdata[0]}}<br>%{{customdata[1]}}<br>{_escape(count_label)} "
                       "%{customdata[2]}<extra></extra>"))


def _markers(figure: go.Figure, graph: Any) -> None:
    """Gateways, events and places: a marker each (the end event's ring thicker, the initial
    marking's token a dot inside its place)."""
    shown = [(n, d) for n, d in graph.nodes(data=True) if d["kind"] in _MARKERS]
    if not shown:
        return
    points = [_xy(d) for _, d in shown]
    looks = [_MARKERS[d["kind"]] for _, d in shown]
    figure.add_scatter(
        x=[p[0] for p in points], y=[p[1] for p in points], mode="markers+text",
        text=["●" if d.get("tokens") else look[1] for (_, d), look in zip(shown, looks,
                                                                         strict=True)],
        textfont={"size": 13, "color": "#1f2937"}, textposition="middle center",
        marker={"symbol": [look[0] for look in looks], "size": 20, "color": "white",
                "line": {"color": [look[2] for look in looks],
                         "width": [3.5 if d["kind"] == "endEvent" or d.get("final") else 1.6
                                   for _, d in shown]}},
        meta="markers", customdata=[[d["kind"]] for _, d in shown], hoverinfo="skip",
        showlegend=False)


def model_figure(graph: Any, names: Mapping[str, str], counts: Mapping[str, int] | None = None,
                 *, count_label: str = "", first_layers: int = FIRST_LAYERS) -> go.Figure:
    """The model's graph (:meth:`procmine.DiscoveredModel.graph`, BPMN or Petri net) as a
    figure: ``names`` the steps' names to show (by activity; missing: the activity),
    ``counts`` each step's occurrences for the hover. It opens on the first ``first_layers``
    layers."""
    figure = go.Figure()
    _arcs(figure, graph)
    _markers(figure, graph)
    _boxes(figure, graph, names, counts or {}, count_label)
    layers = max((d["layer"] for _, d in graph.nodes(data=True)), default=0)
    rows = [float(d["row"]) for _, d in graph.nodes(data=True)] or [0.0]
    x_range = [-_DX / 2, min(layers, first_layers - 1) * _DX + _DX / 2]
    y_range = [-max(rows) * _DY - 1.2, -min(rows) * _DY + 0.6]
    figure.update_layout(
        height=int(min(720, max(300, 95 * (y_range[1] - y_range[0])))), showlegend=False,
        plot_bgcolor="white", dragmode="pan", hovermode="closest",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False, "range": x_range}, yaxis={"visible": False, "range": y_range})
    return fit(figure)


def show(key: str, pmap: ProcessMap, names: Mapping[str, str],
         discover: Callable[[float], DrawnModel] | None = None) -> DrawnModel | None:
    """The Discovered model section for the map at hand: the BPMN / Petri net switch, the
    noise slider, the chart and the downloads (widget keys start with ``key``). Returns the
    model drawn; None, with the reason said, where none can be (pm4py, of the ``maps``
    extra, not installed). ``discover``: the map's model at a noise threshold, as the page
    keeps it (:func:`procmine.dashboard.data_maps.model_of`); by default discovered here."""
    kind_cell, noise_cell = st.columns([1, 2])
    kind = kind_cell.radio(tr("model.kind"), ("bpmn", "petri"), key=f"{key}_kind",
                           horizontal=True, format_func=lambda k: tr(f"model.kind.{k}"))
    noise = noise_cell.slider(tr("model.noise"), min_value=0.0, max_value=0.5, value=MODEL_NOISE,
                              step=0.05, key=f"{key}_noise", help=tr("model.noise_help"))
    try:
        model = (discover(float(noise)) if discover is not None
                 else DrawnModel.of(model_from_map(pmap, noise_threshold=float(noise))))
    except ProcmineError as exc:
        st.info(plain(error(exc)))
        return None
    graph = model.graphs[kind]
    counts = {str(a): int(n) for a, n in zip(pmap.nodes["activity"], pmap.nodes["count"],
                                             strict=True)}
    st.caption(tr("model.caption", cases=f"{model.cases:,}", steps=model.steps,
                  dropped=model.dropped, noise=f"{float(noise):g}"))
    figure = model_figure(graph, names, counts, count_label=tr("maps.count"))
    code = pmap.business_type or "all"
    st.plotly_chart(figure, width="stretch", key=f"{key}_chart",
                    config=download_config(f"model-{code}-{kind}", "svg"))
    st.caption(tr("model.hint"))
    left, right, _ = st.columns([1, 1, 2])
    left.download_button(tr("model.download_bpmn"), model.bpmn_xml.encode("utf-8"),
                         file_name=f"model-{code}.bpmn", mime="application/xml",
                         key=f"{key}_bpmn")
    right.download_button(tr("model.download_pnml"), model.pnml.encode("utf-8"),
                          file_name=f"model-{code}.pnml", mime="application/xml",
                          key=f"{key}_pnml")
    with st.expander(tr("model.tree")):
        st.code(model.tree, language=None, wrap_lines=True)
    return model
