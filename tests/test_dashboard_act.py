"""From a finding to an improvement item in the dashboard (issue 15): "act on this" under a
finding of Slow steps and under a staffing shortfall, for the roles that may open an item; the
findings table's improvement column and the regression warning; the operations overview's
"what to act on this month".

The findings are built here and given to the pages through their data seam
(``procmine.dashboard.data.findings``), on the demo workspace (its SOP library, baseline, queue
tickets and users); the items are opened through the register, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from apptest import APP, app_as, signed_in
from demo_kit import copy_demo_workspace
from findings_kit import made_finding
from sqlalchemy import delete
from streamlit.testing.v1 import AppTest

from procmine import (
    DEMO_PASSWORD,
    Finding,
    SopLibrary,
    User,
    activity_names,
    authenticate,
    default_group,
    finding_key,
    finding_subject,
    link_improvement,
    list_improvements,
    load_baseline,
    open_improvement,
    seed_demo_users,
    set_improvement_status,
    t,
)
from procmine.app.appdb import session_for
from procmine.dashboard import data
from procmine.dashboard.components import improve_marks
from procmine.dashboard.components.text import plain
from procmine.improve.register import record_measurement, record_regression
from procmine.improve.tables import ItemEventRow, ItemLinkRow, ItemRow

BOTTLENECKS = "procmine/dashboard/pages/bottlenecks.py"
STAFFING = "procmine/dashboard/pages/staffing.py"
ZH = "zh-CN"
PICK = "bn_pick_zh-CN"
AS_OF = date(2026, 10, 31)


_finding = made_finding


STEP = _finding(monthly_teller_hours=20.0)
WAIT = _finding(kind="wait", teller_id="0107", business_type="P17",
                activity="Supervisor authorization", median_seconds=150.0,
                reference_seconds=30.0, ratio=5.0, ratio_ci=(4.2, 5.8),
                monthly_teller_hours=11.0, sop="SOP-P17",
                sop_step="supervisor_authorization", sop_version="2.1")
OVERALL = _finding(kind="overall", teller_id="0301", branch_id="B03", business_type="",
                   activity="", ratio=1.3, ratio_ci=(1.2, 1.4), monthly_teller_hours=8.0,
                   sop=None, sop_step=None, sop_version=None)
SETTLEMENT = _finding(teller_id="0205", branch_id="B02", business_type="C46",
                      activity="Check the voucher", monthly_teller_hours=6.0, sop=None,
                      sop_step=None, sop_version=None)
BASELINE = _finding(
    kind="baseline", scope="type", teller_id=None, branch_id=None, business_type="P17",
    activity="", median_seconds=300.0, reference_seconds=150.0, ratio=2.0,
    ratio_ci=(1.9, 2.1), monthly_teller_hours=0.0, branch_median_seconds=None, sop=None,
    sop_step=None, sop_version=None, peer_seconds=None, peer_basis="", cases=20000,
    evidence={"review_group": "accounting-and-cash", "branches": {}})
FOUND = [STEP, WAIT, OVERALL, SETTLEMENT, BASELINE]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("act-workspace")
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch, own_app_db: None) -> Iterator[Path]:
    """The demo workspace on the test's app database (its demo users there), its register
    empty, its findings those of :data:`FOUND`."""
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    monkeypatch.setattr(data, "findings", lambda month, ratio, min_cases, q: list(FOUND))
    seed_demo_users(demo_home)
    with session_for(demo_home) as session:
        for table in (ItemLinkRow, ItemEventRow, ItemRow):
            session.execute(delete(table))
    yield demo_home


def _user(name: str, home: Path) -> User:
    user = authenticate(name, DEMO_PASSWORD, home)
    assert user is not None
    return user


def _slow_steps(user: User | str, home: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["procmine_user"] = user if isinstance(user, User) else signed_in(user, home)
    at.run()
    at.switch_page(BOTTLENECKS).run()
    assert not at.exception, at.exception
    return at


def _open(finding: Finding, user: User, home: Path, **kwargs: Any) -> int:
    subject = finding_subject(finding, as_of=AS_OF, store_version="test")
    return open_improvement(subject, user=user, cause="procedure",
                            review_group=kwargs.pop("group", "accounting-and-cash"),
                            home=home, **kwargs).id


def _links(at: AppTest) -> list[tuple[str, str]]:
    return [(e.proto.label, e.proto.query_string) for e in at.get("page_link")]


def _marks(at: AppTest) -> list[str]:
    return [str(v) for v in at.dataframe[0].value[t("act.mark_column", ZH)]]


def _has_button(at: AppTest) -> bool:
    return any(b.key == "bn_act_button" for b in at.button)


# -- Slow steps ------------------------------------------------------------------------------------


def _submit(at: AppTest) -> None:
    """Submit the register's form as it opens (its defaults)."""
    next(b for b in at.button if b.label == t("improve.form.submit", ZH)).click().run()
    assert not at.exception, at.exception


