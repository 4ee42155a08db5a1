"""Counter times: steps, transactions, business types and tellers against the timing baseline.

A transaction (case) runs from its first step's start to its last step's end: its counter dwell
time; its queue wait runs from the ticket to the call. Its teller, branch and business type are
those of most of its steps (the smallest among ties, on every engine and every run). Each step
has a service time (end - start) and a wait before it (from the previous step's end in the case,
or from the call for the first step). Where a log has only
completion times, a step's service time is the time since the previous step's end in the case
(from the call for the first step), flagged ``service_is_inferred``.

Every function takes the store (and the baseline, optional
:class:`~procmine.analysis.filters.Filters`) and returns a pandas DataFrame of reduced rows; the
aggregation runs in DuckDB over the store, or, given ``engine=`` (:mod:`procmine.store.engine`),
on that engine (e.g. Spark) with the same SQL. The transactions are the one relation of
:mod:`procmine.analysis.transactions`; the steps are those of :mod:`procmine.analysis.steps`.

Example:
    >>> from procmine.analysis.performance import business_type_summary, step_statistics
    >>> summary = business_type_summary(store, baseline)
    >>> first = summary.loc[:0, ["business_type", "median_seconds", "standard_seconds"]]
    >>> first.round(1).values.tolist()
    [['P17', 142.3, 120.0]]
    >>> steps = step_statistics(store, baseline, by="branch")
    >>> steps.columns[:4].tolist()
    ['branch_id', 'business_type', 'activity', 'count']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from procmine.analysis.filters import Filters
from procmine.analysis.steps import Level, StepData, level_keys
from procmine.analysis.transactions import baseline_table, transactions_sql
from procmine.core.baseline import Baseline
from procmine.core.sql import lit
from procmine.store.engine import DuckDBEngine
from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    from procmine.store.engine import Engine

__all__ = [
    "business_type_summary",
    "filter_options",
    "latest_month",
    "step_rows",
    "step_samples",
    "step_statistics",
    "step_times",
    "teller_profile",
    "teller_summary",
    "transaction_statistics",
    "transaction_summary",
    "type_steps",
]


def _engine(store: EventStore, engine: Engine | None) -> Engine:
    """``engine``, or DuckDB over ``store`` (one connection per query) when none is given."""
    return engine if engine is not None else DuckDBEngine(store)


def _query(store: EventStore, baseline: Baseline, sql: str,
           params: dict[str, Any] | None = None, engine: Engine | None = None) -> pd.DataFrame:
    """Run ``sql`` with the views ``transactions`` and ``baseline`` defined, on ``engine``
    (DuckDB over ``store`` by default)."""
    transactions = transactions_sql(prepared=store.is_prepared())
    return _engine(store, engine).query(sql, params, {"transactions": transactions},
                                        tables={"baseline": baseline_table(baseline)})


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
    return _teller_rows(store, baseline, filters, min_transactions, engine=engine)


def _teller_rows(store: EventStore, baseline: Baseline, filters: Filters | None,
                 min_transactions: int, *, by_month: bool = False,
                 engine: Engine | None = None) -> pd.DataFrame:
    """:func:`teller_summary`'s rows; ``by_month``: per teller and month the transactions
    started in (a ``month`` column first, ``YYYY-MM``), in month order."""
    where, params = (filters or Filters()).where()
    params["min_transactions"] = min_transactions
    month = "strftime(t.started, '%Y-%m') AS month, " if by_month else ""
    return _query(store, baseline, f"""
        SELECT {month}t.teller_id, mode(t.branch_id ORDER BY t.branch_id) AS branch_id,
               count(*) AS transactions,
               sum(CASE WHEN t.error THEN 1 ELSE 0 END) AS errors,
               sum(b.standard_seconds) / 3600 AS standard_hours,
               sum(t.dwell_seconds) / 3600 AS actual_hours,
               sum(b.standard_seconds) / sum(t.dwell_seconds) AS speed_index
        FROM transactions t JOIN baseline b USING (business_type)
        WHERE t.teller_id IS NOT NULL AND {where}
        GROUP BY {"month, " if by_month else ""}t.teller_id
        HAVING count(*) >= $min_transactions
        ORDER BY {"month, " if by_month else ""}speed_index, t.teller_id
    """, params, engine)


def transaction_statistics(store: EventStore, baseline: Baseline, by: Level = "bank",
                           filters: Filters | None = None, *,
                           engine: Engine | None = None) -> pd.DataFrame:
    """Per (teller or branch or bank) x business type: the counter dwell time and the queue
    wait (ticket to call, where the log has them) of the transactions: count, median, p90,
    mean, total, with the type's standard time (on ``engine`` if given).

    Example:
        >>> frame = transaction_statistics(store, baseline, by="branch")
        >>> frame.columns[:3].tolist()
        ['branch_id', 'business_type', 'transactions']
    """
    keys = [*level_keys(by), "business_type"]
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




def step_times(store: EventStore, filters: Filters | None = None,
               limit: int | None = None) -> pd.DataFrame:
    """One row per step with its times (the ``steps`` view of :class:`StepData` in detail):
    service, wait, inferred flag, occurrence and rework flag, hour, month, amount band, window
    type. For small stores, tests and drill-downs; analyses aggregate in SQL instead.

    Example:
        >>> rows = step_times(store, Filters(tellers=("0401",)), limit=100)
        >>> len(rows), rows["teller_id"].unique().tolist()
        (100, ['0401'])
    """
    with StepData(store, filters=filters, detail=True) as data:
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        return data.query(
            f"SELECT * FROM steps ORDER BY case_id, started, end_time, activity{tail}")


def step_statistics(store: EventStore, baseline: Baseline | None = None, by: Level = "teller",
                    filters: Filters | None = None, *, with_share: bool = True,
                    engine: Engine | None = None) -> pd.DataFrame:
    """Step service-time statistics per teller x type x step, per branch x type x step or
    bank-wide per type x step: count, median, p90, mean, total, share of the transaction's
    dwell time (see :meth:`StepData.statistics`). ``engine`` runs it on a query engine
    (:mod:`procmine.store.engine`, e.g. Spark) instead of DuckDB over ``store``.

    Example:
        >>> bank = step_statistics(store, baseline, by="bank")
        >>> first = bank.loc[:0, ["business_type", "activity", "median_seconds", "share"]]
        >>> first.round(3).values.tolist()
        [['C41', 'Ask need', 12.568, 0.004]]
    """
    with StepData(store, baseline, filters, engine=engine) as data:
        return data.statistics(by, with_share=with_share)


def type_steps(store: EventStore, baseline: Baseline, business_type: str,
               filters: Filters | None = None, *, engine: Engine | None = None) -> pd.DataFrame:
    """One business type's steps against their reference time: count, median, p90, share of
    the transaction's time, reference (the type's standard time x the step's share) and the
    median / reference ratio, slowest first (on ``engine`` if given).

    Example:
        >>> steps = type_steps(store, baseline, "P17")
        >>> steps.loc[0, "activity"], round(float(steps.loc[0, "ratio"]), 2)
        ('Verify identity', 3.66)
    """
    chosen = replace(filters or Filters(), business_types=(business_type,))
    steps = step_statistics(store, baseline, by="bank", filters=chosen, engine=engine)
    steps["reference_seconds"] = steps["standard_seconds"] * steps["share"]
    steps["ratio"] = steps["median_seconds"] / steps["reference_seconds"]
    return steps.sort_values("ratio", ascending=False).reset_index(drop=True)


def teller_profile(store: EventStore, baseline: Baseline, teller_id: str,
                   filters: Filters | None = None, *, engine: Engine | None = None,
                   bank_steps: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """One teller: speed index and volume per month (``months``: :func:`teller_summary`'s row
    of each month the teller worked in, whatever ``filters`` says of the period) and each
    type x step against the bank's median for it (``steps``), on ``engine`` if given.
    ``bank_steps``: the bank's step statistics for ``filters`` without the teller
    (:func:`step_statistics` by bank, without shares), when the caller keeps them for every
    teller (they are the same for all; computed here otherwise).

    ``steps`` has the step statistics with ``bank_median_seconds``, ``vs_bank`` (median / bank
    median) and ``minutes_above_bank``: the steps' count x (median - bank median), in minutes
    (negative where the teller is quicker), the time the teller spends on the step beyond the
    bank's usual pace. Sorted by it, most first: a step done once at twice the bank's time does
    not top a step done every day a little slower."""
    chosen = replace(filters or Filters(), tellers=(teller_id,))
    worked = {str(m) for m in _engine(store, engine).query(
        "SELECT DISTINCT strftime(end_time, '%Y-%m') AS month FROM events WHERE teller_id = $t",
        {"t": teller_id})["month"]}
    # every month in one pass (a month's row is the month's teller_summary)
    per_month = _teller_rows(store, baseline, Filters(tellers=(teller_id,)), 1, by_month=True,
                             engine=engine)
    per_month = per_month[per_month["month"].isin(worked)].reset_index(drop=True)
    mine = step_statistics(store, baseline, by="teller", filters=chosen, with_share=False,
                           engine=engine)
    bank = bank_steps if bank_steps is not None else step_statistics(
        store, baseline, by="bank", filters=replace(chosen, tellers=()), with_share=False,
        engine=engine)
    steps = mine.merge(
        bank[["business_type", "activity", "median_seconds"]].rename(
            columns={"median_seconds": "bank_median_seconds"}),
        on=["business_type", "activity"], how="left")
    steps["vs_bank"] = steps["median_seconds"] / steps["bank_median_seconds"]
    steps["minutes_above_bank"] = (
        steps["count"] * (steps["median_seconds"] - steps["bank_median_seconds"]) / 60)
    return {
        "months": per_month,
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
        >>> rows = step_samples(store, [("P18", "Count cash")])
        >>> len(rows), rows.columns[-2:].tolist()
        (3842, ['day', 'service_seconds'])
    """
    types = sorted({p[0] for p in pairs})
    wanted = pa.table({"business_type": pa.array([p[0] for p in pairs], pa.string()),
                       "activity": pa.array([p[1] for p in pairs], pa.string())})
    with StepData(store, filters=filters, business_types=types) as data:
        return data.query("""
            SELECT s.business_type, s.activity, s.branch_id, s.teller_id,
                   CAST(s.started AS DATE) AS day, s.service_seconds
            FROM steps s JOIN wanted_pairs USING (business_type, activity)
            WHERE s.service_seconds IS NOT NULL
            ORDER BY s.business_type, s.activity, s.started
        """, {"wanted_pairs": wanted})


