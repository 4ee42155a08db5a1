"""Counter times: transactions, business types and tellers against the timing baseline.

A transaction (case) runs from its first step's start to its last step's end: its counter dwell
time. Its teller, branch and business type are those of most of its steps. Each function takes
the store, the baseline and optional :class:`Filters`, and returns a pandas DataFrame; the
aggregation runs in DuckDB over the store.

Example:
    >>> from procmine.performance import business_type_summary
    >>> summary = business_type_summary(store, baseline)        # doctest: +SKIP
    >>> summary.loc[0, ["business_type", "median_seconds", "standard_seconds"]]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa

from procmine.baseline import Baseline
from procmine.store import EventStore

__all__ = [
    "Filters",
    "business_type_summary",
    "filter_options",
    "latest_month",
    "teller_summary",
    "transaction_summary",
]


@dataclass(frozen=True)
class Filters:
    """What every page can narrow the data to; empty means no restriction."""

    start: date | None = None
    end: date | None = None  # inclusive
    branches: tuple[str, ...] = field(default_factory=tuple)
    business_types: tuple[str, ...] = field(default_factory=tuple)
    tellers: tuple[str, ...] = field(default_factory=tuple)

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


_TRANSACTIONS = """
    SELECT case_id,
           mode(teller_id) AS teller_id,
           mode(branch_id) AS branch_id,
           mode(business_type) AS business_type,
           mode(window_type) AS window_type,
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


def _query(store: EventStore, baseline: Baseline, sql: str,
           params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run ``sql`` with the views ``transactions`` and ``baseline`` defined."""
    con = store.connect()
    try:
        con.execute(f"CREATE TEMP VIEW transactions AS {_TRANSACTIONS}")
        records = baseline.to_records()
        con.register("baseline_arrow", pa.Table.from_pylist(records) if records else pa.table(
            {"business_type": pa.array([], pa.string()),
             "standard_seconds": pa.array([], pa.float64())}))
        con.execute("CREATE TEMP VIEW baseline AS SELECT * FROM baseline_arrow")
        return con.execute(sql, params or {}).df()
    finally:
        con.close()


def latest_month(store: EventStore) -> date | None:
    """The first day of the latest month with data (the dashboard's "this month")."""
    con = store.connect()
    try:
        value = con.execute("SELECT max(end_time) FROM events").fetchall()[0][0]
    finally:
        con.close()
    return None if value is None else value.date().replace(day=1)


def filter_options(store: EventStore) -> dict[str, list[str]]:
    """The values the shared filters offer: branches, business types, tellers."""
    con = store.connect()
    try:
        options = {}
        for column in ("branch_id", "business_type", "teller_id"):
            rows = con.execute(
                f"SELECT DISTINCT {column} FROM events WHERE {column} IS NOT NULL ORDER BY 1"
            ).fetchall()
            options[column] = [r[0] for r in rows]
        return options
    finally:
        con.close()


def transaction_summary(store: EventStore, baseline: Baseline,
                        filters: Filters | None = None) -> dict[str, Any]:
    """Counts and period of the transactions that pass the filters."""
    where, params = (filters or Filters()).where()
    frame = _query(store, baseline, f"""
        SELECT count(*) AS transactions, sum(steps) AS events,
               count(DISTINCT teller_id) AS tellers, count(DISTINCT branch_id) AS branches,
               count(DISTINCT business_type) AS business_types,
               min(started) AS first, max(ended) AS last,
               avg(CASE WHEN error THEN 1.0 ELSE 0.0 END) AS error_rate
        FROM transactions WHERE {where}
    """, params)
    row: dict[str, Any] = {str(k): v for k, v in frame.iloc[0].to_dict().items()}
    row["transactions"] = int(row["transactions"])
    row["events"] = int(row["events"] or 0)
    return row


def business_type_summary(store: EventStore, baseline: Baseline,
                          filters: Filters | None = None) -> pd.DataFrame:
    """Per business type: transactions, median and p90 dwell time against the standard time,
    and the time lost (hours over standard, summed over transactions), most time lost first.
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
    """, params)


def teller_summary(store: EventStore, baseline: Baseline, filters: Filters | None = None,
                   min_transactions: int = 20) -> pd.DataFrame:
    """Per teller: transactions, errors, standard-time weighted volume and speed index
    (sum of standard times / sum of actual dwell times; below 1 is slower than standard),
    slowest first. Tellers with fewer than ``min_transactions`` are left out.
    """
    where, params = (filters or Filters()).where()
    params["min_transactions"] = min_transactions
    return _query(store, baseline, f"""
        SELECT t.teller_id, mode(t.branch_id) AS branch_id, count(*) AS transactions,
               sum(CASE WHEN t.error THEN 1 ELSE 0 END) AS errors,
               sum(b.standard_seconds) / 3600 AS standard_hours,
               sum(t.dwell_seconds) / 3600 AS actual_hours,
               sum(b.standard_seconds) / sum(t.dwell_seconds) AS speed_index
        FROM transactions t JOIN baseline b USING (business_type)
        WHERE t.teller_id IS NOT NULL AND {where}
        GROUP BY t.teller_id
        HAVING count(*) >= $min_transactions
        ORDER BY speed_index, t.teller_id
    """, params)
