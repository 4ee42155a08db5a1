"""``procmine user ...`` through typer's CliRunner on the sub-app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from procmine.app import appdb as appdb
from procmine.app import auth
from procmine.app.appdb import list_audit
from procmine.app.auth import authenticate, get_user
from procmine.cli.user import user_app
from procmine.core.errors import ProcmineError
from procmine.demo.workspace import DEMO_MARKER

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("own_app_db")


@pytest.fixture
def demo_home(home: Path) -> Path:
    """A workspace marked as built by ``procmine demo-workspace`` (without its data)."""
    home.mkdir(parents=True)
    (home / DEMO_MARKER).write_text("demo", encoding="utf-8")
    return home


def test_every_command_has_help() -> None:
    for command in ("add", "list", "audit", "set-role", "seed-demo", "disable", "enable",
                    "reset-password", "unlock"):
        result = runner.invoke(user_app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "--home" in result.output
    top = runner.invoke(user_app, ["--help"])
    assert all(c in top.output for c in ("add", "list", "set-role", "seed-demo"))


def test_add_with_prompted_password(home: Path) -> None:
    result = runner.invoke(
        user_app,
        ["add", "li.na", "--role", "reviewer", "--review-group", "accounting-and-cash",
         "--display-name", "李娜", "--home", str(home)],
        input="reviewer-pass\nreviewer-pass\n",
    )
    assert result.exit_code == 0, result.output
    assert "reviewer-pass" not in result.output
    assert "added li.na (reviewer, accounting-and-cash)" in result.output
    user = authenticate("li.na", "reviewer-pass", home=home)
    assert user is not None and user.display_name == "李娜"
    assert list_audit(home, action="user.add")[0].detail.startswith(
        "role reviewer (accounting-and-cash); by cli"
    )


def test_add_with_password_from_stdin_keeps_teller_id_as_text(home: Path) -> None:
    result = runner.invoke(
        user_app,
        ["add", "wang", "--role", "teller", "--teller-id", "0103", "--branch", "B02",
         "--password-stdin", "--home", str(home)],
        input="teller-pass\n",
    )
    assert result.exit_code == 0, result.output
    user = get_user("wang", home)
    assert user is not None and (user.teller_id, user.branch_id) == ("0103", "B02")
    assert authenticate("wang", "teller-pass", home=home) is not None


def test_add_a_branch_manager_needs_a_branch(home: Path) -> None:
    refused = runner.invoke(
        user_app, ["add", "chen", "--role", "branch_manager", "--password-stdin",
                   "--home", str(home)], input="manager-pass\n")
    assert refused.exit_code != 0
    assert isinstance(refused.exception, ProcmineError)
    assert "needs the branch they run: add --branch" in str(refused.exception)
    assert get_user("chen", home) is None
    result = runner.invoke(
        user_app, ["add", "chen", "--role", "branch_manager", "--branch", "B01",
                   "--password-stdin", "--home", str(home)], input="manager-pass\n")
    assert result.exit_code == 0, result.output
    assert "added chen (branch_manager, branch B01)" in result.output
    user = get_user("chen", home)
    assert user is not None and (user.role, user.branch_id) == ("branch_manager", "B01")
    moved = runner.invoke(user_app, ["set-role", "chen", "branch_manager", "--branch", "B04",
                                     "--home", str(home)])
    assert moved.exit_code == 0, moved.output
    assert "chen (branch_manager, branch B04)" in moved.output


def test_set_role_to_branch_manager_without_a_branch_is_refused(home: Path) -> None:
    runner.invoke(user_app, ["add", "zhao", "--role", "trainer", "--password-stdin",
                             "--home", str(home)], input="trainer-pass\n")
    result = runner.invoke(user_app, ["set-role", "zhao", "branch_manager", "--home", str(home)])
    assert "needs the branch they run" in str(result.exception)
    assert get_user("zhao", home).role == "trainer"  # type: ignore[union-attr]


def test_teller_without_teller_id_gets_a_note(home: Path) -> None:
    result = runner.invoke(
        user_app, ["add", "wang", "--role", "teller", "--password-stdin", "--home", str(home)],
        input="teller-pass\n",
    )
    assert result.exit_code == 0
    assert "has no --teller-id" in result.output


def test_add_errors_are_procmine_errors(home: Path) -> None:
    args = ["--password-stdin", "--home", str(home)]
    result = runner.invoke(user_app, ["add", "x1", "--role", "reviewer", *args],
                           input="long-enough\n")
    assert isinstance(result.exception, ProcmineError)
    assert "a reviewer needs a review group" in str(result.exception)
    result = runner.invoke(user_app, ["add", "x1", "--role", "trainer", *args], input="short\n")
    assert "too short" in str(result.exception)
    runner.invoke(user_app, ["add", "x1", "--role", "trainer", *args], input="long-enough\n")
    result = runner.invoke(user_app, ["add", "x1", "--role", "trainer", *args],
                           input="long-enough\n")
    assert str(result.exception) == "a user named 'x1' already exists"
    result = runner.invoke(user_app, ["add", "x2", "--role", "trainer", *args], input="")
    assert "nothing was given on standard input" in str(result.exception)


def test_mismatched_prompted_passwords_add_nobody(home: Path) -> None:
    result = runner.invoke(user_app, ["add", "x1", "--role", "trainer", "--home", str(home)],
                           input="first-pass\nother-pass\n")
    assert result.exit_code != 0
    assert get_user("x1", home) is None


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)  # no demo users in a shared DB
def test_list_json_and_table(demo_home: Path) -> None:
    home = demo_home
    empty = runner.invoke(user_app, ["list", "--home", str(home)])
    assert "no users yet" in empty.output
    assert json.loads(runner.invoke(user_app, ["list", "--json", "--home", str(home)]).output) == []
    runner.invoke(user_app, ["seed-demo", "--home", str(home)])
    data = json.loads(runner.invoke(user_app, ["list", "--json", "--home", str(home)]).output)
    assert [(u["username"], u["role"]) for u in data] == [
        ("manager", "branch_manager"), ("ops", "operations"), ("reviewer", "reviewer"),
        ("reviewer2", "reviewer"), ("settlement", "reviewer"), ("teller", "teller"),
        ("trainer", "trainer"),
    ]
    teller = data[5]
    assert (teller["teller_id"], teller["branch_id"], teller["disabled"]) == ("0101", "B01", False)
    assert "password_hash" not in teller
    table = runner.invoke(user_app, ["list", "--home", str(home)])
    assert "7 users" in table.output
    assert all(f"│ {name} " in table.output for name in ("ops", "reviewer", "trainer", "teller"))


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)  # no demo users in a shared DB
def test_set_role(demo_home: Path) -> None:
    home = demo_home
    runner.invoke(user_app, ["seed-demo", "--home", str(home)])
    result = runner.invoke(
        user_app,
        ["set-role", "teller", "reviewer", "--review-group", "compliance-and-control",
         "--home", str(home)],
    )
    assert result.exit_code == 0, result.output
    user = get_user("teller", home)
    assert user is not None and (user.role, user.review_group) == (
        "reviewer", "compliance-and-control",
    )
    result = runner.invoke(user_app, ["set-role", "teller", "boss", "--home", str(home)])
    assert "unknown role 'boss'" in str(result.exception)


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)  # no demo users in a shared DB
def test_seed_demo_is_idempotent(demo_home: Path) -> None:
    home = demo_home
    first = runner.invoke(user_app, ["seed-demo", "--home", str(home)])
    assert first.exit_code == 0
    assert first.output.count("added ") == 7
    assert "procmine-demo" in first.output
    second = runner.invoke(user_app, ["seed-demo", "--home", str(home)])
    assert second.exit_code == 0
    assert "nothing added" in second.output
    assert authenticate("teller", "procmine-demo", home=home) is not None


def test_seed_demo_refuses_outside_a_demo_workspace(home: Path) -> None:
    result = runner.invoke(user_app, ["seed-demo", "--home", str(home)])
    assert isinstance(result.exception, ProcmineError)
    assert "seed-demo works in a demo workspace only" in str(result.exception)
    assert get_user("ops", home) is None


def _add(home: Path, name: str = "wang", password: str = "teller-pass") -> None:
    result = runner.invoke(user_app, ["add", name, "--role", "teller", "--teller-id", "0103",
                                      "--password-stdin", "--home", str(home)],
                           input=password + "\n")
    assert result.exit_code == 0, result.output


def test_disable_and_enable(home: Path) -> None:
    _add(home)
    result = runner.invoke(user_app, ["disable", "WANG", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "wang is disabled" in result.output
    assert get_user("wang", home).disabled is True  # type: ignore[union-attr]
    assert authenticate("wang", "teller-pass", home=home) is None
    assert runner.invoke(user_app, ["enable", "wang", "--home", str(home)]).exit_code == 0
    assert authenticate("wang", "teller-pass", home=home) is not None
    actions = [(e.action, e.detail[:6]) for e in list_audit(home, username="wang")]
    assert actions[:4] == [("auth.sign_in", ""), ("user.enable", "by cli"),
                           ("auth.sign_in_failed", "user d"), ("user.disable", "by cli")]
    missing = runner.invoke(user_app, ["disable", "nobody", "--home", str(home)])
    assert str(missing.exception) == "no user named 'nobody'"


def test_reset_password_prompted_or_from_stdin(home: Path) -> None:
    _add(home)
    result = runner.invoke(user_app, ["reset-password", "wang", "--home", str(home)],
                           input="brand-new-pass\nbrand-new-pass\n")
    assert result.exit_code == 0, result.output
    assert "brand-new-pass" not in result.output
    assert authenticate("wang", "teller-pass", home=home) is None
    assert authenticate("wang", "brand-new-pass", home=home) is not None
    result = runner.invoke(user_app, ["reset-password", "wang", "--password-stdin",
                                      "--home", str(home)], input="another-new-pass\n")
    assert result.exit_code == 0, result.output
    assert authenticate("wang", "another-new-pass", home=home) is not None
    assert next(e.detail for e in list_audit(home, action="user.set_password")).startswith(
        "by cli")
    weak = runner.invoke(user_app, ["reset-password", "wang", "--password-stdin",
                                    "--home", str(home)], input="12345678\n")
    assert "too short" in str(weak.exception)


def test_unlock(home: Path) -> None:
    _add(home)
    for _ in range(5):
        authenticate("wang", "wrong-password", home=home)
    with pytest.raises(auth.AccountLocked):
        authenticate("wang", "teller-pass", home=home)
    result = runner.invoke(user_app, ["unlock", "wang", "--home", str(home)])
    assert "wang is unlocked" in result.output
    assert authenticate("wang", "teller-pass", home=home) is not None
    again = runner.invoke(user_app, ["unlock", "wang", "--home", str(home)])
    assert "wang was not locked" in again.output
