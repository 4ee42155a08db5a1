"""The reference models of conformance checking: what the SOP in force prescribes for a type.

An approved SOP version becomes, for each business type it governs, a :class:`ReferenceModel`:
its steps for the type in the SOP's order, each with the activities that perform it (its own and
its ``alternatives``), whether it is a control step, and when it is required (always; when its
``required_when`` holds on the transaction; or never: optional, or conditional without a
condition a machine can check). The model is a sequence with optional steps, so an optimal
alignment of a transaction against it is a weighted longest common subsequence
(:mod:`procmine.maps.alignment`); :meth:`ReferenceModel.petri_net` gives the same model as a
pm4py Petri net (a silent "skip" beside every step that is not always required), for pm4py's
token replay and alignments.

:func:`reference_models` reads the library once: every version that came in force, the types it
governs (one SOP per type: the first by id, as :func:`procmine.sop.links.sop_references`
chooses), and the periods each model is in force, for all branches and, where a version names
adoption dates, per branch (:mod:`procmine.sop.timeline`), as a table the engine joins each
transaction to by its type, branch and first day.

Example:
    >>> models, periods = reference_models(library)
    >>> p18 = [m for m in models if m.business_type == "P18"]
    >>> [m.key for m in p18]
    ['SOP-P18@2.0', 'SOP-P18@3.0']
    >>> [s.activity for s in p18[-1].steps if s.control][:2]
    ['Verify identity', 'Anti-fraud check']
    >>> periods.column_names
    ['model', 'business_type', 'branch_id', 'valid_from', 'valid_to']
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import pyarrow as pa

from procmine.sop import timeline
from procmine.sop.conditions import Condition
from procmine.sop.document import Sop
from procmine.sop.library import SopLibrary
from procmine.sop.steps import step_names

__all__ = [
    "PERIOD_SCHEMA",
    "ReferenceModel",
    "ReferenceStep",
    "reference_model",
    "reference_models",
]

#: The columns of the periods table of :func:`reference_models`.
PERIOD_SCHEMA: Final = pa.schema([
    ("model", pa.int32()), ("business_type", pa.string()), ("branch_id", pa.string()),
    ("valid_from", pa.date32()), ("valid_to", pa.date32()),
])


@dataclass(frozen=True)
class ReferenceStep:
    """One step of a reference model."""

    step_id: str
    activity: str
    alternatives: tuple[str, ...]
    standard_seconds: float
    control: bool
    always: bool                    # required in every transaction of the type
    condition: Condition | None     # else required when this holds (None: optional)
    name_zh: str = ""               # the step's Chinese name (the SOP's heading)

    @property
    def activities(self) -> tuple[str, ...]:
        return (self.activity, *self.alternatives)

    def name_in(self, lang: str) -> str:
        """The step's name in ``lang`` (Chinese from the SOP's heading, else the activity)."""
        return self.name_zh or self.activity if lang.startswith("zh") else self.activity


@dataclass(frozen=True)
class ReferenceModel:
    """The steps an SOP version prescribes for one business type, in order."""

    sop_id: str
    version: str
    business_type: str
    owner_group: str
    steps: tuple[ReferenceStep, ...]

    @property
    def key(self) -> str:
        """``"SOP-P18@3.0"``."""
        return f"{self.sop_id}@{self.version}"

    @property
    def activities(self) -> frozenset[str]:
        """Every activity that performs some step of the model."""
        return frozenset(a for s in self.steps for a in s.activities)

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The distinct conditions of the model's steps, in step order."""
        seen: dict[str, Condition] = {}
        for s in self.steps:
            if s.condition is not None:
                seen.setdefault(s.condition.text, s.condition)
        return tuple(seen.values())

    def step_name(self, activity: str, lang: str) -> str:
        """The name in ``lang`` of the step an activity performs (the activity itself when no
        step of the model has it: an extra step)."""
        for s in self.steps:
            if activity in s.activities:
                return s.name_in(lang) if activity == s.activity else activity
        return activity

    def required(self, holding: Collection[str] = ()) -> frozenset[int]:
        """The indexes of the steps a transaction must have, given the texts of the
        conditions that hold on it.

        Example:
            >>> p18 = reference_model(library.approved("SOP-P18").sop, "P18")
            >>> len(p18.required()), len(p18.required({"amount >= 50000"}))
            (11, 16)
        """
        return frozenset(i for i, s in enumerate(self.steps)
                         if s.always or (s.condition is not None
                                         and s.condition.text in holding))

    def petri_net(self) -> tuple[Any, Any, Any]:
        """The model as a pm4py Petri net with its initial and final marking: places
        ``p0``..``pN``, a visible transition per activity of each step from ``p{i}`` to
        ``p{i+1}``, and a silent skip beside each step that is not always required (a
        condition cannot be put in a Petri net: its step is optional there)."""
        from pm4py.objects.petri_net.obj import Marking, PetriNet
        from pm4py.objects.petri_net.utils.petri_utils import add_arc_from_to

        net = PetriNet(self.key)
        places = [PetriNet.Place(f"p{i}") for i in range(len(self.steps) + 1)]
        for place in places:
            net.places.add(place)
        for i, step in enumerate(self.steps):
            labels: list[str | None] = list(step.activities)
            if not step.always:
                labels.append(None)
            for k, label in enumerate(labels):
                name = f"t{i}_{k}" if label is not None else f"skip{i}"
                transition = PetriNet.Transition(name, label)
                net.transitions.add(transition)
                add_arc_from_to(places[i], transition, net)
                add_arc_from_to(transition, places[i + 1], net)
        return net, Marking({places[0]: 1}), Marking({places[-1]: 1})


