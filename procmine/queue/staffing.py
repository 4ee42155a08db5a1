"""Staffing: the counters each 15-minute interval needs, against the counters that were open.

The plan reads the interval load (:func:`procmine.queue.measures.interval_load`: per branch,
day and 15-minute interval, the customers who joined the queue, those served and abandoned,
their mean service time, the time they waited, and the counters open) and, per branch x
weekday x interval of the day:

* ``arrivals_per_hour``: the queued customers of that interval summed over the days observed
  (the days of that weekday on which the branch had any ticket) and divided by their number,
  times four (an interval is a quarter of an hour);
* ``mean_service_seconds``: the served-weighted mean service time of the interval (the
  branch's own mean where the interval served nobody);
* ``patience_seconds``: per branch over the whole period, the maximum-likelihood estimate of an
  exponential patience, the total time waited by everyone who queued divided by the number who
  abandoned (each waiting second is a second at risk of leaving; the leavers' waits end when
  they leave; where an export does not say when an abandoning customer left, that time is
  missing and the estimate is on the short side). The model is Erlang A with that patience where
  abandonment is material (at least :data:`MATERIAL_ABANDONMENT` of those who queued), else
  Erlang C (:mod:`procmine.queue.erlang`);
* ``required``: the fewest counters whose service level (served within the target wait)
  reaches the target share; ``open_counters``: the mean counters open in the interval over the
  same days; ``gap = open_counters - required`` (negative: a shortfall);
* ``expected_service_level``: the service level the model gives at the counters open (rounded to
  whole counters, halves up); ``observed_service_level``: the share of the served customers of
  the interval who waited no longer than the target, over the same days (NaN when the load has
  no ``service_level``). Far apart, they say the model's assumptions do not hold there.

:meth:`StaffingPlan.heatmap` lays the gap out as weekday x interval of day;
:attr:`StaffingPlan.shifts` merges consecutive intervals of a branch and weekday that are short
by more than a quarter of a counter into one suggestion ("open k more windows from hh:mm to
hh:mm", ``k`` the largest shortfall of the block rounded up), and those with a whole counter or
more to spare into "k windows could close or go to other work" (``k`` the smallest surplus of
the block, rounded down). :func:`what_if` gives the waits of one interval at any number of
counters. :attr:`StaffingPlan.assumptions` lists what the model takes for granted (message keys
of the catalogues; :data:`ASSUMPTIONS` has the English).

Example (a hand-built load: one branch, two Mondays, a busy half hour at 09:00):
    >>> import pandas as pd
    >>> load = pd.DataFrame({
    ...     "branch_id": ["B01"] * 4, "day": pd.to_datetime(["2026-10-05", "2026-10-05",
    ...     "2026-10-12", "2026-10-12"]).date, "weekday": [1] * 4,
    ...     "interval_of_day": [540, 555] * 2, "arrivals": [10, 12, 14, 12],
    ...     "served": [10, 12, 14, 12], "abandoned": [0] * 4,
    ...     "mean_service_seconds": [300.0] * 4, "total_wait_seconds": [600.0] * 4,
    ...     "counters_open": [2.0, 2.0, 3.0, 3.0]})
    >>> plan = plan_from_load(load, target_wait=600, target_share=0.8)
    >>> row = plan.intervals.iloc[0]
    >>> int(row.interval_of_day), float(row.arrivals_per_hour), int(row.required), float(row.gap)
    (540, 48.0, 5, -2.5)
    >>> print(plan.shifts[0].describe())
    B01, Monday: open 3 more windows from 09:00 to 09:30
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import numpy as np
import pandas as pd

from procmine.core.errors import ProcmineError
from procmine.queue.erlang import WaitMetrics, counters_needed, service_level, wait_metrics
from procmine.queue.measures import QueueFilter, interval_load
from procmine.queue.tickets import INTERVAL_MINUTES

if TYPE_CHECKING:
    from procmine.store.engine import Engine
    from procmine.store.event_store import EventStore

__all__ = [
    "ASSUMPTIONS",
    "MATERIAL_ABANDONMENT",
    "ShiftSuggestion",
    "StaffingPlan",
    "plan_from_load",
    "staffing_plan",
    "what_if",
]

#: Abandonment (of those who queued, per branch) from which the plan uses Erlang A.
MATERIAL_ABANDONMENT: Final = 0.03

#: A block is short when it lacks more than this share of a counter.
SHORTFALL_TOLERANCE: Final = 0.25

#: What the model takes for granted: message key -> English (the catalogues translate).
ASSUMPTIONS: Final[dict[str, str]] = {
    "staffing.assumption.poisson": (
        "Customers arrive at random (a Poisson process) at a steady rate within each 15-minute "
        "interval: the mean over the days observed of that weekday."),
    "staffing.assumption.exponential_service": (
        "Service times are exponential with the mean observed in the interval."),
    "staffing.assumption.one_queue": (
        "Each branch has one shared queue served by identical counters, first come first "
        "served (window types and VIP priority are not modelled apart)."),
    "staffing.assumption.patience": (
        "Where abandonment is material (3% or more of those who queue), customers' patience "
        "is exponential with the branch's mean estimated from the data (Erlang A); elsewhere "
        "nobody leaves (Erlang C)."),
    "staffing.assumption.counters": (
        "Counters open are the tellers serving in the interval: from the start of their first "
        "service of the day to the end of their last, less breaks (30 minutes or more between "
        "one customer and the next); shorter absences count as open time."),
    "staffing.assumption.steady_state": (
        "Each interval is treated as if it were in steady state: a queue left over from the "
        "interval before is not carried forward."),
    "staffing.assumption.target": (
        "The target is the share of customers served within the target wait, of all who "
        "queue (those who leave count as not served in time)."),
}

_LOAD_COLUMNS: Final = ("branch_id", "day", "weekday", "interval_of_day", "arrivals", "served",
                        "abandoned", "mean_service_seconds", "total_wait_seconds",
                        "counters_open")

INTERVAL_COLUMNS: Final = ("branch_id", "weekday", "interval_of_day", "days",
                           "arrivals_per_hour", "mean_service_seconds", "patience_seconds",
                           "model", "required", "open_counters", "gap",
                           "expected_service_level", "observed_service_level")

_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                    "Sunday")


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True)
class ShiftSuggestion:
    """Open ``counters`` more windows (``reason="shortfall"``), or let that many close or go to
    other work (``reason="surplus"``), at ``branch_id`` on ``weekday`` (ISO, 1 = Monday) from
    ``start_minute`` to ``end_minute`` (minutes after midnight, end exclusive)."""

    branch_id: str
    weekday: int
    start_minute: int
    end_minute: int
    counters: int
    reason: Literal["shortfall", "surplus"]

    @property
    def start(self) -> str:
        return _clock(self.start_minute)

    @property
    def end(self) -> str:
        return _clock(self.end_minute)

    def describe(self) -> str:
        """One English line (pages build their own from the fields and the catalogue)."""
        day = _WEEKDAYS[self.weekday - 1]
        windows = "window" if self.counters == 1 else "windows"
        if self.reason == "shortfall":
            action = f"open {self.counters} more {windows}"
        else:
            action = f"{self.counters} {windows} could close or go to other work"
        return f"{self.branch_id}, {day}: {action} from {self.start} to {self.end}"

    def to_dict(self) -> dict[str, Any]:
        return {"branch_id": self.branch_id, "weekday": self.weekday, "start": self.start,
                "end": self.end, "counters": self.counters, "reason": self.reason,
                "text": self.describe()}


@dataclass(frozen=True, eq=False)
class StaffingPlan:
    """The counters needed per branch x weekday x interval of the day (see the module)."""

    intervals: pd.DataFrame
    branches: pd.DataFrame
    shifts: list[ShiftSuggestion]
    target_wait: float
    target_share: float
    assumptions: list[str] = field(default_factory=lambda: list(ASSUMPTIONS))

    def heatmap(self, branch: str | None = None) -> pd.DataFrame:
        """Weekday (rows, 1 = Monday) x interval of the day (columns, minutes after midnight)
        of the gap, open minus required (negative: a shortfall); summed over the branches when
        ``branch`` is None. Intervals without data are NaN."""
        frame = self.intervals
        if branch is not None:
            frame = frame[frame["branch_id"] == branch]
        if frame.empty:
            return pd.DataFrame(index=pd.Index([], name="weekday", dtype="int64"),
                                columns=pd.Index([], name="interval_of_day", dtype="int64"),
                                dtype="float64")
        return frame.pivot_table(index="weekday", columns="interval_of_day", values="gap",
                                 aggfunc="sum").sort_index().sort_index(axis=1)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``procmine staffing --json``."""
        rows = self.intervals.replace({np.nan: None}).to_dict("records")
        short = self.intervals["gap"].clip(upper=0).sum() * -INTERVAL_MINUTES / 60
        spare = self.intervals["gap"].clip(lower=0).sum() * INTERVAL_MINUTES / 60
        return {
            "target_seconds": self.target_wait,
            "target_share": self.target_share,
            "branches": self.branches.replace({np.nan: None}).to_dict("records"),
            "shortfall_counter_hours": round(float(short), 2),
            "surplus_counter_hours": round(float(spare), 2),
            "intervals": [_plain(r) for r in rows],
            "shifts": [s.to_dict() for s in self.shifts],
            "assumptions": [{"key": k, "text": ASSUMPTIONS[k]} for k in self.assumptions],
        }


