"""The monthly teller announcement: volume, errors and speed per teller, ranked fairly.

Each month the bank announces every teller's business volume, errors and speed, ranked within
the branch and across all branches. :func:`monthly_league` builds that table; the exports in
:mod:`procmine.reports.league` write it as a formatted Excel workbook and as a printable HTML
page.

How the figures are made fair
-----------------------------

* **Harder work counts as more work.** Every transaction is measured against the standard time
  of its business type, so a teller doing long corporate or account-opening work is compared on
  ``sum(standard) / sum(actual)`` (the *speed index*; above 1 is faster than standard), not on
  raw mean times.
* **Large amounts.** Cash of 50,000 CNY or more (``LARGE_AMOUNT``, :mod:`procmine.core.amounts`)
  brings registration, a second-person recount and an authorization that the per-type standard
  does not contain. For each business type with enough such transactions (at least
  ``_MIN_CELL`` large and ``_MIN_CELL`` others in the month, bank-wide), the standard time of a
  large-amount transaction is multiplied by the type's bank-wide ratio ``(actual/standard of
  large ones) / (actual/standard of the others)`` (at least 1). The result is
  ``speed_index_adjusted``; with no large amounts it equals ``speed_index``.
* **Few transactions are shrunk toward the bank (empirical Bayes).** A teller's log adjusted
  ratio ``y = log(sum actual / sum adjusted standard)`` is modelled as ``N(theta, sigma2 /
  n_eff)`` around the teller's true level ``theta ~ N(mu, tau2)``; ``n_eff = (sum w)^2 / sum
  w^2`` is the effective number of transactions with the standard times ``w`` as weights and
  ``sigma2`` the pooled within-teller variance of the relative deviations ``(actual/standard) /
  teller ratio - 1``. The normal-normal fit (:func:`procmine.analysis.stats.fit_speed`:
  DerSimonian-Laird ``tau2``, prior strength ``k = sigma2 / tau2`` in transactions) pulls each
  ``y`` toward the bank mean ``mu`` with weight ``n_eff / (n_eff + k)``. ``speed_index_shrunk
  = exp(-theta_hat)``; for a teller with many transactions it approaches
  ``speed_index_adjusted``.
* **Error rates** are shrunk the same way, beta-binomial
  (:func:`procmine.analysis.stats.fit_errors`): ``error_rate_shrunk = (errors + M p) /
  (transactions + M)`` with ``p`` the bank's error rate and the prior weight ``M`` (in
  transactions) estimated from the month's data by maximum likelihood: small where the tellers'
  rates spread more than chance would spread them, infinite (everyone at ``p``) where they do
  not. A teller keeps ``transactions / (transactions + M)`` of the own rate; the raw
  ``error_rate`` stands beside it, as errors are few and ``M`` is known only roughly.

Ranks (1 = fastest) use ``speed_index_shrunk``, within the teller's branch and across the bank.
Shrinkage tempers a small sample but cannot make it fair (one transaction of a second would still
top the bank), so a teller with fewer than ``MIN_TRANSACTIONS`` (20) transactions the speed index
counts is listed with all figures but not ranked (``ranked`` False, ranks empty). The method's
fitted values are in ``league.attrs["method"]``.

Example:
    >>> from procmine.analysis.league import monthly_league
    >>> league = monthly_league(store, baseline, "2026-10")
    >>> top = league.loc[0]
    >>> top["teller_id"], round(float(top["speed_index_shrunk"]), 2), int(top["rank_overall"])
    ('0403', 1.07, 1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from procmine.analysis.stats import fit_errors, fit_speed
from procmine.analysis.transactions import SCAN_WINDOW, scan_window, transactions_sql
from procmine.core.amounts import LARGE_AMOUNT
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.core.months import add_months, month_label, parse_month
from procmine.core.plain import plain_value
from procmine.store.engine import DuckDBEngine, Engine
from procmine.store.event_store import EventStore

__all__ = [
    "LEAGUE_COLUMNS",
    "MIN_TRANSACTIONS",
    "league_records",
    "monthly_league",
    "months_with_data",
]

#: Fewest large-amount and other transactions of a type (bank-wide, in the month) for its
#: large-amount allowance; thinner types get none.
_MIN_CELL = 10

#: Fewest transactions in the month (with a standard time and a positive dwell: the ones the
#: speed index counts) for a teller to be ranked; fewer are listed, not ranked.
MIN_TRANSACTIONS = 20

#: The columns of :func:`monthly_league`, in order.
LEAGUE_COLUMNS: tuple[str, ...] = (
    "month",
    "teller_id",
    "branch_id",
    "transactions",
    "standard_hours",
    "actual_hours",
    "errors",
    "error_rate",
    "error_rate_shrunk",
    "speed_index",
    "speed_index_adjusted",
    "speed_index_shrunk",
    "ranked",
    "rank_in_branch",
    "rank_overall",
    "prev_speed_index_shrunk",
    "prev_rank_overall",
    "speed_index_change",
    "rank_change",
)



# --------------------------------------------------------------------------------------------------
# The league table
# --------------------------------------------------------------------------------------------------

# The league's relations, as CTEs of each query (no temp tables, so that the same SQL runs on
# every engine of procmine.store.engine).
# ``tx``: the transactions of the two months (procmine.analysis.transactions), one row each,
# with their dwell as whole microseconds (exact integer sums, whatever order an engine adds
# them in), read from the events of the scan window (a day either side of the two months).
# ``league_allowance``: per month and business type, the factor on the standard time of a
# large-amount transaction.
_LEAGUE_CTES = "\nWITH tx AS ({transactions}),\n" + """
league_rows AS (
    SELECT strftime(t.started, '%Y-%m') AS month, t.teller_id, t.branch_id, t.business_type,
           t.error, t.dwell_us, t.dwell_us / 1e6 AS dwell_seconds, b.standard_seconds,
           coalesce(t.amount >= $large_amount, false) AS large,
           b.standard_seconds IS NOT NULL AND t.dwell_us > 0 AS rated
    FROM tx t LEFT JOIN baseline b USING (business_type)
    WHERE t.teller_id IS NOT NULL AND t.started >= $month_from AND t.started < $month_to
),
league_allowance AS (
    SELECT month, business_type,
           CASE WHEN count(*) FILTER (WHERE large) >= $min_cell
                 AND count(*) FILTER (WHERE NOT large) >= $min_cell
                THEN greatest(1.0,
                     (sum(dwell_us) FILTER (WHERE large) / 1e6
                      / sum(standard_seconds) FILTER (WHERE large))
                     / (sum(dwell_us) FILTER (WHERE NOT large) / 1e6
                        / sum(standard_seconds) FILTER (WHERE NOT large)))
                ELSE 1.0 END AS factor
    FROM league_rows WHERE rated
    GROUP BY month, business_type
)
"""

# Per teller and month: the sums the fits need (see the module text for the symbols); and, in
# rows of their own (FULL JOIN ON false: no row meets another), the large-amount allowances
# (factor above 1) of the month announced. One query, so the events are read once.
_TX_COLUMNS = ("teller_id", "branch_id", "business_type", "started", "dwell_us", "error",
               "amount")


def _league_sql(store: EventStore) -> str:
    """The league's query, reading the prepared transactions when the store has them."""
    tx = transactions_sql(SCAN_WINDOW, _TX_COLUMNS, prepared=store.is_prepared())
    return _LEAGUE_SQL.replace("{transactions}", tx)


