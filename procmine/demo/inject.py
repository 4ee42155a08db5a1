"""The injected anomalies of a demo log, the truth its findings are checked against.

Chosen once per log by :func:`~procmine.demo.plan.make_plan`, applied by
:mod:`procmine.demo.simulate`:

* **slow steps** (:func:`choose_slow_steps`): a few teller x business type x step combinations
  slowed 2.0-3.0 times, one business type x step at every teller of one branch 2.0 times, on
  common types; never on a revised step. They draw from the plan's random stream, in this order.
* **the injections of** :class:`~procmine.demo.config.DemoConfig` (:func:`choose_injections`),
  off by default, drawn from streams of their own (seed, 19, k) so that a log without them is
  the same, to the byte, as before they existed:

  - *conditional slow steps*: tellers ``conditional_factor`` times slower at one step of a common
    type only when the step starts at 15:00 or later (the "closing" hour band);
  - *waits*: ``wait_seconds`` of waiting before one step, the step itself unchanged, at some
    tellers and at every teller of one branch (before the supervisor's authorization where the
    group has enough of them, else before a common teller step);
  - *slow overall*: one branch (or one teller) of typical speed slower at every step;
  - *wrong standards*: every step of a type ``factor`` times as long for everyone, so the
    baseline's standard time is ``factor`` times too low;
  - *habits*: each teller's own pace at each teller step drawn log-uniform up to ``habits``
    (in place of the small personal deviations): variation, not an anomaly.

Each group is chosen where the log has enough of its cases (at least
:data:`MIN_INJECTED_CASES` expected where the log is big enough: for a conditional group, about
400,000 events with the 48 tellers of the default), preferring tellers of typical speed, at
tellers no other injection uses (a slow branch's tellers included); a branch-wide group's type
x step is no other group's, tellers' groups may share one (at different tellers).

Example:
    >>> from procmine.demo.config import DemoConfig
    >>> from procmine.demo.plan import make_plan
    >>> plan = make_plan(DemoConfig(events=50_000, seed=3, slow_branch=1.3, waits=1))
    >>> [(s.scope, s.factor) for s in plan.injected.overall]
    [('branch', 1.3)]
    >>> sorted(w.scope for w in plan.injected.waits)
    ['branch', 'teller']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from procmine.demo.activities import (
    ACTIVITIES,
    ACTIVITY_INDEX,
    ACTIVITY_NAMES,
    AUTHORIZE,
    CALL,
    SKIPPABLE,
)
from procmine.demo.model import (
    ARRIVALS,
    BIN_MS,
    MAX_DRIFT,
    MIN_CASES_FOR_SLOW,
    OPEN_SECONDS,
    slot_probabilities,
)
from procmine.demo.profiles import ALWAYS, Profile
from procmine.demo.steps import Slot

if TYPE_CHECKING:
    from procmine.demo.plan import Plan

__all__ = [
    "CLOSING_MS",
    "ChunkInjections",
    "Injected",
    "SlowStep",
    "Wait",
    "choose_injections",
    "choose_slow_steps",
    "draw_habits",
]

Arr = npt.NDArray[Any]

#: The "closing" hour band starts at 15:00: milliseconds after the counter opens.
CLOSING_MS: Final[int] = (15 * 3600 - OPEN_SECONDS) * 1000
#: The share of the day's calls from 15:00 on, by the arrival profile.
CLOSING_SHARE: Final[float] = sum(ARRIVALS[CLOSING_MS // BIN_MS:]) / sum(ARRIVALS)
#: Expected cases an injected group (in its hour band, for a conditional one) is chosen to have.
MIN_INJECTED_CASES: Final[float] = 60.0


@dataclass
class SlowStep:
    """An injected slow step: one teller's (or branch's) step of one type, ``factor`` slower.

    A slow-overall group has ``type_idx`` and ``act`` -1: every step of every type.
    """

    scope: str
    teller: int  # -1 for branch scope
    branch: int
    type_idx: int
    act: int
    factor: float


@dataclass
class Wait:
    """An injected wait: ``seconds`` more before one teller's (or branch's) step of one type."""

    scope: str
    teller: int  # -1 for branch scope
    branch: int
    type_idx: int
    act: int
    seconds: float


@dataclass
class Injected:
    """The injections of :class:`~procmine.demo.config.DemoConfig` in index form."""

    conditional: list[SlowStep] = field(default_factory=list)  # from 15:00 only
    waits: list[Wait] = field(default_factory=list)
    overall: list[SlowStep] = field(default_factory=list)
    wrong: dict[int, float] = field(default_factory=dict)  # type index -> factor


# -- the injected slow steps (drawn from the plan's own stream) ---------------------------------


def choose_slow_steps(plan: Plan, rng: np.random.Generator, type_counts: Arr, p_window: Arr,
                       templates: list[list[Slot]]) -> list[SlowStep]:
    """Pick the injected slow steps: common types, material teller steps, enough cases each.

    A few tellers (those of typical speed whose common types have enough cases come first) are
    slowed 2.0-3.0 times at one step of one of their common types; then, per branch slow step,
    every teller of one branch (of typical speed) 2.0 times at one step of a common type.
    """
    expected = expected_cases(plan, type_counts, p_window)
    steps_of = eligible_steps(plan, templates)
    effective = effective_speed(plan)
    used_pairs: set[tuple[int, int]] = set()
    slow = _teller_slow_steps(plan, rng, expected, steps_of, effective, used_pairs)
    slow += _branch_slow_steps(plan, rng, expected, steps_of, effective, used_pairs)
    return slow


def expected_cases(plan: Plan, type_counts: Arr, p_window: Arr) -> Arr:
    """(type, teller): expected cases of each type per teller: the type's volume at the teller's
    window, shared by the teller's working weight within that window."""
    staff = plan.staff
    n_tel = len(staff.teller_ids)
    p_eff = np.zeros_like(p_window)
    for w in range(3):
        p_eff[:, staff.window_map[w]] += p_window[:, w]
    tel_weight = np.bincount(plan.calendar.td_teller, weights=plan.calendar.td_weight,
                             minlength=n_tel)
    window_weight = np.bincount(staff.tel_window, weights=tel_weight, minlength=3)
    tel_share = tel_weight / np.maximum(window_weight[staff.tel_window], 1e-12)
    result: Arr = (type_counts[:, None] * p_eff[:, staff.tel_window]) * tel_share[None, :]
    return result


