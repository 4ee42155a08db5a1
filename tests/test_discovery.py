"""The discovered model: on the demo workspace, P18's model holds every step of its map, its
plain form, BPMN XML and PNML; the noise filter on a hand-built log and on a graph worked out by
hand; the layered layout; ``procmine model`` (text, JSON, BPMN to a file, errors); the Process
map page's Discovered model section through AppTest."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from apptest import app_as, signed_in
from demo_kit import copy_demo_workspace
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from procmine import (
    DiscoveredModel,
    EventStore,
    Filters,
    ProcmineError,
    denoised,
    discover_model,
    model_from_map,
    process_map,
    t,
)
from procmine.cli.main import app
from procmine.cli.model import tree_lines
from procmine.ingest.run import ingest_log
from procmine.maps.discovery import lay_out

runner = CliRunner()
BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
REPO = Path(__file__).resolve().parents[1]
MAP_PAGE = str(REPO / "procmine/dashboard/pages/process_map.py")
ZH = "zh-CN"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("model-demo") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture(scope="module")
def demo(demo_home: Path) -> EventStore:
    return EventStore(demo_home)


@pytest.fixture(scope="module")
def p18(demo: EventStore) -> DiscoveredModel:
    return discover_model(demo, business_type="P18")


# -- the demo's P18 --------------------------------------------------------------------------------


def test_p18s_model_holds_every_step_of_its_map(demo: EventStore, p18: DiscoveredModel) -> None:
    pmap = process_map(demo, business_type="P18")
    assert p18.business_type == "P18" and p18.cases == pmap.cases > 1000
    assert p18.noise_threshold == 0.0 and p18.dropped_edges == ()
    steps = sorted(str(a) for a in pmap.nodes["activity"])
    assert p18.activities() == steps
    # each step is one visible transition and one BPMN task, named as in the log
    labels = [str(tr.label) for tr in p18.net.transitions if tr.label is not None]
    assert sorted(labels) == steps
    tree = str(p18.tree)
    assert tree.startswith("->( 'Call number', ")
    assert all(f"'{step}'" in tree for step in steps)
    # the model from the map at hand is the same
    assert str(model_from_map(pmap).tree) == tree


def test_the_plain_form_lists_net_and_diagram(p18: DiscoveredModel) -> None:
    data = p18.to_dict()
    assert sorted(data) == ["bpmn", "business_type", "cases", "dropped_edges",
                            "noise_threshold", "petri_net", "process_tree"]
    assert json.loads(json.dumps(data)) == data   # plain JSON values
    assert data["process_tree"] == str(p18.tree)
    net = data["petri_net"]
    assert len(net["places"]) == len(p18.net.places)
    assert net["initial_marking"] == {"source": 1} and net["final_marking"] == {"sink": 1}
    assert {tuple(sorted(tr)) for tr in net["transitions"]} == {("label", "name")}
    visible = [tr["label"] for tr in net["transitions"] if tr["label"] is not None]
    assert visible == p18.activities()   # visible ones first, by label
    names = set(net["places"]) | {tr["name"] for tr in net["transitions"]}
    assert len(net["arcs"]) == len(p18.net.arcs)
    assert all(a["source"] in names and a["target"] in names for a in net["arcs"])
    bpmn = data["bpmn"]
    types = [n["type"] for n in bpmn["nodes"]]
    assert types.count("startEvent") == 1 and types.count("endEvent") == 1
    assert sorted(n["label"] for n in bpmn["nodes"] if n["type"] == "task") == p18.activities()
    assert all(n["label"] is None for n in bpmn["nodes"] if n["type"] != "task")
    assert {"exclusiveGateway"} <= set(types)
    ids = {n["id"] for n in bpmn["nodes"]}
    assert all(f["source"] in ids and f["target"] in ids for f in bpmn["flows"])


def test_bpmn_xml_has_a_task_per_step_laid_out_left_to_right(p18: DiscoveredModel) -> None:
    root = ET.fromstring(p18.bpmn_xml())
    assert root.tag == f"{BPMN_NS}definitions"
    tasks = root.findall(f".//{BPMN_NS}task")
    assert sorted(task.get("name") for task in tasks) == p18.activities()
    flows = root.findall(f".//{BPMN_NS}sequenceFlow")
    assert len(flows) == len(p18.to_dict()["bpmn"]["flows"])
    # the diagram's shapes are placed: the start event left of every task, the end right
    bounds = {shape.get("bpmnElement"): float(shape[0].get("x", "nan"))
              for shape in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape")}
    start = root.find(f".//{BPMN_NS}startEvent")
    end = root.find(f".//{BPMN_NS}endEvent")
    assert start is not None and end is not None
    xs = [bounds[task.get("id")] for task in tasks]
    assert bounds[start.get("id")] < min(xs) and max(xs) < bounds[end.get("id")]
    assert len(set(xs)) > len(xs) // 2   # spread over the layers, not piled up


def test_pnml_is_the_net_pm4py_reads_back(p18: DiscoveredModel, tmp_path: Path) -> None:
    import pm4py

    path = tmp_path / "p18.pnml"
    path.write_text(p18.pnml(), encoding="utf-8")
    net, initial, final = pm4py.read_pnml(str(path))
    assert sorted(str(tr.label) for tr in net.transitions if tr.label) == p18.activities()
    assert (len(net.places), len(net.arcs)) == (len(p18.net.places), len(p18.net.arcs))
    assert [p.name for p in initial] == ["source"] and [p.name for p in final] == ["sink"]


def test_graphs_to_draw_are_laid_out(p18: DiscoveredModel) -> None:
    bpmn = p18.graph("bpmn")
    assert bpmn.number_of_nodes() == len(p18.bpmn.get_nodes())
    kinds = nx.get_node_attributes(bpmn, "kind")
    start = next(n for n, k in kinds.items() if k == "startEvent")
    end = next(n for n, k in kinds.items() if k == "endEvent")
    layers = nx.get_node_attributes(bpmn, "layer")
    assert layers[start] == 0 and layers[end] == max(layers.values())
    # every edge that is not a loop's way back runs to a later layer
    for source, target, back in bpmn.edges(data="back"):
        assert back or layers[target] > layers[source]
    assert sum(1 for *_, back in bpmn.edges(data="back") if back) >= 1   # the rework loops
    petri = p18.graph("petri")
    places = {n for n, k in nx.get_node_attributes(petri, "kind").items() if k == "place"}
    assert places == {str(p.name) for p in p18.net.places}
    assert petri.nodes["source"]["tokens"] == 1 and petri.nodes["sink"]["final"] == 1
    # no two nodes share a place
    spots = [(d["layer"], d["row"]) for _, d in petri.nodes(data=True)]
    assert len(spots) == len(set(spots))
    with pytest.raises(ProcmineError, match="graph kind 'dot'"):
        p18.graph("dot")


def test_lay_out_sets_loops_aside() -> None:
    graph = nx.DiGraph([("s", "a"), ("a", "b"), ("b", "a"), ("b", "e"), ("s", "c"), ("c", "e")])
    lay_out(graph)
    assert {n: graph.nodes[n]["layer"] for n in graph} == {"s": 0, "a": 1, "c": 1, "b": 2,
                                                            "e": 3}
    assert [e for e in graph.edges if graph.edges[e]["back"]] == [("b", "a")]
    assert sorted(graph.nodes[n]["row"] for n in ("a", "c")) == [-0.5, 0.5]


# -- noise -----------------------------------------------------------------------------------------


def test_denoised_drops_rare_paths_rarest_first_and_keeps_every_step() -> None:
    # a -> b -> c in 90 cases; b <-> c swapped once, a -> c once
    edges = {("a", "b"): 90, ("b", "c"): 89, ("c", "b"): 1, ("a", "c"): 1, ("b", "d"): 1}
    starts, ends = {"a": 91, "d": 2}, {"c": 90, "b": 1, "d": 3}
    kept, kept_starts, kept_ends = denoised(edges, starts, ends, 0.05)
    # c -> b: 1 <= 0.05 x 90 (c's most frequent way out is ending: 90); a -> c and b -> d
    # likewise. d's start (2 < 0.05 x 91) is noise too, but once b -> d is gone (rarer, so
    # first) it is d's only way in: it stays
    assert kept == {("a", "b"): 90, ("b", "c"): 89}
    assert kept_starts == starts and kept_ends == ends
    # without d's other way in gone first, its rare start goes
    assert denoised({**edges, ("b", "d"): 3}, starts, ends, 0.05)[1] == {"a": 91}
    # nothing is noise at 0
    assert denoised(edges, starts, ends, 0.0) == (edges, starts, ends)
    for bad in (-0.1, 1.0):
        with pytest.raises(ProcmineError, match="noise threshold"):
            denoised(edges, starts, ends, bad)


def _hand_store(folder: Path) -> EventStore:
    """P17: 20 cases Call, Count, Enter; one Call, Enter, Count (a swap); 20 seconds a step."""
    lines = ["case_id,activity,start_time,end_time,teller_id,branch_id,business_type"]
    for i in range(21):
        steps = ["Call", "Count", "Enter"] if i < 20 else ["Call", "Enter", "Count"]
        for j, step in enumerate(steps):
            start = f"2026-09-01 09:{i:02d}:{j * 20:02d}"
            end = f"2026-09-01 09:{i:02d}:{j * 20 + 15:02d}"
            lines.append(f"C{i:02d},{step},{start},{end},0101,B01,P17")
    log = folder / "log.csv"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = EventStore(folder / "ws")
    assert ingest_log(store, log).loaded == 63
    return store


def test_noise_drops_a_rare_swaps_effect(tmp_path: Path) -> None:
    store = _hand_store(tmp_path)
    whole = discover_model(store, business_type="P17")
    # one case with Enter before Count makes them parallel
    assert str(whole.tree) == "->( 'Call', +( 'Count', 'Enter' ) )"
    model = discover_model(store, business_type="P17", noise_threshold=0.1)
    # Call -> Enter (1 <= 0.1 x 20) and Enter -> Count (1 <= 0.1 x 20, Enter ends 20 cases)
    # are noise; Count ends one case, so it may end: the sequence, its last step optional
    assert model.dropped_edges == (("Call", "Enter", 1), ("Enter", "Count", 1))
    assert str(model.tree) == "->( 'Call', 'Count', X( tau, 'Enter' ) )"
    assert model.activities() == whole.activities() == ["Call", "Count", "Enter"]
    assert model.cases == whole.cases == 21


def test_nothing_to_discover_is_a_clear_error(demo: EventStore) -> None:
    with pytest.raises(ProcmineError, match="no transactions of P99"):
        discover_model(demo, business_type="P99")
    with pytest.raises(ProcmineError, match=r"noise threshold 1\.5"):
        discover_model(demo, business_type="P18", noise_threshold=1.5)
    later = discover_model(demo, business_type="P18", filters=Filters.for_month("2026-10"))
    assert 0 < later.cases < discover_model(demo, business_type="P18").cases


# -- procmine model --------------------------------------------------------------------------------


def test_cli_text_is_the_tree_in_80_columns_and_the_counts(demo: EventStore,
                                                          p18: DiscoveredModel) -> None:
    result = runner.invoke(app, ["model", "--home", str(demo.home), "--type", "P18"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    tree = lines[:lines.index("")]
    assert tree == tree_lines(p18.tree)
    assert tree[0] == "->(" and tree[1] == "  'Call number'," and tree[-1] == ")"
    # the indented tree is pm4py's notation: joined up again it is the tree's string
    assert "".join(tree).replace(" ", "") == str(p18.tree).replace(" ", "")
    steps = len(p18.activities())
    assert f"Model of type P18, all months: {p18.cases:,} cases, {steps} steps" in result.output
    places, transitions = len(p18.net.places), len(p18.net.transitions)
    assert f"Petri net: {places} places, {transitions} transitions" in result.output


def test_cli_json_bpmn_and_noise(demo: EventStore, p18: DiscoveredModel, tmp_path: Path) -> None:
    result = runner.invoke(app, ["model", "--home", str(demo.home), "--type", "P18",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["process_tree"] == str(p18.tree) and data["cases"] == p18.cases
    assert len(data["petri_net"]["arcs"]) == len(p18.net.arcs)
    out = tmp_path / "p18.bpmn"
    result = runner.invoke(app, ["model", "--home", str(demo.home), "--type", "P18", "--month",
                                 "2026-10", "--branch", "B01", "--noise", "0.1", "--format",
                                 "bpmn", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {out} (bpmn, ")
    tasks = ET.fromstring(out.read_text(encoding="utf-8")).findall(f".//{BPMN_NS}task")
    expected = discover_model(demo, business_type="P18", noise_threshold=0.1,
                              filters=Filters.for_month("2026-10", branches=("B01",)))
    assert sorted(task.get("name") for task in tasks) == expected.activities()
    result = runner.invoke(app, ["model", "--home", str(demo.home), "--type", "P18",
                                 "--noise", "0.1"])
    noisy = discover_model(demo, business_type="P18", noise_threshold=0.1)
    assert len(noisy.dropped_edges) > 0
    assert (f"noise left out {len(noisy.dropped_edges)} paths, the most frequent:\n"
            f"  {noisy.dropped_edges[0][0]} -> {noisy.dropped_edges[0][1]}: "
            f"{noisy.dropped_edges[0][2]:,}\n") in result.output
    result = runner.invoke(app, ["model", "--home", str(demo.home), "--type", "P18",
                                 "--format", "pnml"])
    assert result.exit_code == 0 and "<pnml>" in result.output


def test_cli_a_bad_type_or_option_is_a_clear_error(demo: EventStore) -> None:
    result = runner.invoke(app, ["model", "--home", str(demo.home), "--type", "P99"])
    assert isinstance(result.exception, ProcmineError)
    assert "no transactions for type P99" in str(result.exception)
    assert "business types with data: C41" in str(result.exception)
    for bad in (["--format", "xml"], ["--noise", "1.5"]):
        result = runner.invoke(app, ["model", "--home", str(demo.home), "--type", "P18", *bad])
        assert result.exit_code == 2 and result.exception is not None
        assert not isinstance(result.exception, ProcmineError | AssertionError)
    result = runner.invoke(app, ["model", "--home", str(demo.home)])
    assert result.exit_code == 2 and "--type" in result.output


# -- the Process map page's Discovered model section -----------------------------------------------


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    yield demo_home


def _model_page(home: Path, **state: Any) -> AppTest:
    """The process map page with its Discovered model section opened, over the whole period
    (the model of every case) unless ``state`` says otherwise (the page opens on the latest
    month)."""
    at = app_as("operations", home)
    for key, value in {"period_month": "whole", "pmodel_open": True, **state}.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(MAP_PAGE).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_the_section_is_drawn_only_once_opened(home: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The page opens with the model's section closed: no model asked for, one chart (the
    map's) sent to the browser; opened, the model is drawn below the map."""
    from procmine.dashboard import data_maps

    asked: list[float] = []
    kept = data_maps.model_of
    monkeypatch.setattr(data_maps, "model_of", lambda code, within, noise: (
        asked.append(noise) or kept(code, within, noise)))
    at = _model_page(home, pmap_type="P18", pmodel_open=False)
    assert [e.label for e in at.expander] == [t("model.title", ZH)]
    assert len(at.get("plotly_chart")) == 1 and not at.get("download_button")
    assert asked == []
    at.session_state["pmodel_open"] = True
    at.run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 2 and len(at.get("download_button")) == 2
    assert asked == [0.0]


