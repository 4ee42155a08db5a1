"""Simulation of one chunk of the demo log, vectorised over its transactions and rows.

A chunk is consecutive days of one month (:mod:`procmine.demo.plan`); it has its own random
stream (seed, 1, chunk number), so chunks can be simulated one at a time with flat memory. The
steps, each in its own function and in this order (the order of the random draws):

1. **Customers**: the chunk's transactions by type, shuffled; each gets a customer segment, a
   desired call time within the day from the arrival profile (peaks at the opening rush, lunch
   and after 16h; cut where a long service would no longer end by 17:00) and a window (corporate
   types at corporate windows, affluent and private customers mostly at VIP; at peaks VIP
   windows take more mass customers and affluent ones a regular window more often).
2. **Teller-days**: a shared queue balances the work among the tellers of a window type: the
   shuffled transactions are cut into runs whose expected work matches each teller-day's share.
3. **Conditions**: cash, the amount, a large amount (50,000 CNY or more) that brings identity
   check, registration, a recount and the supervisor; occasional authorization; errors (slower
   tellers make more) with a reversal, rework of one step, a skipped step; then the injected
   deviations from the SOP change their cases' steps (:mod:`procmine.demo.deviations`, streams
   of their own).
4. **Step durations**: lognormal around ``template seconds * speed ** actor exponent * personal
   deviation``; counting grows with the amount; injected slow steps, revisions, slow branches
   and tellers overall and wrong standards multiply (:mod:`procmine.demo.inject`).
5. **Gaps and occupancy**: a few seconds between steps, a wait for the supervisor before the
   authorization, a turnover after the last step; injected waits lengthen the gap before their
   step. Then the lunch breaks.
6. **Call times**: one customer at a time per teller-day, lunch break included (a single-server
   queue, solved with cumulative sums and a cumulative maximum); the first branch's tellers
   all break around noon, so it is short at lunch. A conditional slow step is slowed where it
   starts at 15:00 or later, and the times are computed again until no more step crosses
   (slowing a step only makes the later ones start later, so this ends).
7. **Ticket times**: the ticket is taken on arrival (the desired call time), so the wait is the
   one the teller's queue made: longest where capacity is short (peaks, lunch at the first branch).
8. **The table**: case numbers in call order within the month, rows in case order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from procmine.core.amounts import LARGE_AMOUNT
from procmine.core.schema import CANONICAL_COLUMNS
from procmine.demo.activities import ACTIVITY_INDEX, ACTIVITY_NAMES, AUTHORIZE, RECOUNT
from procmine.demo.deviations import (
    Background,
    ChunkDeviations,
    apply_deviations,
)
from procmine.demo.inject import ChunkInjections, step_factors
from procmine.demo.model import (
    ARRIVALS,
    AUTH_RATE,
    BIG,
    BIN_MS,
    BREAK_MS,
    DAY_MS,
    ERROR_RATE,
    LUNCH_SHORT_BRANCH,
    LUNCH_SHORT_SPREAD_MS,
    LUNCH_SHORT_START_MS,
    LUNCH_SPREAD_MS,
    LUNCH_START_MS,
    MAX_DRIFT,
    PEAK_ARRIVALS,
    REVERSAL_SHARE,
    REWORK_RATE,
    SKIP_RATE,
    STEP_SIGMA,
    TXN_SIGMA,
)
from procmine.demo.plan import Arr, Plan
from procmine.demo.profiles import (
    ALWAYS,
    AUTH,
    CASH,
    LARGE,
    LARGE_CASH,
    PEAK_VIP_PROB,
    REVERSAL,
    SEGMENTS,
    VIP_PROB,
    WINDOW_TYPES,
)

__all__ = ["ChunkStats", "iter_chunks", "plain"]


@dataclass
class ChunkStats:
    """What one chunk holds, for the truth."""

    transactions: int
    rows: int
    errors: int
    rework: int
    skipped: int
    type_counts: Arr
    slow_cases: list[int]
    revised_cases: list[int] = field(default_factory=list)
    conditional_cases: list[int] = field(default_factory=list)
    wait_cases: list[int] = field(default_factory=list)
    branch_days: Arr | None = None  # (branches, 2) first and last day index with a transaction
    deviations: ChunkDeviations = field(default_factory=ChunkDeviations)


@dataclass
class _Txns:
    """The chunk's transactions, sorted by teller-day and desired call time."""

    ttype: Arr
    seg: Arr
    win: Arr
    td_idx: Arr
    target: Arr  # desired call, ms after opening
    teller: Arr
    branch: Arr
    speed: Arr
    amount: Arr = field(default_factory=lambda: np.zeros(0))
    error: Arr = field(default_factory=lambda: np.zeros(0))


