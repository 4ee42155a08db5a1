"""Queue measures: arrivals, waits, service level, abandonment, service time and teller occupancy.

Every figure is computed from the queue tickets relation (:mod:`procmine.queue.tickets`: one
row per ticket, with ``queued``, ``waited_seconds``, ``service_seconds`` and the ticket's
``day`` and 15-minute ``interval_start``), read through an engine session as the view
``queue_tickets`` and narrowed by a :class:`QueueFilter` (branch, days, the target wait). The
names follow queue-management usage:

=============================  ================================================================
``arrivals``                   tickets taken (every row)
``queued``                     tickets that joined the counter queue (``queue_start`` known)
``served``, ``transferred``    outcome ``served``; outcome ``transferred`` (served, then sent on)
``abandoned``, ``no_show``     left the queue before the call; called and not there
``abandonment_rate``           abandoned among those who queued / queued (a no-show counts in
                               the denominator only)
waits (mean, median, p90,      ``waited_seconds`` of the served customers: outcome served or
max)                           transferred, with a known wait (``quantile_cont``: linear
                               interpolation, the same on every engine)
``service_level``              the share of those waits at most the target (default 600 s,
                               10 minutes, the counters' usual target)
``mean_service_seconds``       ``service_seconds`` of the served customers
``occupancy``                  busy seconds / open seconds of the tellers (below)
``transactions_per_teller_     served tickets / open hours of the tellers
hour``
=============================  ================================================================

A teller is *open* on a day from their first service start to their last service end of that
day (the tickets of that ``day``; a span can run past midnight), less their breaks. Taken in
order of service start, a customer whose service starts :data:`BREAK_MINUTES` (30) or more
after the latest end of the teller's earlier services that day (services may overlap: the
latest end, not the previous customer's) comes after a break, and the counter counts as closed
in between (lunch, a meeting; a queue system that exported log-in and log-out times would give
the hours exactly). The stretches between breaks are the teller-day spans (a 40-minute lunch
makes two; a 29-minute lull does not split). Busy seconds are the service seconds of the
customers served in them. Occupancy and transactions per teller-hour (busy and served over
the spans' seconds and hours) are computed wherever the grouping is a property of the
teller-day (branch, teller, day, weekday, month); grouped by window, business type, segment or
interval they are NaN. The counters open in a 15-minute interval (:func:`interval_load`) are
the overlapped share of the 15 minutes, summed over the spans: a teller open from 09:05 counts
2/3 of a counter in 09:00-09:15, and none while at lunch.

Example:
    >>> summary = queue_summary(store, QueueFilter(target_wait=600))
    >>> summary.tickets >= summary.served + summary.transferred + summary.abandoned
    True
    >>> share = summary.service_level["share"]
    >>> waits = queue_measures(store, ["branch_id"])  # the same share, branch by branch
    >>> served = waits["served"] + waits["transferred"]
    >>> bool(abs((waits["service_level"] * served).sum() / served.sum() - share) < 0.02)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Final

import pandas as pd

from procmine.core.errors import ProcmineError
from procmine.core.sql import lit
from procmine.queue.tickets import INTERVAL_MINUTES, queue_tickets_sql, resolve_source
from procmine.store.engine import DuckDBEngine, Engine, Session
from procmine.store.event_store import EventStore

__all__ = [
    "BREAK_MINUTES",
    "DEFAULT_TARGET_WAIT",
    "INTERVAL_LOAD_COLUMNS",
    "MEASURE_COLUMNS",
    "QUEUE_DIMENSIONS",
    "TELLER_DAY_DIMENSIONS",
    "QueueFilter",
    "QueueSummary",
    "interval_load",
    "queue_measures",
    "queue_summary",
]

#: The dimensions :func:`queue_measures` groups by (columns of the queue tickets relation).
QUEUE_DIMENSIONS: Final[tuple[str, ...]] = (
    "branch_id", "window_type", "business_type", "segment", "teller_id", "day", "weekday",
    "interval_start", "interval_of_day", "month",
)

#: The dimensions a teller-day has: occupancy and transactions per teller-hour need ``by``
#: within these.
TELLER_DAY_DIMENSIONS: Final[tuple[str, ...]] = (
    "branch_id", "teller_id", "day", "weekday", "month",
)

#: The default target wait of counters: 10 minutes.
DEFAULT_TARGET_WAIT: Final = 600.0

#: The measure columns of :func:`queue_measures`, after the ``by`` columns.
MEASURE_COLUMNS: Final[tuple[str, ...]] = (
    "arrivals", "queued", "served", "transferred", "abandoned", "no_show", "abandonment_rate",
    "mean_wait_seconds", "median_wait_seconds", "p90_wait_seconds", "max_wait_seconds",
    "service_level", "mean_service_seconds", "occupancy", "transactions_per_teller_hour",
)

_INTERVAL_SECONDS: Final = INTERVAL_MINUTES * 60

# served customers: their waits, service level and service time are the measures'
_SERVED: Final = "outcome IN ('served', 'transferred')"
_WAITED: Final = f"({_SERVED} AND waited_seconds IS NOT NULL)"

_MEASURES: Final = f"""
    count(*) AS arrivals,
    count(CASE WHEN queued THEN 1 END) AS queued,
    count(CASE WHEN outcome = 'served' THEN 1 END) AS served,
    count(CASE WHEN outcome = 'transferred' THEN 1 END) AS transferred,
    count(CASE WHEN outcome = 'abandoned' THEN 1 END) AS abandoned,
    count(CASE WHEN outcome = 'no_show' THEN 1 END) AS no_show,
    count(CASE WHEN queued AND outcome = 'abandoned' THEN 1 END)
        / nullif(count(CASE WHEN queued THEN 1 END), 0) AS abandonment_rate,
    avg(CASE WHEN {_WAITED} THEN waited_seconds END) AS mean_wait_seconds,
    median(CASE WHEN {_WAITED} THEN waited_seconds END) AS median_wait_seconds,
    quantile_cont(CASE WHEN {_WAITED} THEN waited_seconds END, 0.9) AS p90_wait_seconds,
    max(CASE WHEN {_WAITED} THEN waited_seconds END) AS max_wait_seconds,
    count(CASE WHEN {_WAITED} AND waited_seconds <= $target THEN 1 END)
        / nullif(count(CASE WHEN {_WAITED} THEN 1 END), 0) AS service_level,
    avg(CASE WHEN {_SERVED} THEN service_seconds END) AS mean_service_seconds
