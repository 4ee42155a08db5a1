"""Which version of an SOP is in force on a date, at a branch: the one definition.

A version comes in force when it is approved (or retired) in the app, when the library is
seeded, or when a commit made outside the app says it is approved by someone other than its
author (:func:`came_in_force`). Each such version starts on its effective date, or at a branch
on that branch's adoption date when the version names one (:func:`start`). Laid out one after
another (:func:`periods`), each version is in force from its start until the next version's
start; of two versions starting the same day the later commit wins; a retirement ends the
timeline (nothing is in force from then until a later approval). The library's
:meth:`~procmine.sop.library.SopLibrary.in_force` and the dated step references of
:mod:`procmine.sop.links` both read this timeline, so the text shown for a past date and the
standard a past transaction is judged against are the same version.

Example:
    >>> versions = approved_versions(library.history("SOP-P18"))
    >>> [v.sop.version for v in versions]
    ['2.0', '3.0']
    >>> in_force(versions, date(2026, 10, 1), "B01").sop.version
    '3.0'
    >>> in_force(versions, date(2026, 10, 1), "B04").sop.version
    '2.0'
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from procmine.sop.document import Sop
from procmine.sop.repository import SopVersion

__all__ = [
    "Period",
    "adoption_branches",
    "approved_versions",
    "came_in_force",
    "in_force",
    "latest_approved",
    "next_effective",
    "periods",
    "review_standing",
    "start",
]


class Period(NamedTuple):
    """A version in force from ``start`` until ``end`` (exclusive; None: still in force)."""

    version: SopVersion
    start: date
    end: date | None


def came_in_force(version: SopVersion) -> bool:
    """An approval or retirement made in the app, the seeded library, or a commit made outside
    the app that says it is approved by someone other than its author."""
    if version.sop.status not in ("approved", "retired"):
        return False
    if version.action in ("approve", "retire", "seed"):
        return True
    return (version.action == "external" and bool(version.sop.approved_by)
            and version.sop.approved_by != version.author)


def approved_versions(history: Sequence[SopVersion]) -> list[SopVersion]:
    """The versions of a history (newest first) that came in force, oldest first."""
    return [v for v in reversed(history) if came_in_force(v)]


def latest_approved(approved: Sequence[SopVersion]) -> SopVersion | None:
    """The last version that came in force (None when there is none or it is retired)."""
    if not approved or approved[-1].sop.status == "retired":
        return None
    return approved[-1]


def start(sop: Sop, branch: str | None) -> date:
    """The day a version starts: the branch's adoption date when it names one, else its
    effective date."""
    if branch is not None and branch in sop.adoption:
        return sop.adoption[branch]
    return sop.effective


def periods(approved: Sequence[SopVersion], branch: str | None = None) -> list[Period]:
    """The versions in force one after another at a branch (all branches: None), from the
    versions that came in force (oldest first); a retirement ends the timeline; of two
    versions starting the same day the later commit wins."""
    starts = sorted(((start(v.sop, branch), order, v) for order, v in enumerate(approved)),
                    key=lambda item: (item[0], item[1]))
    kept: list[tuple[date, SopVersion]] = []
    for day, _, v in starts:
        if kept and kept[-1][0] == day:
            kept[-1] = (day, v)
        else:
            kept.append((day, v))
    out = []
    for i, (day, v) in enumerate(kept):
        end = kept[i + 1][0] if i + 1 < len(kept) else None
        if v.sop.status != "retired":
            out.append(Period(v, day, end))
    return out


def in_force(approved: Sequence[SopVersion], on: date,
             branch: str | None = None) -> SopVersion | None:
    """The version in force on a date at a branch: the period of :func:`periods` that holds
    ``on``; None before the first version or after a retirement."""
    for period in periods(approved, branch):
        if period.start <= on and (period.end is None or on < period.end):
            return period.version
    return None


def adoption_branches(approved: Sequence[SopVersion]) -> list[str]:
    """The branches some version names an adoption date for (they get timelines of their
    own), sorted."""
    return sorted({b for v in approved for b in v.sop.adoption})


def next_effective(approved: Sequence[SopVersion], after: date) -> date | None:
    """The effective date of the first version (in the given order) that takes effect after
    ``after``: where a version's time in force ends, for all branches."""
    return next((v.sop.effective for v in approved if v.sop.effective > after), None)


def review_standing(due: date, today: date) -> tuple[str, int]:
    """Where a review date stands on ``today``: ("overdue", days past it), ("today", 0) or
    ("due_in", days left); what the SOP library page and ``procmine sop due`` say.

    Example:
        >>> review_standing(date(2026, 10, 16), date(2026, 12, 5))
        ('overdue', 50)
        >>> review_standing(date(2026, 12, 15), date(2026, 12, 5))
        ('due_in', 10)
    """
    days = (due - today).days
    if days < 0:
        return "overdue", -days
    return ("today", 0) if days == 0 else ("due_in", days)
