"""The store's steps: one row per step with its times, and the statistics of steps per level.

A step has a service time (end - start) and a wait before it (from the previous step's end in
the case, or from the call for the first step). Where a log has only completion times, a step's
service time is the time since the previous step's end in the case (from the call for the first
step), flagged ``service_is_inferred``. A step belongs to its case's order by its start (its end
where it has none); ``occurrence`` counts the times the step occurs in its case (rework).

:class:`StepData` defines these as the view ``steps`` in a session of a query engine
(:mod:`procmine.store.engine`: DuckDB over the store by default, or e.g. Spark) and runs the
step analyses over it: statistics per teller, branch and bank in one pass (GROUPING SETS), the
service times of chosen steps for statistical tests, and breakdowns by amount band, hour, window
type and month. The SQL is the same on every engine.

Example:
    >>> from procmine.analysis.steps import StepData
    >>> with StepData(store, baseline) as data:
    ...     bank = data.statistics("bank")
    >>> bank.columns[:4].tolist()
    ['business_type', 'activity', 'count', 'median_seconds']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Final, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procmine.analysis.filters import Filters
from procmine.analysis.transactions import baseline_table
from procmine.core.amounts import AMOUNT_BANDS, BOOKING_AMOUNT, LARGE_AMOUNT, SELF_SERVICE_LIMIT
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.core.sql import lit
from procmine.store.engine import DuckDBEngine, Engine, TableData
from procmine.store.event_store import EventStore

__all__ = [
    "BREAKDOWNS",
    "LEVELS",
    "REFERENCE_SCHEMA",
    "Level",
    "StepData",
    "level_keys",
]

Level = Literal["teller", "branch", "bank"]

#: The grouping columns of each level of the step statistics (besides type and step).
LEVELS: Final[dict[str, tuple[str, ...]]] = {
    "teller": ("teller_id", "branch_id"),
    "branch": ("branch_id",),
    "bank": (),
}

#: What a step's times can be broken down by (column of the step view).
BREAKDOWNS: Final[tuple[str, ...]] = ("amount_band", "hour", "window_type", "month")

# A step's amount band (:data:`procmine.core.amounts.AMOUNT_BANDS`), cut at the thresholds.
_AMOUNT_BAND_SQL = f"""CASE
        WHEN amount IS NULL THEN {lit(AMOUNT_BANDS[4])}
        WHEN amount < {SELF_SERVICE_LIMIT:g} THEN {lit(AMOUNT_BANDS[0])}
        WHEN amount < {LARGE_AMOUNT:g} THEN {lit(AMOUNT_BANDS[1])}
        WHEN amount < {BOOKING_AMOUNT:g} THEN {lit(AMOUNT_BANDS[2])}
        ELSE {lit(AMOUNT_BANDS[3])} END"""

# The lean step view, when every step has its start: one pass over the store, no window.
_LEAN_SQL = """
    SELECT case_id, activity, teller_id, branch_id, business_type, window_type, segment,
           amount, {amount_band} AS amount_band,
           start_time, end_time, coalesce(start_time, end_time) AS started,
           epoch(end_time - start_time) AS service_seconds,
           false AS service_is_inferred,
           hour(coalesce(start_time, end_time)) AS hour,
           isodow(coalesce(start_time, end_time)) AS weekday
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
           hour(started) AS hour, isodow(started) AS weekday,
           strftime(started, '%Y-%m') AS month
    FROM timed
    WHERE {post}
"""

# The prepared step relation (procmine.store.prepared), written at ingest: every column of the
# full view, and the case's dwell, its share and its number of steps, with no window to compute.
_PREPARED_SQL = """
    SELECT * FROM prepared_steps
    WHERE {pre} AND {post} AND ({pairs})
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


def level_keys(by: str) -> tuple[str, ...]:
    """The grouping columns of level ``by`` (:data:`LEVELS`); a clear error for another."""
    if by not in LEVELS:
        raise ProcmineError(f"step statistics by {by!r}: expected one of {', '.join(LEVELS)}")
    return LEVELS[by]


def _bounds(filters: Filters, business_types: Iterable[str] | None,
            pairs: Iterable[tuple[str, str]] | None,
            time_column: str = "coalesce(start_time, end_time)") -> dict[str, str]:
    """The step view's restrictions: ``pre`` before the case windows (period, types), ``pairs``
    between the windows, ``post`` after them (branches, tellers)."""
    pre = filters.sql(time_column, people=False)
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
    return {"pre": pre, "post": filters.sql(period=False, types=False), "pairs": narrow}