def test_ops_acts_on_a_finding_through_the_form(home: Path) -> None:
    ops = _user("ops", home)
    at = _slow_steps(ops, home)
    assert at.button(key="bn_act_button").label == t("act.button", ZH)
    assert _marks(at) == [""] * len(FOUND)
    at.button(key="bn_act_button").click().run()
    assert not at.exception, at.exception
    assert at.button(key="bn_act_close")   # the form is open, and can be closed
    _submit(at)
    [item] = list_improvements(user=ops, home=home)
    assert item.subject.key == finding_key(STEP)
    assert item.review_group == "accounting-and-cash"   # SOP-P18's owner group
    assert item.subject.as_of == AS_OF   # the store's last day (the whole period shown)
    assert item.subject.figures["monthly_teller_hours"] == 20.0
    assert item.created_by == "ops" and item.status == "proposed"
    # back on Slow steps: the item's number and status instead of the button, and its mark
    at = _slow_steps(ops, home)
    assert not _has_button(at)
    label = t("act.open_item", ZH, id=item.id, status=t("improve.status.proposed", ZH))
    assert (label, f"item={item.id}") in _links(at)
    assert _marks(at) == [t("act.mark_open", ZH, id=item.id,
                            status=t("improve.status.proposed", ZH))] + [""] * 4


def test_a_verified_item_whose_finding_came_back_is_a_regression(home: Path) -> None:
    ops = _user("ops", home)
    number = _open(STEP, ops, home)
    set_improvement_status(number, "accepted", user=ops, decision="revise_sop", home=home)
    set_improvement_status(number, "in_progress", user=ops, home=home)
    link_improvement(number, "sop_revision", "SOP-P18@3.0", user=ops, home=home)
    set_improvement_status(number, "done", user=ops, home=home, changed_on=date(2026, 9, 15))
    record_measurement(number, {"text": "faster"}, "verified", home=home)
    at = _slow_steps(ops, home)
    assert _marks(at)[0] == t("act.mark_verified", ZH, id=number)
    assert not at.warning
    record_regression(number, {"text": "slow again"}, home=home)
    at = _slow_steps(ops, home)
    assert _marks(at) == [t("act.mark_regression", ZH, id=number)] + [""] * 4
    assert [w.value for w in at.warning] == [t("act.regression", ZH, id=number)]
    assert _has_button(at)   # no open item: it can be acted on again
    at.selectbox(key=PICK).set_value(1).run()   # another finding: no warning
    assert not at.warning and _has_button(at)


def test_a_branch_manager_acts_on_their_branchs_findings_only(home: Path) -> None:
    manager = _user("manager", home)
    assert improve_marks.groups_for(manager, "B01") == [
        "domestic-settlement", "accounting-and-cash", "compliance-and-control"]
    assert improve_marks.groups_for(manager, "B02") == []
    assert improve_marks.groups_for(manager, None) == []
    at = _slow_steps(manager, home)
    options = at.selectbox(key=PICK).options
    named = activity_names(SopLibrary.open(home))  # the page names the steps in Chinese
    assert [o.split(". ", 1)[1] for o in options] == [
        f.summary_in(ZH, step=named.name(f.activity, ZH) if f.activity else None)
        for f in (STEP, WAIT, BASELINE)]
    seen = []
    for i in range(len(options)):
        at.selectbox(key=PICK).set_value(i).run()
        assert not at.exception, at.exception
        seen.append(_has_button(at))
    assert seen == [True, True, False]   # not on the bank-wide standard to check


def test_a_reviewer_acts_for_their_own_group_only(home: Path) -> None:
    settlement = _user("settlement", home)
    # a reviewer may open items for their own group, on any branch's finding
    assert improve_marks.groups_for(settlement, "B02") == ["domestic-settlement"]
    assert improve_marks.groups_for(settlement, None) == ["domestic-settlement"]
    at = _slow_steps(settlement, home)
    at.selectbox(key=PICK).set_value(3).run()
    at.button(key="bn_act_button").click().run()
    # the form offers their group only, whatever the finding's default
    assert at.selectbox(key="bn_act_group").options == [
        t("review_groups.domestic-settlement", ZH)]
    _submit(at)
    [item] = list_improvements(user=settlement, home=home)
    assert (item.subject.key, item.review_group) == (finding_key(SETTLEMENT),
                                                     "domestic-settlement")
    # everyone sees the finding's open item, whoever opened it
    at = _slow_steps("operations", home)
    at.selectbox(key=PICK).set_value(3).run()
    assert not _has_button(at)
    assert any(query == f"item={item.id}" for _, query in _links(at))


def test_the_default_group_is_the_sops_owner_else_the_baseline_review_group(
        home: Path) -> None:
    library, baseline = SopLibrary.open(home), load_baseline()
    assert default_group(STEP, library, baseline) == "accounting-and-cash"
    assert default_group(SETTLEMENT, library, baseline) == "domestic-settlement"
    assert default_group(BASELINE, library, baseline) == "accounting-and-cash"
    assert default_group(OVERALL, library, baseline) is None
    unknown = dataclasses.replace(STEP, business_type="C46", sop="SOP-NONE")
    assert default_group(unknown, library, baseline) == "domestic-settlement"


