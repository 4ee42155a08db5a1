"""What demo log to generate: the settings, the SOP revisions it carries, and what was written.

:class:`DemoConfig` holds the size, seed, branches, tellers, start and the injected slow steps;
:class:`Revision` is an SOP revision that changes one step's time from its effective date, with
the branches' adoption dates (:func:`parse_revision` reads its command-line form);
:func:`bundled_demo_config` gives the settings of the log bundled in ``event_logs/``, written by
:data:`BUNDLED_DEMO_COMMAND`; :class:`DemoResult` says what :func:`write_demo_data` wrote.
:class:`DemoError` is the mistake a user can make with any of them.

Example:
    >>> DemoConfig(events=5_000, revisions=(parse_revision("P18:Count cash:0.7:2026-10-12"),)
    ...            ).revisions[0].effective
    datetime.date(2026, 10, 12)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError

__all__ = [
    "BUNDLED_DEMO_COMMAND",
    "DemoConfig",
    "DemoError",
    "DemoResult",
    "Revision",
    "bundled_demo_config",
    "parse_branch_start",
    "parse_revision",
    "parse_wrong_standard",
]


class DemoError(ProcmineError):
    """The demo generator cannot run with the given settings; the message says which and why."""


_REVISION_FORMAT: Final[str] = "TYPE:ACTIVITY:FACTOR:DATE[:BRANCH=DATE,...]"


@dataclass(frozen=True)
class Revision:
    """An SOP revision that changes one step's time in the demo log from its effective date.

    From ``effective`` on, the step ``activity`` of ``business_type`` takes ``factor`` times as
    long (0.7: 30% faster; above 1.0: slower, e.g. a check was added). ``branches`` maps branch ids
    to the date each branch adopts the revision; branches not in the mapping never adopt it within
    the log. ``branches=None`` means every branch adopts it on ``effective``. The type and the
    activity are checked against the baseline when the log is generated.

    Example:
        >>> r = Revision("P18", "Count cash", 0.7, date(2026, 9, 21),
        ...              branches={"B01": date(2026, 9, 21), "B04": date(2026, 10, 12)})
        >>> r.adoption("B04"), r.adoption("B02")
        (datetime.date(2026, 10, 12), None)
    """

    business_type: str
    activity: str
    factor: float
    effective: date
    branches: Mapping[str, date] | None = None

    def __post_init__(self) -> None:
        where = f"revision {self.business_type} {self.activity!r}"
        factor = self.factor
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            raise DemoError(f"{where}: factor {factor!r} is not a number")
        if not (math.isfinite(factor) and factor > 0):
            raise DemoError(f"{where}: factor is {factor}, expected a number above 0 "
                            "(0.7 makes the step 30% faster)")
        if not _is_day(self.effective):
            raise DemoError(f"{where}: effective {self.effective!r} is not a date")
        if self.branches is not None:
            branches = dict(self.branches)
            for branch, day in branches.items():
                if not isinstance(branch, str) or not _is_day(day):
                    raise DemoError(f"{where}: branches must map branch ids to dates, not "
                                    f"{branch!r} to {day!r}")
            # a copy nobody can change: the revision is frozen, its mapping too
            object.__setattr__(self, "branches", MappingProxyType(branches))

    def adoption(self, branch_id: str) -> date | None:
        """The date ``branch_id`` adopts the revision, or None if it does not within the log."""
        if self.branches is None:
            return self.effective
        return self.branches.get(branch_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary: dates in ISO form, ``branches`` null for every branch."""
        return {
            "business_type": self.business_type,
            "activity": self.activity,
            "factor": self.factor,
            "effective": self.effective.isoformat(),
            "branches": None if self.branches is None else {
                b: d.isoformat() for b, d in sorted(self.branches.items())
            },
        }


