"""The branch scope (procmine/app/scope.py): what each role may see of the branches, tellers and
findings, refused on the server with AccessDenied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

import procmine
from procmine import (
    AccessDenied,
    ProcmineError,
    User,
    branch_scope,
    require_branch,
    require_teller,
    scoped_findings,
    visible_branches,
    visible_tellers,
)

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
BRANCHES = ["B03", "B01", "B02", "B01"]
TELLERS: dict[str, str | None] = {"0101": "B01", "0102": "B01", "0201": "B02", "0301": "B03",
                                  "0999": None}


def user(role: str, *, branch: str | None = None, teller: str | None = None) -> User:
    return User(f"u-{role}", role, "", None, teller, branch, WHEN, False)


OPS = user("operations")
MANAGER = user("branch_manager", branch="B01")
TELLER = user("teller", branch="B01", teller="0101")


def test_one_access_denied_for_every_refusal() -> None:
    from procmine.training.settings import AccessDenied as TrainingAccessDenied

    assert TrainingAccessDenied is AccessDenied is procmine.AccessDenied
    assert issubclass(AccessDenied, ProcmineError)


@pytest.mark.parametrize("role", ["operations", "reviewer", "trainer"])
def test_the_bank_wide_roles_see_every_branch(role: str) -> None:
    who = user(role)
    assert branch_scope(who) is None
    assert visible_branches(who, BRANCHES) == ["B01", "B02", "B03"]
    assert require_branch(who, None) is None
    assert require_branch(who, "B03") == "B03"
    assert require_teller(who, "0301", "B03") == "0301"
    assert require_teller(who, "0999", None) == "0999"
    assert visible_tellers(who, TELLERS) == ["0101", "0102", "0201", "0301", "0999"]


def test_a_branch_manager_sees_their_branch_only() -> None:
    assert branch_scope(MANAGER) == "B01"
    assert visible_branches(MANAGER, BRANCHES) == ["B01"]
    assert visible_branches(MANAGER, ["B02"]) == []   # their branch has no data yet
    assert require_branch(MANAGER, "B01") == "B01"
    with pytest.raises(AccessDenied, match="may see only branch B01, not branch B02"):
        require_branch(MANAGER, "B02")
    with pytest.raises(AccessDenied, match="may see only branch B01, not every branch"):
        require_branch(MANAGER, None)


def test_a_branch_manager_sees_their_own_tellers_only() -> None:
    assert require_teller(MANAGER, "0102", "B01") == "0102"
    with pytest.raises(AccessDenied, match="teller 0301 is of branch B03"):
        require_teller(MANAGER, "0301", "B03")
    with pytest.raises(AccessDenied, match="teller 0999 is not in the log"):
        require_teller(MANAGER, "0999", None)
    assert visible_tellers(MANAGER, TELLERS) == ["0101", "0102"]


def test_a_branch_manager_without_a_branch_is_refused_everything() -> None:
    lost = user("branch_manager")
    with pytest.raises(AccessDenied, match="has no branch"):
        branch_scope(lost)
    with pytest.raises(AccessDenied):
        visible_branches(lost, BRANCHES)
    with pytest.raises(AccessDenied):
        require_teller(lost, "0101", "B01")


def test_a_teller_sees_only_themselves() -> None:
    assert branch_scope(TELLER) == "B01"
    assert require_teller(TELLER, "0101", "B01") == "0101"
    with pytest.raises(AccessDenied, match="only their own figures"):
        require_teller(TELLER, "0102", "B01")
    assert visible_tellers(TELLER, TELLERS) == ["0101"]


@dataclass(frozen=True)
class _Finding:
    branch_id: str | None
    teller_id: str | None


def test_findings_are_scoped_to_the_branch() -> None:
    found = [_Finding("B01", "0101"), _Finding("B02", None), _Finding("B01", None),
             _Finding("B03", "0301")]
    assert scoped_findings(OPS, found) == found
    assert scoped_findings(MANAGER, found) == [found[0], found[2]]


def test_the_demo_manager_is_scoped_to_b01(tmp_path: Path, own_app_db: None) -> None:
    home = tmp_path / "workspace"
    procmine.seed_demo_users(home)
    manager = procmine.get_user("manager", home)
    assert manager is not None and manager.role == "branch_manager"
    assert visible_branches(manager, BRANCHES) == ["B01"]