"""

#: A gap of this many minutes or more between two customers of a teller is a break: the counter
#: was closed in between (lunch, a meeting), so it counts neither as open time nor as a counter.
BREAK_MINUTES: Final = 30

# The services of each teller-day in order, with the end of the latest earlier service (services
# may overlap), and a break before a service that starts BREAK_MINUTES or more after it.
_TELLER_SERVICES: Final = f"""
    SELECT *,
           coalesce(epoch(service_start - max(service_end) OVER (
               PARTITION BY branch_id, teller_id, day
               ORDER BY service_start, service_end, ticket_id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) >= {BREAK_MINUTES * 60},
               false) AS after_break
    FROM queue_scope
    WHERE teller_id IS NOT NULL AND {_SERVED}
      AND service_start IS NOT NULL AND service_end IS NOT NULL
"""

# One row per teller, day and session (the stretch between breaks): when the teller was open,
# how long busy, how many served.
_TELLER_DAYS: Final = f"""
    SELECT branch_id, teller_id, day, weekday, month, session,
           min(service_start) AS open_from,
           max(service_end) AS open_to,
           epoch(max(service_end) - min(service_start)) AS open_seconds,
           sum(service_seconds) AS busy_seconds,
           count(CASE WHEN outcome = 'served' THEN 1 END) AS served
    FROM (
        SELECT *,
               sum(CASE WHEN after_break THEN 1 ELSE 0 END) OVER (
                   PARTITION BY branch_id, teller_id, day
                   ORDER BY service_start, service_end, ticket_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session
        FROM ({_TELLER_SERVICES})
    )
    GROUP BY branch_id, teller_id, day, weekday, month, session
"""

_OCCUPANCY: Final = """
    sum(busy_seconds) / nullif(sum(open_seconds), 0) AS occupancy,
    sum(served) / nullif(sum(open_seconds) / 3600, 0) AS transactions_per_teller_hour
"""


@dataclass(frozen=True)
class QueueFilter:
    """What the queue measures are narrowed to: one branch, the days ``start`` (inclusive) to
    ``end`` (exclusive) on the ticket's ``day``, and the target wait of the service level (in
    seconds); ``source`` is where the tickets come from (``auto``, ``tickets``, ``events``:
    :func:`procmine.queue.tickets.resolve_source`).

    Example:
        >>> QueueFilter(branch="B01", start=date(2026, 10, 1)).where()
        "true AND branch_id = 'B01' AND day >= DATE '2026-10-01'"
    """

    branch: str | None = None
    start: date | None = None
    end: date | None = None  # exclusive
    target_wait: float = DEFAULT_TARGET_WAIT
    source: str = "auto"

    def __post_init__(self) -> None:
        if not self.target_wait >= 0:  # also refuses NaN
            raise ProcmineError(f"target wait {self.target_wait!r}: expected seconds >= 0")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ProcmineError(f"the period {self.start} to {self.end} is empty: the end "
                                "(exclusive) must come after the start",
                                code="queue.empty_period")

    def where(self) -> str:
        """The restriction as a condition with literal values, over the queue tickets."""
        clauses = ["true"]
        if self.branch is not None:
            clauses.append(f"branch_id = {lit(self.branch)}")
        if self.start is not None:
            clauses.append(f"day >= DATE '{self.start.isoformat()}'")
        if self.end is not None:
            clauses.append(f"day < DATE '{self.end.isoformat()}'")
        return " AND ".join(clauses)


@dataclass(frozen=True)
class QueueSummary:
    """The queue of a branch (or the bank) over a period: the figures of ``procmine queue``.

    ``to_dict()`` is the JSON of ``procmine queue --json`` (floats as they are, NaN as None).
    """

    source: str
    tickets: int
    queued: int
    served: int
    transferred: int
    abandoned: int
    no_show: int
    abandonment_rate: float | None
    mean_wait_seconds_served: float | None
    median_wait_seconds_served: float | None
    p90_wait_seconds_served: float | None
    max_wait_seconds_served: float | None
    service_level: dict[str, float | None]
    mean_service_seconds: float | None
    occupancy: float | None
    transactions_per_teller_hour: float | None
    first_day: str | None
    last_day: str | None
    per_teller: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _engine(store: EventStore, engine: Engine | None) -> Engine:
    return engine if engine is not None else DuckDBEngine(store)


def _open(store: EventStore, filters: QueueFilter, engine: Engine | None, *,
          tellers: bool = True) -> tuple[Session, str]:
    """A session with ``queue_tickets`` (the relation), ``queue_scope`` (narrowed by
    ``filters``) and, with ``tellers``, ``teller_days`` (the teller-day spans, computed once),
    and the source used."""
    source = resolve_source(store, filters.source)
    session = _engine(store, engine).session()
    try:
        # from the event log the relation is an aggregation over every event: computed once
        # per session (where the engine can); from the exports it is a plain scan
        make = session.create_table if source == "events" else session.create_view
        make("queue_tickets", queue_tickets_sql(source))
        session.create_view("queue_scope",
                            f"SELECT * FROM queue_tickets WHERE {filters.where()}")
        if tellers:
            session.create_table("teller_days", _TELLER_DAYS)
    except BaseException:
        session.close()
        raise
    return session, source


def _check_by(by: Sequence[str]) -> list[str]:
    if isinstance(by, str):
        by = [by]
    columns = list(by)
    unknown = [c for c in columns if c not in QUEUE_DIMENSIONS]
    if unknown:
        raise ProcmineError(f"cannot group the queue by {', '.join(map(repr, unknown))}: "
                            f"expected some of {', '.join(QUEUE_DIMENSIONS)}")
    if len(set(columns)) != len(columns):
        raise ProcmineError(f"group the queue by each dimension once, not {columns}")
    return columns


def _grouped(select: str, table: str, by: list[str]) -> str:
    if not by:
        return f"SELECT {select} FROM {table}"
    keys = ", ".join(by)
    order = ", ".join(f"{c} NULLS LAST" for c in by)
    return f"SELECT {keys}, {select} FROM {table} GROUP BY {keys} ORDER BY {order}"


def _measures(session: Session, by: list[str], target: float) -> pd.DataFrame:
    frame = session.query(_grouped(_MEASURES, "queue_scope", by), {"target": float(target)})
    if set(by) <= set(TELLER_DAY_DIMENSIONS):
        occupancy = session.query(_grouped(_OCCUPANCY, "teller_days", by))
        if by:
            frame = frame.merge(occupancy, on=by, how="left")
        else:
            frame = frame.assign(**{c: occupancy[c].to_numpy() for c in occupancy.columns})
    else:
        frame = frame.assign(occupancy=float("nan"), transactions_per_teller_hour=float("nan"))
    for column in MEASURE_COLUMNS[6:]:
        frame[column] = frame[column].astype("float64")
    return frame[[*by, *MEASURE_COLUMNS]].reset_index(drop=True)


def queue_measures(store: EventStore, by: Sequence[str], filters: QueueFilter | None = None,
                   *, engine: Engine | None = None) -> pd.DataFrame:
    """The queue measures (see the module) per group of ``by`` (some of
    :data:`QUEUE_DIMENSIONS`; none gives one row for everything), sorted by ``by``.

    Columns: the ``by`` columns, then :data:`MEASURE_COLUMNS`. ``occupancy`` and
    ``transactions_per_teller_hour`` are NaN unless ``by`` is within the teller-day's
    dimensions (branch, teller, day, weekday, month).

    Example:
        >>> frame = queue_measures(store, ["branch_id"])
        >>> list(frame["branch_id"])
        ['B01', 'B02', 'B03', 'B04', 'B05', 'B06']
        >>> bool((frame["occupancy"] > 0).all() and (frame["occupancy"] <= 1).all())
        True
    """
    filters = filters or QueueFilter()
    columns = _check_by(by)
    session, _ = _open(store, filters, engine,
                       tellers=set(columns) <= set(TELLER_DAY_DIMENSIONS))
    with session:
        return _measures(session, columns, filters.target_wait)


def _value(value: Any) -> Any:
    """A plain Python value (None for a missing one)."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _day(value: Any) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def queue_summary(store: EventStore, filters: QueueFilter | None = None, *,
                  engine: Engine | None = None) -> QueueSummary:
    """The queue over the filtered tickets, with the figures per teller (tellers who served a
    customer, by teller id): :class:`QueueSummary`.

    Example:
        >>> summary = queue_summary(store, QueueFilter(branch="B01", target_wait=300))
        >>> summary.service_level["target_seconds"], summary.per_teller[0]["teller_id"][:2]
        (300.0, '01')
        >>> summary.first_day < summary.last_day
        True
    """
    filters = filters or QueueFilter()
    session, source = _open(store, filters, engine)
    with session:
        total = _measures(session, [], filters.target_wait).iloc[0]
        tellers = _measures(session, ["teller_id"], filters.target_wait)
        days = session.query("SELECT min(day) AS first_day, max(day) AS last_day "
                             "FROM queue_scope").iloc[0]
    tellers = tellers[tellers["teller_id"].notna()
                      & (tellers["served"] + tellers["transferred"] > 0)]
    per_teller = [
        {"teller_id": str(row["teller_id"]), "served": int(row["served"]),
         **{name: _value(row[name]) for name in ("mean_service_seconds", "occupancy",
                                                  "transactions_per_teller_hour")}}
        for row in tellers.to_dict("records")
    ]
    return QueueSummary(
        source=source,
        tickets=int(total["arrivals"]),
        queued=int(total["queued"]),
        served=int(total["served"]),
        transferred=int(total["transferred"]),
        abandoned=int(total["abandoned"]),
        no_show=int(total["no_show"]),
        abandonment_rate=_value(total["abandonment_rate"]),
        mean_wait_seconds_served=_value(total["mean_wait_seconds"]),
        median_wait_seconds_served=_value(total["median_wait_seconds"]),
        p90_wait_seconds_served=_value(total["p90_wait_seconds"]),
        max_wait_seconds_served=_value(total["max_wait_seconds"]),
        service_level={"target_seconds": float(filters.target_wait),
                       "share": _value(total["service_level"])},
        mean_service_seconds=_value(total["mean_service_seconds"]),
        occupancy=_value(total["occupancy"]),
        transactions_per_teller_hour=_value(total["transactions_per_teller_hour"]),
        first_day=_day(days["first_day"]),
        last_day=_day(days["last_day"]),
        per_teller=per_teller,
    )


