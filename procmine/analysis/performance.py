"""Counter times: steps, transactions, business types and tellers against the timing baseline.

A transaction (case) runs from its first step's start to its last step's end: its counter dwell
time; its queue wait runs from the ticket to the call. Its teller, branch and business type are
those of most of its steps (the smallest among ties, on every engine and every run). Each step
has a service time (end - start) and a wait before it (from the previous step's end in the case,
or from the call for the first step). Where a log has only
completion times, a step's service time is the time since the previous step's end in the case
(from the call for the first step), flagged ``service_is_inferred``.

Every function takes the store (and the baseline, optional :class:`Filters`) and returns a
pandas DataFrame of reduced rows; the aggregation runs in DuckDB over the store, or, given
``engine=`` (:mod:`procmine.store.engine`), on that engine (e.g. Spark) with the same SQL.

Example:
    >>> from procmine.analysis.performance import business_type_summary, step_statistics
    >>> summary = business_type_summary(store, baseline)        # doctest: +SKIP
    >>> summary.loc[0, ["business_type", "median_seconds", "standard_seconds"]]  # doctest: +SKIP
    >>> steps = step_statistics(store, baseline, by="branch")   # doctest: +SKIP
    >>> steps.columns[:4].tolist()                              # doctest: +SKIP
    ['branch_id', 'business_type', 'activity', 'count']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.core.sql import lit
from procmine.store.engine import DuckDBEngine
from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    from procmine.store.engine import Engine, TableData

__all__ = [
    "AMOUNT_BANDS",
    "BREAKDOWNS",
    "LEVELS",
    "REFERENCE_SCHEMA",
    "Filters",
    "Level",
    "StepData",
    "business_type_summary",
    "filter_options",
    "latest_month",
    "step_samples",
    "step_statistics",
    "step_times",
    "teller_profile",
    "teller_summary",
    "transaction_statistics",
    "transaction_summary",
    "type_steps",
]

Level = Literal["teller", "branch", "bank"]

#: The grouping columns of each level of the step statistics (besides type and step).
LEVELS: Final[dict[str, tuple[str, ...]]] = {
    "teller": ("teller_id", "branch_id"),
    "branch": ("branch_id",),
    "bank": (),
}

#: Amount bands (CNY): under the self-service limit for small cash, up to the large-cash
#: threshold that brings registration and a recount, up to the booking threshold, and above.
AMOUNT_BANDS: Final[tuple[str, ...]] = (
    "under 20,000", "20,000-49,999", "50,000-199,999", "200,000 and over", "no amount",
)

#: What a step's times can be broken down by (column of the step view).
BREAKDOWNS: Final[tuple[str, ...]] = ("amount_band", "hour", "window_type", "month")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Filters:
    """What every page can narrow the data to; empty means no restriction."""

    start: date | None = None
    end: date | None = None  # inclusive
    branches: tuple[str, ...] = field(default_factory=tuple)
    business_types: tuple[str, ...] = field(default_factory=tuple)
    tellers: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def for_month(cls, month: str, **kwargs: Any) -> Filters:
        """The filters of one calendar month given as ``YYYY-MM``.

        Example:
            >>> Filters.for_month("2026-10").end
            datetime.date(2026, 10, 31)
        """
        match = _MONTH.match(month.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ProcmineError(f"month {month!r}: expected YYYY-MM, e.g. 2026-10")
        first = date(int(match.group(1)), int(match.group(2)), 1)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return cls(start=first, end=last, **kwargs)

    def where(self) -> tuple[str, dict[str, Any]]:
        """A WHERE clause over the transactions relation, with its parameters."""
        clauses = ["true"]
        params: dict[str, Any] = {}
        if self.start is not None:
            clauses.append("started >= $start")
            params["start"] = self.start
        if self.end is not None:
            clauses.append("started < $end")
            params["end"] = self.end + timedelta(days=1)
        for name, column in (("branches", "branch_id"), ("business_types", "business_type"),
                             ("tellers", "teller_id")):
            values = getattr(self, name)
            if values:
                clauses.append(f"list_contains(${name}, {column})")
                params[name] = list(values)
        return " AND ".join(clauses), params

    def sql(self, time_column: str = "started", *, period: bool = True,
            types: bool = True, people: bool = True) -> str:
        """The same restriction as :meth:`where` with literal values (for view definitions)."""
        clauses = ["true"]
        if period and self.start is not None:
            clauses.append(f"{time_column} >= DATE '{self.start.isoformat()}'")
        if period and self.end is not None:
            clauses.append(f"{time_column} < DATE '{(self.end + timedelta(days=1)).isoformat()}'")
        chosen = []
        if types:
            chosen.append((self.business_types, "business_type"))
        if people:
            chosen += [(self.branches, "branch_id"), (self.tellers, "teller_id")]
        for values, column in chosen:
            if values:
                clauses.append(f"{column} IN ({', '.join(lit(v) for v in values)})")
        return " AND ".join(clauses)


_TRANSACTIONS = """
    SELECT case_id,
           mode(teller_id ORDER BY teller_id) AS teller_id,
           mode(branch_id ORDER BY branch_id) AS branch_id,
           mode(business_type ORDER BY business_type) AS business_type,
           mode(window_type ORDER BY window_type) AS window_type,
           min(coalesce(start_time, end_time)) AS started,
           max(end_time) AS ended,
           epoch(max(end_time) - min(coalesce(start_time, end_time))) AS dwell_seconds,
           count(*) AS steps,
           coalesce(bool_or(error), false) AS error,
           max(amount) AS amount,
           epoch(min(call_time) - min(ticket_time)) AS queue_seconds
    FROM events
    GROUP BY case_id
