"""The staffing plan (procmine/queue/staffing.py) on hand-built interval loads, and its
recommendation checked in a discrete-event simulation (simpy) of the same arrivals."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import pandas as pd
import pytest
import simpy

from procmine.core.errors import ProcmineError
from procmine.queue.erlang import wait_metrics
from procmine.queue.staffing import (
    ASSUMPTIONS,
    ShiftSuggestion,
    plan_from_load,
    what_if,
)

MONDAY = date(2026, 10, 5)


def _row(branch, day, minute, arrivals, *, served=None, abandoned=0, service=300.0, wait=0.0,
         counters=1.0):
    return {"branch_id": branch, "day": day, "weekday": day.isoweekday(),
            "interval_of_day": minute, "arrivals": arrivals,
            "served": arrivals - abandoned if served is None else served,
            "abandoned": abandoned, "mean_service_seconds": service,
            "total_wait_seconds": wait, "counters_open": counters}


def _load(rows):
    return pd.DataFrame(rows)


def test_means_are_over_the_days_the_branch_was_observed():
    next_monday = MONDAY + timedelta(days=7)
    load = _load([
        _row("B01", MONDAY, 540, 10, counters=2.0),
        _row("B01", MONDAY, 555, 6, counters=2.0),
        _row("B01", next_monday, 540, 14, counters=3.0, service=400.0),
        # 09:15 of the second Monday had nobody: no row, but the day still counts
        _row("B01", MONDAY + timedelta(days=1), 540, 8, counters=1.0),
    ])
    plan = plan_from_load(load)
    rows = plan.intervals.set_index(["weekday", "interval_of_day"])
    assert rows.loc[(1, 540), "days"] == 2
    assert rows.loc[(1, 540), "arrivals_per_hour"] == pytest.approx((10 + 14) / 2 * 4)
    assert rows.loc[(1, 555), "arrivals_per_hour"] == pytest.approx(6 / 2 * 4)
    assert rows.loc[(1, 555), "open_counters"] == pytest.approx(1.0)
    # served-weighted mean service time
    assert rows.loc[(1, 540), "mean_service_seconds"] == pytest.approx(
        (10 * 300 + 14 * 400) / 24)
    assert rows.loc[(2, 540), "arrivals_per_hour"] == pytest.approx(32.0)
    assert list(plan.intervals.columns) == [
        "branch_id", "weekday", "interval_of_day", "days", "arrivals_per_hour",
        "mean_service_seconds", "patience_seconds", "model", "required", "open_counters", "gap",
        "expected_service_level", "observed_service_level"]
    assert plan.intervals["observed_service_level"].isna().all()  # the load has none
    for r in plan.intervals.itertuples():
        needed = wait_metrics(r.arrivals_per_hour, r.mean_service_seconds, r.required,
                              target_wait=600)
        assert needed.service_level >= 0.8
        assert r.gap == pytest.approx(r.open_counters - r.required)


def test_patience_is_estimated_per_branch_and_picks_the_model():
    load = _load([
        # B01: 3 of 40 leave (7.5 %), having waited 2,000 s in all with the others
        _row("B01", MONDAY, 540, 20, abandoned=2, wait=1500.0, counters=3.0),
        _row("B01", MONDAY, 555, 20, abandoned=1, wait=500.0, counters=3.0),
        # B02: 1 of 50 leaves (2 %): Erlang C
        _row("B02", MONDAY, 540, 50, abandoned=1, wait=3000.0, counters=6.0),
    ])
    plan = plan_from_load(load)
    branches = plan.branches.set_index("branch_id")
    assert branches.loc["B01", "abandonment_rate"] == pytest.approx(3 / 40)
    assert branches.loc["B01", "patience_seconds"] == pytest.approx(2000 / 3)
    assert branches.loc["B01", "model"] == "erlang_a"
    assert branches.loc["B02", "patience_seconds"] == pytest.approx(3000.0)
    assert branches.loc["B02", "model"] == "erlang_c"
    rows = plan.intervals.set_index(["branch_id", "interval_of_day"])
    assert rows.loc[("B01", 540), "model"] == "erlang_a"
    assert rows.loc[("B02", 540), "model"] == "erlang_c"
    a = what_if(plan, "B01", 1, 540, 3)
    assert a.model == "erlang_a" and a.patience_seconds == pytest.approx(2000 / 3)


def test_shortfalls_and_surpluses_merge_into_blocks():
    rows = []
    # 09:00-10:00 busy (needs more than the 2 open), 10:00-10:30 quiet with 4 open,
    # 11:30 busy again but not adjacent to the first block
    for minute, arrivals, counters in [(540, 20, 2.0), (555, 24, 2.0), (570, 20, 2.0),
                                       (585, 16, 2.0), (600, 2, 4.0), (615, 2, 4.0),
                                       (690, 20, 2.0)]:
        rows.append(_row("B01", MONDAY, minute, arrivals, counters=counters))
    plan = plan_from_load(_load(rows))
    gaps = plan.intervals.set_index("interval_of_day")["gap"]
    shifts = plan.shifts
    assert all(isinstance(s, ShiftSuggestion) for s in shifts)
    short = [s for s in shifts if s.reason == "shortfall"]
    spare = [s for s in shifts if s.reason == "surplus"]
    assert [(s.start, s.end) for s in short] == [("09:00", "10:00"), ("11:30", "11:45")]
    assert short[0].counters == -int(gaps.loc[[540, 555, 570, 585]].min())
    assert [(s.start, s.end, s.counters) for s in spare] == [
        ("10:00", "10:30", int(gaps.loc[[600, 615]].min()))]
    assert short[0].describe() == (
        f"B01, Monday: open {short[0].counters} more windows from 09:00 to 10:00")
    assert "could close or go to other work" in spare[0].describe()


def test_a_quarter_counter_short_is_not_a_shift():
    # 2 required; 1.8 open (a teller leaving a little early) is within tolerance
    plan = plan_from_load(_load([_row("B01", MONDAY, 540, 3, counters=1.8)]))
    assert int(plan.intervals.loc[0, "required"]) == 2
    assert plan.shifts == []


def test_heatmap_is_weekday_by_interval_of_gap():
    tuesday = MONDAY + timedelta(days=1)
    load = _load([
        _row("B01", MONDAY, 540, 20, counters=2.0),
        _row("B01", tuesday, 555, 4, counters=3.0),
        _row("B02", MONDAY, 540, 8, counters=4.0),
    ])
    plan = plan_from_load(load)
    gaps = plan.intervals.set_index(["branch_id", "weekday", "interval_of_day"])["gap"]
    one = plan.heatmap("B01")
    assert list(one.index) == [1, 2] and list(one.columns) == [540, 555]
    assert one.loc[1, 540] == pytest.approx(gaps.loc[("B01", 1, 540)])
    assert pd.isna(one.loc[1, 555])
    both = plan.heatmap()
    assert both.loc[1, 540] == pytest.approx(gaps.loc[("B01", 1, 540)]
                                             + gaps.loc[("B02", 1, 540)])
    assert plan.heatmap("B99").empty


def test_what_if_and_json():
    load = _load([_row("B01", MONDAY, 540, 12, counters=3.0)])
    plan = plan_from_load(load, target_wait=300, target_share=0.9)
    m = what_if(plan, "B01", 1, 540, 4)
    assert m == wait_metrics(48, 300, 4, target_wait=300)
    with pytest.raises(ProcmineError, match="no interval 10:00"):
        what_if(plan, "B01", 1, 600, 4)
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["target_seconds"] == 300 and data["target_share"] == 0.9
    assert data["intervals"][0]["required"] == plan.intervals.loc[0, "required"]
    assert [a["key"] for a in data["assumptions"]] == list(ASSUMPTIONS)
    assert data["branches"][0]["model"] == "erlang_c"


def test_a_load_without_its_columns_is_refused():
    with pytest.raises(ProcmineError, match="counters_open"):
        plan_from_load(pd.DataFrame({"branch_id": ["B01"]}))


# -- the recommendation in a discrete-event simulation ------------------------------------------


def _simulate(per_hour, service, counters, target, patience=None, customers=60_000, seed=14):
    """One shared queue served first come first served by ``counters`` counters, Poisson
    arrivals, exponential service (and patience): the share of customers served within
    ``target`` seconds, of all who came (the first tenth discarded as warm-up)."""
    rng = random.Random(seed)
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=counters)
    counted = {"all": 0, "within": 0}
    warm_up = customers // 10

    def customer(i):
        arrived = env.now
        request = desk.request()
        if patience is None:
            yield request
            served = True
        else:
            outcome = yield request | env.timeout(rng.expovariate(1 / patience))
            served = request in outcome
            if not served:
                request.cancel()
        if i >= warm_up:
            counted["all"] += 1
            counted["within"] += served and env.now - arrived <= target
        if served:
            yield env.timeout(rng.expovariate(1 / service))
            desk.release(request)

    def arrivals():
        for i in range(customers):
            yield env.timeout(rng.expovariate(per_hour / 3600))
            env.process(customer(i))

    env.process(arrivals())
    env.run()
    return counted["within"] / counted["all"]


def _two_mondays(arrivals, abandoned, wait, service):
    return _load([_row("B01", MONDAY + timedelta(days=7 * k), 600, arrivals, abandoned=abandoned,
                       wait=wait, service=service, counters=4.0) for k in range(2)])


@pytest.mark.parametrize(
    ("load", "target_wait", "model"),
    [
        # 36 an hour of 6 minutes, nobody leaves: Erlang C
        (_two_mondays(9, 0, 0.0, 360.0), 600, "erlang_c"),
        # 48 an hour of 5 minutes, 1 in 12 leaves, patience 900 s: Erlang A
        (_two_mondays(12, 1, 900.0, 300.0), 300, "erlang_a"),
    ],
)
def test_the_recommendation_meets_the_target_in_a_simulation(load, target_wait, model):
    plan = plan_from_load(load, target_wait=target_wait, target_share=0.8)
    row = plan.intervals.iloc[0]
    assert row["model"] == model
    required = int(row["required"])
    patience = row["patience_seconds"] if model == "erlang_a" else None
    for counters in (required, required - 1):
        simulated = _simulate(row["arrivals_per_hour"], row["mean_service_seconds"], counters,
                              target_wait, patience)
        predicted = what_if(plan, "B01", 1, 600, counters).service_level
        assert simulated == pytest.approx(predicted, abs=0.02)
        if counters == required:
            assert simulated >= 0.8
        else:  # one counter fewer misses the target, as the plan says
            assert predicted < 0.8
            assert simulated < 0.8


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_assumptions_and_shift_lines_are_in_the_catalogues(lang):
    from procmine.app.i18n import load_messages, t

    messages = load_messages(lang)
    assert all(messages.get(key) for key in ASSUMPTIONS)
    if lang == "en":
        assert all(messages[key] == text for key, text in ASSUMPTIONS.items())
        shift = ShiftSuggestion("B01", 1, 540, 600, 2, "shortfall")
        line = t("staffing.shift.shortfall", lang, branch="B01",
                 weekday=t("staffing.weekday.1", lang), counters=2, start=shift.start,
                 end=shift.end)
        assert line == shift.describe()


# -- on a store: the plan over interval_load ----------------------------------------------------


def test_the_plan_of_a_store_against_pandas(store):
    from test_queue_measures import random_tickets, write_tickets

    from procmine.queue.measures import QueueFilter
    from procmine.queue.staffing import staffing_plan

    tickets = random_tickets(n=3000, seed=5)
    write_tickets(store, tickets)
    plan = staffing_plan(store, QueueFilter(target_wait=300), target_share=0.8)

    queued = tickets[tickets["queue_start"].notna()].copy()
    wait = (queued["call_time"] - queued["queue_start"]).dt.total_seconds().clip(lower=0)
    queued["wait"] = wait
    abandoned = queued["outcome"] == "abandoned"
    for branch, rows in queued.groupby("branch_id"):
        b = rows["outcome"]
        time_in_queue = (rows.loc[b.isin(["served", "transferred"]), "wait"].sum()
                         + rows.loc[b == "abandoned", "wait"].sum())
        figures = plan.branches.set_index("branch_id").loc[branch]
        assert figures["abandonment_rate"] == pytest.approx((b == "abandoned").mean())
        assert figures["patience_seconds"] == pytest.approx(time_in_queue
                                                            / (b == "abandoned").sum())
        assert figures["model"] == "erlang_a"  # about 10 % abandon
    start = queued["queue_start"]
    queued["weekday"] = start.dt.day_of_week + 1
    queued["minute"] = start.dt.hour * 60 + start.dt.minute // 15 * 15
    queued["service"] = (queued["service_end"] - queued["service_start"]).dt.total_seconds()
    cell = queued[(queued["branch_id"] == "B1") & (queued["weekday"] == 2)
                  & (queued["minute"] == 600)]
    days = queued[(queued["branch_id"] == "B1") & (queued["weekday"] == 2)]["queue_start"]
    assert days.dt.date.nunique() == 1
    row = plan.intervals.set_index(["branch_id", "weekday", "interval_of_day"]).loc[
        ("B1", 2, 600)]
    assert row["arrivals_per_hour"] == pytest.approx(len(cell) * 4)
    assert row["mean_service_seconds"] == pytest.approx(
        cell.loc[cell["outcome"].isin(["served", "transferred"]), "service"].mean())
    assert row["required"] >= 1 and not abandoned.empty
    waited = cell[cell["outcome"].isin(["served", "transferred"])]
    assert row["observed_service_level"] == pytest.approx((waited["wait"] <= 300).mean())
    assert plan.target_wait == 300


# -- the demo's own arrivals, replayed against the plan's counters -------------------------------


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    from procmine.demo.workspace import bundled_demo_log
    from procmine.ingest.run import ingest_log
    from procmine.store.event_store import EventStore

    store = EventStore(tmp_path_factory.mktemp("staffing-demo") / "workspace")
    ingest_log(store, bundled_demo_log())
    return store


def _arrivals(store, branch):
    """The branch's queued customers: day, weekday, seconds after midnight, interval."""
    from procmine.queue.tickets import queue_tickets_sql, resolve_source
    from procmine.store.engine import get_engine

    session = get_engine("duckdb", store).session()
    with session:
        session.create_view("queue_tickets", queue_tickets_sql(resolve_source(store)))
        return session.query(
            "SELECT day, weekday, interval_of_day, "
            "       epoch(queue_start - CAST(day AS TIMESTAMP)) AS at "
            "FROM queue_tickets WHERE queued AND branch_id = $branch ORDER BY queue_start",
            {"branch": branch})


