"""Process maps: the directly-follows graph of the steps of chosen transactions, with its times.

A transaction's steps follow each other in the case order of :mod:`procmine.analysis.steps`
(by start, by end where a step has no start, then end and step name). Each pair of consecutive
steps of a case is one passage along the edge ``source -> target``; a step repeated at once
(rework: the same step twice in a row) is a self-loop. The map counts per edge its passages and
gives their **transition time**: the target's start minus the source's end, in seconds, as
pm4py's performance DFG measures it on an interval log (``start_timestamp`` of the next event
minus ``time:timestamp`` of this one; negative where the steps overlap; for a step without a
start time its end stands in, as pm4py does without ``start_timestamp``). Per edge: ``count``,
the exact ``median_seconds`` and ``p90_seconds`` (linear interpolation, pandas' and pm4py's
rule) and ``mean_seconds``. Per node (step): its occurrences (``count``), the ``cases`` it
occurs in and the median and p90 of its service time (the step view's ``service_seconds``:
inferred from the previous step's end in completion-only logs). ``start_activities`` and
``end_activities`` count the first and last steps of the cases, as ``pm4py.discover_dfg``
returns them; the frequencies equal pm4py's on the same log.

The engine (DuckDB by default, Spark through ``engine``) does the work in one query: a window
over each case orders its steps and looks one step ahead, then two groupings count the nodes and
the edges. Nothing happens per event in Python; what comes back is the small graph (steps x
steps). :meth:`ProcessMap.filtered` hides rare paths on that graph, :meth:`ProcessMap.graph`
hands it to networkx (for a layout, or pm4py on the reduced graph).

Example:
    >>> pmap = process_map(store, business_type="P18")
    >>> pmap.cases == sum(pmap.start_activities.values()) == sum(pmap.end_activities.values())
    True
    >>> pmap.edges.columns.tolist()
    ['source', 'target', 'count', 'median_seconds', 'p90_seconds', 'mean_seconds']
    >>> top = pmap.edges.iloc[0]
    >>> str(top["source"]), str(top["target"])
    ('Print voucher', 'Customer signs')
    >>> busy = pmap.filtered(min_share=0.5)
    >>> bool((busy.edges["count"] >= 0.5 * pmap.cases).all())
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from procmine.analysis.filters import Filters
from procmine.analysis.steps import StepData
from procmine.core.errors import ProcmineError
from procmine.core.plain import plain_value
from procmine.store.engine import Engine
from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    import networkx

__all__ = ["EDGE_COLUMNS", "NODE_COLUMNS", "ProcessMap", "process_map"]

#: The columns of :attr:`ProcessMap.nodes`.
NODE_COLUMNS: Final[tuple[str, ...]] = ("activity", "count", "cases", "median_seconds",
                                        "p90_seconds")
#: The columns of :attr:`ProcessMap.edges`.
EDGE_COLUMNS: Final[tuple[str, ...]] = ("source", "target", "count", "median_seconds",
                                        "p90_seconds", "mean_seconds")

# One pass: the case window looks one step ahead (the next step and its start), then nodes and
# edges are grouped from the same ordered steps. An edge row whose target is NULL counts the
# cases that end with its source. Nodes carry their starts (cases that begin with them).
_MAP_SQL = """
    WITH ordered AS (
        SELECT case_id, activity, service_seconds,
               lag(activity) OVER w IS NULL AS is_first,
               lead(activity) OVER w AS next_activity,
               epoch(lead(started) OVER w - end_time) AS transition_seconds
        FROM steps
        WINDOW w AS (PARTITION BY case_id ORDER BY started, end_time, activity)
    ){graph}"""

# The same from the prepared step relation, whose rows carry their case order: no window.
_PREPARED_MAP_SQL = """
    WITH ordered AS (
        SELECT case_id, activity, service_seconds, step_index = 1 AS is_first, next_activity,
               epoch(next_started - end_time) AS transition_seconds,
               occurrence = 1 AS first_in_case
        FROM steps
    ){graph}"""

_GRAPH_SQL = """, nodes AS (
        SELECT activity, count(*) AS count, count(*) FILTER (WHERE is_first) AS starts,
               {cases} AS cases,
               quantile_cont(service_seconds, [0.5, 0.9]) AS quantiles
        FROM ordered
        GROUP BY activity
    ), edges AS (
        SELECT activity, next_activity, count(*) AS count,
               quantile_cont(transition_seconds, [0.5, 0.9]) AS quantiles,
               avg(transition_seconds) AS mean_seconds
        FROM ordered
        GROUP BY activity, next_activity
    )
    SELECT 'node' AS kind, activity AS source, CAST(NULL AS VARCHAR) AS target, count, starts,
           cases, quantiles[1] AS median_seconds, quantiles[2] AS p90_seconds,
           CAST(NULL AS DOUBLE) AS mean_seconds
    FROM nodes
    UNION ALL
    SELECT 'edge' AS kind, activity AS source, next_activity AS target, count,
           CAST(NULL AS BIGINT) AS starts, CAST(NULL AS BIGINT) AS cases,
           quantiles[1] AS median_seconds, quantiles[2] AS p90_seconds, mean_seconds
    FROM edges