def reference_model(sop: Sop, business_type: str) -> ReferenceModel | None:
    """The reference model of an SOP version for one of its business types (None when the
    SOP does not govern the type)."""
    steps = sop.steps_for(business_type)
    if not steps:
        return None
    names = step_names(sop)
    return ReferenceModel(
        sop_id=sop.id, version=sop.version, business_type=business_type,
        owner_group=sop.owner_group,
        steps=tuple(ReferenceStep(
            step_id=s.id, activity=s.activity, alternatives=s.alternatives,
            standard_seconds=s.standard_seconds, control=s.control,
            always=not s.optional and not s.conditional,
            condition=s.required_when if s.conditional and not s.optional else None,
            name_zh=names.get(s.id, {}).get("zh", ""))
            for s in steps))


def _period_rows(models: list[ReferenceModel], index: dict[tuple[str, str, str], int],
                 sop: Sop, code: str, branch: str | None, start: date,
                 end: date | None) -> dict[str, Any] | None:
    model = reference_model(sop, code)
    if model is None:
        return None
    key = (sop.id, sop.version, code)
    if key not in index:
        index[key] = len(models)
        models.append(model)
    return {"model": index[key], "business_type": code, "branch_id": branch,
            "valid_from": start, "valid_to": end}


def reference_models(library: SopLibrary, business_types: Sequence[str] | None = None
                     ) -> tuple[list[ReferenceModel], pa.Table]:
    """Every reference model of the library (optionally of some business types only) and the
    periods each is in force (:data:`PERIOD_SCHEMA`: the model's index in the list, the type,
    the branch (null: every branch without a timeline of its own), from, to (exclusive; null:
    still in force)). One SOP governs a type: the first by id that names it."""
    models: list[ReferenceModel] = []
    index: dict[tuple[str, str, str], int] = {}
    rows: list[dict[str, Any]] = []
    owner: dict[str, str] = {}
    wanted = set(business_types) if business_types is not None else None
    for sop_id in sorted(library.ids()):
        versions = library.approved_versions(sop_id)
        for branch in [None, *timeline.adoption_branches(versions)]:
            for version, start, end in timeline.periods(versions, branch):
                for code in version.sop.business_types:
                    if wanted is not None and code not in wanted:
                        continue
                    if owner.setdefault(code, sop_id) != sop_id:
                        continue
                    row = _period_rows(models, index, version.sop, code, branch, start, end)
                    if row is not None:
                        rows.append(row)
    return models, pa.Table.from_pylist(rows, schema=PERIOD_SCHEMA)
