"""Process maps: nodes, edges, counts, transition and service times, start and end steps of a
hand-built log worked out by hand; rework as a self-loop; the branch, teller, period and type
filters; hiding rare paths; the networkx graph; a completion-only log; pm4py's DFG on a
generated log; ``procmine map`` (text at 80 columns, JSON, errors); Spark parity."""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from procmine import (
    Engine,
    EventStore,
    Filters,
    ProcessMap,
    ProcmineError,
    get_engine,
    process_map,
)
from procmine.cli.main import app
from procmine.demo import DemoConfig, generate_demo_log
from procmine.ingest.run import ingest_log

runner = CliRunner()

_HEADER = "case_id,activity,start_time,end_time,teller_id,branch_id,business_type"
# case: (day, teller, branch, type, [(step, start, end)]); times of day, seconds worked out below
_CASES: dict[str, tuple[str, str, str, str, list[tuple[str, str, str]]]] = {
    # a repeated Count (rework: a self-loop)
    "A": ("2026-09-01", "0101", "B01", "P17", [
        ("Call", "09:00:00", "09:00:10"), ("Count", "09:00:15", "09:00:45"),
        ("Count", "09:00:50", "09:01:10"), ("Enter", "09:01:20", "09:01:50")]),
    "B": ("2026-09-01", "0101", "B01", "P17", [
        ("Call", "10:00:00", "10:00:20"), ("Count", "10:00:30", "10:01:00"),
        ("Enter", "10:01:00", "10:01:30")]),
    # Count skipped
    "C": ("2026-09-01", "0102", "B01", "P17", [
        ("Call", "11:00:00", "11:00:05"), ("Enter", "11:00:25", "11:00:45")]),
    # another branch, a month later; the rows out of order in the file
    "D": ("2026-10-05", "0201", "B02", "P17", [
        ("Enter", "09:01:02", "09:01:32"), ("Call", "09:00:00", "09:00:10"),
        ("Count", "09:00:40", "09:01:00")]),
    # Count starts before Call ends: a negative transition
    "F": ("2026-10-05", "0201", "B02", "P17", [
        ("Call", "10:00:00", "10:00:30"), ("Count", "10:00:20", "10:00:50"),
        ("Enter", "10:01:00", "10:01:10")]),
    # ends after Count
    "G": ("2026-09-02", "0101", "B01", "P17", [
        ("Call", "09:00:00", "09:00:10"), ("Count", "09:00:20", "09:00:30")]),
    # another business type
    "E": ("2026-09-01", "0101", "B01", "P18", [
        ("Call", "12:00:00", "12:00:10"), ("Verify", "12:00:12", "12:00:40")]),
}


def _log(extra: str = "") -> str:
    lines = [_HEADER]
    for case, (day, teller, branch, kind, steps) in _CASES.items():
        lines += [f"{case},{step},{day} {start},{day} {end},{teller},{branch},{kind}"
                  for step, start, end in steps]
    return "\n".join(lines) + "\n" + extra


def _store(folder: Path, text: str) -> EventStore:
    log = folder / "log.csv"
    log.write_text(text, encoding="utf-8")
    store = EventStore(folder / "ws")
    report = ingest_log(store, log)
    assert report.quarantined == 0 and report.loaded == text.count("\n") - 1
    return store


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    return _store(tmp_path_factory.mktemp("hand"), _log())


def _edge(pmap: ProcessMap, source: str, target: str) -> dict[str, float]:
    rows = pmap.edges[(pmap.edges["source"] == source) & (pmap.edges["target"] == target)]
    assert len(rows) == 1, (source, target)
    return {str(k): v for k, v in rows.iloc[0].items()}


def _node(pmap: ProcessMap, activity: str) -> dict[str, float]:
    rows = pmap.nodes[pmap.nodes["activity"] == activity]
    assert len(rows) == 1, activity
    return {str(k): v for k, v in rows.iloc[0].items()}


# -- the map of the hand-built log -----------------------------------------------------------------


