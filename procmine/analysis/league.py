"""The monthly teller announcement: volume, errors and speed per teller, ranked fairly.

Each month the bank announces every teller's business volume, errors and speed, ranked within
the branch and across all branches. :func:`monthly_league` builds that table; the exports write
it as a formatted Excel workbook (:func:`export_league_excel`) and as a printable HTML page
(:func:`export_league_html`; print it to PDF from the browser).

How the figures are made fair
-----------------------------

* **Harder work counts as more work.** Every transaction is measured against the standard time
  of its business type, so a teller doing long corporate or account-opening work is compared on
  ``sum(standard) / sum(actual)`` (the *speed index*; above 1 is faster than standard), not on
  raw mean times.
* **Large amounts.** Cash of 50,000 CNY or more brings registration, a second-person recount and
  an authorization that the per-type standard does not contain. For each business type with
  enough such transactions (at least ``_MIN_CELL`` large and ``_MIN_CELL`` others in the month,
  bank-wide), the standard time of a large-amount transaction is multiplied by the type's
  bank-wide ratio ``(actual/standard of large ones) / (actual/standard of the others)`` (at
  least 1). The result is ``speed_index_adjusted``; with no large amounts it equals
  ``speed_index``.
* **Few transactions are shrunk toward the bank (empirical Bayes).** A teller's log adjusted
  ratio ``y = log(sum actual / sum adjusted standard)`` is modelled as ``N(theta, sigma2 /
  n_eff)`` around the teller's true level ``theta ~ N(mu, tau2)``; ``n_eff = (sum w)^2 / sum
  w^2`` is the effective number of transactions with the standard times ``w`` as weights and
  ``sigma2`` the pooled within-teller variance of the relative deviations ``(actual/standard) /
  teller ratio - 1``. ``tau2`` is estimated by the method of moments (DerSimonian-Laird), and
  each teller's ``y`` is pulled toward the bank mean ``mu`` with weight ``n_eff / (n_eff + k)``,
  ``k = sigma2 / tau2`` (the *prior strength*, in transactions). ``speed_index_shrunk =
  exp(-theta_hat)``; for a teller with many transactions it approaches ``speed_index_adjusted``.
* **Error rates** are shrunk the same way, beta-binomial: ``(errors + M p) / (transactions +
  M)`` with ``p`` the bank's error rate and ``M`` from the method of moments on the tellers'
  rates (``M`` infinite, i.e. everyone at ``p``, when the rates vary no more than chance).

Ranks (1 = fastest) use ``speed_index_shrunk``, within the teller's branch and across the bank.
The method's fitted values are in ``league.attrs["method"]``.

Example:
    >>> from procmine.analysis.league import monthly_league, export_league_excel
    >>> league = monthly_league(store, baseline, "2026-10")          # doctest: +SKIP
    >>> league.loc[0, ["teller_id", "speed_index_shrunk", "rank_overall"]]  # doctest: +SKIP
    >>> export_league_excel(league, "league-2026-10.xlsx", lang="en")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from procmine.analysis.transactions import SCAN_WINDOW, scan_window, transactions_sql
from procmine.app.i18n import normalize_language, t
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.store.engine import DuckDBEngine, Engine
from procmine.store.event_store import EventStore

__all__ = [
    "LARGE_AMOUNT",
    "LEAGUE_COLUMNS",
    "column_labels",
    "export_league_excel",
    "export_league_html",
    "league_records",
    "monthly_league",
    "months_with_data",
]

#: Cash of this amount (CNY) or more needs registration, a second count and authorization.
LARGE_AMOUNT = 50_000.0
#: Fewest large-amount and other transactions of a type (bank-wide, in the month) for its
#: large-amount allowance; thinner types get none.
_MIN_CELL = 10

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
    "rank_in_branch",
    "rank_overall",
    "prev_speed_index_shrunk",
    "prev_rank_overall",
    "speed_index_change",
    "rank_change",
)

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


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
_LEAGUE_CTES = "\nWITH tx AS (" + transactions_sql(
    SCAN_WINDOW, ("teller_id", "branch_id", "business_type", "started", "dwell_us", "error",
                  "amount")) + """),
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