"""


def _counts(frame: pd.DataFrame, key: str, value: str) -> dict[str, int]:
    """``{key: value}`` of the rows with a positive value, largest first (then by name)."""
    rows = frame[frame[value] > 0].sort_values([value, key], ascending=[False, True])
    return {str(k): int(v) for k, v in zip(rows[key], rows[value], strict=True)}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): plain_value(v) for k, v in row.items()}
            for row in frame.to_dict("records")]


@dataclass(frozen=True, eq=False)
class ProcessMap:
    """A directly-follows graph of the steps of the chosen cases.

    ``nodes``: one row per step (:data:`NODE_COLUMNS`), most frequent first: occurrences,
    cases it occurs in, median and p90 of its service time. ``edges``: one row per pair of
    directly following steps (:data:`EDGE_COLUMNS`), most frequent first: passages and the
    median, p90 and mean transition time (source's end to target's start). ``start_activities``
    and ``end_activities``: the cases beginning and ending with each step.
    """

    business_type: str | None  # None: every type
    cases: int
    nodes: pd.DataFrame
    edges: pd.DataFrame
    start_activities: dict[str, int]
    end_activities: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """The map as plain JSON values (NaN as None): what ``procmine map --json`` prints.

        Example:
            >>> data = process_map(store, business_type="P18").to_dict()
            >>> sorted(data)
            ['business_type', 'cases', 'edges', 'end_activities', 'nodes', 'start_activities']
            >>> sorted(data["edges"][0])
            ['count', 'mean_seconds', 'median_seconds', 'p90_seconds', 'source', 'target']
        """
        return {
            "business_type": self.business_type,
            "cases": self.cases,
            "nodes": _records(self.nodes),
            "edges": _records(self.edges),
            "start_activities": dict(self.start_activities),
            "end_activities": dict(self.end_activities),
        }

    def filtered(self, *, min_share: float = 0.0, top_edges: int | None = None) -> ProcessMap:
        """The map with its rare paths hidden: the edges passed at least ``min_share`` x
        cases times and (with ``top_edges``) among the ``top_edges`` most frequent (ties at
        the cut by name); the nodes those edges touch, and the start and end activities of at
        least ``min_share`` x cases cases (with their nodes). ``cases`` stays the map's.

        Example:
            >>> pmap = process_map(store, business_type="P18")
            >>> len(pmap.filtered(top_edges=3).edges)
            3
        """
        if not 0.0 <= min_share <= 1.0:
            raise ProcmineError(f"min_share {min_share}: expected a share from 0 to 1")
        if top_edges is not None and top_edges < 0:
            raise ProcmineError(f"top_edges {top_edges}: expected 0 or more")
        least = min_share * self.cases
        edges = self.edges[self.edges["count"] >= least]
        if top_edges is not None:
            edges = edges.head(top_edges)  # already most frequent first
        starts = {a: n for a, n in self.start_activities.items() if n >= least}
        ends = {a: n for a, n in self.end_activities.items() if n >= least}
        kept = set(edges["source"]) | set(edges["target"]) | set(starts) | set(ends)
        nodes = self.nodes[self.nodes["activity"].isin(kept)]
        return ProcessMap(self.business_type, self.cases, nodes.reset_index(drop=True),
                          edges.reset_index(drop=True), starts, ends)

    def graph(self) -> networkx.DiGraph:
        """The map as a networkx DiGraph: a node per step and an edge per pair, their
        attributes the frames' columns (the ``maps`` extra installs networkx).

        Example:
            >>> g = process_map(store, business_type="P18").graph()
            >>> g.number_of_edges() == len(process_map(store, business_type="P18").edges)
            True
        """
        try:
            import networkx
        except ImportError as exc:  # pragma: no cover - the maps extra is installed in dev
            raise ProcmineError("a process map's graph needs networkx: install procmine's "
                                "maps extra (pip install 'procmine[maps]')") from exc
        graph = networkx.DiGraph(business_type=self.business_type, cases=self.cases)
        for node in _records(self.nodes):
            graph.add_node(node["activity"], **node)
        for edge in _records(self.edges):
            graph.add_edge(edge["source"], edge["target"], **edge)
        return graph


def _frames(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The query's rows as the node frame, the edge frame and the end rows (target NULL)."""
    nodes = raw[raw["kind"] == "node"].rename(columns={"source": "activity"})
    nodes = nodes.astype({"activity": object, "count": "int64", "cases": "int64",
                          "starts": "int64", "median_seconds": "float64",
                          "p90_seconds": "float64"})
    nodes = nodes.sort_values(["count", "activity"], ascending=[False, True])
    links = raw[raw["kind"] == "edge"].astype({"source": object, "target": object,
                                               "count": "int64"})
    ends = links[links["target"].isna()]
    edges = links[links["target"].notna()].astype(
        {"median_seconds": "float64", "p90_seconds": "float64", "mean_seconds": "float64"})
    edges = edges.sort_values(["count", "source", "target"], ascending=[False, True, True])
    return nodes.reset_index(drop=True), edges[list(EDGE_COLUMNS)].reset_index(drop=True), ends


