"""Realistic demo event logs of bank counter transactions, with the truth they hide.

One row per step of a counter transaction, in the canonical columns of :mod:`procmine.core.schema`.
A transaction follows the generic counter skeleton (call the number, greet, ask the need, verify
the identity, review forms, count cash, enter, authorize, print, sign, stamp, see off) with the
steps of its business type; every step of a type has a share of the type's standard time.

How the log is simulated:

* **Branches and windows.** Every branch has regular, VIP and corporate windows, sized to their
  expected workload. Corporate types go to corporate windows; affluent and private customers
  mostly to VIP windows. Corporate windows are closed on Saturdays and on the fixed-date public
  holidays (1 Jan, 1-5 May, 1-7 Oct), when about half the other tellers work.
* **Tellers** have a speed factor (lognormal around 1.0, sd about 0.12) and a small monthly
  drift, so month-over-month comparisons show movement. A step takes lognormal time around
  ``standard * share * speed`` (sigma 0.35); customer steps (PIN entry, signing) depend less on
  the teller, the supervisor's and the second person's steps not at all.
* **Queue.** Customers arrive in three peaks: the opening rush, lunch and after 16h; a shared
  queue balances the work among the tellers of a window type; each teller serves one customer
  at a time and takes a lunch break (staggered over 11:00-14:00, but all together around noon
  at B01, the branch short at lunch), so a call waits for the previous customer (a
  single-server queue per teller-day, solved with cumulative sums). The ticket is taken on
  arrival, so the wait is the one that queue made: capacity decides it, and it is longest at
  the peaks and at B01's lunch. At peaks VIP windows serve
  more mass customers while affluent ones take a regular window more often.
* **Conditions.** Cash of 50,000 CNY or more brings identity check, registration, a
  second-person recount and a supervisor's authorization; sensitive types always need the
  supervisor, other transactions sometimes (3%). The supervisor step is preceded by a wait for
  the supervisor.
* **Errors and deviations.** About 1.5% of transactions are errors (slower tellers make more),
  most with a REVERSE step; about 3% repeat one step (rework: two adjacent rows
  with the same activity); about 1% skip one non-essential step (greeting, asking, seeing off).
* **Injected slow steps** (the truth): a few teller x business type x step combinations are
  slowed 2.0-3.0 times, and one business type x step at every teller of one branch 2.0 times,
  on types common enough to be found (see ``truth.json``).
* **Deviations from the SOP** (:mod:`procmine.demo.deviations`, under ``deviations`` in
  ``truth.json``): the cases of the background skips and reworks above, and (off by default,
  ``DemoConfig.deviations``) tellers who skip a control step, add a step or repeat one in a
  share of their cases of a type, with those cases.
* **Other injections** (off by default; :mod:`procmine.demo.inject`, listed in ``truth.json``
  under ``conditional_slow_steps``, ``waits``, ``slow_overall``, ``wrong_standards`` and
  ``habits``): tellers slow at one step only from 15:00, waits before a step, a branch or a
  teller slower at every step, a type whose standard the whole bank misses, tellers' own habits.
  ``period`` says the days the log covers (``DemoConfig.days``: calendar days from a start that
  may fall mid-month; a branch may report from a later date), ``completion_only`` whether the
  export leaves out start_time.
* **SOP revisions** (``DemoConfig.revisions``, listed in ``truth.json``): from a revision's
  effective date, one step of one business type takes ``factor`` times as long (0.7: 30% faster);
  branches may adopt it on dates of their own, so that a difference-in-differences against the
  branches not yet on it can be measured. No injected slow step falls on a revised step.
* **Calendar.** Business days Monday to Saturday, 08:30-17:00, over whole months from
  ``start``: at least two months, more when many events are asked for, so that tellers carry a
  realistic daily load. A small log keeps that daily load by sampling business days evenly
  across the two months instead of thinning every day (``truth["span"]["sampled_days"]``).

Where each part lives: the activity vocabulary (:mod:`procmine.demo.activities`) and the business
type profiles (:mod:`procmine.demo.profiles`) are data files of the package; the steps of a type
in :mod:`procmine.demo.steps`; the settings in :mod:`procmine.demo.config`; the model's numbers in
:mod:`procmine.demo.model`; everything decided before simulating in :mod:`procmine.demo.plan`;
the simulation of one chunk in :mod:`procmine.demo.simulate`. This module runs them and writes
the events and ``truth.json``.

The log bundled in ``event_logs/`` is :func:`~procmine.demo.config.bundled_demo_config` (200,000
events, seed 7, one revision story), written by :data:`~procmine.demo.config.BUNDLED_DEMO_COMMAND`.

Example:
    >>> from procmine.demo import DemoConfig, generate_demo_log
    >>> table, truth = generate_demo_log(DemoConfig(events=5_000, seed=1))
    >>> abs(table.num_rows - 5_000) < 500
    True
    >>> truth["generator"], truth["period"]["first_day"], truth["waits"]
    ('procmine.demo', '2026-09-01', [])
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from procmine.core.schema import CANONICAL_COLUMNS
from procmine.demo.activities import ACTIVITY_NAMES
from procmine.demo.config import (
    BUNDLED_DEMO_COMMAND,
    DemoConfig,
    DemoError,
    DemoResult,
    bundled_demo_config,
)
from procmine.demo.deviations import deviations_truth
from procmine.demo.model import (
    BREAK_MS,
    LUNCH_SHORT_BRANCH,
    LUNCH_SHORT_SPREAD_MS,
    LUNCH_SHORT_START_MS,
    LUNCH_SPREAD_MS,
    LUNCH_START_MS,
    OPEN_SECONDS,
    peak_hours,
)
from procmine.demo.plan import Plan, make_plan
from procmine.demo.profiles import PEAK_VIP_PROB, SEGMENTS, VIP_PROB, WINDOW_TYPES
from procmine.demo.simulate import ChunkStats, iter_chunks, plain

__all__ = ["generate_demo_log", "write_bundled_demo", "write_demo_data"]


def _truth(plan: Plan, stats: list[ChunkStats]) -> dict[str, Any]:
    """The content of ``truth.json``: what was injected and decided, and what came out."""
    config = plan.config
    transactions = sum(s.transactions for s in stats)
    rows = sum(s.rows for s in stats)
    slow = []
    for i, s in enumerate(plan.slow):
        slow.append(
            {
                "scope": s.scope,
                "teller_id": plan.staff.teller_ids[s.teller] if s.scope == "teller" else None,
                "branch_id": plan.staff.branch_ids[s.branch],
                "business_type": plan.codes[s.type_idx],
                "activity": ACTIVITY_NAMES[s.act],
                "factor": s.factor,
                "cases": sum(c.slow_cases[i] for c in stats),
            }
        )
    revisions = [
        {**r.to_dict(), "cases": sum(c.revised_cases[i] for c in stats)}
        for i, r in enumerate(config.revisions)
    ]
    per_type = np.sum([s.type_counts for s in stats], axis=0) if stats else np.zeros(0)
    return {
        "generator": "procmine.demo",
        "seed": config.seed,
        "events": rows,
        "transactions": transactions,
        "slow_steps": slow,
        # cases: transactions with the step at a branch already on the revision
        "revisions": revisions,
        "config": {
            "events": config.events,
            "seed": config.seed,
            "branches": config.branches,
            "tellers_per_branch": config.tellers_per_branch,
            "start": config.start.isoformat(),
            "slow_steps": config.slow_steps,
            "branch_slow_steps": config.branch_slow_steps,
            # The file name only: a full path would tie truth.json to one machine.
            "baseline": plan.baseline.source.name,
        },
        "span": {
            "first_day": plan.calendar.days[0].isoformat(),
            "last_day": plan.calendar.days[-1].isoformat(),
            "months": [f"{m[:4]}-{m[4:]}" for m in plan.calendar.months],
            "business_days": len(plan.calendar.days),
            "sampled_days": plan.calendar.sampled_days,
            "days": [d.isoformat() for d in plan.calendar.days],
        },
        "rates": {
            "error": round(sum(s.errors for s in stats) / max(transactions, 1), 5),
            "rework": round(sum(s.rework for s in stats) / max(transactions, 1), 5),
            "skipped_step": round(sum(s.skipped for s in stats) / max(transactions, 1), 5),
        },
        **_injected_truth(plan, stats),
        "deviations": deviations_truth(plan, [s.deviations for s in stats]),
        "period": _period(plan, stats),
        "transactions_by_type": {c: int(v) for c, v in zip(plan.codes, per_type, strict=True)},
        "queue": _queue_truth(plan),
        "tellers": [
            {
                "teller_id": tid,
                "branch_id": plan.staff.branch_ids[int(plan.staff.tel_branch[j])],
                "window_type": WINDOW_TYPES[int(plan.staff.tel_window[j])],
                "speed_factor": round(float(plan.staff.skill[j]), 4),
                "monthly_drift": round(float(plan.staff.drift[j]), 4),
            }
            for j, tid in enumerate(plan.staff.teller_ids)
        ],
    }


def _injected_truth(plan: Plan, stats: list[ChunkStats]) -> dict[str, Any]:
    """The injections of issue 19 (:mod:`procmine.demo.inject`), each key always present."""
    staff, injected = plan.staff, plan.injected

    def who(scope: str, teller: int, branch: int) -> dict[str, Any]:
        return {"scope": scope,
                "teller_id": staff.teller_ids[teller] if scope == "teller" else None,
                "branch_id": staff.branch_ids[branch]}

    return {
        # cases: the group's cases with the step started from 15:00, as the log has them
        "conditional_slow_steps": [
            {**who(s.scope, s.teller, s.branch), "business_type": plan.codes[s.type_idx],
             "activity": ACTIVITY_NAMES[s.act],
             "condition": {"dimension": "hour_band", "value": "closing"},
             "factor": s.factor, "cases": sum(c.conditional_cases[i] for c in stats)}
            for i, s in enumerate(injected.conditional)
        ],
        "waits": [
            {**who(w.scope, w.teller, w.branch), "business_type": plan.codes[w.type_idx],
             "activity": ACTIVITY_NAMES[w.act], "extra_seconds": w.seconds,
             "cases": sum(c.wait_cases[i] for c in stats)}
            for i, w in enumerate(injected.waits)
        ],
        "slow_overall": [{**who(s.scope, s.teller, s.branch), "factor": s.factor}
                         for s in injected.overall],
        "wrong_standards": [{"business_type": plan.codes[ti], "factor": f}
                            for ti, f in injected.wrong.items()],
        "habits": plan.config.habits,
        "completion_only": plan.config.completion_only,
    }


def _period(plan: Plan, stats: list[ChunkStats]) -> dict[str, Any]:
    """The days the log covers, first to last (inclusive), for the bank and for each branch."""
    days = plan.calendar.days
    bounds = np.stack([s.branch_days for s in stats if s.branch_days is not None])
    first, last = bounds[:, :, 0].min(axis=0), bounds[:, :, 1].max(axis=0)

    def span(lo: int, hi: int) -> int:
        return (days[hi] - days[lo]).days + 1 if 0 <= lo <= hi else 0

    return {
        "first_day": days[int(first.min())].isoformat(),
        "last_day": days[int(last.max())].isoformat(),
        "days": span(int(first.min()), int(last.max())),
        "per_branch": {b: span(int(lo), int(hi))
                       for b, lo, hi in zip(plan.staff.branch_ids, first, last, strict=True)},
    }


def _queue_truth(plan: Plan) -> dict[str, Any]:
    """The queue story: the arrival peaks, the lunch breaks and the branch short at lunch, and
    who VIP windows serve at peaks and otherwise."""
    def clock(ms: int) -> str:
        minutes = (OPEN_SECONDS * 1000 + ms) // 60_000
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    return {
        "arrival_peaks": peak_hours(),
        "waits": "made by capacity: a customer takes the ticket on arrival and is called when "
                 "the teller is free (one customer at a time per teller-day, lunch breaks "
                 "included), so waits are longest at the peaks and at lunch where tellers break "
                 "together",
        "short_at_lunch": plan.staff.branch_ids[LUNCH_SHORT_BRANCH],
        "lunch_break_minutes": round(BREAK_MS / 60_000),
        "lunch_break_starts": {
            "short_at_lunch": f"{clock(LUNCH_SHORT_START_MS)}-"
                              f"{clock(LUNCH_SHORT_START_MS + LUNCH_SHORT_SPREAD_MS)}",
            "other_branches": f"{clock(LUNCH_START_MS)}-{clock(LUNCH_START_MS + LUNCH_SPREAD_MS)}",
        },
        "vip_window_probability": dict(zip(SEGMENTS, VIP_PROB, strict=True)),
        "vip_window_probability_at_peaks": dict(zip(SEGMENTS, PEAK_VIP_PROB, strict=True)),
    }


def generate_demo_log(
    config: DemoConfig, progress: Callable[[float], None] | None = None
) -> tuple[pa.Table, dict[str, Any]]:
    """Generate a demo event log in memory: the table (canonical columns) and its truth.

    The truth holds the seed, the number of events, the injected slow steps, the SOP revisions,
    the days and the settings (the same content as ``truth.json`` written by
    :func:`write_demo_data`).

    Example:
        >>> table, truth = generate_demo_log(DemoConfig(events=20_000, seed=5))
        >>> table.column_names[:3]
        ['case_id', 'activity', 'start_time']
        >>> [s["scope"] for s in truth["slow_steps"]].count("teller")
        6
    """
    plan = make_plan(config)
    tables, stats = [], []
    for table, s in iter_chunks(plan, progress):
        tables.append(_exported(plain(table), config))
        stats.append(s)
    return pa.concat_tables(tables), _truth(plan, stats)


def _exported(table: pa.Table, config: DemoConfig) -> pa.Table:
    """The table as the export has it: without start_time in a completion-only log."""
    return table.drop_columns(["start_time"]) if config.completion_only else table


def write_demo_data(
    out_dir: Path,
    config: DemoConfig,
    fmt: str = "csv",
    progress: Callable[[float], None] | None = None,
) -> DemoResult:
    """Write ``events.csv`` (or ``events.parquet``) and ``truth.json`` into ``out_dir``.

    The events are generated and written chunk by chunk, so memory stays flat for large logs;
    ``progress`` is called with the fraction done (0.0 to 1.0) after every chunk. CSV timestamps
    read ``YYYY-MM-DD HH:MM:SS.fff``; text values are quoted, so "0103" stays text.

    Example:
        >>> result = write_demo_data(Path("demo"), DemoConfig(events=5_000))
        >>> result.events_path.name, result.truth_path.name
        ('events.csv', 'truth.json')
    """
    return _write(out_dir, config, fmt, progress)


def write_bundled_demo(
    out_dir: Path, progress: Callable[[float], None] | None = None
) -> DemoResult:
    """Write the bundled demo log: ``demo_events.parquet`` and ``demo_truth.json`` in ``out_dir``.

    The settings are :func:`bundled_demo_config`; ``demo_truth.json`` names the command that
    wrote it (:data:`BUNDLED_DEMO_COMMAND`, run from the repository's root).

    Example:
        >>> result = write_bundled_demo(Path("demo"))
        >>> result.events_path.name, result.truth_path.name, result.events
        ('demo_events.parquet', 'demo_truth.json', 199730)
    """
    return _write(out_dir, bundled_demo_config(), "parquet", progress, prefix="demo_",
                  command=BUNDLED_DEMO_COMMAND)


def _write(
    out_dir: Path,
    config: DemoConfig,
    fmt: str,
    progress: Callable[[float], None] | None,
    prefix: str = "",
    command: str | None = None,
) -> DemoResult:
    if fmt not in ("csv", "parquet"):
        raise DemoError(f"format {fmt!r} is not supported; expected 'csv' or 'parquet'")
    plan = make_plan(config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    events_path = out_dir / f"{prefix}events.{fmt}"
    truth_path = out_dir / f"{prefix}truth.json"
    tmp_path = out_dir / f".{prefix}events.{fmt}.partial"
    schema = pa.schema(
        [
            (name, pa.timestamp("ms") if kind == "TIMESTAMP" else _ARROW_TYPES[kind])
            for name, kind in CANONICAL_COLUMNS.items()
            if not (config.completion_only and name == "start_time")
        ]
    )
    stats: list[ChunkStats] = []
    writer: pacsv.CSVWriter | pq.ParquetWriter
    if fmt == "csv":
        writer = pacsv.CSVWriter(str(tmp_path), schema)
    else:
        writer = pq.ParquetWriter(str(tmp_path), schema, compression="zstd")
    try:
        for table, s in iter_chunks(plan, progress):
            writer.write_table(_exported(plain(table), config))
            stats.append(s)
    except BaseException:
        writer.close()
        tmp_path.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(tmp_path, events_path)
    truth = _truth(plan, stats)
    if command is not None:
        truth = {"command": command, **truth}
    truth_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return DemoResult(
        events_path=events_path,
        truth_path=truth_path,
        events=int(truth["events"]),
        cases=int(truth["transactions"]),
        first_day=plan.calendar.days[0],
        last_day=plan.calendar.days[-1],
        fmt=fmt,
    )


_ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
}
