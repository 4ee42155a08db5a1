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
        "teller_id", "branch_id", "created_at", "disabled",
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
