"""The improvement register's pages through AppTest, on a demo workspace: operations sees the
register with the items opened through the library (counts, rows, the overdue one in words),
a teller is refused it, a branch manager sees their branch's items only; the item page shows the
frozen evidence and the history, offers no action to a reviewer of another group, and accepting
through it moves the item in the register; an item opened from the register's own form lands on
its page. (That each page opens for its roles is tests/test_dashboard.py's, over the registry.)"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import apptest
import pytest
from apptest import signed_in
from demo_kit import copy_demo_workspace
from streamlit.testing.v1 import AppTest

from procmine import (
    DEMO_PASSWORD,
    EventStore,
    Finding,
    ImprovementItem,
    SopLibrary,
    User,
    authenticate,
    finding_subject,
    get_improvement,
    link_improvement,
    linked_findings,
    list_improvements,
    load_baseline,
    open_improvement,
    set_improvement_status,
    t,
)
from procmine.app.appdb import DB_URL_ENV

REPO = Path(__file__).resolve().parents[1]
PAGES = "procmine/dashboard/pages"
ZH = "zh-CN"


def zh(key: str, **fmt: object) -> str:
    return t(key, ZH, **fmt)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("improve-pages")
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    monkeypatch.delenv(DB_URL_ENV, raising=False)   # the workspace's own SQLite register
    return demo_home


@pytest.fixture(scope="module")
def findings(demo_home: Path) -> list[Finding]:
    return linked_findings(EventStore(demo_home), load_baseline(), SopLibrary.open(demo_home))


def _finding(findings: list[Finding], branch: str) -> Finding:
    return next(f for f in findings if f.kind == "step" and f.branch_id == branch
                and f.scope == "teller")


def _open(home: Path, finding: Finding, group: str, *, due: date | None = None,
          owner: str = "") -> ImprovementItem:
    subject = finding_subject(finding, as_of=date(2026, 10, 31),
                              store_version=EventStore(home).version())
    return open_improvement(subject, user=signed_in("operations", home), cause="procedure",
                            review_group=group, owner=owner, due_on=due, home=home)


def _page(at: AppTest, script: str, item: int | None = None) -> AppTest:
    """``script`` opened (the item of ``item``), its History section opened."""
    if item is not None:
        at.query_params["item"] = str(item)
    at.session_state["item_history"] = True
    at.switch_page(f"{PAGES}/{script}").run()
    assert not at.exception, at.exception
    return at


def _as(user: User) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.session_state["procmine_user"] = user
    return at.run()


def _table_ids(at: AppTest) -> list[int]:
    frame = at.dataframe[0].value
    return [int(i) for i in frame[zh("improve.col.id")]]


def _show_every_status(at: AppTest) -> AppTest:
    at.multiselect(key="improve_statuses_zh-CN").set_value(
        ["proposed", "accepted", "rejected", "in_progress", "done", "verified",
         "not_effective"]).run()
    assert not at.exception, at.exception
    return at


def test_operations_sees_the_register_with_counts_and_overdue_rows(
        home: Path, findings: list[Finding]) -> None:
    late = _open(home, _finding(findings, "B02"), "domestic-settlement",
                 due=date.today() - timedelta(days=4), owner="settlement")
    fresh = _open(home, _finding(findings, "B04"), "accounting-and-cash", owner="reviewer")
    at = _page(apptest.app_as("operations", home, timeout=180).run(), "improvements.py")
    assert [ti.value for ti in at.title] == [zh("improve.page.title")]
    everything = list_improvements(user=signed_in("operations", home), home=home)
    today = date.today()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[zh("improve.page.count_open")] == str(sum(i.is_open for i in everything))
    assert metrics[zh("improve.page.count_overdue")] == str(
        sum(i.overdue(today) for i in everything))
    # the open items at first, newest first; the late one says by how many days
    shown = _table_ids(at)
    assert shown == [i.id for i in everything if i.is_open]
    assert {late.id, fresh.id} <= set(shown)
    frame = at.dataframe[0].value
    row = frame[frame[zh("improve.col.id")] == late.id].iloc[0]
    assert row[zh("improve.col.overdue")] == zh("improve.page.overdue_days", days=4)
    assert row[zh("improve.col.group")] == zh("review_groups.domestic-settlement")
    assert row[zh("improve.col.summary")] == late.subject.summary_in(ZH)
    # filtered to one group and owner
    at.selectbox(key="improve_group").set_value("accounting-and-cash").run()
    at.selectbox(key="improve_owner").set_value("reviewer").run()
    assert fresh.id in _table_ids(at) and late.id not in _table_ids(at)
    at.selectbox(key="improve_group").set_value(None).run()
    at.selectbox(key="improve_owner").set_value(None).run()
    at.selectbox(key="improve_due").set_value("overdue").run()
    assert _table_ids(at) == [i.id for i in everything if i.overdue(today)]


def test_a_teller_is_refused_the_register(home: Path) -> None:
    for script in ("improvements.py", "improvement_item.py"):
        at = AppTest.from_file(str(REPO / PAGES / script), default_timeout=60)
        at.session_state["procmine_user"] = signed_in("teller", home)
        at.run()
        assert not at.exception
        assert [e.value for e in at.error] == [
            zh("auth.not_allowed", role=zh("roles.teller"))]
        assert not at.title and not at.dataframe and not at.metric


def test_a_branch_manager_sees_the_items_of_their_branch_only(
        home: Path, findings: list[Finding]) -> None:
    mine = _open(home, _finding(findings, "B01"), "accounting-and-cash")
    other = _open(home, _finding(findings, "B04"), "accounting-and-cash")
    at = _show_every_status(_page(apptest.app_as("branch_manager", home, timeout=180).run(),
                                  "improvements.py"))
    shown = _table_ids(at)
    assert mine.id in shown and other.id not in shown
    everything = list_improvements(user=signed_in("operations", home), home=home)
    assert shown == [i.id for i in everything if i.subject.branch_id == "B01"]
    # another branch's item by its address: refused with the library's words, nothing shown
    at = _page(apptest.app_as("branch_manager", home, timeout=180).run(),
               "improvement_item.py", item=other.id)
    assert len(at.error) == 1 and "B01" in at.error[0].value
    assert not at.metric and not at.dataframe


def test_the_item_page_shows_the_frozen_evidence_and_the_history(
        home: Path, findings: list[Finding]) -> None:
    finding = _finding(findings, "B06")
    item = _open(home, finding, "compliance-and-control", owner="reviewer")
    at = _page(apptest.app_as("operations", home, timeout=180).run(), "improvement_item.py",
               item=item.id)
    assert [ti.value for ti in at.title] == [zh("improve.item.title")]
    assert [s.value for s in at.subheader] == [
        zh("improve.item.heading", id=item.id, summary=finding.summary_in(ZH))]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[zh("improve.fig.ratio")] == f"{finding.ratio:.2f}"
    assert metrics[zh("improve.fig.cases")] == f"{finding.cases:,}"
    assert metrics[zh("improve.fig.median")] == zh("improve.fig.seconds",
                                                   value=f"{finding.median_seconds:,.0f}")
    assert metrics[zh("improve.fig.hours")] == f"{finding.monthly_teller_hours:,.1f}"
    captions = [c.value for c in at.caption]
    assert any(item.subject.store_version in c and "2026-10-31" in c for c in captions)
    assert zh("improve.item.not_done") in captions
    history = at.dataframe[-1].value
    assert list(history[zh("improve.hist.action")]) == [zh("improve.action.add")]
    assert list(history[zh("improve.hist.to")]) == [zh("improve.status.proposed")]
    assert list(history[zh("improve.hist.who")]) == ["ops"]


def test_the_items_history_is_drawn_once_its_section_is_opened(
        home: Path, findings: list[Finding]) -> None:
    item = _open(home, _finding(findings, "B06"), "compliance-and-control", owner="reviewer")
    at = apptest.app_as("operations", home, timeout=180).run()
    at.query_params["item"] = str(item.id)
    at.switch_page(f"{PAGES}/improvement_item.py").run()
    assert not at.exception, at.exception
    label = zh("improve.item.history_count", n=len(item.events))
    assert [e.label for e in at.expander][-1] == label
    closed = [list(frame.value.columns) for frame in at.dataframe]
    assert zh("improve.hist.action") not in {c for columns in closed for c in columns}
    at.session_state["item_history"] = True
    at.run()
    assert not at.exception, at.exception
    history = at.dataframe[-1].value
    assert len(at.dataframe) == len(closed) + 1
    assert list(history[zh("improve.hist.action")]) == [zh("improve.action.add")]


def test_a_reviewer_of_another_group_sees_no_action(home: Path,
                                                    findings: list[Finding]) -> None:
    item = _open(home, _finding(findings, "B06"), "accounting-and-cash")
    settlement = authenticate("settlement", DEMO_PASSWORD, home)
    assert settlement is not None and settlement.review_group == "domestic-settlement"
    at = _page(_as(settlement), "improvement_item.py", item=item.id)
    assert zh("improve.act.no_rights", group=zh("review_groups.accounting-and-cash")) in [
        c.value for c in at.caption]
    labels = {b.label for b in at.button}
    assert not labels & {zh("improve.act.accept"), zh("improve.act.reject"),
                         zh("improve.act.assign_submit"), zh("improve.act.link_sop_submit")}
    # the group's own reviewer is offered them
    at = _page(apptest.app_as("reviewer", home, timeout=180).run(), "improvement_item.py",
               item=item.id)
    assert {zh("improve.act.accept"), zh("improve.act.reject")} <= {b.label for b in at.button}


def test_accepting_through_the_page_moves_the_item(home: Path,
                                                   findings: list[Finding]) -> None:
    item = _open(home, _finding(findings, "B02"), "accounting-and-cash")
    at = _page(apptest.app_as("reviewer", home, timeout=180).run(), "improvement_item.py",
               item=item.id)
    # rejecting without a note: the library's refusal, shown; nothing moves
    at.button(key="item_move_rejected").click().run()
    assert not at.exception and [e.value for e in at.error] == [
        zh("common.error", message=zh("error.improve.reject_note", item_id=item.id))]
    assert get_improvement(item.id, user=signed_in("operations", home),
                           home=home).status == "proposed"
    at.selectbox(key=f"item_decision_{item.id}").set_value("revise_sop")
    at.text_input(key=f"item_reason_{item.id}").input("The SOP asks for a second count")
    at.button(key="item_move_accepted").click().run()
    assert not at.exception, at.exception
    moved = get_improvement(item.id, user=signed_in("operations", home), home=home)
    assert (moved.status, moved.decision, moved.decision_reason) == (
        "accepted", "revise_sop", "The SOP asks for a second count")
    assert [(e.action, e.to_status, e.username) for e in moved.events][-1] == (
        "status", "accepted", "reviewer")
    assert [s.value for s in at.success] == [
        zh("improve.act.moved", id=item.id, status=zh("improve.status.accepted"))]
    # what the branch did itself, through the assignment (the escalation report says it)
    at.text_input(key=f"item_branch_action_{item.id}").input("Second counter opened at noon")
    at.button(key=f"FormSubmitter:item_assign_{item.id}-{zh('improve.act.assign_submit')}")\
        .click().run()
    assert not at.exception, at.exception
    assigned = get_improvement(item.id, user=signed_in("operations", home), home=home)
    assert (assigned.branch_action, assigned.owner, assigned.events[-1].action) == (
        "Second counter opened at noon", "", "assign")


def test_an_item_opened_from_the_register_lands_on_its_page(home: Path) -> None:
    at = _page(apptest.app_as("operations", home, timeout=180).run(), "improvements.py")
    at.toggle(key="improve_new").set_value(True).run()
    assert not at.exception, at.exception
    at.selectbox(key="improve_new_form_group").set_value("accounting-and-cash").run()
    # the owner's suggestions are the group's reviewers
    owner = at.selectbox(key="improve_new_form_owner_accounting-and-cash")
    assert owner.options == ["reviewer", "reviewer2"]
    owner.set_value("reviewer2")
    at.selectbox(key="improve_new_form_decision").set_value("escalate")
    at.text_area(key="improve_new_form_change").input("Ask head office for a faster screen")
    before = {i.id for i in list_improvements(user=signed_in("operations", home), home=home)}
    at.button(key="FormSubmitter:improve_new_form_form-" + zh("improve.form.submit")).click()
    at.run()
    assert not at.exception, at.exception
    items = list_improvements(user=signed_in("operations", home), home=home)
    (new,) = [i for i in items if i.id not in before]
    assert (new.review_group, new.owner, new.decision, new.proposed_change, new.created_by) == (
        "accounting-and-cash", "reviewer2", "escalate", "Ask head office for a faster screen",
        "ops")
    assert new.due_on == date.today() + timedelta(days=30)
    # on the new item's page, with its number in the address
    assert [ti.value for ti in at.title] == [zh("improve.item.title")]
    assert at.query_params.get("item") in (str(new.id), [str(new.id)])
    assert zh("improve.form.opened", id=new.id) in [s.value for s in at.success]


def test_marking_done_re_measures_at_once_and_draws_the_before_and_after(home: Path) -> None:
    """The demo's SOP-P18 revision (3.0 in force from 2026-09-21) made Count cash faster: an
    item that revised it (on branch B01's Count cash against the old standard, 37 s; the demo
    has no finding there), marked done on that day through the page, is re-measured at once and
    verified; the page draws the before and after."""
    finding = Finding(
        scope="branch", teller_id=None, branch_id="B01", business_type="P18",
        activity="Count cash", cases=400, steps=400, median_seconds=48.0, p90_seconds=70.0,
        reference_seconds=37.0, reference_source="sop", ratio=48.0 / 37.0, pace=1.0,
        excess_seconds=11.0, time_lost_seconds=4400.0, monthly_teller_hours=0.5, months=0.66,
        p_value=0.01, q_value=0.02, bank_median_seconds=47.0, branch_median_seconds=None,
        sop="SOP-P18", sop_step="count_cash", sop_version="2.0")
    item = _open(home, finding, "accounting-and-cash")
    ops = signed_in("operations", home)
    set_improvement_status(item.id, "accepted", user=ops, decision="revise_sop", home=home)
    set_improvement_status(item.id, "in_progress", user=ops, home=home)
    link_improvement(item.id, "sop_revision", "SOP-P18@3.0", user=ops, home=home)
    at = _page(apptest.app_as("operations", home, timeout=180).run(), "improvement_item.py",
               item=item.id)
    assert zh("improve.item.not_done") in [c.value for c in at.caption]
    at.date_input(key=f"item_changed_{item.id}").set_value(date(2026, 9, 21))
    at.button(key="item_move_done").click().run()
    assert not at.exception, at.exception
    done = get_improvement(item.id, user=ops, home=home)
    assert (done.status, done.changed_on) == ("verified", date(2026, 9, 21))
    measurement = done.measurement
    assert measurement is not None and measurement["method"] == "revision_effect"
    assert measurement["after"]["median"] < measurement["before"]["median"]
    assert at.success[0].value == zh(
        "improve.act.moved", id=item.id, status=zh("improve.status.verified"))
    # the verdict in words, with its counts, and the chart of before and after
    line = zh("improve.item.verdict_line", verdict=zh("improve.verdict.verified"),
              before=measurement["before"]["n"], after=measurement["after"]["n"],
              change=f"{measurement['change']:+.1%}", p=f"{measurement['p_value']:.3g}")
    assert line in [s.value for s in at.success]
    assert len(at.get("plotly_chart")) == 1
    history = at.dataframe[-1].value
    assert list(history[zh("improve.hist.action")])[:2] == [
        zh("improve.action.measure"), zh("improve.action.status")]


def test_the_pages_in_english_after_a_switch(home: Path, findings: list[Finding]) -> None:
    finding = _finding(findings, "B04")
    item = _open(home, finding, "accounting-and-cash")
    at = _page(apptest.app_as("operations", home, timeout=180).run(), "improvement_item.py",
               item=item.id)
    at.radio(key="lang_switch").set_value("en").run()
    assert not at.exception, at.exception
    assert [ti.value for ti in at.title] == [t("improve.item.title", "en")]
    assert [s.value for s in at.subheader] == [
        t("improve.item.heading", "en", id=item.id, summary=finding.summary_in("en"))]
    assert {m.label for m in at.metric} >= {t("improve.fig.ratio", "en"),
                                            t("improve.fig.cases", "en")}
    assert at.selectbox(key=f"item_group_{item.id}.en").options == [
        "Domestic settlement", "Accounting and cash", "Compliance and internal control"]
    _page(at, "improvements.py")
    assert [ti.value for ti in at.title] == [t("improve.page.title", "en")]
    assert item.id in _table_ids_in(at, "en")


def _table_ids_in(at: AppTest, language: str) -> list[int]:
    return [int(i) for i in at.dataframe[0].value[t("improve.col.id", language)]]