def _pair_table(pairs: Sequence[tuple[str, str]]) -> pa.Table:
    return pa.table({"business_type": pa.array([p[0] for p in pairs], pa.string()),
                     "activity": pa.array([p[1] for p in pairs], pa.string())})


class StepData:
    """The store's steps in one session of a query engine: the view ``steps`` and queries over
    it.

    ``steps`` has one row per step with ``service_seconds`` and ``service_is_inferred``, the
    step's ``window_type``, ``segment``, ``amount``, ``amount_band``, ``hour`` and ``weekday``
    (ISO, 1 = Monday) of its start (its end without one); with ``detail=True`` also
    ``wait_seconds``, ``occurrence`` / ``is_rework`` (the nth time the step occurs in its
    case), ``month`` and the transaction's other columns. The lean view (``detail=False``)
    reads the store in one pass when every step has a start time. ``business_types``
    restricts the view before the case windows are computed (a case's steps share its type);
    ``pairs`` (business type, step) to those steps (the detailed view's waits still see every
    step of their case). Use as a context manager.

    ``engine`` (:mod:`procmine.store.engine`) runs the queries: DuckDB over ``store`` by default
    (one connection for the session), or e.g. Spark with the same SQL and the same results
    (quantiles to their last bits).

    Example:
        >>> with StepData(store, baseline) as data:
        ...     tellers = data.statistics("teller", with_share=False)
        >>> tellers.columns[:4].tolist()
        ['teller_id', 'branch_id', 'business_type', 'activity']
    """

    def __init__(self, store: EventStore, baseline: Baseline | None = None,
                 filters: Filters | None = None, *, detail: bool = False,
                 business_types: Iterable[str] | None = None,
                 pairs: Iterable[tuple[str, str]] | None = None,
                 engine: Engine | None = None) -> None:
        self.store = store
        self.filters = filters or Filters()
        self.engine: Engine = engine if engine is not None else DuckDBEngine(store)
        self.referenced = False  # whether set_references gave the steps dated references
        self._kept = 0  # how many times keep_pairs narrowed the steps
        self._held = False  # whether keep_pairs holds a copy of the prepared steps
        self._session = self.engine.session()
        #: whether the steps come from the prepared relation (written at ingest)
        self.prepared = store.is_prepared()
        try:
            self._session.register("baseline", baseline_table(baseline))
            if self.prepared:
                self.inferred = bool(store.prepared_manifest().get("inferred", False))
                self._session.create_view("steps_source", _PREPARED_SQL.format(
                    **_bounds(self.filters, business_types, pairs, "started")))
                self._session.create_view("steps", "SELECT * FROM steps_source")
            else:
                self.inferred = bool(self._session.query(
                    "SELECT coalesce(bool_or(start_time IS NULL), false) AS inferred "
                    "FROM events")["inferred"].iloc[0])
                template = _DETAIL_SQL if detail or self.inferred else _LEAN_SQL
                self._session.create_view("steps", template.format(
                    **_bounds(self.filters, business_types, pairs),
                    amount_band=_AMOUNT_BAND_SQL))
        except BaseException:
            self._session.close()
            raise

    def query(self, sql: str, tables: Mapping[str, TableData] | None = None) -> pd.DataFrame:
        """``sql`` over the views ``steps`` (and ``referenced_steps``) and ``baseline``, with
        ``tables`` (small lookups) for this query only."""
        return self._session.query(sql, tables=tables)

    def create_table(self, name: str, source: str | TableData) -> None:
        """Compute a SELECT over the session's views once (or take a table) and show it as
        ``name`` to the later queries: a relation several queries read (e.g. the cases of
        :mod:`procmine.maps.conformance`)."""
        self._session.create_table(name, source)

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
        self._session.create_table("step_refs_branch", references.filter(pc.invert(is_all)))
        self._session.create_table("step_refs_all", references.filter(is_all))
        self._session.create_view("referenced_steps", _REFERENCED_SQL)
        self.referenced = True

    def __enter__(self) -> StepData:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

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
        sets = [[*level_keys(by), "business_type", "activity"] for by in wanted]
        columns = list(dict.fromkeys(k for keys in sets for k in keys))
        source = "referenced_steps" if self.referenced else "steps"
        extra = ""
        if self.referenced:
            extra = """, count(ref_seconds) AS ref_steps, sum(ref_seconds) AS ref_total,
                       min(ref_seconds) AS ref_min, max(ref_seconds) AS ref_max,
                       mode(sop_key ORDER BY sop_key) AS sop_key"""
        if with_share:
            source = self._with_share(source, columns)
            # case_weight sums to the cases of a type over its steps: steps per case by step
            extra += (", quantile_cont(share_of_case, 0.5) AS share,"
                      " sum(case_weight) AS case_weight")
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
        shares = ["share", "case_weight"] if with_share else []
        stats = ["count", *more, *shares, *references]
        sums = "" if brief else """,
                       avg(service_seconds) AS mean_seconds,
                       sum(service_seconds) AS total_seconds,
                       count(*) FILTER (WHERE service_is_inferred) AS inferred,
                       min(started) AS first_started, max(started) AS last_started"""
        frame = self.query(f"""
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
            order = [*keys, "count", "median_seconds", "p90_seconds", *more, *shares,
                     "standard_seconds", *references]
            # text keys stay objects even when all empty (DuckDB gives float NaN columns then)
            out[by] = (part[order].astype({k: object for k in keys})
                       .sort_values(keys).reset_index(drop=True))
        return out

    def _with_share(self, source: str, columns: Sequence[str]) -> str:
        """``source`` with each step's ``share_of_case`` (its service time over its case's
        dwell) and ``case_weight`` (1 / the case's steps): the prepared steps carry them;
        otherwise a window over each case computes them (cheaper than a join back)."""
        if self.prepared:
            return f"(SELECT *, 1.0 / case_steps AS case_weight FROM {source})"
        carried = ", ref_seconds, sop_key" if self.referenced else ""
        return f"""(SELECT {", ".join(columns)}, service_seconds, service_is_inferred,
                           started{carried},
                           service_seconds / nullif(epoch(max(end_time) OVER c
                                                          - min(started) OVER c), 0)
                               AS share_of_case,
                           1.0 / count(*) OVER c AS case_weight
                    FROM {source} WINDOW c AS (PARTITION BY case_id))"""

    def covered_days(self) -> dict[str | None, float]:
        """The days the steps cover, first to last inclusive, per branch and (key ``None``)
        for the whole store: the period a cost a month is spread over."""
        frame = self.query("""
            SELECT branch_id, grouping(branch_id) AS whole,
                   CAST(min(started) AS DATE) AS first_day, CAST(max(started) AS DATE) AS last_day
            FROM steps
            GROUP BY GROUPING SETS ((branch_id), ())
        """)
        days: dict[str | None, float] = {}
        frame = frame.dropna(subset=["first_day"])
        spans = (pd.to_datetime(frame["last_day"]) - pd.to_datetime(frame["first_day"])).dt.days
        for branch, whole, span in zip(frame["branch_id"], frame["whole"], spans, strict=True):
            if whole:
                days[None] = float(span + 1)
            elif isinstance(branch, str):
                days[branch] = float(span + 1)
        return days

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
            # text keys typed as text, even when all empty (an engine may need a type)
            tables[name] = pa.Table.from_pandas(
                frame[[*keys, "code"]].astype({"code": "int32", **{k: object for k in keys}}),
                preserve_index=False,
                schema=pa.schema([*((k, pa.string()) for k in keys), ("code", pa.int32())]))
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
        return self._session.query_arrow(sql, tables=tables)

    def keep_pairs(self, pairs: Sequence[tuple[str, str]],
                   columns: Sequence[str] | None = None, *, hold: bool = False) -> None:
        """Compute the steps of these (business type, step) pairs once and hold them (only
        ``columns``, if given) in memory: from then on ``steps`` shows only them (for several
        queries over a few pairs). On an engine that keeps no tables (Spark), and over the
        prepared steps (a scan of their files costs less than holding a copy of many pairs'
        steps), a view narrows the steps instead; ``hold`` holds the prepared steps too (for
        several passes over the same few pairs: five breakdowns read a held copy in two thirds
        of the time their five scans take)."""
        wanted = ", ".join(f"s.{c}" for c in columns) if columns else "s.*"
        # a name per call: on an engine whose tables are views, the earlier ones still read theirs
        self._kept += 1
        name = f"kept_pairs_{self._kept}"
        self._session.register(name, _pair_table(pairs))
        if not self.prepared or hold or self._held:
            # a narrowing after a held copy narrows that copy
            self._held = self._held or self.prepared
            self._session.create_table(
                "steps",
                f"SELECT {wanted} FROM steps s JOIN {name} USING (business_type, activity)")
            return
        # each narrowing reads the one before it, by name (a view never reads its own name)
        base = f"steps_kept_{self._kept - 1}" if self._kept > 1 else "steps_source"
        self._session.create_view(
            f"steps_kept_{self._kept}",
            f"SELECT {wanted} FROM {base} s JOIN {name} USING (business_type, activity)")
        self._session.create_view("steps", f"SELECT * FROM steps_kept_{self._kept}")

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
        wanted = _pair_table(pairs)
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
        return self.query(f"""
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
