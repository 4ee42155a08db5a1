"""The Process map and Variants pages through AppTest, on the demo workspace: the map drawn is
the library's (:func:`procmine.process_map`) with its rare paths hidden below the threshold, the
variants page marks the SOP's path and its Pareto curve ends at the coverage of what it shows, a
branch manager's map and variants are their branch's only, a teller opens neither."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptest import app_as, signed_in
from demo_kit import copy_demo_workspace
from streamlit.testing.v1 import AppTest

from procmine import (
    EventStore,
    Filters,
    SopLibrary,
    activity_names,
    process_map,
    t,
    variants,
)
from procmine.dashboard.components.map_chart import END, START, layered_layout

REPO = Path(__file__).resolve().parents[1]
MAP = "procmine/dashboard/pages/process_map.py"
VARIANTS = "procmine/dashboard/pages/variants.py"
ZH = "zh-CN"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("maps-workspace")
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    yield demo_home


def _page(role: str, home: Path, script: str, **state: Any) -> AppTest:
    at = app_as(role, home)
    # over the whole period, as the library's figures compared with (pages open on the
    # latest month: tests/test_period.py)
    for key, value in {"period_month": "whole", **state}.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(script).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _traces(at: AppTest, index: int = 0) -> dict[str, dict[str, Any]]:
    """The traces of the page's ``index``-th chart that carry a ``meta`` name, by it."""
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return {str(trace["meta"]): trace for trace in spec["data"] if trace.get("meta")}


def _drawn_edges(at: AppTest) -> list[tuple[str, str, str]]:
    """The edges the map draws: source, target and count as their hover shows them."""
    return [(s, t_, n) for s, t_, n, *_ in _traces(at)["edges"]["customdata"]]


def _zh(activity: object) -> str:
    """A step's name as the Chinese pages show it (:func:`procmine.activity_names`)."""
    return activity_names(SopLibrary.open(os.environ["PROCMINE_HOME"])).name(str(activity), ZH)


def _expected(pmap: Any) -> list[tuple[str, str, str]]:
    return [(_zh(s), _zh(t_), f"{int(n):,}") for s, t_, n in
            zip(pmap.edges["source"], pmap.edges["target"], pmap.edges["count"], strict=True)]


# -- the Process map -------------------------------------------------------------------------------


def test_the_map_is_the_librarys_and_the_threshold_hides_rare_paths(home: Path) -> None:
    store = EventStore(home)
    at = _page("operations", home, MAP)
    # the default type is the one with the most transactions
    assert at.selectbox(key="pmap_type").value == "P17"
    at.selectbox(key="pmap_type").set_value("P18").run()
    assert not at.exception
    full = process_map(store, business_type="P18")
    default = full.filtered(min_share=0.01)
    assert len(default.edges) < len(full.edges)
    assert _drawn_edges(at) == _expected(default)
    nodes = _traces(at)["nodes"]
    assert sorted(c[0] for c in nodes["customdata"]) == sorted(map(_zh, default.nodes["activity"]))
    assert "点钞" in [c[0] for c in nodes["customdata"]]  # the SOP's name of Count cash
    hidden = len(full.edges) - len(default.edges)
    passages = int(full.edges["count"].sum() - default.edges["count"].sum())
    captions = [c.value for c in at.caption]
    assert t("maps.caption", ZH, cases=f"{full.cases:,}", steps=len(full.nodes),
             shown=len(default.edges), edges=len(full.edges)) in captions
    every = int(full.edges["count"].sum())
    assert t("maps.hidden", ZH, hidden=hidden, share="1", passages=f"{passages:,}",
             pct=f"{passages / every:.1%}") in captions
    # the table below lists the paths drawn, with their share of the cases
    table = at.dataframe[0].value
    assert list(zip(table["source"], table["target"], strict=True)) == [
        (s, t_) for s, t_, _ in _expected(default)]
    assert table["share"].iloc[0] == pytest.approx(default.edges["count"].iloc[0] / full.cases)
    # no threshold: every path; a higher one: fewer
    at.slider(key="pmap_threshold").set_value(0.0).run()
    assert _drawn_edges(at) == _expected(full)
    at.slider(key="pmap_threshold").set_value(50.0).run()
    assert _drawn_edges(at) == _expected(full.filtered(min_share=0.5))
    assert len(_drawn_edges(at)) < len(default.edges)