"""


def _baseline_table(baseline: Baseline | None) -> pa.Table:
    records = baseline.to_records() if baseline is not None else []
    return pa.Table.from_pylist(records) if records else pa.table(
        {"business_type": pa.array([], pa.string()),
         "standard_seconds": pa.array([], pa.float64())})


def _register_baseline(con: duckdb.DuckDBPyConnection, baseline: Baseline | None) -> None:
    con.register("baseline_arrow", _baseline_table(baseline))
    con.execute("CREATE OR REPLACE TEMP VIEW baseline AS SELECT * FROM baseline_arrow")


def _engine(store: EventStore, engine: Engine | None) -> Engine:
    """``engine``, or DuckDB over ``store`` (one connection per query) when none is given."""
    return engine if engine is not None else DuckDBEngine(store)


def _query(store: EventStore, baseline: Baseline, sql: str,
           params: dict[str, Any] | None = None, engine: Engine | None = None) -> pd.DataFrame:
    """Run ``sql`` with the views ``transactions`` and ``baseline`` defined, on ``engine``
    (DuckDB over ``store`` by default)."""
    return _engine(store, engine).query(sql, params, {"transactions": _TRANSACTIONS},
                                        tables={"baseline": _baseline_table(baseline)})


def latest_month(store: EventStore, *, engine: Engine | None = None) -> date | None:
    """The first day of the latest month with data (the dashboard's "this month")."""
    value = _engine(store, engine).query("SELECT max(end_time) AS last FROM events")["last"][0]
    return None if pd.isna(value) else pd.Timestamp(value).date().replace(day=1)


def filter_options(store: EventStore, *, engine: Engine | None = None) -> dict[str, list[str]]:
    """The values the shared filters offer: branches, business types, tellers (one query)."""
    columns = ("branch_id", "business_type", "teller_id")
    frame = _engine(store, engine).query(" UNION ALL ".join(
        f"SELECT DISTINCT {lit(c)} AS field, {c} AS value FROM events WHERE {c} IS NOT NULL"
        for c in columns) + " ORDER BY field, value")
    return {c: [str(v) for v in frame.loc[frame["field"] == c, "value"]] for c in columns}


def transaction_summary(store: EventStore, baseline: Baseline,
                        filters: Filters | None = None, *,
                        engine: Engine | None = None) -> dict[str, Any]:
    """Counts and period of the transactions that pass the filters.

    Every summary below takes ``engine`` (:mod:`procmine.store.engine`): the same SQL runs on it
    (e.g. Spark) instead of DuckDB over ``store``, with the same figures.
    """
    where, params = (filters or Filters()).where()
    frame = _query(store, baseline, f"""
        SELECT count(*) AS transactions, sum(steps) AS events,
               count(DISTINCT teller_id) AS tellers, count(DISTINCT branch_id) AS branches,
               count(DISTINCT business_type) AS business_types,
               min(started) AS first, max(ended) AS last,
               avg(CASE WHEN error THEN 1.0 ELSE 0.0 END) AS error_rate
        FROM transactions WHERE {where}
    """, params, engine)
    row: dict[str, Any] = {str(k): v for k, v in frame.iloc[0].to_dict().items()}
    row["transactions"] = int(row["transactions"])
    # no transaction: NULL, as NaN (DuckDB) or NA (Spark's nullable integers)
    row["events"] = 0 if pd.isna(row["events"]) else int(row["events"])
    return row


def business_type_summary(store: EventStore, baseline: Baseline,
                          filters: Filters | None = None, *,
                          engine: Engine | None = None) -> pd.DataFrame:
    """Per business type: transactions, median and p90 dwell time against the standard time,
    and the time lost (hours over standard, summed over transactions), most time lost first
    (on ``engine`` if given).
    """
    where, params = (filters or Filters()).where()
    return _query(store, baseline, f"""
        SELECT t.business_type, count(*) AS transactions,
               median(t.dwell_seconds) AS median_seconds,
               quantile_cont(t.dwell_seconds, 0.9) AS p90_seconds,
               any_value(b.standard_seconds) AS standard_seconds,
               median(t.dwell_seconds) / any_value(b.standard_seconds) AS ratio,
               sum(greatest(t.dwell_seconds - b.standard_seconds, 0)) / 3600 AS hours_lost
        FROM transactions t JOIN baseline b USING (business_type)
        WHERE {where}
        GROUP BY t.business_type
        ORDER BY hours_lost DESC, t.business_type
    """, params, engine)


def teller_summary(store: EventStore, baseline: Baseline, filters: Filters | None = None,
                   min_transactions: int = 20, *, engine: Engine | None = None) -> pd.DataFrame:
    """Per teller: transactions, errors, standard-time weighted volume and speed index
    (sum of standard times / sum of actual dwell times; below 1 is slower than standard),
    slowest first. Tellers with fewer than ``min_transactions`` are left out (on ``engine`` if
    given).
    """
    where, params = (filters or Filters()).where()
    params["min_transactions"] = min_transactions
    return _query(store, baseline, f"""
        SELECT t.teller_id, mode(t.branch_id ORDER BY t.branch_id) AS branch_id,
               count(*) AS transactions,
               sum(CASE WHEN t.error THEN 1 ELSE 0 END) AS errors,
               sum(b.standard_seconds) / 3600 AS standard_hours,
               sum(t.dwell_seconds) / 3600 AS actual_hours,
               sum(b.standard_seconds) / sum(t.dwell_seconds) AS speed_index
        FROM transactions t JOIN baseline b USING (business_type)
        WHERE t.teller_id IS NOT NULL AND {where}
        GROUP BY t.teller_id
        HAVING count(*) >= $min_transactions
        ORDER BY speed_index, t.teller_id
    """, params, engine)


def transaction_statistics(store: EventStore, baseline: Baseline, by: Level = "bank",
                           filters: Filters | None = None, *,
                           engine: Engine | None = None) -> pd.DataFrame:
    """Per (teller or branch or bank) x business type: the counter dwell time and the queue
    wait (ticket to call, where the log has them) of the transactions: count, median, p90,
    mean, total, with the type's standard time (on ``engine`` if given).

    Example:
        >>> frame = transaction_statistics(store, baseline, by="branch")  # doctest: +SKIP
        >>> frame.columns[:3].tolist()                                     # doctest: +SKIP
        ['branch_id', 'business_type', 'transactions']
    """
    keys = [*_level_keys(by), "business_type"]
    cols = ", ".join(f"t.{k}" for k in keys)
    where, params = (filters or Filters()).where()
    return _query(store, baseline, f"""
        SELECT {cols}, count(*) AS transactions,
               quantile_cont(t.dwell_seconds, 0.5) AS median_dwell_seconds,
               quantile_cont(t.dwell_seconds, 0.9) AS p90_dwell_seconds,
               avg(t.dwell_seconds) AS mean_dwell_seconds,
               sum(t.dwell_seconds) AS total_dwell_seconds,
               count(t.queue_seconds) AS queued,
               quantile_cont(t.queue_seconds, 0.5) AS median_queue_seconds,
               quantile_cont(t.queue_seconds, 0.9) AS p90_queue_seconds,
               avg(t.queue_seconds) AS mean_queue_seconds,
               any_value(b.standard_seconds) AS standard_seconds
        FROM transactions t LEFT JOIN baseline b USING (business_type)
        WHERE {where}
        GROUP BY {cols}
        ORDER BY {cols}
    """, params, engine)


# -- steps ------------------------------------------------------------------------------------

_AMOUNT_BAND_SQL = f"""CASE
        WHEN amount IS NULL THEN {lit(AMOUNT_BANDS[4])}
        WHEN amount < 20000 THEN {lit(AMOUNT_BANDS[0])}
        WHEN amount < 50000 THEN {lit(AMOUNT_BANDS[1])}
        WHEN amount < 200000 THEN {lit(AMOUNT_BANDS[2])}
        ELSE {lit(AMOUNT_BANDS[3])} END"""

# The lean step view, when every step has its start: one pass over the store, no window.
_LEAN_SQL = """
    SELECT case_id, activity, teller_id, branch_id, business_type,
           start_time, end_time, coalesce(start_time, end_time) AS started,
           epoch(end_time - start_time) AS service_seconds,
           false AS service_is_inferred
    FROM events
    WHERE {pre} AND {post} AND ({pairs})
"""

# The full step view: previous step's end in the case (wait, inferred service), occurrence.
# A step belongs to the case order by its start (its end where it has none).
# ``{pairs}`` narrows the rows after the case window and before the occurrence window (which
# sees only the rows of the same case and step), so the second window sorts only those.
_DETAIL_SQL = """
    WITH ordered AS (
        SELECT *, coalesce(start_time, end_time) AS started,
               lag(end_time) OVER (PARTITION BY case_id
                                   ORDER BY coalesce(start_time, end_time), end_time, activity)
                   AS previous_end
        FROM events
        WHERE {pre}
    ), numbered AS (
        SELECT *,
               row_number() OVER (PARTITION BY case_id, activity ORDER BY started, end_time)
                   AS occurrence
        FROM ordered
        WHERE {pairs}
    ), timed AS (
        SELECT *,
               CASE WHEN start_time IS NOT NULL THEN epoch(end_time - start_time)
                    ELSE epoch(end_time - coalesce(previous_end, call_time)) END AS raw_service
        FROM numbered
    )
    SELECT case_id, activity, teller_id, branch_id, business_type, window_type, segment,
           amount, {amount_band} AS amount_band, error, ticket_time, call_time,
           start_time, end_time, started,
           CASE WHEN raw_service >= 0 THEN raw_service END AS service_seconds,
           start_time IS NULL AS service_is_inferred,
           CASE WHEN start_time IS NOT NULL
                THEN greatest(epoch(start_time - coalesce(previous_end, call_time)), 0)
           END AS wait_seconds,
           occurrence, occurrence > 1 AS is_rework,
           hour(started) AS hour, strftime(started, '%Y-%m') AS month
    FROM timed
    WHERE {post}
"""


# Each step with the reference in force on its date (the day it started, or ended without a
# start): a row for its branch wins over a row for every branch. The reference rows of one
# scope never overlap (the caller checks), so each step joins at most one row of each.
_REFERENCED_SQL = """
    SELECT s.*,
           coalesce(rb.seconds, ra.seconds) AS ref_seconds,
           CASE WHEN rb.seconds IS NOT NULL THEN rb.sop_key ELSE ra.sop_key END AS sop_key
    FROM steps s
    LEFT JOIN step_refs_branch rb
           ON rb.business_type = s.business_type AND rb.activity = s.activity
          AND rb.branch_id = s.branch_id
          AND (rb.valid_from IS NULL OR CAST(s.started AS DATE) >= rb.valid_from)
          AND (rb.valid_to IS NULL OR CAST(s.started AS DATE) < rb.valid_to)
    LEFT JOIN step_refs_all ra
           ON ra.business_type = s.business_type AND ra.activity = s.activity
          AND (ra.valid_from IS NULL OR CAST(s.started AS DATE) >= ra.valid_from)
          AND (ra.valid_to IS NULL OR CAST(s.started AS DATE) < ra.valid_to)
"""

#: The columns of a reference table (:meth:`StepData.set_references`).
REFERENCE_SCHEMA: Final = pa.schema([
    ("business_type", pa.string()), ("activity", pa.string()), ("branch_id", pa.string()),
    ("valid_from", pa.date32()), ("valid_to", pa.date32()), ("seconds", pa.float64()),
    ("sop_key", pa.int32()),
])


def _level_keys(by: str) -> tuple[str, ...]:
    if by not in LEVELS:
        raise ProcmineError(f"step statistics by {by!r}: expected one of {', '.join(LEVELS)}")
    return LEVELS[by]


class StepData:
    """The store's steps on one DuckDB connection: the view ``steps`` and queries over it.

    ``steps`` has one row per step with ``service_seconds`` and ``service_is_inferred``; with
    ``detail=True`` also ``wait_seconds``, ``occurrence`` / ``is_rework`` (the nth time the
    step occurs in its case), ``hour``, ``month``, ``amount_band``, ``window_type`` and the
    transaction's other columns. The lean view (``detail=False``) reads the store in one pass
    when every step has a start time. ``business_types`` restricts the view before the case
    windows are computed (a case's steps share its type); ``pairs`` (business type, step) to
    those steps (the detailed view's waits still see every step of their case). Use as a
    context manager.

    With ``engine`` (:mod:`procmine.store.engine`, e.g. Spark) every query runs on it instead: the
    views stay DuckDB-dialect SQL handed over with each query (``views=``), the baseline and the
    pair and group lookups go as tables (``tables=``), and :meth:`keep_pairs` narrows the view
    instead of materializing it. The results are the same (quantiles to their last bits).

    Example:
        >>> with StepData(store, baseline) as data:                       # doctest: +SKIP
        ...     tellers = data.statistics("teller", with_share=False)
    """

    def __init__(self, store: EventStore, baseline: Baseline | None = None,
                 filters: Filters | None = None, *, detail: bool = False,
                 business_types: Iterable[str] | None = None,
                 pairs: Iterable[tuple[str, str]] | None = None,
                 engine: Engine | None = None) -> None:
        self.store = store
        self.filters = filters or Filters()
        self.engine = engine
        self.con: duckdb.DuckDBPyConnection | None = None
        # engine path: the views (DuckDB-dialect SELECTs, in order) and tables of every query
        self._views: dict[str, str] = {}
        self._tables: dict[str, TableData] = {}
        self.referenced = False  # whether set_references gave the steps dated references
        pre = self.filters.sql("coalesce(start_time, end_time)", people=False)
        chosen = sorted(set(pairs)) if pairs is not None else None
        if chosen is not None:
            business_types = {t for t, _ in chosen} & set(
                business_types if business_types is not None else {t for t, _ in chosen})
        narrow = "true" if chosen is None else " OR ".join(
            f"(business_type = {lit(t)} AND activity = {lit(a)})" for t, a in chosen) or "false"
        if business_types is not None:
            types = sorted(set(business_types))
            pre += (f" AND business_type IN ({', '.join(lit(t) for t in types)})"
                    if types else " AND false")
        post = self.filters.sql(period=False, types=False)
        if engine is not None:
            self._tables["baseline"] = _baseline_table(baseline)
            self.inferred = bool(engine.query(
                "SELECT coalesce(bool_or(start_time IS NULL), false) AS inferred FROM events"
            )["inferred"].iloc[0])
            template = _DETAIL_SQL if detail or self.inferred else _LEAN_SQL
            self._views["steps"] = template.format(pre=pre, post=post, pairs=narrow,
                                                   amount_band=_AMOUNT_BAND_SQL)
            return
        self.con = con = store.connect()
        try:
            _register_baseline(con, baseline)
            self.inferred = bool(con.execute(
                "SELECT coalesce(bool_or(start_time IS NULL), false) FROM events"
            ).fetchall()[0][0])
            template = _DETAIL_SQL if detail or self.inferred else _LEAN_SQL
            con.execute(
                "CREATE TEMP VIEW steps AS "
                + template.format(pre=pre, post=post, pairs=narrow, amount_band=_AMOUNT_BAND_SQL)
            )
        except BaseException:
            con.close()
            raise

    def _run(self, sql: str, tables: Mapping[str, TableData] | None = None) -> pd.DataFrame:
        """``sql`` over ``steps`` and ``baseline``: on the engine when there is one, else on
        the connection (with ``tables`` registered for the query)."""
        if self.engine is not None:
            return self.engine.query(sql, views=self._views,
                                     tables={**self._tables, **(tables or {})})
        con = self._connection()
        names = list(tables or {})
        try:
            for name, table in (tables or {}).items():
                con.register(name, table)
            return con.execute(sql).df()
        finally:
            for name in names:
                con.unregister(name)

    def set_references(self, references: pa.Table | None) -> None:
        """Give each step the reference time in force on its date: from then on the view
        ``referenced_steps`` is ``steps`` with ``ref_seconds`` (NULL where no row is in force)
        and ``sop_key``, and :meth:`level_statistics` and :meth:`service_values` use it.

        ``references`` has the columns of :data:`REFERENCE_SCHEMA`: per business type x step,
        optionally per branch (``branch_id`` NULL: every branch), the ``seconds`` in force from
        ``valid_from`` (inclusive) to ``valid_to`` (exclusive; NULL: open) and an integer
        ``sop_key`` (NULL for none). A step's date is the day it started (ended, without a
        start); a row of its branch wins over a row for every branch. Rows of the same type x
        step and branch (or of every branch) must not overlap in time. ``None`` removes them.
        """
        if references is None:
            self.referenced = False
            return
        references = references.select(REFERENCE_SCHEMA.names).cast(REFERENCE_SCHEMA)
        is_all = pc.is_null(references.column("branch_id"))
        tables = {"step_refs_branch": references.filter(pc.invert(is_all)),
                  "step_refs_all": references.filter(is_all)}
        if self.engine is not None:
            self._tables.update(tables)
            self._views["referenced_steps"] = _REFERENCED_SQL
        else:
            con = self._connection()
            for name, table in tables.items():
                con.register(f"{name}_arrow", table)
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
                con.unregister(f"{name}_arrow")
            con.execute(f"CREATE OR REPLACE TEMP VIEW referenced_steps AS {_REFERENCED_SQL}")
        self.referenced = True

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            raise ProcmineError("this StepData runs on an engine; it has no DuckDB connection")
        return self.con

    def __enter__(self) -> StepData:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self.con is not None:
            self.con.close()

    def statistics(self, by: Level = "teller", *, with_share: bool = True,
                   brief: bool = False) -> pd.DataFrame:
        """Service-time statistics per (level keys) x business type x step.

        Columns: the level's keys, ``business_type``, ``activity``, ``count``,
        ``median_seconds``, ``p90_seconds``, ``mean_seconds``, ``total_seconds``,
        ``inferred`` (steps whose service time is inferred from completion times),
        ``first_started`` and ``last_started``, ``standard_seconds`` (the type's, from the
        baseline), with ``with_share`` ``share``: the median over the steps of the step's
        service time as a share of its transaction's dwell time, and with references
        (:meth:`set_references`) ``ref_steps`` (steps with a reference in force),
        ``ref_total``, ``ref_min``, ``ref_max`` (of their references) and ``sop_key`` (the
        most frequent, the smallest among ties). Medians and p90 are exact
        (``quantile_cont``); steps with no service time (a first step without start or call
        time) are left out. With ``brief`` only the keys, ``count``, ``median_seconds``,
        ``p90_seconds``, ``standard_seconds`` and the reference columns (a cheaper pass).
        """
        return self.level_statistics((by,), with_share=with_share, brief=brief)[by]

    def level_statistics(self, levels: Sequence[Level], *, with_share: bool = True,
                         within: pd.DataFrame | None = None,
                         brief: bool = False) -> dict[str, pd.DataFrame]:
        """:meth:`statistics` of several levels in one pass over the steps (GROUPING SETS).

        ``within`` (a frame of some of the levels' key columns, e.g. ``branch_id``,
        ``business_type``, ``activity``) restricts the steps to those of its rows (by
        equality: a NULL key matches nothing), for the statistics of a few groups.
        ``brief`` as in :meth:`statistics`.
        """
        wanted = list(dict.fromkeys(levels))
        if not wanted:
            return {}
        sets = [[*_level_keys(by), "business_type", "activity"] for by in wanted]
        columns = list(dict.fromkeys(k for keys in sets for k in keys))
        source = "referenced_steps" if self.referenced else "steps"
        extra = ""
        if self.referenced:
            extra = """, count(ref_seconds) AS ref_steps, sum(ref_seconds) AS ref_total,
                       min(ref_seconds) AS ref_min, max(ref_seconds) AS ref_max,
                       mode(sop_key ORDER BY sop_key) AS sop_key"""
        if with_share:
            # the transaction's dwell by a window over its case: cheaper than a join back
            carried = ", ref_seconds, sop_key" if self.referenced else ""
            source = f"""(SELECT {", ".join(columns)}, service_seconds, service_is_inferred,
                                 started{carried},
                                 service_seconds / nullif(epoch(max(end_time) OVER c
                                                                - min(started) OVER c), 0)
                                     AS share_of_case
                          FROM {source} WINDOW c AS (PARTITION BY case_id))"""
            extra += ", quantile_cont(share_of_case, 0.5) AS share"
        tables: dict[str, TableData] = {}
        if within is not None:
            on = list(within.columns)
            tables["within_groups"] = pa.Table.from_pandas(
                within.astype(object), preserve_index=False,
                schema=pa.schema([(k, pa.string()) for k in on]))
            source = f"(SELECT s.* FROM {source} s JOIN within_groups USING ({', '.join(on)}))"
        grouping = ", ".join("(" + ", ".join(keys) + ")" for keys in sets)
        level_id = f"grouping({', '.join(columns)})"
        references = (["ref_steps", "ref_total", "ref_min", "ref_max", "sop_key"]
                      if self.referenced else [])
        more = [] if brief else ["mean_seconds", "total_seconds", "inferred", "first_started",
                                 "last_started"]
        stats = ["count", *more, *(["share"] if with_share else []), *references]
        sums = "" if brief else """,
                       avg(service_seconds) AS mean_seconds,
                       sum(service_seconds) AS total_seconds,
                       count(*) FILTER (WHERE service_is_inferred) AS inferred,
                       min(started) AS first_started, max(started) AS last_started"""
        frame = self._run(f"""
            WITH grouped AS (
                SELECT {", ".join(columns)}, {level_id} AS grouping_id, count(*) AS count,
                       quantile_cont(service_seconds, [0.5, 0.9]) AS quantiles{sums}{extra}
                FROM {source}
                WHERE service_seconds IS NOT NULL
                GROUP BY GROUPING SETS ({grouping})
            )
            SELECT {", ".join(f"g.{c}" for c in [*columns, "grouping_id", *stats])},
                   g.quantiles[1] AS median_seconds, g.quantiles[2] AS p90_seconds,
                   b.standard_seconds
            FROM grouped g LEFT JOIN baseline b USING (business_type)
        """, tables)
        out: dict[str, pd.DataFrame] = {}
        for by, keys in zip(wanted, sets, strict=True):
            mask = sum(1 << (len(columns) - 1 - columns.index(c))
                       for c in columns if c not in keys)
            part = frame[frame["grouping_id"] == mask]
            order = [*keys, "count", "median_seconds", "p90_seconds", *more,
                     *(["share"] if with_share else []), "standard_seconds", *references]
            # text keys stay objects even when all empty (DuckDB gives float NaN columns then)
            out[by] = (part[order].astype({k: object for k in keys})
                       .sort_values(keys).reset_index(drop=True))
        return out

    def service_values(self, pairs: Sequence[tuple[str, str]], *, ordered: bool = False,
                       groups: Mapping[str, pd.DataFrame] | None = None) -> pa.Table:
        """Every service time of the given (business type, step) pairs, for statistical tests:
        columns ``pair`` (index into ``pairs``), ``case_key`` (a 64-bit hash of the case id),
        ``service_seconds``, for each entry of ``groups`` a column of that name: the ``code``
        of the row's group in that frame (whose other columns are ``business_type``,
        ``activity`` and a level's keys), -1 for none, and with references
        (:meth:`set_references`) ``ref_seconds``. Sorted by pair and service time with
        ``ordered``.
        """
        groups = dict(groups or {})
        tables: dict[str, TableData] = {"pair_table": pa.table({
            "pair": pa.array(range(len(pairs)), pa.int32()),
            "business_type": pa.array([p[0] for p in pairs], pa.string()),
            "activity": pa.array([p[1] for p in pairs], pa.string()),
        })}
        joins, columns = [], []
        for i, (column, frame) in enumerate(groups.items()):
            alias, name = f"g{i}", f"group_{i}"
            keys = [c for c in frame.columns if c != "code"]
            on = " AND ".join(f"s.{k} IS NOT DISTINCT FROM {alias}.{k}" for k in keys)
            group_table = frame[[*keys, "code"]].astype({"code": "int32"})
            if self.engine is None:
                tables[name] = pa.Table.from_pandas(group_table, preserve_index=False)
            else:  # text keys typed as text, even when all empty (Spark needs a type)
                tables[name] = pa.Table.from_pandas(
                    group_table.astype({k: object for k in keys}), preserve_index=False,
                    schema=pa.schema([*((k, pa.string()) for k in keys),
                                      ("code", pa.int32())]))
            joins.append(f"LEFT JOIN {name} {alias} ON {on}")
            columns.append(f"coalesce({alias}.code, -1) AS {column}")
        if self.referenced:
            columns.append("s.ref_seconds")
        sql = f"""
            SELECT w.pair, hash(s.case_id) AS case_key, s.service_seconds
                   {"".join(", " + c for c in columns)}
            FROM {"referenced_steps" if self.referenced else "steps"} s
            JOIN pair_table w USING (business_type, activity)
            {" ".join(joins)}
            WHERE s.service_seconds IS NOT NULL
            {"ORDER BY w.pair, s.service_seconds" if ordered else ""}
        """
        if self.engine is not None:
            return pa.Table.from_pandas(self._run(sql, tables), preserve_index=False)
        con = self._connection()
        try:
            for name, table in tables.items():
                con.register(name, table)
            return con.sql(sql).to_arrow_table()
        finally:
            for name in tables:
                con.unregister(name)

    def keep_pairs(self, pairs: Sequence[tuple[str, str]],
                   columns: Sequence[str] | None = None) -> None:
        """Compute the steps of these (business type, step) pairs once and hold them (only
        ``columns``, if given) in memory: from then on ``steps`` shows only them (for several
        queries over a few pairs)."""
        wanted = ", ".join(f"s.{c}" for c in columns) if columns else "s.*"
        kept = pa.table({
            "business_type": pa.array([p[0] for p in pairs], pa.string()),
            "activity": pa.array([p[1] for p in pairs], pa.string()),
        })
        if self.engine is not None:
            # no tables on an engine: the view narrows the steps (computed again per query)
            name = f"kept_pairs_{len(self._views)}"
            previous = f"steps_{len(self._views)}"
            self._tables[name] = kept
            narrowed = (f"SELECT {wanted} FROM {previous} s "
                        f"JOIN {name} USING (business_type, activity)")
            views: dict[str, str] = {}
            for key, sql in self._views.items():  # the views over ``steps`` come after it
                if key == "steps":
                    views[previous] = sql
                    views["steps"] = narrowed
                else:
                    views[key] = sql
            self._views = views
            return
        con = self._connection()
        con.register("kept_pairs", kept)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE kept_steps AS SELECT {wanted} "
                        "FROM steps s JOIN kept_pairs USING (business_type, activity)")
            con.execute("CREATE OR REPLACE TEMP VIEW steps AS SELECT * FROM kept_steps")
        finally:
            con.unregister("kept_pairs")

    def breakdown(self, pairs: Sequence[tuple[str, str]], by: str | None = None, *,
                  with_cases: bool = True) -> pd.DataFrame:
        """Per (business type, step) pair, the steps' times at three levels at once, optionally
        broken down by ``by`` (one of :data:`BREAKDOWNS`): needs ``detail=True``.

        Columns: ``business_type``, ``activity``, ``level`` ("teller", "branch" or "bank"),
        ``teller_id``, ``branch_id``, ``value`` (the breakdown's value, "all" without one),
        ``count``, ``median_seconds``, ``median_wait_seconds`` and, ``with_cases``, ``cases``
        and ``repeated_cases`` (cases where the step occurs more than once).
        """
        if by is not None and by not in BREAKDOWNS:
            raise ProcmineError(f"breakdown by {by!r}: expected one of {', '.join(BREAKDOWNS)}")
        value = f"coalesce(CAST({by} AS VARCHAR), 'unknown')" if by else "'all'"
        wanted = pa.table({"business_type": pa.array([p[0] for p in pairs], pa.string()),
                           "activity": pa.array([p[1] for p in pairs], pa.string())})
        sets = ("(business_type, activity, teller_id, branch_id, value{extra}), "
                "(business_type, activity, branch_id, value{extra}), "
                "(business_type, activity, value{extra})")
        level = ("CASE grouping(teller_id, branch_id) WHEN 0 THEN 'teller' "
                 "WHEN 2 THEN 'branch' ELSE 'bank' END")
        keys = ["business_type", "activity", "level", "teller_id", "branch_id", "value"]
        cases = ""
        if with_cases:
            # distinct cases by a grouping per case (much cheaper than count(DISTINCT))
            on = " AND ".join(f"t.{k} IS NOT DISTINCT FROM c.{k}" for k in keys)
            cases = f"""
                , per_case AS (
                    SELECT business_type, activity, {level} AS level, teller_id, branch_id,
                           value, max(occurrence) > 1 AS repeated
                    FROM s
                    GROUP BY GROUPING SETS ({sets.format(extra=", case_id")})
                ), cases AS (
                    SELECT {", ".join(keys)}, count(*) AS cases,
                           count(*) FILTER (WHERE repeated) AS repeated_cases
                    FROM per_case
                    GROUP BY {", ".join(keys)}
                )
                SELECT t.*, c.cases, c.repeated_cases
                FROM times t JOIN cases c ON {on}"""
        return self._run(f"""
                WITH s AS (
                    SELECT s.*, {value} AS value
                    FROM steps s JOIN breakdown_pairs USING (business_type, activity)
                ), times AS (
                    SELECT business_type, activity, {level} AS level, teller_id, branch_id,
                           value, count(*) AS count,
                           quantile_cont(service_seconds, 0.5) AS median_seconds,
                           quantile_cont(wait_seconds, 0.5) AS median_wait_seconds
                    FROM s
                    GROUP BY GROUPING SETS ({sets.format(extra="")})
                ){cases if with_cases else " SELECT * FROM times t"}
                ORDER BY business_type, activity, level, teller_id, branch_id, value
            """, {"breakdown_pairs": wanted})