def _parse_month(month: str) -> date:
    match = _MONTH.match(month.strip()) if isinstance(month, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ProcmineError(
            f"month {month!r} is not a month; expected YYYY-MM, for example 2026-10"
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def _shift(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_with_data(store: EventStore, *, engine: Engine | None = None) -> list[str]:
    """The months (YYYY-MM) that have transactions, oldest first (on ``engine``, DuckDB over
    ``store`` by default)."""
    frame = (engine or DuckDBEngine(store)).query(
        "SELECT DISTINCT strftime(coalesce(start_time, end_time), '%Y-%m') AS m "
        "FROM events WHERE coalesce(start_time, end_time) IS NOT NULL ORDER BY m"
    )
    return [str(m) for m in frame["m"]]


def _per_teller(store: EventStore, baseline: Baseline, first: date,
                large_amount: float | None,
                engine: Engine | None) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per teller and month (``first`` and the month before) the sums the fits need, and the
    large-amount allowances of ``first``'s month."""
    previous = _shift(first, -1)
    following = _shift(first, 1)
    params: dict[str, Any] = {
        **scan_window(previous, following),
        "month_from": datetime.combine(previous, datetime.min.time()),
        "month_to": datetime.combine(following, datetime.min.time()),
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
    both = (engine or DuckDBEngine(store)).query(_LEAGUE_SQL, params, tables=tables)
    is_allowance = both["allowance_type"].notna()
    allowances = both[is_allowance]
    frame = (both[~is_allowance].drop(columns=["allowance_type", "allowance_factor"])
             .astype({"transactions": "int64", "errors": "int64", "rated": "int64"})
             .reset_index(drop=True))
    return frame, {str(k): float(v) for k, v in zip(allowances["allowance_type"],
                                                     allowances["allowance_factor"],
                                                     strict=True)}


@dataclass(frozen=True)
class _SpeedFit:
    shrunk: np.ndarray
    mu: float
    sigma2: float
    tau2: float | None
    k: float


def _fit_speed(y: np.ndarray, n_eff: np.ndarray, sigma2: float,
               prior_strength: float | None) -> _SpeedFit:
    """Normal-normal empirical Bayes on the tellers' log ratios ``y`` (see the module text)."""
    tau2: float | None = None
    if prior_strength is not None:
        k = float(prior_strength)
    elif y.size < 2 or sigma2 <= 0:
        k = 0.0  # nothing to pool over, or no noise to remove
    else:
        a = n_eff / sigma2  # precision of each y
        mu_fixed = float(np.sum(a * y) / np.sum(a))
        q = float(np.sum(a * (y - mu_fixed) ** 2))
        c = float(np.sum(a) - np.sum(a * a) / np.sum(a))
        tau2 = max(0.0, (q - (y.size - 1)) / c) if c > 0 else 0.0
        k = sigma2 / tau2 if tau2 > 0 else math.inf
    if math.isinf(k):
        weight = np.zeros_like(n_eff)
        mu = float(np.sum(n_eff * y) / np.sum(n_eff))
    else:
        weight = n_eff / (n_eff + k)
        # the bank mean weights each teller by 1 / (sampling + between-teller variance)
        w_mu = weight if k > 0 else np.ones_like(n_eff)
        mu = float(np.sum(w_mu * y) / np.sum(w_mu))
    theta = mu + weight * (y - mu)
    return _SpeedFit(shrunk=np.exp(-theta), mu=mu, sigma2=sigma2, tau2=tau2, k=k)


def _fit_errors(errors: np.ndarray, n: np.ndarray,
                prior_strength: float | None) -> tuple[np.ndarray, float, float]:
    """Beta-binomial empirical Bayes: (shrunk rates, bank rate p, prior strength M)."""
    total = float(n.sum())
    p = float(errors.sum()) / total if total else 0.0
    if prior_strength is not None:
        m = float(prior_strength)
    elif n.size < 2 or p <= 0.0 or p >= 1.0:
        m = math.inf
    else:
        rates = errors / n
        spread = float(np.sum(n * (rates - p) ** 2))
        # E[spread] = (J - 1) p (1 - p) + tau2 (N - sum n^2 / N)
        tau2 = (spread - (n.size - 1) * p * (1 - p)) / (total - float(np.sum(n * n)) / total)
        m = max(p * (1 - p) / tau2 - 1, 0.0) if tau2 > 0 else math.inf
    if math.isinf(m):
        return np.full(n.shape, p, dtype=float), p, m
    with np.errstate(invalid="ignore", divide="ignore"):
        shrunk = (errors + m * p) / (n + m)
    return np.where(n + m > 0, shrunk, p), p, m


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _league_of_month(frame: pd.DataFrame,
                     prior_strength: float | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The fitted columns and ranks of one month's per-teller sums."""
    out = frame.reset_index(drop=True).copy()
    out["errors"] = out["errors"].astype("int64")
    out["transactions"] = out["transactions"].astype("int64")
    out["error_rate"] = out["errors"] / out["transactions"]
    shrunk_err, p, m = _fit_errors(out["errors"].to_numpy(float),
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
        fit = _fit_speed(y, n_eff, sigma2, prior_strength)
        out.loc[rated, "speed_index_shrunk"] = fit.shrunk
        method.update(
            bank_speed_index=math.exp(-fit.mu),
            speed_prior_strength=_finite(fit.k),
            within_variance=fit.sigma2,
            between_variance=fit.tau2,
        )
    # equal indexes share a rank; rounding keeps float noise from splitting a true tie
    ranked = out["speed_index_shrunk"].round(10)
    out["rank_overall"] = ranked.rank(method="min", ascending=False).astype("Int64")
    out["rank_in_branch"] = ranked.groupby(out["branch_id"], dropna=False).rank(
        method="min", ascending=False
    ).astype("Int64")
    return out, method


def monthly_league(store: EventStore, baseline: Baseline, month: str, *,
                   prior_strength: float | None = None,
                   large_amount: float | None = LARGE_AMOUNT,
                   engine: Engine | None = None) -> pd.DataFrame:
    """The monthly announcement: one row per teller with a transaction in ``month`` (YYYY-MM).

    Columns (:data:`LEAGUE_COLUMNS`): ``transactions``, ``standard_hours`` (sum of the standard
    times: the standard-time weighted volume), ``actual_hours`` (sum of dwell times),
    ``errors``, ``error_rate`` and ``error_rate_shrunk`` (beta-binomial empirical Bayes),
    ``speed_index`` (sum of standard / sum of dwell times; above 1 is faster than standard),
    ``speed_index_adjusted`` (large amounts allowed for), ``speed_index_shrunk`` (empirical
    Bayes, toward the bank), ``rank_in_branch`` and ``rank_overall`` (on the shrunk index, 1 =
    fastest), the previous month's ``prev_speed_index_shrunk`` and ``prev_rank_overall``,
    ``speed_index_change`` (this month minus last) and ``rank_change`` (last month's rank minus
    this month's: positive means moved up). Sorted by ``rank_overall``.

    ``prior_strength`` fixes the weight of the bank-wide prior, in transactions, for both the
    speed index and the error rate (0 = no shrinkage); by default both are estimated from the
    month's data. ``large_amount`` is the amount from which a transaction gets the allowance of
    its type (None: no allowance). A transaction belongs to the month its first step starts in;
    the speed index counts the transactions with a standard time and a positive dwell time.
    The fitted values are in ``attrs["method"]``. ``engine`` runs the queries on a query engine
    (:mod:`procmine.store.engine`, e.g. Spark) instead of DuckDB over ``store``, with the same
    results.

    Raises ProcmineError for a month that is not YYYY-MM, and for a month without teller
    transactions (naming the months that have data).

    Example:
        >>> league = monthly_league(store, baseline, "2026-10")       # doctest: +SKIP
        >>> list(league.columns) == list(LEAGUE_COLUMNS)               # doctest: +SKIP
        True
    """
    first = _parse_month(month)
    if prior_strength is not None and not (prior_strength >= 0 and math.isfinite(prior_strength)):
        raise ProcmineError(f"prior strength must be a number of transactions >= 0, "
                            f"not {prior_strength}")
    label = first.strftime("%Y-%m")
    previous = _shift(first, -1).strftime("%Y-%m")
    frame, allowances = _per_teller(store, baseline, first, large_amount, engine)
    current = frame[frame["month"] == label]
    if current.empty:
        months = months_with_data(store, engine=engine)
        if not months:
            raise ProcmineError("the store has no events; ingest an event log first "
                                "(procmine ingest FILE)")
        raise ProcmineError(f"no teller transactions in {label}; months with data: "
                            f"{', '.join(months)}")
    league, method = _league_of_month(current, prior_strength)
    before = frame[frame["month"] == previous]
    if before.empty:
        league["prev_speed_index_shrunk"] = np.nan
        league["prev_rank_overall"] = pd.array([pd.NA] * len(league), dtype="Int64")
    else:
        last, _ = _league_of_month(before, prior_strength)
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
                  large_amount_allowances=allowances)
    league.attrs["method"] = method
    return league


# --------------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------------

# key: (zh-CN, en, Excel number format, column width)
_COLUMNS: dict[str, tuple[str, str, str, float]] = {
    "teller_id": ("柜员号", "Teller", "@", 10),
    "branch_id": ("网点", "Branch", "@", 10),
    "transactions": ("业务笔数", "Transactions", "#,##0", 11),
    "standard_hours": ("标准工时(小时)", "Standard hours", "#,##0.0", 13),
    "actual_hours": ("实际用时(小时)", "Actual hours", "#,##0.0", 13),
    "errors": ("差错笔数", "Errors", "#,##0", 9),
    "error_rate": ("差错率", "Error rate", "0.0%", 10),
    "error_rate_shrunk": ("差错率(校正)", "Error rate (adjusted)", "0.0%", 12),
    "speed_index": ("速度指数", "Speed index", "0.00", 10),
    "speed_index_adjusted": ("速度指数(含大额)", "Speed index (large amounts)", "0.00", 13),
    "speed_index_shrunk": ("速度指数(排名用)", "Speed index (ranked)", "0.00", 13),
    "rank_in_branch": ("网点排名", "Branch rank", "0", 9),
    "rank_overall": ("全行排名", "Bank rank", "0", 9),
    "prev_speed_index_shrunk": ("上月速度指数", "Last month's index", "0.00", 12),
    "prev_rank_overall": ("上月全行排名", "Last month's rank", "0", 11),
    "speed_index_change": ("指数变化", "Index change", "+0.00;-0.00;0.00", 10),
    "rank_change": ("名次变化", "Rank change", "+0;-0;0", 9),
}

#: The columns the exports show, in order (the month is in the title).
_EXPORT_COLUMNS: tuple[str, ...] = (
    "rank_overall", "rank_in_branch", "teller_id", "branch_id", "transactions",
    "standard_hours", "actual_hours", "errors", "error_rate", "error_rate_shrunk",
    "speed_index", "speed_index_adjusted", "speed_index_shrunk",
    "prev_speed_index_shrunk", "speed_index_change", "prev_rank_overall", "rank_change",
)
_INDEX_COLUMNS = ("speed_index", "speed_index_adjusted", "speed_index_shrunk")

_WORDS = {
    "zh-CN": {"bank": "全行", "no_branch": "未知网点", "branch": "网点",
              "tellers": "名柜员"},
    "en": {"bank": "All branches", "no_branch": "No branch", "branch": "Branch",
           "tellers": "tellers"},
}


def column_labels(lang: str = "zh-CN") -> dict[str, str]:
    """The column headers of the league table in ``lang`` (zh-CN or en), by column name.

    Example:
        >>> column_labels("en")["speed_index_shrunk"]
        'Speed index (ranked)'
    """
    en = normalize_language(lang) == "en"
    labels = {key: (spec[1] if en else spec[0]) for key, spec in _COLUMNS.items()}
    labels["month"] = "Month" if en else "月份"
    return labels


def _method_note(league: pd.DataFrame, lang: str) -> list[str]:
    method: dict[str, Any] = league.attrs.get("method", {})
    k = method.get("speed_prior_strength")
    m = method.get("error_prior_strength")
    allow = method.get("large_amount_allowances") or {}
    amount = method.get("large_amount")
    if normalize_language(lang) == "en":
        lines = [
            "Speed index = sum of standard times / sum of actual counter times (above 1 is "
            "faster than standard); harder business types carry longer standard times.",
            "Ranks use the speed index shrunk toward the bank level by empirical Bayes, so a "
            "teller with few transactions does not top or bottom the table by chance "
            + (f"(prior weight {k:.0f} transactions)." if k is not None
               else "(this month: full pooling)."),
            "Adjusted error rate: beta-binomial shrinkage toward the bank's error rate "
            + (f"(prior weight {m:.0f} transactions)." if m is not None
               else "(this month: tellers differ no more than chance; everyone at the bank rate)."
               ),
        ]
        if amount is not None and allow:
            lines.append(
                f"Transactions of {amount:,.0f} CNY or more get a longer standard time, by the "
                "bank-wide extra time of their type: "
                + ", ".join(f"{c} ×{f:.2f}" for c, f in allow.items()) + "."
            )
    else:
        lines = [
            "速度指数 = 标准时间合计 ÷ 实际办理时间合计（大于 1 表示快于标准）；"
            "复杂业务的标准时间更长，因此按标准工时折算比较。",
            "排名依据经验贝叶斯校正后的速度指数：业务笔数少的柜员向全行水平收缩，"
            "避免偶然因素造成名次大起大落"
            + (f"（先验权重 {k:.0f} 笔）。" if k is not None else "（本月完全合并）。"),
            "差错率(校正)：按 Beta-二项模型向全行差错率收缩"
            + (f"（先验权重 {m:.0f} 笔）。" if m is not None
               else "（本月柜员间差异不超过随机波动，均按全行差错率）。"),
        ]
        if amount is not None and allow:
            lines.append(
                f"金额 {amount:,.0f} 元及以上的交易按全行同类业务的实际额外耗时延长标准时间："
                + "，".join(f"{c} ×{f:.2f}" for c, f in allow.items()) + "。"
            )
    return lines


def _month_of(league: pd.DataFrame, month: str | None) -> str:
    if month:
        return month
    if "month" in league.columns and len(league):
        return str(league["month"].iloc[0])
    return str(league.attrs.get("method", {}).get("month", ""))


def _sections(league: pd.DataFrame, lang: str) -> list[tuple[str, pd.DataFrame]]:
    """(title, rows): the bank first (by bank rank), then each branch (by branch rank)."""
    words = _WORDS[normalize_language(lang)]
    sections = [(words["bank"], league.sort_values(["rank_overall", "teller_id"],
                                                   na_position="last"))]
    branches = league["branch_id"].astype("string").fillna(words["no_branch"])
    for branch in sorted(branches.unique()):
        rows = league[branches == branch].sort_values(["rank_in_branch", "teller_id"],
                                                      na_position="last")
        sections.append((str(branch), rows))
    return sections


def _cell(value: Any) -> Any:
    """A frame value as a plain Python value for openpyxl (NaN and NA become empty)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


# --------------------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------------------

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub("_", title).strip("'")[:31] or "_"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(name.lower())
    return name


def export_league_excel(league: pd.DataFrame, path: str | Path, lang: str = "zh-CN") -> Path:
    """Write the league as a formatted workbook: the bank-wide sheet first, then one sheet per
    branch; a title row with the month, a bold filled header frozen in place, number formats and
    a colour scale on the speed indexes, and the method in notes below the table.

    Example:
        >>> export_league_excel(league, "league-2026-10.xlsx", lang="en")  # doctest: +SKIP
        PosixPath('league-2026-10.xlsx')
    """
    from openpyxl import Workbook
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    lang = normalize_language(lang)
    target = Path(path)
    month = _month_of(league, None)
    labels = column_labels(lang)
    title_text = t("nav.announcement", lang)
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", start_color="305496", end_color="305496")
    thin = Side(style="thin", color="BFBFBF")
    note = _method_note(league, lang)
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for section, rows in _sections(league, lang):
        sheet = workbook.create_sheet(_sheet_name(section, used))
        ncols = len(_EXPORT_COLUMNS)
        sheet.cell(row=1, column=1, value=f"{month} {title_text} · {section}").font = Font(
            bold=True, size=14
        )
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
        for j, key in enumerate(_EXPORT_COLUMNS, start=1):
            cell = sheet.cell(row=2, column=j, value=labels[key])
            cell.font = header_font
            cell.fill = header_fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = Border(bottom=thin)
            sheet.column_dimensions[get_column_letter(j)].width = _COLUMNS[key][3] + 2
        sheet.row_dimensions[2].height = 32
        for i, record in enumerate(rows[list(_EXPORT_COLUMNS)].itertuples(index=False), start=3):
            for j, key in enumerate(_EXPORT_COLUMNS, start=1):
                cell = sheet.cell(row=i, column=j, value=_cell(record[j - 1]))
                cell.number_format = _COLUMNS[key][2]
                cell.border = Border(bottom=thin)
        last = 2 + len(rows)
        if len(rows):
            for key in _INDEX_COLUMNS:
                letter = get_column_letter(_EXPORT_COLUMNS.index(key) + 1)
                sheet.conditional_formatting.add(
                    f"{letter}3:{letter}{last}",
                    ColorScaleRule(start_type="min", start_color="F8696B",
                                   mid_type="percentile", mid_value=50, mid_color="FFEB84",
                                   end_type="max", end_color="63BE7B"),
                )
        for offset, line in enumerate(note, start=2):
            sheet.cell(row=last + offset, column=1, value=line).font = Font(italic=True,
                                                                             color="595959")
        sheet.freeze_panes = "D3"
        sheet.print_title_rows = "2:2"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target


# --------------------------------------------------------------------------------------------------
# HTML (printable; print to PDF from the browser)
# --------------------------------------------------------------------------------------------------

_CSS = """
:root { --head: #305496; --line: #d0d7e5; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", "Helvetica Neue",
       Arial, sans-serif; color: #1f1f1f; margin: 24px; font-size: 13px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; color: var(--head); }
p.meta { color: #595959; margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8px; }
th { background: var(--head); color: #fff; font-weight: 600; padding: 6px 6px;
     border: 1px solid var(--head); text-align: center; }
td { padding: 4px 6px; border: 1px solid var(--line); text-align: right;
     font-variant-numeric: tabular-nums; }
td.text { text-align: left; }
tbody tr:nth-child(even) td { background-color: #f6f8fc; }
ol.notes { color: #595959; font-size: 12px; padding-left: 18px; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { margin: 0; font-size: 10px; }
  section.branch { break-before: page; page-break-before: always; }
  h2 { margin-top: 0; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  .noprint { display: none; }
}
"""


def _scale_colour(value: float, low: float, mid: float, high: float) -> str:
    """Red (slowest) through yellow (median) to green (fastest), like Excel's 3-colour scale."""
    stops = ((0xF8, 0x69, 0x6B), (0xFF, 0xEB, 0x84), (0x63, 0xBE, 0x7B))
    if value <= mid:
        frac, a, b = ((value - low) / (mid - low) if mid > low else 1.0), stops[0], stops[1]
    else:
        frac, a, b = ((value - mid) / (high - mid) if high > mid else 1.0), stops[1], stops[2]
    frac = min(max(frac, 0.0), 1.0)
    rgb = (round(x + (y - x) * frac) for x, y in zip(a, b, strict=True))
    return "#" + "".join(f"{c:02X}" for c in rgb)


def _format(key: str, value: Any) -> str:
    value = _cell(value)
    if value is None:
        return "–"
    spec = _COLUMNS[key][2]
    if spec == "0.0%":
        return f"{value:.1%}"
    if spec == "0.00":
        return f"{value:.2f}"
    if spec.startswith("+0.00"):
        return "0.00" if round(value, 2) == 0 else f"{value:+.2f}"
    if spec.startswith("+0;"):
        return "0" if int(value) == 0 else f"{int(value):+d}"
    if spec == "#,##0.0":
        return f"{value:,.1f}"
    if spec in ("#,##0", "0"):
        return f"{int(value):,d}"
    return html.escape(str(value))


def _html_table(rows: pd.DataFrame, labels: dict[str, str],
                scales: dict[str, tuple[float, float, float]]) -> str:
    head = "".join(f"<th>{html.escape(labels[k])}</th>" for k in _EXPORT_COLUMNS)
    body = []
    for record in rows[list(_EXPORT_COLUMNS)].itertuples(index=False):
        cells = []
        for key, value in zip(_EXPORT_COLUMNS, record, strict=True):
            text = _format(key, value)
            klass = ' class="text"' if key in ("teller_id", "branch_id") else ""
            style = ""
            plain = _cell(value)
            if key in scales and plain is not None:
                style = f' style="background-color:{_scale_colour(plain, *scales[key])}"'
            cells.append(f"<td{klass}{style}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def export_league_html(league: pd.DataFrame, path: str | Path, month: str | None = None,
                       lang: str = "zh-CN") -> Path:
    """Write the league as one self-contained HTML page to print (or save as PDF): the
    bank-wide table, then one table per branch, each branch starting a new printed page.

    No external assets: the styles are inline, so the page prints the same offline.

    Example:
        >>> export_league_html(league, "league-2026-10.html", "2026-10", "en")  # doctest: +SKIP
        PosixPath('league-2026-10.html')
    """
    lang = normalize_language(lang)
    target = Path(path)
    month = _month_of(league, month)
    labels = column_labels(lang)
    words = _WORDS[lang]
    title = f"{month} {t('nav.announcement', lang)}"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{len(league)} {html.escape(words["tellers"])}</p>',
    ]
    for n, (section, rows) in enumerate(_sections(league, lang)):
        scales = {}
        for key in _INDEX_COLUMNS:
            values = rows[key].dropna().astype(float)
            if len(values):
                scales[key] = (float(values.min()), float(values.median()), float(values.max()))
        heading = section if n == 0 else f"{words['branch']} {section}"
        klass = "bank" if n == 0 else "branch"
        parts.append(f'<section class="{klass}"><h2>{html.escape(heading)}</h2>')
        parts.append(_html_table(rows, labels, scales))
        parts.append("</section>")
    parts.append('<ol class="notes">' + "".join(
        f"<li>{html.escape(line)}</li>" for line in _method_note(league, lang)
    ) + "</ol>")
    parts.append("</body></html>")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return target


def league_records(league: pd.DataFrame,
                   columns: Sequence[str] = LEAGUE_COLUMNS) -> list[dict[str, Any]]:
    """The league as JSON-ready records (NaN and NA as None).

    Example:
        >>> league_records(league)[0]["rank_overall"]                 # doctest: +SKIP
        1
    """
    return [{k: _cell(v) for k, v in zip(columns, row, strict=True)}
            for row in league[list(columns)].itertuples(index=False)]
