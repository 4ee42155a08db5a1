"""Self-service diversion: the counter business a machine could take, and the wait it would save.

A served (or transferred) ticket *qualifies* when its business type is a cash type
(``cash_types``, default P17 and P18: current-account cash deposit and withdrawal) and its
amount is under the threshold (default :data:`DIVERSION_THRESHOLD`, 20,000 yuan: exactly 20,000
does not qualify), or when its type is another self-service-capable one (``other_types``,
default P28 and P26: utility bill payment and intra-bank transfer) whatever the amount. Tickets
come from the queue tickets relation (:mod:`procmine.queue.tickets`); tickets made from the
event log carry the transaction's amount, a queue-system export may carry none: a cash ticket
without an amount never qualifies (its amount is not guessed), and the report says how many
there were (``cash_without_amount``; ``amounts_missing`` when no cash ticket has one).

The report gives:

* ``qualifying`` and ``counter_seconds``: how many, and the sum of their service seconds (the
  counter time the machines would take over), overall, ``by_branch_hour`` (hour of the
  queue interval) and ``by_type``;
* ``wait_saved``: per branch x day x 15-minute interval, the mean wait the queueing model gives
  now (the interval's observed arrivals, mean service time and counters open, from
  :func:`procmine.queue.measures.interval_load`) against the mean wait with ``share`` of the
  interval's qualifying tickets moved to machines (fewer arrivals, a mean service time without
  their service seconds, the same counters). The model is
  :func:`procmine.queue.erlang.wait_metrics`, as the staffing plan uses it: Erlang A with the
  branch's mean patience where abandonment is material (at least
  :data:`~procmine.queue.staffing.MATERIAL_ABANDONMENT` of those who queued), estimated as
  (seconds queued by the served and the abandoned) / (abandoned), the exponential patience's
  maximum-likelihood estimate; Erlang C elsewhere (``patience_seconds`` sets one patience for
  every branch). Counters open are rounded to whole
  counters. ``customer_minutes_saved`` = the drop of the counter queue's total wait,
  arrivals x wait now - (arrivals - moved) x wait after: what the customers still at the
  counters save, and the counter wait the moved ones no longer have (a queue at the machines,
  which the tickets do not show, is not counted against it). An interval Erlang C finds
  overloaded now (arrivals beyond what its counters can serve) has no finite model wait: it is
  marked ``model_status = "overloaded"`` (``"no_counters"`` where no counter was open or nothing
  was served) and left out of the sums (``relieved_intervals`` counts those the diversion would
  bring back under capacity); an interval without a qualifying ticket saves exactly 0.
  ``monthly_saving`` sums the customer minutes per branch x month;
* ``trend``: per branch x month, the qualifying share of the served tickets (a branch that starts
  diverting shows the share falling), with the change from the branch's previous month.

Example:
    >>> report = diversion_report(store, baseline)
    >>> report.qualifying > 0, report.amounts_missing
    (True, False)
    >>> round(report.counter_seconds) == round(report.by_type["counter_seconds"].sum())
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from procmine.core.amounts import SELF_SERVICE_LIMIT
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.queue.erlang import wait_metrics
from procmine.queue.measures import QueueFilter, interval_load
from procmine.queue.scoped import in_list, records, scoped_views
from procmine.queue.staffing import MATERIAL_ABANDONMENT
from procmine.store.engine import DuckDBEngine
from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    from procmine.store.engine import Engine

__all__ = [
    "CASH_TYPES",
    "DIVERSION_THRESHOLD",
    "SELF_SERVICE_TYPES",
    "WAIT_SAVED_COLUMNS",
    "DiversionReport",
    "diversion_report",
]

#: Cash business under this amount (yuan) can go to a self-service machine.
DIVERSION_THRESHOLD: Final[float] = SELF_SERVICE_LIMIT
#: Current-account cash deposit and withdrawal: qualify under the threshold.
CASH_TYPES: Final[tuple[str, ...]] = ("P17", "P18")
#: Utility bill payment and intra-bank transfer: qualify whatever the amount.
SELF_SERVICE_TYPES: Final[tuple[str, ...]] = ("P28", "P26")


def _served_sql(threshold: float, cash_types: Sequence[str], other_types: Sequence[str]) -> str:
    """The scoped served tickets with ``qualifying``, ``cash`` and ``cash_no_amount``."""
    cash = in_list("business_type", cash_types)
    other = in_list("business_type", other_types)
    return f"""
        SELECT *,
               ({cash} AND coalesce(amount < {threshold!r}, FALSE)) OR {other} AS qualifying,
               {cash} AS cash,
               {cash} AND amount IS NULL AS cash_no_amount
        FROM scoped
        WHERE outcome IN ('served', 'transferred')
    """


_QUALIFYING: Final = """
    count(*) AS served,
    count(*) FILTER (WHERE qualifying) AS qualifying,
    coalesce(sum(service_seconds) FILTER (WHERE qualifying), 0) AS counter_seconds
