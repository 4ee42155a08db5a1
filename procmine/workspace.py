"""The workspace: everything a running instance writes, under one folder.

``PROCMINE_HOME`` (default ``./workspace``) holds the event store, the quarantine files and,
in later versions, the app database and the SOP library's git working copy. The bundled files
(``event_logs/``, ``sops/``) are read, never written.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from procmine.auth import seed_demo_users
from procmine.baseline import load_baseline
from procmine.errors import ProcmineError
from procmine.ingest import IngestReport
from procmine.store import EventStore, default_home, remove_store

__all__ = ["build_demo_workspace", "bundled_demo_log", "save_upload"]

_REPO = Path(__file__).resolve().parent.parent


def bundled_demo_log() -> Path:
    """The small generated log shipped in ``event_logs/`` for the dashboard's first run."""
    path = _REPO / "event_logs" / "demo_events.parquet"
    if not path.exists():
        from procmine.demo import BUNDLED_DEMO_COMMAND

        raise ProcmineError(
            f"{path} is missing; regenerate it from the repository's root with "
            f"'{BUNDLED_DEMO_COMMAND}'"
        )
    return path


def build_demo_workspace(
    home: str | Path | None = None, *, force: bool = False
) -> IngestReport | None:
    """Ingest the bundled demo log into the workspace, unless the store already has data, and
    create the demo users (one per role, and two more reviewers) where they are missing.

    Returns the ingest report, or None when the store already had data.
    """
    store = EventStore(home)
    seed_demo_users(store.home)
    if not store.is_empty():
        if not force:
            return None
        remove_store(store.home)
    return store.ingest(bundled_demo_log(), baseline=load_baseline())


def save_upload(name: str, content: bytes, home: str | Path | None = None) -> Path:
    """Keep an uploaded file under ``workspace/uploads/`` (time-stamped, name made safe)."""
    folder = Path(home if home is not None else default_home()) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^\w.\-]+", "_", Path(name).name).strip("._") or "upload"
    path = folder / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{safe}"
    path.write_bytes(content)
    return path
