"""The steps of a business type: its template, and the standard path that SOPs follow.

A transaction follows the generic counter skeleton (call the number, greet, ask the need, ...,
see off) with the steps of its business type's profile (:mod:`procmine.demo.profiles`). Every
step of the standard path has a share of the type's standard time (the baseline's): light steps
take about their ``anchor_seconds`` whatever the type, at most half of the standard time
together (all of it when a type has only light steps); the work steps share the rest by their
``work_weight`` (:mod:`procmine.demo.activities`). Conditional steps are not part of the
standard path: they take their own ``conditional_seconds`` when they occur.

Example:
    >>> from procmine.core.baseline import load_baseline
    >>> [s.name for s in steps_for_type("P13", load_baseline())]
    ['Call number', 'Greet and check ticket', 'Ask need', 'Read card or passbook', \
'Update passbook', 'See off']
"""

from __future__ import annotations

from dataclasses import dataclass

from procmine.core.baseline import Baseline
from procmine.demo.activities import (
    ANCHOR_SECONDS,
    CONDITIONAL_SECONDS,
    ENTER,
    REVERSE,
    TOKENS,
    WORK_WEIGHT,
)
from procmine.demo.config import DemoError
from procmine.demo.profiles import ALWAYS, COND_SUFFIX, REVERSAL, profile_for

__all__ = ["Step", "steps_for_type"]


@dataclass(frozen=True)
class Step:
    """One step of a business type's standard path and its share of the type's standard time."""

    name: str
    share: float


@dataclass(frozen=True)
class Slot:
    activity: str
    cond: int
    seconds: float  # median seconds before teller speed and noise


def template(code: str, baseline: Baseline) -> list[Slot]:
    """Every step a transaction of ``code`` can have, in order, with its condition and time."""
    profile = profile_for(code, baseline)
    tokens = ["call", "greet", "ask", *profile.steps.split(), "seeoff"]
    parsed: list[tuple[str, int]] = []
    for token in tokens:
        name, _, suffix = token.partition("?")
        parsed.append((TOKENS[name], COND_SUFFIX[suffix] if suffix else ALWAYS))
        if TOKENS[name] == ENTER:
            parsed.append((REVERSE, REVERSAL))
    standard = baseline.standard_seconds(code)
    always = [a for a, c in parsed if c == ALWAYS]
    anchors = {a: ANCHOR_SECONDS[a] for a in always if a in ANCHOR_SECONDS}
    work = {a: WORK_WEIGHT[a] for a in always if a not in ANCHOR_SECONDS}
    anchor_total = sum(anchors.values())
    if not work:  # only light steps: they share the whole standard time
        scale = standard / anchor_total
    else:  # light steps take at most half of it, the work steps the rest
        scale = min(1.0, 0.5 * standard / anchor_total) if anchor_total else 1.0
    seconds = {a: s * scale for a, s in anchors.items()}
    rest = standard - sum(seconds.values())
    weight_total = sum(work.values())
    seconds.update({a: rest * w / weight_total for a, w in work.items()})
    slots = []
    for activity, cond in parsed:
        if cond == ALWAYS:
            slots.append(Slot(activity, cond, seconds[activity]))
        else:
            slots.append(Slot(activity, cond, CONDITIONAL_SECONDS[activity]))
    return slots


def steps_for_type(code: str, baseline: Baseline) -> list[Step]:
    """The standard path of a business type: its steps in order, with shares summing to 1.0.

    Conditional steps (identity check, recount, registration and authorization for cash of 50,000
    CNY or more; occasional authorization; reversal after an error) are not part of the standard
    path; they add their own time when they occur. Types outside the 58 of the bundled baseline get
    the path of their baseline group.

    Example:
        >>> from procmine.core.baseline import load_baseline
        >>> steps = steps_for_type("P17", load_baseline())
        >>> [s.name for s in steps][:4]
        ['Call number', 'Greet and check ticket', 'Ask need', 'Read card or passbook']
        >>> round(sum(s.share for s in steps), 9)
        1.0
    """
    if code not in baseline:
        raise DemoError(f"business type {code!r} is not in the baseline ({baseline.source})")
    always = [s for s in template(code, baseline) if s.cond == ALWAYS]
    total = sum(s.seconds for s in always)
    return [Step(s.activity, s.seconds / total) for s in always]


