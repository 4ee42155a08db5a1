"""Users and roles: hashing, adding, roles, sign-in and its audit trail, the demo users."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
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


pytestmark = pytest.mark.usefixtures("own_app_db")


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
        ({"role": "manager"}, "unknown role 'manager'; expected one of operations, "
                              "branch_manager, reviewer, trainer, teller"),
        ({"role": "branch_manager"}, "a branch manager needs the branch they run"),
        ({"role": "reviewer"}, "a reviewer needs a review group: one of domestic-settlement, "
                               "accounting-and-cash, compliance-and-control"),
        ({"role": "reviewer", "review_group": "cash"}, "unknown review group 'cash'"),
        ({"role": "trainer", "review_group": "accounting-and-cash"},
         "only reviewers have a review group"),
        ({"role": "trainer", "password": "short"},
         "the password is too short: at least 10 characters, got 5"),
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


def test_set_role_to_branch_manager_needs_a_branch(home: Path) -> None:
    add_user("li.na", "password-1", "trainer", home=home)
    with pytest.raises(ProcmineError, match="a branch manager needs the branch they run"):
        set_role("li.na", "branch_manager", home=home)
    assert get_user("li.na", home).role == "trainer"  # type: ignore[union-attr]
    user = set_role("li.na", "branch_manager", branch_id=" B03 ", home=home, actor="cli:root")
    assert (user.role, user.branch_id) == ("branch_manager", "B03")
    # a teller of B02 made manager keeps running B02 without naming it again
    add_user("wang", "password-2", "teller", teller_id="0201", branch_id="B02", home=home)
    assert set_role("wang", "branch_manager", home=home).branch_id == "B02"
    assert set_role("wang", "branch_manager", branch_id="B05", home=home).branch_id == "B05"
    changes = [e.detail for e in list_audit(home, username="wang", action="user.set_role")]
    assert changes == ["branch_manager [B02] -> branch_manager [B05]",
                       "teller -> branch_manager [B02]"]
    assert [e.detail for e in list_audit(home, username="li.na", action="user.set_role")] == [
        "trainer -> branch_manager [B03]; by cli:root"]


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
    assert renewed.startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # own_app_db's small costs
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
        ("manager", "branch_manager"), ("teller", "teller"), ("reviewer2", "reviewer"),
        ("settlement", "reviewer"),
    ]
    by_name = {u.username: u for u in list_users(home)}
    assert by_name["reviewer"].review_group == "accounting-and-cash"
    assert by_name["reviewer2"].review_group == "accounting-and-cash"
    assert by_name["settlement"].review_group == "domestic-settlement"
    assert (by_name["teller"].teller_id, by_name["teller"].branch_id) == ("0101", "B01")
    assert (by_name["manager"].teller_id, by_name["manager"].branch_id) == (None, "B01")
    for name in by_name:
        assert authenticate(name, "procmine-demo", home=home) is not None
    set_role("trainer", "operations", home=home)
    assert seed_demo_users(home) == []
    assert len(list_users(home)) == 7
    assert get_user("trainer", home).role == "operations"  # type: ignore[union-attr]


def test_seed_demo_users_fills_in_missing_ones(home: Path) -> None:
    add_user("ops", "my-own-password", "operations", home=home)
    assert [u.username for u in seed_demo_users(home)] == [
        "reviewer", "trainer", "manager", "teller", "reviewer2", "settlement"]
    assert authenticate("ops", "procmine-demo", home=home) is None


def test_can_open() -> None:
    assert ROLES == ("operations", "branch_manager", "reviewer", "trainer", "teller")
    assert can_open("trainer", ["operations", "trainer"]) is True
    assert can_open("teller", ("operations", "trainer")) is False
    assert can_open("nobody", ROLES) is False
    with pytest.raises(ValueError, match="unknown role"):
        can_open("operations", ("operation",))


# -- password policy and lockout (issue 12, row 10) ---------------------------------------------

@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password", "too short: at least 10 characters, got 8"),
        ("12345678", "too short: at least 10 characters, got 8"),
        (" " * 8, "empty or only whitespace"),
        (" " * 12, "empty or only whitespace"),
        ("Password123", "one of the most common passwords"),
        ("1234567890", "one of the most common passwords"),
        ("qwertyuiop", "one of the most common passwords"),
        ("procmine-demo", "one of the most common passwords"),
        ("Wang.Fang.Li", "may not be the user name"),
    ],
)
def test_password_policy_refuses_weak_passwords(home: Path, password: str, message: str) -> None:
    with pytest.raises(ProcmineError, match=re.escape(message)):
        add_user("wang.fang.li", password, "trainer", home=home)
    assert list_users(home) == []
    add_user("wang.fang.li", "trainer-pass", "trainer", home=home)
    with pytest.raises(ProcmineError, match=re.escape(message)):
        set_password("wang.fang.li", password, home=home)
    assert authenticate("wang.fang.li", "trainer-pass", home=home) is not None


def test_thirty_wrong_passwords_lock_the_name_and_the_right_one_is_refused(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user("ops", "ops-password", "operations", home=home)
    calls: list[str] = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda h, p: calls.append(p) or real(h, p))
    outcomes = []
    for n in range(30):
        try:
            outcomes.append(authenticate("ops", f"wrong-{n}", home=home))
        except auth.AccountLocked as exc:
            outcomes.append(exc)
    assert outcomes[:5] == [None] * 5
    assert all(isinstance(o, auth.AccountLocked) for o in outcomes[5:])
    with pytest.raises(auth.AccountLocked, match="too many failed sign-ins for 'ops'"):
        authenticate("ops", "ops-password", home=home)
    assert len(calls) == 5  # a locked name costs no argon2 hash
    assert [e.detail.split(";")[0] for e in list_audit(home, action="auth.locked")] == [
        "too many failed sign-ins within 15 min"]
    assert len(list_audit(home, action="auth.sign_in_failed", limit=100)) == 31
    assert list_audit(home, action="auth.sign_in") == []


def test_the_lock_ends_after_its_time_and_the_count_restarts(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user("ops", "ops-password", "operations", home=home)
    start = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    clock = [start]
    monkeypatch.setattr(auth, "utc_now", lambda: clock[0])
    for _ in range(5):
        assert authenticate("ops", "wrong-password", home=home) is None
    clock[0] = start + timedelta(minutes=14)
    with pytest.raises(auth.AccountLocked) as locked:
        authenticate("ops", "ops-password", home=home)
    assert locked.value.until == start + timedelta(minutes=15)
    clock[0] = start + timedelta(minutes=16)
    assert authenticate("ops", "ops-password", home=home) is not None
    # a success clears the count: four more failures do not lock
    for _ in range(4):
        assert authenticate("ops", "wrong-password", home=home) is None
    assert authenticate("ops", "ops-password", home=home) is not None


def test_failures_outside_the_window_do_not_add_up(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user("ops", "ops-password", "operations", home=home)
    start = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    clock = [start]
    monkeypatch.setattr(auth, "utc_now", lambda: clock[0])
    for minute in (0, 5, 10, 20, 25, 30):  # never five within 15 minutes
        clock[0] = start + timedelta(minutes=minute)
        assert authenticate("ops", "wrong-password", home=home) is None
    assert authenticate("ops", "ops-password", home=home) is not None


def test_lockout_is_configurable(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCMINE_LOCKOUT_ATTEMPTS", "2")
    add_user("ops", "ops-password", "operations", home=home)
    assert authenticate("ops", "wrong-password", home=home) is None
    assert authenticate("ops", "wrong-password", home=home) is None
    with pytest.raises(auth.AccountLocked):
        authenticate("ops", "ops-password", home=home)
    monkeypatch.setenv("PROCMINE_LOCKOUT_ATTEMPTS", "none")
    with pytest.raises(ProcmineError, match="PROCMINE_LOCKOUT_ATTEMPTS='none'"):
        authenticate("ops", "ops-password", home=home)


def test_unknown_names_lock_like_known_ones(home: Path) -> None:
    for _ in range(5):
        assert authenticate("ghost", "whatever-pass", home=home) is None
    with pytest.raises(auth.AccountLocked):
        authenticate("ghost", "whatever-pass", home=home)


def test_one_client_trying_many_names_is_locked(home: Path) -> None:
    add_user("ops", "ops-password", "operations", home=home)
    policy = auth.SignInPolicy(attempts=5, client_attempts=3)
    for name in ("a1", "a2", "a3"):
        assert authenticate(name, "guess-guess", home=home, client="10.0.0.9",
                            policy=policy) is None
    with pytest.raises(auth.AccountLocked):
        authenticate("ops", "ops-password", home=home, client="10.0.0.9", policy=policy)
    # another client, and the user name itself, are not locked
    assert authenticate("ops", "ops-password", home=home, client="10.0.0.7",
                        policy=policy) is not None
    assert "from 10.0.0.9" in list_audit(home, action="auth.sign_in_failed")[0].detail


def test_unlock_and_reset_password_lift_the_lock(home: Path) -> None:
    add_user("ops", "ops-password", "operations", home=home)
    for _ in range(5):
        authenticate("ops", "wrong-password", home=home)
    assert auth.unlock_user("ops", home=home, actor="cli:root") is True
    assert authenticate("ops", "ops-password", home=home) is not None
    for _ in range(5):
        authenticate("ops", "wrong-password", home=home)
    set_password("ops", "a-new-password", home=home)
    assert authenticate("ops", "a-new-password", home=home) is not None
    assert list_audit(home, action="user.unlock")[0].detail == "by cli:root"


def test_fifty_sign_in_attempts_at_once_hash_five_times_and_lock_once(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    add_user("ops", "ops-password", "operations", home=home)
    hashed: list[str] = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda h, p: hashed.append(p) or real(h, p))

    def attempt(n: int) -> str:
        try:
            return "none" if authenticate("ops", f"wrong-{n}", home=home) is None else "user"
        except auth.AccountLocked:
            return "locked"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert (outcomes.count("none"), outcomes.count("locked")) == (5, 45)
    assert len(hashed) == 5
    assert len(list_audit(home, action="auth.sign_in_failed", limit=100)) == 50
    assert len(list_audit(home, action="auth.locked")) == 1
