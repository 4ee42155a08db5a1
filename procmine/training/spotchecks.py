"""Spot checks: a trainer or supervisor watches a teller work through an SOP, one by one.

A check names the teller, the SOP version worked to, the steps observed, those done wrongly
and those skipped (each among the observed, all step ids of that version), the time taken, the
checker, the date and a note. It passed when no step was done wrongly or skipped. Recorded by a
trainer or operations (the issue's supervisor), audited as ``spotcheck.add``.

The grid (:func:`spot_check_grid`) shows each roster teller x SOP: the last check, whether it
passed, when the next is due (the last check + the interval of
:class:`~procmine.training.settings.TrainingTargets`) and a state:

* ``never``: no check yet;
* ``failed``: the last check failed (whatever its date: it needs a re-check);
* ``due``: the last check passed and its due date has come;
* ``passed``: the last check passed and is not due yet.

:func:`spot_check_summary` counts a month's checks per teller, for the monthly announcement.

Example:
    >>> from procmine.training.roster import Trainee
    >>> grid = spot_check_grid([Trainee("T9", "B09")], ["SOP-P17"], home=Path("ws"),
    ...                        today=date(2026, 10, 1))
    >>> grid[["teller_id", "sop_id", "state"]].values.tolist()
    [['T9', 'SOP-P17', 'never']]
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from procmine.app.appdb import record_audit, session_for, utc_now
from procmine.app.auth import User
from procmine.core.errors import ProcmineError
from procmine.core.months import last_day, parse_month
from procmine.sop.library import SopLibrary
from procmine.store.event_store import EventStore
from procmine.training.roster import Trainee, teller_roster
from procmine.training.settings import (
    check_manager,
    check_reader,
    check_teller,
    own_teller_id,
    training_targets,
)
from procmine.training.tables import SpotCheckRow

__all__ = [
    "GRID_STATES",
    "SpotCheck",
    "add_spot_check",
    "list_spot_checks",
    "spot_check_grid",
    "spot_check_summary",
]

GRID_STATES = ("passed", "failed", "due", "never")
GRID_COLUMNS = ["teller_id", "branch_id", "sop_id", "last_checked_on", "passed", "due_on",
                "state"]
SUMMARY_COLUMNS = ["teller_id", "checks", "passed", "failed"]


@dataclass(frozen=True)
class SpotCheck:
    """One spot check as recorded."""

    id: int
    teller_id: str
    branch_id: str | None
    sop_id: str
    sop_version: str
    checked_on: date
    checker: str
    steps_observed: tuple[str, ...]
    steps_wrong: tuple[str, ...]
    steps_skipped: tuple[str, ...]
    seconds: float | None
    passed: bool
    note: str
    created_at: datetime


def _from_row(row: SpotCheckRow) -> SpotCheck:
    return SpotCheck(id=row.id, teller_id=row.teller_id, branch_id=row.branch_id,
                     sop_id=row.sop_id, sop_version=row.sop_version, checked_on=row.checked_on,
                     checker=row.checker,
                     steps_observed=tuple(json.loads(row.steps_observed)),
                     steps_wrong=tuple(json.loads(row.steps_wrong)),
                     steps_skipped=tuple(json.loads(row.steps_skipped)),
                     seconds=row.seconds, passed=row.passed, note=row.note,
                     created_at=row.created_at)


def _unique(steps: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(s.strip() for s in steps if s.strip()))


def _check_steps(library: SopLibrary, sop_id: str, sop_version: str, observed: list[str],
                 wrong: list[str], skipped: list[str]) -> None:
    versions = [v for v in library.approved_versions(sop_id) if v.sop.version == sop_version]
    if not versions:
        known = [v.sop.version for v in library.approved_versions(sop_id)]
        raise ProcmineError(f"{sop_id} has no approved version {sop_version!r}"
                            + (f" (approved: {', '.join(known)})" if known else ""),
                            code="training.no_approved_version", sop_id=sop_id,
                            version=sop_version)
    step_ids = [s.id for s in versions[-1].sop.steps]
    if not observed:
        raise ProcmineError("a spot check observes at least one step",
                            code="training.spot_no_step")
    unknown = [s for s in (*observed, *wrong, *skipped) if s not in step_ids]
    if unknown:
        raise ProcmineError(f"{sop_id} {sop_version} has no step {', '.join(sorted(set(unknown)))}"
                            f" (its steps: {', '.join(step_ids)})",
                            code="training.spot_unknown_step", sop_id=sop_id,
                            steps=", ".join(sorted(set(unknown))))
    unobserved = [s for s in (*wrong, *skipped) if s not in observed]
    if unobserved:
        raise ProcmineError(f"steps done wrongly or skipped must be among those observed: "
                            f"{', '.join(sorted(set(unobserved)))}",
                            code="training.spot_unobserved",
                            steps=", ".join(sorted(set(unobserved))))
    both = sorted(set(wrong) & set(skipped))
    if both:
        raise ProcmineError(f"a step is done wrongly or skipped, not both: {', '.join(both)}",
                            code="training.spot_both", steps=", ".join(both))


def add_spot_check(*, user: User, teller_id: str, sop_id: str, sop_version: str,
                   steps_observed: Iterable[str], steps_wrong: Iterable[str] = (),
                   steps_skipped: Iterable[str] = (), seconds: float | None = None,
                   checked_on: date | None = None, note: str = "",
                   branch_id: str | None = None, library: SopLibrary | None = None,
                   store: EventStore | None = None, home: Path | None = None,
                   today: date | None = None) -> SpotCheck:
    """Record a spot check (trainer or operations). The steps are validated against that SOP
    version's step ids; with ``store`` the teller must be on the roster
    (:func:`~procmine.training.roster.teller_roster`), whose branch is the default
    ``branch_id``. ``checked_on`` (default today) may not be in the future."""
    check_manager(user, "record spot checks")
    teller_id = teller_id.strip()
    if not teller_id:
        raise ProcmineError("a spot check names the teller", code="training.spot_teller")
    day = today or datetime.now(UTC).date()
    checked = checked_on or day
    if checked > day:
        raise ProcmineError(f"a spot check cannot be dated in the future ({checked} > {day})",
                            code="training.spot_future")
    if seconds is not None and (not math.isfinite(seconds) or seconds < 0):
        raise ProcmineError(f"the time taken must be 0 seconds or more, not {seconds}",
                            code="training.spot_seconds")
    observed, wrong, skipped = (_unique(steps_observed), _unique(steps_wrong),
                                _unique(steps_skipped))
    _check_steps(library or SopLibrary.open(home), sop_id, sop_version, observed, wrong,
                 skipped)
    if store is not None:
        roster = {t.teller_id: t for t in teller_roster(store, home=home)}
        if teller_id not in roster:
            raise ProcmineError(f"teller {teller_id} is not on the roster (the tellers of the "
                                "latest month of the log and the teller accounts)",
                                code="training.not_on_roster", teller_id=teller_id)
        branch_id = branch_id or roster[teller_id].branch_id
    passed = not wrong and not skipped
    with session_for(home) as session:
        row = SpotCheckRow(teller_id=teller_id, branch_id=branch_id, sop_id=sop_id,
                           sop_version=sop_version, checked_on=checked, checker=user.username,
                           steps_observed=json.dumps(observed), steps_wrong=json.dumps(wrong),
                           steps_skipped=json.dumps(skipped), seconds=seconds, passed=passed,
                           note=note.strip(), created_at=utc_now(), created_by=user.username)
        session.add(row)
        session.flush()
        record_audit(session, user.username, "spotcheck.add",
                     f"#{row.id} teller {teller_id} {sop_id} {sop_version} on {checked}: "
                     + ("passed" if passed else
                        f"failed (wrong: {', '.join(wrong) or '-'}; "
                        f"skipped: {', '.join(skipped) or '-'})"))
        return _from_row(row)


def list_spot_checks(*, user: User, teller_id: str | None = None, sop_id: str | None = None,
                     month: str | None = None, home: Path | None = None) -> list[SpotCheck]:
    """Spot checks, newest first: a teller sees only their own (asking for another teller is
    refused); trainers, operations and reviewers see everyone's."""
    if user.role == "teller":
        teller_id = teller_id or own_teller_id(user)
        check_teller(user, teller_id, "the spot checks")
    else:
        check_reader(user, "spot checks")
    query = select(SpotCheckRow)
    if teller_id is not None:
        query = query.where(SpotCheckRow.teller_id == teller_id)
    if sop_id is not None:
        query = query.where(SpotCheckRow.sop_id == sop_id)
    if month is not None:
        first = parse_month(month)
        query = query.where(SpotCheckRow.checked_on >= first,
                            SpotCheckRow.checked_on <= last_day(first))
    query = query.order_by(SpotCheckRow.checked_on.desc(), SpotCheckRow.id.desc())
    with session_for(home) as session:
        return [_from_row(r) for r in session.scalars(query)]


