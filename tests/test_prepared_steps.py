"""The prepared step relation (issue 18): written with each ingest, rebuilt for the cases a new
batch continues, dropped with its batch, and read by the step analyses with the same results as
the windows they computed before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from procmine import (
    bundled_demo_log,
    drop_batch,
    find_bottlenecks,
    load_baseline,
    monthly_league,
    months_with_data,
    process_map,
    teller_type_matrix,
    transaction_summary,
)
from procmine.analysis.steps import StepData
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore
from procmine.store.prepared import CASE_COLUMNS, STEP_COLUMNS, drop_prepared, prepare_all

HEADER = "case_id,activity,teller_id,branch_id,business_type,start_time,end_time,call_time"


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def cases(store: EventStore) -> pd.DataFrame:
    files = [str(f) for f in store.prepared_case_files()]
    return duckdb.connect().execute(f"SELECT * FROM read_parquet({files!r}) ORDER BY case_id").df()


def prepared(store: EventStore) -> pd.DataFrame:
    files = [str(f) for f in store.prepared_files()]
    frame = duckdb.connect().execute(f"SELECT * FROM read_parquet({files!r})").df()
    frame = frame.astype({"next_activity": object}).where(frame.notna(), None)
    return frame.sort_values(["case_id", "step_index"]).reset_index(drop=True)


# Case A: three steps, the second repeated (rework); case B: one step.
FIRST = [
    "A,Open,T1,B1,P01,2026-10-01 09:00:10,2026-10-01 09:00:40,2026-10-01 09:00:00",
    "A,Count cash,T1,B1,P01,2026-10-01 09:00:50,2026-10-01 09:01:50,",
    "A,Count cash,T1,B1,P01,2026-10-01 09:02:00,2026-10-01 09:02:30,",
    "B,Open,T2,B1,P01,2026-10-01 10:00:00,2026-10-01 10:00:20,2026-10-01 09:59:00",
]
# Case A goes on in the next file (a file cut in the middle of a transaction).
SECOND = [
    "A,Print,T2,B1,P01,2026-10-01 09:02:40,2026-10-01 09:03:10,",
    "C,Open,T2,B1,P01,2026-10-02 10:00:00,2026-10-02 10:00:30,",
]


def test_an_ingest_prepares_its_steps_with_the_case_columns(store: EventStore,
                                                            tmp_path: Path) -> None:
    ingest_log(store, write(tmp_path / "a.csv", FIRST))
    assert store.is_prepared()
    steps = prepared(store)
    assert list(steps.columns) == list(STEP_COLUMNS)
    a = steps[steps["case_id"] == "A"]
    assert a["activity"].tolist() == ["Open", "Count cash", "Count cash"]
    assert a["service_seconds"].tolist() == [30.0, 60.0, 30.0]
    # the first step waits from the call, the others from the previous step's end
    assert a["wait_seconds"].tolist() == [10.0, 10.0, 10.0]
    assert a["occurrence"].tolist() == [1, 1, 2]
    assert a["is_rework"].tolist() == [False, False, True]
    assert a["next_activity"].tolist() == ["Count cash", "Count cash", None]
    # dwell: 09:00:10 to 09:02:30 = 140 s
    assert a["case_steps"].tolist() == [3, 3, 3]
    assert a["share_of_case"].round(6).tolist() == [round(30 / 140, 6), round(60 / 140, 6),
                                                    round(30 / 140, 6)]
    assert a["month"].tolist() == ["2026-10"] * 3
    transactions = cases(store)
    assert list(transactions.columns) == list(CASE_COLUMNS)
    assert transactions["case_id"].tolist() == ["A", "B"]
    assert transactions["dwell_seconds"].tolist() == [140.0, 20.0]
    assert transactions["steps"].tolist() == [3, 1]
    assert transactions["queue_seconds"].isna().all()  # no ticket times in this log


def test_a_batch_that_continues_a_case_rewrites_the_earlier_batch_and_a_drop_undoes_it(
        store: EventStore, tmp_path: Path) -> None:
    first = ingest_log(store, write(tmp_path / "a.csv", FIRST))
    before = prepared(store)
    second = ingest_log(store, write(tmp_path / "b.csv", SECOND))
    assert store.is_prepared() and len(store.prepared_files()) == 2
    after = prepared(store)
    a = after[after["case_id"] == "A"]
    # the earlier batch's rows of case A now see its fourth step
    assert a["case_steps"].tolist() == [4, 4, 4, 4]
    assert a["source_batch"].tolist() == [first.batch_id] * 3 + [second.batch_id]
    assert a["next_activity"].tolist() == ["Count cash", "Count cash", "Print", None]
    assert a["wait_seconds"].tolist() == [10.0, 10.0, 10.0, 10.0]
    assert a["share_of_case"].iloc[0] == pytest.approx(30 / 180)
    # one transaction per case, in the batch of its first step
    transactions = cases(store)
    assert transactions[["case_id", "steps", "dwell_seconds", "teller_id", "source_batch"]
                        ].values.tolist() == [
        ["A", 4, 180.0, "T1", first.batch_id], ["B", 1, 20.0, "T2", first.batch_id],
        ["C", 1, 30.0, "T2", second.batch_id]]
    # case B, untouched by the second batch, is as it was
    pd.testing.assert_frame_equal(after[after["case_id"] == "B"].reset_index(drop=True),
                                  before[before["case_id"] == "B"].reset_index(drop=True))

    drop_batch(store, second.batch_id, user="ops")
    assert store.is_prepared() and len(store.prepared_files()) == 1
    pd.testing.assert_frame_equal(prepared(store), before)
    assert cases(store)[["case_id", "steps", "dwell_seconds"]].values.tolist() == [
        ["A", 3, 140.0], ["B", 1, 20.0]]


def test_a_completion_only_log_infers_service_times(store: EventStore, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("case_id,activity,end_time\nX,Open,2026-10-01 09:00:30\n"
                    "X,Count cash,2026-10-01 09:01:30\n", encoding="utf-8")
    ingest_log(store, path)
    steps = prepared(store)
    assert store.prepared_manifest()["inferred"] is True
    assert steps["service_is_inferred"].tolist() == [True, True]
    assert steps["service_seconds"].tolist()[1] == 60.0


def test_a_store_without_prepared_steps_falls_back_to_the_windows(store: EventStore,
                                                                  tmp_path: Path) -> None:
    ingest_log(store, write(tmp_path / "a.csv", FIRST + SECOND))
    with StepData(store, detail=True) as data:
        assert data.prepared
        fresh = data.statistics("teller")
    drop_prepared(store)
    assert not store.is_prepared()
    with StepData(store, detail=True) as data:
        assert not data.prepared
        windows = data.statistics("teller")
    pd.testing.assert_frame_equal(fresh, windows)


def _same(got: Any, expected: Any) -> None:
    if isinstance(got, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected)
    else:
        assert got == expected


def _analyses(store: EventStore) -> dict[str, Any]:
    baseline = load_baseline()
    pmap = process_map(store, business_type="P18")
    return {
        "findings": [f.to_dict() for f in find_bottlenecks(store, baseline)],
        "league": monthly_league(store, baseline, "2026-10"),
        "matrix": teller_type_matrix(store, baseline, month="2026-10"),
        "map": (pmap.nodes, pmap.edges, pmap.start_activities, pmap.end_activities),
        "summary": transaction_summary(store, baseline),
        "months": months_with_data(store),
    }


def test_the_demo_analyses_are_the_same_from_the_prepared_relation(tmp_path: Path) -> None:
    """Every analysis that reads the prepared steps or transactions gives what it gave from
    the windows and groupings over the events: findings of every kind (slow steps, waits,
    slices, pace, baseline), the league, the matrix, a process map and the summary."""
    store = EventStore(tmp_path / "ws")
    ingest_log(store, bundled_demo_log())
    assert store.is_prepared()
    prepared_results = _analyses(store)
    drop_prepared(store)
    assert not store.is_prepared()
    windowed = _analyses(store)
    assert len(prepared_results["findings"]) >= 3
    assert prepared_results["findings"] == windowed["findings"]
    assert prepared_results["summary"] == windowed["summary"]
    # read from the step files' names on one side, from the events on the other
    assert prepared_results["months"] == windowed["months"] == ["2026-09", "2026-10"]
    for name in ("league", "matrix"):
        _same(prepared_results[name], windowed[name])
    for got, expected in zip(prepared_results["map"], windowed["map"], strict=True):
        _same(got, expected)
    assert prepare_all(store) == store.info().events


def test_the_store_figures_are_recorded_at_ingest_and_follow_each_batch(
        store: EventStore, tmp_path: Path) -> None:
    """``info()`` reads the figures the preparation recorded (no scan of the events) while they
    are current, and they are the events' own: after an ingest, a continuing batch and a drop."""
    import json

    def recorded() -> dict[str, Any]:
        return dict(store.prepared_manifest()["figures"])

    ingest_log(store, write(tmp_path / "a.csv", FIRST))
    assert recorded() == store.event_figures()
    assert (recorded()["events"], recorded()["cases"], recorded()["tellers"]) == (4, 2, 2)
    second = ingest_log(store, write(tmp_path / "b.csv", SECOND))
    assert recorded() == store.event_figures()
    assert (recorded()["events"], recorded()["cases"]) == (6, 3)
    assert recorded()["last_event"] == "2026-10-02 10:00:30"
    info = store.info()
    assert (info.events, info.cases, info.tellers, info.batches) == (6, 3, 2, 2)
    # the recorded figures are what info() reads: a changed manifest shows through
    manifest = store.steps_dir / "prepared.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["figures"]["events"] = 999
    manifest.write_text(json.dumps(data), encoding="utf-8")
    assert store.info().events == 999
    drop_batch(store, second.batch_id, user="ops")
    assert (store.info().events, store.info().cases) == (4, 2)
    assert recorded() == store.event_figures()