def test_the_overlays_label_counts_or_times_and_the_download_format(home: Path) -> None:
    at = _page("operations", home, MAP, pmap_type="P18", pmap_threshold=0.0)
    full = process_map(EventStore(home), business_type="P18")
    edges = _traces(at)["edges"]
    assert edges["text"] == [f"{int(n):,}" for n in full.edges["count"]]
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["toImageButtonOptions"]["format"] == "png"
    at.radio(key="pmap_overlay").set_value("performance").run()
    at.radio(key="pmap_stat").set_value("p90").run()
    at.radio(key="pmap_format").set_value("svg").run()
    assert not at.exception
    texts = _traces(at)["edges"]["text"]
    longest = int(full.edges["p90_seconds"].idxmax())
    assert texts[longest] == t("units.seconds", ZH,
                               value=f"{full.edges['p90_seconds'].max():.0f}")
    config = json.loads(at.get("plotly_chart")[0].proto.config)
    assert config["toImageButtonOptions"] == {"format": "svg", "filename": "process-map-P18",
                                              "scale": 2}


def test_a_branch_managers_map_is_their_branchs(home: Path) -> None:
    at = _page("branch_manager", home, MAP, pmap_threshold=0.0)
    assert at.selectbox(key="pmap_branch").options == ["B01"]
    assert at.selectbox(key="pmap_teller").options[1:] == [f"010{i}" for i in range(1, 9)]
    code = at.selectbox(key="pmap_type").value
    mine = process_map(EventStore(home), business_type=code, filters=Filters(branches=("B01",)))
    bank = process_map(EventStore(home), business_type=code)
    assert mine.cases < bank.cases
    assert _drawn_edges(at) == _expected(mine)
    assert t("maps.caption", ZH, cases=f"{mine.cases:,}", steps=len(mine.nodes),
             shown=len(mine.edges), edges=len(mine.edges)) in [c.value for c in at.caption]
    # one of their tellers
    at.selectbox(key="pmap_teller").set_value("0103").run()
    teller = process_map(EventStore(home), business_type=code,
                         filters=Filters(branches=("B01",), tellers=("0103",)))
    assert _drawn_edges(at) == _expected(teller)


# -- Variants --------------------------------------------------------------------------------------


def test_the_variants_mark_the_sops_path_and_the_pareto_ends_at_the_coverage(home: Path) -> None:
    at = _page("reviewer", home, VARIANTS, variants_type="P18")
    expected = variants(EventStore(home), business_type="P18", library=SopLibrary.open(home),
                        top=10)
    table = at.dataframe[0].value
    mark = t("variants.prescribed_mark", ZH)
    assert list(table["cases"]) == list(expected.frame["cases"])
    assert list(table["mark"]) == [mark if p else "" for p in expected.frame["prescribed"]]
    assert list(table["mark"]).count(mark) == 1
    assert table["steps"].iloc[0] == " → ".join(map(_zh, expected.frame["activities"].iloc[0]))
    assert expected.prescribed_rank is not None and expected.sop is not None
    assert t("variants.prescribed_at", ZH, sop=expected.sop.replace("@", "\\@"),
             rank=expected.prescribed_rank, cases=f"{expected.prescribed_cases:,}",
             share=f"{expected.prescribed_cases / expected.cases:.1%}") in [
        c.value for c in at.caption]
    pareto = _traces(at)
    covered = float(expected.frame["cumulative_share"].iloc[-1])
    assert pareto["cumulative"]["y"][-1] == pytest.approx(covered)
    assert pareto["share"]["y"] == pytest.approx(list(expected.frame["share"]))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("variants.coverage_metric", ZH, n=len(expected.frame))] == f"{covered:.1%}"
    assert metrics[t("variants.count_metric", ZH)] == f"{expected.variant_count:,}"
    # every variant: the curve reaches all the cases
    at.number_input(key="variants_top").set_value(500).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == expected.variant_count
    assert _traces(at)["cumulative"]["y"][-1] == pytest.approx(1.0)