@dataclass
class _Rows:
    """The event rows of the chunk, in transaction order."""

    txn: Arr
    slot: Arr
    act: Arr
    ttype: Arr
    teller: Arr

    @property
    def size(self) -> int:
        return int(self.txn.size)


@dataclass
class _Flags:
    """Per transaction: whether each step condition holds; whether it reworks or skips a step."""

    holds: dict[int, Arr]  # condition (CASH, LARGE_CASH, ...) -> bool per transaction
    rework: Arr
    skip: Arr


def iter_chunks(
    plan: Plan, progress: Callable[[float], None] | None
) -> Iterator[tuple[pa.Table, ChunkStats]]:
    """Simulate the chunks in order; case numbers run on within a month."""
    if progress is not None:
        progress(0.0)
    seq_by_month: dict[int, int] = {}
    for k in range(len(plan.chunks)):
        month = plan.chunks[k][2]
        start = seq_by_month.get(month, 0)
        table, stats = simulate_chunk(plan, k, start)
        seq_by_month[month] = start + stats.transactions
        yield table, stats
        if progress is not None:
            progress((k + 1) / len(plan.chunks))


def plain(table: pa.Table) -> pa.Table:
    """The canonical schema: dictionary-encoded text columns decoded to plain strings."""
    columns = []
    for name in CANONICAL_COLUMNS:
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        columns.append(col)
    return pa.table(columns, names=list(CANONICAL_COLUMNS))


def simulate_chunk(plan: Plan, k: int, seq_start: int) -> tuple[pa.Table, ChunkStats]:
    """Chunk ``k``: its table (dictionary-encoded) and its counts; cases numbered from
    ``seq_start + 1`` within the chunk's month."""
    rng = np.random.default_rng([plan.config.seed, 1, k])
    td_lo, td_hi, month = plan.chunks[k]
    td_range = np.arange(td_lo, td_hi)
    txns = _transactions(plan, rng, plan.chunk_counts[k], td_range)
    n = txns.ttype.size
    flags = _conditions(plan, rng, txns)
    cnt, background = _step_counts(plan, rng, txns.ttype, flags)
    deviated = apply_deviations(plan, k, txns.ttype, txns.teller, cnt, background)
    rows = _expand_rows(plan, txns, cnt)
    dur_ms, slow_cases, revised_cases = _step_durations(plan, rng, txns, rows)
    gap_ms, turnover_ms = _gaps(rng, rows, n)
    breaks = _breaks(plan, rng, td_range)
    injected = ChunkInjections(plan, rows.txn, (rows.ttype, rows.act, rows.teller,
                                                txns.branch[rows.txn]), gap_ms)
    while True:
        start_off, end_off, first_idx, occupancy = _offsets(rows, dur_ms, gap_ms, turnover_ms)
        call_rel = _call_times(txns, td_range, occupancy, breaks)
        if not injected.slow_from_closing(dur_ms, call_rel[rows.txn] + start_off):
            break
    ticket_rel = _ticket_times(rng, txns, call_rel)
    by_call = np.lexsort((txns.td_idx, plan.calendar.td_open_ms[txns.td_idx] + call_rel))
    table = _table(plan, txns, rows, (month, seq_start, by_call),
                   (call_rel, ticket_rel, start_off, end_off, first_idx))
    rank = np.empty(n, dtype=np.int64)
    rank[by_call] = np.arange(n)

    def case_ids(txn: Arr) -> list[str]:  # as _table numbers them
        return [f"T{plan.calendar.months[month]}-{seq_start + r + 1:07d}" for r in rank[txn]]

    skipped, reworked = background.named(plan.types.tmpl_act, txns.ttype, case_ids)
    stats = ChunkStats(
        transactions=n,
        rows=rows.size,
        errors=int(txns.error.sum()),
        rework=len(reworked),
        skipped=len(skipped),
        type_counts=np.bincount(txns.ttype, minlength=len(plan.codes)),
        slow_cases=slow_cases,
        revised_cases=revised_cases,
        conditional_cases=injected.conditional_cases(),
        wait_cases=injected.wait_cases,
        branch_days=_branch_days(plan, txns),
        deviations=ChunkDeviations(skipped, reworked, [case_ids(hit) for _, hit in deviated],
                                   [eligible for eligible, _ in deviated]),
    )
    return table, stats


