"""The activity vocabulary of the demo log: step names, who performs them, how long they take.

The step (activity) names form a fixed vocabulary, :data:`ACTIVITIES`, in the order of the
generic counter skeleton (call the number, greet, ask the need, verify the identity, review
forms, count cash, enter, authorize, print, sign, stamp, see off); SOP steps link to these names.
The vocabulary is data, ``activities.csv`` in this package, one row per step name:

* ``activity``, ``name_zh``, ``actor`` (teller, customer, supervisor or second_staff) and
  ``description``: the vocabulary itself;
* ``token``: the short name the business type profiles use in their step lists;
* ``anchor_seconds``: a light step takes about this long whatever the type (capped so that the
  light steps take at most half of the type's standard time), or ``work_weight``: the rest of the
  standard time is shared among the work steps by these weights; every step has one of the two;
* ``conditional_seconds``: the median seconds of the step when it is a conditional one (not part
  of the type's standard path: the identity check for large cash, a recount, a reversal);
* ``skippable``: a transaction may skip it (greeting, asking, seeing off); ``reworkable``: a
  transaction may repeat it (two adjacent rows with the same activity);
* ``control``: a control step (identity check, due diligence, recount, authorization, the check
  of the signature and stamp, ...): leaving it out is a control risk; the demo's injected
  deviations (:mod:`procmine.demo.deviations`) skip such steps.

Do not rename an activity: add a new one instead.

Example:
    >>> ACTIVITIES["Count cash"].name_zh, ACTIVITIES["Count cash"].actor
    ('点钞', 'teller')
    >>> TOKENS["count"], ACTIVITY_INDEX["Call number"]
    ('Count cash', 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from procmine.demo.datafile import DataFileError, number, read_table, text, yes_no

__all__ = ["ACTIVITIES", "ACTIVITY_NAMES", "Activity"]

#: Who performs a step; a step's time depends on the teller's speed to the power given here
#: (a customer's PIN entry or signature a little, the supervisor's or second person's not at all).
ACTOR_EXPONENT: Final[dict[str, float]] = {
    "teller": 1.0,
    "customer": 0.3,
    "supervisor": 0.0,
    "second_staff": 0.0,
}


@dataclass(frozen=True)
class Activity:
    """One step name of the vocabulary: Chinese name, who performs it, what happens."""

    name_zh: str
    actor: str  # "teller" | "customer" | "supervisor" | "second_staff"
    description: str


@dataclass(frozen=True)
class Vocabulary:
    """``activities.csv`` read: the activities and, by name, their tokens and timing."""

    activities: dict[str, Activity]
    tokens: dict[str, str]
    anchor_seconds: dict[str, float]
    work_weight: dict[str, float]
    conditional_seconds: dict[str, float]
    skippable: frozenset[str]
    reworkable: frozenset[str]
    control: frozenset[str]


_COLUMNS: Final[tuple[str, ...]] = (
    "activity", "token", "name_zh", "actor", "anchor_seconds", "work_weight",
    "conditional_seconds", "skippable", "reworkable", "control", "description",
)


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Read and check ``activities.csv`` (the bundled one when ``path`` is None)."""
    table = read_table("activities.csv", _COLUMNS, path)
    activities: dict[str, Activity] = {}
    tokens: dict[str, str] = {}
    anchor: dict[str, float] = {}
    work: dict[str, float] = {}
    conditional: dict[str, float] = {}
    skippable, reworkable, control = set(), set(), set()
    for line, row in table:
        name = text(table, line, row, "activity")
        if name in activities:
            raise table.error(line, "activity", f"{name!r} appears twice")
        token = text(table, line, row, "token")
        if token in tokens:
            raise table.error(line, "token", f"{token!r} appears twice")
        actor = text(table, line, row, "actor")
        if actor not in ACTOR_EXPONENT:
            raise table.error(line, "actor", f"is {actor!r}, expected one of "
                              f"{', '.join(ACTOR_EXPONENT)}")
        activities[name] = Activity(text(table, line, row, "name_zh"), actor,
                                    text(table, line, row, "description"))
        tokens[token] = name
        if bool(row["anchor_seconds"]) == bool(row["work_weight"]):
            raise table.error(line, "anchor_seconds", "and work_weight: give exactly one of them")
        if row["anchor_seconds"]:
            anchor[name] = number(table, line, row, "anchor_seconds")
        else:
            work[name] = number(table, line, row, "work_weight")
        if row["conditional_seconds"]:
            conditional[name] = number(table, line, row, "conditional_seconds")
        if yes_no(table, line, row, "skippable"):
            skippable.add(name)
        if yes_no(table, line, row, "reworkable"):
            reworkable.add(name)
        if yes_no(table, line, row, "control"):
            control.add(name)
    for name in _NAMED_IN_CODE:
        if name not in activities:
            raise DataFileError(f"{table.source}: the activity {name!r} is missing; the "
                                "generator needs it")
    if REVERSE not in conditional:
        raise DataFileError(f"{table.source}: {REVERSE!r} needs conditional_seconds (it follows "
                            "an erroneous entry)")
    return Vocabulary(activities, tokens, anchor, work, conditional, frozenset(skippable),
                      frozenset(reworkable), frozenset(control))

# The steps the generator treats by name: the first step, the reversal after an error, the
# supervisor's step (a wait before it) and the counting steps (their time follows the amount).
CALL: Final[str] = "Call number"
ENTER: Final[str] = "Enter transaction"
REVERSE: Final[str] = "Reverse transaction"
AUTHORIZE: Final[str] = "Supervisor authorization"
COUNT: Final[str] = "Count cash"
RECOUNT: Final[str] = "Second-person recount"
_NAMED_IN_CODE: Final[tuple[str, ...]] = (CALL, ENTER, REVERSE, AUTHORIZE, COUNT, RECOUNT)

_VOCABULARY: Final[Vocabulary] = load_vocabulary()

#: The fixed vocabulary of step (activity) names, in the order of the generic counter skeleton.
#: SOP steps link to these names; do not rename an entry, add a new one instead.
ACTIVITIES: Final[dict[str, Activity]] = _VOCABULARY.activities

#: Activity names in vocabulary order (the integer codes used inside the generator).
ACTIVITY_NAMES: Final[tuple[str, ...]] = tuple(ACTIVITIES)
ACTIVITY_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(ACTIVITY_NAMES)}

#: Short tokens of the profiles' step lists -> activity names.
TOKENS: Final[dict[str, str]] = _VOCABULARY.tokens
ANCHOR_SECONDS: Final[dict[str, float]] = _VOCABULARY.anchor_seconds
WORK_WEIGHT: Final[dict[str, float]] = _VOCABULARY.work_weight
CONDITIONAL_SECONDS: Final[dict[str, float]] = _VOCABULARY.conditional_seconds
SKIPPABLE: Final[frozenset[str]] = _VOCABULARY.skippable
REWORKABLE: Final[frozenset[str]] = _VOCABULARY.reworkable
#: The control steps: leaving one out is a control risk (reported to the compliance group).
CONTROL: Final[frozenset[str]] = _VOCABULARY.control