def test_a_branch_managers_variants_are_their_branchs(home: Path) -> None:
    at = _page("branch_manager", home, VARIANTS, variants_type="P18")
    mine = variants(EventStore(home), business_type="P18", filters=Filters(branches=("B01",)),
                    top=10)
    assert mine.cases < variants(EventStore(home), business_type="P18").cases
    assert list(at.dataframe[0].value["cases"]) == list(mine.frame["cases"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("overview.transactions", ZH)] == f"{mine.cases:,}"


# -- who may open them -----------------------------------------------------------------------------


@pytest.mark.parametrize("script", [MAP, VARIANTS])
def test_a_teller_cannot_open_them(home: Path, script: str) -> None:
    at = AppTest.from_file(str(REPO / script), default_timeout=60)
    at.session_state["procmine_user"] = signed_in("teller", home)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        t("auth.not_allowed", ZH, role=t("roles.teller", ZH))]
    assert not at.get("plotly_chart") and not at.dataframe


@pytest.mark.parametrize(("script", "title"), [(MAP, "Process map"), (VARIANTS, "Variants")])
def test_the_pages_in_english(home: Path, script: str, title: str) -> None:
    at = AppTest.from_file(str(REPO / script), default_timeout=60)
    at.session_state["procmine_user"] = signed_in("operations", home)
    at.session_state["procmine_lang"] = "en"
    at.session_state["period_month"] = "whole"
    at.run()
    assert not at.exception, at.exception
    assert [x.value for x in at.title] == [title]
    if script == MAP:
        assert _traces(at)["terminals"]["text"] == ["Start", "End"]
    else:
        assert t("variants.prescribed_mark", "en") in list(at.dataframe[0].value["mark"])


# -- the layout ------------------------------------------------------------------------------------


def test_the_layout_keeps_the_main_path_on_one_row_and_optional_steps_beside_it(
        home: Path) -> None:
    pmap = process_map(EventStore(home), business_type="P18")
    place = layered_layout(pmap.edges, pmap.start_activities, pmap.end_activities,
                           pmap.nodes["activity"])
    assert place[START] == (0, 0) and place[END][0] == max(p[0] for p in place.values())
    main = {a for a, p in place.items() if p[1] == 0}
    assert {"Call number", "Enter transaction", "Count cash", "See off"} <= main
    assert place["Verify identity"][1] != 0 and place["Second-person recount"][1] != 0
    # every node its own place, and each kept edge of the main flow goes forward
    assert len(set(place.values())) == len(place)
    assert place["Read card or passbook"][0] < place["Enter transaction"][0]


def test_every_line_ends_in_an_arrowhead_turned_along_it() -> None:
    """The edges are drawn as path shapes and their arrowheads as one trace: a head per edge
    and per dotted start or end line, at its line's last point, pointing along its last
    segment (a straight edge left to right points right, 90 degrees from up)."""
    import pandas as pd

    from procmine.dashboard.components.map_chart import process_map_figure

    edges = pd.DataFrame({"source": ["a", "b", "b", "c"], "target": ["b", "c", "b", "a"],
                          "count": [10, 8, 2, 1], "median_seconds": [5.0, 50.0, 1.0, None],
                          "p90_seconds": [9.0, 90.0, 2.0, None]})
    nodes = pd.DataFrame({"activity": ["a", "b", "c"], "count": [10, 12, 8],
                          "cases": [10, 10, 8], "median_seconds": [3.0, 4.0, 5.0],
                          "p90_seconds": [6.0, 7.0, 8.0]})
    labels = dict.fromkeys(["start", "end", "count", "cases", "median", "p90", "service",
                            "transition", "colour"], "x")
    figure = process_map_figure(nodes, edges, {"a": 10}, {"c": 8}, labels, str, direction="LR")
    heads = next(trace for trace in figure.data if trace.meta == "arrowheads")
    lines = [shape for shape in figure.layout.shapes if shape.type == "path"]
    assert figure.data[0].meta == "arrowheads"   # under every label
    assert len(heads.x) == len(lines) == len(edges) + 2
    for x, y, angle, shape in zip(heads.x, heads.y, heads.marker.angle, lines, strict=True):
        points = [tuple(map(float, p.split(","))) for p in shape.path[2:].split(" L ")]
        assert (x, y) == pytest.approx(points[-1], abs=1e-3)
        (x0, y0), (x1, y1) = points[-2:]
        # (the path is written to 4 decimals: a short last segment turns a little)
        assert angle == pytest.approx(math.degrees(math.atan2(x1 - x0, y1 - y0)), abs=1.0)
    a_to_b = 0   # the first edge: a and b side by side on the main row
    assert heads.marker.angle[a_to_b] == pytest.approx(90.0, abs=1.0)
    assert heads.marker.color[a_to_b] == lines[a_to_b].line.color
