"""Deviations from the SOP in the demo log, with their truth: the background ones and the injected.

The truth of a conformance check (:mod:`procmine.maps`): every case that does not follow its
type's steps is listed in ``truth["deviations"]`` under exactly the deviations it has.

* **Background** (always on, drawn by :mod:`procmine.demo.simulate` from the chunk's stream):
  about 1% of transactions skip one skippable step (greeting, asking, seeing off) and about 3%
  repeat one reworkable step (two adjacent rows). ``truth["deviations"]["background"]`` lists
  them as ``[case_id, activity]`` pairs, sorted.
* **Injected** (``DemoConfig.deviations`` tellers per kind, off by default): at tellers no other
  injection uses, on common business types that an SOP of the bundled library governs, in
  ``DemoConfig.deviation_share`` of the teller's cases of the type:

  - *skipped*: the teller leaves out a control step (``control`` in ``activities.csv`` and in
    the SOP) that the case has: "Check signature and stamp" (every case has it) where the type
    has it; and, where the log is big enough for it (:data:`MIN_DEVIATION_CASES` expected), the
    same teller also leaves out a control step that only cash of 50,000 CNY or more brings (a
    recount, a registration; ``required_when: amount >= 50000`` in the SOP), on a type whose
    cases all handle cash (so the amount says the step was due);
  - *extra*: the teller adds a step the type's template and SOP do not have (e.g. "Print
    statement" in a cash deposit) right after one fixed step of the template; its time is drawn
    like any step's;
  - *rework*: the teller repeats one reworkable step of the standard path (two adjacent rows).

  A case an injection hits gets no background skip or rework of the same step (the background
  one is dropped), so the truth stays exact. The groups are chosen from the random stream
  (seed, 19, 2) and the cases from (seed, 19, 3, chunk): a log without them is the same, to the
  byte, as before they existed.

Example:
    >>> from procmine.demo.config import DemoConfig
    >>> from procmine.demo.plan import make_plan
    >>> plan = make_plan(DemoConfig(events=150_000, seed=3, deviations=1))
    >>> [(d.kind, plan.codes[d.type_idx]) for d in plan.deviations]
    [('skipped', 'P17'), ('extra', 'P17'), ('rework', 'P17')]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from procmine.core.amounts import LARGE_AMOUNT
from procmine.demo.activities import (
    ACTIVITY_INDEX,
    ACTIVITY_NAMES,
    CALL,
    CONTROL,
    REWORKABLE,
    SKIPPABLE,
)
from procmine.demo.inject import SlowStep, Wait, expected_cases
from procmine.demo.model import slot_probabilities
from procmine.demo.profiles import ALWAYS, LARGE_CASH, Profile
from procmine.demo.steps import Slot

if TYPE_CHECKING:
    from procmine.demo.plan import Plan, TypeArrays
    from procmine.sop.step_fields import SopStep

__all__ = ["KINDS", "MIN_DEVIATION_CASES", "Background", "ChunkDeviations", "Deviation",
           "apply_deviations", "choose_deviations", "deviations_truth", "sop_steps",
           "widen_templates"]

Arr = npt.NDArray[Any]

#: The kinds of injected deviation, in the order their groups are chosen.
KINDS: Final[tuple[str, ...]] = ("skipped", "extra", "rework")
#: Expected deviating cases a group is chosen to have (where the log has them); the skipped
#: large-cash control step is injected only where it has that many.
MIN_DEVIATION_CASES: Final[float] = 20.0
#: The control step preferred for a skip: every case of a type with an SOP has it.
PREFERRED_CONTROL: Final[str] = "Check signature and stamp"
#: The SOP's ``required_when`` of the steps that cash of 50,000 CNY or more brings (on a type
#: whose every case handles cash).
LARGE_CASH_REQUIRED: Final[tuple[tuple[str, str, float], ...]] = (
    ("amount", ">=", float(LARGE_AMOUNT)),)
#: Steps a teller may add to a type that has none of them, most plausible first (teller steps,
#: no control step, none the generator treats by name).
EXTRA_STEPS: Final[tuple[str, ...]] = (
    "Print statement", "Update passbook", "Scan documents", "Review forms", "Set up e-banking",
)
#: A template slot that is not a real slot (no step follows it): -1.
_NO_SLOT: Final[int] = -1


@dataclass
class Deviation:
    """An injected deviation: one teller's cases of one type skip, add or repeat one step."""

    kind: str  # "skipped" | "extra" | "rework"
    teller: int
    branch: int
    type_idx: int
    act: int
    slot: int  # the template slot skipped or repeated; an extra step's own (appended) slot
    after: int = _NO_SLOT  # an extra step: the template slot it follows
    control: bool = False


