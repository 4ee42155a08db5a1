"""The app database: where it lives, its tables, the audit trail, timestamps in UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import String, func, inspect, select
from sqlalchemy.orm import Mapped, mapped_column

from procmine.app import appdb
from procmine.app.appdb import (
    AuditRow,
    Base,
    UserRow,
    database_url,
    engine_for,
    list_audit,
    record_audit,
    session_for,
)
from procmine.core.errors import ProcmineError


@pytest.fixture(autouse=True)
def _own_database(monkeypatch: pytest.MonkeyPatch, app_db: str) -> Iterator[None]:
    yield
    appdb.close_engines()


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)  # the default file
def test_default_is_a_sqlite_file_in_the_workspace(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    engine = engine_for(home)
    assert engine.url.get_backend_name() == "sqlite"
    assert (home / "procmine.db").is_file()
    assert database_url(home) == f"sqlite:///{(home / 'procmine.db').resolve()}"


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)  # the default file
def test_procmine_home_is_the_default_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROCMINE_HOME", str(tmp_path / "from-env"))
    assert database_url() == f"sqlite:///{(tmp_path / 'from-env' / 'procmine.db').resolve()}"


def test_url_from_the_environment_overrides_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    monkeypatch.setenv(appdb.DB_URL_ENV, url)
    assert database_url(tmp_path / "ws") == url
    engine_for(tmp_path / "ws")
    assert (tmp_path / "shared.db").is_file()
    assert not (tmp_path / "ws" / "procmine.db").exists()
    # An explicit url wins over the environment.
    assert database_url(url="sqlite:///:memory:") == "sqlite:///:memory:"


def test_tables_are_created_on_first_use(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    names = set(inspect(engine).get_table_names())
    assert {"users", "audit"} <= names
    columns = {c["name"] for c in inspect(engine).get_columns("users")}
    assert columns == {
        "id", "username", "display_name", "password_hash", "role", "review_group",
        "teller_id", "branch_id", "created_at", "disabled", "password_changed_at",
    }
    assert {c["name"] for c in inspect(engine).get_columns("audit")} == {
        "id", "at", "username", "action", "detail",
    }


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)  # a file per workspace
def test_engine_is_cached_per_url(tmp_path: Path) -> None:
    assert engine_for(tmp_path) is engine_for(tmp_path)
    assert engine_for(tmp_path / "a") is not engine_for(tmp_path / "b")


def test_a_table_declared_later_is_created_on_the_next_call(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    assert "later_things" not in inspect(engine).get_table_names()

    class LaterThing(Base):
        __tablename__ = "later_things"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(20))

    try:
        assert engine_for(tmp_path) is engine
        assert "later_things" in inspect(engine).get_table_names()
    finally:
        Base.metadata.remove(LaterThing.__table__)  # type: ignore[arg-type]


def test_session_commits_or_rolls_back(tmp_path: Path) -> None:
    with session_for(tmp_path) as session:
        record_audit(session, "ops", "test.kept", "one")
    with pytest.raises(RuntimeError), session_for(tmp_path) as session:
        record_audit(session, "ops", "test.lost", "two")
        raise RuntimeError("boom")
    with session_for(tmp_path) as session:
        actions = list(session.scalars(select(AuditRow.action)))
    assert actions == ["test.kept"]


def test_list_audit_newest_first_and_filtered(tmp_path: Path) -> None:
    with session_for(tmp_path) as session:
        record_audit(session, "ops", "user.add", "role operations")
    with session_for(tmp_path) as session:
        record_audit(session, "ops", "auth.sign_in")
        record_audit(session, "teller", "auth.sign_in_failed", "wrong password")
    assert [e.action for e in list_audit(tmp_path, username="ops")] == [
        "auth.sign_in",
        "user.add",
    ]
    failed = list_audit(tmp_path, action="auth.sign_in_failed")
    assert [(e.username, e.detail) for e in failed] == [("teller", "wrong password")]
    assert len(list_audit(tmp_path, limit=1)) == 1


def test_times_come_back_aware_in_utc(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    with session_for(tmp_path) as session:
        session.add(UserRow(username="x", password_hash="h", role="trainer"))
    with session_for(tmp_path) as session:
        row = session.scalars(select(UserRow)).one()
        assert row.created_at.tzinfo is UTC
        assert before <= row.created_at <= datetime.now(UTC)
        assert row.disabled is False
        assert row.review_group is None
        assert session.scalar(select(func.count()).select_from(AuditRow)) == 0


def test_a_bad_url_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(ProcmineError, match="not a database URL"):
        engine_for(url="not a url at all")
    with pytest.raises(ProcmineError, match="driver"):
        engine_for(url="nosuchdb://host/db")


# The users table as procmine created it before the password reset and the sign-in lockout.
OLD_USERS = """
CREATE TABLE users (
    id INTEGER NOT NULL, username VARCHAR(64) NOT NULL, display_name VARCHAR(200) NOT NULL,
    password_hash VARCHAR(255) NOT NULL, role VARCHAR(32) NOT NULL, review_group VARCHAR(64),
    teller_id VARCHAR(64), branch_id VARCHAR(64), created_at DATETIME NOT NULL,
    disabled BOOLEAN NOT NULL, PRIMARY KEY (id))
"""
OLD_AUDIT = """
CREATE TABLE audit (id INTEGER NOT NULL, at DATETIME NOT NULL, username VARCHAR(64) NOT NULL,
    action VARCHAR(64) NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (id))
"""


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)  # an old SQLite file, built by hand
def test_a_database_of_the_old_schema_is_upgraded_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from argon2 import PasswordHasher

    from procmine.app import auth

    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "_hasher", fast)
    home = tmp_path / "ws"
    home.mkdir()
    with sqlite3.connect(home / "procmine.db") as db:
        db.execute(OLD_USERS)
        db.execute(OLD_AUDIT)
        db.execute("INSERT INTO users VALUES (1, 'ops', 'Ops', ?, 'operations', NULL, NULL, "
                   "NULL, '2026-09-01 08:00:00.000000', 0)", (fast.hash("ops-password"),))
    db.close()
    user = auth.authenticate("ops", "ops-password", home=home)
    assert user is not None and user.role == "operations" and user.password_changed_at is None
    engine = engine_for(home)
    assert "password_changed_at" in {c["name"] for c in inspect(engine).get_columns("users")}
    assert "sign_in_throttle" in inspect(engine).get_table_names()
    auth.set_password("ops", "a-new-password", home=home)
    changed = auth.get_user("ops", home)
    assert changed is not None and changed.password_changed_at is not None
    assert changed.created_at == datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    assert appdb.add_missing_columns(engine) == []  # once is enough


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)  # an old SQLite file, built by hand
def test_a_column_that_needs_a_value_is_not_added_blindly(tmp_path: Path) -> None:
    import sqlite3

    home = tmp_path / "ws"
    home.mkdir()
    with sqlite3.connect(home / "procmine.db") as db:
        db.execute("CREATE TABLE audit (id INTEGER NOT NULL, at DATETIME NOT NULL, "
                   "username VARCHAR(64) NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (id))")
    db.close()
    with pytest.raises(ProcmineError, match="lacks the column action, which cannot be added"):
        engine_for(home)