def test_nodes_edges_and_their_times_are_those_worked_out_by_hand(hand: EventStore) -> None:
    pmap = process_map(hand, business_type="P17")
    assert pmap.business_type == "P17" and pmap.cases == 6
    assert pmap.nodes.columns.tolist() == ["activity", "count", "cases", "median_seconds",
                                           "p90_seconds"]
    assert pmap.edges.columns.tolist() == ["source", "target", "count", "median_seconds",
                                           "p90_seconds", "mean_seconds"]
    # most frequent first, then by name
    assert list(zip(pmap.edges["source"], pmap.edges["target"], pmap.edges["count"],
                    strict=True)) == [("Call", "Count", 5), ("Count", "Enter", 4),
                                      ("Call", "Enter", 1), ("Count", "Count", 1)]
    # Call -> Count: A 5 s, B 10, D 30, F -10 (overlap), G 10
    call_count = _edge(pmap, "Call", "Count")
    assert call_count["median_seconds"] == 10.0
    assert call_count["p90_seconds"] == pytest.approx(22.0)  # 10 + 0.6 x (30 - 10)
    assert call_count["mean_seconds"] == pytest.approx(9.0)
    # Count -> Enter: A 10, B 0, D 2, F 10
    count_enter = _edge(pmap, "Count", "Enter")
    assert (count_enter["median_seconds"], count_enter["p90_seconds"]) == (6.0, 10.0)
    assert count_enter["mean_seconds"] == pytest.approx(5.5)
    assert _edge(pmap, "Call", "Enter")["median_seconds"] == 20.0  # C
    assert _edge(pmap, "Count", "Count")["median_seconds"] == 5.0  # A's rework: a self-loop
    assert pmap.start_activities == {"Call": 6}
    assert pmap.end_activities == {"Enter": 5, "Count": 1}


def test_node_service_times_and_cases(hand: EventStore) -> None:
    pmap = process_map(hand, business_type="P17")
    assert pmap.nodes["activity"].tolist() == ["Call", "Count", "Enter"]
    call = _node(pmap, "Call")  # 10, 20, 5, 10, 30, 10 s
    assert (call["count"], call["cases"], call["median_seconds"]) == (6, 6, 10.0)
    assert call["p90_seconds"] == pytest.approx(25.0)  # 20 + 0.5 x 10
    count = _node(pmap, "Count")  # A 30 and 20, B 30, D 20, F 30, G 10
    assert (count["count"], count["cases"], count["median_seconds"]) == (6, 5, 25.0)
    assert count["p90_seconds"] == 30.0
    enter = _node(pmap, "Enter")  # 30, 30, 20, 30, 10
    assert (enter["count"], enter["cases"], enter["median_seconds"]) == (5, 5, 30.0)


def test_every_type_and_one_other_type(hand: EventStore) -> None:
    every = process_map(hand)
    assert every.business_type is None and every.cases == 7
    assert every.start_activities == {"Call": 7}
    assert every.end_activities == {"Enter": 5, "Count": 1, "Verify": 1}
    assert _edge(every, "Call", "Verify")["median_seconds"] == 2.0
    assert _node(every, "Call")["count"] == 7
    other = process_map(hand, business_type="P18")
    assert other.cases == 1 and other.edges["count"].tolist() == [1]
    assert other.nodes["activity"].tolist() == ["Call", "Verify"]


def test_filters_by_branch_teller_and_period(hand: EventStore) -> None:
    branch = process_map(hand, business_type="P17", filters=Filters(branches=("B02",)))
    assert branch.cases == 2  # D and F
    assert _edge(branch, "Call", "Count")["median_seconds"] == 10.0  # 30 and -10
    assert _edge(branch, "Count", "Enter")["median_seconds"] == 6.0  # 2 and 10
    assert len(branch.edges) == 2
    october = process_map(hand, business_type="P17", filters=Filters.for_month("2026-10"))
    pd.testing.assert_frame_equal(october.edges, branch.edges)
    pd.testing.assert_frame_equal(october.nodes, branch.nodes)
    teller = process_map(hand, business_type="P17", filters=Filters(tellers=("0102",)))
    assert teller.cases == 1  # C
    assert list(zip(teller.edges["source"], teller.edges["target"], strict=True)) == [
        ("Call", "Enter")]
    september_b01 = process_map(hand, filters=Filters(start=date(2026, 9, 2),
                                                      end=date(2026, 9, 2), branches=("B01",)))
    assert september_b01.cases == 1 and september_b01.end_activities == {"Count": 1}  # G
    none = process_map(hand, business_type="P99")
    assert none.cases == 0 and none.nodes.empty and none.edges.empty
    assert none.start_activities == {} and none.to_dict()["edges"] == []


# -- hiding rare paths, JSON, networkx -------------------------------------------------------------


