"""The queue pages and the branch manager's view through AppTest: each page as operations and as
the demo branch manager (B01); a manager's pickers offer B01 only, and a manager asking for another
branch's teller by address is refused on the server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from apptest import app_as

from procmine import (
    EventStore,
    QueueFilter,
    build_demo_workspace,
    queue_summary,
    seed_demo_users,
    t,
)
from procmine.dashboard.registry import pages_for_role

REPO = Path(__file__).resolve().parents[1]

TELLERS = "procmine/dashboard/pages/tellers.py"
BOTTLENECKS = "procmine/dashboard/pages/bottlenecks.py"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("queue-workspace")
    build_demo_workspace(home)
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
                            "tellers.py", "baseline.py"}
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
    assert at.query_params["teller"] == "0101"   # the address names the teller shown
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
    every = ops.selectbox(key="bn_pick").options
    at = app_as("branch_manager", home).run()
    at.switch_page(BOTTLENECKS).run()
    assert not at.exception and not at.error
    mine = at.selectbox(key="bn_pick").options
    assert 0 < len(mine) < len(every)
    assert all("B01" in option for option in mine)
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
    at = app_as(role, home)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_operations_see_the_whole_bank_and_every_branch_on_the_queue_page(home: Path) -> None:
    at = _open("operations", home, QUEUE)
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
    at = _open("branch_manager", home, QUEUE, queue_branch="B02")
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
