"""The plan of a demo log: everything decided before simulating a single transaction.

:func:`make_plan` turns a :class:`~procmine.demo.config.DemoConfig` into arrays the simulation
reads (:mod:`procmine.demo.simulate`), in this order (the random draws too, so a seed always
gives the same log):

1. **Business types**: every type's template of steps (:mod:`procmine.demo.steps`) padded to
   one array, its cash and amount parameters, its customer mix and its share of transactions;
   the number of transactions is what the wanted number of events needs.
2. **Windows**: every branch has regular, VIP and corporate windows, sized to their expected
   workload (a branch of one teller has only a regular window).
3. **Tellers**: a speed factor (lognormal around 1.0, sd about 0.12), a small monthly drift, a
   personal deviation at each teller step (about 5%), and a busyness factor per branch.
4. **Calendar**: business days Monday to Saturday over whole months from ``start``: at least
   two months, more when many events are asked for, so that tellers carry a realistic daily
   load; a small log keeps that load by sampling business days evenly across the two months.
   With ``days`` the calendar days asked for instead (sampled the same way).
5. **Teller-days**: who works which day (on Saturdays and the fixed-date public holidays about
   half the tellers, and no corporate counter), weighted by how busy the day and the teller are.
6. **Chunks**: consecutive days of one month, a few hundred thousand rows each, and every type's
   transactions shared over them by the chunks' capacity at the type's windows.
7. **Revisions**: the day index from which each branch is on each revision.
8. **Slow steps** (the truth): a few teller x business type x step combinations slowed 2.0-3.0
   times, and one business type x step at every teller of one branch 2.0 times, on types common
   enough to be found; never on a revised step. Then the other injections the settings ask for,
   from random streams of their own (:mod:`procmine.demo.inject`), and the injected deviations
   from the SOP (:mod:`procmine.demo.deviations`).

Example:
    >>> plan = make_plan(DemoConfig(events=5_000, seed=1))
    >>> len(plan.staff.teller_ids), len(plan.calendar.months), len(plan.slow)
    (48, 2, 7)
"""

from __future__ import annotations

import bisect
import calendar
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from procmine.core.baseline import Baseline, load_baseline
from procmine.demo.activities import (
    ACTIVITIES,
    ACTIVITY_INDEX,
    ACTIVITY_NAMES,
    ACTOR_EXPONENT,
    COUNT,
    RECOUNT,
    REWORKABLE,
    SKIPPABLE,
)
from procmine.demo.config import DemoConfig, DemoError, Revision
from procmine.demo.deviations import Deviation, choose_deviations, widen_templates
from procmine.demo.inject import (
    Injected,
    SlowStep,
    choose_injections,
    choose_slow_steps,
    draw_habits,
)
from procmine.demo.model import (
    BREAK_MS,
    CHUNK_ROWS,
    DAY_MS,
    EPOCH,
    HOLIDAYS,
    OPEN_SECONDS,
    TARGET_UTILISATION,
    expected_occupancy,
    expected_rows,
)
from procmine.demo.profiles import ALWAYS, SEGMENT_MIX, VIP_PROB, Profile, profile_for
from procmine.demo.steps import Slot, template

Arr = npt.NDArray[Any]


@dataclass
class TypeArrays:
    """Per business type (rows in the baseline's order): templates padded to the longest."""

    tmpl_act: Arr  # (types, slots) activity index, -1 past the template's end
    tmpl_cond: Arr
    tmpl_sec: Arr
    tmpl_skip: Arr
    tmpl_rework: Arr
    cash_p: Arr
    has_amount: Arr
    amt_med: Arr
    amt_sigma: Arr
    amt_min: Arr
    amt_unit: Arr
    seg_cum: Arr  # cumulative customer segment mix
    occupancy: Arr  # expected seconds a transaction keeps the teller busy
    # the slots' order in a transaction, where injected extra steps were given slots after the
    # templates' own (None: slot order); tmpl_skip and tmpl_rework keep the templates' slots
    tmpl_order: Arr | None = None


@dataclass
class Staff:
    """Branches, tellers and their windows; the tellers' speed."""

    teller_ids: list[str]
    branch_ids: list[str]
    tel_branch: Arr
    tel_window: Arr
    skill: Arr
    drift: Arr
    step_dev: Arr  # (tellers, activities) personal deviation at each step
    window_map: Arr  # window type -> the window type that serves it (none of its own: regular)
    branch_factor: Arr


