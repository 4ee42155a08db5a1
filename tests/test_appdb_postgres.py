"""The app database under concurrent writers, on SQLite and on a real PostgreSQL server.

Every test runs twice (the ``app_db`` fixture of conftest.py): on the workspace's SQLite file
and on an empty database of the PostgreSQL server the test run starts (tests/pg.py). The counts
must be exact on both: no write lost, none doubled, a taken username refused with a clear
message whichever writer comes second.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pg import PostgresMissing, server_binaries
from sqlalchemy import func, select

from procmine.app import appdb
from procmine.app.appdb import AuditRow, UserRow, list_audit, record_audit, session_for
from procmine.app.auth import add_user, authenticate, list_users
from procmine.core.errors import ProcmineError

WRITERS = 50


pytestmark = pytest.mark.usefixtures("own_app_db")


def test_the_database_is_the_one_asked_for(home: Path, app_db: str) -> None:
    assert appdb.engine_for(home).dialect.name == app_db
    assert (home / "procmine.db").exists() == (app_db == "sqlite")


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)
def test_missing_server_binaries_say_how_to_install_them() -> None:
    with pytest.raises(PostgresMissing, match=r"`make setup` installs it"):
        server_binaries("/nonexistent/postgresql/*/bin")
    assert (server_binaries() / "initdb").exists()  # this machine has them


def test_fifty_audit_writes_at_once_are_all_kept(home: Path) -> None:
    def write(i: int) -> None:
        with session_for(home) as session:
            record_audit(session, f"user{i % 7}", "test.write", f"write {i}")

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(write, range(WRITERS)))
    with session_for(home) as session:
        assert session.scalar(select(func.count()).select_from(AuditRow)) == WRITERS
        ids = list(session.scalars(select(AuditRow.id)))
    assert len(set(ids)) == WRITERS
    details = sorted(e.detail for e in list_audit(home, limit=1000))
    assert details == sorted(f"write {i}" for i in range(WRITERS))
    assert len(list_audit(home, username="user0", limit=1000)) == len(range(0, WRITERS, 7))


def test_twenty_users_added_at_once_are_all_there(home: Path) -> None:
    names = [f"teller{i:02d}" for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(lambda n: add_user(n, f"{n}-long-pass", "teller", home=home), names))
    assert [u.username for u in list_users(home)] == names
    assert len(list_audit(home, action="user.add", limit=1000)) == 20
    assert authenticate("teller07", "teller07-long-pass", home=home) is not None


def test_one_username_added_by_eight_writers_at_once_is_created_once(home: Path) -> None:
    def add(i: int) -> str:
        try:
            add_user("li.na", f"password-of-{i}", "trainer", home=home)
        except ProcmineError as exc:
            return str(exc)
        return "created"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(add, range(8)))
    assert outcomes.count("created") == 1
    assert sorted(set(outcomes) - {"created"}) == ["a user named 'li.na' already exists"]
    with session_for(home) as session:
        assert session.scalar(select(func.count()).select_from(UserRow)) == 1
    assert len(list_audit(home, action="user.add")) == 1
    winner = outcomes.index("created")
    assert authenticate("li.na", f"password-of-{winner}", home=home) is not None
