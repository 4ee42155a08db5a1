"""Training, people: the targets and who may set them, SOP acknowledgements per version and
branch, spot checks (validation, who sees which) and the teller x SOP grid."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from procmine.app.appdb import list_audit
from procmine.app.auth import User
from procmine.core.errors import ProcmineError
from procmine.ingest.run import ingest_log
from procmine.sop.library import SopLibrary
from procmine.sop.workflow import Editor
from procmine.store.event_store import EventStore
from procmine.training.acknowledgements import (
    acknowledge_sop,
    acknowledgement_status,
    acknowledgement_summary,
    pending_acknowledgements,
    sops_in_force,
    teller_types,
)
from procmine.training.roster import Trainee
from procmine.training.settings import (
    AccessDenied,
    TrainingTargets,
    set_training_target,
    training_targets,
)
from procmine.training.spotchecks import (
    add_spot_check,
    list_spot_checks,
    spot_check_grid,
    spot_check_summary,
)

pytestmark = pytest.mark.usefixtures("own_app_db")

P17 = """\
---
id: SOP-P17
title: {zh: 活期现金存款, en: Current-account cash deposit}
business_types: [P17]
owner_group: accounting-and-cash
version: "1.0"
status: approved
effective: 2026-01-01
review_due: 2027-01-01
approved_by: zhao
steps:
  - id: call_number
    activity: Call number
    standard_seconds: 10
  - id: count_cash
    activity: Count cash
    standard_seconds: 60
    controls: [当面点清]
  - id: enter_transaction
    activity: Enter transaction
    standard_seconds: 30
---
# 活期现金存款 Current-account cash deposit

### 1. 叫号 Call number {#call_number}

### 2. 点钞 Count cash {#count_cash}

### 3. 录入交易 Enter transaction {#enter_transaction}
"""

P18 = """\
---
id: SOP-P18
title: {zh: 活期现金取款, en: Current-account cash withdrawal}
business_types: [P18]
owner_group: accounting-and-cash
version: "1.0"
status: approved
effective: 2026-01-01
review_due: 2027-01-01
approved_by: zhao
steps:
  - id: call_number
    activity: Call number
    standard_seconds: 10
  - id: pay_cash
    activity: Pay cash
    standard_seconds: 40
---
# 活期现金取款 Current-account cash withdrawal

### 1. 叫号 Call number {#call_number}