def _plain(row: dict[Any, Any]) -> dict[str, Any]:
    """numpy scalars to Python ones, for JSON."""
    return {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


def staffing_plan(store: EventStore, filters: QueueFilter | None = None, *,
                  target_share: float = 0.8, engine: Engine | None = None) -> StaffingPlan:
    """The staffing plan of the store's queue tickets (see the module): ``filters`` narrows
    them to a branch and a period and sets the target wait and the ticket source.

    Example:
        >>> plan = staffing_plan(store, QueueFilter(branch="B01"))
        >>> sorted(set(plan.intervals["branch_id"])), len(plan.branches)
        (['B01'], 1)
        >>> busy = plan.intervals[plan.intervals["arrivals_per_hour"] > 0]
        >>> bool((busy["required"] >= 1).all()), plan.shifts[0].branch_id
        (True, 'B01')
    """
    filters = filters if filters is not None else QueueFilter()
    load = interval_load(store, filters, engine=engine)
    return plan_from_load(load, target_wait=filters.target_wait, target_share=target_share)


def plan_from_load(load: pd.DataFrame, *, target_wait: float = 600.0,
                   target_share: float = 0.8,
                   material_abandonment: float = MATERIAL_ABANDONMENT) -> StaffingPlan:
    """The plan of an interval load frame (the columns of
    :func:`procmine.queue.measures.interval_load`; see the module)."""
    missing = [c for c in _LOAD_COLUMNS if c not in load.columns]
    if missing:
        raise ProcmineError(f"the interval load lacks the columns {', '.join(missing)}")
    if not 0 < target_share < 1:
        raise ProcmineError(f"target share must be between 0 and 1, got {target_share}")
    if not (math.isfinite(target_wait) and target_wait >= 0):
        raise ProcmineError(f"target wait must be >= 0 seconds, got {target_wait}")
    load = _prepared(load)
    branches = _branch_figures(load, material_abandonment)
    cells = _cells(load, branches)
    required, expected = [], []
    for per_hour, service, patience, model, open_now in zip(
            cells["arrivals_per_hour"].astype(float).tolist(),
            cells["mean_service_seconds"].astype(float).tolist(),
            cells["patience_seconds"].astype(float).tolist(), cells["model"].tolist(),
            cells["open_counters"].astype(float).tolist(), strict=True):
        kept = patience if model == "erlang_a" else None
        required.append(counters_needed(per_hour, service, target_wait=target_wait,
                                        target_share=target_share, patience_seconds=kept))
        expected.append(service_level(per_hour, service, math.floor(open_now + 0.5),
                                      target_wait=target_wait, patience_seconds=kept)
                        if per_hour > 0 else np.nan)
    cells["required"] = required
    cells["gap"] = cells["open_counters"] - cells["required"]
    cells["expected_service_level"] = expected
    intervals = cells[list(INTERVAL_COLUMNS)].reset_index(drop=True)
    return StaffingPlan(intervals=intervals, branches=branches,
                        shifts=suggest_shifts(intervals), target_wait=float(target_wait),
                        target_share=float(target_share))


def _prepared(load: pd.DataFrame) -> pd.DataFrame:
    """The load with the figures the plan adds up: ``_served`` (served and transferred: both
    were served, and the mean service time is theirs), ``_service_time`` and ``_wait`` (the
    time in queue of everyone who queued: the served customers' waits and, when the load has
    them, the abandoned customers' waits until they left)."""
    load = load.copy()
    load["branch_id"] = load["branch_id"].astype(str)
    zero = pd.Series(0, index=load.index)
    load["_served"] = load["served"] + load.get("transferred", zero).fillna(0)
    load["_service_time"] = load["mean_service_seconds"].fillna(0) * load["_served"]
    load["_wait"] = (load["total_wait_seconds"].fillna(0)
                     + load.get("abandoned_wait_seconds", zero).fillna(0))
    waits = load.get("waits", pd.Series(np.nan, index=load.index))
    level = load.get("service_level", pd.Series(np.nan, index=load.index))
    load["_waits"] = waits.where(level.notna(), 0).fillna(0)
    load["_within"] = (level * waits).fillna(0)
    return load


def _branch_figures(load: pd.DataFrame, material: float) -> pd.DataFrame:
    """Per branch: queued, abandoned, abandonment rate, mean service, the patience estimate
    and the model."""
    out = load.groupby("branch_id").agg(queued=("arrivals", "sum"),
                                        abandoned=("abandoned", "sum"),
                                        served=("_served", "sum"),
                                        service_time=("_service_time", "sum"),
                                        wait=("_wait", "sum"))
    out["abandonment_rate"] = out["abandoned"] / out["queued"].where(out["queued"] > 0)
    out["mean_service_seconds"] = out["service_time"] / out["served"].where(out["served"] > 0)
    usable = (out["abandoned"] > 0) & (out["wait"] > 0)
    out["patience_seconds"] = (out["wait"] / out["abandoned"]).where(usable)
    material_rows = usable & (out["abandonment_rate"] >= material)
    out["model"] = np.where(material_rows, "erlang_a", "erlang_c")
    out = out.drop(columns=["wait", "service_time"]).reset_index().sort_values("branch_id")
    return out.reset_index(drop=True)


def _cells(load: pd.DataFrame, branches: pd.DataFrame) -> pd.DataFrame:
    """Per branch x weekday x interval of the day: the days observed and the means over them."""
    days = (load.groupby(["branch_id", "weekday"])["day"].nunique().rename("days")
            .reset_index())
    keys = ["branch_id", "weekday", "interval_of_day"]
    cells = load.groupby(keys, as_index=False).agg(
        arrivals=("arrivals", "sum"), served=("_served", "sum"),
        service_time=("_service_time", "sum"), counters=("counters_open", "sum"),
        waits=("_waits", "sum"), within=("_within", "sum"))
    cells["observed_service_level"] = cells["within"] / cells["waits"].where(cells["waits"] > 0)
    cells = cells.merge(days, on=["branch_id", "weekday"]).merge(
        branches[["branch_id", "mean_service_seconds", "patience_seconds", "model"]]
        .rename(columns={"mean_service_seconds": "branch_service"}), on="branch_id")
    per_hour = 60 / INTERVAL_MINUTES
    cells["arrivals_per_hour"] = cells["arrivals"] / cells["days"] * per_hour
    own = cells["service_time"] / cells["served"].where(cells["served"] > 0)
    # an interval that served nobody takes its branch's mean, a branch that served nobody the
    # bank's; a bank that served nobody has no service time to plan with
    served = float(branches["served"].sum())
    bank = float((branches["mean_service_seconds"] * branches["served"]).sum() / served) \
        if served > 0 else np.nan
    cells["mean_service_seconds"] = own.fillna(cells["branch_service"]).fillna(bank)
    cells["open_counters"] = cells["counters"] / cells["days"]
    if cells["mean_service_seconds"].isna().any() and (cells["arrivals"] > 0).any():
        raise ProcmineError("no served customer gives a service time to plan with",
                            code="queue.no_service_time")
    cells["mean_service_seconds"] = cells["mean_service_seconds"].fillna(1.0)
    cells["weekday"] = cells["weekday"].astype("int64")
    cells["interval_of_day"] = cells["interval_of_day"].astype("int64")
    return cells.sort_values(keys).reset_index(drop=True)


def suggest_shifts(intervals: pd.DataFrame) -> list[ShiftSuggestion]:
    """Blocks of consecutive intervals short of counters, or with counters to spare, per
    branch and weekday (see the module)."""
    out: list[ShiftSuggestion] = []
    for (branch, weekday), frame in intervals.groupby(["branch_id", "weekday"], sort=True):
        rows = frame.sort_values("interval_of_day")
        minutes = rows["interval_of_day"].astype(int).tolist()
        gaps = rows["gap"].to_numpy(dtype="float64")
        for reason, mask, size in (
            ("shortfall", -gaps > SHORTFALL_TOLERANCE, lambda g: math.ceil(-g.min() - 1e-9)),
            ("surplus", gaps >= 1.0, lambda g: math.floor(g.min() + 1e-9)),
        ):
            for start, end in _blocks(minutes, mask):
                block = gaps[[start <= m < end for m in minutes]]
                out.append(ShiftSuggestion(str(branch), int(cast(int, weekday)), start, end,
                                           int(size(block)), reason))  # type: ignore[arg-type]
    return sorted(out, key=lambda s: (s.branch_id, s.weekday, s.start_minute, s.reason))


def _blocks(minutes: Sequence[int], mask: Iterable[bool]) -> list[tuple[int, int]]:
    """Runs of consecutive (15 minutes apart) intervals where ``mask`` holds, as
    (start, end) minutes, the end exclusive."""
    blocks: list[tuple[int, int]] = []
    start = previous = None
    for minute, flagged in zip(minutes, mask, strict=True):
        minute = int(minute)
        if flagged and start is not None and previous is not None \
                and minute == previous + INTERVAL_MINUTES:
            previous = minute
            continue
        if start is not None and previous is not None:
            blocks.append((start, previous + INTERVAL_MINUTES))
        start, previous = (minute, minute) if flagged else (None, None)
    if start is not None and previous is not None:
        blocks.append((start, previous + INTERVAL_MINUTES))
    return blocks


def what_if(plan: StaffingPlan, branch: str, weekday: int, interval_of_day: int,
            counters: int) -> WaitMetrics:
    """The waits of one interval of the plan at ``counters`` counters (its arrivals, service
    time and model).

    Example:
        >>> import pandas as pd
        >>> load = pd.DataFrame({"branch_id": ["B01"], "day": [pd.Timestamp("2026-10-05")],
        ...     "weekday": [1], "interval_of_day": [540], "arrivals": [12], "served": [12],
        ...     "abandoned": [0], "mean_service_seconds": [300.0],
        ...     "total_wait_seconds": [0.0], "counters_open": [3.0]})
        >>> plan = plan_from_load(load)
        >>> round(what_if(plan, "B01", 1, 540, 5).service_level, 3)
        0.925
    """
    rows = plan.intervals
    match = rows[(rows["branch_id"] == str(branch)) & (rows["weekday"] == int(weekday))
                 & (rows["interval_of_day"] == int(interval_of_day))]
    if match.empty:
        raise ProcmineError(f"the plan has no interval {_clock(int(interval_of_day))} on "
                            f"weekday {weekday} at branch {branch}")
    if int(counters) != counters or counters < 0:
        raise ProcmineError(f"counters must be a whole number >= 0, got {counters}")
    row = match.iloc[0]
    patience = float(row["patience_seconds"]) if row["model"] == "erlang_a" else None
    return wait_metrics(float(row["arrivals_per_hour"]), float(row["mean_service_seconds"]),
                        int(counters), target_wait=plan.target_wait, patience_seconds=patience)