@dataclass
class Calendar:
    """The days of the log and the teller-days (who works which day, how busy)."""

    days: list[date]
    months: list[str]
    day_month: Arr
    td_day: Arr
    td_teller: Arr
    td_weight: Arr
    td_open_ms: Arr
    sampled_days: bool


@dataclass
class Revised:
    """A revision in index form."""

    type_idx: int
    act: int
    factor: float
    from_day: Arr  # per branch: index of the first day on the revision (len(days): never)


@dataclass
class Plan:
    """Everything the simulation of the chunks reads."""

    config: DemoConfig
    baseline: Baseline
    codes: list[str]
    types: TypeArrays
    staff: Staff
    calendar: Calendar
    chunks: list[tuple[int, int, int]]  # (td_lo, td_hi, month index)
    chunk_counts: Arr  # (n_chunks, n_types)
    revised: list[Revised]
    actor_exp: Arr
    count_like: Arr
    slow: list[SlowStep] = field(default_factory=list)
    injected: Injected = field(default_factory=Injected)
    deviations: list[Deviation] = field(default_factory=list)


def make_plan(config: DemoConfig) -> Plan:
    """Validate ``config`` and decide types, windows, tellers, days, chunks and slow steps."""
    config.check()
    baseline = config.baseline if config.baseline is not None else load_baseline()
    _validate_revisions(config, baseline)
    rng = np.random.default_rng([config.seed, 0])
    codes = baseline.codes
    profiles = [profile_for(c, baseline) for c in codes]
    templates = [template(c, baseline) for c in codes]
    types = _type_arrays(profiles, templates)
    seg_mix = np.array([SEGMENT_MIX[p.segment] for p in profiles])
    type_counts = _transactions_wanted(config.events, profiles, templates)
    p_window = _window_probabilities(seg_mix)
    workload = (type_counts * types.occupancy) @ p_window  # seconds per window type
    per_window = _size_windows(config.tellers_per_branch, workload)
    staff = _draw_tellers(config, per_window, rng)
    if config.habits is not None:
        staff.step_dev = draw_habits(staff.step_dev, float(config.habits), config.seed)
    days, sampled = _choose_days(config, per_window, staff.window_map, workload)
    cal = _teller_days(config, staff, days, sampled, rng)
    chunks, chunk_counts = _chunks(config.events, cal, staff, seg_mix[:, 3] > 0.5, type_counts)
    plan = Plan(
        config=config,
        baseline=baseline,
        codes=codes,
        types=types,
        staff=staff,
        calendar=cal,
        chunks=chunks,
        chunk_counts=chunk_counts,
        revised=_revised_steps(config, codes, staff.branch_ids, days),
        actor_exp=np.array([ACTOR_EXPONENT[ACTIVITIES[a].actor] for a in ACTIVITY_NAMES]),
        count_like=np.isin(
            np.arange(len(ACTIVITY_NAMES)), [ACTIVITY_INDEX[COUNT], ACTIVITY_INDEX[RECOUNT]]
        ),
    )
    plan.slow = choose_slow_steps(plan, rng, type_counts, p_window, templates)
    plan.injected = choose_injections(plan, type_counts, p_window, templates, profiles)
    plan.deviations = choose_deviations(plan, type_counts, p_window, templates, profiles)
    widen_templates(plan.types, plan.deviations)
    return plan


def _validate_revisions(config: DemoConfig, baseline: Baseline) -> None:
    """Every revision names a type of the baseline, a step of that type and known branches;
    so do the wrong standards and the branch starts."""
    branch_ids = [f"B{b + 1:02d}" for b in range(config.branches)]
    for code, _ in config.wrong_standards:
        if code not in baseline:
            raise DemoError(f"wrong standard: business type {code!r} is not in the baseline "
                            f"({baseline.source.name})")
    for branch, _ in config.branch_starts:
        if branch not in branch_ids:
            raise DemoError(f"branch start: branch {branch} is not in the log, which has "
                            f"{branch_ids[0]} to {branch_ids[-1]}")
    for i, r in enumerate(config.revisions, start=1):
        if not isinstance(r, Revision):
            raise DemoError(f"revision {i}: expected a Revision, not {type(r).__name__}")
        where = f"revision {i} ({r.business_type} {r.activity!r})"
        if r.business_type not in baseline:
            raise DemoError(f"{where}: business type {r.business_type!r} is not in the baseline "
                            f"({baseline.source.name})")
        steps = list(dict.fromkeys(s.activity for s in template(r.business_type, baseline)))
        if r.activity not in steps:
            raise DemoError(f"{where}: {r.activity!r} is not a step of {r.business_type}; its "
                            f"steps are: {', '.join(steps)}")
        unknown = sorted(set(r.branches or ()) - set(branch_ids))
        if unknown:
            raise DemoError(f"{where}: branch {', '.join(unknown)} is not in the log, which has "
                            f"{branch_ids[0]} to {branch_ids[-1]}")


