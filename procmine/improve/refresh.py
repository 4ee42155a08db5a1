"""Keeping the register current with the data: re-measure items done, flag regressions.

To be built (issue 15): :func:`refresh_register` runs after every ingest (the command line's
``procmine ingest``, the Upload page) and when the register is opened, cached by store version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from procmine.core.baseline import Baseline
from procmine.improve.measure import DEFAULT_WINDOW_DAYS
from procmine.sop.library import SopLibrary
from procmine.store.event_store import EventStore

__all__ = ["RefreshReport", "refresh_register"]


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh did: items measured, verified, found not effective, and regressed."""

    measured: list[int] = field(default_factory=list)
    verified: list[int] = field(default_factory=list)
    not_effective: list[int] = field(default_factory=list)
    regressions: list[int] = field(default_factory=list)


def refresh_register(home: Path | None = None, *, store: EventStore | None = None,
                     baseline: Baseline | None = None, library: SopLibrary | None = None,
                     window_days: int = DEFAULT_WINDOW_DAYS, item_ids: list[int] | None = None,
                     progress: Callable[[str, float], None] | None = None) -> RefreshReport:
    """Re-measure every done item (or ``item_ids``) and check every verified item for a
    regression, recording the results in the register."""
    raise NotImplementedError
