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
        "expected_service_level"]
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
    served = queued["outcome"].isin(["served", "transferred"])
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
    assert row["mean_service_seconds"] == pytest.approx(cell.loc[served, "service"].mean())
    assert row["required"] >= 1 and not abandoned.empty
    assert plan.target_wait == 300
