"""The re-measurement of items done: the SOP-P18 revision of the bundled demo log reports the
effect the log was generated with; a retraining item on a slow teller step is verified when the
teller is no longer slow, not effective when nothing changed, and awaits data until the after
period has some; the item's evidence stays frozen while new data changes the findings.

The generated logs: one 90-day log (September to November 2026, seed 5, three branches of six
tellers) with two injected teller slow steps, and the same log without them (the steps
"fixed"), each split by month into batches that are ingested one by one. The data-generating
tests run on SQLite only (the app database holds only a few items)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from demo_kit import copy_demo_workspace

from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.analysis.filters import Filters
from procmine.analysis.findings import Finding
from procmine.analysis.performance import step_rows
from procmine.app.auth import User, add_user, get_user
from procmine.core.baseline import Baseline
from procmine.demo import DemoConfig, write_demo_data
from procmine.demo.workspace import bundled_demo_log
from procmine.improve.measure import measure_item
from procmine.improve.refresh import RefreshReport, refresh_register
from procmine.improve.register import add_link, get_item, open_item, set_status
from procmine.improve.subjects import finding_key, finding_subject, shortfall_subject
from procmine.ingest.run import ingest_log
from procmine.queue.measures import QueueFilter, queue_measures
from procmine.queue.staffing import staffing_plan
from procmine.store.event_store import EventStore

PASSWORD = "a-long-test-password-1"
CHANGED = date(2026, 10, 1)
SQLITE = pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)


def generated_batches(root: Path) -> tuple[dict[str, Path], dict[str, Any]]:
    """The 90-day log with its slow steps ("slow") and without ("fixed"), split by month:
    {"slow-09": path, ..., "fixed-11": path}, and the slow log's truth."""
    batches: dict[str, Path] = {}
    truth: dict[str, Any] = {}
    for name, slow in (("slow", 2), ("fixed", 0)):
        result = write_demo_data(root / name, DemoConfig(
            events=180_000, seed=5, start=date(2026, 9, 1), days=90, slow_steps=slow,
            branch_slow_steps=0, branches=3, tellers_per_branch=6), fmt="parquet")
        if slow:
            truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
        table = pq.read_table(result.events_path)
        case_ids = pc.cast(table["case_id"], "string")
        for month in ("09", "10", "11"):
            path = root / f"{name}-{month}.parquet"
            pq.write_table(table.filter(pc.starts_with(case_ids, f"T2026{month}-")), path)
            batches[f"{name}-{month}"] = path
    return batches, truth


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], dict[str, Any]]:
    return generated_batches(tmp_path_factory.mktemp("improve-logs"))


def _slow_step(store: EventStore, baseline: Baseline, truth: dict[str, Any]) -> Finding:
    """The finding on the first injected teller slow step, from the data so far."""
    slow = truth["slow_steps"][0]
    found = [f for f in find_bottlenecks(store, baseline, kinds=("step",))
             if (f.teller_id, f.business_type, f.activity)
             == (slow["teller_id"], slow["business_type"], slow["activity"])]
    assert len(found) == 1, "the injected slow step is found in September"
    return found[0]


def _done_item(finding: Finding, ops: User, home: Path, *, decision: str = "retrain",
               changed_on: date = CHANGED, link: str | None = None) -> int:
    subject = finding_subject(finding, as_of=changed_on, store_version="v1")
    item = open_item(subject, user=ops, cause="training", review_group="accounting-and-cash",
                     proposed_change="Coach the teller", home=home)
    set_status(item.id, "accepted", user=ops, decision=decision, home=home)
    set_status(item.id, "in_progress", user=ops, home=home)
    if link:
        add_link(item.id, "sop_revision", link, user=ops, home=home)
    set_status(item.id, "done", user=ops, changed_on=changed_on, home=home)
    return item.id