### 2. 付款 Pay cash {#pay_cash}
"""

ALICE = Editor("alice", "reviewer", "accounting-and-cash", "Alice Li")
BOB = Editor("bob", "reviewer", "accounting-and-cash", "Bob Wang")


def user(username: str, role: str, teller_id: str | None = None,
         branch_id: str | None = None) -> User:
    return User(username=username, role=role, display_name=username, review_group=None,
                teller_id=teller_id, branch_id=branch_id,
                created_at=datetime(2026, 1, 1, tzinfo=UTC), disabled=False)


TRAINER = user("trainer", "trainer")
OPS = user("ops", "operations")
REVIEWER = user("rev", "reviewer")
T0101 = user("t0101", "teller", "0101", "B01")
T0103 = user("t0103", "teller", "0103", "B02")


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


def p17_version_2() -> str:
    """SOP-P17 with count_cash slower and a step ``recount`` after it, from 2026-06-01 (at
    branch B02 from 2026-12-01)."""
    return P17.replace("effective: 2026-01-01", "effective: 2026-06-01").replace(
        "steps:\n", "adoption: {B02: 2026-12-01}\nsteps:\n").replace(
        "    standard_seconds: 60\n", "    standard_seconds: 70\n  - id: recount\n"
        "    activity: Second-person recount\n    standard_seconds: 40\n").replace(
        "### 3.", "### 2a. 复点 Second-person recount {#recount}\n\n### 3.")


@pytest.fixture
def library(tmp_path: Path, home: Path) -> SopLibrary:
    return make_library(tmp_path, home)


def make_library(tmp_path: Path, home: Path) -> SopLibrary:
    """SOP-P17 1.0 and SOP-P18 1.0 from 2026-01-01; SOP-P17 2.0 (a step added, count_cash
    slower) from 2026-06-01, adopted by branch B02 only on 2026-12-01."""
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "SOP-P17.md").write_text(P17, encoding="utf-8")
    (seed / "SOP-P18.md").write_text(P18, encoding="utf-8")
    library = SopLibrary.open(home, seed=seed)
    library.save("SOP-P17", p17_version_2(), user=ALICE, note="recount added",
                 today=date(2026, 5, 1))
    library.submit("SOP-P17", user=ALICE, today=date(2026, 5, 1))
    library.approve("SOP-P17", user=BOB, today=date(2026, 5, 2))
    return library


LOG_HEADER = "case_id,activity,start_time,end_time,teller_id,branch_id,business_type"


@pytest.fixture
def store(tmp_path: Path, home: Path) -> EventStore:
    """0101 (B01) did P17 in October; 0102 (B01) P18 in October; 0103 (B02) P17 on 31 July
    (outside the latest three months, August to October) and P18 on 1 August."""
    cases = [("a", "0101", "B01", "P17", "2026-10-05"), ("b", "0102", "B01", "P18", "2026-10-06"),
             ("c", "0103", "B02", "P17", "2026-07-31"), ("d", "0103", "B02", "P18", "2026-08-01")]
    lines = [LOG_HEADER]
    for case, teller, branch, code, day in cases:
        lines.append(f"{case},Call number,{day} 09:00:00,{day} 09:00:10,{teller},{branch},{code}")
        lines.append(f"{case},Enter transaction,{day} 09:00:10,{day} 09:00:40,{teller},{branch},"
                     f"{code}")
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = EventStore(home)
    ingest_log(store, path)
    return store


# -- targets --------------------------------------------------------------------------------------


def test_targets_default_and_are_set_by_trainers_with_an_audit_row(home: Path) -> None:
    assert training_targets(home=home) == TrainingTargets(1.0, 0.98, 2, 90)
    set_training_target("participation", "0.95", user=TRAINER, home=home)
    set_training_target("spot_check_interval_days", 30, user=OPS, home=home)
    targets = training_targets(home=home)
    assert targets == TrainingTargets(participation=0.95, expert=0.98,
                                      expert_targets_per_person=2, spot_check_interval_days=30)
    audit = list_audit(home, action="training.set_target")
    assert [(e.username, e.detail) for e in audit] == [
        ("ops", "spot_check_interval_days = 30"), ("trainer", "participation = 0.95")]


@pytest.mark.parametrize(("name", "value", "ok"), [
    ("expert", 1.0, True), ("expert", 0.0001, True), ("expert", 0, False),
    ("expert", 1.01, False), ("expert", 98, False), ("participation", -0.5, False),
    ("participation", "abc", False), ("spot_check_interval_days", 1, True),
    ("spot_check_interval_days", 730, True), ("spot_check_interval_days", 0, False),
    ("spot_check_interval_days", 731, False), ("spot_check_interval_days", 7.5, False),
    ("expert_targets_per_person", 3, True), ("expert_targets_per_person", 0, False),
    ("pass_rate", 0.5, False),
])
def test_targets_are_validated(home: Path, name: str, value: object, ok: bool) -> None:
    if ok:
        targets = set_training_target(name, value, user=TRAINER, home=home)  # type: ignore[arg-type]
        assert getattr(targets, name) == value
    else:
        with pytest.raises(ProcmineError):
            set_training_target(name, value, user=TRAINER, home=home)  # type: ignore[arg-type]
        assert training_targets(home=home) == TrainingTargets()


@pytest.mark.parametrize("who", [T0101, REVIEWER])
def test_only_trainers_and_operations_set_targets(home: Path, who: User) -> None:
    with pytest.raises(AccessDenied, match="may not change the training targets"):
        set_training_target("expert", 0.9, user=who, home=home)
    assert training_targets(home=home).expert == 0.98


# -- acknowledgements -----------------------------------------------------------------------------


def test_sops_in_force_follow_the_branch_timeline(library: SopLibrary) -> None:
    def versions(branch: str | None, day: date) -> list[tuple[str, str]]:
        return [(v.sop.id, v.sop.version) for v in sops_in_force(library, branch_id=branch,
                                                                   today=day)]

    assert versions("B01", date(2026, 5, 31)) == [("SOP-P17", "1.0"), ("SOP-P18", "1.0")]
    assert versions("B01", date(2026, 6, 1)) == [("SOP-P17", "2.0"), ("SOP-P18", "1.0")]
    assert versions("B02", date(2026, 11, 30)) == [("SOP-P17", "1.0"), ("SOP-P18", "1.0")]
    assert versions("B02", date(2026, 12, 1)) == [("SOP-P17", "2.0"), ("SOP-P18", "1.0")]
    assert versions(None, date(2025, 12, 31)) == []


def test_teller_types_are_those_of_the_latest_three_months(store: EventStore) -> None:
    assert teller_types(store, "0101") == {"P17"}
    assert teller_types(store, "0103") == {"P18"}  # P17 was on 31 July: four months back
    assert teller_types(store, "0999") == set()
    assert teller_types(None, "0101") == set()


def test_acknowledging_records_the_version_in_force_at_the_tellers_branch(
        library: SopLibrary, home: Path) -> None:
    day = datetime(2026, 7, 1, 9, tzinfo=UTC)
    at_b01 = acknowledge_sop("SOP-P17", user=T0101, library=library, home=home, now=day)
    at_b02 = acknowledge_sop("SOP-P17", user=T0103, library=library, home=home, now=day)
    assert (at_b01.sop_version, at_b01.branch_id, at_b01.teller_id) == ("2.0", "B01", "0101")
    assert (at_b02.sop_version, at_b02.branch_id) == ("1.0", "B02")
    again = acknowledge_sop("SOP-P17", user=T0101, library=library, home=home,
                            now=datetime(2026, 7, 2, tzinfo=UTC))
    assert again == at_b01  # idempotent: the first acknowledgement stands
    audit = list_audit(home, action="sop.acknowledge")
    assert sorted(e.detail.split(" (")[0] for e in audit) == ["SOP-P17 1.0", "SOP-P17 2.0"]


def test_only_a_teller_acknowledges_and_only_what_is_in_force(library: SopLibrary,
                                                              home: Path) -> None:
    with pytest.raises(AccessDenied):
        acknowledge_sop("SOP-P17", user=TRAINER, library=library, home=home)
    with pytest.raises(ProcmineError, match="no version in force"):
        acknowledge_sop("SOP-P17", user=T0101, library=library, home=home,
                        now=datetime(2025, 12, 31, tzinfo=UTC))
    assert list_audit(home, action="sop.acknowledge") == []


def test_a_new_version_is_pending_again(library: SopLibrary, home: Path) -> None:
    acknowledge_sop("SOP-P17", user=T0101, library=library, home=home,
                    now=datetime(2026, 3, 1, tzinfo=UTC))  # version 1.0
    before = pending_acknowledgements("0101", "B01", {"P17"}, library=library, home=home,
                                      today=date(2026, 5, 1))
    assert before == []
    after = pending_acknowledgements("0101", "B01", {"P17"}, library=library, home=home,
                                     today=date(2026, 7, 1))
    assert [(v.sop.id, v.sop.version) for v in after] == [("SOP-P17", "2.0")]
    everything = pending_acknowledgements("0101", "B01", None, library=library, home=home,
                                          today=date(2026, 7, 1))
    assert [v.sop.id for v in everything] == ["SOP-P17", "SOP-P18"]
    # branch B02 is still on 1.0 in July: nothing pending for P17 there
    assert pending_acknowledgements("0101", "B02", {"P17"}, library=library, home=home,
                                    today=date(2026, 7, 1)) == []


def test_acknowledgement_status_and_summary_per_version_and_branch(
        library: SopLibrary, store: EventStore, home: Path) -> None:
    roster = [Trainee("0101", "B01"), Trainee("0102", "B01"), Trainee("0103", "B02"),
              Trainee("0104", "B01")]  # 0104 has no event data: every SOP counts
    acknowledge_sop("SOP-P17", user=T0101, library=library, home=home,
                    now=datetime(2026, 7, 1, tzinfo=UTC))
    day = date(2026, 7, 2)
    status = acknowledgement_status(roster, library=library, store=store, home=home, today=day)
    rows = [(r.sop_id, r.version, r.branch_id, r.teller_id, pd.notna(r.acknowledged_at))
            for r in status.itertuples()]
    assert rows == [("SOP-P17", "2.0", "B01", "0101", True),
                    ("SOP-P17", "2.0", "B01", "0104", False),
                    ("SOP-P18", "1.0", "B01", "0102", False),
                    ("SOP-P18", "1.0", "B01", "0104", False),
                    ("SOP-P18", "1.0", "B02", "0103", False)]
    summary = acknowledgement_summary(roster, library=library, store=store, home=home, today=day)
    assert summary.values.tolist() == [["SOP-P17", "2.0", "B01", 2, 1, 0.5],
                                       ["SOP-P18", "1.0", "B01", 2, 0, 0.0],
                                       ["SOP-P18", "1.0", "B02", 1, 0, 0.0]]
    no_log = acknowledgement_summary(roster, library=library, store=None, home=home, today=day)
    assert no_log[["sop_id", "version", "branch_id", "tellers", "acknowledged"]].values.tolist(
    ) == [["SOP-P17", "1.0", "B02", 1, 0], ["SOP-P17", "2.0", "B01", 3, 1],
          ["SOP-P18", "1.0", "B01", 3, 0], ["SOP-P18", "1.0", "B02", 1, 0]]


def test_the_types_given_are_those_the_status_reads(
        library: SopLibrary, store: EventStore, home: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Given each teller's types (the dashboard keeps them per store version), the status does
    not query the log and is what it is when it does; the dashboard's kept types follow an
    ingest."""
    from procmine.dashboard import data
    from procmine.training import acknowledgements

    monkeypatch.setenv("PROCMINE_HOME", str(home))
    roster = [Trainee("0101", "B01"), Trainee("0102", "B01"), Trainee("0103", "B02")]
    day = date(2026, 7, 2)
    read = acknowledgement_status(roster, library=library, store=store, home=home, today=day)
    kept = data.types_by_teller()
    assert kept == {"0101": {"P17"}, "0102": {"P18"}, "0103": {"P18"}}
    monkeypatch.setattr(acknowledgements, "types_by_teller", lambda store: pytest.fail("read"))
    given = acknowledgement_status(roster, library=library, store=store, home=home, today=day,
                                   types=kept)
    pd.testing.assert_frame_equal(given, read)
    summary = acknowledgement_summary(roster, library=library, store=store, home=home,
                                      today=day, types={"0103": {"P17"}})
    # 0101 and 0102 without types given: every SOP concerns them; 0103 only P17's
    assert summary[["sop_id", "version", "branch_id", "tellers"]].values.tolist() == [
        ["SOP-P17", "1.0", "B02", 1], ["SOP-P17", "2.0", "B01", 2], ["SOP-P18", "1.0", "B01", 2]]

    day_line = "e,Call number,2026-10-07 09:00:00,2026-10-07 09:00:10,0103,B02,P17"
    path = tmp_path / "more.csv"
    path.write_text(f"{LOG_HEADER}\n{day_line}\n", encoding="utf-8")
    ingest_log(store, path)
    assert data.types_by_teller()["0103"] == {"P17", "P18"}


