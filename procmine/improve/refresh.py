"""Keeping the register current with the data: re-measure items done, flag regressions.

:func:`refresh_register` runs after every ingest (the command line's ``procmine ingest``, the
Upload page) and when the register is opened. For every item done it re-measures
(:func:`procmine.improve.measure.measure_item`) and records the measurement when its verdict or
its figures changed (an item still awaiting data with the same counts gets no new history row);
for every verified item without a regression it checks whether its finding came back after the
measurement (:func:`procmine.improve.regressions.check_regression`) and records the regression.

It is cheap when nothing changed: the item's measurement JSON remembers the store version it
was measured on (``store_version``) and the one a regression check last ran on
(``regression_checked``); an item whose version is the store's current one is skipped.

Example:
    >>> report = refresh_register(Path("ws"), store=store, baseline=baseline, library=library)
    >>> report.measured, report.regressions
    ([], [])
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from procmine.app.appdb import session_for
from procmine.core.baseline import Baseline, load_baseline
from procmine.improve.items import ImprovementItem, system_user
from procmine.improve.measure import DEFAULT_MIN_CASES, DEFAULT_WINDOW_DAYS, measure_item
from procmine.improve.register import (
    has_register,
    list_items,
    record_measurement,
    record_regression,
)
from procmine.improve.regressions import check_regression
from procmine.improve.tables import ItemRow
from procmine.sop.library import SopLibrary
from procmine.sop.repository import has_library
from procmine.store.event_store import EventStore

__all__ = ["RefreshReport", "refresh_register"]

#: The measurement's keys that say what it was computed on, not what it found.
_BOOKKEEPING: Final[tuple[str, ...]] = ("store_version", "regression_checked", "window_days")


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh did: items measured, verified, found not effective, and regressed."""

    measured: list[int] = field(default_factory=list)
    verified: list[int] = field(default_factory=list)
    not_effective: list[int] = field(default_factory=list)
    regressions: list[int] = field(default_factory=list)


def _found(measurement: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (measurement or {}).items() if k not in _BOOKKEEPING}


def _note(item_id: int, home: Path | None, **values: Any) -> None:
    """Remember bookkeeping values in an item's measurement JSON (no history row: nothing the
    item says changed)."""
    with session_for(home) as session:
        row = session.get(ItemRow, item_id)
        if row is None:
            return
        data = json.loads(row.measurement) if row.measurement else {}
        data.update(values)
        row.measurement = json.dumps(data, ensure_ascii=False, default=str)


def _measure(item: ImprovementItem, version: str, home: Path | None, store: EventStore,
             baseline: Baseline, library: SopLibrary | None, window: int,
             min_cases: int) -> str | None:
    """Re-measure one done item; returns its verdict when a measurement was recorded, "" when
    it was recorded without one, None when nothing changed."""
    kept = item.measurement or {}
    if kept.get("store_version") == version and kept.get("window_days") == window:
        return None
    measured = measure_item(item, store, baseline, library, window_days=window,
                            min_cases=min_cases)
    found = measured.to_dict()
    if measured.verdict is None and found == _found(kept):
        _note(item.id, home, store_version=version, window_days=window)
        return None
    record_measurement(item.id, {**found, "store_version": version, "window_days": window},
                       measured.verdict, home=home)
    return measured.verdict or ""


def refresh_register(home: Path | None = None, *, store: EventStore | None = None,
                     baseline: Baseline | None = None, library: SopLibrary | None = None,
                     window_days: int = DEFAULT_WINDOW_DAYS, item_ids: list[int] | None = None,
                     progress: Callable[[str, float], None] | None = None,
                     min_cases: int = DEFAULT_MIN_CASES) -> RefreshReport:
    """Re-measure every done item (or ``item_ids``) and check every verified item for a
    regression, recording the results in the register. ``store``, ``baseline`` and
    ``library`` default to the workspace's (its SOP library only if it has one); ``progress``
    gets ("measure" or "regressions", fraction done)."""
    store = store if store is not None else EventStore(home)
    if store.is_empty() or not has_register(home if home is not None else store.home):
        return RefreshReport()  # no data or no register yet: nothing to measure or come back
    baseline = baseline if baseline is not None else load_baseline()
    if library is None and has_library(home if home is not None else store.home):
        library = SopLibrary.open(home if home is not None else store.home)
    version = store.version()
    system = system_user()
    wanted = set(item_ids) if item_ids is not None else None
    report = RefreshReport()

    def chosen(status: str) -> list[ImprovementItem]:
        items = list_items(user=system, home=home, status=status)
        return [i for i in reversed(items) if wanted is None or i.id in wanted]

    done = chosen("done")
    for k, item in enumerate(done):
        verdict = _measure(item, version, home, store, baseline, library, window_days,
                           min_cases)
        if verdict is not None:
            report.measured.append(item.id)
        if verdict == "verified":
            report.verified.append(item.id)
        elif verdict == "not_effective":
            report.not_effective.append(item.id)
        if progress is not None:
            progress("measure", (k + 1) / len(done))
    verified = [i for i in chosen("verified") if i.regression is None]
    for k, item in enumerate(verified):
        if (item.measurement or {}).get("regression_checked") != version:
            figures = check_regression(item, store, baseline, window_days=window_days,
                                       min_cases=min_cases, library=library)
            if figures is not None:
                record_regression(item.id, {**figures, "store_version": version}, home=home)
                report.regressions.append(item.id)
            _note(item.id, home, regression_checked=version)
        if progress is not None:
            progress("regressions", (k + 1) / len(verified))
    return report