@dataclass
class Background:
    """A chunk's background deviations: (transaction, template slot) of each skip and rework."""

    skip_txn: Arr
    skip_slot: Arr
    rework_txn: Arr
    rework_slot: Arr

    def drop(self, txn: Arr, slot: int) -> None:
        """Forget the background skip or rework of ``slot`` in the transactions ``txn``."""
        keep = ~(np.isin(self.skip_txn, txn) & (self.skip_slot == slot))
        self.skip_txn, self.skip_slot = self.skip_txn[keep], self.skip_slot[keep]
        keep = ~(np.isin(self.rework_txn, txn) & (self.rework_slot == slot))
        self.rework_txn, self.rework_slot = self.rework_txn[keep], self.rework_slot[keep]

    def named(self, tmpl_act: Arr, ttype: Arr, case_ids: Callable[[Arr], list[str]]
              ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The skips and the reworks as (case id, activity) pairs."""
        def pairs(txn: Arr, slot: Arr) -> list[tuple[str, str]]:
            acts = tmpl_act[ttype[txn], slot]
            return list(zip(case_ids(txn), (ACTIVITY_NAMES[a] for a in acts), strict=True))

        return pairs(self.skip_txn, self.skip_slot), pairs(self.rework_txn, self.rework_slot)


@dataclass
class ChunkDeviations:
    """What a chunk's deviations were, for the truth."""

    skipped: list[tuple[str, str]] = field(default_factory=list)  # background (case, activity)
    rework: list[tuple[str, str]] = field(default_factory=list)
    cases: list[list[str]] = field(default_factory=list)  # per injected group
    eligible: list[int] = field(default_factory=list)  # per group: the cases it could hit


# -- choosing the groups -------------------------------------------------------------------------


def sop_steps() -> dict[str, dict[str, SopStep]]:
    """By business type governed by an SOP of the bundled library: its steps by activity (an
    alternative activity of a step too)."""
    from procmine.core.paths import bundled_path
    from procmine.sop.document import load_sops

    steps: dict[str, dict[str, SopStep]] = {}
    for sop in load_sops(bundled_path("sops")).values():
        for code in sop.business_types:
            for s in sop.steps_for(code):
                steps.setdefault(code, {}).update(dict.fromkeys(s.activities, s))
    return steps


@dataclass(frozen=True)
class _Option:
    """A step a group could deviate at: p is the probability that a case of the type has it."""

    type_idx: int
    slot: int
    act: int
    p: float
    after: int = _NO_SLOT


def _options(templates: list[list[Slot]], profiles: list[Profile], codes: list[str]
             ) -> dict[str, list[_Option]]:
    """By kind ("skipped", "large_cash", "extra", "rework"): every type x step it could be."""
    sop = sop_steps()
    out: dict[str, list[_Option]] = {"skipped": [], "large_cash": [], "extra": [], "rework": []}
    for ti, (slots, profile) in enumerate(zip(templates, profiles, strict=True)):
        governed = sop.get(codes[ti])
        if not governed:
            continue
        names = [s.activity for s in slots]
        extra = [a for a in EXTRA_STEPS if a not in names and a not in governed][:1]
        for i, (s, p) in enumerate(zip(slots, slot_probabilities(slots, profile), strict=True)):
            step = governed.get(s.activity)
            fixed = (s.cond == ALWAYS and step is not None and step.activity == s.activity
                     and not (step.conditional or step.optional))
            control = s.activity in CONTROL and step is not None and step.control
            if fixed and control:
                out["skipped"].append(_Option(ti, i, ACTIVITY_INDEX[s.activity], p))
            if (s.cond == LARGE_CASH and control and profile.cash == 1.0 and step is not None
                    and step.required_when is not None
                    and step.required_when.clauses == LARGE_CASH_REQUIRED):
                out["large_cash"].append(_Option(ti, i, ACTIVITY_INDEX[s.activity], p))
            if (fixed and s.activity in REWORKABLE and s.activity not in SKIPPABLE
                    and names.count(s.activity) == 1):
                out["rework"].append(_Option(ti, i, ACTIVITY_INDEX[s.activity], p))
            if fixed and extra and s.activity not in SKIPPABLE and s.activity != CALL:
                out["extra"].append(_Option(ti, len(slots), ACTIVITY_INDEX[extra[0]], 1.0,
                                            after=i))
    preferred = [o for o in out["skipped"] if ACTIVITY_NAMES[o.act] == PREFERRED_CONTROL]
    preferred_types = {o.type_idx for o in preferred}
    out["skipped"] = preferred + [o for o in out["skipped"] if o.type_idx not in preferred_types]
    return out


def _busy_tellers(plan: Plan) -> set[int]:
    """The tellers another injection uses (a branch-wide one: every teller of the branch)."""
    staff, injected = plan.staff, plan.injected
    busy: set[int] = set()
    groups: list[SlowStep | Wait] = [*plan.slow, *injected.conditional, *injected.waits,
                                     *injected.overall]
    for group in groups:
        if group.scope == "teller":
            busy.add(int(group.teller))
        else:
            busy.update(int(j) for j in np.flatnonzero(staff.tel_branch == group.branch))
    return busy


@dataclass
class _Chooser:
    rng: np.random.Generator
    expected: Arr  # (type, teller) expected cases
    share: float

    def cases(self, o: _Option, j: int) -> float:
        return float(self.expected[o.type_idx, j] * o.p * self.share)

    def best(self, options: list[_Option], j: int) -> float:
        return min(max((self.cases(o, j) for o in options), default=0.0), MIN_DEVIATION_CASES)

    def pick(self, options: list[_Option], j: int) -> _Option | None:
        """One of the teller's types with enough cases (of the three best, at random; else the
        best), then one of its options at random."""
        by_type: dict[int, float] = {}
        for o in options:
            by_type[o.type_idx] = max(by_type.get(o.type_idx, 0.0), self.cases(o, j))
        ranked = sorted(by_type, key=lambda ti: -by_type[ti])
        if not ranked or by_type[ranked[0]] <= 0:
            return None
        good = [ti for ti in ranked if by_type[ti] >= MIN_DEVIATION_CASES][:3] or ranked[:1]
        ti = good[int(self.rng.integers(len(good)))]
        mine = [o for o in options if o.type_idx == ti and self.cases(o, j) > 0]
        return mine[int(self.rng.integers(len(mine)))]


def choose_deviations(plan: Plan, type_counts: Arr, p_window: Arr, templates: list[list[Slot]],
                      profiles: list[Profile]) -> list[Deviation]:
    """The injected deviations the settings ask for (stream (seed, 19, 2)): per kind,
    ``deviations`` free tellers, those with the most cases of a governed type first."""
    config, staff = plan.config, plan.staff
    if not config.deviations:
        return []
    rng = np.random.default_rng([config.seed, 19, 2])
    options = _options(templates, profiles, plan.codes)
    chooser = _Chooser(rng, expected_cases(plan, type_counts, p_window),
                       float(config.deviation_share))
    busy = _busy_tellers(plan)
    order = [int(j) for j in rng.permutation(len(staff.teller_ids))]
    free = [j for j in order if j not in busy] or order
    result: list[Deviation] = []

    def add(kind: str, j: int, o: _Option) -> None:
        result.append(Deviation(kind, j, int(staff.tel_branch[j]), o.type_idx, o.act, o.slot,
                                o.after, ACTIVITY_NAMES[o.act] in CONTROL))

    for kind in KINDS:
        for i in range(config.deviations):
            if not free:
                break
            # ties in random order; the first skipping teller: one with large cash cases first
            j = max(free, key=lambda j: (chooser.best(options[kind], j), chooser.best(
                options["large_cash"], j) if (kind, i) == ("skipped", 0) else 0.0))
            o = chooser.pick(options[kind], j)
            if o is None:
                break
            free.remove(j)
            add(kind, j, o)
            large = [x for x in options["large_cash"] if chooser.cases(x, j) >= MIN_DEVIATION_CASES]
            if (kind, i) == ("skipped", 0) and large:
                add(kind, j, large[int(rng.integers(len(large)))])
    return result


def widen_templates(types: TypeArrays, deviations: list[Deviation]) -> None:
    """Give every extra step a slot of its own after the templates' slots (absent unless an
    injection puts it in), ordered right after the slot it follows. The skip and rework flags
    keep the templates' own slots, so the background draws stay as they were."""
    extra = [d for d in deviations if d.kind == "extra"]
    if not extra:
        return
    n_types, m = types.tmpl_act.shape
    order = np.tile(np.arange(m + len(extra), dtype=float), (n_types, 1))
    pad = np.full((n_types, len(extra)), -1, dtype=types.tmpl_act.dtype)
    types.tmpl_act = np.hstack([types.tmpl_act, pad])
    types.tmpl_cond = np.hstack([types.tmpl_cond, np.full_like(pad, -1, types.tmpl_cond.dtype)])
    types.tmpl_sec = np.hstack([types.tmpl_sec, np.zeros(pad.shape)])
    for i, d in enumerate(extra):
        d.slot = m + i
        types.tmpl_act[d.type_idx, d.slot] = d.act
        types.tmpl_sec[d.type_idx, d.slot] = _step_seconds(types, d.act)
        order[d.type_idx, d.slot] = d.after + 0.5 + i / (2 * len(extra) + 1)
    types.tmpl_order = order


def _step_seconds(types: TypeArrays, act: int) -> float:
    """The median seconds of a step where it is on a type's standard path (30 when nowhere)."""
    on_path = (types.tmpl_act == act) & (types.tmpl_cond == ALWAYS)
    return float(np.median(types.tmpl_sec[on_path])) if on_path.any() else 30.0


# -- applied to a chunk ------------------------------------------------------------------------


def apply_deviations(plan: Plan, k: int, ttype: Arr, teller: Arr, cnt: Arr,
                     background: Background) -> list[tuple[int, Arr]]:
    """Apply the injected deviations to chunk ``k``'s step counts (per transaction and slot):
    per group, the number of cases it could hit and the transactions it hit."""
    groups = plan.deviations
    if not groups:
        return []
    rng = np.random.default_rng([plan.config.seed, 19, 3, k])
    draws = rng.random((len(groups), ttype.size))
    result = []
    for g, d in enumerate(groups):
        mine = (teller == d.teller) & (ttype == d.type_idx)
        if d.kind == "skipped":
            mine &= cnt[:, d.slot] > 0
        hit = np.flatnonzero(mine & (draws[g] < plan.config.deviation_share))
        cnt[hit, d.slot] = {"skipped": 0, "extra": 1, "rework": 2}[d.kind]
        background.drop(hit, d.slot)
        result.append((int(mine.sum()), hit))
    return result


def deviations_truth(plan: Plan, chunks: list[ChunkDeviations]) -> dict[str, Any]:
    """``truth["deviations"]``: the settings, the background deviations and the injected groups
    with their cases."""
    staff, share = plan.staff, plan.config.deviation_share
    injected = []
    for g, d in enumerate(plan.deviations):
        eligible = sum(c.eligible[g] for c in chunks)
        cases = sorted(case for c in chunks for case in c.cases[g])
        injected.append({
            "kind": d.kind, "teller_id": staff.teller_ids[d.teller],
            "branch_id": staff.branch_ids[d.branch], "business_type": plan.codes[d.type_idx],
            "activity": ACTIVITY_NAMES[d.act], "control": d.control,
            **({"after": ACTIVITY_NAMES[plan.types.tmpl_act[d.type_idx, d.after]]}
               if d.kind == "extra" else {}),
            "share": share, "eligible_cases": eligible,
            "actual_share": round(len(cases) / eligible, 4) if eligible else None,
            "cases": cases,
        })
    return {
        "settings": {"deviations": plan.config.deviations, "deviation_share": share},
        "background": {
            "skipped": sorted([list(p) for c in chunks for p in c.skipped]),
            "rework": sorted([list(p) for c in chunks for p in c.rework]),
        },
        "injected": injected,
    }

