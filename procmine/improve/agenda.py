"""What to act on this month, and how each finding stands in the register.

To be built (issue 15): :func:`finding_marks` (each finding's open item, or a regression) and
:func:`agenda` (the top findings without an item, the overdue items, the regressions) for the
operations overview.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from procmine.analysis.findings import Finding
from procmine.improve.items import ImprovementItem

__all__ = ["Agenda", "FindingMark", "agenda", "finding_marks"]


@dataclass(frozen=True)
class FindingMark:
    """How a finding stands: its newest open item (or None), its newest item of any status, and
    whether it is a regression (it came back after a verified item)."""

    open_item: ImprovementItem | None
    latest_item: ImprovementItem | None
    regression: bool


@dataclass(frozen=True)
class Agenda:
    """The overview's list: top findings with no item, overdue items, regressions."""

    unhandled: list[Finding]
    overdue: list[ImprovementItem]
    regressions: list[ImprovementItem]


def finding_marks(findings: Sequence[Finding], items: Sequence[ImprovementItem]
                  ) -> dict[str, FindingMark]:
    """Each finding's mark by :func:`~procmine.improve.subjects.finding_key`."""
    raise NotImplementedError


def agenda(findings: Sequence[Finding], items: Sequence[ImprovementItem], *, today: date,
           top: int = 5) -> Agenda:
    """What to act on this month (see the module)."""
    raise NotImplementedError