"""

_TOTALS: Final = f"""
    SELECT {_QUALIFYING},
           count(*) FILTER (WHERE cash) AS cash_tickets,
           count(*) FILTER (WHERE cash_no_amount) AS cash_without_amount
    FROM served_tickets
"""

_BY_BRANCH_HOUR: Final = f"""
    SELECT branch_id, CAST(floor(interval_of_day / 60) AS INTEGER) AS hour, {_QUALIFYING}
    FROM served_tickets
    GROUP BY branch_id, CAST(floor(interval_of_day / 60) AS INTEGER)
    ORDER BY branch_id NULLS LAST, hour
"""

_BY_TYPE: Final = f"""
    SELECT business_type, {_QUALIFYING},
           avg(service_seconds) FILTER (WHERE qualifying) AS mean_service_seconds
    FROM served_tickets
    GROUP BY business_type
    HAVING count(*) FILTER (WHERE qualifying) > 0
    ORDER BY business_type
"""

_TREND: Final = f"""
    SELECT branch_id, month, {_QUALIFYING}
    FROM served_tickets
    GROUP BY branch_id, month
    ORDER BY branch_id NULLS LAST, month
"""

_BY_INTERVAL: Final = """
    SELECT branch_id, day, interval_start,
           count(*) AS qualifying,
           coalesce(sum(service_seconds), 0) AS qualifying_service_seconds
    FROM served_tickets
    WHERE qualifying
    GROUP BY branch_id, day, interval_start
"""

#: The columns of :attr:`DiversionReport.wait_saved`, in order (``patience_seconds`` NaN:
#: Erlang C).
WAIT_SAVED_COLUMNS: Final[tuple[str, ...]] = (
    "branch_id", "day", "month", "weekday", "interval_start", "interval_of_day", "arrivals",
    "qualifying", "moved", "counters", "mean_service_seconds", "mean_service_after_seconds",
    "patience_seconds", "model_status", "wait_now_seconds", "wait_after_seconds",
    "wait_saved_seconds", "customer_minutes_saved",
)


@dataclass(frozen=True)
class DiversionReport:
    """What :func:`diversion_report` found (see the module for the definitions).

    ``by_branch_hour``: branch_id, hour, served, qualifying, counter_seconds,
    qualifying_share. ``by_type``: business_type, name_zh, name_en, served, qualifying,
    counter_seconds, mean_service_seconds (of the qualifying). ``wait_saved``: per branch x day
    x interval, :data:`WAIT_SAVED_COLUMNS`. ``monthly_saving``: branch_id, month, intervals,
    qualifying, overloaded_intervals, customer_minutes_saved. ``trend``: branch_id, month,
    served, qualifying, counter_seconds, qualifying_share, share_change.
    """

    source: str
    threshold: float
    cash_types: tuple[str, ...]
    other_types: tuple[str, ...]
    share: float
    target_seconds: float
    served: int
    qualifying: int
    counter_seconds: float
    cash_tickets: int
    cash_without_amount: int
    amounts_missing: bool
    message: str | None
    overloaded_intervals: int
    relieved_intervals: int
    customer_minutes_saved: float
    by_branch_hour: pd.DataFrame = field(repr=False)
    by_type: pd.DataFrame = field(repr=False)
    wait_saved: pd.DataFrame = field(repr=False)
    monthly_saving: pd.DataFrame = field(repr=False)
    trend: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields; the frames as lists of records, except the per-interval
        ``wait_saved`` (large), summed in ``monthly_saving``."""
        out: dict[str, Any] = {
            key: (list(value) if isinstance(value, tuple) else value)
            for key, value in self.__dict__.items() if not isinstance(value, pd.DataFrame)
        }
        for name in ("by_branch_hour", "by_type", "monthly_saving", "trend"):
            out[name] = records(getattr(self, name))
        return out


