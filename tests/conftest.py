"""Shared fixtures: small logs built in the tests, the real logs from ../shared/real_logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from procmine.core.baseline import Baseline, load_baseline
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
def real_logs() -> Path:
    if not REAL_LOGS.is_dir():
        pytest.skip(f"real logs folder {REAL_LOGS} is absent (it sits beside the repository)")
    return REAL_LOGS