# -- spot checks ----------------------------------------------------------------------------------


def test_a_spot_check_passes_only_with_nothing_wrong_or_skipped(library: SopLibrary,
                                                                home: Path) -> None:
    failed = add_spot_check(user=TRAINER, teller_id="0101", sop_id="SOP-P17", sop_version="2.0",
                            steps_observed=["call_number", "count_cash", "recount"],
                            steps_skipped=["recount"], seconds=95.0,
                            checked_on=date(2026, 7, 1), note="复点漏做", branch_id="B01",
                            library=library, home=home, today=date(2026, 7, 2))
    passed = add_spot_check(user=OPS, teller_id="0101", sop_id="SOP-P17", sop_version="1.0",
                            steps_observed=["count_cash"], library=library, home=home,
                            today=date(2026, 7, 2))
    assert (failed.passed, failed.steps_skipped, failed.steps_wrong) == (False, ("recount",), ())
    assert (failed.checker, failed.seconds, failed.note) == ("trainer", 95.0, "复点漏做")
    assert (passed.passed, passed.checked_on, passed.checker) == (True, date(2026, 7, 2), "ops")
    details = [e.detail for e in list_audit(home, action="spotcheck.add")]
    assert details[1].startswith(f"#{failed.id} teller 0101 SOP-P17 2.0 on 2026-07-01: failed")
    assert "skipped: recount" in details[1]
    assert details[0].endswith("passed")


