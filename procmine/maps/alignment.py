"""One transaction against its reference model: an optimal alignment and what deviates.

The reference model (:class:`procmine.maps.reference.ReferenceModel`) is a sequence of steps,
some required for the transaction, some optional. An **alignment** pairs the transaction's
events with the model's steps in order: an event performing a step is a synchronous move; an
event left unpaired is a *log move* (cost 1); a required step left unpaired is a *model move*
(cost 1); an optional step left unpaired costs nothing. A cheapest alignment pairs as many events
as it can with required steps first: a longest common subsequence where a required step weighs
2 and an optional one 1 (a pairing with a required step saves a log move and a model move). It is
the optimal alignment pm4py computes on the model's Petri net with the standard costs, found by
dynamic programming in O(events x steps) instead of a search: the model is a sequence. Of equal
alignments the one pairing the earliest events is taken, so a repeated step's repetition is the
later event.

**Fitness** is pm4py's alignment fitness: 1 - cost / (events + required steps) (the cost of
the alignment over the cost of moving every event and every required step alone).

**Deviations**, from the unpaired events and steps:

* ``extra``: an event whose activity performs no step of the model;
* ``rework``: an event of a step the transaction performs elsewhere too (a repetition);
* ``order``: an event of a step that the transaction performs only out of the model's order;
* ``skipped``: a required step with no event at all (a control step left out is a control risk).

Example:
    >>> from procmine.maps.reference import reference_models
    >>> models, _ = reference_models(library, ["P17"])
    >>> model = models[-1]
    >>> standard = [s.activity for i, s in enumerate(model.steps) if i in model.required()]
    >>> align(model, standard, model.required()).fitness
    1.0
    >>> trace = [a for a in standard if a != "Check signature and stamp"]
    >>> [(d.kind, d.activity, d.control) for d in align(model, trace, model.required()).deviations]
    [('skipped', 'Check signature and stamp', True)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from procmine.maps.reference import ReferenceModel

__all__ = ["DEVIATION_KINDS", "Alignment", "Deviation", "align"]

#: The kinds of deviation, in the order reports list them.
DEVIATION_KINDS: Final[tuple[str, ...]] = ("skipped", "extra", "rework", "order")


@dataclass(frozen=True)
class Deviation:
    """One deviation of a transaction: its kind, the activity, the model step it concerns
    (None for an extra step), whether that step is a control step, and the event's position
    in the transaction (0-based; None for a skipped step)."""

    kind: str
    activity: str
    step_id: str | None
    control: bool
    position: int | None


@dataclass(frozen=True)
class Alignment:
    """The outcome of :func:`align`."""

    cost: int
    fitness: float
    deviations: tuple[Deviation, ...]

    @property
    def conforms(self) -> bool:
        return not self.deviations


def _table(model: ReferenceModel, trace: Sequence[str],
           required: frozenset[int]) -> list[list[int]]:
    """best[i][j]: the largest weight of a common subsequence of trace[i:] and steps[j:]."""
    n, m = len(trace), len(model.steps)
    performs = [frozenset(s.activities) for s in model.steps]
    weight = [2 if j in required else 1 for j in range(m)]
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = best[i], best[i + 1]
        event = trace[i]
        for j in range(m - 1, -1, -1):
            value = max(below[j], row[j + 1])
            if event in performs[j]:
                value = max(value, below[j + 1] + weight[j])
            row[j] = value
    return best


def _pairs(model: ReferenceModel, trace: Sequence[str],
           required: frozenset[int]) -> dict[int, int]:
    """event position -> step index of an optimal alignment pairing the earliest events."""
    best = _table(model, trace, required)
    performs = [frozenset(s.activities) for s in model.steps]
    pairs: dict[int, int] = {}
    i = j = 0
    while i < len(trace) and j < len(model.steps):
        weight = 2 if j in required else 1
        if trace[i] in performs[j] and best[i][j] == best[i + 1][j + 1] + weight:
            pairs[i] = j
            i, j = i + 1, j + 1
        elif best[i][j] == best[i][j + 1]:
            j += 1   # leave the step unpaired
        else:
            i += 1   # leave the event unpaired
    return pairs


def align(model: ReferenceModel, trace: Sequence[str], required: frozenset[int]) -> Alignment:
    """Align a transaction's activities (in order) with a reference model, given the indexes
    of the steps required for it (:meth:`ReferenceModel.required`)."""
    pairs = _pairs(model, trace, required)
    step_of = {a: j for j in range(len(model.steps) - 1, -1, -1)
               for a in model.steps[j].activities}
    deviations: list[Deviation] = []
    paired_activities = {trace[i] for i in pairs}
    for position, activity in enumerate(trace):
        if position in pairs:
            continue
        j = step_of.get(activity)
        if j is None:
            deviations.append(Deviation("extra", activity, None, False, position))
            continue
        step = model.steps[j]
        repeated = activity in paired_activities or activity in trace[:position]
        deviations.append(Deviation("rework" if repeated else "order", activity, step.step_id,
                                    step.control, position))
    present = set(trace)
    paired_steps = set(pairs.values())
    missing = 0
    for j in sorted(required - paired_steps):
        missing += 1
        step = model.steps[j]
        if not present.intersection(step.activities):
            deviations.append(Deviation("skipped", step.activity, step.step_id, step.control,
                                        None))
    cost = (len(trace) - len(pairs)) + missing
    total = len(trace) + len(required)
    fitness = 1.0 - cost / total if total else 1.0
    return Alignment(cost=cost, fitness=fitness, deviations=tuple(deviations))