def eligible_steps(plan: Plan, templates: list[list[Slot]]) -> dict[int, list[int]]:
    """By type: its material teller steps of the standard path (at least 10% of the standard
    time; not the call, not a skippable step)."""
    # a slow step on a revised step would blur both stories: the revised steps are left out
    revised = {(r.type_idx, r.act) for r in plan.revised}

    def eligible_steps(ti: int) -> list[int]:
        standard = sum(s.seconds for s in templates[ti] if s.cond == ALWAYS)
        return [
            ACTIVITY_INDEX[s.activity]
            for s in templates[ti]
            if s.cond == ALWAYS
            and (ti, ACTIVITY_INDEX[s.activity]) not in revised
            and ACTIVITIES[s.activity].actor == "teller"
            and s.activity not in SKIPPABLE
            and s.activity != CALL
            and s.seconds >= 0.1 * standard
        ]

    return {ti: eligible_steps(ti) for ti in range(len(plan.codes))}


def _teller_slow_steps(plan: Plan, rng: np.random.Generator, expected: Arr,
                       steps_of: dict[int, list[int]], effective: Arr,
                       used_pairs: set[tuple[int, int]]) -> list[SlowStep]:
    staff = plan.staff
    n_tel = len(staff.teller_ids)
    order = rng.permutation(n_tel)
    typical = [j for j in order if 0.95 <= effective[j] <= 1.15]
    others = [j for j in order if not 0.95 <= effective[j] <= 1.15]
    # tellers whose common types have enough cases come first
    candidates = sorted(
        typical + others,
        key=lambda j: (
            -min(float(expected[:, j].max()), MIN_CASES_FOR_SLOW),
            0 if j in typical else 1,
        ),
    )
    slow = []
    for j in candidates[: min(plan.config.slow_steps, n_tel)]:
        ranked = [ti for ti in np.argsort(-expected[:, j], kind="stable") if steps_of[int(ti)]]
        good = [ti for ti in ranked if expected[ti, j] >= MIN_CASES_FOR_SLOW][:3] or ranked[:1]
        ti = int(good[rng.integers(len(good))])
        act = int(steps_of[ti][rng.integers(len(steps_of[ti]))])
        factor = round(float(rng.uniform(2.0, 3.0)), 2)
        slow.append(SlowStep("teller", int(j), int(staff.tel_branch[j]), ti, act, factor))
        used_pairs.add((ti, act))
        # the injected factor is the whole story: no personal quickness at that step hides it
        staff.step_dev[j, act] = max(1.0, staff.step_dev[j, act])
    return slow