@pytest.mark.parametrize(("change", "message"), [
    ({"sop_version": "3.0"}, "no approved version '3.0'"),
    ({"steps_observed": ["recount"]}, "has no step recount"),  # recount came with 2.0
    ({"steps_observed": ["count_cash"], "steps_wrong": ["call_number"]}, "among those observed"),
    ({"steps_observed": []}, "at least one step"),
    ({"steps_wrong": ["count_cash"], "steps_skipped": ["count_cash"]}, "not both"),
    ({"seconds": -1.0}, "0 seconds or more"),
    ({"checked_on": date(2026, 7, 3)}, "in the future"),
    ({"teller_id": "  "}, "names the teller"),
])
def test_spot_checks_are_validated(library: SopLibrary, home: Path, change: dict[str, object],
                                   message: str) -> None:
    fields: dict[str, object] = {"teller_id": "0101", "sop_id": "SOP-P17", "sop_version": "1.0",
                                 "steps_observed": ["call_number", "count_cash"]}
    fields.update(change)
    with pytest.raises(ProcmineError, match=message):
        add_spot_check(user=TRAINER, library=library, home=home, today=date(2026, 7, 2),
                       **fields)  # type: ignore[arg-type]
    assert list_audit(home, action="spotcheck.add") == []


def test_only_managers_record_and_the_roster_names_the_teller(
        library: SopLibrary, store: EventStore, home: Path) -> None:
    args = {"sop_id": "SOP-P18", "sop_version": "1.0", "steps_observed": ["pay_cash"],
            "library": library, "home": home, "today": date(2026, 10, 31)}
    for who in (T0101, REVIEWER):
        with pytest.raises(AccessDenied):
            add_spot_check(user=who, teller_id="0101", **args)  # type: ignore[arg-type]
    with pytest.raises(ProcmineError, match="teller 0999 is not on the roster"):
        add_spot_check(user=TRAINER, teller_id="0999", store=store, **args)  # type: ignore[arg-type]
    check = add_spot_check(user=TRAINER, teller_id="0102", store=store, **args)  # type: ignore[arg-type]
    assert check.branch_id == "B01"  # from the roster