def _model_traces(at: AppTest) -> dict[str, dict[str, Any]]:
    """The model chart's traces that carry a ``meta`` name (the map is the page's first)."""
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    spec = json.loads(charts[1].proto.spec)
    return {str(trace["meta"]): trace for trace in spec["data"] if trace.get("meta")}


def test_the_section_draws_the_model_with_the_sops_step_names(home: Path,
                                                              p18: DiscoveredModel) -> None:
    at = _model_page(home, pmap_type="P18")
    assert at.expander[0].label == t("model.title", ZH)
    assert at.radio(key="pmodel_kind").value == "bpmn"
    steps = _model_traces(at)["steps"]["customdata"]
    # each step once, under the SOP's Chinese name; the log's name and count in the hover
    assert sorted(log for _, log, _ in steps) == p18.activities()
    shown = {log: name for name, log, _ in steps}
    assert shown["Count cash"] == "点钞" and shown["Call number"] == "叫号"
    counts = process_map(EventStore(home), business_type="P18").nodes.set_index("activity")
    assert {log: n for _, log, n in steps} == {
        str(a): f"{int(counts.loc[a, 'count']):,}" for a in counts.index}
    markers = [k for (k,) in _model_traces(at)["markers"]["customdata"]]
    assert markers.count("startEvent") == 1 and "exclusiveGateway" in markers
    captions = [c.value for c in at.caption]
    steps = len(p18.activities())
    assert t("model.caption", ZH, cases=f"{p18.cases:,}", steps=steps, dropped=0,
             noise="0") in captions
    downloads = at.get("download_button")
    assert len(downloads) == 2
    # the Petri net; noise leaves out the rare paths
    at.radio(key="pmodel_kind").set_value("petri").run()
    at.slider(key="pmodel_noise").set_value(0.1).run()
    assert not at.exception
    markers = [k for (k,) in _model_traces(at)["markers"]["customdata"]]
    noisy = discover_model(EventStore(home), business_type="P18", noise_threshold=0.1)
    assert markers == ["place"] * len(noisy.net.places)
    assert t("model.caption", ZH, cases=f"{p18.cases:,}", steps=steps,
             dropped=len(noisy.dropped_edges), noise="0.1") in [c.value for c in at.caption]


