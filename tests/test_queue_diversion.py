"""Tests for procmine.queue.diversion: the counter business a machine could take (checked on the
demo against an independent pandas computation from the events), the threshold's edge, the
configurable types, missing amounts, and the wait the queueing model says diverting saves."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from demo_kit import copy_demo_workspace
from ticket_rows import at, write_tickets

from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.queue.diversion import (
    CASH_TYPES,
    DIVERSION_THRESHOLD,
    SELF_SERVICE_TYPES,
    diversion_report,
)
from procmine.queue.erlang import wait_metrics
from procmine.queue.measures import QueueFilter
from procmine.store.engine import DuckDBEngine
from procmine.store.event_store import EventStore

EVENTS = QueueFilter(source="events")


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    home = tmp_path_factory.mktemp("diversion") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    return EventStore(home)


@pytest.fixture(scope="module")
def demo_cases(demo_store: EventStore) -> pd.DataFrame:
    """The demo's transactions with a ticket, from the events, in pandas: branch, type, the
    largest amount, counter time from the first step's start to the last step's end."""
    events = DuckDBEngine(demo_store).query(
        "SELECT case_id, branch_id, business_type, amount, ticket_time, start_time, end_time "
        "FROM events")
    events = events[events["case_id"].isin(events.loc[events["ticket_time"].notna(), "case_id"])]
    events = events.assign(begin=events["start_time"].fillna(events["end_time"]))
    cases = events.groupby("case_id").agg(
        branch_id=("branch_id", "first"), business_type=("business_type", "first"),
        amount=("amount", "max"), ticket=("ticket_time", "min"), begin=("begin", "min"),
        end=("end_time", "max"))
    cases["service_seconds"] = (cases["end"] - cases["begin"]).dt.total_seconds()
    cases["hour"] = cases["ticket"].dt.hour
    cases["month"] = cases["ticket"].dt.strftime("%Y-%m")
    return cases


def _qualifying(cases: pd.DataFrame, threshold: float = 20_000.0,
                cash: tuple[str, ...] = ("P17", "P18"),
                other: tuple[str, ...] = ("P28", "P26")) -> pd.Series:
    return ((cases["business_type"].isin(cash) & (cases["amount"] < threshold))
            | cases["business_type"].isin(other))


def test_estimate_is_the_counter_time_of_the_qualifying(demo_store: EventStore,
                                                        baseline: Baseline,
                                                        demo_cases: pd.DataFrame) -> None:
    report = diversion_report(demo_store, baseline, EVENTS)
    picked = demo_cases[_qualifying(demo_cases)]
    assert report.served == len(demo_cases)
    assert report.qualifying == len(picked) > 0
    assert report.counter_seconds == pytest.approx(picked["service_seconds"].sum(), abs=1e-3)
    assert report.amounts_missing is False and report.message is None
    # by branch x hour, by type and per month they add up to the same, cell by cell
    hours = picked.groupby(["branch_id", "hour"])["service_seconds"].agg(["size", "sum"])
    mine = report.by_branch_hour.set_index(["branch_id", "hour"])
    mine = mine[mine["qualifying"] > 0]
    assert mine["qualifying"].tolist() == hours["size"].tolist()
    assert mine["counter_seconds"].to_numpy() == pytest.approx(hours["sum"].to_numpy())
    types = picked.groupby("business_type")["service_seconds"].sum()
    assert report.by_type.set_index("business_type")["counter_seconds"].to_dict() == \
        pytest.approx(types.to_dict())
    trend = report.trend.set_index(["branch_id", "month"])
    share = (_qualifying(demo_cases).groupby([demo_cases["branch_id"], demo_cases["month"]])
             .mean())
    assert trend["qualifying_share"].to_numpy() == pytest.approx(share.to_numpy())
    first = trend.loc["B01"]
    assert first["share_change"].iloc[1] == pytest.approx(first["qualifying_share"].iloc[1]
                                                          - first["qualifying_share"].iloc[0])


def test_configurable_threshold_and_types(demo_store: EventStore, baseline: Baseline,
                                          demo_cases: pd.DataFrame) -> None:
    report = diversion_report(demo_store, baseline, EVENTS, threshold=5_000,
                              cash_types=("P18",), other_types=("P28",))
    picked = demo_cases[_qualifying(demo_cases, 5_000, ("P18",), ("P28",))]
    assert report.qualifying == len(picked)
    assert report.counter_seconds == pytest.approx(picked["service_seconds"].sum(), abs=1e-3)
    assert set(report.by_type["business_type"]) == {"P18", "P28"}
    only_other = diversion_report(demo_store, baseline, EVENTS, cash_types=())
    assert only_other.qualifying == int(demo_cases["business_type"].isin(SELF_SERVICE_TYPES)
                                        .sum())
    b01 = diversion_report(demo_store, baseline, QueueFilter(branch="B01", source="events"))
    assert b01.qualifying == int(_qualifying(demo_cases)[demo_cases["branch_id"] == "B01"]
                                 .sum())
    assert set(b01.wait_saved["branch_id"]) == {"B01"}


def test_mistakes_are_refused(demo_store: EventStore, baseline: Baseline) -> None:
    with pytest.raises(ProcmineError, match=r"unknown business type.*P99"):
        diversion_report(demo_store, baseline, other_types=("P99",))
    with pytest.raises(ProcmineError, match="between 0 and 1"):
        diversion_report(demo_store, baseline, share=1.5)
    with pytest.raises(ProcmineError, match="positive amount"):
        diversion_report(demo_store, baseline, threshold=0)
    with pytest.raises(ProcmineError, match="no business types"):
        diversion_report(demo_store, baseline, cash_types=(), other_types=())


def test_wait_saved_by_the_model(demo_store: EventStore, baseline: Baseline) -> None:
    report = diversion_report(demo_store, baseline, EVENTS, share=0.5)
    saved = report.wait_saved
    ok = saved[saved["model_status"] == "ok"]
    # no qualifying ticket in the interval: nothing moves, nothing is saved
    none = ok[ok["qualifying"] == 0]
    assert len(none) > 0 and (none["wait_saved_seconds"] == 0).all()
    assert (none["customer_minutes_saved"] == 0).all()
    # where the load is highest (offered erlangs per counter), moving half saves wait
    some = ok[ok["qualifying"] > 0]
    load = some["arrivals"] * 4 * some["mean_service_seconds"] / 3600 / some["counters"]
    busiest = some.loc[load.nlargest(20).index]
    assert (busiest["wait_saved_seconds"] > 0).all()
    assert (busiest["customer_minutes_saved"] > 0).all()
    # the work left always drops (a model wait may still rise a little where the tickets
    # moved were much shorter than the rest: the mean service time left is longer)
    work_now = ok["arrivals"] * ok["mean_service_seconds"]
    work_after = (ok["arrivals"] - ok["moved"]) * ok["mean_service_after_seconds"]
    assert (work_after[ok["qualifying"] > 0] < work_now[ok["qualifying"] > 0]).all()
    # the wait now is Erlang's at the interval's arrivals, service time and counters
    row = busiest.iloc[0]
    model = wait_metrics(row["arrivals"] * 4, row["mean_service_seconds"], int(row["counters"]),
                         target_wait=600)
    assert row["wait_now_seconds"] == pytest.approx(model.mean_wait_seconds)
    after = wait_metrics((row["arrivals"] - row["qualifying"] / 2) * 4,
                         row["mean_service_after_seconds"], int(row["counters"]),
                         target_wait=600)
    assert row["wait_after_seconds"] == pytest.approx(after.mean_wait_seconds)
    assert row["mean_service_after_seconds"] < row["mean_service_seconds"] * 1.5
    # the months add up the intervals; moving none saves nothing; moving all saves more
    assert report.monthly_saving["customer_minutes_saved"].sum() == pytest.approx(
        report.customer_minutes_saved)
    assert report.customer_minutes_saved > 0
    nothing = diversion_report(demo_store, baseline, EVENTS, share=0.0)
    assert nothing.customer_minutes_saved == 0
    everything = diversion_report(demo_store, baseline, EVENTS, share=1.0)
    assert everything.customer_minutes_saved > report.customer_minutes_saved


def test_to_dict_is_json(demo_store: EventStore, baseline: Baseline) -> None:
    report = diversion_report(demo_store, baseline, EVENTS)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["qualifying"] == report.qualifying
    assert data["cash_types"] == list(CASH_TYPES) and data["threshold"] == DIVERSION_THRESHOLD
    assert sum(r["qualifying"] for r in data["by_type"]) == report.qualifying
    assert {"branch_id", "month", "customer_minutes_saved"} <= set(data["monthly_saving"][0])


# -- hand-built ticket exports ------------------------------------------------------------------

def _ticket(ticket_id: str, business_type: str, amount: float | None, served_minutes: float,
            *, outcome: str = "served") -> dict[str, Any]:
    called = at("10:10")
    return {"ticket_id": ticket_id, "branch_id": "B01", "arrival_time": at("10:00"),
            "queue_start": at("10:00"), "call_time": called if outcome != "abandoned" else None,
            "service_start": called if outcome != "abandoned" else None,
            "service_end": (called + pd.Timedelta(minutes=served_minutes))
            if outcome != "abandoned" else None,
            "teller_id": "0101", "business_type": business_type, "window_type": "regular",
            "segment": "mass", "amount": amount, "outcome": outcome}


def test_threshold_edge(tmp_path: Path, baseline: Baseline) -> None:
    store = EventStore(tmp_path / "workspace")
    write_tickets(store, [
        _ticket("a", "P17", 19_999.99, 1),     # under: qualifies
        _ticket("b", "P18", 20_000.0, 2),      # exactly the threshold: not under
        _ticket("c", "P18", 20_000.01, 4),     # over
        _ticket("d", "P28", 50_000.0, 8),      # another self-service type: any amount
        _ticket("e", "P01", 100.0, 16),        # not a self-service type
        _ticket("f", "P17", 100.0, 32, outcome="abandoned"),   # never served
        _ticket("g", "P17", 500.0, 64, outcome="transferred"),  # served, then sent on
    ])
    report = diversion_report(store, baseline)
    assert report.source == "tickets"
    assert (report.served, report.qualifying) == (6, 3)                 # a, d, g
    assert report.counter_seconds == pytest.approx((1 + 8 + 64) * 60)
    wider = diversion_report(store, baseline, threshold=20_000.01)
    assert wider.qualifying == 4                                        # and b
    assert wider.counter_seconds == pytest.approx((1 + 2 + 8 + 64) * 60)


def test_missing_amounts_are_said_not_guessed(tmp_path: Path, baseline: Baseline) -> None:
    store = EventStore(tmp_path / "workspace")
    write_tickets(store, [_ticket("a", "P17", None, 1), _ticket("b", "P18", None, 2),
                          _ticket("c", "P28", None, 4)])
    report = diversion_report(store, baseline)
    assert report.qualifying == 1 and report.counter_seconds == pytest.approx(240)
    assert report.amounts_missing is True and report.cash_without_amount == 2
    assert report.message is not None and "no amounts" in report.message
    assert "P28" in report.message
    assert report.to_dict()["amounts_missing"] is True


def test_some_amounts_missing(tmp_path: Path, baseline: Baseline) -> None:
    store = EventStore(tmp_path / "workspace")
    write_tickets(store, [_ticket("a", "P17", None, 1), _ticket("b", "P18", 300.0, 2)])
    report = diversion_report(store, baseline)
    assert report.qualifying == 1 and report.amounts_missing is False
    assert report.message is not None and report.message.startswith("1 of 2 cash tickets")


def test_no_qualifying_ticket_saves_nothing(tmp_path: Path, baseline: Baseline) -> None:
    store = EventStore(tmp_path / "workspace")
    write_tickets(store, [_ticket("a", "P01", 100.0, 5), _ticket("b", "P02", None, 7)])
    report = diversion_report(store, baseline)
    assert report.qualifying == 0 and report.counter_seconds == 0
    assert report.customer_minutes_saved == 0
    assert report.by_type.empty
    assert all(v == 0 or math.isnan(v) for v in report.wait_saved["wait_saved_seconds"])


def test_erlang_a_where_customers_abandon(tmp_path: Path, baseline: Baseline) -> None:
    """Two counters (tellers 0101, 0102 open 10:00-10:15), eight customers queued 10:00-10:04,
    two of whom give up: abandonment 25% is material, so the model is Erlang A with the
    patience (all seconds queued) / (abandoned)."""
    rows = []
    for teller, names in (("0101", "abc"), ("0102", "def")):
        for k, name in enumerate(names):
            rows.append({
                "ticket_id": name, "branch_id": "B01", "arrival_time": at(f"10:0{k}"),
                "queue_start": at(f"10:0{k}"), "call_time": at(f"10:{5 * k:02d}"),
                "service_start": at(f"10:{5 * k:02d}"), "service_end": at(f"10:{5 * k + 5:02d}"),
                "teller_id": teller, "business_type": "P17" if k == 0 else "P01",
                "window_type": "regular", "segment": "mass", "amount": 100.0,
                "outcome": "served"})
    for name, queued, left in (("g", "10:01", "10:06"), ("h", "10:02", "10:08")):
        rows.append({"ticket_id": name, "branch_id": "B01", "arrival_time": at(queued),
                     "queue_start": at(queued), "call_time": at(left),
                     "business_type": "P18", "amount": 100.0, "outcome": "abandoned"})
    store = EventStore(tmp_path / "workspace")
    write_tickets(store, rows)
    report = diversion_report(store, baseline, share=0.5)
    assert (report.qualifying, report.served) == (2, 6)        # a and d (g, h never served)
    row = report.wait_saved.set_index("interval_of_day").loc[600]
    # waits: a, d 0 s; b, e 240 s; c, f 480 s; g 300 s, h 360 s until they left
    patience = (2 * 240 + 2 * 480 + 300 + 360) / 2
    assert row["patience_seconds"] == pytest.approx(patience)
    assert (row["arrivals"], row["counters"], row["mean_service_seconds"]) == (8, 2, 300)
    now = wait_metrics(32, 300, 2, target_wait=600, patience_seconds=patience)
    after = wait_metrics(28, 300, 2, target_wait=600, patience_seconds=patience)
    assert now.model == "erlang_a"
    assert row["wait_now_seconds"] == pytest.approx(now.mean_wait_seconds)
    assert row["wait_after_seconds"] == pytest.approx(after.mean_wait_seconds)
    assert row["wait_saved_seconds"] > 0
    assert row["customer_minutes_saved"] == pytest.approx(
        (8 * now.mean_wait_seconds - 7 * after.mean_wait_seconds) / 60)
    fixed = diversion_report(store, baseline, patience_seconds=60)
    assert fixed.wait_saved["patience_seconds"].tolist() == [60.0]


# -- the command ---------------------------------------------------------------------------------

def test_command_json_and_table(demo_store: EventStore, baseline: Baseline,
                                demo_cases: pd.DataFrame) -> None:
    from typer.testing import CliRunner

    from procmine.cli.main import app

    runner = CliRunner()
    home = str(demo_store.home)
    result = runner.invoke(app, ["diversion", "--branch", "B01", "--threshold", "10000",
                                 "--share", "0.3", "--types", "P28", "--source", "events",
                                 "--json", "--home", home])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    b01 = demo_cases[demo_cases["branch_id"] == "B01"]
    picked = b01[_qualifying(b01, 10_000, ("P17", "P18"), ("P28",))]
    assert data["qualifying"] == len(picked)
    assert data["counter_seconds"] == pytest.approx(picked["service_seconds"].sum(), abs=1e-3)
    assert (data["threshold"], data["share"], data["other_types"]) == (10000.0, 0.3, ["P28"])
    assert {r["branch_id"] for r in data["trend"]} == {"B01"}
    table = runner.invoke(app, ["diversion", "--cash-types", "none", "--source", "events",
                                "--home", home], env={"COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    assert "Utility bill payment" in table.stdout and "P17" not in table.stdout
    wrong = runner.invoke(app, ["diversion", "--types", "P99", "--home", home])
    assert wrong.exit_code != 0
    assert isinstance(wrong.exception, ProcmineError) and "P99" in str(wrong.exception)


# -- Spark ----------------------------------------------------------------------------------------

def test_diversion_and_windows_are_the_same_on_spark(demo_store: EventStore,
                                                     baseline: Baseline) -> None:
    """Both reports on Spark (local mode) give DuckDB's figures: counts exact, sums of seconds
    to the microsecond (they add in another order), the model's waits from the same inputs."""
    import os
    import shutil

    from procmine.queue.windows import window_report
    from procmine.store.engine import get_engine

    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")
    spark = get_engine("spark", demo_store)
    try:
        mine = diversion_report(demo_store, baseline, EVENTS)
        theirs = diversion_report(demo_store, baseline, EVENTS, engine=spark)
        windows = window_report(demo_store, EVENTS)
        their_windows = window_report(demo_store, EVENTS, engine=spark)
    finally:
        spark.close()
    assert (theirs.served, theirs.qualifying) == (mine.served, mine.qualifying)
    assert theirs.counter_seconds == pytest.approx(mine.counter_seconds, rel=1e-12)
    assert theirs.customer_minutes_saved == pytest.approx(mine.customer_minutes_saved, rel=1e-9)
    for name in ("by_branch_hour", "by_type", "trend", "wait_saved"):
        pd.testing.assert_frame_equal(getattr(theirs, name), getattr(mine, name),
                                      check_dtype=False, rtol=1e-9)
    flat = {k: v for k, v in windows.to_dict().items() if isinstance(v, int | float)}
    their_flat = {k: v for k, v in their_windows.to_dict().items() if isinstance(v, int | float)}
    assert len(flat) > 8 and their_flat == pytest.approx(flat, rel=1e-9)
    pd.testing.assert_frame_equal(their_windows.intervals, windows.intervals, check_dtype=False,
                                  rtol=1e-9)
    pd.testing.assert_frame_equal(their_windows.by_window_segment, windows.by_window_segment,
                                  check_dtype=False, rtol=1e-9)