def _branch_slow_steps(plan: Plan, rng: np.random.Generator, expected: Arr,
                       steps_of: dict[int, list[int]], effective: Arr,
                       used_pairs: set[tuple[int, int]]) -> list[SlowStep]:
    """Branch-wide: one branch's tellers all slow at one step of a common type."""
    staff, branches = plan.staff, plan.config.branches
    branch_expected = np.zeros((len(plan.codes), branches))
    for b in range(branches):
        branch_expected[:, b] = expected[:, staff.tel_branch == b].sum(axis=1)
    # a branch whose tellers are of typical speed, so the factor shows undiluted
    branch_speed = np.array(
        [np.median(effective[staff.tel_branch == b]) for b in range(branches)]
    )
    branch_pool = [b for b in rng.permutation(branches) if branch_speed[b] >= 0.98]
    branch_pool += [b for b in rng.permutation(branches) if b not in branch_pool]
    slow = []
    for i in range(plan.config.branch_slow_steps):
        b = int(branch_pool[i % len(branch_pool)])
        ranked = [
            int(ti) for ti in np.argsort(-branch_expected[:, b], kind="stable") if steps_of[int(ti)]
        ]
        options = [(ti, a) for ti in ranked[:3] for a in steps_of[ti] if (ti, a) not in used_pairs]
        if not options:
            break
        ti, act = options[rng.integers(len(options))]
        slow.append(SlowStep("branch", -1, b, ti, act, 2.0))
        used_pairs.add((ti, act))
        in_branch = staff.tel_branch == b
        staff.step_dev[in_branch, act] = np.maximum(1.0, staff.step_dev[in_branch, act])
    return slow


def effective_speed(plan: Plan) -> Arr:
    """Every teller's speed factor at the middle of the span (skill and drift)."""
    mid = (len(plan.calendar.months) - 1) / 2
    staff = plan.staff
    result: Arr = staff.skill * np.exp(np.clip(staff.drift * mid, -MAX_DRIFT, MAX_DRIFT))
    return result


# -- the injections of the settings (streams of their own) --------------------------------------


def draw_habits(step_dev: Arr, habits: float, seed: int) -> Arr:
    """Tellers' own pace at each teller step, log-uniform in [1/habits, habits] (stream
    (seed, 19, 0)); steps of other actors stay at 1.0."""
    rng = np.random.default_rng([seed, 19, 0])
    teller_act = np.array([ACTIVITIES[a].actor == "teller" for a in ACTIVITY_NAMES])
    spread = float(np.log(habits))
    result: Arr = np.exp(rng.uniform(-spread, spread, step_dev.shape))
    result[:, ~teller_act] = 1.0
    return result


@dataclass
class _Picking:
    """What the choice of the injected groups reads and keeps track of."""

    plan: Plan
    rng: np.random.Generator
    expected: Arr  # (type, teller) expected cases
    p_act: Arr  # (type, activity) probability that a case has the step
    steps_of: dict[int, list[int]]
    effective: Arr
    used_pairs: set[tuple[int, int]]  # type x step of every injected group
    branch_pairs: set[tuple[int, int]]  # type x step of the branch-wide groups
    busy: set[int]  # tellers already in an injected group
    busy_branches: set[int]

    def options(self, cases_of_type: Arr, share: float, auth_first: bool, branch: bool
                ) -> list[tuple[float, int, int]]:
        """(expected cases, type, activity) of the steps a group could get, best first: the
        supervisor's authorization first when ``auth_first`` and it has enough cases. A teller's
        group may share its type x step with other tellers' groups, never with a branch-wide one
        (a branch-wide group shares it with no other group)."""
        blocked = self.used_pairs if branch else self.branch_pairs
        auth = ACTIVITY_INDEX[AUTHORIZE]
        if auth_first:
            auth_opts = sorted(
                ((float(cases_of_type[ti] * self.p_act[ti, auth] * share), ti, auth)
                 for ti in range(len(cases_of_type)) if (ti, auth) not in blocked),
                reverse=True)
            if auth_opts and auth_opts[0][0] >= MIN_INJECTED_CASES:
                return auth_opts
        opts = [(float(cases_of_type[ti] * self.p_act[ti, a] * share), int(ti), a)
                for ti in np.argsort(-cases_of_type, kind="stable")[:6]
                for a in self.steps_of[int(ti)] if (int(ti), a) not in blocked]
        return sorted(opts, reverse=True)

    def pick(self, opts: list[tuple[float, int, int]], branch: bool) -> tuple[float, int, int]:
        """One of the first few options with enough cases, at random; else the best one."""
        good = [o for o in opts if o[0] >= MIN_INJECTED_CASES][:4] or opts[:1]
        chosen = good[int(self.rng.integers(len(good)))]
        self.used_pairs.add((chosen[1], chosen[2]))
        if branch:
            self.branch_pairs.add((chosen[1], chosen[2]))
        return chosen

    def best(self, cases_of_type: Arr, share: float, auth_first: bool, branch: bool) -> float:
        """The expected cases of the best option, counted up to :data:`MIN_INJECTED_CASES`."""
        opts = self.options(cases_of_type, share, auth_first, branch)
        return min(opts[0][0], MIN_INJECTED_CASES) if opts else 0.0

    def tellers(self, share: float, auth_first: bool) -> list[int]:
        """Free tellers: those with enough cases first, typical speed next, at random."""
        order = [int(j) for j in self.rng.permutation(len(self.effective))]
        free = [j for j in order if j not in self.busy]
        return sorted(free, key=lambda j: (-self.best(self.expected[:, j], share, auth_first,
                                                      False),
                                           not 0.95 <= self.effective[j] <= 1.15))