_LEAGUE_SQL = _LEAGUE_CTES + """,
weighted AS (
    SELECT r.*,
           r.standard_seconds * CASE WHEN r.large THEN coalesce(a.factor, 1.0) ELSE 1.0 END
               AS adjusted_seconds
    FROM league_rows r LEFT JOIN league_allowance a USING (month, business_type)
),
per_tx AS (
    SELECT *,
           sum(CASE WHEN rated THEN dwell_us END) OVER w / 1e6
               / sum(CASE WHEN rated THEN adjusted_seconds END) OVER w AS teller_ratio
    FROM weighted
    WINDOW w AS (PARTITION BY month, teller_id)
),
per_teller AS (
    SELECT month, teller_id, mode(branch_id ORDER BY branch_id) AS branch_id,
           count(*) AS transactions,
           count(*) FILTER (WHERE error) AS errors,
           coalesce(sum(standard_seconds), 0) / 3600 AS standard_hours,
           coalesce(sum(dwell_us), 0) / 3.6e9 AS actual_hours,
           count(*) FILTER (WHERE rated) AS rated,
           sum(standard_seconds) FILTER (WHERE rated) AS rated_standard,
           sum(adjusted_seconds) FILTER (WHERE rated) AS rated_adjusted,
           sum(dwell_us) FILTER (WHERE rated) / 1e6 AS rated_dwell,
           sum(adjusted_seconds * adjusted_seconds) FILTER (WHERE rated) AS sum_w2,
           sum(power(dwell_seconds / adjusted_seconds / teller_ratio - 1, 2))
               FILTER (WHERE rated) AS sum_e2
    FROM per_tx
    GROUP BY month, teller_id
),
allowances AS (
    SELECT business_type, factor FROM league_allowance
    WHERE month = $month AND factor > 1
)
SELECT p.*, a.business_type AS allowance_type, a.factor AS allowance_factor
FROM per_teller p FULL JOIN allowances a ON false
ORDER BY p.month, p.teller_id, a.business_type
"""