def _replay_day(arrivals, cells, fewer, seed, target):
    """One day of observed arrivals (seconds after midnight, interval) at one shared queue whose
    counters follow the plan interval by interval (``required - fewer``, at least one);
    exponential service at each interval's mean, and patience where the plan uses Erlang A.

    A simpy PriorityResource holds the most counters of the day; in each interval the ones the
    plan does not open are taken by "closed" requests of a higher priority, granted when a
    counter comes free (a counter closes after its customer, as at a bank). Returns (customers,
    served within the target)."""
    rng = random.Random(seed)
    env = simpy.Environment()
    open_at = {m: max(int(c["required"]) - fewer, 1) for m, c in cells.items()}
    most = max(open_at.values())
    desk = simpy.PriorityResource(env, capacity=most)
    counted = {"all": 0, "within": 0}

    def closed(until):
        request = desk.request(priority=-1)
        granted = yield request | env.timeout(until - env.now)
        if request in granted:
            yield env.timeout(max(until - env.now, 0))
            desk.release(request)
        else:
            request.cancel()

    def interval(start, shut):
        yield env.timeout(start - env.now)
        for _ in range(shut):
            env.process(closed(start + 15 * 60))

    def customer(at, minute):
        yield env.timeout(at - env.now)
        cell = cells.get(minute, {"mean_service_seconds": 300.0, "model": "erlang_c"})
        request = desk.request(priority=0)
        if cell["model"] == "erlang_a":
            granted = yield request | env.timeout(rng.expovariate(1 / cell["patience_seconds"]))
            if request not in granted:
                request.cancel()
                counted["all"] += 1
                return
        else:
            yield request
        counted["all"] += 1
        counted["within"] += env.now - at <= target
        yield env.timeout(rng.expovariate(1 / cell["mean_service_seconds"]))
        desk.release(request)

    for minute in range(min(open_at), max(open_at) + 15, 15):
        env.process(interval(minute * 60, most - open_at.get(minute, 1)))
    for at, minute in arrivals:
        env.process(customer(at, minute))
    env.run()
    return counted["all"], counted["within"]