def step_times(store: EventStore, filters: Filters | None = None,
               limit: int | None = None) -> pd.DataFrame:
    """One row per step with its times (the ``steps`` view of :class:`StepData` in detail):
    service, wait, inferred flag, occurrence and rework flag, hour, month, amount band, window
    type. For small stores, tests and drill-downs; analyses aggregate in SQL instead.

    Example:
        >>> rows = step_times(store, Filters(tellers=("0401",)), limit=100)  # doctest: +SKIP
    """
    with StepData(store, filters=filters, detail=True) as data:
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        return data._connection().execute(
            f"SELECT * FROM steps ORDER BY case_id, started, end_time, activity{tail}"
        ).df()


def step_statistics(store: EventStore, baseline: Baseline | None = None, by: Level = "teller",
                    filters: Filters | None = None, *, with_share: bool = True,
                    engine: Engine | None = None) -> pd.DataFrame:
    """Step service-time statistics per teller x type x step, per branch x type x step or
    bank-wide per type x step: count, median, p90, mean, total, share of the transaction's
    dwell time (see :meth:`StepData.statistics`). ``engine`` runs it on a query engine
    (:mod:`procmine.store.engine`, e.g. Spark) instead of a DuckDB connection of its own.

    Example:
        >>> bank = step_statistics(store, baseline, by="bank")  # doctest: +SKIP
        >>> bank.loc[0, ["business_type", "activity", "median_seconds", "share"]]  # doctest: +SKIP
    """
    with StepData(store, baseline, filters, engine=engine) as data:
        return data.statistics(by, with_share=with_share)


