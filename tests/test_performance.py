"""Step and transaction times: service, wait, inferred service, rework, and the statistics per
teller, branch and bank, checked against pandas on a generated log and against pm4py on the
BPI Challenge 2012 log (B.F. van Dongen, 4TU.ResearchData)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from procmine.analysis.filters import Filters
from procmine.analysis.performance import (
    business_type_summary,
    step_statistics,
    step_times,
    teller_summary,
    transaction_statistics,
)
from procmine.analysis.steps import StepData
from procmine.core.amounts import AMOUNT_BANDS
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.demo import DemoConfig, generate_demo_log
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

_HEADER = ("case_id,activity,start_time,end_time,teller_id,branch_id,business_type,amount,"
           "window_type,ticket_time,call_time")
# case, activity, start, end, teller, branch, type, amount, window, ticket, call (times of day;
# case C is a month later); case B has completion times only
_ROWS = [
    ("A", "Call number", "09:00:02", "09:00:10", "0101", "B01", "P17", "5000", "regular",
     "08:55:00", "09:00:00"),
    ("A", "Count cash", "09:00:12", "09:00:42", "0101", "B01", "P17", "5000", "regular",
     "08:55:00", "09:00:00"),
    ("A", "Count cash", "09:00:45", "09:01:05", "0101", "B01", "P17", "5000", "regular",
     "08:55:00", "09:00:00"),
    ("A", "Enter transaction", "09:01:05", "09:01:35", "0101", "B01", "P17", "5000", "regular",
     "08:55:00", "09:00:00"),
    ("B", "Call number", "", "10:00:05", "0102", "B01", "P28", "", "vip", "", "10:00:00"),
    ("B", "Enter transaction", "", "10:00:35", "0102", "B01", "P28", "", "vip", "", "10:00:00"),
    ("B", "Print voucher", "", "10:00:45", "0102", "B01", "P28", "", "vip", "", "10:00:00"),
    ("C", "Verify identity", "11:00:00", "11:00:40", "0201", "B02", "P18", "60000", "regular",
     "", "10:59:50"),
    ("C", "Count cash", "11:00:42", "11:01:52", "0201", "B02", "P18", "60000", "regular", "",
     "10:59:50"),
]
_TIMES = (2, 3, 9, 10)  # positions of times in a row


def _hand_log() -> str:
    lines = [_HEADER]
    for row in _ROWS:
        day = "2026-10-02" if row[0] == "C" else "2026-09-01"
        lines.append(",".join(f"{day} {v}" if i in _TIMES and v else v
                              for i, v in enumerate(row)))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def hand_store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    folder = tmp_path_factory.mktemp("hand")
    log = folder / "log.csv"
    log.write_text(_hand_log(), encoding="utf-8")
    store = EventStore(folder / "ws")
    report = ingest_log(store, log)
    assert report.loaded == 9 and report.quarantined == 0
    return store


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    folder = tmp_path_factory.mktemp("demo")
    table, _ = generate_demo_log(DemoConfig(events=40_000, seed=3))
    pq.write_table(table, folder / "events.parquet")
    store = EventStore(folder / "ws")
    ingest_log(store, folder / "events.parquet")
    return store


def _row(frame: pd.DataFrame, case: str, activity: str, occurrence: int = 1) -> pd.Series:
    rows = frame[(frame["case_id"] == case) & (frame["activity"] == activity)
                 & (frame["occurrence"] == occurrence)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_step_times_service_wait_and_rework(hand_store: EventStore) -> None:
    steps = step_times(hand_store)
    assert len(steps) == 9
    first = _row(steps, "A", "Call number")
    assert first["service_seconds"] == 8 and first["wait_seconds"] == 2  # from the call
    assert not first["service_is_inferred"]
    again = _row(steps, "A", "Count cash", 2)
    assert again["service_seconds"] == 20 and again["wait_seconds"] == 3 and again["is_rework"]
    assert not _row(steps, "A", "Count cash", 1)["is_rework"]
    assert _row(steps, "A", "Enter transaction")["wait_seconds"] == 0
    assert first["hour"] == 9 and first["month"] == "2026-09"
    assert first["amount_band"] == AMOUNT_BANDS[0]
    assert _row(steps, "C", "Count cash")["amount_band"] == "50,000-199,999"
    assert _row(steps, "B", "Print voucher")["amount_band"] == "no amount"


def test_completion_only_steps_take_the_time_since_the_previous_end(
        hand_store: EventStore) -> None:
    steps = step_times(hand_store)
    case_b = steps[steps["case_id"] == "B"].set_index("activity")
    assert case_b["service_is_inferred"].all()
    assert case_b.loc["Call number", "service_seconds"] == 5  # since the call
    assert case_b.loc["Enter transaction", "service_seconds"] == 30
    assert case_b.loc["Print voucher", "service_seconds"] == 10
    assert case_b["wait_seconds"].isna().all()  # unknown without start times


def test_step_statistics_at_three_levels(hand_store: EventStore, baseline: Baseline) -> None:
    teller = step_statistics(hand_store, baseline, by="teller")
    cash = teller[(teller["teller_id"] == "0101") & (teller["activity"] == "Count cash")].iloc[0]
    assert cash["count"] == 2 and cash["median_seconds"] == 25 and cash["total_seconds"] == 50
    assert cash["p90_seconds"] == pytest.approx(29.0)  # 20 + 0.9 * (30 - 20)
    assert cash["standard_seconds"] == baseline.standard_seconds("P17")
    # case A's dwell runs from 09:00:02 to 09:01:35: 93 s; the median of 30/93 and 20/93
    assert cash["share"] == pytest.approx(25 / 93)
    bank = step_statistics(hand_store, baseline, by="bank")
    cash_bank = bank[(bank["business_type"] == "P18") & (bank["activity"] == "Count cash")]
    assert cash_bank["median_seconds"].tolist() == [70]
    inferred = bank[bank["business_type"] == "P28"]
    assert (inferred["inferred"] == inferred["count"]).all()
    branch = step_statistics(hand_store, baseline, by="branch")
    assert set(branch["branch_id"]) == {"B01", "B02"}
    assert list(branch.columns[:3]) == ["branch_id", "business_type", "activity"]
    with pytest.raises(ProcmineError, match="expected one of"):
        step_statistics(hand_store, baseline, by="desk")  # type: ignore[arg-type]


def test_filters_restrict_steps_by_month_teller_and_type(hand_store: EventStore) -> None:
    october = step_times(hand_store, Filters.for_month("2026-10"))
    assert set(october["case_id"]) == {"C"}
    assert set(step_times(hand_store, Filters(tellers=("0102",)))["case_id"]) == {"B"}
    assert set(step_times(hand_store, Filters(business_types=("P17",)))["case_id"]) == {"A"}
    assert Filters.for_month("2026-02") == Filters(start=date(2026, 2, 1), end=date(2026, 2, 28))
    for bad in ("2026-13", "26-10", "October"):
        with pytest.raises(ProcmineError, match="YYYY-MM"):
            Filters.for_month(bad)


def test_transaction_statistics_give_dwell_and_queue(hand_store: EventStore,
                                                     baseline: Baseline) -> None:
    frame = transaction_statistics(hand_store, baseline, by="teller").set_index("teller_id")
    assert frame.loc["0101", "median_dwell_seconds"] == 93
    assert frame.loc["0101", "median_queue_seconds"] == 300
    assert frame.loc["0201", "queued"] == 0  # no ticket time: no queue wait


def _pandas_statistics(store: EventStore) -> dict[str, pd.DataFrame]:
    """The same statistics computed independently with pandas."""
    events = store.read_events().to_pandas()
    events["service"] = (events["end_time"] - events["start_time"]).dt.total_seconds()
    first = events.groupby("case_id")["start_time"].transform("min")
    last = events.groupby("case_id")["end_time"].transform("max")
    events["share"] = events["service"] / (last - first).dt.total_seconds()
    out = {}
    for by, keys in (("teller", ["teller_id", "branch_id"]), ("branch", ["branch_id"]),
                     ("bank", [])):
        grouped = events.groupby([*keys, "business_type", "activity"])
        frame = pd.DataFrame({
            "count": grouped["service"].count(),
            "median_seconds": grouped["service"].median(),
            "p90_seconds": grouped["service"].quantile(0.9),
            "mean_seconds": grouped["service"].mean(),
            "total_seconds": grouped["service"].sum(),
            "share": grouped["share"].median(),
        }).reset_index()
        out[by] = frame
    return out


def test_step_statistics_equal_pandas_on_a_generated_log(demo_store: EventStore,
                                                         baseline: Baseline) -> None:
    expected = _pandas_statistics(demo_store)
    with StepData(demo_store, baseline) as data:
        assert not data.inferred
        levels = data.level_statistics(("teller", "branch", "bank"))
    for by, frame in expected.items():
        ours = levels[by][list(frame.columns)]
        ours = ours.astype({"count": "int64"})
        pd.testing.assert_frame_equal(
            ours.sort_values(list(frame.columns[:-6])).reset_index(drop=True),
            frame.sort_values(list(frame.columns[:-6])).reset_index(drop=True),
            check_dtype=False, check_exact=False, rtol=1e-9,
        )


def test_detail_and_lean_views_give_the_same_statistics(demo_store: EventStore,
                                                        baseline: Baseline) -> None:
    with StepData(demo_store, baseline) as lean:
        a = lean.statistics("teller")
    with StepData(demo_store, baseline, detail=True) as detail:
        b = detail.statistics("teller")
    pd.testing.assert_frame_equal(a, b)


def test_dashboard_summaries_still_answer(demo_store: EventStore, baseline: Baseline) -> None:
    types = business_type_summary(demo_store, baseline)
    assert types["transactions"].sum() > 3_000
    tellers = teller_summary(demo_store, baseline)
    assert tellers["speed_index"].between(0.3, 3).all()


@pytest.mark.real_logs
def test_median_service_time_equals_pm4py_on_bpi_2012(real_logs: Path, tmp_path: Path) -> None:
    pm4py = pytest.importorskip("pm4py")
    from pm4py.objects.log.util import interval_lifecycle

    path = real_logs / "BPI_Challenge_2012_W_Two_TS.xes.gz"
    log = pm4py.read_xes(str(path), show_progress_bar=False)
    intervals = pm4py.convert_to_dataframe(
        interval_lifecycle.to_interval(pm4py.convert_to_event_log(log)))
    theirs = pm4py.get_service_time(intervals, start_timestamp_key="start_timestamp",
                                    timestamp_key="time:timestamp",
                                    aggregation_measure="median")
    counts = intervals["concept:name"].value_counts()
    store = EventStore(tmp_path / "ws")
    ingest_log(store, path, max_step_hours=24 * 365)  # not a counter log: steps of days
    ours = step_statistics(store, by="bank").set_index("activity")
    assert set(ours.index) == set(theirs) and len(theirs) == 6
    for activity, median in theirs.items():
        assert ours.loc[activity, "median_seconds"] == pytest.approx(median, abs=1e-6)
        assert ours.loc[activity, "count"] == counts[activity]
    assert (ours["inferred"] == 0).all()
    assert np.isnan(ours["standard_seconds"]).all()  # a generic log: no business types
