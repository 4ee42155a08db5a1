"""The demo's queue-system export: every ticket of the demo lobby, derived from its event log.

A Chinese branch's queue machine (排队叫号系统) exports one row per ticket: when it was taken,
called, served, by which teller at which window, and how it ended. :func:`demo_tickets` makes
that export for the demo, deterministically (its own random stream, :data:`TICKET_SEED`) from
the demo event log, and :func:`ticket_export` writes it with the columns and values of such a
system (:data:`EXPORT_COLUMNS`; the bundled mapping ``event_logs/mappings/demo_tickets.yaml``
reads it back through the ticket ingest).

How the tickets are made:

* **Served** (已办理): one ticket per transaction of the log: taken at its ticket time, called at
  its call time, served from its first step's start to its last step's end, by its teller, with
  its branch, business type, window, customer segment and amount. Times are whole seconds, as a
  queue system records them (floored).
* **Transferred** (转移): about :data:`TRANSFER_RATE` of the served tickets were served and then
  sent to another queue; they keep their transaction and times.
* **Abandoned** (弃号): customers who took a ticket and left before being called (the
  system records when the number was given up, 弃号时间: the ticket's ``call_time``). A share
  (:data:`IMPATIENT_SHARE`) of customers have a limited patience, exponential with a mean by
  segment (:data:`PATIENCE_MINUTES`, longer for VIP customers); a customer who arrives beside a
  served one (same branch, window and minute) would have waited as long, so leaves with
  probability ``p = IMPATIENT_SHARE * (1 - exp(-wait / patience))``. Each served ticket brings
  ``Poisson(p / (1 - p))`` abandoned ones (so that ``p`` is their share of the arrivals), whose
  patience is drawn below that wait: abandonment grows with the wait, by construction.
* **No-shows** (过号): about :data:`NO_SHOW_RATE` of served tickets are preceded by a ticket of
  the same window that the teller called while its customer was gone, between the previous
  customer and this one.

Ticket numbers (票号) run per branch, day and window in order of arrival, with the window's
letter: A (regular), V (VIP), C (corporate): ``A001``. They restart every day, so a ticket is
known by branch, business date and number together (the mapping joins them into ``ticket_id``:
``B01-20260901-A001``).

Example:
    >>> import pyarrow.parquet as pq
    >>> from procmine.core.paths import bundled_path
    >>> events = pq.read_table(bundled_path("event_logs", "demo_events.parquet"))
    >>> tickets = demo_tickets(events)
    >>> tickets["outcome"].value_counts().sort_index().to_dict()
    {'abandoned': 1323, 'no_show': 173, 'served': 18396, 'transferred': 275}
    >>> list(ticket_export(tickets).columns[:4])
    ['网点号', '业务日期', '票号', '取号时间']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procmine.core.schema import TICKET_COLUMNS

__all__ = [
    "DEMO_DATA",
    "DEMO_TICKETS_FILE",
    "DEMO_TICKETS_MAP",
    "EXPORT_COLUMNS",
    "EXPORT_ENCODING",
    "IMPATIENT_SHARE",
    "NO_SHOW_RATE",
    "PATIENCE_MINUTES",
    "TICKET_SEED",
    "TRANSFER_RATE",
    "demo_tickets",
    "ticket_export",
    "ticket_truth",
    "write_demo_tickets",
]

#: The workspace folder of the demo's generated files, and the export's name there.
DEMO_DATA: Final = "demo-data"
DEMO_TICKETS_FILE: Final = "demo_tickets.csv"
#: The bundled mapping of the export (in ``event_logs/mappings/``).
DEMO_TICKETS_MAP: Final = "demo_tickets.yaml"

#: The random stream of the tickets (independent of the event log's).
TICKET_SEED: Final[tuple[int, int]] = (7, 14)
TRANSFER_RATE: Final[float] = 0.015
NO_SHOW_RATE: Final[float] = 0.01
#: The share of customers whose patience is limited (the others wait as long as it takes).
IMPATIENT_SHARE: Final[float] = 0.2
#: Mean patience of an impatient customer, in minutes, by segment.
PATIENCE_MINUTES: Final[dict[str, float]] = {
    "mass": 10.0, "affluent": 15.0, "private": 20.0, "corporate": 12.0,
}
_WINDOW_LETTER: Final[dict[str, str]] = {"regular": "A", "vip": "V", "corporate": "C"}

#: The export's values for the canonical ones.
OUTCOME_NAMES: Final[dict[str, str]] = {
    "served": "已办理", "abandoned": "弃号", "no_show": "过号", "transferred": "转移",
}
WINDOW_NAMES: Final[dict[str, str]] = {
    "regular": "普通窗口", "vip": "贵宾窗口", "corporate": "对公窗口",
}
SEGMENT_NAMES: Final[dict[str, str]] = {
    "mass": "普通客户", "affluent": "贵宾客户", "private": "私行客户", "corporate": "对公客户",
}
#: The export's columns, and the ticket column each holds (None: not a ticket column).
EXPORT_COLUMNS: Final[dict[str, str | None]] = {
    "网点号": "branch_id",
    "业务日期": None,
    "票号": None,
    "取号时间": "arrival_time",
    "叫号时间": "call_time",
    "开始办理时间": "service_start",
    "结束办理时间": "service_end",
    "弃号时间": None,
    "柜员号": "teller_id",
    "窗口类型": "window_type",
    "业务类型": "business_type",
    "客户类型": "segment",
    "金额": "amount",
    "状态": "outcome",
    "交易流水号": None,
}
#: The export's text encoding (the mapping says the same).
EXPORT_ENCODING: Final = "gb18030"
_TIMES: Final[tuple[str, ...]] = ("arrival_time", "call_time", "service_start", "service_end")

_CASE_COLUMNS: Final[tuple[str, ...]] = (
    "case_id", "branch_id", "teller_id", "business_type", "window_type", "segment", "amount",
    "ticket_time", "call_time", "start_time", "end_time",
)


def _cases(events: pa.Table) -> pd.DataFrame:
    """One row per transaction with a ticket, by case id; times floored to the second (a
    case's branch, teller, type, window and segment are those of its first row)."""
    table = events.select(list(_CASE_COLUMNS))
    table = table.filter(pc.is_in(table["case_id"], table.filter(
        pc.is_valid(table["ticket_time"]))["case_id"].unique()))
    table = table.set_column(9, "start_time", pc.coalesce(table["start_time"],
                                                          table["end_time"]))
    times = table.group_by("case_id").aggregate([
        ("ticket_time", "min"), ("call_time", "min"), ("start_time", "min"),
        ("end_time", "max"), ("amount", "max")])
    names = ("arrival_time", "call_time", "service_start", "service_end", "amount")
    renamed = dict(zip(("ticket_time_min", "call_time_min", "start_time_min", "end_time_max",
                        "amount_max"), names, strict=True))
    times = times.rename_columns([renamed.get(c, c) for c in times.column_names])
    rows = table.select(list(_CASE_COLUMNS[:6])).to_pandas()
    first = rows.drop_duplicates("case_id").set_index("case_id")
    cases = times.to_pandas().set_index("case_id").join(first).sort_index().reset_index()
    for col in _TIMES:
        cases[col] = pd.to_datetime(cases[col]).dt.floor("s")
    columns = ["case_id", "branch_id", *names[:4], *_CASE_COLUMNS[2:6], "amount"]
    return cases[columns]


def _opening(times: pd.Series) -> pd.Series:
    """08:30 of each time's day (the counter opens then)."""
    return times.dt.normalize() + pd.Timedelta(hours=8, minutes=30)


def _abandoned(served: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The customers who left before their call, beside the served ones (see the module)."""
    wait = (served["call_time"] - served["arrival_time"]).dt.total_seconds().to_numpy()
    mean = served["segment"].map(PATIENCE_MINUTES).fillna(8.0).to_numpy() * 60.0
    reach = 1.0 - np.exp(-wait / mean)  # P(patience < wait) for an impatient customer
    p = IMPATIENT_SHARE * reach
    count = rng.poisson(p / (1.0 - p))
    idx = np.repeat(np.arange(len(served)), count)
    # patience below the wait: exponential, truncated at the wait (inverse distribution)
    patience = np.round(-mean[idx] * np.log1p(-rng.random(idx.size) * reach[idx]), 1)
    jitter = pd.to_timedelta(np.rint(rng.uniform(-90, 90, idx.size)), unit="s")
    sib = served.iloc[idx].reset_index(drop=True)
    arrival = np.maximum(sib["arrival_time"] + jitter, _opening(sib["arrival_time"]))
    arrival = np.minimum(arrival, sib["call_time"])
    return pd.DataFrame({
        "case_id": None,
        "branch_id": sib["branch_id"],
        "arrival_time": arrival,
        "call_time": arrival + pd.to_timedelta(np.floor(patience), unit="s"),  # gave up
        "service_start": pd.NaT,
        "service_end": pd.NaT,
        "teller_id": None,
        "business_type": sib["business_type"],
        "window_type": sib["window_type"],
        "segment": sib["segment"],
        "amount": np.nan,
        "outcome": "abandoned",
        "patience_seconds": patience,
        "would_wait_seconds": wait[idx],
    })


def _no_shows(served: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Tickets called while their customer was gone: between a teller's previous customer and
    the next one (see the module)."""
    by_teller = served.sort_values(["teller_id", "call_time"], kind="stable")
    previous_end = by_teller.groupby("teller_id")["service_end"].shift()
    same_day = previous_end.dt.normalize() == by_teller["call_time"].dt.normalize()
    previous_end = previous_end.where(same_day, by_teller["call_time"] - pd.Timedelta(seconds=60))
    pick = rng.random(len(by_teller)) < NO_SHOW_RATE
    sib = by_teller[pick].reset_index(drop=True)
    before = previous_end[pick].reset_index(drop=True)
    gap = (sib["call_time"] - before).dt.total_seconds().clip(lower=0).to_numpy()
    call = before + pd.to_timedelta(np.floor(rng.random(len(sib)) * gap), unit="s")
    wait = (sib["call_time"] - sib["arrival_time"]).dt.total_seconds().to_numpy()
    taken = call - pd.to_timedelta(np.rint(wait * rng.uniform(0.6, 1.2, len(sib))), unit="s")
    arrival = np.minimum(np.maximum(taken, _opening(call)), call)
    return pd.DataFrame({
        "case_id": None,
        "branch_id": sib["branch_id"],
        "arrival_time": arrival,
        "call_time": call,
        "service_start": pd.NaT,
        "service_end": pd.NaT,
        "teller_id": sib["teller_id"],
        "business_type": sib["business_type"],
        "window_type": sib["window_type"],
        "segment": sib["segment"],
        "amount": np.nan,
        "outcome": "no_show",
    })


def demo_tickets(events: pa.Table, *, seed: tuple[int, int] = TICKET_SEED) -> pd.DataFrame:
    """The demo lobby's tickets from its event log (see the module), one row per ticket in
    branch and arrival order: the canonical ticket columns (``ticket_id`` is branch, business
    date and ticket number joined by ``-``), then ``ticket_no`` (票号), ``case_id`` (the
    transaction; None for abandoned and no-show tickets), and for abandoned tickets the
    ``patience_seconds`` they had and the ``would_wait_seconds`` they faced.
    """
    rng = np.random.default_rng(list(seed))
    served = _cases(events)
    served["outcome"] = np.where(rng.random(len(served)) < TRANSFER_RATE, "transferred", "served")
    abandoned = _abandoned(served, rng)
    no_shows = _no_shows(served, rng)
    frames = [served, abandoned, no_shows]
    tickets = pd.concat(frames, ignore_index=True)
    tickets["queue_start"] = tickets["arrival_time"]
    tickets["_case"] = tickets["case_id"].fillna("")
    tickets = tickets.sort_values(["branch_id", "arrival_time", "_case", "outcome"],
                                  kind="stable", ignore_index=True)
    day = tickets["arrival_time"].dt.strftime("%Y%m%d")
    letter = tickets["window_type"].map(_WINDOW_LETTER).fillna("A")
    number = tickets.groupby([tickets["branch_id"], day, letter]).cumcount() + 1
    tickets["ticket_no"] = letter + number.astype(str).str.zfill(3)
    tickets["ticket_id"] = tickets["branch_id"] + "-" + day + "-" + tickets["ticket_no"]
    extra = ["ticket_no", "case_id", "patience_seconds", "would_wait_seconds"]
    return tickets[[*TICKET_COLUMNS, *extra]]


def ticket_export(tickets: pd.DataFrame) -> pd.DataFrame:
    """The tickets as the queue system exports them: Chinese column names and values, times to
    the second (``YYYY-MM-DD HH:MM:SS``), empty where a stage did not happen."""
    out = pd.DataFrame(index=tickets.index)
    for name, col in EXPORT_COLUMNS.items():
        if col in _TIMES:
            out[name] = tickets[col].dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
        elif col is not None:
            out[name] = tickets[col]
    gone = tickets["outcome"] == "abandoned"
    left = tickets["call_time"].dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
    out["叫号时间"] = left.where(~gone, "")
    out["弃号时间"] = left.where(gone, "")
    out["业务日期"] = tickets["arrival_time"].dt.strftime("%Y%m%d")
    out["票号"] = tickets["ticket_no"]
    out["交易流水号"] = tickets["case_id"].fillna("")
    out["窗口类型"] = tickets["window_type"].map(WINDOW_NAMES)
    out["客户类型"] = tickets["segment"].map(SEGMENT_NAMES)
    out["状态"] = tickets["outcome"].map(OUTCOME_NAMES)
    out["金额"] = tickets["amount"].map(lambda a: "" if pd.isna(a) else f"{a:.2f}")
    out["柜员号"] = tickets["teller_id"].fillna("")
    return out[list(EXPORT_COLUMNS)]


def ticket_truth(tickets: pd.DataFrame) -> dict[str, Any]:
    """What the tickets hold by construction: counts by outcome and branch, the abandonment
    rate (of the queued) by the wait the abandoning customers faced, and the patience."""
    counts = tickets["outcome"].value_counts()
    by_branch = tickets.groupby(["branch_id", "outcome"]).size().unstack(fill_value=0)
    gone = tickets[tickets["outcome"] == "abandoned"]
    return {
        "generator": "procmine.demo.tickets",
        "seed": list(TICKET_SEED),
        "tickets": len(tickets),
        "outcomes": {k: int(counts.get(k, 0)) for k in OUTCOME_NAMES},
        "by_branch": {b: {k: int(row.get(k, 0)) for k in OUTCOME_NAMES}
                      for b, row in by_branch.iterrows()},
        "abandonment_rate": round(len(gone) / max(len(tickets), 1), 5),
        "impatient_share": IMPATIENT_SHARE,
        "patience_minutes": PATIENCE_MINUTES,
        "mean_patience_seconds_abandoned": round(float(gone["patience_seconds"].mean()), 1)
        if len(gone) else None,
        "transfer_rate": TRANSFER_RATE,
        "no_show_rate": NO_SHOW_RATE,
    }


def write_demo_tickets(events: pa.Table, out_dir: Path) -> tuple[Path, Path]:
    """Write the export (``demo_tickets.csv``, in GB18030 like the Windows tools of Chinese
    branches) and its truth (``tickets_truth.json``) into ``out_dir``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tickets = demo_tickets(events)
    csv_path, truth_path = out_dir / DEMO_TICKETS_FILE, out_dir / "tickets_truth.json"
    ticket_export(tickets).to_csv(csv_path, index=False, encoding=EXPORT_ENCODING)
    truth_path.write_text(json.dumps(ticket_truth(tickets), indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")
    return csv_path, truth_path