def choose_injections(plan: Plan, type_counts: Arr, p_window: Arr, templates: list[list[Slot]],
                      profiles: list[Profile]) -> Injected:
    """Choose the groups of the injections the settings ask for (stream (seed, 19, 1))."""
    config = plan.config
    injected = Injected(wrong={plan.codes.index(c): float(f) for c, f in config.wrong_standards})
    if not (config.conditional_slow or config.waits or config.slow_branch or config.slow_teller):
        return injected
    act_p = np.zeros((len(plan.codes), len(ACTIVITY_NAMES)))
    for ti, (slots, profile) in enumerate(zip(templates, profiles, strict=True)):
        for slot, p in zip(slots, slot_probabilities(slots, profile), strict=True):
            act_p[ti, ACTIVITY_INDEX[slot.activity]] = min(1.0, act_p[ti, ACTIVITY_INDEX[
                slot.activity]] + p)
    picking = _Picking(
        plan=plan, rng=np.random.default_rng([config.seed, 19, 1]),
        expected=expected_cases(plan, type_counts, p_window), p_act=act_p,
        steps_of=eligible_steps(plan, templates), effective=effective_speed(plan),
        used_pairs={(s.type_idx, s.act) for s in plan.slow},
        branch_pairs={(s.type_idx, s.act) for s in plan.slow if s.scope == "branch"},
        busy={s.teller for s in plan.slow if s.scope == "teller"},
        busy_branches={s.branch for s in plan.slow if s.scope == "branch"},
    )
    if config.slow_teller is not None:
        injected.overall.append(_slow_teller(picking, float(config.slow_teller)))
    if config.slow_branch is not None:
        injected.overall.insert(0, _slow_branch(picking, float(config.slow_branch)))
    for j in picking.tellers(CLOSING_SHARE, False)[: config.conditional_slow]:
        _, ti, act = picking.pick(
            picking.options(picking.expected[:, j], CLOSING_SHARE, False, False), False)
        injected.conditional.append(SlowStep("teller", j, int(plan.staff.tel_branch[j]), ti, act,
                                             float(config.conditional_factor)))
        picking.busy.add(j)
        # the injected factor is the whole story: no personal quickness at that step hides it
        plan.staff.step_dev[j, act] = max(1.0, plan.staff.step_dev[j, act])
    if config.waits:
        injected.waits = _waits(picking, float(config.wait_seconds))
    return injected


def _slow_branch(picking: _Picking, factor: float) -> SlowStep:
    """A branch of typical-speed tellers (not one with a branch slow step or the slow teller),
    every step slow."""
    staff = picking.plan.staff
    speed = [float(np.median(picking.effective[staff.tel_branch == b]))
             for b in range(len(staff.branch_ids))]
    order = [int(b) for b in picking.rng.permutation(len(speed))]
    free = [b for b in order if b not in picking.busy_branches] or order
    volume = np.array([picking.expected[:, staff.tel_branch == b].sum()
                       for b in range(len(speed))])
    few = volume < 0.8 * np.median(volume)  # e.g. a branch that reports from a later date
    b = min(free, key=lambda b: (not 0.97 <= speed[b] <= 1.06, bool(few[b]),
                                 abs(speed[b] - 1.0)))
    picking.busy_branches.add(b)
    picking.busy.update(int(j) for j in np.flatnonzero(staff.tel_branch == b))
    return SlowStep("branch", -1, b, -1, -1, factor)