def _is_day(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _parse_day(text: str, what: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DemoError(f"{where}: {what} {text.strip()!r} is not a date; expected YYYY-MM-DD"
                        ) from None


def parse_revision(text: str) -> Revision:
    """A :class:`Revision` from its command-line form ``TYPE:ACTIVITY:FACTOR:DATE[:BRANCHES]``.

    BRANCHES is ``BRANCH=DATE`` pairs separated by commas: only those branches adopt the
    revision, each on its own date. The type and activity are checked when the log is generated.

    Example:
        >>> parse_revision("P18:Count cash:0.7:2026-10-12").factor
        0.7
        >>> dict(parse_revision("P18:Count cash:0.7:2026-10-12:B01=2026-10-05").branches)
        {'B01': datetime.date(2026, 10, 5)}
    """
    where = f"revision {text!r}"
    fields = [f.strip() for f in text.split(":")]
    if len(fields) not in (4, 5) or not all(fields[:4]):
        raise DemoError(f"{where}: expected {_REVISION_FORMAT}, e.g. 'P18:Count cash:0.7:"
                        "2026-10-12' or 'P18:Count cash:0.7:2026-10-12:B01=2026-10-05,"
                        "B02=2026-10-19'")
    code, activity, factor_text, effective_text = fields[:4]
    try:
        factor = float(factor_text)
    except ValueError:
        raise DemoError(f"{where}: factor {factor_text!r} is not a number (0.7 makes the step "
                        "30% faster)") from None
    effective = _parse_day(effective_text, "effective date", where)
    branches: dict[str, date] | None = None
    if len(fields) == 5:
        branches = {}
        for item in fields[4].split(","):
            branch, sep, day = (part.strip() for part in item.partition("="))
            if not sep or not branch or not day:
                raise DemoError(f"{where}: branch adoption {item.strip()!r} should read "
                                "BRANCH=DATE, e.g. B01=2026-10-05")
            if branch in branches:
                raise DemoError(f"{where}: branch {branch} is given twice")
            branches[branch] = _parse_day(day, f"the date of {branch}", where)
    return Revision(code, activity, factor, effective, branches)


def parse_wrong_standard(text: str) -> tuple[str, float]:
    """``TYPE:FACTOR`` of ``--wrong-standard``: every step of TYPE takes FACTOR times as long.

    Example:
        >>> parse_wrong_standard("P17:2")
        ('P17', 2.0)
    """
    code, sep, factor_text = (part.strip() for part in text.partition(":"))
    try:
        factor = float(factor_text)
    except ValueError:
        factor = math.nan
    if not sep or not code or not (math.isfinite(factor) and factor > 0):
        raise DemoError(f"wrong standard {text!r}: expected TYPE:FACTOR with a factor above 0, "
                        "e.g. 'P17:2' (the bank takes twice the standard time on P17)")
    return code, factor


def parse_branch_start(text: str) -> tuple[str, date]:
    """``BRANCH=DATE`` of ``--branch-start``: the branch reports from DATE on.

    Example:
        >>> parse_branch_start("B02=2026-10-05")
        ('B02', datetime.date(2026, 10, 5))
    """
    branch, sep, day = (part.strip() for part in text.partition("="))
    if not sep or not branch or not day:
        raise DemoError(f"branch start {text!r}: expected BRANCH=DATE, e.g. B02=2026-10-05")
    return branch, _parse_day(day, "date", f"branch start {text!r}")


@dataclass(frozen=True)
class DemoConfig:
    """What demo log to generate.

    ``events`` is the approximate number of event rows (the result lands within a few percent).
    ``start`` is the first business day; the log spans whole months from there (at least two),
    or ``days`` calendar days when set (a branch in ``branch_starts`` reports from its own date).
    ``revisions`` make steps faster or slower from their effective dates (see :class:`Revision`).
    The injections after them (off by default) are described in :mod:`procmine.demo.inject`;
    ``completion_only`` leaves the start_time column out of the written log; ``deviations`` and
    ``deviation_share`` inject deviations from the SOP (:mod:`procmine.demo.deviations`).

    Example:
        >>> DemoConfig(events=50_000, seed=3).branches
        6
    """

    events: int = 100_000
    seed: int = 7
    branches: int = 6
    tellers_per_branch: int = 8
    start: date = date(2026, 9, 1)
    baseline: Baseline | None = None
    slow_steps: int = 6  # injected teller x type x step slow steps
    branch_slow_steps: int = 1  # injected branch-wide type x step slow steps
    revisions: tuple[Revision, ...] = ()
    # -- injections of issue 19, all off by default (truth.json lists what was injected) --
    conditional_slow: int = 0  # tellers slow at one step only from 15:00 (the closing band)
    conditional_factor: float = 2.5
    waits: int = 0  # tellers waiting before one step each (plus ``wait_branches`` branches)
    wait_branches: int = 1  # whole branches waiting before one step, when ``waits`` > 0
    wait_seconds: float = 120.0
    slow_branch: float | None = None  # one branch of typical tellers: every step x factor
    slow_teller: float | None = None  # one typical teller: every step x factor
    wrong_standards: tuple[tuple[str, float], ...] = ()  # (type, factor): everyone x factor
    habits: float | None = None  # tellers' own step factors log-uniform up to this (e.g. 1.25)
    days: int | None = None  # calendar days from ``start`` (None: whole months)
    branch_starts: tuple[tuple[str, date], ...] = ()  # (branch, first day it reports)
    completion_only: bool = False  # the written log has no start_time column
    # -- injected deviations from the SOP (issue 16; procmine.demo.deviations), off by default --
    deviations: int = 0  # tellers per kind (skipped control step, extra step, rework)
    deviation_share: float = 0.3  # the share of such a teller's cases of the type that deviate

    def __post_init__(self) -> None:
        # pairs may come as a mapping or as lists (JSON): kept as tuples, so the settings stay
        # frozen
        for name in ("wrong_standards", "branch_starts"):
            value = getattr(self, name)
            pairs = value.items() if isinstance(value, Mapping) else value
            object.__setattr__(self, name, tuple(tuple(pair) for pair in pairs))

    def check(self) -> None:
        """Raise :class:`DemoError` listing every setting out of range (revisions, wrong
        standards and branch starts are checked against the baseline and the branches when the
        log is planned)."""
        problems = []
        if self.events < 100:
            problems.append(f"events is {self.events}, expected at least 100")
        if not 1 <= self.branches <= 99:
            problems.append(f"branches is {self.branches}, expected 1 to 99")
        if not 1 <= self.tellers_per_branch <= 99:
            problems.append(f"tellers_per_branch is {self.tellers_per_branch}, expected 1 to 99")
        counts = {"slow_steps": self.slow_steps, "branch_slow_steps": self.branch_slow_steps,
                  "conditional_slow": self.conditional_slow, "waits": self.waits,
                  "wait_branches": self.wait_branches, "deviations": self.deviations}
        problems += [f"{name} is {value}, expected 0 or more" for name, value in counts.items()
                     if value < 0]
        factors = {"conditional_factor": self.conditional_factor,
                   "wait_seconds": self.wait_seconds, "slow_branch": self.slow_branch,
                   "slow_teller": self.slow_teller,
                   **{f"wrong standard of {code}": f for code, f in self.wrong_standards}}
        problems += [f"{name} is {value}, expected a number above 0"
                     for name, value in factors.items()
                     if value is not None and not (math.isfinite(value) and value > 0)]
        if self.habits is not None and not (math.isfinite(self.habits) and self.habits >= 1.0):
            problems.append(f"habits is {self.habits}, expected 1.0 or more (1.25: tellers' own "
                            "step factors between 0.8 and 1.25)")
        if not (math.isfinite(self.deviation_share) and 0 < self.deviation_share <= 1):
            problems.append(f"deviation_share is {self.deviation_share}, expected a share above 0 "
                            "and at most 1 (0.3: 30% of the teller's cases of the type)")
        if not _is_day(self.start):
            problems.append(f"start is {self.start!r}, expected a date")
        if self.days is not None and self.days < 1:
            problems.append(f"days is {self.days}, expected 1 or more")
        if problems:
            raise DemoError("demo settings: " + "; ".join(problems))


#: The command that writes the bundled log ``event_logs/demo_events.parquet`` and its truth.
BUNDLED_DEMO_COMMAND: Final[str] = "procmine demo-data event_logs --bundled"


def bundled_demo_config() -> DemoConfig:
    """The settings of the log bundled in ``event_logs/``: 200,000 events, seed 7, one revision.

    The revision story lets the dashboard show the effect of an SOP revision: P18 (cash
    withdrawal) "Count cash" takes 0.7 times as long at branches B01-B03 from Monday 21 September
    2026 and at B04-B06 from Monday 12 October 2026. The log samples nine business days over
    September and October (1, 8, 16, 24 Sep; 1, 8, 16, 24, 31 Oct), so three fall before the first
    date, three between the two (B04-B06 not yet on it: the comparison group of a
    difference-in-differences) and three after the second.

    Example:
        >>> config = bundled_demo_config()
        >>> config.events, config.seed, config.revisions[0].adoption("B05")
        (200000, 7, datetime.date(2026, 10, 12))
    """
    first, second = date(2026, 9, 21), date(2026, 10, 12)
    story = Revision(
        "P18", "Count cash", 0.7, first,
        branches={**dict.fromkeys(("B01", "B02", "B03"), first),
                  **dict.fromkeys(("B04", "B05", "B06"), second)},
    )
    return DemoConfig(events=200_000, seed=7, revisions=(story,))


@dataclass(frozen=True)
class DemoResult:
    """What :func:`write_demo_data` wrote."""

    events_path: Path
    truth_path: Path
    events: int
    cases: int
    first_day: date
    last_day: date
    fmt: str

