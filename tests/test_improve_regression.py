"""Regressions: a teller's slow step, retrained and verified fixed, that slows down again in a
later batch is flagged (the refresh records it, the finding's mark shows it); where it stays
fixed nothing is flagged; the check runs once per store version.

The logs are those of tests/test_improve_measure.py: the 90-day generated log with its teller
slow steps (September and November batches "slow") and without them (October "fixed", and
November "fixed" for the log where the step stays fixed). SQLite only (the data-generating
part dominates; the register's own tests run on both app databases)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from test_improve_measure import SQLITE, generated_batches

from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.app.auth import User, add_user
from procmine.core.baseline import Baseline
from procmine.improve.agenda import agenda, finding_marks
from procmine.improve.refresh import refresh_register
from procmine.improve.register import get_item, list_items, open_item, set_status
from procmine.improve.subjects import finding_key, finding_subject
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

PASSWORD = "a-long-test-password-1"


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], dict[str, Any]]:
    return generated_batches(tmp_path_factory.mktemp("regression-logs"))


@pytest.fixture
def ops(own_app_db: None, home: Path) -> User:
    return add_user("o.ops", PASSWORD, "operations", home=home)


def _verified_fix(batches: dict[str, Path], truth: dict[str, Any], ops: User, home: Path,
                  baseline: Baseline) -> tuple[EventStore, int, str]:
    """Slow in September, an item retraining the teller done on 1 October, fixed in October:
    the refresh verifies it. Returns the store, the item and its finding's key."""
    store = EventStore(home)
    ingest_log(store, batches["slow-09"])
    slow = truth["slow_steps"][0]
    finding = next(f for f in find_bottlenecks(store, baseline, kinds=("step",))
                   if (f.teller_id, f.activity) == (slow["teller_id"], slow["activity"]))
    item = open_item(finding_subject(finding, as_of=date(2026, 9, 30), store_version="v1"),
                     user=ops, cause="training", review_group="accounting-and-cash", home=home)
    set_status(item.id, "accepted", user=ops, decision="retrain", home=home)
    set_status(item.id, "in_progress", user=ops, home=home)
    set_status(item.id, "done", user=ops, changed_on=date(2026, 10, 1), home=home)
    ingest_log(store, batches["fixed-10"])
    report = refresh_register(home, store=store, baseline=baseline)
    assert report.verified == [item.id] and report.regressions == []
    return store, item.id, finding_key(finding)


@SQLITE
def test_a_fixed_step_that_slows_down_again_is_flagged(
        logs: tuple[dict[str, Path], dict[str, Any]], ops: User, home: Path,
        baseline: Baseline) -> None:
    batches, truth = logs
    store, item_id, key = _verified_fix(batches, truth, ops, home, baseline)
    assert get_item(item_id, user=ops, home=home).regression is None

    ingest_log(store, batches["slow-11"])  # the step slows down again
    report = refresh_register(home, store=store, baseline=baseline)
    assert report.regressions == [item_id] and report.measured == []
    item = get_item(item_id, user=ops, home=home)
    regression = item.regression or {}
    assert item.status == "verified" and item.regression_at is not None
    assert regression["material"] is True and regression["key"] == key
    assert regression["from"] == "2026-10-31" and regression["to"] == "2026-11-28"
    assert regression["ratio"] > 2.0 and regression["ratio_low"] > 1.25
    assert regression["n"] >= 30 and "又变慢" in regression["text"]["zh-CN"]
    assert [e.action for e in item.events][-1] == "regression"
    # recorded once: the next refresh on the same data adds nothing
    assert refresh_register(home, store=store, baseline=baseline).regressions == []
    assert len(get_item(item_id, user=ops, home=home).events) == len(item.events)

    findings = find_bottlenecks(store, baseline, kinds=("step",))
    items = list_items(user=ops, home=home)
    marks = finding_marks(findings, items)
    assert marks[key].regression and marks[key].latest_item is not None
    assert marks[key].latest_item.id == item_id and marks[key].open_item is None
    todo = agenda(findings, items, today=date(2026, 12, 1))
    assert [i.id for i in todo.regressions] == [item_id]
    assert key not in {finding_key(f) for f in todo.unhandled}


@SQLITE
def test_a_step_that_stays_fixed_flags_nothing(
        logs: tuple[dict[str, Path], dict[str, Any]], ops: User, home: Path,
        baseline: Baseline) -> None:
    batches, truth = logs
    store, item_id, key = _verified_fix(batches, truth, ops, home, baseline)
    ingest_log(store, batches["fixed-11"])
    assert refresh_register(home, store=store, baseline=baseline).regressions == []
    item = get_item(item_id, user=ops, home=home)
    assert item.status == "verified" and item.regression is None
    assert (item.measurement or {})["regression_checked"] == store.version()
    findings = find_bottlenecks(store, baseline, kinds=("step",))
    marks = finding_marks(findings, list_items(user=ops, home=home))
    assert not any(mark.regression for mark in marks.values())
    if key in marks:  # the September slowness may still show over the three months
        assert marks[key].latest_item is not None and not marks[key].regression