def _latest(home: Path | None, sop_ids: Sequence[str]) -> dict[tuple[str, str], SpotCheckRow]:
    """(teller id, sop id) -> the last check (latest date, then latest recorded)."""
    query = (select(SpotCheckRow).where(SpotCheckRow.sop_id.in_(list(sop_ids)))
             .order_by(SpotCheckRow.checked_on, SpotCheckRow.id))
    with session_for(home) as session:
        return {(r.teller_id, r.sop_id): r for r in session.scalars(query)}


def spot_check_grid(roster: Sequence[Trainee], sop_ids: Sequence[str], *,
                    home: Path | None = None, today: date | None = None,
                    interval_days: int | None = None) -> pd.DataFrame:
    """Each roster teller x SOP: ``teller_id, branch_id, sop_id, last_checked_on, passed,
    due_on, state`` (see the module docs for the states). ``interval_days`` defaults to the
    training targets' spot-check interval."""
    day = today or datetime.now(UTC).date()
    interval = interval_days or training_targets(home=home).spot_check_interval_days
    if interval < 1:
        raise ProcmineError(f"the spot-check interval is 1 day or more, not {interval}")
    last = _latest(home, sop_ids)
    rows: list[dict[str, object]] = []
    for trainee in roster:
        for sop_id in sop_ids:
            row = last.get((trainee.teller_id, sop_id))
            if row is None:
                rows.append({"teller_id": trainee.teller_id, "branch_id": trainee.branch_id,
                             "sop_id": sop_id, "last_checked_on": None, "passed": None,
                             "due_on": None, "state": "never"})
                continue
            due_on = row.checked_on + timedelta(days=interval)
            state = "failed" if not row.passed else "due" if due_on <= day else "passed"
            rows.append({"teller_id": trainee.teller_id, "branch_id": trainee.branch_id,
                         "sop_id": sop_id, "last_checked_on": row.checked_on,
                         "passed": bool(row.passed), "due_on": due_on, "state": state})
    return pd.DataFrame(rows, columns=GRID_COLUMNS)


def spot_check_summary(month: str, *, home: Path | None = None) -> pd.DataFrame:
    """A month's spot checks per teller (``teller_id, checks, passed, failed``), for the
    monthly announcement; tellers without a check that month are left out."""
    first = parse_month(month)
    query = select(SpotCheckRow.teller_id, SpotCheckRow.passed).where(
        SpotCheckRow.checked_on >= first, SpotCheckRow.checked_on <= last_day(first))
    with session_for(home) as session:
        rows = [(teller, bool(passed)) for teller, passed in session.execute(query)]
    if not rows:
        return pd.DataFrame({"teller_id": pd.Series(dtype=object),
                             "checks": pd.Series(dtype="int64"),
                             "passed": pd.Series(dtype="int64"),
                             "failed": pd.Series(dtype="int64")})
    frame = pd.DataFrame(rows, columns=["teller_id", "ok"])
    summary = (frame.groupby("teller_id", sort=True)
               .agg(checks=("ok", "size"), passed=("ok", "sum")).reset_index())
    summary["passed"] = summary["passed"].astype("int64")
    summary["checks"] = summary["checks"].astype("int64")
    summary["failed"] = summary["checks"] - summary["passed"]
    return summary[SUMMARY_COLUMNS]