def test_a_teller_sees_only_their_own_spot_checks(library: SopLibrary, home: Path) -> None:
    for teller, day in (("0101", date(2026, 6, 30)), ("0101", date(2026, 7, 1)),
                        ("0103", date(2026, 7, 1))):
        add_spot_check(user=TRAINER, teller_id=teller, sop_id="SOP-P18", sop_version="1.0",
                       steps_observed=["pay_cash"], checked_on=day, library=library, home=home,
                       today=date(2026, 7, 2))
    mine = list_spot_checks(user=T0101, home=home)
    assert [(c.teller_id, c.checked_on) for c in mine] == [("0101", date(2026, 7, 1)),
                                                            ("0101", date(2026, 6, 30))]
    with pytest.raises(AccessDenied, match="sees only their own"):
        list_spot_checks(user=T0101, teller_id="0103", home=home)
    assert len(list_spot_checks(user=REVIEWER, home=home)) == 3
    july = list_spot_checks(user=TRAINER, month="2026-07", home=home)
    assert sorted(c.teller_id for c in july) == ["0101", "0103"]
    assert [c.teller_id for c in list_spot_checks(user=OPS, teller_id="0103", home=home)] == [
        "0103"]


def test_the_grid_shows_passed_failed_due_and_never(library: SopLibrary, home: Path) -> None:
    def check(teller: str, day: date, wrong: tuple[str, ...] = ()) -> None:
        add_spot_check(user=TRAINER, teller_id=teller, sop_id="SOP-P18", sop_version="1.0",
                       steps_observed=["call_number", "pay_cash"], steps_wrong=wrong,
                       checked_on=day, library=library, home=home, today=date(2026, 9, 1))

    check("0101", date(2026, 6, 1))                       # passed; due 90 days on: 30 August
    check("0102", date(2026, 5, 1))                       # passed, then failed: failed
    check("0102", date(2026, 8, 1), wrong=("pay_cash",))
    check("0103", date(2026, 4, 1), wrong=("pay_cash",))  # failed, then passed: passed
    check("0103", date(2026, 8, 20))
    roster = [Trainee("0101", "B01"), Trainee("0102", "B01"), Trainee("0103", "B02"),
              Trainee("0104", "B01")]

    def states(day: date, **kwargs: int) -> list[tuple[object, ...]]:
        grid = spot_check_grid(roster, ["SOP-P18"], home=home, today=day, **kwargs)
        return [(r.teller_id, r.state, r.due_on) for r in grid.itertuples()]

    assert states(date(2026, 8, 29)) == [
        ("0101", "passed", date(2026, 8, 30)), ("0102", "failed", date(2026, 10, 30)),
        ("0103", "passed", date(2026, 11, 18)), ("0104", "never", None)]
    assert states(date(2026, 8, 30))[0] == ("0101", "due", date(2026, 8, 30))
    assert states(date(2026, 8, 29), interval_days=10)[2] == ("0103", "passed",
                                                              date(2026, 8, 30))
    assert states(date(2026, 8, 30), interval_days=10)[2] == ("0103", "due",
                                                              date(2026, 8, 30))
    set_training_target("spot_check_interval_days", 60, user=TRAINER, home=home)
    assert states(date(2026, 7, 31))[0] == ("0101", "due", date(2026, 7, 31))
    grid = spot_check_grid(roster[:1], ["SOP-P17", "SOP-P18"], home=home, today=date(2026, 7, 1))
    assert grid[["sop_id", "last_checked_on", "passed"]].values.tolist() == [
        ["SOP-P17", None, None], ["SOP-P18", date(2026, 6, 1), True]]


def test_the_monthly_summary_counts_checks_per_teller(library: SopLibrary, home: Path) -> None:
    for teller, day, wrong in (("0101", date(2026, 7, 1), ()), ("0101", date(2026, 7, 31),
                                                                 ("pay_cash",)),
                               ("0102", date(2026, 7, 15), ()), ("0102", date(2026, 8, 1), ())):
        add_spot_check(user=TRAINER, teller_id=teller, sop_id="SOP-P18", sop_version="1.0",
                       steps_observed=["pay_cash"], steps_wrong=wrong, checked_on=day,
                       library=library, home=home, today=date(2026, 9, 1))
    july = spot_check_summary("2026-07", home=home)
    assert july.values.tolist() == [["0101", 2, 1, 1], ["0102", 1, 1, 0]]
    assert spot_check_summary("2026-06", home=home).empty
