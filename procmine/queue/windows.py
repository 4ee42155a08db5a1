"""VIP and other windows: waits and service by window type and segment, and who a window served
while whom waited.

Read from the queue tickets relation (:mod:`procmine.queue.tickets`). A *VIP window* is a
window type in ``vip_windows`` (default ``("vip",)``), a *regular window* one in
``regular_windows`` (default ``("regular",)``; corporate windows are neither); a *VIP customer*
is a ticket of a segment in ``vip_segments`` (default ``("affluent", "private")``), a *regular
customer* one of any other segment queued for a regular window (or for no known window type).

A call is a served (or transferred) ticket's ``call_time`` at its window. Two conflicts:

* **VIP window served a non-VIP while a VIP waited**: a VIP window called a non-VIP customer
  at ``c`` while a VIP customer of the same branch was queuing (queued before ``c``, called
  or gone after ``c``; a ticket that left at an unknown time is not counted as waiting);
* **the reverse**: a regular window called a VIP customer at ``c`` while a regular customer of
  the same branch had been queuing for longer than the target wait at ``c``.

Each is counted per ticket and per branch x 15-minute interval (the interval the called ticket
queued in, as everywhere in the room). A *peak* is an interval whose mean wait of served
customers is over the target wait (``QueueFilter.target_wait``, default 600 s); the share of
VIP-window time spent on non-VIP customers is given at peaks and overall (time = service
seconds of the tickets the VIP windows served).

Example:
    >>> report = window_report(store)
    >>> sorted(report.by_window_segment["window_type"].unique())
    ['corporate', 'regular', 'vip']
    >>> report.vip_window_nonvip_while_vip_waited <= report.vip_window_nonvip
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from procmine.core.errors import ProcmineError
from procmine.queue.scoped import in_list, records, scoped_views
from procmine.store.engine import DuckDBEngine
from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    from procmine.queue.measures import QueueFilter
    from procmine.store.engine import Engine

__all__ = [
    "REGULAR_WINDOWS",
    "VIP_SEGMENTS",
    "VIP_WINDOWS",
    "WindowReport",
    "window_report",
]

#: Window types that are VIP windows.
VIP_WINDOWS: Final[tuple[str, ...]] = ("vip",)
#: Window types that are regular windows (corporate windows are neither).
REGULAR_WINDOWS: Final[tuple[str, ...]] = ("regular",)
#: Customer segments that are VIP customers.
VIP_SEGMENTS: Final[tuple[str, ...]] = ("affluent", "private")

_SERVED: Final = "outcome IN ('served', 'transferred') AND call_time IS NOT NULL"


def _flags_sql(vip_windows: Sequence[str], regular_windows: Sequence[str],
               vip_segments: Sequence[str]) -> str:
    """The scoped tickets with the window and customer flags (see the module)."""
    vip_window = in_list("window_type", vip_windows)
    regular_window = in_list("window_type", regular_windows)
    vip = in_list("segment", vip_segments)
    return f"""
        SELECT *,
               {vip_window} AS vip_window,
               {regular_window} AS regular_window,
               {vip} AS vip,
               NOT {vip} AND (window_type IS NULL OR {regular_window}) AS regular_customer,
               {_SERVED} AS called
        FROM scoped
    """


# Calls of a conflict: the called ticket, and whether someone it should not have gone before
# was waiting (see the module). Same-branch range join on the waiting tickets' span.
_CONFLICTS: Final = """
    SELECT c.ticket_id
    FROM flagged c
    JOIN flagged w
      ON w.branch_id = c.branch_id AND w.ticket_id <> c.ticket_id
     AND w.queue_start < c.call_time AND w.call_time > c.call_time
    WHERE c.called AND (
          (c.vip_window AND NOT c.vip AND w.vip)
       OR (c.regular_window AND c.vip AND w.regular_customer
           AND epoch(c.call_time - w.queue_start) > {target}))
    GROUP BY c.ticket_id
"""

_BY_WINDOW_SEGMENT: Final = """
    SELECT window_type, segment,
           count(*) AS served,
           avg(waited_seconds) AS mean_wait_seconds,
           median(waited_seconds) AS median_wait_seconds,
           quantile_cont(waited_seconds, 0.9) AS p90_wait_seconds,
           avg(CASE WHEN waited_seconds <= $target THEN 1.0 ELSE 0.0 END) AS service_level,
           avg(service_seconds) AS mean_service_seconds
    FROM scoped
    WHERE outcome IN ('served', 'transferred') AND waited_seconds IS NOT NULL
    GROUP BY window_type, segment
    ORDER BY window_type NULLS LAST, segment NULLS LAST