def _check(baseline: Baseline, threshold: float, share: float, cash_types: tuple[str, ...],
           other_types: tuple[str, ...]) -> None:
    if not (math.isfinite(threshold) and threshold > 0):
        raise ProcmineError(f"diversion threshold must be a positive amount, got {threshold}")
    if not (math.isfinite(share) and 0 <= share <= 1):
        raise ProcmineError(f"share to divert must be between 0 and 1, got {share}")
    if not cash_types and not other_types:
        raise ProcmineError("no business types to divert: give cash types or other types",
                            code="queue.no_diversion_types")
    unknown = sorted({*cash_types, *other_types} - set(baseline.codes))
    if unknown:
        raise ProcmineError(f"unknown business type(s) {', '.join(unknown)}: the baseline has "
                            f"{baseline.codes[0]}..{baseline.codes[-1]}")


def _message(cash_types: tuple[str, ...], other_types: tuple[str, ...], cash_tickets: int,
             without: int) -> str | None:
    if not cash_tickets or not without:
        return None
    kinds = ", ".join(cash_types)
    if without == cash_tickets:
        others = ", ".join(other_types) or "none"
        return (f"The tickets carry no amounts: the {cash_tickets} cash tickets ({kinds}) "
                "cannot be checked against the threshold and are not counted; only the other "
                f"self-service types qualify ({others}).")
    return (f"{without} of {cash_tickets} cash tickets ({kinds}) carry no amount: they are "
            "not counted.")


def _finite(value: float) -> bool:
    return bool(pd.notna(value) and math.isfinite(value))


