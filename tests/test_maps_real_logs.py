"""The process map of the real logs in ../shared/real_logs equals pm4py's directly-follows graphs.

- receipt (CoSeLoG, J.C.A.M. Buijs, 4TU; complete events only): the edge counts and the start
  and end activities equal ``pm4py.discover_dfg`` on the log pm4py reads itself; the
  transition times (end to end, without start times) equal its performance DFG.
- BPI Challenge 2012 W (B.F. van Dongen, 4TU; start/complete pairs): the median, mean and p90
  transition times equal pm4py's performance DFG of the interval log
  (``interval_lifecycle.to_interval``: the next work item's ``start_timestamp`` minus this one's
  ``time:timestamp``, negative where they overlap), and the counts its DFG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from procmine import EventStore, ProcessMap, process_map
from procmine.ingest.run import ingest_log

pytestmark = pytest.mark.real_logs


def _by_pair(pmap: ProcessMap, column: str) -> dict[tuple[str, str], Any]:
    return {(str(s), str(t)): v for s, t, v in zip(pmap.edges["source"], pmap.edges["target"],
                                                   pmap.edges[column], strict=True)}


@pytest.fixture(scope="module")
def pm4py() -> Any:
    return pytest.importorskip("pm4py")


@pytest.fixture(scope="module")
def receipt(real_logs: Path, tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    store = EventStore(tmp_path_factory.mktemp("receipt") / "ws")
    assert ingest_log(store, real_logs / "receipt.xes").loaded == 8577
    return store


def test_receipt_dfg_equals_pm4py(real_logs: Path, receipt: EventStore, pm4py: Any) -> None:
    log = pm4py.read_xes(str(real_logs / "receipt.xes"), show_progress_bar=False)
    dfg, starts, ends = pm4py.discover_dfg(log)
    pmap = process_map(receipt)
    assert len(dfg) == 99 and sum(dfg.values()) == 8577 - 1434
    assert _by_pair(pmap, "count") == {k: int(v) for k, v in dfg.items()}
    assert pmap.start_activities == starts
    assert pmap.end_activities == ends
    assert pmap.cases == 1434
    # each step's occurrences as pm4py counts them
    counts = log["concept:name"].value_counts()
    assert dict(zip(pmap.nodes["activity"], pmap.nodes["count"], strict=True)) == {
        str(k): int(v) for k, v in counts.items()}
    # no start times: a transition runs from one step's end to the next one's
    performance, _, _ = pm4py.discover_performance_dfg(log)
    medians, means = _by_pair(pmap, "median_seconds"), _by_pair(pmap, "mean_seconds")
    for pair, figures in performance.items():
        assert medians[pair] == pytest.approx(figures["median"], abs=1e-6), pair
        assert means[pair] == pytest.approx(figures["mean"], rel=1e-9, abs=1e-6), pair


@pytest.fixture(scope="module")
def bpi(real_logs: Path, tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    store = EventStore(tmp_path_factory.mktemp("bpi") / "ws")
    # not a counter log: its work items last days, past the default 8-hour plausible step
    report = ingest_log(store, real_logs / "BPI_Challenge_2012_W_Two_TS.xes.gz",
                        max_step_hours=24 * 365)
    assert report.quarantined == 0
    return store


@pytest.fixture(scope="module")
def bpi_intervals(real_logs: Path, pm4py: Any) -> pd.DataFrame:
    """The BPI log as pm4py reads it, as an interval log (start/complete pairs as one row)."""
    from pm4py.objects.log.util import interval_lifecycle

    log = pm4py.read_xes(str(real_logs / "BPI_Challenge_2012_W_Two_TS.xes.gz"),
                         show_progress_bar=False)
    return pm4py.convert_to_dataframe(
        interval_lifecycle.to_interval(pm4py.convert_to_event_log(log)))


def test_bpi_2012_median_transition_times_equal_pm4py_performance_dfg(
        bpi: EventStore, bpi_intervals: pd.DataFrame, pm4py: Any) -> None:
    intervals = bpi_intervals.copy()
    assert "start_timestamp" in intervals.columns and len(intervals) == 59_302
    performance, starts, ends = pm4py.discover_performance_dfg(intervals)
    frequency, _, _ = pm4py.discover_dfg(intervals)
    pmap = process_map(bpi)
    assert pmap.cases == 8616 and len(performance) == 17
    assert _by_pair(pmap, "count") == {k: int(v) for k, v in frequency.items()}
    medians, means = _by_pair(pmap, "median_seconds"), _by_pair(pmap, "mean_seconds")
    assert set(medians) == set(performance)
    for pair, figures in performance.items():
        assert medians[pair] == pytest.approx(figures["median"], abs=1e-6), pair
        assert means[pair] == pytest.approx(figures["mean"], rel=1e-9, abs=1e-6), pair
    # overlapping work items give negative transitions, as in pm4py
    assert min(f["min"] for f in performance.values()) < 0
    assert pmap.start_activities == starts and pmap.end_activities == ends
    # p90: pm4py's raw transition values, interpolated linearly
    raw, _, _ = pm4py.discover_performance_dfg(intervals, perf_aggregation_key="raw_values")
    p90 = _by_pair(pmap, "p90_seconds")
    for pair, values in raw.items():
        assert p90[pair] == pytest.approx(float(np.quantile(values, 0.9)), abs=1e-6), pair


def test_bpi_2012_step_service_times_equal_pm4py(bpi: EventStore, bpi_intervals: pd.DataFrame,
                                                 pm4py: Any) -> None:
    intervals = bpi_intervals.copy()
    service = pm4py.get_service_time(intervals, start_timestamp_key="start_timestamp",
                                     timestamp_key="time:timestamp",
                                     aggregation_measure="median")
    nodes = process_map(bpi).nodes.set_index("activity")
    assert set(nodes.index) == set(service) and len(service) == 6
    for activity, median in service.items():
        assert nodes.loc[activity, "median_seconds"] == pytest.approx(median, abs=1e-6)
    cases = intervals.groupby("concept:name")["case:concept:name"].nunique()
    assert {str(k): int(v) for k, v in nodes["cases"].items()} == {
        str(k): int(v) for k, v in cases.items()}
