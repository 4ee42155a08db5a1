"""The demo's queues: arrival peaks, waits, the branch short at lunch, VIP windows at peaks, and
the queue-system export derived from the log (procmine.demo.tickets), checked against the
events it comes from and against what it was built to hold."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from procmine.core.paths import bundled_path
from procmine.core.schema import TICKET_COLUMNS
from procmine.demo.model import peak_hours
from procmine.demo.tickets import (
    EXPORT_COLUMNS,
    IMPATIENT_SHARE,
    PATIENCE_MINUTES,
    demo_tickets,
    ticket_export,
    ticket_truth,
)

TRUTH = json.loads(bundled_path("event_logs", "demo_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return pq.read_table(bundled_path("event_logs", "demo_events.parquet")).to_pandas()


@pytest.fixture(scope="module")
def cases(events: pd.DataFrame) -> pd.DataFrame:
    """One row per transaction, with its queue times (independently of the generator)."""
    c = events.groupby("case_id").agg(
        branch_id=("branch_id", "first"), teller_id=("teller_id", "first"),
        business_type=("business_type", "first"), window_type=("window_type", "first"),
        segment=("segment", "first"), amount=("amount", "max"),
        ticket_time=("ticket_time", "min"), call_time=("call_time", "min"),
        first_start=("start_time", "min"), last_end=("end_time", "max"))
    c["wait_min"] = (c["call_time"] - c["ticket_time"]).dt.total_seconds() / 60
    c["half_hour"] = c["ticket_time"].dt.strftime("%H:") + np.where(
        c["ticket_time"].dt.minute < 30, "00", "30")
    return c


@pytest.fixture(scope="module")
def tickets() -> pd.DataFrame:
    return demo_tickets(pq.read_table(bundled_path("event_logs", "demo_events.parquet")))


# --- the queue story of the event log ----------------------------------------------------------


def test_arrivals_peak_at_opening_lunch_and_late_afternoon(cases: pd.DataFrame) -> None:
    assert TRUTH["queue"]["arrival_peaks"] == peak_hours() == [
        "09:00-10:30", "12:00-13:30", "16:00-17:00"]
    per = cases.groupby("half_hour").size()
    days = cases["ticket_time"].dt.date.nunique()
    opening = per[["09:00", "09:30", "10:00"]].mean()
    lunch = per[["12:00", "12:30", "13:00"]].mean()
    late = per[["15:30", "16:00"]].mean()  # arrivals after 16:30 are cut by long services
    quiet = per[["11:00", "14:00", "14:30"]].mean()
    assert min(opening, lunch, late) > 1.2 * quiet, per.to_dict()
    assert per.sum() == len(cases) and days == TRUTH["span"]["business_days"]


def test_waits_grow_at_the_peaks(cases: pd.DataFrame) -> None:
    median = cases.groupby("half_hour")["wait_min"].median()
    quiet = median[["14:00", "14:30"]].mean()
    for peak in ("09:30", "10:00", "12:00", "12:30", "16:00"):
        assert median[peak] > 1.5 * quiet, (peak, median.to_dict())


def test_the_branch_short_at_lunch_has_the_longest_lunch_waits(cases: pd.DataFrame) -> None:
    short = TRUTH["queue"]["short_at_lunch"]
    assert short == "B01"
    assert TRUTH["queue"]["lunch_break_starts"] == {"short_at_lunch": "11:45-12:15",
                                                    "other_branches": "11:00-13:45"}
    lunch = cases[cases["half_hour"].isin(["12:00", "12:30"])]
    wait = lunch.groupby("branch_id")["wait_min"].mean()
    assert wait.idxmax() == short
    assert wait[short] > 1.25 * wait.drop(short).max(), wait.to_dict()
    # and outside lunch it is an ordinary branch
    afternoon = cases[cases["half_hour"].isin(["14:30", "15:00"])]
    other = afternoon.groupby("branch_id")["wait_min"].mean()
    assert other[short] < 1.25 * other.drop(short).median(), other.to_dict()
    # its tellers are away together: at 12:30 fewer of them are serving a customer
    day = cases["call_time"].dt.normalize()
    noon = day + pd.Timedelta(hours=12, minutes=30)
    serving = cases[(cases["call_time"] <= noon) & (cases["last_end"] >= noon)]
    per_day = serving.groupby(["branch_id", day[serving.index]])["teller_id"].nunique()
    busy = per_day.unstack(fill_value=0).mean(axis=1)
    assert busy.idxmin() == short and busy[short] < 0.7 * busy.drop(short).min(), busy.to_dict()


def test_vip_windows_serve_other_customers_at_peaks(cases: pd.DataFrame) -> None:
    peaks = peak_hours()

    def in_peak(hh: str) -> bool:
        return any(r[:5] <= hh < r[6:] for r in peaks)

    called = cases["call_time"].dt.strftime("%H:") + np.where(
        cases["call_time"].dt.minute < 30, "00", "30")
    peak = called.map(in_peak)
    mass = cases[cases["segment"] == "mass"]
    at_vip = (mass["window_type"] == "vip").groupby(peak[mass.index]).mean()
    assert at_vip[True] > 1.6 * at_vip[False], at_vip.to_dict()
    affluent = cases[cases["segment"] == "affluent"]
    at_regular = (affluent["window_type"] == "regular").groupby(peak[affluent.index]).mean()
    assert at_regular[True] > 1.15 * at_regular[False], at_regular.to_dict()
    probability = TRUTH["queue"]["vip_window_probability_at_peaks"]
    assert (probability["mass"], probability["affluent"]) == (0.08, 0.3)


# --- the ticket export -------------------------------------------------------------------------


def test_every_transaction_is_a_served_or_transferred_ticket_with_its_times(
        tickets: pd.DataFrame, cases: pd.DataFrame) -> None:
    assert list(tickets.columns[:len(TICKET_COLUMNS)]) == list(TICKET_COLUMNS)
    assert tickets["ticket_id"].is_unique
    done = tickets[tickets["outcome"].isin(["served", "transferred"])].set_index("case_id")
    assert done.index.is_unique and set(done.index) == set(cases.index)
    c = cases.loc[done.index]
    for ticket_col, case_col in (("arrival_time", "ticket_time"), ("queue_start", "ticket_time"),
                                 ("call_time", "call_time"), ("service_start", "first_start"),
                                 ("service_end", "last_end")):
        assert (done[ticket_col] == c[case_col].dt.floor("s")).all(), ticket_col
    for col in ("branch_id", "teller_id", "business_type", "window_type", "segment"):
        assert (done[col] == c[col]).all(), col
    assert done["amount"].equals(c["amount"])
    assert 0.01 < (done["outcome"] == "transferred").mean() < 0.02


def test_abandoned_and_no_show_tickets_have_no_transaction(tickets: pd.DataFrame) -> None:
    gone = tickets[tickets["outcome"] == "abandoned"]
    assert gone["case_id"].isna().all() and gone["teller_id"].isna().all()
    assert gone[["service_start", "service_end"]].isna().all().all()
    # given up (the canonical call_time of an abandoned ticket) once their patience ran out
    left = (gone["call_time"] - gone["arrival_time"]).dt.total_seconds()
    assert (left == np.floor(gone["patience_seconds"])).all()
    assert gone["amount"].isna().all()
    assert (gone["patience_seconds"] < gone["would_wait_seconds"]).all()
    assert (gone["patience_seconds"] > 0).all()
    minutes = (gone["arrival_time"].dt.hour * 60 + gone["arrival_time"].dt.minute)
    assert (minutes >= 8 * 60 + 30).all()
    absent = tickets[tickets["outcome"] == "no_show"]
    assert absent["case_id"].isna().all() and absent["teller_id"].notna().all()
    assert absent[["service_start", "service_end"]].isna().all().all()
    assert (absent["arrival_time"] <= absent["call_time"]).all()
    assert 100 < len(absent) < 300
    # the teller called the absent customer between two customers of their own
    served = tickets[tickets["case_id"].notna()]
    for _, t in absent.head(40).iterrows():
        own = served[(served["teller_id"] == t["teller_id"])
                     & (served["service_start"].dt.date == t["call_time"].date())]
        assert not ((own["service_start"] < t["call_time"])
                    & (own["service_end"] > t["call_time"])).any()


def test_abandonment_grows_with_the_wait(tickets: pd.DataFrame) -> None:
    """Per branch x window x hour of a day: the share who gave up rises with the wait the
    served customers had there."""
    t = tickets.copy()
    t["hour"] = t["arrival_time"].dt.floor("h")
    t["wait"] = (t["call_time"] - t["arrival_time"]).dt.total_seconds().where(
        t["case_id"].notna())
    groups = t.groupby(["branch_id", "window_type", "hour"]).agg(
        queued=("ticket_id", "size"), abandoned=("outcome", lambda s: (s == "abandoned").sum()),
        wait=("wait", "mean"))
    groups = groups[groups["queued"] >= 10]
    groups["rate"] = groups["abandoned"] / groups["queued"]
    tercile = pd.qcut(groups["wait"], 3, labels=["short", "middle", "long"])
    rate = groups.groupby(tercile, observed=True)["rate"].mean()
    assert rate["short"] < rate["middle"] < rate["long"], rate.to_dict()
    assert rate["long"] > 1.3 * rate["short"]
    assert groups["rate"].corr(groups["wait"], method="spearman") > 0.3
    # the expected share by construction, against what came out
    done = t[t["case_id"].notna()]
    mean = done["segment"].map(PATIENCE_MINUTES) * 60
    p = IMPATIENT_SHARE * (1 - np.exp(-done["wait"] / mean))
    expected = (p / (1 - p)).sum()
    assert (t["outcome"] == "abandoned").sum() == pytest.approx(expected, rel=0.05)


def test_the_export_reads_like_a_queue_system(tickets: pd.DataFrame) -> None:
    export = ticket_export(tickets)
    assert list(export.columns) == list(EXPORT_COLUMNS) == [
        "网点号", "业务日期", "票号", "取号时间", "叫号时间", "开始办理时间", "结束办理时间",
        "弃号时间", "柜员号", "窗口类型", "业务类型", "客户类型", "金额", "状态", "交易流水号"]
    assert set(export["状态"]) == {"已办理", "弃号", "过号", "转移"}
    assert set(export["窗口类型"]) == {"普通窗口", "贵宾窗口", "对公窗口"}
    assert set(export["客户类型"]) == {"普通客户", "贵宾客户", "私行客户", "对公客户"}
    assert export["票号"].str.fullmatch(r"[AVC]\d{3}").all()
    rebuilt = export["网点号"] + "-" + export["业务日期"] + "-" + export["票号"]
    assert rebuilt.equals(tickets["ticket_id"])
    first = export.iloc[0]
    assert first["取号时间"] == tickets["arrival_time"].iloc[0].strftime("%Y-%m-%d %H:%M:%S")
    gone = export[export["状态"] == "弃号"]
    assert (gone[["叫号时间", "开始办理时间", "柜员号", "金额", "交易流水号"]] == "").all().all()
    others = export.index.difference(gone.index)
    assert (gone["弃号时间"] != "").all() and (export.loc[others, "弃号时间"] == "").all()
    assert export["柜员号"].str.fullmatch(r"(\d{4})?").all()


def test_the_tickets_are_deterministic_and_their_truth_adds_up(tickets: pd.DataFrame) -> None:
    again = demo_tickets(pq.read_table(bundled_path("event_logs", "demo_events.parquet")))
    pd.testing.assert_frame_equal(tickets, again)
    truth = ticket_truth(tickets)
    assert truth["tickets"] == len(tickets) == sum(truth["outcomes"].values())
    assert truth["outcomes"]["served"] + truth["outcomes"]["transferred"] == TRUTH["transactions"]
    assert sum(b["abandoned"] for b in truth["by_branch"].values()) == truth["outcomes"][
        "abandoned"]
    assert 0.08 < truth["abandonment_rate"] < 0.2


# --- the demo workspace: the export ingested through the ticket ingest -------------------------


def test_the_demo_workspace_holds_the_export_ingested_whole(demo_workspace: dict,
                                                           tickets: pd.DataFrame) -> None:
    from procmine.demo.tickets import DEMO_DATA
    from procmine.queue.tickets import resolve_source

    store = demo_workspace["store"]
    assert store.has_tickets() and resolve_source(store) == "tickets"
    [batch] = [b for b in store.batches() if b.get("kind") == "tickets"]
    assert (batch["read"], batch["loaded"], batch["quarantined"]) == (len(tickets), len(tickets), 0)
    folder = demo_workspace["home"] / DEMO_DATA
    export = pd.read_csv(folder / "demo_tickets.csv", encoding="gb18030", dtype=str)
    assert len(export) == len(tickets) and export.columns[0] == "网点号"
    truth = json.loads((folder / "tickets_truth.json").read_text(encoding="utf-8"))
    assert truth == json.loads(json.dumps(ticket_truth(tickets)))
    con = store.connect()
    try:
        stored = con.execute(f"SELECT {', '.join(TICKET_COLUMNS)} FROM tickets "
                             "ORDER BY source_row").df()
    finally:
        con.close()
    expected = tickets[list(TICKET_COLUMNS)]
    for col in TICKET_COLUMNS:
        left, right = stored[col], expected[col]
        if col in ("arrival_time", "queue_start", "call_time", "service_start", "service_end"):
            assert (left.isna() == right.isna()).all() and (left.dropna() == right.dropna()).all()
        elif col == "amount":
            assert np.allclose(left.astype(float), right.astype(float), equal_nan=True)
        else:
            assert list(left.fillna("-")) == list(right.fillna("-")), col


def test_a_demo_workspace_without_tickets_gets_them_when_completed(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine.app import appdb
    from procmine.demo.workspace import build_demo_workspace
    from procmine.store.event_store import EventStore

    monkeypatch.delenv(appdb.DB_URL_ENV, raising=False)
    home = tmp_path_factory.mktemp("demo-queue") / "workspace"
    report = build_demo_workspace(home)
    assert report is not None and report.kind == "events"
    store = EventStore(home)
    [batch] = [b for b in store.batches() if b.get("kind") == "tickets"]
    store.remove_batch(batch["batch_id"])  # a demo workspace built before the tickets
    assert not store.has_tickets()
    assert build_demo_workspace(home) is None  # completed: the events stay, tickets come back
    assert store.has_tickets() and store.info().events == report.loaded
    appdb.close_engines()


def _while_waiting(at: pd.DataFrame, queue: pd.DataFrame) -> pd.Series:
    """For each ticket of ``at``: whether a customer of ``queue`` at its branch had taken a
    ticket and was not yet called when it was called."""
    result = pd.Series(False, index=at.index)
    for (branch, day), group in at.groupby(["branch_id", at["call_time"].dt.date]):
        q = queue[(queue["branch_id"] == branch) & (queue["call_time"].dt.date == day)]
        taken = np.sort(q["arrival_time"].to_numpy())
        called = np.sort(q["call_time"].to_numpy())
        c = group["call_time"].to_numpy()
        waiting = np.searchsorted(taken, c, side="right") - np.searchsorted(called, c,
                                                                            side="right")
        result[group.index] = waiting > 0
    return result


def test_vip_windows_serve_others_while_vips_wait_mostly_at_peaks(tickets: pd.DataFrame) -> None:
    done = tickets[tickets["case_id"].notna()]
    vip = done["segment"].isin(["affluent", "private"])
    personal = done["segment"] != "corporate"
    called = done["call_time"].dt.strftime("%H:%M")
    peak = pd.Series(False, index=done.index)
    for run in peak_hours():
        peak |= (called >= run[:5]) & (called < run[6:])
    # VIP windows serving non-VIP customers while VIP customers wait
    others_at_vip = done[(done["window_type"] == "vip") & ~vip]
    hit = _while_waiting(others_at_vip, done[vip])
    at_peak, off_peak = hit[peak[hit.index]], hit[~peak[hit.index]]
    assert at_peak.sum() > 1.5 * off_peak.sum() and at_peak.mean() > 0.85, (
        at_peak.sum(), off_peak.sum())
    # and the reverse: regular windows serving VIP customers while regular customers wait
    vips_at_regular = done[(done["window_type"] == "regular") & vip]
    hit = _while_waiting(vips_at_regular, done[personal & ~vip])
    assert hit[peak[hit.index]].sum() > 1.2 * hit[~peak[hit.index]].sum()