def type_steps(store: EventStore, baseline: Baseline, business_type: str,
               filters: Filters | None = None, *, engine: Engine | None = None) -> pd.DataFrame:
    """One business type's steps against their reference time: count, median, p90, share of
    the transaction's time, reference (the type's standard time x the step's share) and the
    median / reference ratio, slowest first (on ``engine`` if given).

    Example:
        >>> steps = type_steps(store, baseline, "P17")  # doctest: +SKIP
    """
    chosen = replace(filters or Filters(), business_types=(business_type,))
    steps = step_statistics(store, baseline, by="bank", filters=chosen, engine=engine)
    steps["reference_seconds"] = steps["standard_seconds"] * steps["share"]
    steps["ratio"] = steps["median_seconds"] / steps["reference_seconds"]
    return steps.sort_values("ratio", ascending=False).reset_index(drop=True)


def teller_profile(store: EventStore, baseline: Baseline, teller_id: str,
                   filters: Filters | None = None, *,
                   engine: Engine | None = None) -> dict[str, pd.DataFrame]:
    """One teller: speed index and volume per month (``months``) and each type x step against
    the bank's median for it (``steps``), on ``engine`` if given.

    ``steps`` has the step statistics with ``bank_median_seconds``, ``vs_bank`` (median / bank
    median) and ``minutes_above_bank``: the steps' count x (median - bank median), in minutes
    (negative where the teller is quicker), the time the teller spends on the step beyond the
    bank's usual pace. Sorted by it, most first: a step done once at twice the bank's time does
    not top a step done every day a little slower."""
    chosen = replace(filters or Filters(), tellers=(teller_id,))
    months = [str(m) for m in _engine(store, engine).query(
        "SELECT DISTINCT strftime(end_time, '%Y-%m') AS month FROM events WHERE teller_id = $t "
        "ORDER BY month", {"t": teller_id})["month"]]
    per_month = []
    for month in months:
        row = teller_summary(store, baseline, Filters.for_month(month, tellers=(teller_id,)),
                             min_transactions=1, engine=engine)
        if len(row):
            per_month.append({"month": month, **row.iloc[0].to_dict()})
    mine = step_statistics(store, baseline, by="teller", filters=chosen, with_share=False,
                           engine=engine)
    bank = step_statistics(store, baseline, by="bank",
                           filters=replace(chosen, tellers=()), with_share=False, engine=engine)
    steps = mine.merge(
        bank[["business_type", "activity", "median_seconds"]].rename(
            columns={"median_seconds": "bank_median_seconds"}),
        on=["business_type", "activity"], how="left")
    steps["vs_bank"] = steps["median_seconds"] / steps["bank_median_seconds"]
    steps["minutes_above_bank"] = (
        steps["count"] * (steps["median_seconds"] - steps["bank_median_seconds"]) / 60)
    return {
        "months": pd.DataFrame(per_month),
        "steps": steps.sort_values(["minutes_above_bank", "vs_bank", "business_type", "activity"],
                                   ascending=[False, False, True, True]).reset_index(drop=True),
    }


def step_samples(store: EventStore, pairs: Sequence[tuple[str, str]],
                 filters: Filters | None = None) -> pd.DataFrame:
    """Every service time of the given (business type, step) pairs with its branch, teller and
    day, for tests of a change (before and after a date, difference-in-differences).

    Columns: ``business_type``, ``activity``, ``branch_id``, ``teller_id``, ``day`` (the step's
    start date) and ``service_seconds``.

    Example:
        >>> rows = step_samples(store, [("P18", "Count cash")])  # doctest: +SKIP
    """
    types = sorted({p[0] for p in pairs})
    wanted = pa.table({"business_type": pa.array([p[0] for p in pairs], pa.string()),
                       "activity": pa.array([p[1] for p in pairs], pa.string())})
    with StepData(store, filters=filters, business_types=types) as data:
        return data._run("""
            SELECT s.business_type, s.activity, s.branch_id, s.teller_id,
                   CAST(s.started AS DATE) AS day, s.service_seconds
            FROM steps s JOIN wanted_pairs USING (business_type, activity)
            WHERE s.service_seconds IS NOT NULL
            ORDER BY s.business_type, s.activity, s.started
        """, {"wanted_pairs": wanted})
