"""Tests for procmine.queue.measures: each measure against an independent pandas computation.

Hand-built tickets (a ticket batch written straight into the store's tickets folder, as the
ticket ingest writes it: every record with its ``reason``, NULL for loaded rows, and its
``src_row``) check the definitions one by one; random tickets check every measure per group
and the counters open per interval; the demo workspace's event log (tickets derived from its
ticket and call times) checks the figures against pandas over the events. The same measures on
Spark (local mode) give DuckDB's figures.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from demo_kit import copy_demo_workspace

from procmine.core.errors import ProcmineError
from procmine.core.schema import TICKET_COLUMNS
from procmine.demo import DemoConfig, write_demo_data
from procmine.ingest.run import ingest_log
from procmine.queue.measures import (
    INTERVAL_LOAD_COLUMNS,
    MEASURE_COLUMNS,
    QueueFilter,
    interval_load,
    queue_measures,
    queue_summary,
)
from procmine.store.engine import Engine, get_engine
from procmine.store.event_store import EventStore

T0 = datetime(2026, 11, 2)  # a Monday

_ARROW_TYPES = {"VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us"), "DOUBLE": pa.float64()}


def write_tickets(store: EventStore, rows: pd.DataFrame, batch: str = "t1",
                  quarantined: int = 0) -> None:
    """``rows`` (some ticket columns) as a committed ticket batch; ``quarantined`` extra rows
    with a reason, which no measure may count."""
    frame = rows.copy()
    for column in TICKET_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame = frame[list(TICKET_COLUMNS)]
    frame["reason"] = None
    if quarantined:
        bad = frame.head(quarantined).copy()
        bad["ticket_id"] = [f"bad-{i}" for i in range(len(bad))]
        bad["reason"] = "duplicate"
        frame = pd.concat([frame, bad], ignore_index=True)
    frame["src_row"] = np.arange(2, len(frame) + 2, dtype="int64")
    schema = pa.schema([*((c, _ARROW_TYPES[t]) for c, t in TICKET_COLUMNS.items()),
                        ("reason", pa.string()), ("src_row", pa.int64())])
    store.tickets_dir.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    pq.write_table(table, store.batch_file(batch, "tickets"))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ticket(tid: str, outcome: str, queue: float | None, call: float | None = None,
           start: float | None = None, end: float | None = None, teller: str | None = None,
           branch: str = "B1", **extra: object) -> dict[str, object]:
    """One ticket; times in minutes after 2026-11-02 00:00."""
    return {"ticket_id": tid, "branch_id": branch, "outcome": outcome,
            "arrival_time": at(queue if queue is not None else (call or 0) - 1),
            "queue_start": at(queue) if queue is not None else None,
            "call_time": at(call) if call is not None else None,
            "service_start": at(start) if start is not None else None,
            "service_end": at(end) if end is not None else None,
            "teller_id": teller, **extra}


# -- hand-built tickets, one definition at a time ------------------------------------------------

@pytest.fixture
def small(store: EventStore) -> EventStore:
    """Ten tickets at branch B1 on one day: a teller open 09:00-09:30 and 10:50-11:00 (busy
    20 and 10 minutes; the 80 minutes between are a break) and one open 09:05-09:40."""
    rows = pd.DataFrame([
        ticket("1", "served", 540, 540, 540, 550, "T1"),          # waited 0
        ticket("2", "served", 545, 560, 560, 570, "T2"),          # waited 15 min
        ticket("3", "transferred", 550, 560, 560, 570, "T1"),     # waited 10 min
        ticket("4", "served", 600, 650, 650, 660, "T1"),          # waited 50 min
        ticket("5", "abandoned", 560, 575),                       # gave up after 15 min
        ticket("6", "abandoned", 600),                            # gave up, moment unknown
        ticket("7", "abandoned", None, 570),                      # left before queueing
        ticket("8", "no_show", 590, 600),
        ticket("9", "served", 555, 554.5, 575, 580, "T2"),        # called before its queue time
        ticket("10", "served", 556, 557, 578, 580, "T2"),         # T2: 09:05.. (call 09:17)
    ])
    rows.loc[rows["ticket_id"] == "10", ["service_start", "service_end"]] = [at(545), at(555)]
    write_tickets(store, rows, quarantined=3)
    return store


def test_counts_and_abandonment_rate_of_those_who_queued(small: EventStore) -> None:
    s = queue_summary(small)
    assert s.source == "tickets"
    assert (s.tickets, s.queued, s.served, s.transferred, s.abandoned, s.no_show) == (
        10, 9, 5, 1, 3, 1)
    # abandoned after queueing (5, 6) among those who queued (all but 7); the no-show counts
    # in the denominator only
    assert s.abandonment_rate == pytest.approx(2 / 9)


def test_waits_and_service_level_are_of_the_served_and_clamp_at_zero(
        small: EventStore) -> None:
    waits = np.array([0.0, 15, 10, 50, 0, 1]) * 60  # 1, 2, 3 (transferred), 4, 9 (clamped), 10
    s = queue_summary(small, QueueFilter(target_wait=600))
    assert s.mean_wait_seconds_served == pytest.approx(waits.mean())
    assert s.median_wait_seconds_served == pytest.approx(np.median(waits))
    assert s.p90_wait_seconds_served == pytest.approx(np.quantile(waits, 0.9))
    assert s.max_wait_seconds_served == pytest.approx(3000.0)
    assert s.service_level == {"target_seconds": 600.0, "share": pytest.approx(4 / 6)}
    assert queue_summary(small, QueueFilter(target_wait=0)).service_level["share"] == (
        pytest.approx(2 / 6))
    assert s.mean_service_seconds == pytest.approx(np.mean([10, 10, 10, 10, 5, 10]) * 60)


def test_occupancy_and_transactions_per_teller_hour_on_known_teller_days(
        small: EventStore) -> None:
    s = queue_summary(small)
    tellers = {row["teller_id"]: row for row in s.per_teller}
    # T1: open 09:00-09:30 and 10:50-11:00 (40 minutes: 09:30-10:50 is a break), busy
    # 10 + 10 + 10 minutes; served 2 (one more transferred)
    assert tellers["T1"]["served"] == 2
    assert tellers["T1"]["occupancy"] == pytest.approx(30 / 40)
    assert tellers["T1"]["transactions_per_teller_hour"] == pytest.approx(2 / (40 / 60))
    assert tellers["T1"]["mean_service_seconds"] == pytest.approx(600.0)
    # T2: open 09:05-09:40 (35 minutes), busy 10 + 5 + 10
    assert tellers["T2"]["occupancy"] == pytest.approx(25 / 35)
    assert tellers["T2"]["transactions_per_teller_hour"] == pytest.approx(3 / (35 / 60))
    assert s.occupancy == pytest.approx(55 / 75)
    assert s.transactions_per_teller_hour == pytest.approx(5 / (75 / 60))
    assert (s.first_day, s.last_day) == ("2026-11-02", "2026-11-02")


def test_counters_open_and_arrivals_per_interval(small: EventStore) -> None:
    load = interval_load(small).set_index("interval_start")
    assert list(load.columns) == [c for c in INTERVAL_LOAD_COLUMNS if c != "interval_start"]
    # T1 09:00-09:30 and 10:50-11:00, T2 09:05-09:40: 09:00 has 1 + 10/15, 09:30 has 10/15
    assert load.loc[at(540), "counters_open"] == pytest.approx(1 + 10 / 15)
    assert load.loc[at(555), "counters_open"] == pytest.approx(2.0)
    assert load.loc[at(570), "counters_open"] == pytest.approx(10 / 15)
    assert load.loc[at(645), "counters_open"] == pytest.approx(10 / 15)
    # T1's break: 10:00 has arrivals and no counter; 10:15 and 10:30 have neither (no row)
    assert load.loc[at(600), "counters_open"] == 0.0
    assert at(615) not in load.index and at(630) not in load.index
    # arrivals by queue start: 09:00 (1, 2, 3), 09:15 (5, 9, 10), 09:45 (8), 10:00 (4, 6)
    arrivals = load["arrivals"][load["arrivals"] > 0]
    assert arrivals.to_dict() == {at(540): 3, at(555): 3, at(585): 1, at(600): 2}
    assert load.loc[at(600), "abandoned"] == 1 and load.loc[at(585), "no_show"] == 1
    # an interval with counters open and nobody arriving has its row, with zeros
    assert load.loc[at(570), "arrivals"] == 0 and load.loc[at(645), "arrivals"] == 0
    assert load.loc[at(540), "total_wait_seconds"] == pytest.approx((0 + 15 + 10) * 60)
    assert load.loc[at(555), "abandoned_wait_seconds"] == pytest.approx(15 * 60)
    assert load.loc[at(555), "waits"] == 2
    assert set(load["weekday"]) == {1} and load.loc[at(555), "interval_of_day"] == 555


def served_by(teller: str, services: list[tuple[float, float]],
              branch: str = "B3") -> list[dict[str, object]]:
    """A teller's customers, each called at the start of service 5 minutes after queueing."""
    return [ticket(f"{teller}-{i}", "served", start - 5, start, start, end, teller, branch)
            for i, (start, end) in enumerate(services)]


