"""Shared fixtures: small logs built in the tests, the real logs from ../shared/real_logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg import PostgresMissing, PostgresServer

from procmine.app.appdb import DB_URL_ENV
from procmine.core.baseline import Baseline, load_baseline
from procmine.demo import DemoConfig, write_demo_data
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

REPO = Path(__file__).resolve().parents[1]
REAL_LOGS = REPO.parent / "shared" / "real_logs"


@pytest.fixture(scope="session")
def baseline() -> Baseline:
    return load_baseline()


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return EventStore(tmp_path / "workspace")


@pytest.fixture(scope="session")
def league_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[EventStore, list[str]]:
    """A generated demo log of two months (100,000 events, seed 11) in a store, and its months:
    the league's and its exports' tests share it."""
    root = tmp_path_factory.mktemp("league")
    result = write_demo_data(root / "demo", DemoConfig(events=100_000, seed=11), fmt="parquet")
    store = EventStore(root / "workspace")
    ingest_log(store, result.events_path)
    truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
    return store, list(truth["span"]["months"])


@pytest.fixture(scope="session")
def real_logs() -> Path:
    if not REAL_LOGS.is_dir():
        pytest.skip(f"real logs folder {REAL_LOGS} is absent (it sits beside the repository)")
    return REAL_LOGS


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test run (tests/pg.py), stopped and deleted at the end. Its
    binaries missing is a failure, not a skip: ``make setup`` installs them."""
    try:
        server = PostgresServer.start()
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def own_app_db(monkeypatch: pytest.MonkeyPatch, app_db: str) -> Iterator[None]:
    """A test of users, sign-ins and the audit trail: on each app database (``app_db``), with
    argon2id at small costs (the real ones take about 0.1 s a hash), engines closed after."""
    from argon2 import PasswordHasher

    from procmine.app import appdb, auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                         parallelism=1))
    yield
    appdb.close_engines()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A workspace folder that does not exist yet (test files that need another kind of
    workspace define their own ``home``)."""
    return tmp_path / "workspace"


@pytest.fixture(params=["sqlite", "postgresql"])
def app_db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The app database a test of users, audit and locks runs on, once each: the workspace's
    SQLite file (no ``PROCMINE_DB_URL``), and an empty database of the run's PostgreSQL server
    (``PROCMINE_DB_URL`` names it). A test of SQLite only says
    ``@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)``."""
    if request.param == "sqlite":
        monkeypatch.delenv(DB_URL_ENV, raising=False)
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        monkeypatch.setenv(DB_URL_ENV, server.create_database())
    return str(request.param)


@pytest.fixture(scope="module")
def server(server_home: Path) -> Iterator[str]:
    """The dashboard served by ``streamlit run`` on the browser test module's own
    ``server_home`` (each browser test module defines it; tests/browser_kit.py)."""
    from browser_kit import serve

    with serve(server_home) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright, one per browser test module."""
    from browser_kit import chromium

    with chromium() as b:
        yield b