def test_in_english_the_model_names_steps_as_logged(home: Path, p18: DiscoveredModel) -> None:
    # the page alone, as tests/test_dashboard_maps.py opens a page in English
    at = AppTest.from_file(MAP_PAGE, default_timeout=60)
    at.session_state["procmine_user"] = signed_in("operations", home)
    at.session_state["procmine_lang"] = "en"
    at.session_state["pmap_type"] = "P18"
    at.session_state["pmodel_open"] = True
    at.run()
    assert not at.exception, at.exception
    assert at.expander[0].label == "Discovered model"
    steps = _model_traces(at)["steps"]["customdata"]
    assert sorted(name for name, _, _ in steps) == p18.activities()
    labels = [b.label for b in at.get("download_button")]
    assert labels == [t("model.download_bpmn", "en"), t("model.download_pnml", "en")]


def test_without_pm4py_the_section_says_so_and_the_map_stays(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine.maps import discovery

    def missing() -> None:
        raise ProcmineError("discovering a model needs pm4py: install procmine's maps extra")

    monkeypatch.setattr(discovery, "_pm4py", missing)
    # the model the page keeps (discovered by other tests, with pm4py) put aside
    import streamlit as st

    from procmine.store.result_cache import ResultCache

    st.cache_data.clear()
    ResultCache(EventStore(home)).clear()
    at = _model_page(home, pmap_type="P18")
    assert [i.value for i in at.info] == [
        "discovering a model needs pm4py: install procmine's maps extra"]
    assert len(at.get("plotly_chart")) == 1 and not at.get("download_button")


def _cases(path: Path, first: int, n: int, steps: tuple[str, ...]) -> Path:
    rows = [f"C{first + i},P17,{step},2026-10-01 09:{i % 60:02d}:{k:02d}"
            for i in range(n) for k, step in enumerate(steps)]
    path.write_text("case_id,business_type,activity,end_time\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    return path


def test_the_page_keeps_the_model_until_the_store_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model a page draws is discovered once per map and noise (not on every run) and
    again after an ingest, which the next view shows."""
    from procmine.dashboard import data_maps
    from procmine.dashboard.components.model_chart import DrawnModel

    home = tmp_path / "workspace"
    monkeypatch.setenv("PROCMINE_HOME", str(home))
    store = EventStore(home)
    ingest_log(store, _cases(tmp_path / "a.csv", 0, 40, ("Call number", "Count cash")))
    found: list[float] = []
    discover = data_maps.model_from_map
    monkeypatch.setattr(data_maps, "model_from_map", lambda pmap, *, noise_threshold: (
        found.append(noise_threshold) or discover(pmap, noise_threshold=noise_threshold)))
    first = data_maps.model_of("P17", Filters(), 0.0)
    assert isinstance(first, DrawnModel) and (first.cases, first.steps) == (40, 2)
    again = data_maps.model_of("P17", Filters(), 0.0)   # a copy of the kept one
    assert found == [0.0] and (again.bpmn_xml, again.pnml, again.tree) == (
        first.bpmn_xml, first.pnml, first.tree)
    assert all(sorted(again.graphs[k].nodes(data=True)) == sorted(first.graphs[k].nodes(data=True))
               for k in ("bpmn", "petri"))
    assert data_maps.model_of("P17", Filters(), 0.2).cases == 40 and found == [0.0, 0.2]
    labels = {d["label"] for _, d in first.graphs["bpmn"].nodes(data=True)} - {None}
    assert labels == {"Call number", "Count cash"} and "Count cash" in first.bpmn_xml

    ingest_log(store, _cases(tmp_path / "b.csv", 40, 10,
                             ("Call number", "Count cash", "Enter transaction")))
    after = data_maps.model_of("P17", Filters(), 0.0)
    assert found == [0.0, 0.2, 0.0] and (after.cases, after.steps) == (50, 3)
    assert "Enter transaction" in after.pnml
