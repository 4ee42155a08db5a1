"""Shared fixtures: small logs built in the tests, the real logs from ../shared/real_logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