def step_rows(store: EventStore, filters: Filters | None = None,
              pairs: Sequence[tuple[str, str]] | None = None, *,
              waits: bool = False) -> pd.DataFrame:
    """Every step (of the given (business type, step) pairs, or every step) that passes the
    filters, with what a group and a slice of a finding are made of: for re-measuring a
    finding before and after a change (:mod:`procmine.improve.measure`).

    Columns: ``case_id``, ``business_type``, ``activity``, ``branch_id``, ``teller_id``,
    ``day`` (the step's start date), ``hour``, ``weekday`` (ISO), ``amount_band``,
    ``window_type``, ``service_seconds`` and, with ``waits``, ``wait_seconds`` (the wait before
    the step; the detailed step view, slower).

    Example:
        >>> rows = step_rows(store, Filters(tellers=("0102",)), [("P18", "Count cash")])
        >>> rows.columns[[0, -1]].tolist(), rows["teller_id"].unique().tolist()
        (['case_id', 'service_seconds'], ['0102'])
    """
    chosen = list(pairs) if pairs is not None else None
    types = sorted({p[0] for p in chosen}) if chosen is not None else None
    wait = ", s.wait_seconds" if waits else ""
    with StepData(store, filters=filters, detail=waits, business_types=types,
                  pairs=chosen) as data:
        return data.query(f"""
            SELECT s.case_id, s.business_type, s.activity, s.branch_id, s.teller_id,
                   CAST(s.started AS DATE) AS day, s.hour, s.weekday, s.amount_band,
                   s.window_type{wait}, s.service_seconds
            FROM steps s
            ORDER BY s.started, s.case_id, s.activity
        """)