# -- the load of each 15-minute interval ---------------------------------------------------------

_INTERVAL_TICKETS: Final = f"""
    SELECT branch_id, day, interval_start, weekday, interval_of_day,
           count(*) AS arrivals,
           count(CASE WHEN outcome = 'served' THEN 1 END) AS served,
           count(CASE WHEN outcome = 'transferred' THEN 1 END) AS transferred,
           count(CASE WHEN outcome = 'abandoned' THEN 1 END) AS abandoned,
           count(CASE WHEN outcome = 'no_show' THEN 1 END) AS no_show,
           avg(CASE WHEN {_SERVED} THEN service_seconds END) AS mean_service_seconds,
           count(CASE WHEN {_WAITED} THEN 1 END) AS waits,
           coalesce(sum(CASE WHEN {_WAITED} THEN waited_seconds END), 0) AS total_wait_seconds,
           coalesce(sum(CASE WHEN outcome = 'abandoned' THEN waited_seconds END), 0)
               AS abandoned_wait_seconds,
           count(CASE WHEN {_WAITED} AND waited_seconds <= $target THEN 1 END)
               / nullif(count(CASE WHEN {_WAITED} THEN 1 END), 0) AS service_level
    FROM queue_scope
    WHERE queued
    GROUP BY branch_id, day, interval_start, weekday, interval_of_day
"""