def _trend(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["qualifying_share"] = out["qualifying"] / out["served"].where(out["served"] > 0)
    out["share_change"] = out.groupby("branch_id", dropna=False)["qualifying_share"].diff()
    return out


def _patience(load: pd.DataFrame, given: float | None) -> dict[str, float | None]:
    """Mean patience per branch (see the module): ``given`` for every branch when set, else
    the seconds queued by the served and the abandoned over the abandoned where abandonment
    is material (as the staffing plan has it); None (Erlang C) elsewhere."""
    out: dict[str, float | None] = {}
    sums = load.groupby("branch_id")[["total_wait_seconds", "abandoned_wait_seconds",
                                       "abandoned", "arrivals"]].sum()
    for branch, row in sums.iterrows():
        queued = float(row["total_wait_seconds"] + row["abandoned_wait_seconds"])
        material = (row["arrivals"] > 0
                    and row["abandoned"] / row["arrivals"] >= MATERIAL_ABANDONMENT)
        estimate = queued / int(row["abandoned"]) if material and queued > 0 else None
        out[str(branch)] = given if given is not None else estimate
    return out


def _model_wait(arrivals: float, service: float, counters: int, target: float,
                patience: float | None) -> float:
    """Mean wait (seconds) of an interval's arrivals by the model; inf when overloaded."""
    if arrivals <= 0:
        return 0.0
    return wait_metrics(arrivals * 4.0, service, counters, target_wait=target,
                        patience_seconds=patience).mean_wait_seconds


def _saving_row(row: Any, share: float, target: float, patience: float | None
                ) -> tuple[int, float, float, float, float]:
    """counters, mean service after, wait now, wait after, saved seconds (NaN: no model)."""
    nan = math.nan
    counters = math.floor(row.counters_open + 0.5)
    if counters < 1 or pd.isna(row.mean_service_seconds) or row.mean_service_seconds <= 0:
        return counters, nan, nan, nan, nan
    service = float(row.mean_service_seconds)
    now = _model_wait(row.arrivals, service, counters, target, patience)
    if not row.qualifying:
        return counters, service, now, now, (0.0 if math.isfinite(now) else nan)
    moved = share * row.qualifying
    left_served = row.served_all - moved
    after_service = service
    if left_served > 0:
        after_service = max((service * row.served_all - share * row.qualifying_service_seconds)
                            / left_served, 1e-9)
    after = _model_wait(max(row.arrivals - moved, 0.0), after_service, counters, target,
                        patience)
    saved = now - after if math.isfinite(now) else nan
    return counters, after_service, now, after, saved


def _wait_saved(load: pd.DataFrame, by_interval: pd.DataFrame, share: float, target: float,
                patience: dict[str, float | None]) -> pd.DataFrame:
    """Per interval of ``load``: the model's waits now and with ``share`` moved (module)."""
    frame = load.merge(by_interval, on=["branch_id", "day", "interval_start"], how="left")
    frame["qualifying"] = frame["qualifying"].fillna(0).astype("int64")
    frame["qualifying_service_seconds"] = frame["qualifying_service_seconds"].fillna(0.0)
    frame["served_all"] = frame["served"] + frame["transferred"]
    rows = [_saving_row(row, share, target, patience.get(str(row.branch_id)))
            for row in frame.itertuples(index=False)]
    cols = ["counters", "mean_service_after_seconds", "wait_now_seconds", "wait_after_seconds",
            "wait_saved_seconds"]
    computed = pd.DataFrame(rows, columns=cols, index=frame.index)
    out = pd.concat([frame, computed], axis=1)
    out["patience_seconds"] = [patience.get(str(b)) for b in out["branch_id"]]
    out["patience_seconds"] = out["patience_seconds"].astype("float64")
    out["moved"] = share * out["qualifying"]
    out["model_status"] = [
        "no_counters" if pd.isna(v) else ("ok" if math.isfinite(v) else "overloaded")
        for v in out["wait_now_seconds"]]
    left = (out["arrivals"] - out["moved"]).clip(lower=0)
    total_now = out["arrivals"] * out["wait_now_seconds"]
    total_after = left * out["wait_after_seconds"]
    out["customer_minutes_saved"] = ((total_now - total_after) / 60.0).where(
        (out["model_status"] == "ok") & (out["qualifying"] > 0), 0.0).where(
        out["model_status"] == "ok")
    out["month"] = pd.to_datetime(out["day"]).dt.strftime("%Y-%m")
    return out[list(WAIT_SAVED_COLUMNS)].sort_values(["branch_id", "interval_start"],
                                                     ignore_index=True)


def _overloaded(status: pd.Series) -> int:
    return int((status == "overloaded").sum())


def _monthly(saved: pd.DataFrame) -> pd.DataFrame:
    grouped = saved.groupby(["branch_id", "month"], sort=True)
    out = grouped.agg(intervals=("interval_start", "size"),
                      qualifying=("qualifying", "sum"),
                      overloaded_intervals=("model_status", _overloaded),
                      customer_minutes_saved=("customer_minutes_saved", "sum"))
    return out.reset_index()


def diversion_report(store: EventStore, baseline: Baseline, filters: QueueFilter | None = None,
                     *, threshold: float = DIVERSION_THRESHOLD,
                     cash_types: Sequence[str] = CASH_TYPES,
                     other_types: Sequence[str] = SELF_SERVICE_TYPES, share: float = 0.5,
                     patience_seconds: float | None = None,
                     engine: Engine | None = None) -> DiversionReport:
    """The qualifying counter business and the wait moving ``share`` of it would save (see the
    module). ``filters`` narrows the tickets (branch, days, source) and gives the target wait."""
    cash, other = tuple(cash_types), tuple(other_types)
    _check(baseline, float(threshold), float(share), cash, other)
    picked = scoped_views(store, filters)
    target = float(picked.filters.target_wait)
    run = engine if engine is not None else DuckDBEngine(store)
    with run.session() as session:
        for name, sql in picked.views.items():
            session.create_view(name, sql)
        session.create_view("served_tickets", _served_sql(float(threshold), cash, other))
        totals = session.query(_TOTALS).iloc[0]
        by_branch_hour = session.query(_BY_BRANCH_HOUR)
        by_type = session.query(_BY_TYPE)
        trend = session.query(_TREND)
        by_interval = session.query(_BY_INTERVAL)
    load = interval_load(store, picked.filters, engine=engine)
    patience = _patience(load, patience_seconds)
    saved = _wait_saved(load, by_interval, float(share), target, patience)
    by_branch_hour["qualifying_share"] = (
        by_branch_hour["qualifying"] / by_branch_hour["served"].where(by_branch_hour["served"] > 0))
    by_type.insert(1, "name_zh", [baseline[c].name_zh if c in baseline else ""
                                  for c in by_type["business_type"]])
    by_type.insert(2, "name_en", [baseline[c].name_en if c in baseline else ""
                                  for c in by_type["business_type"]])
    cash_tickets, without = int(totals["cash_tickets"]), int(totals["cash_without_amount"])
    return DiversionReport(
        source=picked.source, threshold=float(threshold), cash_types=cash, other_types=other,
        share=float(share), target_seconds=target, served=int(totals["served"]),
        qualifying=int(totals["qualifying"]), counter_seconds=float(totals["counter_seconds"]),
        cash_tickets=cash_tickets, cash_without_amount=without,
        amounts_missing=bool(cash_tickets and without == cash_tickets),
        message=_message(cash, other, cash_tickets, without),
        overloaded_intervals=int((saved["model_status"] == "overloaded").sum()),
        relieved_intervals=int(((saved["model_status"] == "overloaded")
                                & saved["wait_after_seconds"].map(_finite)).sum()),
        customer_minutes_saved=float(saved["customer_minutes_saved"].sum()),
        by_branch_hour=by_branch_hour, by_type=by_type, wait_saved=saved,
        monthly_saving=_monthly(saved), trend=_trend(trend),
    )