def _branch_days(plan: Plan, txns: _Txns) -> Arr:
    """(branches, 2): the first and last day index with a transaction at each branch (the number
    of days and -1 where none)."""
    day = plan.calendar.td_day[txns.td_idx]
    n_branches = len(plan.staff.branch_ids)
    first = np.full(n_branches, len(plan.calendar.days), dtype=np.int64)
    last = np.full(n_branches, -1, dtype=np.int64)
    np.minimum.at(first, txns.branch, day)
    np.maximum.at(last, txns.branch, day)
    return np.stack([first, last], axis=1)


def _transactions(plan: Plan, rng: np.random.Generator, counts: Arr, td_range: Arr) -> _Txns:
    """Types, customers, windows, teller-days and desired call times, sorted by the last two."""
    ttype = rng.permutation(np.repeat(np.arange(len(plan.codes)), counts))
    n = ttype.size
    # customer segment and window
    seg = (rng.random(n)[:, None] >= plan.types.seg_cum[ttype]).sum(axis=1)
    seg = np.minimum(seg, len(SEGMENTS) - 1)
    to_vip = rng.random(n)
    target = _call_targets(plan, rng, ttype)
    # at peaks VIP windows take more mass customers, affluent ones go to a regular window
    peak = np.array(ARRIVALS)[np.minimum(target // BIN_MS, len(ARRIVALS) - 1)] >= PEAK_ARRIVALS
    win = np.where(to_vip < np.where(peak, np.array(PEAK_VIP_PROB)[seg],
                                     np.array(VIP_PROB)[seg]), 1, 0)
    win = plan.staff.window_map[np.where(seg == 3, 2, win)]
    td_idx = _assign_teller_days(plan, ttype, win, td_range)
    order = np.lexsort((target, td_idx))
    ttype, seg, win, td_idx, target = (
        ttype[order],
        seg[order],
        win[order],
        td_idx[order],
        target[order],
    )
    teller = plan.calendar.td_teller[td_idx]
    month_no = plan.calendar.day_month[plan.calendar.td_day[td_idx]]
    speed = plan.staff.skill[teller] * np.exp(
        np.clip(plan.staff.drift[teller] * month_no, -MAX_DRIFT, MAX_DRIFT)
    )
    return _Txns(ttype, seg, win, td_idx, target, teller, plan.staff.tel_branch[teller], speed)


def _assign_teller_days(plan: Plan, ttype: Arr, win: Arr, td_range: Arr) -> Arr:
    """Teller-day of each transaction: within the chunk, at the customer's window, by how busy
    the day and teller are."""
    td_win = plan.staff.tel_window[plan.calendar.td_teller[td_range]]
    td_idx = np.empty(ttype.size, dtype=np.int64)
    for w in range(3):
        sel = np.flatnonzero(win == w)
        if not sel.size:
            continue
        cand = td_range[td_win == w]
        if not cand.size:
            cand = td_range[td_win == 0] if (td_win == 0).any() else td_range
        # a shared queue balances the work: cut the shuffled transactions into runs whose
        # expected work matches each teller-day's share
        work = plan.types.occupancy[ttype[sel]]
        done = (np.cumsum(work) - work / 2) / work.sum()
        weight = plan.calendar.td_weight[cand]
        share = np.cumsum(weight) / weight.sum()
        pos = np.minimum(np.searchsorted(share, done, side="right"), cand.size - 1)
        td_idx[sel] = cand[pos]
    return td_idx


def _call_targets(plan: Plan, rng: np.random.Generator, ttype: Arr) -> Arr:
    """Desired call time within the day (arrival profile), ms after opening.

    Customers needing a long service do not come in the last minutes (nor would the teller
    start it): the arrival profile is cut where the service would no longer end by 17:00.
    """
    edges = np.arange(len(ARRIVALS) + 1) * float(BIN_MS)
    cdf = np.append(0.0, np.cumsum(ARRIVALS)) / sum(ARRIVALS)
    latest = DAY_MS - 60_000 - plan.types.occupancy[ttype] * 1000
    n = ttype.size
    result: Arr = np.interp(rng.random(n) * np.interp(latest, edges, cdf), cdf, edges).astype(
        np.int64
    )
    return result


def _conditions(plan: Plan, rng: np.random.Generator, txns: _Txns) -> _Flags:
    """Cash and amount, errors (both set on ``txns``), the step conditions, rework and skips."""
    types, ttype, speed, n = plan.types, txns.ttype, txns.speed, txns.ttype.size
    cash = rng.random(n) < types.cash_p[ttype]
    raw = types.amt_min[ttype] + types.amt_med[ttype] * np.exp(
        types.amt_sigma[ttype] * rng.standard_normal(n)
    )
    unit = types.amt_unit[ttype]
    amount = np.round(np.maximum(np.round(raw / unit) * unit, unit), 2)
    txns.amount = np.where(types.has_amount[ttype], amount, np.nan)
    large = np.nan_to_num(txns.amount, nan=0.0) >= LARGE_AMOUNT
    large_cash = large & cash
    auth = large_cash | (rng.random(n) < AUTH_RATE)
    txns.error = rng.random(n) < ERROR_RATE * speed**3 / 1.04
    reversal = txns.error & (rng.random(n) < REVERSAL_SHARE)
    rework = rng.random(n) < REWORK_RATE * speed**2 / 1.03
    skip = rng.random(n) < SKIP_RATE
    return _Flags({CASH: cash, LARGE_CASH: large_cash, LARGE: large, AUTH: auth,
                   REVERSAL: reversal}, rework, skip)


def _pick(rng: np.random.Generator, eligible: Arr) -> Arr:
    """For each row of a boolean matrix, a random True column, or -1 where there is none."""
    scores = np.where(eligible, rng.random(eligible.shape), -1.0)
    choice = scores.argmax(axis=1)
    result: Arr = np.where(eligible.any(axis=1), choice, -1)
    return result


def _step_counts(plan: Plan, rng: np.random.Generator, ttype: Arr,
                 flags: _Flags) -> tuple[Arr, Background]:
    """Steps of every transaction: a count per template slot (0 absent, 2 reworked), and the
    transactions that skipped a step and reworked one, with the slot (the draws see only the
    templates' own slots, not the slots of injected extra steps)."""
    act = plan.types.tmpl_act[ttype]
    cond = plan.types.tmpl_cond[ttype]
    present = (act >= 0) & (
        (cond == ALWAYS)
        | ((cond == CASH) & flags.holds[CASH][:, None])
        | ((cond == LARGE_CASH) & flags.holds[LARGE_CASH][:, None])
        | ((cond == LARGE) & flags.holds[LARGE][:, None])
        | ((cond == AUTH) & flags.holds[AUTH][:, None])
        | ((cond == REVERSAL) & flags.holds[REVERSAL][:, None])
    )
    cnt = present.astype(np.int8)
    m = plan.types.tmpl_skip.shape[1]
    sk = np.flatnonzero(flags.skip)
    skip = _pick(rng, present[sk, :m] & plan.types.tmpl_skip[ttype[sk]])
    ok = skip >= 0
    sk, skip = sk[ok], skip[ok]
    cnt[sk, skip] = 0
    rw = np.flatnonzero(flags.rework)
    rework = _pick(rng, (cnt[rw, :m] > 0) & plan.types.tmpl_rework[ttype[rw]])
    ok = rework >= 0
    rw, rework = rw[ok], rework[ok]
    cnt[rw, rework] += 1
    return cnt, Background(sk, skip, rw, rework)


def _expand_rows(plan: Plan, txns: _Txns, cnt: Arr) -> _Rows:
    """One row per step occurrence, in transaction and slot order (an injected extra step after
    the slot it follows)."""
    act = plan.types.tmpl_act[txns.ttype]
    n, m = act.shape
    flat = np.repeat(np.arange(n * m, dtype=np.int64), cnt.ravel())
    row_txn = flat // m
    if plan.types.tmpl_order is not None:
        flat = flat[np.lexsort((plan.types.tmpl_order[txns.ttype[row_txn], flat % m], row_txn))]
        row_txn = flat // m  # the same: the rows only move within their transaction
    return _Rows(
        txn=row_txn,
        slot=flat % m,
        act=act.ravel()[flat].astype(np.int64),
        ttype=txns.ttype[row_txn],
        teller=txns.teller[row_txn],
    )


def _step_durations(plan: Plan, rng: np.random.Generator, txns: _Txns,
                    rows: _Rows) -> tuple[Arr, list[int], list[int]]:
    """Milliseconds of every step, and the cases of each slow step and revision."""
    types = plan.types
    factor = txns.speed[rows.txn] ** plan.actor_exp[rows.act]
    factor *= plan.staff.step_dev[rows.teller, rows.act]
    row_amount = txns.amount[rows.txn]
    counted = plan.count_like[rows.act] & ~np.isnan(row_amount)
    if counted.any():
        amt_c = row_amount[counted]
        type_c, slot_c = rows.ttype[counted], rows.slot[counted]
        in_path = types.tmpl_cond[type_c, slot_c] == ALWAYS
        typical = types.amt_min[type_c] + types.amt_med[type_c]
        scale_path = np.clip((amt_c / typical) ** 0.3, 0.5, 2.5)
        # conditional counting: seconds grow with the square root of the amount (a recount by
        # the second person goes a little faster than the first count)
        base_c = types.tmpl_sec[type_c, slot_c]
        recount = rows.act[counted] == ACTIVITY_INDEX[RECOUNT]
        wanted = np.clip(12 + 8 * np.sqrt(amt_c / 1000), 10, 180) * np.where(recount, 0.85, 1.0)
        scale_cond = wanted / base_c
        factor[counted] *= np.where(in_path, scale_path, scale_cond)
    factor *= np.exp(TXN_SIGMA * rng.standard_normal(txns.ttype.size))[rows.txn]
    slow_cases = []
    for s in plan.slow:
        hit = (rows.act == s.act) & (rows.ttype == s.type_idx)
        hit &= (rows.teller == s.teller) if s.scope == "teller" else (
            txns.branch[rows.txn] == s.branch)
        factor[hit] *= s.factor
        slow_cases.append(int(np.unique(rows.txn[hit]).size))
    revised_cases = []
    if plan.revised:
        day = plan.calendar.td_day[txns.td_idx]
        for r in plan.revised:
            on = day >= r.from_day[txns.branch]  # the transaction's branch is on the revision
            hit = (rows.act == r.act) & (rows.ttype == r.type_idx) & on[rows.txn]
            factor[hit] *= r.factor
            revised_cases.append(int(np.unique(rows.txn[hit]).size))
    overall = step_factors(plan.injected, rows.ttype, rows.teller, txns.branch[rows.txn])
    if overall is not None:
        factor *= overall
    seconds = types.tmpl_sec[rows.ttype, rows.slot] * factor
    dur_ms: Arr = np.maximum(
        np.rint(seconds * np.exp(STEP_SIGMA * rng.standard_normal(rows.size)) * 1000), 300
    ).astype(np.int64)
    return dur_ms, slow_cases, revised_cases


def _gaps(rng: np.random.Generator, rows: _Rows, n: int) -> tuple[Arr, Arr]:
    """Milliseconds before every step (a few seconds between steps, a wait for the supervisor
    before authorization) and of every transaction's turnover after its last step."""
    first = np.ones(rows.size, dtype=bool)
    first[1:] = rows.txn[1:] != rows.txn[:-1]
    is_auth = rows.act == ACTIVITY_INDEX[AUTHORIZE]
    gap_median = np.where(first, 3.0, np.where(is_auth, 40.0, 2.0))
    gap_sigma = np.where(is_auth, 0.7, 0.45)
    gap_ms = np.rint(gap_median * np.exp(gap_sigma * rng.standard_normal(rows.size)) * 1000
                     ).astype(np.int64)
    turnover_ms = np.rint(6000 * np.exp(0.5 * rng.standard_normal(n))).astype(np.int64)
    return gap_ms, turnover_ms


def _offsets(rows: _Rows, dur_ms: Arr, gap_ms: Arr,
             turnover_ms: Arr) -> tuple[Arr, Arr, Arr, Arr]:
    """Start and end of every step after the call, the first row of every transaction, and how
    long each transaction keeps the teller (its last step's end plus a turnover)."""
    first = np.ones(rows.size, dtype=bool)
    first[1:] = rows.txn[1:] != rows.txn[:-1]
    total = gap_ms + dur_ms
    cum = np.cumsum(total)
    first_idx = np.flatnonzero(first)
    before = cum[first_idx] - total[first_idx]
    end_off = cum - before[rows.txn]
    start_off = end_off - dur_ms
    last_idx = np.append(first_idx[1:] - 1, rows.size - 1)
    occupancy = end_off[last_idx] + turnover_ms
    return start_off, end_off, first_idx, occupancy


def _breaks(plan: Plan, rng: np.random.Generator, td_range: Arr) -> tuple[Arr, Arr]:
    """Every teller-day's lunch break: when it is wanted (ms after opening; staggered over
    11:00-14:00, together at the branch short at lunch) and how long it takes."""
    n_td = td_range.size
    short = plan.staff.tel_branch[plan.calendar.td_teller[td_range]] == LUNCH_SHORT_BRANCH
    break_target = np.where(short, LUNCH_SHORT_START_MS, LUNCH_START_MS) + rng.random(n_td) * (
        np.where(short, LUNCH_SHORT_SPREAD_MS, LUNCH_SPREAD_MS))
    break_occ = np.rint(BREAK_MS * np.exp(0.15 * rng.standard_normal(n_td))).astype(np.int64)
    return break_target.astype(np.int64), break_occ


def _call_times(txns: _Txns, td_range: Arr, occupancy: Arr, breaks: tuple[Arr, Arr]) -> Arr:
    """Call time of every transaction, ms after opening: one customer at a time per teller-day,
    lunch break included.

    call_i = max(target_i, call_{i-1} + occupancy_{i-1}), solved with a cumulative maximum.
    """
    n = txns.ttype.size
    break_target, break_occ = breaks
    all_td = np.concatenate([txns.td_idx, td_range])
    all_target = np.concatenate([txns.target, break_target])
    all_occ = np.concatenate([occupancy, break_occ])
    srt = np.lexsort((all_target, all_td))
    s_td, s_target, s_occ = all_td[srt], all_target[srt], all_occ[srt]
    group_first = np.ones(s_td.size, dtype=bool)
    group_first[1:] = s_td[1:] != s_td[:-1]
    group = np.cumsum(group_first) - 1
    excl = np.cumsum(s_occ) - s_occ
    excl -= excl[np.flatnonzero(group_first)][group]
    offset = group.astype(np.int64) * BIG
    s_call = np.maximum.accumulate(s_target - excl + offset) - offset + excl
    call_rel = np.empty_like(s_call)
    call_rel[srt] = s_call
    result: Arr = call_rel[:n]
    return result


def _ticket_times(rng: np.random.Generator, txns: _Txns, call_rel: Arr) -> Arr:
    """Ticket time, ms after opening: the customer's arrival (the call's target), clamped at the
    call, so the wait is what the teller's queue made of it (longest where capacity is short:
    at the peaks, and at lunch at the branch short at lunch)."""
    n = txns.ttype.size
    # The two draws an earlier, synthetic wait model made are still drawn and discarded: the
    # random stream after them (and so every other truth of the demo) stays as it was.
    rng.standard_normal(n)
    rng.random(n)
    result: Arr = np.minimum(txns.target, call_rel)
    return result


def _table(plan: Plan, txns: _Txns, rows: _Rows, numbering: tuple[int, int, Arr],
           times: tuple[Arr, Arr, Arr, Arr, Arr]) -> pa.Table:
    """The chunk's table: case numbers in call order within the month (``numbering``: the
    month, the number before the chunk's first case and the transactions in call order); rows
    in case order."""
    call_rel, ticket_rel, start_off, end_off, first_idx = times
    month, seq_start, by_call = numbering
    n = txns.ttype.size
    day_open = plan.calendar.td_open_ms[txns.td_idx]
    call_abs = day_open + call_rel
    ticket_abs = day_open + ticket_rel
    rank = np.empty(n, dtype=np.int64)
    rank[by_call] = np.arange(n)
    nrows = np.diff(np.append(first_idx, rows.size))
    new_nrows = nrows[by_call]
    new_first = np.cumsum(new_nrows) - new_nrows
    row_order = (np.arange(rows.size) - np.repeat(new_first, new_nrows)
                 + np.repeat(first_idx[by_call], new_nrows))
    txn_of_row = rank[rows.txn[row_order]]  # position of the row's case in call order

    seq = pa.array(np.arange(seq_start + 1, seq_start + n + 1, dtype=np.int64))
    case_ids = pc.binary_join_element_wise(
        f"T{plan.calendar.months[month]}-", pc.utf8_lpad(pc.cast(seq, pa.string()), 7, "0"), ""
    )
    case_txn = by_call  # case j (in call order) is transaction by_call[j]

    def per_case(values: Arr) -> Any:
        return values[case_txn][txn_of_row]

    def dictionary(indices: Arr, values: list[str]) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(indices, type=pa.int32()), values)

    def timestamps(ms: Arr) -> pa.Array:
        return pa.array(ms, type=pa.timestamp("ms"))

    row_call = call_abs[rows.txn]
    amount_rows = per_case(txns.amount)
    return pa.table(
        {
            "case_id": pa.DictionaryArray.from_arrays(
                pa.array(txn_of_row, type=pa.int32()), case_ids
            ),
            "activity": dictionary(rows.act[row_order], list(ACTIVITY_NAMES)),
            "start_time": timestamps((row_call + start_off)[row_order]),
            "end_time": timestamps((row_call + end_off)[row_order]),
            "teller_id": dictionary(rows.teller[row_order], plan.staff.teller_ids),
            "branch_id": dictionary(per_case(txns.branch), plan.staff.branch_ids),
            "business_type": dictionary(rows.ttype[row_order], plan.codes),
            "amount": pa.array(amount_rows, mask=np.isnan(amount_rows), type=pa.float64()),
            "error": pa.array(per_case(txns.error), type=pa.bool_()),
            "window_type": dictionary(per_case(txns.win), list(WINDOW_TYPES)),
            "segment": dictionary(per_case(txns.seg), list(SEGMENTS)),
            "ticket_time": timestamps(per_case(ticket_abs)),
            "call_time": timestamps(per_case(call_abs)),
        }
    )