def _type_arrays(profiles: list[Profile], templates: list[list[Slot]]) -> TypeArrays:
    """Templates as padded arrays, with each type's cash, amount and customer parameters."""
    n_types, m = len(templates), max(len(t) for t in templates)
    tmpl_act = np.full((n_types, m), -1, dtype=np.int16)
    tmpl_cond = np.full((n_types, m), ALWAYS, dtype=np.int8)
    tmpl_sec = np.zeros((n_types, m))
    tmpl_skip = np.zeros((n_types, m), dtype=bool)
    tmpl_rework = np.zeros((n_types, m), dtype=bool)
    for i, slots in enumerate(templates):
        for j, s in enumerate(slots):
            tmpl_act[i, j] = ACTIVITY_INDEX[s.activity]
            tmpl_cond[i, j] = s.cond
            tmpl_sec[i, j] = s.seconds
            tmpl_skip[i, j] = s.cond == ALWAYS and s.activity in SKIPPABLE
            tmpl_rework[i, j] = s.activity in REWORKABLE
    amounts = [p.amount or (0.0, 0.0, 0.0, 1.0) for p in profiles]
    seg_cum = np.cumsum(np.array([SEGMENT_MIX[p.segment] for p in profiles]), axis=1)
    seg_cum[:, -1] = 1.0
    return TypeArrays(
        tmpl_act=tmpl_act,
        tmpl_cond=tmpl_cond,
        tmpl_sec=tmpl_sec,
        tmpl_skip=tmpl_skip,
        tmpl_rework=tmpl_rework,
        cash_p=np.array([p.cash for p in profiles]),
        has_amount=np.array([p.amount is not None for p in profiles]),
        amt_med=np.array([a[0] for a in amounts]),
        amt_sigma=np.array([a[1] for a in amounts]),
        amt_min=np.array([a[2] for a in amounts]),
        amt_unit=np.array([a[3] for a in amounts]),
        seg_cum=seg_cum,
        occupancy=np.array(
            [expected_occupancy(t, p) for t, p in zip(templates, profiles, strict=True)]
        ),
    )


def _transactions_wanted(events: int, profiles: list[Profile],
                         templates: list[list[Slot]]) -> Arr:
    """Transactions of each type: as many as ``events`` rows need, shared by the types' weights."""
    weights = np.array([p.weight for p in profiles], dtype=float)
    weights /= weights.sum()
    rows_per_txn = np.array(
        [expected_rows(t, p) for t, p in zip(templates, profiles, strict=True)]
    )
    n_txn = max(1, round(events / float(weights @ rows_per_txn)))
    return _allocate(n_txn, weights, at_least_one=True)


def _allocate(total: int, weights: Arr, at_least_one: bool) -> Arr:
    """Integer counts summing to ``total``, proportional to ``weights`` (largest remainder)."""
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    if at_least_one and total >= len(weights):
        counts = np.maximum(counts, 1)
    diff = total - int(counts.sum())
    if diff > 0:
        order = np.argsort(-(exact - np.floor(exact)), kind="stable")
        counts[order[:diff]] += 1
    elif diff < 0:
        order = np.argsort(-counts, kind="stable")
        i = 0
        while diff < 0:
            j = order[i % len(order)]
            if counts[j] > 1:
                counts[j] -= 1
                diff += 1
            i += 1
    return counts


def _window_probabilities(seg_mix: Arr) -> Arr:
    """(types, 3): the probability that a transaction of a type goes to each window type."""
    p_window = np.zeros((seg_mix.shape[0], 3))
    p_window[:, 1] = seg_mix @ np.array(VIP_PROB)
    p_window[:, 2] = seg_mix[:, 3]
    p_window[:, 0] = 1 - p_window[:, 1] - p_window[:, 2]
    return p_window