def months_with_data(store: EventStore, *, engine: Engine | None = None) -> list[str]:
    """The months (YYYY-MM) that have transactions, oldest first (on ``engine``, DuckDB over
    ``store`` by default). A prepared store names them in its step files' names
    (``<batch>/<YYYY-MM>-<n>.parquet``, split by the month a step started): nothing is read."""
    if engine is None and store.is_prepared():
        return sorted({path.name[:7] for path in store.prepared_files()})
    frame = (engine or DuckDBEngine(store)).query(
        "SELECT DISTINCT strftime(coalesce(start_time, end_time), '%Y-%m') AS m "
        "FROM events WHERE coalesce(start_time, end_time) IS NOT NULL ORDER BY m"
    )
    return [str(m) for m in frame["m"]]


_LAST_MONTH = date(9999, 12, 1)


def _month_before(first: date) -> date:
    """The month before ``first``'s; January of year 1 has none and stands for itself."""
    return add_months(first, -1) if first > date(1, 1, 1) else first


def _per_teller(store: EventStore, baseline: Baseline, first: date,
                large_amount: float | None,
                engine: Engine | None) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per teller and month (``first`` and the month before) the sums the fits need, and the
    large-amount allowances of ``first``'s month."""
    previous = _month_before(first)
    following = add_months(first, 1) if first < _LAST_MONTH else date.max
    month_to = (datetime.combine(following, datetime.min.time()) if following < date.max
                else datetime.max)
    params: dict[str, Any] = {
        **scan_window(previous, following),
        "month_from": datetime.combine(previous, datetime.min.time()),
        "month_to": month_to,
        "large_amount": large_amount,
        "min_cell": _MIN_CELL,
        "month": first.strftime("%Y-%m"),
    }
    records = [{"business_type": b.code, "standard_seconds": float(b.standard_seconds)}
               for b in baseline]
    tables = {"baseline": pa.Table.from_pylist(
        records,
        schema=pa.schema([("business_type", pa.string()), ("standard_seconds", pa.float64())]),
    )}
    both = (engine or DuckDBEngine(store)).query(_league_sql(store), params, tables=tables)
    is_allowance = both["allowance_type"].notna()
    allowances = both[is_allowance]
    frame = (both[~is_allowance].drop(columns=["allowance_type", "allowance_factor"])
             .astype({"transactions": "int64", "errors": "int64", "rated": "int64"})
             .reset_index(drop=True))
    return frame, {str(k): float(v) for k, v in zip(allowances["allowance_type"],
                                                     allowances["allowance_factor"],
                                                     strict=True)}


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _league_of_month(frame: pd.DataFrame, prior_strength: float | None,
                     min_transactions: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The fitted columns and ranks of one month's per-teller sums (every teller is in the fit;
    those with fewer than ``min_transactions`` rated transactions get no rank)."""
    out = frame.reset_index(drop=True).copy()
    out["errors"] = out["errors"].astype("int64")
    out["transactions"] = out["transactions"].astype("int64")
    out["error_rate"] = out["errors"] / out["transactions"]
    shrunk_err, p, m = fit_errors(out["errors"].to_numpy(float),
                                  out["transactions"].to_numpy(float), prior_strength)
    out["error_rate_shrunk"] = shrunk_err

    rated = (out["rated"] > 0) & (out["rated_dwell"].fillna(0) > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["speed_index"] = np.where(rated, out["rated_standard"] / out["rated_dwell"], np.nan)
        out["speed_index_adjusted"] = np.where(
            rated, out["rated_adjusted"] / out["rated_dwell"], np.nan
        )
    sub = out[rated]
    y = np.log(sub["rated_dwell"].to_numpy(float) / sub["rated_adjusted"].to_numpy(float))
    n_eff = sub["rated_adjusted"].to_numpy(float) ** 2 / sub["sum_w2"].to_numpy(float)
    dof = float(sub["rated"].sum()) - len(sub)
    sigma2 = float(sub["sum_e2"].sum()) / dof if dof > 0 else 0.0
    out["speed_index_shrunk"] = np.nan
    method: dict[str, Any] = {"bank_error_rate": p, "error_prior_strength": _finite(m)}
    if len(sub):
        fit = fit_speed(y, n_eff, sigma2, prior_strength)
        out.loc[rated, "speed_index_shrunk"] = fit.shrunk
        method.update(
            bank_speed_index=math.exp(-fit.mu),
            speed_prior_strength=_finite(fit.k),
            within_variance=fit.sigma2,
            between_variance=fit.tau2,
        )
    out["ranked"] = out["speed_index_shrunk"].notna() & (out["rated"] >= min_transactions)
    # equal indexes share a rank; rounding keeps float noise from splitting a true tie
    ranked = out["speed_index_shrunk"].round(10).where(out["ranked"])
    out["rank_overall"] = ranked.rank(method="min", ascending=False).astype("Int64")
    out["rank_in_branch"] = ranked.groupby(out["branch_id"], dropna=False).rank(
        method="min", ascending=False
    ).astype("Int64")
    return out, method


def monthly_league(store: EventStore, baseline: Baseline, month: str, *,
                   prior_strength: float | None = None,
                   large_amount: float | None = LARGE_AMOUNT,
                   min_transactions: int = MIN_TRANSACTIONS,
                   engine: Engine | None = None) -> pd.DataFrame:
    """The monthly announcement: one row per teller with a transaction in ``month`` (YYYY-MM).

    Columns (:data:`LEAGUE_COLUMNS`): ``transactions``, ``standard_hours`` (sum of the standard
    times: the standard-time weighted volume), ``actual_hours`` (sum of dwell times),
    ``errors``, ``error_rate`` and ``error_rate_shrunk`` (beta-binomial empirical Bayes),
    ``speed_index`` (sum of standard / sum of dwell times; above 1 is faster than standard),
    ``speed_index_adjusted`` (large amounts allowed for), ``speed_index_shrunk`` (empirical
    Bayes, toward the bank), ``ranked`` (whether the teller had ``min_transactions`` or more
    transactions the speed index counts), ``rank_in_branch`` and ``rank_overall`` (on the
    shrunk index among the ranked tellers, 1 = fastest; empty for the others), the previous
    month's ``prev_speed_index_shrunk`` and ``prev_rank_overall``, ``speed_index_change``
    (this month minus last) and ``rank_change`` (last month's rank minus this month's:
    positive means moved up). Sorted by ``rank_overall``, the tellers not ranked last.

    ``prior_strength`` fixes the weight of the bank-wide prior, in transactions, for both the
    speed index and the error rate (0 = no shrinkage); by default both are estimated from the
    month's data. ``large_amount`` is the amount from which a transaction gets the allowance of
    its type (None: no allowance). ``min_transactions`` (default :data:`MIN_TRANSACTIONS`)
    applies to last month's ranks too; every teller is still in the fits. A transaction belongs
    to the month its first step starts in; the speed index counts the transactions with a
    standard time and a positive dwell time.
    The fitted values are in ``attrs["method"]``. ``engine`` runs the queries on a query engine
    (:mod:`procmine.store.engine`, e.g. Spark) instead of DuckDB over ``store``, with the same
    results.

    Raises ProcmineError for a month that is not YYYY-MM, for a negative minimum, and for a
    month without teller transactions (naming the months that have data).

    Example:
        >>> league = monthly_league(store, baseline, "2026-10")
        >>> list(league.columns) == list(LEAGUE_COLUMNS)
        True
    """
    first = parse_month(month)
    if prior_strength is not None and not (prior_strength >= 0 and math.isfinite(prior_strength)):
        raise ProcmineError(f"prior strength must be a number of transactions >= 0, "
                            f"not {prior_strength}")
    if isinstance(min_transactions, bool) or not isinstance(min_transactions, int | np.integer) \
            or min_transactions < 0:
        raise ProcmineError(f"the minimum of transactions to be ranked must be a whole number "
                            f">= 0, not {min_transactions!r}")
    label = month_label(first)
    previous = month_label(_month_before(first))
    frame, allowances = _per_teller(store, baseline, first, large_amount, engine)
    current = frame[frame["month"] == label]
    if current.empty:
        months = months_with_data(store, engine=engine)
        if not months:
            raise ProcmineError("the store has no events; ingest an event log first "
                                "(procmine ingest FILE)")
        raise ProcmineError(f"no teller transactions in {label}; months with data: "
                            f"{', '.join(months)}")
    league, method = _league_of_month(current, prior_strength, int(min_transactions))
    before = frame[frame["month"] == previous]
    if before.empty:
        league["prev_speed_index_shrunk"] = np.nan
        league["prev_rank_overall"] = pd.array([pd.NA] * len(league), dtype="Int64")
    else:
        last, _ = _league_of_month(before, prior_strength, int(min_transactions))
        last = last[["teller_id", "speed_index_shrunk", "rank_overall"]].rename(columns={
            "speed_index_shrunk": "prev_speed_index_shrunk", "rank_overall": "prev_rank_overall"
        })
        league = league.merge(last, on="teller_id", how="left")
    league["speed_index_change"] = league["speed_index_shrunk"] - league["prev_speed_index_shrunk"]
    league["rank_change"] = (league["prev_rank_overall"] - league["rank_overall"]).astype("Int64")
    league["month"] = label
    league = league.sort_values(["rank_overall", "teller_id"], na_position="last")
    league = league[list(LEAGUE_COLUMNS)].reset_index(drop=True)
    method.update(month=label, previous_month=previous, large_amount=large_amount,
                  large_amount_allowances=allowances, min_transactions=int(min_transactions))
    league.attrs["method"] = method
    return league


def league_records(league: pd.DataFrame,
                   columns: Sequence[str] = LEAGUE_COLUMNS) -> list[dict[str, Any]]:
    """The league as JSON-ready records (NaN and NA as None).

    Example:
        >>> league = monthly_league(store, baseline, "2026-10")
        >>> league_records(league)[0]["rank_overall"]
        1
    """
    return [{k: plain_value(v) for k, v in zip(columns, row, strict=True)}
            for row in league[list(columns)].itertuples(index=False)]