def test_a_lunch_break_is_not_open_time_and_a_shorter_gap_is(store: EventStore) -> None:
    # L1: 09:00-11:40 with a 29-minute gap at 09:40-10:09 (not a break), lunch 11:40-12:20
    # (40 minutes), then 12:20-13:00; L2: a gap of exactly 30 minutes, a break
    l1 = [(540, 560), (560, 580), (609, 630), (630, 700), (740, 760), (760, 780)]
    l2 = [(540, 560), (590, 600)]
    write_tickets(store, pd.DataFrame(served_by("L1", l1) + served_by("L2", l2)))
    tellers = queue_measures(store, ["teller_id", "day"]).set_index("teller_id")
    busy = sum(end - start for start, end in l1)
    # L1 is open 09:00-11:40 (160 minutes) and 12:20-13:00 (40): 200, not 240
    assert tellers.loc["L1", "occupancy"] == pytest.approx(busy / 200)
    assert tellers.loc["L1", "transactions_per_teller_hour"] == pytest.approx(6 / (200 / 60))
    assert tellers.loc["L2", "occupancy"] == pytest.approx(1.0)  # open 20 + 10 minutes
    assert tellers.loc["L2", "transactions_per_teller_hour"] == pytest.approx(2 / 0.5)
    load = interval_load(store).set_index("interval_start")["counters_open"]
    # L1 open through its 29-minute gap; L2 at its break from 09:20 to 09:50
    assert load[at(570)] == pytest.approx(1.0) and load[at(600)] == pytest.approx(1.0)
    assert load[at(585)] == pytest.approx(1.0 + 10 / 15)
    # L1's lunch: 11:30 has 10 minutes open, 11:45 and 12:00 none (and no arrival either: no
    # row), 12:15 from 12:20 (a customer queued at 12:15 waits for it)
    assert load[at(690)] == pytest.approx(10 / 15)
    assert at(705) not in load.index and at(720) not in load.index
    assert load[at(735)] == pytest.approx(10 / 15)
    assert load[at(765)] == pytest.approx(1.0) and at(780) not in load.index
    # the counter-minutes are the open minutes: 200 (L1) + 30 (L2)
    assert load.sum() * 15 == pytest.approx(230)