def test_filtered_keeps_the_frequent_paths_and_their_steps(hand: EventStore) -> None:
    pmap = process_map(hand, business_type="P17")
    half = pmap.filtered(min_share=0.5)  # 3 of 6 cases at least
    assert list(zip(half.edges["source"], half.edges["target"], strict=True)) == [
        ("Call", "Count"), ("Count", "Enter")]
    assert half.cases == 6
    assert half.start_activities == {"Call": 6} and half.end_activities == {"Enter": 5}
    assert sorted(half.nodes["activity"]) == ["Call", "Count", "Enter"]
    top = pmap.filtered(top_edges=1)
    assert top.edges["count"].tolist() == [5]
    # the end step Enter stays, as an end activity, though no kept path reaches it
    assert sorted(top.nodes["activity"]) == ["Call", "Count", "Enter"]
    assert top.end_activities == {"Enter": 5, "Count": 1}
    both = pmap.filtered(min_share=0.9, top_edges=5)  # at least 5.4 cases: no path
    assert both.edges.empty and both.start_activities == {"Call": 6}
    assert both.nodes["activity"].tolist() == ["Call"]
    assert pmap.filtered().edges.equals(pmap.edges)
    with pytest.raises(ProcmineError, match=r"min_share 1\.5"):
        pmap.filtered(min_share=1.5)


def test_to_dict_is_json_with_null_for_missing_times(hand: EventStore) -> None:
    data = json.loads(json.dumps(process_map(hand, business_type="P17").to_dict()))
    assert data["cases"] == 6 and data["business_type"] == "P17"
    assert data["edges"][0] == {"source": "Call", "target": "Count", "count": 5,
                                "median_seconds": 10.0, "p90_seconds": pytest.approx(22.0),
                                "mean_seconds": pytest.approx(9.0)}
    assert data["end_activities"] == {"Enter": 5, "Count": 1}
    assert {n["activity"]: n["cases"] for n in data["nodes"]} == {"Call": 6, "Count": 5,
                                                                  "Enter": 5}


def test_graph_is_a_networkx_digraph_with_the_frames_attributes(hand: EventStore) -> None:
    pmap = process_map(hand, business_type="P17")
    graph = pmap.graph()
    assert sorted(graph.nodes) == ["Call", "Count", "Enter"]
    assert graph.number_of_edges() == 4 and graph.has_edge("Count", "Count")
    assert graph.edges["Call", "Count"]["count"] == 5
    assert graph.edges["Count", "Enter"]["median_seconds"] == 6.0
    assert graph.nodes["Count"]["cases"] == 5
    assert graph.graph["cases"] == 6


# -- a completion-only log -------------------------------------------------------------------------


def test_completion_only_steps_use_their_end_and_inferred_service(
        tmp_path: Path, hand: EventStore) -> None:
    """One case without start times turns the step view detailed (service inferred): the
    other cases' map is unchanged, and that case's transitions run end to end."""
    extra = "\n".join([
        "H,Call,,2026-09-03 09:00:10,0101,B01,P28",
        "H,Enter,,2026-09-03 09:00:40,0101,B01,P28",
        "H,Print,,2026-09-03 09:00:55,0101,B01,P28",
    ]) + "\n"
    store = _store(tmp_path, _log(extra))
    before, after = process_map(hand, business_type="P17"), process_map(store, business_type="P17")
    pd.testing.assert_frame_equal(after.edges, before.edges)
    pd.testing.assert_frame_equal(after.nodes, before.nodes)
    only = process_map(store, business_type="P28")
    assert _edge(only, "Call", "Enter")["median_seconds"] == 30.0
    assert _edge(only, "Enter", "Print")["median_seconds"] == 15.0
    assert _node(only, "Enter")["median_seconds"] == 30.0  # since the previous end
    assert math.isnan(_node(only, "Call")["median_seconds"])  # no call time: unknown
    assert next(n for n in only.to_dict()["nodes"]
                if n["activity"] == "Call")["median_seconds"] is None


# -- pm4py on a generated log ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    folder = tmp_path_factory.mktemp("generated")
    table, _ = generate_demo_log(DemoConfig(events=30_000, seed=5))
    pq.write_table(table, folder / "events.parquet")
    store = EventStore(folder / "ws")
    ingest_log(store, folder / "events.parquet")
    return store


