"""The training targets the trainers set, and who may do what in the training room.

The source reports ask for a monthly skills session with 100% participation, an expert rate
above 98% and at least two expert targets per person, and for spot checks at a regular
interval. :class:`TrainingTargets` holds those four figures with these defaults; a trainer or
operations changes one with :func:`set_training_target` (validated, kept in the app database's
``training_settings`` table, audited as ``training.set_target``), and every result of
:mod:`procmine.training.results` and the spot-check grid read them with
:func:`training_targets`.

Roles (checked here, on the server side, for every function that acts for a user): trainer and
operations manage the room (operations stands in for the issue's "supervisor"); a reviewer may
read results; a teller acts only for their own teller id.

Example:
    >>> training_targets(home=Path("ws"))  # a workspace of its own: the defaults
    TrainingTargets(participation=1.0, expert=0.98, expert_targets_per_person=2, \
spot_check_interval_days=90)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from procmine.app.appdb import record_audit, session_for, utc_now
from procmine.app.auth import User
from procmine.app.scope import AccessDenied  # one class for every refusal
from procmine.core.errors import ProcmineError
from procmine.training.access import MANAGERS, READERS
from procmine.training.tables import TrainingSettingRow

__all__ = [
    "MANAGERS",
    "READERS",
    "AccessDenied",
    "TrainingTargets",
    "check_manager",
    "check_reader",
    "check_teller",
    "own_teller_id",
    "set_training_target",
    "training_targets",
]

#: the settings' lowest and highest values (a rate is a share: above 0, at most 1)
_LIMITS: dict[str, tuple[float, float, bool]] = {
    # name: (lowest, highest, lowest excluded)
    "participation": (0.0, 1.0, True),
    "expert": (0.0, 1.0, True),
    "expert_targets_per_person": (1, 100, False),
    "spot_check_interval_days": (1, 730, False),
}


@dataclass(frozen=True)
class TrainingTargets:
    """The targets results are held against, and the spot-check interval.

    ``participation`` and ``expert`` are shares (1.0 = 100%); ``expert_targets_per_person`` is
    the number of papers a year each teller should pass at the expert mark;
    ``spot_check_interval_days`` is how long a passed spot check holds before the next is due.
    """

    participation: float = 1.0
    expert: float = 0.98
    expert_targets_per_person: int = 2
    spot_check_interval_days: int = 90


TARGET_NAMES = tuple(f.name for f in fields(TrainingTargets))


def check_manager(user: User, action: str) -> None:
    """Raise AccessDenied unless ``user`` is a trainer or operations."""
    if user.role not in MANAGERS:
        raise AccessDenied(f"{user.username} ({user.role}) may not {action}: "
                           "trainers and operations do", code="training.managers_only",
                           username=user.username)


def check_reader(user: User, what: str = "these results") -> None:
    """Raise AccessDenied unless ``user`` may read everyone's results (trainer, operations,
    reviewer)."""
    if user.role not in READERS:
        raise AccessDenied(f"{user.username} ({user.role}) may not see {what}",
                           code="training.may_not_see", username=user.username)


def own_teller_id(user: User) -> str:
    """The teller id of a teller account; AccessDenied for another role or without one."""
    if user.role != "teller" or not user.teller_id:
        raise AccessDenied(f"{user.username} is not a teller with a teller id",
                           code="training.teller_only")
    return user.teller_id


def check_teller(user: User, teller_id: str, what: str = "this") -> None:
    """A teller may act only for their own teller id; readers may see anyone's."""
    if user.role == "teller":
        if own_teller_id(user) != teller_id:
            raise AccessDenied(f"{user.username} may not see {what} of teller {teller_id}: "
                               "a teller sees only their own", code="training.own_figures",
                               teller_id=teller_id)
    else:
        check_reader(user, what)


def training_targets(*, home: Path | None = None) -> TrainingTargets:
    """The targets in force: the defaults, overridden by what a trainer set."""
    with session_for(home) as session:
        stored = {r.key: r.value for r in session.scalars(select(TrainingSettingRow))}
    values: dict[str, Any] = {}
    for name in TARGET_NAMES:
        if name in stored:
            try:
                values[name] = _parse(name, stored[name])
            except ProcmineError:
                continue  # a value edited outside the app that no longer fits: the default
    return replace(TrainingTargets(), **values)


def set_training_target(name: str, value: float | int | str, *, user: User,
                        home: Path | None = None) -> TrainingTargets:
    """Set one target (trainer or operations): a rate as a share in (0, 1] (``0.98``), the
    expert targets per person as a whole number 1..100, the spot-check interval as days
    1..730. Returns the targets now in force.

    Example:
        >>> from procmine.app.auth import get_user
        >>> set_training_target("expert", "0.95", user=get_user("trainer"), home=home).expert
        0.95
        >>> set_training_target("expert", 98, user=get_user("trainer"), home=home)
        Traceback (most recent call last):
        ...
        procmine.core.errors.ProcmineError: expert must be above 0 and at most 1 (a share: 0.98 \
is 98%), not 98
        >>> set_training_target("expert", 0.98, user=get_user("trainer"), home=home).expert
        0.98
    """
    check_manager(user, "change the training targets")
    if name not in TARGET_NAMES:
        raise ProcmineError(f"no training target {name!r}: one of {', '.join(TARGET_NAMES)}")
    parsed = _parse(name, value)
    with session_for(home) as session:
        row = session.get(TrainingSettingRow, name)
        if row is None:
            row = TrainingSettingRow(key=name)
            session.add(row)
        row.value, row.updated_at, row.updated_by = str(parsed), utc_now(), user.username
        record_audit(session, user.username, "training.set_target", f"{name} = {parsed}")
    return training_targets(home=home)


def _parse(name: str, value: float | int | str) -> float | int:
    low, high, open_low = _LIMITS[name]
    whole = isinstance(TrainingTargets.__dataclass_fields__[name].default, int)
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except ValueError:
        raise ProcmineError(f"{name} must be a number, not {value!r}",
                            code="training.setting_number", value=value) from None
    if not math.isfinite(number) or (whole and number != int(number)):
        raise ProcmineError(f"{name} must be a {'whole ' if whole else ''}number, not {value!r}",
                            code="training.setting_number", value=value)
    if whole:
        if not low <= number <= high:
            raise ProcmineError(f"{name} must be from {int(low)} to {int(high)}, not {value}",
                                code="training.setting_range", low=int(low), high=int(high),
                                value=value)
        return int(number)
    if not (low < number if open_low else low <= number) or number > high:
        raise ProcmineError(f"{name} must be above 0 and at most 1 (a share: 0.98 is 98%), "
                            f"not {value}", code="training.setting_share", value=value)
    return number
