"""The improvement register's lifecycle and roles: who may open, decide and move an item, what
each move needs, its history and audit rows, and the frozen evidence read back as opened. On
SQLite and PostgreSQL (``own_app_db``)."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from procmine.analysis.findings import Finding
from procmine.app.appdb import list_audit
from procmine.app.auth import User, add_user
from procmine.improve.items import RegisterError
from procmine.improve.register import (
    add_cause,
    add_link,
    causes,
    get_item,
    items_by_key,
    list_items,
    open_item,
    record_measurement,
    record_regression,
    set_status,
    update_item,
)
from procmine.improve.subjects import (
    finding_key,
    finding_of,
    finding_subject,
    shortfall_subject,
)

PASSWORD = "a-long-test-password-1"


def _finding(teller: str = "0102", branch: str = "B01", median: float = 84.0) -> Finding:
    return Finding(
        scope="teller", teller_id=teller, branch_id=branch, business_type="P18",
        activity="Enter transaction", cases=120, steps=130, median_seconds=median,
        p90_seconds=150.0, reference_seconds=30.0, reference_source="sop", ratio=median / 30,
        pace=1.0, excess_seconds=median - 30, time_lost_seconds=6500.0,
        monthly_teller_hours=1.2, months=2.0, p_value=1e-6, q_value=1e-5,
        bank_median_seconds=31.0, branch_median_seconds=math.nan, sop="SOP-P18",
        sop_step="enter_transaction", sop_version="2.0", ratio_ci=(2.5, 3.0), period_days=61.0)


@pytest.fixture
def people(own_app_db: None, home: Path) -> dict[str, User]:
    return {
        "ops": add_user("o.ops", PASSWORD, "operations", home=home),
        "cash": add_user("r.cash", PASSWORD, "reviewer", review_group="accounting-and-cash",
                         home=home),
        "settle": add_user("r.settle", PASSWORD, "reviewer", review_group="domestic-settlement",
                           home=home),
        "manager": add_user("m.b01", PASSWORD, "branch_manager", branch_id="B01", home=home),
        "trainer": add_user("t.train", PASSWORD, "trainer", home=home),
        "teller": add_user("z.li", PASSWORD, "teller", teller_id="0101", branch_id="B01",
                           home=home),
    }


def _subject(finding: Finding | None = None):  # type: ignore[no-untyped-def]
    return finding_subject(finding or _finding(), as_of=date(2026, 10, 31), store_version="v1")


def test_the_lifecycle_with_its_rules_history_and_audit(people: dict[str, User],
                                                        home: Path) -> None:
    ops, cash, settle = people["ops"], people["cash"], people["settle"]
    item = open_item(_subject(), user=ops, cause="procedure", review_group="accounting-and-cash",
                     proposed_change="Read the account back", owner="r.cash",
                     due_on=date(2026, 12, 31), home=home)
    assert (item.status, item.review_group, item.owner) == ("proposed", "accounting-and-cash",
                                                            "r.cash")
    # a reviewer of another group may neither decide nor move it; accepting needs a decision
    with pytest.raises(RegisterError, match="belongs to accounting-and-cash"):
        set_status(item.id, "accepted", user=settle, decision="retrain", home=home)
    with pytest.raises(RegisterError, match="needs a decision"):
        set_status(item.id, "accepted", user=cash, home=home)
    with pytest.raises(RegisterError, match="can move to accepted, rejected, not done"):
        set_status(item.id, "done", user=cash, home=home)
    with pytest.raises(RegisterError, match="re-measurement"):
        set_status(item.id, "verified", user=ops, home=home)
    item = set_status(item.id, "accepted", user=cash, decision="revise_sop", home=home)
    item = set_status(item.id, "in_progress", user=cash, home=home)
    with pytest.raises(RegisterError, match="link the revision"):
        set_status(item.id, "done", user=cash, home=home)
    with pytest.raises(RegisterError, match="SOP-ID@VERSION"):
        add_link(item.id, "sop_revision", "SOP-P18 3.0", user=cash, home=home)
    with pytest.raises(RegisterError, match=r"has no version 9\.9"):
        add_link(item.id, "sop_revision", "SOP-P18@9.9", user=cash, home=home,
                 known_versions={"SOP-P18": ["2.0", "3.0"]})
    item = add_link(item.id, "sop_revision", "SOP-P18@3.0", user=cash, home=home,
                    known_versions={"SOP-P18": ["2.0", "3.0"]})
    assert item.sop_revision() == ("SOP-P18", "3.0")
    item = set_status(item.id, "done", user=cash, changed_on=date(2026, 9, 21), home=home)
    assert (item.status, item.changed_on) == ("done", date(2026, 9, 21))
    with pytest.raises(RegisterError, match="can move to nothing"):
        set_status(item.id, "in_progress", user=ops, home=home)
    item = record_measurement(item.id, {"method": "revision_effect", "change": -0.3,
                                        "text": {"zh-CN": "点钞 -30%：有效", "en": "Count cash "
                                                 "-30%: effective"}}, "verified", home=home)
    assert item.status == "verified" and item.measurement is not None
    measured = item.events[-1]
    assert (measured.note_in("zh-CN"), measured.note_in("en")) == (
        "点钞 -30%：有效", "Count cash -30%: effective")
    item = record_regression(item.id, {"ratio": 2.4, "text": "back at 2.4x"}, home=home)
    assert item.regression == {"ratio": 2.4, "text": "back at 2.4x"}

    history = [(e.action, e.from_status, e.to_status, e.username) for e in item.events]
    assert history == [
        ("add", None, "proposed", "o.ops"),
        ("status", "proposed", "accepted", "r.cash"),
        ("status", "accepted", "in_progress", "r.cash"),
        ("link", "in_progress", "in_progress", "r.cash"),
        ("status", "in_progress", "done", "r.cash"),
        ("measure", "done", "verified", "procmine"),
        ("regression", "verified", "verified", "procmine"),
    ]
    actions = [e.action for e in list_audit(home, limit=20) if e.action.startswith("improve.")]
    assert actions.count("improve.status") == 3 and "improve.add" in actions


def test_who_may_open_see_and_act(people: dict[str, User], home: Path) -> None:
    ops, cash, settle = people["ops"], people["cash"], people["settle"]
    manager, trainer, teller = people["manager"], people["trainer"], people["teller"]
    with pytest.raises(RegisterError, match="teller cannot open the improvement register"):
        list_items(user=teller, home=home)
    with pytest.raises(RegisterError, match="teller cannot open"):
        open_item(_subject(), user=teller, cause="training", review_group="accounting-and-cash",
                  home=home)
    with pytest.raises(RegisterError, match="may not open an item for accounting-and-cash"):
        open_item(_subject(), user=settle, cause="training", review_group="accounting-and-cash",
                  home=home)
    own = open_item(_subject(), user=cash, cause="training", review_group="accounting-and-cash",
                    home=home)
    b01 = open_item(_subject(), user=manager, cause="layout",
                    review_group="compliance-and-control", home=home)
    with pytest.raises(RegisterError, match="on branch B02"):
        open_item(_subject(_finding("0203", "B02")), user=manager, cause="layout",
                  review_group="compliance-and-control", home=home)
    b02 = open_item(_subject(_finding("0203", "B02")), user=ops, cause="system",
                    review_group="domestic-settlement", home=home)
    # the branch manager sees their branch's items only; everyone else sees all
    assert {i.id for i in list_items(user=manager, home=home)} == {own.id, b01.id}
    with pytest.raises(RegisterError, match="not of branch B01"):
        get_item(b02.id, user=manager, home=home)
    assert len(list_items(user=trainer, home=home)) == 3
    assert [i.id for i in list_items(user=ops, review_group="domestic-settlement",
                                     home=home)] == [b02.id]
    # only operations moves an item to another group; a trainer links papers, nothing else
    with pytest.raises(RegisterError, match="only the operations department"):
        update_item(own.id, user=cash, review_group="domestic-settlement", home=home)
    moved = update_item(own.id, user=ops, review_group="domestic-settlement", owner="r.settle",
                        home=home)
    assert (moved.review_group, moved.owner) == ("domestic-settlement", "r.settle")
    with pytest.raises(RegisterError, match="may not change it"):
        update_item(own.id, user=cash, owner="me", home=home)
    assert add_link(own.id, "paper", "3", user=trainer, home=home).links[-1].ref == "3"
    with pytest.raises(RegisterError, match="may not link"):
        add_link(own.id, "sop_revision", "SOP-P18@3.0", user=trainer, home=home)


def test_rejecting_no_action_and_overdue(people: dict[str, User], home: Path) -> None:
    ops = people["ops"]
    item = open_item(_subject(), user=ops, cause="customer_behaviour",
                     review_group="accounting-and-cash", due_on=date(2026, 11, 1), home=home)
    assert [i.id for i in list_items(user=ops, overdue_on=date(2026, 11, 2), home=home)] == [
        item.id]
    assert list_items(user=ops, overdue_on=date(2026, 11, 1), home=home) == []
    with pytest.raises(RegisterError, match="needs a note"):
        set_status(item.id, "rejected", user=ops, home=home)
    rejected = set_status(item.id, "rejected", user=ops, note="one customer's habit", home=home)
    assert not rejected.overdue(date(2027, 1, 1))
    reopened = set_status(item.id, "proposed", user=ops, home=home)
    with pytest.raises(RegisterError, match="no action needs a reason"):
        set_status(reopened.id, "accepted", user=ops, decision="no_action", home=home)
    closed = set_status(reopened.id, "accepted", user=ops, decision="no_action",
                        decision_reason="seasonal, passes by itself", home=home)
    assert not closed.is_open and not closed.overdue(date(2027, 1, 1))
    with pytest.raises(RegisterError, match="nothing to carry out"):
        set_status(closed.id, "in_progress", user=ops, home=home)


def test_causes_the_bank_adds_and_frozen_subjects(people: dict[str, User], home: Path) -> None:
    ops, cash = people["ops"], people["cash"]
    with pytest.raises(RegisterError, match="unknown cause 'queue_layout'"):
        open_item(_subject(), user=ops, cause="queue_layout", review_group="accounting-and-cash",
                  home=home)
    with pytest.raises(RegisterError, match="only the operations department"):
        add_cause("queue_layout", "叫号布局", "Queue layout", user=cash, home=home)
    add_cause("queue_layout", "叫号布局", "Queue layout", user=ops, home=home)
    assert ("queue_layout", "叫号布局", "Queue layout") in causes(home)
    finding = _finding()
    item = open_item(_subject(finding), user=ops, cause="queue_layout",
                     review_group="accounting-and-cash", home=home)
    again = get_item(item.id, user=ops, home=home)
    assert again.subject == item.subject
    rebuilt = finding_of(again.subject)
    assert (rebuilt.ratio, rebuilt.ratio_ci, rebuilt.monthly_teller_hours) == (
        finding.ratio, finding.ratio_ci, 1.2)
    assert again.subject.summary_in("zh-CN") == finding.summary_in("zh-CN")
    assert items_by_key([again])[finding_key(finding)] == [again]
    shortfall = shortfall_subject({"branch_id": "B01", "weekday": 1, "start": "09:00",
                                   "end": "10:30", "counters": 2, "reason": "shortfall"},
                                  as_of=date(2026, 10, 31), store_version="v1")
    queue_item = open_item(shortfall, user=ops, cause="staffing",
                           review_group="compliance-and-control", home=home)
    assert queue_item.subject.key == "queue|shortfall|B01|1|09:00|10:30"
    assert "周一" in queue_item.subject.summary_in("zh-CN")
    assert queue_item.subject.hours_per_month == 0.0