def test_the_plan_meets_the_target_on_the_demos_own_arrivals(demo_store):
    """Each day of B01 in the demo: the plan made from that day's tickets, and that day's
    observed arrivals replayed (three times, with different service times) with the counters it
    recommends for each interval. Over the period 80 % are served within 10 minutes, and so on
    the median day; with one counter fewer in every interval the period falls short.

    A single day of a few hundred customers can miss when a few long services bunch up (the
    model's figures are long-run averages), and a plan made from several days staffs the mean
    day of each weekday, so a day busier than its weekday's mean can fall short too."""
    from procmine.queue.measures import QueueFilter
    from procmine.queue.staffing import staffing_plan

    arrivals = _arrivals(demo_store, "B01")
    assert len(arrivals) > 1000
    totals = {0: [0, 0], 1: [0, 0]}
    days = []
    for k, (_, day) in enumerate(arrivals.groupby("day", sort=True)):
        first = pd.Timestamp(day["day"].iloc[0]).date()
        plan = staffing_plan(demo_store, QueueFilter(branch="B01", start=first,
                                                     end=first + timedelta(days=1)))
        cells = plan.intervals.set_index("interval_of_day").to_dict("index")
        seen = list(zip(day["at"], day["interval_of_day"], strict=True))
        for fewer in (0, 1):
            for run in range(3):
                n, within = _replay_day(seen, cells, fewer, seed=100 * run + k, target=600.0)
                totals[fewer][0] += n
                totals[fewer][1] += within
                if fewer == 0:
                    days.append(within / n)
    assert totals[0][0] == 3 * len(arrivals)
    assert totals[0][1] / totals[0][0] >= 0.8
    assert sorted(days)[len(days) // 2] >= 0.8
    assert totals[1][1] / totals[1][0] < 0.8


def test_the_plan_is_the_same_on_spark(tmp_path):
    """The plan over Spark's interval load (local mode) is DuckDB's: counts exact, floats to
    1e-9 relative."""
    import os
    import shutil

    from test_queue_measures import random_tickets, write_tickets

    from procmine.queue.measures import QueueFilter
    from procmine.queue.staffing import staffing_plan
    from procmine.store.engine import get_engine
    from procmine.store.event_store import EventStore

    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")
    store = EventStore(tmp_path / "workspace")
    write_tickets(store, random_tickets(n=1500, seed=9))
    filters = QueueFilter(target_wait=300)
    duck = staffing_plan(store, filters)
    spark = get_engine("spark", store)
    try:
        other = staffing_plan(store, filters, engine=spark)
    finally:
        spark.close()
    assert len(duck.intervals) > 50
    pd.testing.assert_frame_equal(duck.intervals, other.intervals, check_dtype=False,
                                  rtol=1e-9)
    pd.testing.assert_frame_equal(duck.branches, other.branches, check_dtype=False, rtol=1e-9)
    assert duck.shifts == other.shifts


def test_a_branch_that_served_nobody_takes_the_banks_service_time():
    load = _load([
        _row("B01", MONDAY, 540, 10, service=300.0),
        _row("B01", MONDAY, 555, 30, service=400.0),
        _row("B02", MONDAY, 540, 4, served=0, abandoned=4, service=float("nan"), wait=900.0),
    ])
    plan = plan_from_load(load)
    rows = plan.intervals.set_index(["branch_id", "interval_of_day"])
    assert rows.loc[("B02", 540), "mean_service_seconds"] == pytest.approx(
        (10 * 300 + 30 * 400) / 40)
    assert rows.loc[("B02", 540), "model"] == "erlang_a"
    with pytest.raises(ProcmineError, match="no served customer"):
        plan_from_load(_load([_row("B02", MONDAY, 540, 4, served=0, abandoned=4,
                                   service=float("nan"), wait=900.0)]))