def process_map(store: EventStore, *, business_type: str | None = None,
                filters: Filters | None = None, engine: Engine | None = None) -> ProcessMap:
    """The process map (directly-follows graph with frequency and time overlays) of the cases
    of ``business_type`` (every type without one) within ``filters`` (period, branches,
    tellers, types: :class:`procmine.analysis.filters.Filters`).

    The engine aggregates (DuckDB over the store by default, Spark via ``engine``); nothing
    per event in Python. With a branch or teller filter the map shows the steps of that
    branch or teller (a step of another teller in between is left out). No steps: an empty
    map (``cases`` 0).

    Example:
        >>> pmap = process_map(store, filters=Filters(branches=("B01",)))
        >>> pmap.business_type is None and pmap.cases > 0
        True
    """
    types = [business_type] if business_type is not None else None
    with StepData(store, None, filters, business_types=types, engine=engine) as data:
        # the prepared case order holds for whole cases; a branch's or teller's steps are
        # ordered among themselves (another teller's step in between is left out)
        whole = filters is None or not (filters.branches or filters.tellers)
        if data.prepared and whole:
            sql = _PREPARED_MAP_SQL.format(graph=_GRAPH_SQL.format(
                cases="count(*) FILTER (WHERE first_in_case)"))
        else:
            sql = _MAP_SQL.format(graph=_GRAPH_SQL.format(cases="count(DISTINCT case_id)"))
        raw = data.query(sql)
    nodes, edges, ends = _frames(raw)
    return ProcessMap(
        business_type=business_type,
        cases=int(nodes["starts"].sum()),
        nodes=nodes[list(NODE_COLUMNS)],
        edges=edges,
        start_activities=_counts(nodes, "activity", "starts"),
        end_activities=_counts(ends, "source", "count"),
    )
