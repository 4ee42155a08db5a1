"""The queue pages and the branch manager's view through AppTest: each page as operations and as
the demo branch manager (B01); a manager's pickers offer B01 only, and a manager asking for another
branch's teller by address is refused on the server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from apptest import app_as

from procmine import build_demo_workspace, t
from procmine.dashboard.registry import pages_for_role

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