def _slow_teller(picking: _Picking, factor: float) -> SlowStep:
    """A teller of typical speed (the closest to 1.0 if none is left), at a regular window
    where possible, every step slow; the slow branch will be another one."""
    staff, speed = picking.plan.staff, picking.effective
    free = [int(j) for j in picking.rng.permutation(len(staff.teller_ids))
            if int(j) not in picking.busy] or [0]
    volume = picking.expected.sum(axis=0)
    usual = np.array([np.median(volume[staff.tel_window == w]) for w in staff.tel_window])
    few = volume < 0.8 * usual  # e.g. at a branch that reports from a later date
    j = min(free, key=lambda j: (abs(np.log(speed[j])) > np.log(1.06),
                                 int(staff.tel_window[j]) != 0, bool(few[j]),
                                 abs(np.log(speed[j]))))
    picking.busy.add(j)
    picking.busy_branches.add(int(staff.tel_branch[j]))
    return SlowStep("teller", j, int(staff.tel_branch[j]), -1, -1, factor)


def _waits(picking: _Picking, seconds: float) -> list[Wait]:
    """Tellers waiting before one step each, then every teller of one branch."""
    plan, config = picking.plan, picking.plan.config
    staff = plan.staff
    waits = []
    for j in picking.tellers(1.0, True)[: config.waits]:
        _, ti, act = picking.pick(picking.options(picking.expected[:, j], 1.0, True, False),
                                  False)
        waits.append(Wait("teller", j, int(staff.tel_branch[j]), ti, act, seconds))
        picking.busy.add(j)
    branches = [int(b) for b in picking.rng.permutation(len(staff.branch_ids))]
    for _ in range(config.wait_branches):
        free = [b for b in branches if b not in picking.busy_branches]
        if not free:
            break
        cases = {b: picking.expected[:, staff.tel_branch == b].sum(axis=1) for b in free}
        b = max(free, key=lambda b: picking.best(cases[b], 1.0, True, True))
        _, ti, act = picking.pick(picking.options(cases[b], 1.0, True, True), True)
        waits.append(Wait("branch", -1, b, ti, act, seconds))
        picking.busy_branches.add(b)
    return waits


# -- applied to the rows of a chunk (no random draws) -------------------------------------------


def step_factors(injected: Injected, row_type: Arr, row_teller: Arr, row_branch: Arr
                 ) -> Arr | None:
    """Every row's duration multiplier from the slow-overall groups and the wrong standards
    (None when there are none)."""
    if not injected.overall and not injected.wrong:
        return None
    factor = np.ones(row_type.size)
    for s in injected.overall:
        factor[(row_teller == s.teller) if s.scope == "teller" else (row_branch == s.branch)] *= (
            s.factor)
    for ti, f in injected.wrong.items():
        factor[row_type == ti] *= f
    return factor


def group_rows(group: SlowStep | Wait, row_type: Arr, row_act: Arr, row_teller: Arr,
               row_branch: Arr) -> Arr:
    """The rows of one group's step."""
    hit: Arr = (row_act == group.act) & (row_type == group.type_idx)
    hit &= (row_teller == group.teller) if group.scope == "teller" else (row_branch == group.branch)
    return hit


class ChunkInjections:
    """The waits and the conditional slow steps on a chunk's rows (no random draws: the chunk's
    stream stays as it is without them). The rows' transaction, type, activity, teller and
    branch; ``gap_ms`` (the gap before each row) grows by the waits."""

    def __init__(self, plan: Plan, row_txn: Arr, where: tuple[Arr, Arr, Arr, Arr],
                 gap_ms: Arr) -> None:
        injected = plan.injected
        self.row_txn = row_txn
        self.wait_cases = []
        for w in injected.waits:  # a wait before the step: the gap before it grows
            hit = group_rows(w, *where)
            gap_ms[hit] += round(w.seconds * 1000)
            self.wait_cases.append(int(np.unique(row_txn[hit]).size))
        self.groups = [(group_rows(s, *where), s.factor) for s in injected.conditional]
        self.applied = np.zeros(row_txn.size, dtype=bool)

    def slow_from_closing(self, dur_ms: Arr, start_rel: Arr) -> bool:
        """Slow the groups' steps that start at 15:00 or later (``start_rel``: ms after opening)
        and not slowed yet; True when any was (the times then move on: the caller recomputes
        them until none is left, slower steps only ever start later)."""
        changed = False
        for hit, factor in self.groups:
            new = hit & ~self.applied & (start_rel >= CLOSING_MS)
            if new.any():
                dur_ms[new] = np.rint(dur_ms[new] * factor).astype(np.int64)
                self.applied |= new
                changed = True
        return changed

    def conditional_cases(self) -> list[int]:
        """Per conditional group: the cases with the step slowed (started from 15:00)."""
        return [int(np.unique(self.row_txn[hit & self.applied]).size) for hit, _ in self.groups]
