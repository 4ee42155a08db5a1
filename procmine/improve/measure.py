"""Re-measuring an item closed as done: the same finding's figures after the change against
before, and a verdict (verified, not effective, or not enough data after the change yet).

To be built (issue 15): the revision-effect method (:func:`procmine.sop.links.revision_effects`)
for an item that revised an SOP, the same before/after test on the finding's own group for the
others, the pace for an overall finding, the standard for a baseline finding, the service level
for a queue shortfall.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from procmine.core.baseline import Baseline
from procmine.improve.items import ImprovementItem
from procmine.sop.library import SopLibrary
from procmine.store.event_store import EventStore

__all__ = ["DEFAULT_WINDOW_DAYS", "Measurement", "measure_item"]

#: Days of data before and after the change that a re-measurement compares (at most).
DEFAULT_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Measurement:
    """One re-measurement. ``before``/``after``: {"n", "median", "ratio", "from", "to"} of the
    finding's measure; ``change``: after median / before median - 1; ``verdict``: "verified",
    "not_effective" or None (too little data after the change yet); ``text``: one line in each
    language; ``measured_through``: the last day of data used."""

    method: str
    verdict: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    change: float
    p_value: float
    measured_through: date | None
    text: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


def measure_item(item: ImprovementItem, store: EventStore, baseline: Baseline,
                 library: SopLibrary | None, *, window_days: int = DEFAULT_WINDOW_DAYS
                 ) -> Measurement:
    """The re-measurement of a done item (see the module)."""
    raise NotImplementedError