@SQLITE
def test_the_sop_revision_of_the_demo_log_reports_its_known_effect(
        own_app_db: None, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No finding of the demo log is about P18 "Count cash" (the step is not slow enough to
    be one), so the item's finding is built from the measured figures of branch B01 on that
    step before the revision came in force there (21 September 2026), against the old
    standard of SOP-P18 2.0 (37 s)."""
    home = tmp_path / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    truth = json.loads((bundled_demo_log().parent / "demo_truth.json").read_text("utf-8"))
    revision = truth["revisions"][0]
    effective = date.fromisoformat(revision["effective"])
    store = EventStore(home)
    before = step_rows(store, Filters(end=date(2026, 9, 20), branches=("B01",)),
                       [("P18", "Count cash")])
    median = float(np.median(before["service_seconds"]))
    finding = Finding(
        scope="branch", teller_id=None, branch_id="B01", business_type="P18",
        activity="Count cash", cases=len(before), steps=len(before), median_seconds=median,
        p90_seconds=float(np.quantile(before["service_seconds"], 0.9)),
        reference_seconds=37.0, reference_source="sop", ratio=median / 37.0, pace=1.0,
        excess_seconds=median - 37.0, time_lost_seconds=0.0, monthly_teller_hours=0.5,
        months=0.66, p_value=0.01, q_value=0.02, bank_median_seconds=median,
        branch_median_seconds=None, sop="SOP-P18", sop_step="count_cash", sop_version="2.0")
    item_id = _done_item(finding, get_user("ops", home), home, decision="revise_sop",
                         changed_on=effective, link="SOP-P18@3.0")

    report = refresh_register(home)
    assert report.verified == [item_id] and report.measured == [item_id]
    item = get_item(item_id, user=get_user("ops", home), home=home)
    measured = item.measurement or {}
    assert item.status == "verified"
    assert measured["method"] == "revision_effect"
    assert abs(measured["change"] - (revision["factor"] - 1)) < 0.04
    assert measured["p_value"] < 0.05
    assert measured["details"]["did_effect"] == pytest.approx(revision["factor"] - 1, abs=0.05)
    assert measured["before"]["n"] > 1000 and measured["after"]["n"] > 1000
    assert "整改有效" in measured["text"]["zh-CN"] and "Count cash" in measured["text"]["en"]
    # a second refresh on the same data writes nothing
    assert refresh_register(home).measured == []


@SQLITE
def test_a_staffing_change_on_a_queue_shortfall_is_measured_on_the_service_level(
        own_app_db: None, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A shortfall of the demo's staffing plan on a Thursday at B01 (the demo's queue export
    has Thursdays 24 September, 1 and 8 October): more windows from 1 October; the service
    level of the block before against after, as the queue measures give it."""
    home = tmp_path / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    store = EventStore(home)
    plan = staffing_plan(store)
    shift = max((s for s in plan.shifts if s.reason == "shortfall" and s.branch_id == "B01"
                 and s.weekday == 4), key=lambda s: (s.end_minute - s.start_minute, s.start))
    subject = shortfall_subject(shift.to_dict(), as_of=date(2026, 9, 30), store_version="v1",
                                figures={"target_wait": plan.target_wait})
    ops = get_user("ops", home)
    item = open_item(subject, user=ops, cause="staffing", review_group="compliance-and-control",
                     home=home)
    set_status(item.id, "accepted", user=ops, decision="change_staffing", home=home)
    set_status(item.id, "in_progress", user=ops, home=home)
    set_status(item.id, "done", user=ops, changed_on=CHANGED, home=home)
    refresh_register(home, store=store)
    item = get_item(item.id, user=ops, home=home)
    measured = item.measurement or {}
    before, after = measured["before"], measured["after"]
    assert measured["method"] == "service_level" and measured["measured_through"] == "2026-10-08"
    assert (before["to"], after["from"]) == ("2026-09-24", "2026-10-01")
    # the shares, counted again from the queue measures of those days
    counts = []
    for start, end in ((date(2026, 9, 1), CHANGED), (CHANGED, date(2026, 10, 31))):
        frame = queue_measures(store, ["weekday", "interval_of_day"],
                               QueueFilter(branch="B01", start=start, end=end))
        first, last = (int(c[:2]) * 60 + int(c[3:]) for c in (shift.start, shift.end))
        frame = frame[(frame["weekday"] == 4) & (frame["interval_of_day"] >= first)
                      & (frame["interval_of_day"] < last)]
        served = frame["served"] + frame["transferred"]
        counts.append((int(served.sum()), float((served * frame["service_level"]).sum())))
    assert before["n"] == counts[0][0] and after["n"] == counts[1][0] >= 30
    assert before["median"] == pytest.approx(counts[0][1] / counts[0][0])
    assert after["median"] == pytest.approx(counts[1][1] / counts[1][0])
    better = after["median"] > before["median"] and measured["p_value"] < 0.05
    assert item.status == ("verified" if better else "not_effective")
    assert "%" in measured["text"]["en"] and "位客户" in measured["text"]["zh-CN"]


@pytest.fixture
def ops(own_app_db: None, home: Path) -> User:
    return add_user("o.ops", PASSWORD, "operations", home=home)


@SQLITE
def test_a_retrained_teller_step_verified_then_not_effective(
        logs: tuple[dict[str, Path], dict[str, Any]], ops: User, home: Path,
        baseline: Baseline) -> None:
    batches, truth = logs
    store = EventStore(home)
    ingest_log(store, batches["slow-09"])
    finding = _slow_step(store, baseline, truth)
    fixed = _done_item(finding, ops, home)
    # nothing after the change yet: awaiting data, still done, one measurement row
    assert refresh_register(home, store=store, baseline=baseline).verified == []
    item = get_item(fixed, user=ops, home=home)
    assert item.status == "done" and item.measurement is not None
    assert item.measurement["verdict"] is None and item.measurement["after"]["n"] == 0
    assert "等待数据" in item.measurement["text"]["zh-CN"]
    events = len(item.events)
    assert refresh_register(home, store=store, baseline=baseline).measured == []
    assert len(get_item(fixed, user=ops, home=home).events) == events

    ingest_log(store, batches["fixed-10"])  # the teller is no longer slow on the step
    report = refresh_register(home, store=store, baseline=baseline)
    assert report.verified == [fixed]
    item = get_item(fixed, user=ops, home=home)
    measured = item.measurement or {}
    factor = truth["slow_steps"][0]["factor"]
    assert item.status == "verified" and measured["method"] == "step"
    assert measured["change"] == pytest.approx(1 / factor - 1, abs=0.12)
    assert measured["p_value"] < 0.001 and measured["after"]["n"] >= 30
    assert measured["measured_through"] == "2026-10-30"
    assert measured["before"]["ratio"] > 1.5 > measured["after"]["ratio"]


@SQLITE
def test_a_step_that_slows_down_after_the_change_is_said_to_be_worse(
        logs: tuple[dict[str, Path], dict[str, Any]], ops: User, home: Path,
        baseline: Baseline) -> None:
    """The teller is at pace in September and slow from October (the "fixed" log, then the
    "slow" one): an item marked done on 1 October measures October against September, the
    median rose significantly, and the line says worse, not merely no effect."""
    batches, truth = logs
    store = EventStore(home)
    ingest_log(store, batches["fixed-09"])
    ingest_log(store, batches["slow-10"])
    finding = _slow_step(store, baseline, truth)
    item_id = _done_item(finding, ops, home)
    report = refresh_register(home, store=store, baseline=baseline)
    assert report.not_effective == [item_id]
    measured = get_item(item_id, user=ops, home=home).measurement or {}
    factor = truth["slow_steps"][0]["factor"]
    assert measured["change"] == pytest.approx(factor - 1, rel=0.25)
    assert measured["p_value"] < 0.001 and measured["after"]["n"] >= 30
    assert "significantly worse after the change" in measured["text"]["en"]
    assert "整改后明显变差" in measured["text"]["zh-CN"]


@SQLITE
def test_nothing_changed_is_not_effective_and_the_evidence_stays_frozen(
        logs: tuple[dict[str, Path], dict[str, Any]], ops: User, home: Path,
        baseline: Baseline) -> None:
    batches, truth = logs
    store = EventStore(home)
    ingest_log(store, batches["slow-09"])
    finding = _slow_step(store, baseline, truth)
    item_id = _done_item(finding, ops, home)
    frozen = get_item(item_id, user=ops, home=home).subject.to_json()

    ingest_log(store, batches["slow-10"])  # still slow after the "change"
    assert get_item(item_id, user=ops, home=home).subject.to_json() == frozen
    again = [f for f in find_bottlenecks(store, baseline, kinds=("step",))
             if finding_key(f) == finding_key(finding)]
    assert len(again) == 1 and again[0].cases > finding.cases
    assert again[0].median_seconds != finding.median_seconds

    report = refresh_register(home, store=store, baseline=baseline)
    assert report.not_effective == [item_id]
    item = get_item(item_id, user=ops, home=home)
    assert item.status == "not_effective" and item.subject.to_json() == frozen
    measured = item.measurement or {}
    assert abs(measured["change"]) < 0.15 and measured["after"]["n"] >= 30
    assert "整改未见效" in measured["text"]["zh-CN"]


@SQLITE
def test_a_wait_a_pace_and_a_measurement_as_json(
        logs: tuple[dict[str, Path], dict[str, Any]], ops: User, home: Path,
        baseline: Baseline) -> None:
    """The other kinds measure on their own figures: the wait before the slow step and the
    teller's pace, with nothing changed between the months (no verdict of effect)."""
    batches, truth = logs
    store = EventStore(home)
    for month in ("09", "10"):
        ingest_log(store, batches[f"fixed-{month}"])
    slow = truth["slow_steps"][0]
    base: dict[str, Any] = dict(
        scope="teller", teller_id=slow["teller_id"], branch_id=slow["branch_id"],
        business_type=slow["business_type"], activity=slow["activity"], cases=50, steps=50,
        median_seconds=20.0, p90_seconds=40.0, reference_seconds=10.0,
        reference_source="peers", ratio=2.0, pace=1.0, excess_seconds=10.0,
        time_lost_seconds=500.0, monthly_teller_hours=0.2, months=1.0, p_value=0.001,
        q_value=0.01, bank_median_seconds=10.0, branch_median_seconds=10.0)
    for kind, method in (("wait", "wait"), ("overall", "pace")):
        figures = {**base, "kind": kind}
        if kind == "overall":
            figures.update(business_type="", activity="")
        item_id = _done_item(Finding(**figures), ops, home)
        measured = measure_item(get_item(item_id, user=ops, home=home), store, baseline, None)
        data = measured.to_dict()
        assert measured.method == method and data == json.loads(json.dumps(data))
        assert measured.verdict == "not_effective" and measured.p_value > 0.05
        assert data["before"]["n"] > 0 and data["measured_through"] == "2026-10-30"
        assert abs(measured.change) < 0.1
        if kind == "overall":  # a typical teller's pace against the bank's medians: about 1
            assert data["before"]["n"] > 1000 and 0.9 < data["before"]["median"] < 1.2
        else:  # the waits before the step: seconds, far below the step's reference
            assert data["before"]["median"] < 10 and data["before"]["ratio"] < 1


@SQLITE
def test_a_slice_is_measured_on_its_own_steps(
        logs: tuple[dict[str, Path], dict[str, Any]], ops: User, home: Path,
        baseline: Baseline) -> None:
    """A conditional finding (the slow step after 15:00, or on Thursdays) is measured on the
    steps of its slice only."""
    batches, truth = logs
    store = EventStore(home)
    for month in ("09", "10"):
        ingest_log(store, batches[f"slow-{month}"])
    slow = truth["slow_steps"][0]
    rows = step_rows(store, Filters(tellers=(slow["teller_id"],)),
                     [(slow["business_type"], slow["activity"])])
    days = [d.date() for d in rows["day"]]
    september = np.array([d < CHANGED for d in days])
    finding = Finding(
        scope="teller", teller_id=slow["teller_id"], branch_id=slow["branch_id"],
        business_type=slow["business_type"], activity=slow["activity"], cases=50, steps=50,
        median_seconds=90.0, p90_seconds=120.0, reference_seconds=30.0,
        reference_source="peers", ratio=3.0, pace=1.0, excess_seconds=60.0,
        time_lost_seconds=500.0, monthly_teller_hours=0.5, months=1.0, p_value=0.001,
        q_value=0.01, bank_median_seconds=30.0, branch_median_seconds=30.0)
    for condition, keep in (({"dimension": "hour_band", "value": "closing"},
                             rows["hour"].to_numpy() >= 15),
                            ({"dimension": "weekday", "value": "thu"},
                             rows["weekday"].to_numpy() == 4)):
        item_id = _done_item(replace(finding, condition=condition), ops, home)
        measured = measure_item(get_item(item_id, user=ops, home=home), store, baseline, None)
        assert 0 < measured.before["n"] == int((keep & september).sum()) < len(rows)
        assert measured.after["n"] == int((keep & ~september).sum())
        assert measured.before["median"] == pytest.approx(
            float(np.median(rows["service_seconds"].to_numpy()[keep & september])))


@pytest.fixture
def small_logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Small generated logs of September and of August 2026."""
    root = tmp_path_factory.mktemp("small")
    return [write_demo_data(root / str(start.month), DemoConfig(
        events=5_000, seed=3, start=start, days=30, branches=2, tellers_per_branch=4),
        fmt="parquet").events_path for start in (date(2026, 9, 1), date(2026, 8, 1))]


def test_a_refresh_on_each_app_database_writes_only_what_changed(
        ops: User, home: Path, baseline: Baseline, small_logs: list[Path]) -> None:
    """On SQLite and PostgreSQL: an empty store measures nothing; an item awaiting data after
    its change gets one measurement row, and refreshing again on the same data (or on new data
    that leaves its counts as they were) adds none."""
    finding = Finding(
        scope="branch", teller_id=None, branch_id="B01", business_type="P17",
        activity="Enter transaction", cases=50, steps=50, median_seconds=90.0,
        p90_seconds=120.0, reference_seconds=30.0, reference_source="peers", ratio=3.0,
        pace=1.0, excess_seconds=60.0, time_lost_seconds=500.0, monthly_teller_hours=0.5,
        months=1.0, p_value=0.001, q_value=0.01, bank_median_seconds=30.0,
        branch_median_seconds=None)
    item_id = _done_item(finding, ops, home, changed_on=date(2026, 10, 1))
    store = EventStore(home)
    assert refresh_register(home, store=store, baseline=baseline) == RefreshReport()
    assert get_item(item_id, user=ops, home=home).measurement is None
    ingest_log(store, small_logs[0])
    assert refresh_register(home, store=store, baseline=baseline).measured == [item_id]
    item = get_item(item_id, user=ops, home=home)
    measured = item.measurement or {}
    assert item.status == "done" and measured["verdict"] is None
    assert measured["after"]["n"] == 0 and measured["before"]["n"] > 0
    assert measured["store_version"] == store.version()
    history = len(item.events)
    assert [e.action for e in item.events][-1] == "measure"
    assert refresh_register(home, store=store, baseline=baseline).measured == []
    assert len(get_item(item_id, user=ops, home=home).events) == history
    ingest_log(store, small_logs[1])  # August: before the before window, the same counts
    assert refresh_register(home, store=store, baseline=baseline).measured == []
    item = get_item(item_id, user=ops, home=home)
    assert len(item.events) == history
    assert (item.measurement or {})["store_version"] == store.version()