# The quarter-hours of a teller-day span (numbered from the span's day's midnight; a span may
# run into the next day) and the share of each that the span covers, summed per branch.
_INTERVAL_COUNTERS: Final = f"""
    SELECT branch_id, CAST(interval_start AS DATE) AS day, interval_start,
           isodow(interval_start) AS weekday,
           CAST(hour(interval_start) * 60 + minute(interval_start) AS INTEGER)
               AS interval_of_day,
           sum(epoch(least(open_to, interval_start + INTERVAL {INTERVAL_MINUTES} MINUTE)
                     - greatest(open_from, interval_start))) / {_INTERVAL_SECONDS}
               AS counters_open
    FROM (
        SELECT s.branch_id, s.open_from, s.open_to,
               CAST(s.day AS TIMESTAMP) + to_minutes(q.k * {INTERVAL_MINUTES}) AS interval_start
        FROM (SELECT *,
                     CAST(floor(epoch(open_from - CAST(day AS TIMESTAMP))
                                / {_INTERVAL_SECONDS}) AS BIGINT) AS k_from,
                     CAST(ceil(epoch(open_to - CAST(day AS TIMESTAMP))
                               / {_INTERVAL_SECONDS}) AS BIGINT) AS k_to
              FROM teller_days
              WHERE open_to > open_from) AS s
        JOIN quarter_hours AS q ON q.k >= s.k_from AND q.k < s.k_to
    )
    GROUP BY branch_id, interval_start
"""

