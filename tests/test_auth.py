"""Users and roles: hashing, adding, roles, sign-in and its audit trail, the demo users."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from procmine.app import appdb as appdb
from procmine.app import auth
from procmine.app.appdb import UserRow, list_audit, session_for
from procmine.app.auth import (
    ROLES,
    Identity,
    User,
    add_user,
    authenticate,
    can_open,
    disable_user,
    enable_user,
    get_user,
    hash_password,
    list_users,
    seed_demo_users,
    set_password,
    set_role,
    verify_password,
)
from procmine.core.errors import ProcmineError

REAL_HASHER = auth._hasher
# argon2id still, with small costs: the real ones take about 0.1 s per hash.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def _own_database(monkeypatch: pytest.MonkeyPatch, app_db: str) -> Iterator[None]:
    monkeypatch.setattr(auth, "_hasher", FAST_HASHER)
    yield
    appdb.close_engines()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


def _stored_hash(home: Path, username: str) -> str:
    with session_for(home) as session:
        return session.scalars(
            select(UserRow.password_hash).where(UserRow.username == username)
        ).one()


def test_real_hashes_are_argon2id_with_the_recommended_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auth, "_hasher", REAL_HASHER)
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(hashed, "correct horse") is True


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert verify_password(first, "correct horse") is True
    assert verify_password(first, "wrong horse") is False
    assert verify_password("not a hash", "correct horse") is False


def test_add_user_stores_a_hash_and_returns_a_user_without_it(home: Path) -> None:
    user = add_user("Wang.Fang", "teller-pass", "teller", teller_id="0103", branch_id="B02",
                    display_name="王芳", home=home)
    assert isinstance(user, User)
    assert (user.username, user.role, user.teller_id, user.branch_id, user.display_name) == (
        "wang.fang", "teller", "0103", "B02", "王芳",
    )
    assert user.review_group is None and user.disabled is False
    assert "password_hash" not in {f.name for f in dataclasses.fields(User)}
    stored = _stored_hash(home, "wang.fang")
    assert stored.startswith("$argon2id$")
    assert "teller-pass" not in stored
    with pytest.raises(dataclasses.FrozenInstanceError):
        user.role = "operations"  # type: ignore[misc]


def test_display_name_defaults_to_username(home: Path) -> None:
    assert add_user("trainer1", "trainer-pass", "trainer", home=home).display_name == "trainer1"


def test_duplicate_username_is_refused(home: Path) -> None:
    add_user("li.na", "password-1", "trainer", home=home)
    with pytest.raises(ProcmineError, match=re.escape("a user named 'li.na' already exists")):
        add_user("LI.NA", "password-2", "operations", home=home)
    assert [u.role for u in list_users(home)] == ["trainer"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role": "manager"}, "unknown role 'manager'; expected one of operations, reviewer, "
                              "trainer, teller"),
        ({"role": "reviewer"}, "a reviewer needs a review group: one of domestic-settlement, "
                               "accounting-and-cash, compliance-and-control"),
        ({"role": "reviewer", "review_group": "cash"}, "unknown review group 'cash'"),
        ({"role": "trainer", "review_group": "accounting-and-cash"},
         "only reviewers have a review group"),
        ({"role": "trainer", "password": "short"},
         "the password is too short: at least 8 characters, got 5"),
        ({"role": "trainer", "username": "bad name!"}, "username 'bad name!' is not valid"),
    ],
)
def test_add_user_validation(home: Path, kwargs: dict[str, str], message: str) -> None:
    args = {"username": "someone", "password": "long-enough", **kwargs}
    with pytest.raises(ProcmineError, match=re.escape(message)):
        add_user(args.pop("username"), args.pop("password"), args.pop("role"), home=home, **args)
    assert list_users(home) == []


def test_teller_without_teller_id_is_allowed(home: Path) -> None:
    assert add_user("new.teller", "teller-pass", "teller", home=home).teller_id is None


def test_list_users_sorted_by_username(home: Path) -> None:
    add_user("zhao", "password-z", "trainer", home=home)
    add_user("an", "password-a", "operations", home=home)
    assert [(u.username, u.role) for u in list_users(home)] == [
        ("an", "operations"), ("zhao", "trainer"),
    ]


def test_set_role_changes_role_and_review_group(home: Path) -> None:
    add_user("li.na", "password-1", "teller", teller_id="0105", home=home)
    user = set_role("li.na", "reviewer", review_group="domestic-settlement", home=home,
                    actor="cli:root")
    assert (user.role, user.review_group) == ("reviewer", "domestic-settlement")
    assert get_user("li.na", home) == user
    user = set_role("li.na", "trainer", home=home)
    assert (user.role, user.review_group, user.teller_id) == ("trainer", None, "0105")
    changes = [e.detail for e in list_audit(home, username="li.na", action="user.set_role")]
    assert changes == [
        "reviewer (domestic-settlement) -> trainer",
        "teller -> reviewer (domestic-settlement); by cli:root",
    ]


def test_set_role_refuses_bad_input(home: Path) -> None:
    add_user("li.na", "password-1", "trainer", home=home)
    with pytest.raises(ProcmineError, match="a reviewer needs a review group"):
        set_role("li.na", "reviewer", home=home)
    with pytest.raises(ProcmineError, match="no user named 'nobody'"):
        set_role("nobody", "trainer", home=home)
    assert get_user("li.na", home).role == "trainer"  # type: ignore[union-attr]


def test_authenticate_right_and_wrong_password(home: Path) -> None:
    add_user("ops", "ops-password", "operations", home=home)
    user = authenticate("OPS ", "ops-password", home=home)
    assert user is not None and user.username == "ops" and user.role == "operations"
    assert user.identity == Identity("ops", "operations", "password")
    assert authenticate("ops", "wrong-password", home=home) is None
    assert authenticate("ghost", "ops-password", home=home) is None


def test_sign_ins_are_audited_success_and_failure(home: Path) -> None:
    add_user("ops", "ops-password", "operations", home=home)
    authenticate("ops", "ops-password", home=home)
    authenticate("ops", "nope-nope", home=home)
    authenticate("ghost", "whatever1", home=home)
    rows = [(e.username, e.action, e.detail) for e in list_audit(home)]
    assert rows == [
        ("ghost", "auth.sign_in_failed", "unknown user"),
        ("ops", "auth.sign_in_failed", "wrong password"),
        ("ops", "auth.sign_in", ""),
        ("ops", "user.add", "role operations"),
    ]


def test_disabled_user_cannot_sign_in(home: Path) -> None:
    add_user("teller", "teller-pass", "teller", home=home)
    disable_user("teller", home=home)
    assert get_user("teller", home).disabled is True  # type: ignore[union-attr]
    assert authenticate("teller", "teller-pass", home=home) is None
    assert list_audit(home, action="auth.sign_in_failed")[0].detail == "user disabled"
    enable_user("teller", home=home)
    assert authenticate("teller", "teller-pass", home=home) is not None
    assert [e.action for e in list_audit(home, username="teller")][:3] == [
        "auth.sign_in", "user.enable", "auth.sign_in_failed",
    ]


def test_old_argon2_parameters_are_rehashed_on_sign_in(home: Path) -> None:
    add_user("ops", "ops-password", "operations", home=home)
    weak = PasswordHasher(time_cost=2, memory_cost=512, parallelism=1).hash("ops-password")
    with session_for(home) as session:
        session.scalars(select(UserRow)).one().password_hash = weak
    assert authenticate("ops", "ops-password", home=home) is not None
    renewed = _stored_hash(home, "ops")
    assert renewed != weak
    assert renewed.startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # FAST_HASHER's parameters
    assert "rehashed" in list_audit(home, action="auth.sign_in")[0].detail
    # And it still signs in, with nothing more to rehash.
    assert authenticate("ops", "ops-password", home=home) is not None
    assert _stored_hash(home, "ops") == renewed


def test_unknown_user_costs_a_verification(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    assert authenticate("ghost", "whatever1", home=home) is None
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


def test_set_password(home: Path) -> None:
    add_user("ops", "ops-password", "operations", home=home)
    with pytest.raises(ProcmineError, match="too short"):
        set_password("ops", "short", home=home)
    set_password("ops", "new-password", home=home)
    assert authenticate("ops", "ops-password", home=home) is None
    assert authenticate("ops", "new-password", home=home) is not None


def test_seed_demo_users_is_idempotent(home: Path) -> None:
    assert list_users(home) == []  # a real workspace starts with no users
    created = seed_demo_users(home)
    assert [(u.username, u.role) for u in created] == [
        ("ops", "operations"), ("reviewer", "reviewer"), ("trainer", "trainer"),
        ("teller", "teller"), ("reviewer2", "reviewer"), ("settlement", "reviewer"),
    ]
    by_name = {u.username: u for u in list_users(home)}
    assert by_name["reviewer"].review_group == "accounting-and-cash"
    assert by_name["reviewer2"].review_group == "accounting-and-cash"
    assert by_name["settlement"].review_group == "domestic-settlement"
    assert (by_name["teller"].teller_id, by_name["teller"].branch_id) == ("0101", "B01")
    for name in by_name:
        assert authenticate(name, "procmine-demo", home=home) is not None
    set_role("trainer", "operations", home=home)
    assert seed_demo_users(home) == []
    assert len(list_users(home)) == 6
    assert get_user("trainer", home).role == "operations"  # type: ignore[union-attr]


def test_seed_demo_users_fills_in_missing_ones(home: Path) -> None:
    add_user("ops", "my-own-password", "operations", home=home)
    assert [u.username for u in seed_demo_users(home)] == [
        "reviewer", "trainer", "teller", "reviewer2", "settlement"]
    assert authenticate("ops", "procmine-demo", home=home) is None


def test_can_open() -> None:
    assert ROLES == ("operations", "reviewer", "trainer", "teller")
    assert can_open("trainer", ["operations", "trainer"]) is True
    assert can_open("teller", ("operations", "trainer")) is False
    assert can_open("nobody", ROLES) is False
    with pytest.raises(ValueError, match="unknown role"):
        can_open("operations", ("operation",))