def test_overlapping_services_make_no_false_break(store: EventStore) -> None:
    # V1 serves 13:00-14:00 and, meanwhile, 13:05-13:10 (waiting on an authorisation, say):
    # the next customer at 14:10 comes 10 minutes after the latest end (14:00), not 60 after
    # the end of the one before it in order (13:10); then 14:20-14:30 and, 35 minutes on,
    # 15:05-15:15 after a break
    v1 = [(780, 840), (785, 790), (850, 860), (860, 870), (905, 915)]
    write_tickets(store, pd.DataFrame(served_by("V1", v1)))
    s = queue_summary(store)
    assert s.occupancy == pytest.approx((60 + 5 + 10 + 10 + 10) / (90 + 10))
    load = interval_load(store).set_index("interval_start")["counters_open"]
    assert [load[at(m)] for m in (780, 795, 810, 825, 840, 855)] == pytest.approx(
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    # the break 14:30-15:05: no counter (and no arrival: no row), then 15:05 on
    assert at(870) not in load.index and at(885) not in load.index
    assert load[at(900)] == pytest.approx(10 / 15)


def test_filters_narrow_by_branch_and_day(store: EventStore) -> None:
    rows = pd.DataFrame([
        ticket("a", "served", 600, 601, 601, 610, "T1"),
        ticket("b", "served", 600 + 1440, 601 + 1440, 601 + 1440, 610 + 1440, "T1"),
        ticket("c", "served", 600, 602, 602, 610, "T9", branch="B2"),
    ])
    write_tickets(store, rows)
    assert queue_summary(store).tickets == 3
    assert queue_summary(store, QueueFilter(branch="B2")).tickets == 1
    second = QueueFilter(start=date(2026, 11, 3))
    assert queue_summary(store, second).tickets == 1
    assert queue_summary(store, QueueFilter(end=date(2026, 11, 3))).tickets == 2
    assert queue_summary(store, QueueFilter(source="events")).tickets == 0
    empty = queue_summary(store, QueueFilter(branch="B7"))
    assert (empty.tickets, empty.per_teller, empty.first_day) == (0, [], None)
    assert empty.mean_wait_seconds_served is None and empty.service_level["share"] is None
    with pytest.raises(ProcmineError, match="target wait"):
        QueueFilter(target_wait=-1)
    with pytest.raises(ProcmineError, match="is empty"):
        QueueFilter(start=date(2026, 11, 3), end=date(2026, 11, 3))
    with pytest.raises(ProcmineError, match="cannot group the queue by 'shop'"):
        queue_measures(store, ["branch_id", "shop"])


# -- random tickets: every measure per group against pandas --------------------------------------

def random_tickets(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    branch = rng.choice(["B1", "B2"], n)
    teller = np.where(branch == "B1", rng.choice(["T1", "T2", "T3"], n),
                      rng.choice(["T4", "T5"], n)).astype(object)
    day = rng.integers(0, 4, n)
    arrival = (T0 + pd.to_timedelta(day, "D") + pd.Timedelta(hours=8, minutes=30)
               + pd.to_timedelta(rng.uniform(0, 8 * 3600, n).round(3), "s"))
    outcome = rng.choice(["served", "transferred", "abandoned", "no_show"], n,
                         p=[0.8, 0.05, 0.1, 0.05])
    queue = arrival + pd.to_timedelta(rng.uniform(0, 30, n).round(3), "s")
    wait = rng.exponential(400, n).round(3)
    wait[rng.random(n) < 0.02] = -5.0  # a call clock a little behind the ticket printer
    call = queue + pd.to_timedelta(wait, "s")
    start = call + pd.to_timedelta(rng.uniform(5, 20, n).round(3), "s")
    end = start + pd.to_timedelta(rng.exponential(240, n).round(3) + 30, "s")
    served = np.isin(outcome, ["served", "transferred"])
    frame = pd.DataFrame({
        "ticket_id": [f"R{i}" for i in range(n)], "branch_id": branch,
        "arrival_time": arrival, "queue_start": queue, "call_time": call,
        "service_start": start.where(served), "service_end": end.where(served),
        "teller_id": np.where(served, teller, None),
        "business_type": rng.choice(["P17", "P18", "P28"], n),
        "window_type": rng.choice(["regular", "vip"], n, p=[0.8, 0.2]),
        "segment": rng.choice(["mass", "affluent"], n), "amount": rng.uniform(0, 5e4, n),
        "outcome": outcome,
    })
    never = (outcome == "abandoned") & (rng.random(n) < 0.3)  # left before queueing
    frame.loc[never, ["queue_start", "call_time"]] = pd.NaT
    frame.loc[(outcome == "abandoned") & (rng.random(n) < 0.3), "call_time"] = pd.NaT
    frame.loc[served & (rng.random(n) < 0.02), "teller_id"] = None
    times = ["arrival_time", "queue_start", "call_time", "service_start", "service_end"]
    return frame.astype(dict.fromkeys(times, "datetime64[us]"))


def pandas_measures(df: pd.DataFrame, by: list[str], target: float) -> pd.DataFrame:
    """The measures computed afresh with pandas (the module's definitions, in words)."""
    d = df.copy()
    d["queued"] = d["queue_start"].notna()
    d["wait"] = (d["call_time"] - d["queue_start"]).dt.total_seconds().clip(lower=0)
    d["service"] = (d["service_end"] - d["service_start"]).dt.total_seconds()
    d["day"] = d["queue_start"].fillna(d["arrival_time"]).dt.normalize()
    served = d["outcome"].isin(["served", "transferred"])
    d["w"] = d["wait"].where(served)
    rows = []
    for key, g in d.groupby(by, sort=True):
        w = g["w"].dropna()
        rows.append({
            **dict(zip(by, key, strict=True)),
            "arrivals": len(g), "queued": int(g["queued"].sum()),
            "served": int((g["outcome"] == "served").sum()),
            "transferred": int((g["outcome"] == "transferred").sum()),
            "abandoned": int((g["outcome"] == "abandoned").sum()),
            "no_show": int((g["outcome"] == "no_show").sum()),
            "abandonment_rate": ((g["outcome"] == "abandoned") & g["queued"]).sum()
            / g["queued"].sum(),
            "mean_wait_seconds": w.mean(), "median_wait_seconds": w.median(),
            "p90_wait_seconds": w.quantile(0.9), "max_wait_seconds": w.max(),
            "service_level": (w <= target).mean(),
            "mean_service_seconds": g.loc[g["outcome"].isin(["served", "transferred"]),
                                          "service"].mean(),
        })
    return pd.DataFrame(rows)


#: A gap between two customers of a teller that makes a break (the module's BREAK_MINUTES).
BREAK = pd.Timedelta(minutes=30)


def pandas_teller_days(df: pd.DataFrame) -> pd.DataFrame:
    """The teller-day spans computed afresh: each teller's served customers of a day in order
    of service start; a customer whose service starts 30 minutes or more after the latest end
    of the teller's earlier services (services may overlap) opens a new span after a break."""
    d = df[df["outcome"].isin(["served", "transferred"]) & df["teller_id"].notna()
           & df["service_start"].notna() & df["service_end"].notna()].copy()
    d["day"] = d["queue_start"].fillna(d["arrival_time"]).dt.normalize()
    d = d.sort_values(["branch_id", "teller_id", "day", "service_start", "service_end",
                       "ticket_id"])
    spans = []
    for (branch, teller, day), services in d.groupby(["branch_id", "teller_id", "day"]):
        span: dict[str, Any] = {}
        for service in services.itertuples():
            if span and service.service_start - span["latest_end"] >= BREAK:
                spans.append(span)
                span = {}
            if not span:
                span = {"branch_id": branch, "teller_id": teller, "day": day,
                        "open_from": service.service_start, "latest_end": service.service_end,
                        "busy": 0.0, "served": 0}
            span["latest_end"] = max(span["latest_end"], service.service_end)
            span["busy"] += (service.service_end - service.service_start).total_seconds()
            span["served"] += service.outcome == "served"
        spans.append(span)
    return pd.DataFrame(spans).rename(columns={"latest_end": "open_to"})


@pytest.fixture
def randomised(store: EventStore, request: pytest.FixtureRequest
               ) -> tuple[EventStore, pd.DataFrame]:
    """Random tickets in the store (3000 unless the test asks for another number: 600 are
    sparse enough for the tellers to have dozens of breaks)."""
    frame = random_tickets(getattr(request, "param", 3000))
    write_tickets(store, frame, quarantined=5)
    return store, frame


def test_every_measure_per_group_matches_pandas(
        randomised: tuple[EventStore, pd.DataFrame]) -> None:
    store, frame = randomised
    for by in (["branch_id", "window_type"], ["segment"], ["business_type", "day"]):
        got = queue_measures(store, by, QueueFilter(target_wait=300))
        assert list(got.columns) == [*by, *MEASURE_COLUMNS]
        want = pandas_measures(frame, by, 300.0)
        pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False, rtol=1e-9)
        assert got["occupancy"].isna().all()  # not a property of a teller-day


@pytest.mark.parametrize("randomised", [3000, 600], indirect=True)
def test_occupancy_by_branch_and_day_matches_pandas(
        randomised: tuple[EventStore, pd.DataFrame]) -> None:
    store, frame = randomised
    spans = pandas_teller_days(frame)
    if len(frame) < 1000:  # sparse: many teller-days with breaks
        assert len(spans) > 1.5 * len(spans[["branch_id", "teller_id", "day"]].drop_duplicates())
    spans["open"] = (spans["open_to"] - spans["open_from"]).dt.total_seconds()
    want = spans.groupby(["branch_id", "day"]).agg(busy=("busy", "sum"), open=("open", "sum"),
                                                   served=("served", "sum")).reset_index()
    got = queue_measures(store, ["branch_id", "day"])
    assert got["occupancy"].to_numpy() == pytest.approx((want["busy"] / want["open"]).to_numpy())
    assert got["transactions_per_teller_hour"].to_numpy() == pytest.approx(
        (want["served"] / (want["open"] / 3600)).to_numpy())


@pytest.mark.parametrize("randomised", [3000, 600], indirect=True)
def test_interval_load_matches_pandas(randomised: tuple[EventStore, pd.DataFrame]) -> None:
    store, frame = randomised
    load = interval_load(store, QueueFilter(target_wait=300))
    queued = frame[frame["queue_start"].notna()].copy()
    queued["interval_start"] = queued["queue_start"].dt.floor("15min")
    arrivals = queued.groupby(["branch_id", "interval_start"]).size()
    got = load.set_index(["branch_id", "interval_start"])["arrivals"]
    pd.testing.assert_series_equal(got[got > 0], arrivals, check_names=False,
                                   check_dtype=False)
    # counters open: every teller-day span cut into quarter-hours by brute force
    counters: dict[tuple[str, pd.Timestamp], float] = {}
    for span in pandas_teller_days(frame).itertuples():
        quarter = span.open_from.floor("15min")
        while quarter < span.open_to:
            overlap = (min(span.open_to, quarter + pd.Timedelta(minutes=15))
                       - max(span.open_from, quarter)).total_seconds()
            key = (span.branch_id, quarter)
            counters[key] = counters.get(key, 0.0) + overlap / 900
            quarter += pd.Timedelta(minutes=15)
    opened = load.set_index(["branch_id", "interval_start"])["counters_open"]
    assert {k: v for k, v in opened.items() if v > 0} == pytest.approx(counters)
    assert int(load["served"].sum()) == int((queued["outcome"] == "served").sum())
    # the interval's weekday and minute of day, for rows of either side
    assert (load["weekday"] == load["interval_start"].dt.day_of_week + 1).all()
    assert (load["interval_of_day"] == load["interval_start"].dt.hour * 60
            + load["interval_start"].dt.minute).all()
    assert (load["day"] == load["interval_start"].dt.normalize()).all()


# -- the demo workspace: figures = pandas over its events ----------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    home = tmp_path_factory.mktemp("queue-demo") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    return EventStore(home)


def demo_tickets(store: EventStore) -> pd.DataFrame:
    """One ticket per case of the event log with a ticket time, computed with pandas."""
    events = store.read_events().to_pandas()
    events = events[events["case_id"].isin(events.loc[events["ticket_time"].notna(), "case_id"])]
    events["first"] = events["start_time"].fillna(events["end_time"])
    cases = events.groupby("case_id").agg(
        branch_id=("branch_id", "first"), teller_id=("teller_id", "first"),
        queue_start=("ticket_time", "min"), call_time=("call_time", "min"),
        service_start=("first", "min"), service_end=("end_time", "max"))
    cases["wait"] = (cases["call_time"] - cases["queue_start"]).dt.total_seconds().clip(lower=0)
    cases["service"] = (cases["service_end"] - cases["service_start"]).dt.total_seconds()
    return cases


def test_demo_figures_match_pandas_over_the_events(demo: EventStore) -> None:
    cases = demo_tickets(demo)
    s = queue_summary(demo, QueueFilter(source="events", target_wait=600))
    assert s.source == "events"
    assert s.tickets == s.served == len(cases) > 10_000
    assert s.mean_wait_seconds_served == pytest.approx(cases["wait"].mean(), rel=1e-9)
    assert s.p90_wait_seconds_served == pytest.approx(cases["wait"].quantile(0.9), rel=1e-9)
    assert s.service_level["share"] == pytest.approx((cases["wait"] <= 600).mean())
    assert s.mean_service_seconds == pytest.approx(cases["service"].mean(), rel=1e-9)
    per_teller = cases.groupby("teller_id").agg(served=("service", "size"),
                                                mean=("service", "mean"))
    assert [t["teller_id"] for t in s.per_teller] == list(per_teller.index)
    assert [t["served"] for t in s.per_teller] == list(per_teller["served"])
    assert [t["mean_service_seconds"] for t in s.per_teller] == pytest.approx(
        list(per_teller["mean"]))
    b01 = cases[cases["branch_id"] == "B01"]
    branch = queue_summary(demo, QueueFilter(branch="B01", source="events"))
    assert branch.tickets == len(b01) and branch.median_wait_seconds_served == pytest.approx(
        b01["wait"].median())
    assert {t["teller_id"][:2] for t in branch.per_teller} == {"01"}
    assert 0 < s.occupancy < 1 and s.transactions_per_teller_hour > 0


def test_demo_interval_load_adds_up(demo: EventStore) -> None:
    events = QueueFilter(source="events", branch="B02")
    load = interval_load(demo, events)
    s = queue_summary(demo, events)
    assert int(load["arrivals"].sum()) == s.queued and int(load["served"].sum()) == s.served
    assert load["total_wait_seconds"].sum() == pytest.approx(
        s.mean_wait_seconds_served * s.served)
    assert set(load["branch_id"]) == {"B02"} and load["counters_open"].max() <= len(
        s.per_teller)


# -- the same figures on Spark -------------------------------------------------------------------

@pytest.fixture(scope="module")
def parity_store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    """A small store with both sources: events carrying ticket and call times, and a ticket
    batch of random tickets."""
    root = tmp_path_factory.mktemp("queue-parity")
    result = write_demo_data(root / "demo", DemoConfig(events=20_000, seed=5), fmt="parquet")
    store = EventStore(root / "workspace")
    assert ingest_log(store, result.events_path).loaded > 10_000
    write_tickets(store, random_tickets(1500, seed=8), quarantined=4)
    return store


@pytest.fixture(scope="module")
def spark(parity_store: EventStore) -> Iterator[Engine]:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")
    engine = get_engine("spark", parity_store)
    yield engine
    engine.close()


def _same(duck: pd.DataFrame, other: pd.DataFrame) -> None:
    assert len(duck) > 0
    pd.testing.assert_frame_equal(duck, other, check_dtype=False, rtol=1e-9)


@pytest.mark.parametrize("source", ["events", "tickets"])
def test_queue_measures_are_the_same_on_spark(parity_store: EventStore, spark: Engine,
                                              source: str) -> None:
    filters = QueueFilter(source=source, target_wait=300)
    for by in (["branch_id", "interval_start"], ["teller_id", "day"], ["window_type"], []):
        _same(queue_measures(parity_store, by, filters),
              queue_measures(parity_store, by, filters, engine=spark))
    _same(interval_load(parity_store, filters), interval_load(parity_store, filters,
                                                              engine=spark))
    duck = queue_summary(parity_store, filters).to_dict()
    other = queue_summary(parity_store, filters, engine=spark).to_dict()
    assert duck.keys() == other.keys() and duck["tickets"] > 500
    for key, value in duck.items():
        if key == "per_teller":
            assert [t["teller_id"] for t in other[key]] == [t["teller_id"] for t in value]
            _same(pd.DataFrame(value), pd.DataFrame(other[key]))
        elif isinstance(value, float):
            assert other[key] == pytest.approx(value, rel=1e-9), key
        elif key == "service_level":
            assert other[key]["share"] == pytest.approx(value["share"], rel=1e-9)
        else:
            assert other[key] == value, key


def test_the_spark_tickets_view_is_the_stores(parity_store: EventStore, spark: Engine) -> None:
    sql = "SELECT * FROM tickets ORDER BY ticket_id"
    duck = get_engine("duckdb", parity_store).query(sql)
    other = spark.query(sql)
    assert len(duck) == 1500 and set(duck["source_batch"]) == {"t1"}
    _same(duck, other)


def test_helpers_write_what_the_store_reads(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "w")
    write_tickets(store, random_tickets(10), quarantined=2)
    assert store.has_tickets()
    assert len(get_engine("duckdb", store).query("SELECT * FROM tickets")) == 10


def test_the_calendar_of_the_relation_translates_for_spark() -> None:
    """The queue tickets' day, weekday and interval read on Spark as on DuckDB (the rewrites of
    procmine.store.spark_sql; the parity tests above run them)."""
    from procmine.store.spark_sql import to_spark_sql

    sql = to_spark_sql("SELECT isodow(t) AS w, date_trunc('hour', t) + to_minutes(15) AS i "
                       "FROM x")
    assert sql == ("SELECT (WEEKDAY(t) + 1) AS w, CAST(DATE_TRUNC('HOUR', t) AS TIMESTAMP_NTZ)"
                   " + MAKE_DT_INTERVAL(0, 0, 15) AS i FROM x")