#: The columns of :func:`interval_load`, in order.
INTERVAL_LOAD_COLUMNS: Final[tuple[str, ...]] = (
    "branch_id", "day", "interval_start", "weekday", "interval_of_day", "arrivals", "served",
    "transferred", "abandoned", "no_show", "mean_service_seconds", "waits",
    "total_wait_seconds", "abandoned_wait_seconds", "service_level", "counters_open",
)

_COUNTS: Final = ("arrivals", "served", "transferred", "abandoned", "no_show", "waits")
_KEYS: Final = ["branch_id", "day", "interval_start"]


def interval_load(store: EventStore, filters: QueueFilter | None = None, *,
                  engine: Engine | None = None) -> pd.DataFrame:
    """The load of each branch in each 15-minute interval of each day: the queued tickets
    that joined the queue in it and the counters open (sorted by branch, then time).

    Columns (:data:`INTERVAL_LOAD_COLUMNS`): ``arrivals`` (tickets that joined the queue in
    the interval) and of them ``served``, ``transferred``, ``abandoned``, ``no_show``;
    ``mean_service_seconds`` of the served customers; ``waits`` (served customers with a
    known wait), ``total_wait_seconds`` (their waits added up), ``abandoned_wait_seconds``
    (the waits of the abandoned, where known: with ``total_wait_seconds`` the time in queue
    for a patience estimate), ``service_level`` (share of ``waits`` within the target);
    ``counters_open`` (fractional: the share of the 15 minutes each teller was open, summed).
    An interval with counters open and no arrivals has a row with zero arrivals.

    Example:
        >>> load = interval_load(store, QueueFilter(branch="B01"))
        >>> int(load["arrivals"].sum()) == queue_summary(store, QueueFilter(branch="B01")).queued
        True
        >>> bool((load["counters_open"] >= 0).all()), sorted(set(load["branch_id"]))
        (True, ['B01'])
    """
    filters = filters or QueueFilter()
    session, _ = _open(store, filters, engine)
    # two days of quarter-hours: a span that runs past midnight goes on counting
    quarters = pd.DataFrame({"k": pd.array(range(2 * 24 * 60 // INTERVAL_MINUTES),
                                           dtype="int64")})
    with session:
        session.register("quarter_hours", quarters)
        tickets = session.query(_INTERVAL_TICKETS, {"target": float(filters.target_wait)})
        counters = session.query(_INTERVAL_COUNTERS)
    return _combine_load(tickets, counters)


def _combine_load(tickets: pd.DataFrame, counters: pd.DataFrame) -> pd.DataFrame:
    """The ticket and counter sides of :func:`interval_load` side by side (an interval of one
    side only gets zeros for the other)."""
    for frame in (tickets, counters):
        frame["day"] = pd.to_datetime(frame["day"]).astype("datetime64[us]")
        frame["interval_start"] = pd.to_datetime(frame["interval_start"]).astype(
            "datetime64[us]")
    merged = tickets.merge(counters, on=_KEYS, how="outer", suffixes=("", "_open"))
    for column in ("weekday", "interval_of_day"):
        merged[column] = merged[column].fillna(merged[f"{column}_open"]).astype("int64")
    for column in _COUNTS:
        merged[column] = merged[column].fillna(0).astype("int64")
    for column in ("total_wait_seconds", "abandoned_wait_seconds", "counters_open"):
        merged[column] = merged[column].astype("float64").fillna(0.0)
    for column in ("mean_service_seconds", "service_level"):
        merged[column] = merged[column].astype("float64")
    merged = merged.sort_values(_KEYS, na_position="last", kind="stable")
    return merged[list(INTERVAL_LOAD_COLUMNS)].reset_index(drop=True)