"""

_BY_INTERVAL: Final = """
    SELECT branch_id, day, interval_start, interval_of_day,
           count(*) FILTER (WHERE called) AS served,
           avg(waited_seconds) FILTER (WHERE called) AS mean_wait_seconds,
           count(*) FILTER (WHERE called AND vip_window) AS vip_window_served,
           count(*) FILTER (WHERE called AND vip_window AND NOT vip) AS vip_window_nonvip,
           count(*) FILTER (WHERE conflict AND vip_window) AS nonvip_while_vip_waited,
           count(*) FILTER (WHERE called AND regular_window AND vip) AS regular_window_vip,
           count(*) FILTER (WHERE conflict AND regular_window) AS vip_while_regular_waited,
           coalesce(sum(service_seconds) FILTER (WHERE called AND vip_window), 0)
               AS vip_window_seconds,
           coalesce(sum(service_seconds) FILTER (WHERE called AND vip_window AND NOT vip), 0)
               AS vip_window_nonvip_seconds
    FROM (SELECT f.*, k.ticket_id IS NOT NULL AS conflict
          FROM flagged f LEFT JOIN conflicts k ON k.ticket_id = f.ticket_id)
    WHERE branch_id IS NOT NULL
    GROUP BY branch_id, day, interval_start, interval_of_day
    ORDER BY branch_id, interval_start
"""

_COUNTS: Final[tuple[str, ...]] = (
    "served", "vip_window_served", "vip_window_nonvip", "nonvip_while_vip_waited",
    "regular_window_vip", "vip_while_regular_waited",
)


@dataclass(frozen=True)
class WindowReport:
    """What :func:`window_report` found (see the module for the definitions).

    ``by_window_segment``: window_type, segment, served, mean/median/p90 wait, service_level,
    mean_service_seconds. ``intervals``: per branch x day x interval: served, mean_wait_seconds,
    peak, vip_window_served, vip_window_nonvip, nonvip_while_vip_waited, regular_window_vip,
    vip_while_regular_waited, vip_window_seconds, vip_window_nonvip_seconds.
    ``by_branch``: the interval counts summed per branch, with the intervals that had each
    conflict (``*_intervals``, at peaks ``*_peak_intervals``) and the non-VIP share of VIP
    window time (``nonvip_time_share``, ``nonvip_time_share_at_peaks``).
    """

    source: str
    target_seconds: float
    vip_windows: tuple[str, ...]
    regular_windows: tuple[str, ...]
    vip_segments: tuple[str, ...]
    vip_window_served: int
    vip_window_nonvip: int
    vip_window_nonvip_while_vip_waited: int
    regular_window_vip: int
    regular_window_vip_while_regular_waited: int
    peak_intervals: int
    vip_window_nonvip_while_vip_waited_at_peaks: int
    regular_window_vip_while_regular_waited_at_peaks: int
    nonvip_time_share: float | None
    nonvip_time_share_at_peaks: float | None
    by_window_segment: pd.DataFrame = field(repr=False)
    intervals: pd.DataFrame = field(repr=False)
    by_branch: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields (frames as lists of records; NaN as None)."""
        out: dict[str, Any] = {
            key: (list(value) if isinstance(value, tuple) else value)
            for key, value in self.__dict__.items() if not isinstance(value, pd.DataFrame)
        }
        out["by_window_segment"] = records(self.by_window_segment)
        out["by_branch"] = records(self.by_branch)
        return out


def _share(part: float, whole: float) -> float | None:
    return None if whole <= 0 else float(part / whole)