def _size_windows(t: int, workload: Arr) -> list[int]:
    """Tellers of a branch at regular, VIP and corporate windows, by their share of the work."""
    share = workload / workload.sum()
    if t == 1:
        return [1, 0, 0]
    if t == 2:
        return [1, 0, 1] if share[2] >= share[1] else [1, 1, 0]
    n_corp = max(1, round(t * share[2])) if share[2] > 0 else 0
    n_vip = max(1, round(t * share[1])) if share[1] > 0 else 0
    while t - n_corp - n_vip < 1:
        if n_vip >= n_corp:
            n_vip -= 1
        else:
            n_corp -= 1
    return [t - n_corp - n_vip, n_vip, n_corp]


def _draw_tellers(config: DemoConfig, per_window: list[int], rng: np.random.Generator) -> Staff:
    """Tellers by branch and window, with their speed, drift and personal step deviations."""
    t = config.tellers_per_branch
    n_tel = config.branches * t
    teller_act = np.array([ACTIVITIES[a].actor == "teller" for a in ACTIVITY_NAMES])
    skill = np.exp(rng.normal(0.0, 0.12, n_tel))
    drift = np.clip(rng.normal(-0.004, 0.01, n_tel), -0.025, 0.02)
    step_dev = np.exp(rng.normal(0.0, 0.05, (n_tel, len(ACTIVITY_NAMES))))
    step_dev[:, ~teller_act] = 1.0
    branch_factor = np.exp(rng.normal(0.0, 0.15, config.branches))
    return Staff(
        teller_ids=[f"{b + 1:02d}{j + 1:02d}" for b in range(config.branches) for j in range(t)],
        branch_ids=[f"B{b + 1:02d}" for b in range(config.branches)],
        tel_branch=np.repeat(np.arange(config.branches), t),
        tel_window=np.tile(np.repeat(np.arange(3), per_window), config.branches),
        skill=skill,
        drift=drift,
        step_dev=step_dev,
        window_map=np.array([0, 1 if per_window[1] else 0, 2 if per_window[2] else 0]),
        branch_factor=branch_factor,
    )


def _choose_days(config: DemoConfig, per_window: list[int], window_map: Arr,
                 workload: Arr) -> tuple[list[date], bool]:
    """Whole months, enough of them for a realistic daily load; a small log samples days."""
    workload_eff = np.zeros(3)
    for w in range(3):
        workload_eff[window_map[w]] += workload[w]
    first = config.start
    while first.weekday() == 6:
        first += timedelta(days=1)
    capacity = (DAY_MS - BREAK_MS) / 1000 * TARGET_UTILISATION
    staff = np.array(per_window, dtype=float) * config.branches
    sat_staff = np.array([0.5 * per_window[0], 0.5 * per_window[1], 0.0]) * config.branches
    def load_of(days: list[date]) -> float:
        n_sat = sum(d.weekday() == 5 or (d.month, d.day) in HOLIDAYS for d in days)
        teller_days = staff * (len(days) - n_sat) * 0.97 + sat_staff * n_sat
        return float(np.divide(
            workload_eff, teller_days * capacity, out=np.zeros(3), where=teller_days > 0
        ).max())

    months = 2
    if config.days is not None:  # the calendar days asked for, at a realistic daily load
        days = _business_days(first, config.start + timedelta(days=config.days - 1))
        load = load_of(days) if days else math.inf
        if load > 1.0:
            raise DemoError(f"{config.days} days from {config.start} cannot take {config.events:,}"
                            f" events at a realistic daily load ({load:.1f} times the counters' "
                            "capacity): ask for more days or fewer events")
    while config.days is None:
        days = _business_days(first, _add_months(first, months - 1))
        load = load_of(days)
        if load <= 1.0:
            break
        months += 1
    if months == 2 and load < 0.5:
        k = max(2, math.ceil(len(days) * load / 0.85))
        if k < len(days):
            idx = np.unique(np.round(np.linspace(0, len(days) - 1, k)).astype(int))
            return [days[i] for i in idx], True
    return days, False


def _business_days(first: date, last: date) -> list[date]:
    days = []
    d = first
    while d <= last:
        if d.weekday() < 6:
            days.append(d)
        d += timedelta(days=1)
    return days


