"""The queue pages and the branch manager's view through AppTest: each page as operations and as
the demo branch manager (B01); a manager's pickers offer B01 only, and a manager asking for another
branch's teller by address is refused on the server."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from apptest import app_as, signed_in
from demo_kit import copy_demo_workspace
from streamlit.testing.v1 import AppTest

from procmine import (
    EventStore,
    QueueFilter,
    diversion_report,
    load_baseline,
    queue_summary,
    seed_demo_users,
    staffing_plan,
    t,
    what_if,
    window_report,
)
from procmine.dashboard.registry import pages_for_role

REPO = Path(__file__).resolve().parents[1]

TELLERS = "procmine/dashboard/pages/tellers.py"
BOTTLENECKS = "procmine/dashboard/pages/bottlenecks.py"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("queue-workspace")
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    return demo_home


def _zh(key: str, **fmt: object) -> str:
    return t(key, "zh-CN", **fmt)


def test_the_branch_manager_has_the_lobby_pages() -> None:
    scripts = [p.script for p in pages_for_role("branch_manager")]
    assert scripts[0] == "queue.py"   # the page a manager lands on
    assert set(scripts) == {"queue.py", "staffing.py", "diversion.py", "bottlenecks.py",
                            "tellers.py", "matrix.py", "baseline.py", "improvements.py",
                            "improvement_item.py", "process_map.py", "variants.py",
                            "conformance.py"}
    ops = [p.script for p in pages_for_role("operations")]
    assert ops[0] == "overview.py"
    assert {"queue.py", "staffing.py", "diversion.py"} <= set(ops)


def test_a_manager_picks_only_the_tellers_of_their_branch(home: Path) -> None:
    at = app_as("branch_manager", home).run()
    at.switch_page(TELLERS).run()
    assert not at.exception and not at.error
    pick = at.selectbox(key="tellers_pick")
    assert pick.options == [f"010{i}" for i in range(1, 9)]
    assert at.multiselect(key="tellers_filters_branches").options == ["B01"]
    # the address names the teller shown: the one with the most hours lost in the latest month
    assert at.query_params["teller"] == pick.value != "0101"
    assert at.dataframe[0].value.shape[0] > 10


def test_a_manager_opening_another_branchs_teller_is_refused(home: Path) -> None:
    at = app_as("branch_manager", home)
    at.query_params["teller"] = "0301"
    at.run()
    at.switch_page(TELLERS)
    at.query_params["teller"] = "0301"
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        _zh("scope.teller_refused", teller="0301", branch="B01")]
    assert not at.dataframe and not at.get("plotly_chart")
    assert not at.selectbox   # not even the picker
    # a teller that is not in the log is refused the same way (nothing says whether it exists)
    at.query_params["teller"] = "9999"
    at.run()
    assert [e.value for e in at.error] == [
        _zh("scope.teller_refused", teller="9999", branch="B01")]


def test_a_manager_opens_their_own_teller_by_address(home: Path) -> None:
    at = app_as("branch_manager", home).run()
    at.switch_page(TELLERS)
    at.query_params["teller"] = "0105"
    at.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="tellers_pick").value == "0105"


def test_operations_open_any_teller_by_address(home: Path) -> None:
    at = app_as("operations", home).run()
    at.switch_page(TELLERS)
    at.query_params["teller"] = "0301"
    at.run()
    assert not at.exception and not at.error
    pick = at.selectbox(key="tellers_pick")
    assert pick.value == "0301" and len(pick.options) == 48
    at.query_params["teller"] = "9999"
    at.run()
    assert [w.value for w in at.warning] == [_zh("tellers.unknown", teller="9999")]


def test_a_manager_sees_the_slow_steps_of_their_branch_only(home: Path) -> None:
    ops = app_as("operations", home).run()
    ops.switch_page(BOTTLENECKS).run()
    assert not ops.exception
    every = ops.selectbox(key="bn_pick_zh-CN").options
    at = app_as("branch_manager", home).run()
    at.switch_page(BOTTLENECKS).run()
    assert not at.exception and not at.error
    mine = at.selectbox(key="bn_pick_zh-CN").options
    assert 0 < len(mine) < len(every)
    # their branch's findings, and the bank-wide standards to review ("全行，P17 ...")
    bank_wide = _zh("bottlenecks.who_type", type="")
    assert all("B01" in option or option.split(". ", 1)[1].startswith(bank_wide)
               for option in mine)
    assert {m.split(". ", 1)[1] for m in mine} <= {e.split(". ", 1)[1] for e in every}
    elsewhere = [c.value for c in at.caption if c.value.startswith(_zh(
        "scope.findings_elsewhere", branch="B01", n="", hours="")[:8])]
    assert len(elsewhere) == 1 and f"{len(every) - len(mine)}" in elsewhere[0]
    # no table names a teller of another branch (teller ids start with their branch's number)
    cells = {str(v) for table in at.dataframe for v in table.value.to_numpy().ravel()}
    assert not {c for c in cells if re.fullmatch(r"0[2-9]\d\d", c)}


# -- the Queue page --------------------------------------------------------------------------------

QUEUE = "procmine/dashboard/pages/queue.py"


def _metrics(at: object) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}  # type: ignore[attr-defined]


def _open(role: str, home: Path, page: str, **state: object) -> object:
    """The page as ``role`` with ``state`` set first: by default over the whole period (these
    tests compare with the library's figures over every day; the page opens on the latest
    month otherwise, see tests/test_period.py)."""
    at = app_as(role, home)
    for key, value in {"period_month": "whole", **state}.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


#: the queue page's sections drawn once opened
QUEUE_SECTIONS = {"queue_windows_open": True, "queue_vip_open": True, "queue_tellers_open": True}


def test_operations_see_the_whole_bank_and_every_branch_on_the_queue_page(home: Path) -> None:
    at = _open("operations", home, QUEUE, **QUEUE_SECTIONS)
    assert at.selectbox(key="queue_branch").options == [_zh("queue.all_branches"), "B01", "B02",
                                                          "B03", "B04", "B05", "B06"]
    bank = queue_summary(EventStore(home), QueueFilter())
    metrics = _metrics(at)
    assert metrics[_zh("queue.tickets")] == f"{bank.tickets:,}"
    assert metrics[_zh("queue.served")] == f"{bank.served + bank.transferred:,}"
    assert metrics[_zh("queue.service_level", minutes="10")] == \
        f"{bank.service_level['share']:.1%}"
    assert metrics[_zh("queue.mean_wait")] == _zh(
        "queue.minutes", value=f"{bank.mean_wait_seconds_served / 60:.1f}")
    assert len(at.get("plotly_chart")) == 3
    tellers = at.dataframe[-1].value
    assert len(tellers) == len(bank.per_teller) == 48


def test_a_manager_sees_the_queue_of_b01_and_the_bank_only_as_an_aggregate(home: Path) -> None:
    # a forged choice of another branch falls back to the only branch offered
    at = _open("branch_manager", home, QUEUE, queue_branch="B02", **QUEUE_SECTIONS)
    picker = at.selectbox(key="queue_branch")
    assert picker.options == ["B01"] and picker.value == "B01"
    store = EventStore(home)
    mine = queue_summary(store, QueueFilter(branch="B01"))
    bank = queue_summary(store, QueueFilter())
    metrics = _metrics(at)
    assert metrics[_zh("queue.tickets")] == f"{mine.tickets:,}"
    assert mine.tickets < bank.tickets
    assert metrics[_zh("queue.service_level", minutes="10")] == \
        f"{mine.service_level['share']:.1%}"
    assert _zh("queue.bank_caption", level=f"{bank.service_level['share']:.1%}",
               wait=f"{bank.mean_wait_seconds_served / 60:.1f}",
               abandon=f"{bank.abandonment_rate:.1%}") in [c.value for c in at.caption]
    tellers = at.dataframe[-1].value
    assert sorted(tellers.iloc[:, 0]) == [f"010{i}" for i in range(1, 9)]
    assert list(tellers.iloc[:, 1]) == [t["served"] for t in mine.per_teller]


def test_the_queue_target_and_goal_change_the_service_level(home: Path) -> None:
    at = _open("branch_manager", home, QUEUE, queue_target=20, queue_goal=50)
    mine = queue_summary(EventStore(home), QueueFilter(branch="B01", target_wait=1200))
    level = mine.service_level["share"]
    assert _metrics(at)[_zh("queue.service_level", minutes="20")] == f"{level:.1%}"
    assert _zh("queue.service_caption", minutes="20", share="50") in [c.value for c in at.caption]


def test_the_queue_pages_say_when_there_is_no_queue_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "workspace"
    monkeypatch.setenv("PROCMINE_HOME", str(home))
    seed_demo_users(home)
    for role in ("operations", "branch_manager"):
        for page in pages_for_role(role):
            if page.script in ("queue.py", "staffing.py", "diversion.py"):
                at = app_as(role, home).run()
                at.switch_page(str(page.path.relative_to(REPO))).run()
                assert not at.exception
                assert [i.value for i in at.info] == [_zh("queue.empty")], page.script


# -- the Staffing page -----------------------------------------------------------------------------

STAFFING = "procmine/dashboard/pages/staffing.py"
DIVERSION = "procmine/dashboard/pages/diversion.py"


def test_a_manager_sees_the_staffing_of_b01_and_a_what_if(home: Path) -> None:
    at = _open("branch_manager", home, STAFFING)
    assert at.selectbox(key="staffing_branch").options == ["B01"]
    assert at.selectbox(key="wi_branch").options == ["B01"]
    plan = staffing_plan(EventStore(home), QueueFilter(branch="B01"), target_share=0.8)
    gaps = plan.intervals["gap"]
    metrics = _metrics(at)
    assert metrics[_zh("staffing.shortfall_hours")] == _zh(
        "staffing.counter_hours", value=f"{-gaps.clip(upper=0).sum() / 4:,.1f}")
    assert -gaps.clip(upper=0).sum() > 0   # the demo's B01 is short somewhere
    assert len(at.dataframe[0].value) == len(plan.shifts) > 0
    heat = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert heat["type"] == "heatmap" and heat["zmid"] == 0
    assert heat["y"] == [_zh(f"staffing.weekday.{d}") for d in plan.heatmap("B01").index]
    # the what-if opens on the interval shortest of counters, at the counters open then
    weekday = at.selectbox(key="wi_weekday").value
    interval = at.selectbox(key="wi_interval").value
    day = plan.intervals[(plan.intervals["weekday"] == weekday)]
    assert interval == int(day.loc[day["gap"].idxmin(), "interval_of_day"])
    row = day[day["interval_of_day"] == interval].iloc[0]
    required = int(row["required"])
    at.number_input(key="wi_counters").set_value(required).run()
    assert not at.exception
    waits = what_if(plan, "B01", int(weekday), interval, required)
    assert waits.service_level >= 0.8
    assert _metrics(at)[_zh("staffing.service_level")] == f"{waits.service_level:.1%}"
    fewer = what_if(plan, "B01", int(weekday), interval, required - 1)
    assert fewer.service_level < 0.8   # required is the fewest that meet the goal


def test_operations_see_every_branchs_staffing(home: Path) -> None:
    at = _open("operations", home, STAFFING)
    assert len(at.selectbox(key="wi_branch").options) == 6
    assert _zh("staffing.heatmap_all") in " ".join(c.value for c in at.caption)


# -- the Diversion page ----------------------------------------------------------------------------


def test_a_manager_sees_the_diversion_of_b01(home: Path) -> None:
    at = _open("branch_manager", home, DIVERSION)
    store, baseline = EventStore(home), load_baseline()
    report = diversion_report(store, baseline, QueueFilter(branch="B01"))
    metrics = _metrics(at)
    assert metrics[_zh("diversion.qualifying")] == f"{report.qualifying:,}"
    assert metrics[_zh("diversion.counter_hours")] == _zh(
        "diversion.hours", value=f"{report.counter_seconds / 3600:,.1f}")
    heat = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert heat["y"] == ["B01"]
    # a lower threshold: fewer qualify, the same as the library says
    at.number_input(key="div_threshold").set_value(5000.0).run()
    lower = diversion_report(store, baseline, QueueFilter(branch="B01"), threshold=5000.0)
    assert lower.qualifying < report.qualifying
    assert _metrics(at)[_zh("diversion.qualifying")] == f"{lower.qualifying:,}"


def test_operations_see_every_branchs_diversion(home: Path) -> None:
    at = _open("operations", home, DIVERSION)
    heat = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert heat["y"] == ["B01", "B02", "B03", "B04", "B05", "B06"]
    at.multiselect(key="div_cash").set_value([]).run()
    at.multiselect(key="div_other").set_value([]).run()
    assert [w.value for w in at.warning] == [_zh("diversion.no_types")]


def test_the_queue_pages_sections_are_drawn_once_opened(home: Path) -> None:
    """A branch manager lands on the queue page: it opens on the figures and the day's two
    curves; the windows, the VIP windows and the tellers are drawn when their section opens,
    each one alone, and stay open."""
    at = _open("branch_manager", home, QUEUE)
    assert len(at.get("plotly_chart")) == 2 and len(at.dataframe) == 0
    assert [e.label for e in at.expander] == [_zh("queue.by_window"), _zh("queue.windows"),
                                              _zh("queue.per_teller")]
    assert _zh("windows.vip_served") not in _metrics(at)
    at.session_state["queue_windows_open"] = True
    at.run()
    assert len(at.get("plotly_chart")) == 3 and len(at.dataframe) == 1
    at.session_state["queue_tellers_open"] = True
    at.run()
    assert len(at.get("plotly_chart")) == 3 and len(at.dataframe) == 2
    tellers = at.dataframe[-1].value
    assert sorted(tellers.iloc[:, 0]) == [f"010{i}" for i in range(1, 9)]
    assert _zh("windows.vip_served") not in _metrics(at)
    at.session_state["queue_vip_open"] = True
    at.run()
    assert _zh("windows.vip_served") in _metrics(at)


def test_the_queue_page_counts_the_vip_windows_as_the_library_does(home: Path) -> None:
    at = _open("branch_manager", home, QUEUE, queue_vip_open=True)
    report = window_report(EventStore(home), QueueFilter(branch="B01"))
    metrics = _metrics(at)
    assert metrics[_zh("windows.vip_served")] == f"{report.vip_window_served:,}"
    assert metrics[_zh("windows.nonvip_while_vip_waited")] == \
        f"{report.vip_window_nonvip_while_vip_waited:,}"
    assert report.vip_window_nonvip_while_vip_waited > 0


# -- both languages, and a manager without a branch ------------------------------------------

KEY_LIKE = re.compile(r"^[a-z_]+(\.[a-z0-9_-]+)+$")


@pytest.mark.parametrize("script", ["queue.py", "staffing.py", "diversion.py", "tellers.py",
                                    "bottlenecks.py"])
def test_the_manager_pages_read_in_english_with_no_message_key_showing(script: str,
                                                                       home: Path) -> None:
    at = app_as("branch_manager", home)
    at.session_state["procmine_lang"] = "en"
    at.run()
    at.switch_page(f"procmine/dashboard/pages/{script}").run()
    assert not at.exception and not at.error
    texts = [e.value for kind in ("title", "subheader", "caption", "info", "warning", "markdown")
             for e in getattr(at, kind)]
    texts += [m.label for m in at.metric]
    texts += [w.label for kind in ("selectbox", "number_input", "multiselect", "slider")
              for w in getattr(at, kind)]
    assert texts and not [x for x in texts if KEY_LIKE.match(str(x).strip())]
    assert not re.search(r"[\u4e00-\u9fff]", " ".join(map(str, at.title)) + " ".join(
        m.label for m in at.metric))


def test_a_branch_manager_without_a_branch_is_refused_every_page(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine.dashboard import session

    manager = signed_in("branch_manager", home)
    lost = dataclasses.replace(manager, branch_id=None)
    monkeypatch.setattr(session, "get_user", lambda username: lost)
    for script in ("queue.py", "tellers.py", "bottlenecks.py"):
        at = AppTest.from_file(str(REPO / "procmine/dashboard/pages" / script),
                               default_timeout=60)
        at.session_state["procmine_user"] = lost
        at.run()
        assert not at.exception
        assert [e.value for e in at.error] == [_zh("scope.no_branch")]
        assert not at.metric and not at.dataframe and not at.selectbox


@pytest.mark.parametrize("script", ["queue.py", "staffing.py", "diversion.py"])
def test_days_without_tickets_say_so(script: str, home: Path) -> None:
    from datetime import date

    day = date(2026, 9, 2)   # the demo's lobby has no ticket that day
    assert queue_summary(EventStore(home), QueueFilter(start=day, end=date(2026, 9, 3))
                         ).tickets == 0
    at = app_as("branch_manager", home)
    at.session_state[f"{script[:-3]}_period"] = (day, day)
    at.run()
    at.switch_page(f"procmine/dashboard/pages/{script}").run()
    assert not at.exception and not at.error
    assert [i.value for i in at.info] == [_zh("queue.no_data_in_period", start="2026-09-02",
                                              end="2026-09-02")]
    assert not at.metric


def test_a_kept_period_outside_the_data_falls_back_to_the_whole_period(home: Path) -> None:
    from datetime import date

    at = app_as("branch_manager", home)
    at.session_state["period_month"] = "whole"
    at.session_state["queue_period"] = (date(2025, 1, 1), date(2025, 1, 31))
    at.run()
    at.switch_page(QUEUE).run()
    assert not at.exception and not at.error
    mine = queue_summary(EventStore(home), QueueFilter(branch="B01"))
    assert _metrics(at)[_zh("queue.tickets")] == f"{mine.tickets:,}"