def test_a_link_from_the_overview_opens_slow_steps_on_its_finding(home: Path) -> None:
    at = _slow_steps("operations", home)
    at.multiselect(key="bn_kinds_zh-CN").set_value(["step"]).run()
    at.query_params["month"] = "2026-10"
    at.query_params["finding"] = finding_key(OVERALL)
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="period_pick").value == "2026-10"
    assert at.multiselect(key="bn_kinds_zh-CN").value == [
        "step", "wait", "overall", "baseline"]
    assert at.selectbox(key=PICK).value == FOUND.index(OVERALL)
    assert at.subheader[0].value.replace("\\", "") == OVERALL.summary_in(ZH)
    assert "finding" not in at.query_params   # used once: the user picks freely after


# -- Staffing --------------------------------------------------------------------------------------


def test_the_staffing_page_acts_on_a_shortfall(home: Path) -> None:
    at = app_as("operations", home, timeout=90).run()
    at.switch_page(STAFFING).run()
    assert not at.exception, at.exception
    pick = at.selectbox(key="act_shortfall")
    first = pick.options[0]
    assert len(pick.options) > 1
    assert at.button(key="staffing_act_button").label == t("act.button_shortfall", ZH)
    at.button(key="staffing_act_button").click().run()
    _submit(at)
    [item] = list_improvements(user=_user("ops", home), home=home)
    figures = item.subject.figures
    assert item.subject.source == "queue" and item.subject.key.startswith("queue|shortfall|")
    assert figures["reason"] == "shortfall" and figures["counters"] >= 1
    assert first.startswith(figures["branch_id"])
    assert f"{figures['start']} 至 {figures['end']}" in first
    assert figures["tickets"] > 0 and figures["service_level"]
    assert item.review_group == "domestic-settlement"   # no default: the first offered
    at = app_as("operations", home, timeout=90).run()
    at.switch_page(STAFFING).run()
    assert not any(b.key == "staffing_act_button" for b in at.button)
    assert (t("act.open_item", ZH, id=item.id, status=t("improve.status.proposed", ZH)),
            f"item={item.id}") in _links(at)


def test_a_branch_manager_acts_on_their_branchs_shortfalls(home: Path) -> None:
    at = app_as("branch_manager", home, timeout=90).run()
    at.switch_page(STAFFING).run()
    assert not at.exception, at.exception
    options = at.selectbox(key="act_shortfall").options
    assert options and all(o.startswith("B01") for o in options)
    assert at.button(key="staffing_act_button")


# -- the overview ----------------------------------------------------------------------------------


def test_the_overview_lists_what_to_act_on_this_month(home: Path) -> None:
    ops = _user("ops", home)
    today = date.today()
    overdue = _open(WAIT, ops, home, due_on=today - timedelta(days=5))
    at = app_as("operations", home, timeout=90).run()
    assert not at.exception, at.exception
    assert t("agenda.title", ZH) in [s.value for s in at.subheader]
    assert t("agenda.caption", ZH, month="2026-10", today=today.isoformat()) in [
        c.value for c in at.caption]
    links = _links(at)
    wanted = [parse_qs(q) for label, q in links if label == t("agenda.act_link", ZH)]
    keys = [w["finding"][0] for w in wanted]
    assert keys[0] == finding_key(STEP)   # the costliest without an item first
    assert finding_key(WAIT) not in keys   # it has an item
    assert all(w["month"] == ["2026-10"] for w in wanted)
    assert (t("agenda.overdue_line", ZH, id=overdue, summary=plain(WAIT.summary_in(ZH)),
              group=t("review_groups.accounting-and-cash", ZH), days=5),
            f"item={overdue}") in links
    assert t("agenda.none", ZH) in [c.value for c in at.caption]   # no regressions
    # a verified item whose finding came back is listed with the regressions
    back = _open(SETTLEMENT, ops, home, group="domestic-settlement")
    set_improvement_status(back, "accepted", user=ops, decision="retrain", home=home)
    set_improvement_status(back, "in_progress", user=ops, home=home)
    set_improvement_status(back, "done", user=ops, home=home, changed_on=date(2026, 9, 15))
    record_measurement(back, {"text": "faster"}, "verified", home=home)
    record_regression(back, {"text": "slow again"}, home=home)
    at = app_as("operations", home, timeout=90).run()
    assert not at.exception, at.exception
    assert (t("agenda.regression_line", ZH, id=back, summary=plain(SETTLEMENT.summary_in(ZH)),
              group=t("review_groups.domestic-settlement", ZH)), f"item={back}") in _links(at)
    assert t("agenda.none", ZH) not in [c.value for c in at.caption]