def _add_months(d: date, months: int) -> date:
    """The last day of the month ``months`` after d's month (0 = d's own month)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def _teller_days(config: DemoConfig, staff: Staff, days: list[date], sampled: bool,
                 rng: np.random.Generator) -> Calendar:
    """Who works which day, and how busy the day and the teller are."""
    n_days, n_tel = len(days), len(staff.teller_ids)
    present = np.ones((n_days, n_tel), dtype=bool)
    day_factor = np.ones(n_days)
    weekday_factor = (1.12, 1.0, 0.95, 0.95, 1.08, 1.1)
    for di, d in enumerate(days):
        day_factor[di] = weekday_factor[d.weekday()]
        last_dom = calendar.monthrange(d.year, d.month)[1]
        if d.day > last_dom - 3:
            day_factor[di] *= 1.12
        elif d.day <= 5:
            day_factor[di] *= 1.06
        if d.weekday() == 5 or (d.month, d.day) in HOLIDAYS:
            present[di] = (staff.tel_window != 2) & (rng.random(n_tel) < 0.5)
            for b in range(config.branches):
                regular = np.flatnonzero((staff.tel_branch == b) & (staff.tel_window == 0))
                if not present[di, regular].any():
                    present[di, rng.choice(regular)] = True
        else:
            present[di] = rng.random(n_tel) >= 0.03
    for branch, first_day in config.branch_starts:  # a branch that reports from a later date
        in_branch = staff.tel_branch == staff.branch_ids.index(branch)
        present[np.ix_([d < first_day for d in days], in_branch)] = False
        if not present[:, in_branch].any():
            raise DemoError(f"branch start: {branch} starts on {first_day}, after the log's last "
                            f"day {days[-1]}")
    td_day, td_teller = np.nonzero(present)
    td_weight = (day_factor[td_day] * staff.branch_factor[staff.tel_branch[td_teller]]
                 / staff.skill[td_teller])
    day_ms = np.array([(d - EPOCH).days for d in days], dtype=np.int64) * 86_400_000
    month_keys = sorted({f"{d.year:04d}{d.month:02d}" for d in days})
    month_index = {k: i for i, k in enumerate(month_keys)}
    return Calendar(
        days=days,
        months=month_keys,
        day_month=np.array([month_index[f"{d.year:04d}{d.month:02d}"] for d in days]),
        td_day=td_day,
        td_teller=td_teller,
        td_weight=td_weight,
        td_open_ms=day_ms[td_day] + OPEN_SECONDS * 1000,
        sampled_days=sampled,
    )


def _chunks(events: int, cal: Calendar, staff: Staff, is_corp: Arr,
            type_counts: Arr) -> tuple[list[tuple[int, int, int]], Arr]:
    """Consecutive days of one month, a few hundred thousand rows each; every type's
    transactions split over the chunks by the chunk's capacity at the type's windows."""
    n_days = len(cal.days)
    rows_per_weight = events / cal.td_weight.sum()
    day_rows = np.bincount(cal.td_day, weights=cal.td_weight, minlength=n_days) * rows_per_weight
    td_bounds = np.searchsorted(cal.td_day, np.arange(n_days + 1))
    chunks: list[tuple[int, int, int]] = []
    lo = 0
    acc = 0.0
    for di in range(n_days):
        acc += day_rows[di]
        end_of_month = di == n_days - 1 or cal.day_month[di + 1] != cal.day_month[di]
        if acc >= CHUNK_ROWS or end_of_month:
            chunks.append((int(td_bounds[lo]), int(td_bounds[di + 1]), int(cal.day_month[di])))
            lo, acc = di + 1, 0.0
    corp_window = int(staff.window_map[2])
    td_corp = staff.tel_window[cal.td_teller] == corp_window
    chunk_w = np.zeros((len(chunks), 2))
    for ci, (a, b, _) in enumerate(chunks):
        chunk_w[ci, 0] = cal.td_weight[a:b][~td_corp[a:b]].sum()
        chunk_w[ci, 1] = cal.td_weight[a:b][td_corp[a:b]].sum()
    chunk_counts = np.zeros((len(chunks), len(type_counts)), dtype=np.int64)
    for ti in range(len(type_counts)):
        col = chunk_w[:, 1 if is_corp[ti] and corp_window == 2 else 0]
        if col.sum() <= 0:
            col = chunk_w.sum(axis=1)
        cum = np.round(np.cumsum(col) / col.sum() * type_counts[ti]).astype(np.int64)
        chunk_counts[:, ti] = np.diff(cum, prepend=0)
    return chunks, chunk_counts


def _revised_steps(config: DemoConfig, codes: list[str], branch_ids: list[str],
                   days: list[date]) -> list[Revised]:
    revised = []
    for r in config.revisions:
        adoption = [r.adoption(b) for b in branch_ids]
        from_day = np.array([len(days) if d is None else bisect.bisect_left(days, d)
                             for d in adoption], dtype=np.int64)
        revised.append(Revised(codes.index(r.business_type), ACTIVITY_INDEX[r.activity],
                               float(r.factor), from_day))
    return revised
