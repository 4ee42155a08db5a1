"""What to act on this month, and how each finding stands in the register.

:func:`finding_marks` gives each finding (by :func:`~procmine.improve.subjects.finding_key`) its
newest open item, its newest item of any status, and whether it is a regression (its newest
item is verified and its finding came back). :func:`agenda` is the operations overview's short
list: the costliest findings without any item (teller hours a month, most first; baseline
reviews, which cost no teller hours, last), the overdue items, and the regressions.

Example:
    >>> from procmine import find_bottlenecks
    >>> findings = find_bottlenecks(store, baseline, kinds=("step",))
    >>> todo = agenda(findings, [], today=date(2026, 11, 30), top=3)
    >>> len(todo.unhandled), todo.overdue, todo.regressions
    (3, [], [])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from procmine.analysis.findings import Finding
from procmine.improve.items import ImprovementItem
from procmine.improve.register import items_by_key
from procmine.improve.subjects import finding_key

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


def _regressed(item: ImprovementItem | None) -> bool:
    return item is not None and item.status == "verified" and item.regression is not None


def finding_marks(findings: Sequence[Finding], items: Sequence[ImprovementItem]
                  ) -> dict[str, FindingMark]:
    """Each finding's mark by :func:`~procmine.improve.subjects.finding_key`."""
    grouped = items_by_key(items)
    marks: dict[str, FindingMark] = {}
    for finding in findings:
        key = finding_key(finding)
        mine = grouped.get(key, [])
        latest = mine[0] if mine else None
        open_item = next((i for i in mine if i.is_open), None)
        marks[key] = FindingMark(open_item, latest, _regressed(latest))
    return marks


def _cost(finding: Finding) -> tuple[int, float]:
    """Sort key: baseline reviews last, then most teller hours a month first."""
    return (finding.kind == "baseline", -float(finding.monthly_teller_hours or 0.0))


def agenda(findings: Sequence[Finding], items: Sequence[ImprovementItem], *, today: date,
           top: int = 5) -> Agenda:
    """What to act on this month (see the module): at most ``top`` findings without an item,
    every overdue item (longest overdue first) and every regression (newest first)."""
    keys = {i.subject.key for i in items}
    unhandled = sorted((f for f in findings if finding_key(f) not in keys), key=_cost)[:top]
    overdue = sorted((i for i in items if i.overdue(today)),
                     key=lambda i: (i.due_on or today, i.id))
    regressions = sorted((i for i in items if _regressed(i)),
                         key=lambda i: (i.regression_at or i.updated_at, i.id), reverse=True)
    return Agenda(unhandled=list(unhandled), overdue=overdue, regressions=regressions)
