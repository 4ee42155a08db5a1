"""What to act on this month, on a small register built in the test (SQLite and PostgreSQL):
the costliest findings without any item (baseline reviews last), the overdue open items, the
regressions; and each finding's mark (its newest open item, its newest item, a regression)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from pathlib import Path

from procmine.analysis.findings import Finding
from procmine.app.auth import add_user
from procmine.improve.agenda import agenda, finding_marks
from procmine.improve.register import (
    add_link,
    list_items,
    open_item,
    record_measurement,
    record_regression,
    set_status,
)
from procmine.improve.subjects import finding_key, finding_subject

PASSWORD = "a-long-test-password-1"


def _finding(teller: str, activity: str, hours: float, kind: str = "step") -> Finding:
    return Finding(
        scope="teller" if kind != "baseline" else "type",
        teller_id=teller if kind != "baseline" else None,
        branch_id="B01" if kind != "baseline" else None, business_type="P18",
        activity=activity if kind != "baseline" else "", cases=100, steps=100,
        median_seconds=60.0, p90_seconds=90.0, reference_seconds=30.0, reference_source="sop",
        ratio=2.0, pace=1.0, excess_seconds=30.0, time_lost_seconds=3000.0,
        monthly_teller_hours=hours, months=1.0, p_value=1e-4, q_value=1e-3,
        bank_median_seconds=30.0, branch_median_seconds=math.nan, kind=kind)


def test_the_agenda_and_the_marks_of_a_small_register(own_app_db: None, home: Path) -> None:
    ops = add_user("o.ops", PASSWORD, "operations", home=home)
    findings = [
        _finding("0101", "Count cash", 9.0),
        _finding("0102", "Enter transaction", 7.0),
        _finding("", "", 50.0, kind="baseline"),  # costs no teller hours: listed last
        _finding("0103", "PIN entry", 5.0),
        _finding("0104", "See off", 3.0),
        _finding("0105", "Customer signs", 1.0),
    ]

    def subject(f: Finding):  # type: ignore[no-untyped-def]
        return finding_subject(f, as_of=date(2026, 10, 31), store_version="v1")

    # 0101: an overdue open item; 0102: an item done on time, verified, then regressed;
    # 0103: a rejected item, then a new open one not yet due
    late = open_item(subject(findings[0]), user=ops, cause="training",
                     review_group="accounting-and-cash", due_on=date(2026, 11, 15), home=home)
    fixed = open_item(subject(findings[1]), user=ops, cause="procedure",
                      review_group="accounting-and-cash", due_on=date(2026, 11, 1), home=home)
    set_status(fixed.id, "accepted", user=ops, decision="revise_sop", home=home)
    set_status(fixed.id, "in_progress", user=ops, home=home)
    add_link(fixed.id, "sop_revision", "SOP-P18@3.0", user=ops, home=home)
    set_status(fixed.id, "done", user=ops, changed_on=date(2026, 10, 1), home=home)
    record_measurement(fixed.id, {"change": -0.4, "measured_through": "2026-10-30"},
                       "verified", home=home)
    record_regression(fixed.id, {"ratio": 2.2, "text": "back"}, home=home)
    old = open_item(subject(findings[3]), user=ops, cause="layout",
                    review_group="compliance-and-control", home=home)
    set_status(old.id, "rejected", user=ops, note="not the layout", home=home)
    new = open_item(subject(findings[3]), user=ops, cause="training",
                    review_group="compliance-and-control", due_on=date(2027, 1, 31), home=home)
    items = list_items(user=ops, home=home)

    todo = agenda(findings, items, today=date(2026, 12, 1), top=3)
    assert [f.teller_id for f in todo.unhandled] == ["0104", "0105", None]
    assert todo.unhandled[-1].kind == "baseline"
    assert [i.id for i in todo.overdue] == [late.id]
    assert [i.id for i in todo.regressions] == [fixed.id]
    assert [f.teller_id for f in agenda(findings, items, today=date(2026, 12, 1),
                                        top=1).unhandled] == ["0104"]
    # nothing overdue before the due day; the verified item is no longer open
    assert agenda(findings, items, today=date(2026, 11, 15)).overdue == []

    marks = finding_marks(findings, items)
    assert set(marks) == {finding_key(f) for f in findings}
    late_mark = marks[finding_key(findings[0])]
    assert late_mark.open_item is not None and late_mark.open_item.id == late.id
    assert not late_mark.regression
    fixed_mark = marks[finding_key(findings[1])]
    assert fixed_mark.open_item is None and fixed_mark.regression
    assert fixed_mark.latest_item is not None and fixed_mark.latest_item.id == fixed.id
    pin = marks[finding_key(findings[3])]
    assert pin.open_item is not None and pin.open_item.id == new.id
    assert pin.latest_item is not None and pin.latest_item.id == new.id
    untouched = marks[finding_key(findings[4])]
    assert (untouched.open_item, untouched.latest_item, untouched.regression) == (
        None, None, False)
    # a finding of the same key on later data (other figures) has the same mark
    later = replace(findings[1], median_seconds=75.0, cases=180)
    assert finding_marks([later], items)[finding_key(later)].regression