def _by_branch(intervals: pd.DataFrame) -> pd.DataFrame:
    """Per branch: the counts summed, intervals with each conflict, the non-VIP time shares."""
    work = intervals.assign(
        nonvip_while_vip_waited_intervals=intervals["nonvip_while_vip_waited"] > 0,
        vip_while_regular_waited_intervals=intervals["vip_while_regular_waited"] > 0,
        peak_vip_seconds=intervals["vip_window_seconds"].where(intervals["peak"], 0.0),
        peak_nonvip_seconds=intervals["vip_window_nonvip_seconds"].where(intervals["peak"], 0.0),
    )
    work["nonvip_while_vip_waited_peak_intervals"] = (
        work["nonvip_while_vip_waited_intervals"] & work["peak"])
    work["vip_while_regular_waited_peak_intervals"] = (
        work["vip_while_regular_waited_intervals"] & work["peak"])
    sums = [*_COUNTS, "peak", "nonvip_while_vip_waited_intervals",
            "nonvip_while_vip_waited_peak_intervals", "vip_while_regular_waited_intervals",
            "vip_while_regular_waited_peak_intervals", "vip_window_seconds",
            "vip_window_nonvip_seconds", "peak_vip_seconds", "peak_nonvip_seconds"]
    out = work.groupby("branch_id", sort=True)[sums].sum().reset_index()
    seconds = ("vip_window_seconds", "vip_window_nonvip_seconds", "peak_vip_seconds",
               "peak_nonvip_seconds")
    for column in sums:
        if column not in seconds:
            out[column] = out[column].astype("int64")
    out = out.rename(columns={"peak": "peak_intervals"})
    out["nonvip_time_share"] = [
        _share(p, w) for p, w in zip(out["vip_window_nonvip_seconds"],
                                     out["vip_window_seconds"], strict=True)]
    out["nonvip_time_share_at_peaks"] = [
        _share(p, w) for p, w in zip(out["peak_nonvip_seconds"], out["peak_vip_seconds"],
                                     strict=True)]
    return out.drop(columns=["peak_vip_seconds", "peak_nonvip_seconds"])


def window_report(store: EventStore, filters: QueueFilter | None = None, *,
                  vip_windows: Sequence[str] = VIP_WINDOWS,
                  regular_windows: Sequence[str] = REGULAR_WINDOWS,
                  vip_segments: Sequence[str] = VIP_SEGMENTS,
                  engine: Engine | None = None) -> WindowReport:
    """Waits and service by window type x segment, and the VIP-window conflicts per branch x
    interval (see the module). ``filters`` narrows the tickets (branch, days, source) and
    gives the target wait that marks a peak."""
    vip_windows, regular_windows = tuple(vip_windows), tuple(regular_windows)
    vip_segments = tuple(vip_segments)
    if set(vip_windows) & set(regular_windows):
        raise ProcmineError("a window type cannot be both a VIP window and a regular window: "
                            f"{sorted(set(vip_windows) & set(regular_windows))}")
    picked = scoped_views(store, filters)
    target = float(picked.filters.target_wait)
    run = engine if engine is not None else DuckDBEngine(store)
    with run.session() as session:
        for name, sql in picked.views.items():
            session.create_view(name, sql)
        session.create_view("flagged", _flags_sql(vip_windows, regular_windows, vip_segments))
        session.create_table("conflicts", _CONFLICTS.format(target=f"{target!r}"))
        by_ws = session.query(_BY_WINDOW_SEGMENT, {"target": target})
        intervals = session.query(_BY_INTERVAL)
    for column in _COUNTS:
        intervals[column] = intervals[column].fillna(0).astype("int64")
    for column in ("vip_window_seconds", "vip_window_nonvip_seconds", "mean_wait_seconds"):
        intervals[column] = intervals[column].astype("float64")
    intervals.insert(5, "peak", (intervals["mean_wait_seconds"] > target).fillna(False)
                     .astype(bool))
    by_branch = _by_branch(intervals)
    peaks = intervals[intervals["peak"]]
    return WindowReport(
        source=picked.source,
        target_seconds=target,
        vip_windows=vip_windows, regular_windows=regular_windows, vip_segments=vip_segments,
        vip_window_served=int(intervals["vip_window_served"].sum()),
        vip_window_nonvip=int(intervals["vip_window_nonvip"].sum()),
        vip_window_nonvip_while_vip_waited=int(intervals["nonvip_while_vip_waited"].sum()),
        regular_window_vip=int(intervals["regular_window_vip"].sum()),
        regular_window_vip_while_regular_waited=int(
            intervals["vip_while_regular_waited"].sum()),
        peak_intervals=int(intervals["peak"].sum()),
        vip_window_nonvip_while_vip_waited_at_peaks=int(peaks["nonvip_while_vip_waited"].sum()),
        regular_window_vip_while_regular_waited_at_peaks=int(
            peaks["vip_while_regular_waited"].sum()),
        nonvip_time_share=_share(intervals["vip_window_nonvip_seconds"].sum(),
                                 intervals["vip_window_seconds"].sum()),
        nonvip_time_share_at_peaks=_share(peaks["vip_window_nonvip_seconds"].sum(),
                                          peaks["vip_window_seconds"].sum()),
        by_window_segment=by_ws, intervals=intervals, by_branch=by_branch,
    )
