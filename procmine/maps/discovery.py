"""The discovered model of a business type: pm4py's inductive miner on the process map.

**Method.** The engine aggregates the directly-follows graph of the chosen cases
(:func:`procmine.maps.dfg.process_map`: edge counts, start and end activities), and pm4py's
inductive miner runs on that graph, not on the events: IMd, the variant for directly-follows
graphs (``pm4py.discover_process_tree_inductive`` on a ``pm4py.objects.dfg.obj.DFG``), so a
log of 10M events costs one aggregation and the mining of a graph of a few dozen edges. The
process tree it returns (block-structured: sequence ``->``, choice ``X``, parallel ``+``, loop
``*``, silent step ``tau``) is sound by construction, and pm4py converts it to an accepting
Petri net (``convert_to_petri_net``) and to BPMN (``convert_to_bpmn``).

**Noise.** pm4py's noise-filtering variant (IMf) filters the graph of a log's variants, which a
directly-follows graph alone does not have, and IMd ignores a noise threshold. So IMf's rule
of what is noise (``IMFUVCL.__filter_dfg_noise`` in pm4py 2.7) is applied here, once, to the
graph before IMd mines it: with ``noise_threshold`` *t*, an edge ``a -> b`` passed *n* times is
noise when *n* <= *t* x the most frequent way out of ``a`` (its most frequent outgoing edge, or
the cases ending with ``a`` when more), and a start activity is noise when it starts fewer than
*t* x the most frequent start's cases. End activities are never noise. IMf only uses the
filtered graph to find a cut and then splits the log itself; on a graph alone, a step whose
every way in was dropped would leave IMd a part without a start (pm4py fails on it). So the
noise is dropped rarest first (ties by name), each path only if every step is still reachable
from a start and still reaches an end (how pm4py's ``filter_dfg_on_paths_percentage`` keeps a
graph connected); a path that would cut a step off stays. Every step of the map is in the
model; what noise removes is the rare paths between steps (a rework loop taken once in a
thousand cases, a rare swap of two steps that would otherwise make them parallel). At *t* = 0
nothing is dropped (the model is IMd's on the whole map); *t* must be below 1. The paths
dropped are :attr:`DiscoveredModel.dropped_edges`.

**Drawing and export.** :meth:`DiscoveredModel.graph` gives the BPMN diagram or the Petri net
as a networkx graph laid out in layers, left to right (a layer per longest chain of nodes
before it; edges that go back, the loops, marked ``back``): the dashboard draws it with plotly.
The same layout places the BPMN diagram's shapes in :meth:`DiscoveredModel.bpmn_xml` (BPMN 2.0
XML, pm4py's exporter), so a BPMN tool opens it laid out; :meth:`DiscoveredModel.pnml` is the
Petri net as PNML. pm4py is imported only when a model is discovered (``procmine`` starts fast).

Example:
    >>> model = discover_model(store, business_type="P18")
    >>> model.cases == process_map(store, business_type="P18").cases
    True
    >>> str(model.tree).startswith("->( 'Call number'")
    True
    >>> sorted(model.to_dict())
    ['bpmn', 'business_type', 'cases', 'dropped_edges', 'noise_threshold', 'petri_net', \
'process_tree']
    >>> model.bpmn_xml().startswith("<?xml")
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from procmine.analysis.filters import Filters
from procmine.core.errors import ProcmineError
from procmine.maps.dfg import ProcessMap, process_map
from procmine.store.engine import Engine
from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    import networkx

__all__ = ["GRAPH_KINDS", "DiscoveredModel", "denoised", "discover_model", "lay_out",
           "model_from_map"]

#: What :meth:`DiscoveredModel.graph` draws: the BPMN diagram or the Petri net.
GRAPH_KINDS: Final[tuple[str, ...]] = ("bpmn", "petri")

# BPMN element names by pm4py's node class (the first class of a node's ancestry found here).
_BPMN_TYPES: Final[dict[str, str]] = {
    "StartEvent": "startEvent", "EndEvent": "endEvent", "Task": "task",
    "ExclusiveGateway": "exclusiveGateway", "ParallelGateway": "parallelGateway",
    "InclusiveGateway": "inclusiveGateway", "EventBasedGateway": "eventBasedGateway",
}
# A BPMN shape's size in the exported diagram (width, height), and the grid it sits on.
_SHAPES: Final[dict[str, tuple[int, int]]] = {
    "task": (100, 80), "startEvent": (36, 36), "endEvent": (36, 36)}
_GATEWAY: Final = (50, 50)
# The start and end of a case, as nodes of the noise filter (tuples: never an activity name).
_START: Final = ("start",)
_END: Final = ("end",)
_COLUMN: Final = 150
_ROW: Final = 120


def _pm4py() -> Any:
    try:
        import pm4py
    except ImportError as exc:  # pragma: no cover - the maps extra is installed in dev
        raise ProcmineError("discovering a model needs pm4py: install procmine's maps extra "
                            "(pip install 'procmine[maps]')", code="maps.needs_pm4py") from exc
    return pm4py


def _networkx() -> Any:
    try:
        import networkx
    except ImportError as exc:  # pragma: no cover - the maps extra is installed in dev
        raise ProcmineError("a model's graph needs networkx: install procmine's maps extra "
                            "(pip install 'procmine[maps]')", code="maps.needs_pm4py") from exc
    return networkx


# -- noise ---------------------------------------------------------------------------------------


def _reaches(links: Mapping[Any, set[Any]], root: Any) -> set[Any]:
    seen, todo = {root}, [root]
    while todo:
        for node in links.get(todo.pop(), ()):
            if node not in seen:
                seen.add(node)
                todo.append(node)
    return seen


def denoised(edges: Mapping[tuple[str, str], int], starts: Mapping[str, int],
             ends: Mapping[str, int], noise_threshold: float
             ) -> tuple[dict[tuple[str, str], int], dict[str, int], dict[str, int]]:
    """The directly-follows graph with its rare paths dropped (the module's *Noise*): the
    paths pm4py's IMf calls noise (an edge passed at most ``noise_threshold`` x its source's
    most frequent way out, a start activity below that share of the most frequent start's
    cases) are dropped rarest first, each only where every step stays reachable from a start
    and still reaches an end; end activities all kept.

    Example:
        >>> kept, starts, ends = denoised({("a", "b"): 90, ("b", "a"): 2, ("b", "c"): 88},
        ...                               {"a": 90}, {"c": 90}, 0.1)
        >>> sorted(kept)
        [('a', 'b'), ('b', 'c')]
    """
    if not 0.0 <= noise_threshold < 1.0:
        raise ProcmineError(f"noise threshold {noise_threshold}: expected a share from 0 to "
                            "below 1 (0 keeps every path)")
    most: dict[str, int] = {}
    for (source, _), count in edges.items():
        most[source] = max(most.get(source, 0), count, ends.get(source, 0))
    top = max(starts.values(), default=0)
    # the paths as links between nodes, START and END standing for the case's start and end
    links: dict[tuple[Any, Any], int] = dict(edges)
    links.update({(_START, a): n for a, n in starts.items()})
    links.update({(a, _END): n for a, n in ends.items()})
    noise = sorted((pair for pair, n in links.items()
                    if (pair[0] == _START and n < noise_threshold * top)
                    or (pair[0] != _START and pair[1] != _END
                        and n <= noise_threshold * most[pair[0]])),
                   key=lambda pair: (links[pair], str(pair[0]), str(pair[1])))
    ahead: dict[Any, set[Any]] = {}
    behind: dict[Any, set[Any]] = {}
    for source, target in links:
        ahead.setdefault(source, set()).add(target)
        behind.setdefault(target, set()).add(source)
    steps = {a for pair in links for a in pair} - {_START, _END}
    for source, target in noise:
        ahead[source].discard(target)
        behind[target].discard(source)
        if steps <= _reaches(ahead, _START) and steps <= _reaches(behind, _END):
            del links[source, target]
        else:   # dropping it would cut a step off: it stays
            ahead[source].add(target)
            behind[target].add(source)
    return ({pair: n for pair, n in links.items() if _START not in pair and _END not in pair},
            {a: n for (s, a), n in links.items() if s == _START},
            {a: n for (a, e), n in links.items() if e == _END})


# -- the model -----------------------------------------------------------------------------------


def _bpmn_type(node: Any) -> str:
    for cls in type(node).__mro__:
        if cls.__name__ in _BPMN_TYPES:
            return _BPMN_TYPES[cls.__name__]
    return type(node).__name__[:1].lower() + type(node).__name__[1:]


def _label(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True, eq=False)
class DiscoveredModel:
    """The model pm4py's inductive miner discovers on a business type's process map.

    ``tree``: the process tree (pm4py ``ProcessTree``); ``net``, ``initial_marking``,
    ``final_marking``: the accepting Petri net it converts to; ``bpmn``: the BPMN diagram
    (pm4py ``BPMN``, its shapes placed by the layered layout). ``cases``: the cases mined;
    ``noise_threshold`` and the edges it dropped, ``dropped_edges`` (source, target, count).
    """

    business_type: str | None
    cases: int
    noise_threshold: float
    tree: Any
    net: Any
    initial_marking: Any
    final_marking: Any
    bpmn: Any
    dropped_edges: tuple[tuple[str, str, int], ...] = ()

    def activities(self) -> list[str]:
        """The steps of the model (its visible transitions' labels), sorted.

        Example:
            >>> "Count cash" in discover_model(store, business_type="P18").activities()
            True
        """
        return sorted({str(t.label) for t in self.net.transitions if t.label is not None})

    def to_dict(self) -> dict[str, Any]:
        """The model as plain JSON values: what ``procmine model --format json`` prints.

        ``process_tree`` in pm4py's notation; ``petri_net``: ``places`` (names),
        ``transitions`` (``name``, ``label``: None for a silent one), ``arcs`` (``source``,
        ``target``), the markings (``{place: tokens}``); ``bpmn``: ``nodes`` (``id``, ``type``
        as BPMN names it: task, exclusiveGateway, ...; ``label``) and ``flows``.

        Example:
            >>> data = discover_model(store, business_type="P18").to_dict()
            >>> sorted(data["petri_net"]), sorted(data["bpmn"])
            (['arcs', 'final_marking', 'initial_marking', 'places', 'transitions'], \
['flows', 'nodes'])
        """
        net = {
            "places": sorted(str(p.name) for p in self.net.places),
            "transitions": sorted(({"name": str(t.name), "label": _label(t.label)}
                                   for t in self.net.transitions),
                                  key=lambda t: (t["label"] is None, t["label"] or "", t["name"])),
            "arcs": sorted(({"source": str(a.source.name), "target": str(a.target.name)}
                            for a in self.net.arcs), key=lambda a: (a["source"], a["target"])),
            "initial_marking": {str(p.name): int(n) for p, n in self.initial_marking.items()},
            "final_marking": {str(p.name): int(n) for p, n in self.final_marking.items()},
        }
        nodes = sorted(({"id": str(n.get_id()), "type": _bpmn_type(n),
                         "label": _label(n.get_name()) if _bpmn_type(n) == "task" else None}
                        for n in self.bpmn.get_nodes()),
                       key=lambda n: (n["type"], n["label"] or "", n["id"]))
        flows = sorted(({"source": str(f.get_source().get_id()),
                         "target": str(f.get_target().get_id())}
                        for f in self.bpmn.get_flows()), key=lambda f: (f["source"], f["target"]))
        return {
            "business_type": self.business_type,
            "cases": self.cases,
            "noise_threshold": self.noise_threshold,
            "process_tree": str(self.tree),
            "petri_net": net,
            "bpmn": {"nodes": nodes, "flows": flows},
            "dropped_edges": [{"source": s, "target": t, "count": n}
                              for s, t, n in self.dropped_edges],
        }

    def bpmn_xml(self) -> str:
        """The BPMN diagram as BPMN 2.0 XML (pm4py's exporter), its shapes laid out in layers
        left to right, for a download a BPMN tool opens.

        Example:
            >>> import xml.etree.ElementTree as ET
            >>> root = ET.fromstring(discover_model(store, business_type="P18").bpmn_xml())
            >>> root.tag
            '{http://www.omg.org/spec/BPMN/20100524/MODEL}definitions'
        """
        from pm4py.objects.bpmn.exporter import exporter

        return bytes(exporter.serialize(self.bpmn)).decode("utf-8")

    def pnml(self) -> str:
        """The Petri net with its initial and final markings as PNML (pm4py's exporter).

        Example:
            >>> "<pnml>" in discover_model(store, business_type="P18").pnml()
            True
        """
        from pm4py.objects.petri_net.exporter import exporter

        return bytes(exporter.serialize(self.net, self.initial_marking,
                                        self.final_marking)).decode("utf-8")

    def graph(self, kind: str = "bpmn") -> networkx.DiGraph:
        """The BPMN diagram (``"bpmn"``) or the Petri net (``"petri"``) as a networkx DiGraph
        to draw: each node's ``kind`` (a BPMN type, or ``place`` / ``transition``), ``label``
        (the step, None for a gateway, event, place or silent transition), ``layer`` and
        ``row`` (the layered layout, left to right); a place's ``tokens`` in the initial and
        ``final`` markings; an edge going back (a loop) has ``back`` True.

        Example:
            >>> g = discover_model(store, business_type="P18").graph("petri")
            >>> sorted({d["kind"] for _, d in g.nodes(data=True)})
            ['place', 'transition']
        """
        nx = _networkx()
        graph = nx.DiGraph(business_type=self.business_type, kind=kind)
        if kind == "bpmn":
            for node in self.bpmn.get_nodes():
                kind_of = _bpmn_type(node)
                graph.add_node(str(node.get_id()), kind=kind_of, label=_label(node.get_name())
                               if kind_of == "task" else None)
            for flow in self.bpmn.get_flows():
                graph.add_edge(str(flow.get_source().get_id()), str(flow.get_target().get_id()))
        elif kind == "petri":
            for place in self.net.places:
                graph.add_node(str(place.name), kind="place", label=None,
                               tokens=int(self.initial_marking.get(place, 0)),
                               final=int(self.final_marking.get(place, 0)))
            for transition in self.net.transitions:
                graph.add_node(str(transition.name), kind="transition",
                               label=_label(transition.label))
            for arc in self.net.arcs:
                graph.add_edge(str(arc.source.name), str(arc.target.name))
        else:
            raise ProcmineError(f"graph kind {kind!r}: expected one of {', '.join(GRAPH_KINDS)}")
        lay_out(graph)
        return graph


# -- the layout ----------------------------------------------------------------------------------


def _forward_order(graph: Any) -> list[tuple[Any, Any]]:
    """The edges breadth first from the sources (nodes without a way in), each node's in the
    order of its targets' labels: the order in which the main flow is met before its loops."""
    def key(node: Any) -> tuple[str, str]:
        return (str(graph.nodes[node].get("label") or ""), str(node))

    roots = sorted((n for n in graph if graph.in_degree(n) == 0), key=key) or sorted(graph,
                                                                                     key=key)[:1]
    seen, queue, order = set(roots), list(roots), []
    while queue:
        node = queue.pop(0)
        for target in sorted(graph.successors(node), key=key):
            order.append((node, target))
            if target not in seen:
                seen.add(target)
                queue.append(target)
    met = set(order)
    return order + [e for e in graph.edges if e not in met]   # edges unreachable from a root


def lay_out(graph: Any) -> None:
    """Lay a graph out in layers, left to right, in place: each node's ``layer`` (one more
    than the longest chain of nodes before it, once the edges that close a cycle are set
    aside as ``back``) and ``row`` (within the layer, by the mean row of the nodes before it,
    centred on 0).

    Example:
        >>> import networkx as nx
        >>> g = nx.DiGraph([("s", "a"), ("a", "b"), ("b", "a"), ("b", "e"), ("s", "e")])
        >>> lay_out(g)
        >>> [g.nodes[n]["layer"] for n in ("s", "a", "b", "e")], g.edges["b", "a"]["back"]
        ([0, 1, 2, 3], True)
    """
    nx = _networkx()
    dag = nx.DiGraph()
    dag.add_nodes_from(graph)
    for source, target in _forward_order(graph):
        back = source == target or nx.has_path(dag, target, source)
        graph.edges[source, target]["back"] = back
        if not back:
            dag.add_edge(source, target)
    row: dict[Any, float] = {}
    for layer, generation in enumerate(nx.topological_generations(dag)):
        def wish(node: Any) -> tuple[float, str, str]:
            before = [row[p] for p in dag.predecessors(node) if p in row]
            return (sum(before) / len(before) if before else 0.0,
                    str(graph.nodes[node].get("label") or ""), str(node))

        ordered = sorted(generation, key=wish)
        for i, node in enumerate(ordered):
            row[node] = i - (len(ordered) - 1) / 2
            graph.nodes[node]["layer"] = layer
            graph.nodes[node]["row"] = row[node]


def _waypoints(graph: Any, source: str, target: str,
               box: Mapping[str, tuple[float, float, float, float]]) -> list[tuple[float, float]]:
    """A flow's bends in the exported diagram (``box``: each shape's centre x, y and half width,
    height): from the source's right to the target's left, with an elbow where the rows
    differ; over the shapes between when it skips layers on one row; a loop's way back under
    both shapes."""
    sx, sy, sw, sh = box[source]
    tx, ty, tw, th = box[target]
    if graph.edges[source, target].get("back"):
        low = max(sy + sh, ty + th) + 30
        return [(sx, sy + sh), (sx, low), (tx, low), (tx, ty + th)]
    span = graph.nodes[target]["layer"] - graph.nodes[source]["layer"]
    if span > 1 and sy == ty:
        high = min(sy - sh, ty - th) - 30
        return [(sx, sy - sh), (sx, high), (tx, high), (tx, ty - th)]
    if sy == ty:
        return [(sx + sw, sy), (tx - tw, ty)]
    middle = tx - tw - (_COLUMN - 100) / 2
    return [(sx + sw, sy), (middle, sy), (middle, ty), (tx - tw, ty)]


def _place_bpmn(bpmn: Any, graph: Any) -> None:
    """Put the BPMN diagram's shapes where the layered layout has them (the exported
    diagram's coordinates: a column per layer, a row per row, from the top left), and bend its
    flows (:func:`_waypoints`)."""
    top = min((d["row"] for _, d in graph.nodes(data=True)), default=0.0)
    box: dict[str, tuple[float, float, float, float]] = {}
    for node in bpmn.get_nodes():
        key = str(node.get_id())
        width, height = _SHAPES.get(graph.nodes[key]["kind"], _GATEWAY)
        centre = (100 + graph.nodes[key]["layer"] * _COLUMN,
                  100 + (graph.nodes[key]["row"] - top) * _ROW)
        node.set_x(centre[0] - width / 2)
        node.set_y(centre[1] - height / 2)
        node.set_width(width)
        node.set_height(height)
        box[key] = (centre[0], centre[1], width / 2, height / 2)
    for flow in bpmn.get_flows():
        flow.del_waypoints()
        for point in _waypoints(graph, str(flow.get_source().get_id()),
                                str(flow.get_target().get_id()), box):
            flow.add_waypoint(point)


# -- discovery -----------------------------------------------------------------------------------


def _pairs(pmap: ProcessMap) -> dict[tuple[str, str], int]:
    return {(str(s), str(t)): int(n) for s, t, n in
            zip(pmap.edges["source"], pmap.edges["target"], pmap.edges["count"], strict=True)}


def _dropped(before: Mapping[tuple[str, str], int], after: Iterable[tuple[str, str]]
             ) -> tuple[tuple[str, str, int], ...]:
    kept = set(after)
    return tuple(sorted(((s, t, n) for (s, t), n in before.items() if (s, t) not in kept),
                        key=lambda e: (-e[2], e[0], e[1])))


def model_from_map(pmap: ProcessMap, *, noise_threshold: float = 0.0) -> DiscoveredModel:
    """The model pm4py's IMd discovers on a process map (its edge counts and start and end
    activities), after the noise filter (the module's *Noise*), converted to a Petri net and
    to BPMN. A map without cases has no model (:class:`ProcmineError`).

    Example:
        >>> pmap = process_map(store, business_type="P18")
        >>> model_from_map(pmap).cases == pmap.cases
        True
    """
    if pmap.cases == 0:
        raise ProcmineError(f"no transactions of {pmap.business_type or 'any type'} within the "
                            "filters: nothing to discover a model from",
                            code="maps.no_transactions")
    every = _pairs(pmap)
    edges, starts, ends = denoised(every, pmap.start_activities, pmap.end_activities,
                                   noise_threshold)
    pm4py = _pm4py()
    from pm4py.objects.dfg.obj import DFG

    tree = pm4py.discover_process_tree_inductive(DFG(edges, starts, ends))
    net, initial, final = pm4py.convert_to_petri_net(tree)
    model = DiscoveredModel(
        business_type=pmap.business_type, cases=pmap.cases, noise_threshold=noise_threshold,
        tree=tree, net=net, initial_marking=initial, final_marking=final,
        bpmn=pm4py.convert_to_bpmn(tree), dropped_edges=_dropped(every, edges))
    _place_bpmn(model.bpmn, model.graph("bpmn"))
    return model


def discover_model(store: EventStore, *, business_type: str | None = None,
                   filters: Filters | None = None, engine: Engine | None = None,
                   noise_threshold: float = 0.0) -> DiscoveredModel:
    """The process model of ``business_type``'s cases within ``filters``: the engine builds
    the process map (:func:`procmine.maps.dfg.process_map`), pm4py's inductive miner (IMd)
    mines its directly-follows graph after the noise filter (``noise_threshold``, 0 to below
    1; 0 keeps every path), and pm4py converts the tree to a Petri net and to BPMN. No cases:
    :class:`ProcmineError`.

    Example:
        >>> model = discover_model(store, business_type="P18", noise_threshold=0.2)
        >>> model.noise_threshold, len(model.dropped_edges) > 0
        (0.2, True)
    """
    if not 0.0 <= noise_threshold < 1.0:   # before the query: a mistake costs nothing
        denoised({}, {}, {}, noise_threshold)
    pmap = process_map(store, business_type=business_type, filters=filters, engine=engine)
    return model_from_map(pmap, noise_threshold=noise_threshold)