def test_equals_pm4py_dfg_on_a_generated_log(generated: EventStore) -> None:
    pm4py = pytest.importorskip("pm4py")
    events = generated.read_events(["case_id", "activity", "start_time", "end_time",
                                    "business_type"]).to_pandas()
    events = events[events["business_type"] == "P18"]
    frame = events.rename(columns={"case_id": "case:concept:name", "activity": "concept:name",
                                   "start_time": "start_timestamp",
                                   "end_time": "time:timestamp"})
    # pm4py orders a case by start, then end; ties by name as the map does
    frame = frame.sort_values(["case:concept:name", "start_timestamp", "time:timestamp",
                               "concept:name"]).reset_index(drop=True)
    performance, starts, ends = pm4py.discover_performance_dfg(frame)
    frequency, _, _ = pm4py.discover_dfg(frame)
    pmap = process_map(generated, business_type="P18")
    assert len(pmap.edges) == len(frequency) > 10
    for edge in pmap.edges.to_dict("records"):
        key = (edge["source"], edge["target"])
        assert edge["count"] == frequency[key], key
        assert edge["median_seconds"] == pytest.approx(performance[key]["median"], abs=1e-6)
        assert edge["mean_seconds"] == pytest.approx(performance[key]["mean"], abs=1e-6)
    assert pmap.start_activities == starts and pmap.end_activities == ends
    assert pmap.cases == frame["case:concept:name"].nunique()


# -- procmine map ----------------------------------------------------------------------------------


def test_cli_prints_the_paths_most_frequent_first_in_80_columns(hand: EventStore) -> None:
    result = runner.invoke(app, ["map", "--home", str(hand.home), "--type", "P17"],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "Process map of type P17, all months: 6 cases, 3 steps, 4 paths" in " ".join(
        result.output.split())
    rows = [" ".join(line.strip("│ ").split()) for line in lines
            if "->" in line and line.startswith("│")]
    assert rows == ["Call -> Count │ 5 │ 10.0 │ 22.0", "Count -> Enter │ 4 │ 6.0 │ 10.0",
                    "Call -> Enter │ 1 │ 20.0 │ 20.0", "Count -> Count │ 1 │ 5.0 │ 5.0"]
    assert "starts: Call 6" in result.output and "ends: Enter 5; Count 1" in result.output


def test_cli_filters_hides_rare_paths_and_prints_json(hand: EventStore) -> None:
    result = runner.invoke(app, ["map", "--home", str(hand.home), "--type", "P17", "--month",
                                 "2026-09", "--branch", "B01", "--min-share", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["cases"] == 4  # A, B, C, G
    assert [(e["source"], e["target"], e["count"]) for e in data["edges"]] == [
        ("Call", "Count", 3), ("Count", "Enter", 2)]
    assert set(data["edges"][0]) == {"source", "target", "count", "median_seconds",
                                     "p90_seconds", "mean_seconds"}
    result = runner.invoke(app, ["map", "--home", str(hand.home), "--teller", "0101", "--top",
                                 "1"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "every type, all months, teller 0101: 4 cases, 4 steps, 4 paths (1 shown)" in " ".join(
        result.output.split())


def test_cli_says_what_has_data_when_nothing_matches(hand: EventStore, tmp_path: Path) -> None:
    result = runner.invoke(app, ["map", "--home", str(hand.home), "--type", "P99"])
    assert isinstance(result.exception, ProcmineError)
    assert "no transactions for type P99, all months" in str(result.exception)
    assert "business types with data: P17, P18" in str(result.exception)
    assert "months: 2026-09, 2026-10" in str(result.exception)
    result = runner.invoke(app, ["map", "--home", str(tmp_path / "empty")])
    assert "the store has no events" in str(result.exception)
    result = runner.invoke(app, ["map", "--home", str(hand.home), "--min-share", "2"])
    assert result.exit_code != 0


# -- Spark -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark(generated: EventStore) -> Iterator[Engine]:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")
    engine = get_engine("spark", generated)
    yield engine
    engine.close()


def test_the_map_is_the_same_on_spark(generated: EventStore, spark: Engine) -> None:
    for kwargs in ({"business_type": "P18"},
                   {"filters": Filters(branches=("B02",), start=date(2026, 10, 1))},
                   {}):
        duck = process_map(generated, **kwargs)  # type: ignore[arg-type]
        other = process_map(generated, engine=spark, **kwargs)  # type: ignore[arg-type]
        assert duck.cases == other.cases > 100
        pd.testing.assert_frame_equal(duck.edges, other.edges, check_exact=False, rtol=1e-12)
        pd.testing.assert_frame_equal(duck.nodes, other.nodes, check_exact=False, rtol=1e-12)
        assert duck.start_activities == other.start_activities
        assert duck.end_activities == other.end_activities
