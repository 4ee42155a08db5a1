"""Tests for procmine.queue.windows: waits by window type and segment, and the VIP-window
conflicts counted on hand-built tickets whose answers are known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from demo_kit import copy_demo_workspace
from ticket_rows import at, write_tickets

from procmine.core.errors import ProcmineError
from procmine.queue.measures import QueueFilter
from procmine.queue.windows import window_report
from procmine.store.event_store import EventStore


def _ticket(ticket_id: str, segment: str, window: str, queued: str, called: str,
            ended: str | None, *, branch: str = "B01", outcome: str = "served") -> dict[str, Any]:
    return {"ticket_id": ticket_id, "branch_id": branch, "arrival_time": at(queued),
            "queue_start": at(queued), "call_time": at(called),
            "service_start": at(called) if ended else None,
            "service_end": at(ended) if ended else None, "teller_id": "0101",
            "business_type": "P01", "window_type": window, "segment": segment,
            "amount": None, "outcome": outcome}


# B01, 2026-10-05 (see each line for why it counts or not):
TICKETS = [
    # VIP window calls mass M1 at 10:10 while VIP V1 (queued 10:05) waits: a conflict
    _ticket("M1", "mass", "vip", "10:00", "10:10", "10:15"),
    _ticket("V1", "affluent", "vip", "10:05", "10:20", "10:30"),
    # VIP window calls mass M2 at 10:30 while VIP V5 waits (gives up at 10:33): a conflict
    _ticket("M2", "mass", "vip", "10:00", "10:30", "10:34"),
    _ticket("V5", "private", "vip", "10:26", "10:33", None, outcome="abandoned"),
    # V2 served at once; mass M3 called at 10:45 with no VIP waiting: no conflict
    _ticket("V2", "private", "vip", "10:35", "10:36", "10:40"),
    _ticket("M3", "mass", "vip", "10:42", "10:45", "10:50"),
    # regular window calls VIP V3 at 10:41 while regular R1 has waited 16 min: the reverse
    _ticket("R1", "mass", "regular", "10:25", "10:50", "10:55"),
    _ticket("V3", "affluent", "regular", "10:40", "10:41", "10:44"),
    # regular window calls VIP V6 at 10:52: R2 has waited 7 min only (R1 called 10:50): no
    _ticket("R2", "mass", "regular", "10:45", "10:55", "10:58"),
    _ticket("V6", "private", "regular", "10:50", "10:52", "10:56"),
    # another branch's VIP waiting (V4 queued 10:00, called 10:40) never counts for B01
    _ticket("V4", "affluent", "vip", "10:00", "10:40", "10:45", branch="B02"),
]


@pytest.fixture
def hand_store(tmp_path: Path) -> EventStore:
    store = EventStore(tmp_path / "workspace")
    write_tickets(store, TICKETS)
    return store


def test_conflicts_counted_per_ticket(hand_store: EventStore) -> None:
    report = window_report(hand_store)
    assert report.source == "tickets"
    assert report.vip_window_served == 6          # M1, M2, M3, V1, V2 and B02's V4
    assert report.vip_window_nonvip == 3          # M1, M2, M3
    assert report.vip_window_nonvip_while_vip_waited == 2   # M1 (V1), M2 (V5)
    assert report.regular_window_vip == 2         # V3, V6
    assert report.regular_window_vip_while_regular_waited == 1   # V3 (R1 16 min > 10)


def test_conflicts_per_interval_and_peaks(hand_store: EventStore) -> None:
    report = window_report(hand_store)
    frame = report.intervals.set_index(["branch_id", "interval_of_day"])
    # B01 10:00 holds M1 (600 s), M2 (1800 s), V1 (900 s): mean 1100 s > 600 s, a peak
    assert frame.loc[("B01", 600), "mean_wait_seconds"] == pytest.approx(1100)
    assert bool(frame.loc[("B01", 600), "peak"])
    assert frame.loc[("B01", 600), "nonvip_while_vip_waited"] == 2
    assert frame.loc[("B01", 630), "vip_while_regular_waited"] == 1   # V3 queued 10:40
    assert not bool(frame.loc[("B01", 630), "peak"])
    assert not bool(frame.loc[("B01", 645), "peak"])   # V6 120 s, R2 600 s (not over)
    # peaks: B01 10:00, B01 10:15 (R1 25 min), B02 10:00 (V4 40 min)
    assert report.peak_intervals == 3
    assert report.vip_window_nonvip_while_vip_waited_at_peaks == 2
    assert report.regular_window_vip_while_regular_waited_at_peaks == 0
    branches = report.by_branch.set_index("branch_id")
    assert branches.loc["B01", "nonvip_while_vip_waited_intervals"] == 1
    assert branches.loc["B01", "nonvip_while_vip_waited_peak_intervals"] == 1
    assert branches.loc["B01", "vip_while_regular_waited_intervals"] == 1
    assert branches.loc["B01", "vip_while_regular_waited_peak_intervals"] == 0
    assert branches.loc["B02", "nonvip_while_vip_waited"] == 0


def test_nonvip_share_of_vip_window_time(hand_store: EventStore) -> None:
    report = window_report(hand_store)
    # VIP windows served M1 300 s, M2 240 s, M3 300 s, V1 600 s, V2 240 s, V4 300 s
    assert report.nonvip_time_share == pytest.approx(840 / 1980)
    # at peaks (B01 10:00: M1, M2, V1; B02 10:00: V4)
    assert report.nonvip_time_share_at_peaks == pytest.approx(540 / 1440)
    b01 = report.by_branch.set_index("branch_id").loc["B01"]
    assert b01["nonvip_time_share"] == pytest.approx(840 / 1680)
    assert b01["nonvip_time_share_at_peaks"] == pytest.approx(540 / 1140)


def test_waits_by_window_and_segment(hand_store: EventStore) -> None:
    frame = window_report(hand_store).by_window_segment.set_index(["window_type", "segment"])
    # VIP window, mass: M1 600, M2 1800, M3 180 (the abandoned V5 is not served)
    assert frame.loc[("vip", "mass"), "served"] == 3
    assert frame.loc[("vip", "mass"), "mean_wait_seconds"] == pytest.approx(860)
    assert frame.loc[("vip", "mass"), "median_wait_seconds"] == pytest.approx(600)
    assert frame.loc[("vip", "mass"), "service_level"] == pytest.approx(2 / 3)
    assert frame.loc[("vip", "private"), "served"] == 1
    assert frame.loc[("regular", "mass"), "mean_service_seconds"] == pytest.approx(240)


def test_target_and_definitions_are_configurable(hand_store: EventStore) -> None:
    # a 20-minute target: R1 had waited 16 min at 10:41, not over it; peaks: B01 10:15
    # (1500 s) and B02 10:00 (2400 s), not B01 10:00 (1100 s)
    report = window_report(hand_store, QueueFilter(target_wait=1200))
    assert report.regular_window_vip_while_regular_waited == 0
    assert report.peak_intervals == 2
    # private customers only are VIPs: V1 waiting no longer counts, V5 still does
    report = window_report(hand_store, vip_segments=("private",))
    assert report.vip_window_nonvip == 5          # M1, M2, M3, V1, V4 (affluent: non-VIP)
    assert report.vip_window_nonvip_while_vip_waited == 1   # M2 (V5)
    one = window_report(hand_store, QueueFilter(branch="B02"))
    assert one.vip_window_served == 1 and one.by_branch["branch_id"].tolist() == ["B02"]
    with pytest.raises(ProcmineError, match="both a VIP window and a regular"):
        window_report(hand_store, regular_windows=("regular", "vip"))


def test_to_dict_is_json(hand_store: EventStore) -> None:
    data = window_report(hand_store).to_dict()
    text = json.dumps(data)
    assert json.loads(text)["vip_window_nonvip_while_vip_waited"] == 2
    assert data["vip_segments"] == ["affluent", "private"]
    assert {r["branch_id"] for r in data["by_branch"]} == {"B01", "B02"}


def test_command(hand_store: EventStore) -> None:
    from typer.testing import CliRunner

    from procmine.cli.main import app

    runner = CliRunner()
    home = str(hand_store.home)
    result = runner.invoke(app, ["windows", "--branch", "B01", "--json", "--home", home])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["vip_window_served"], data["vip_window_nonvip_while_vip_waited"]) == (5, 2)
    assert data["regular_window_vip_while_regular_waited"] == 1
    private = runner.invoke(app, ["windows", "--vip-segments", "private", "--json",
                                  "--home", home])
    assert json.loads(private.stdout)["vip_window_nonvip"] == 5
    table = runner.invoke(app, ["windows", "--home", home], env={"COLUMNS": "160"})
    assert table.exit_code == 0 and "non-VIP served at a VIP window" in table.stdout


def test_demo_counts_match_pandas(tmp_path_factory: pytest.TempPathFactory) -> None:
    """On the demo workspace, the VIP-window counts equal an independent pandas count."""
    from procmine.store.engine import DuckDBEngine

    home = tmp_path_factory.mktemp("windows") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    store = EventStore(home)
    report = window_report(store, QueueFilter(source="events"))
    events = DuckDBEngine(store).query(
        "SELECT case_id, window_type, segment, ticket_time, call_time, start_time, end_time "
        "FROM events WHERE ticket_time IS NOT NULL")
    cases = events.groupby("case_id").agg(window_type=("window_type", "first"),
                                          segment=("segment", "first"))
    vip_window = cases["window_type"] == "vip"
    nonvip = ~cases["segment"].isin(["affluent", "private"])
    assert report.vip_window_served == int(vip_window.sum())
    assert report.vip_window_nonvip == int((vip_window & nonvip).sum())
    assert report.regular_window_vip == int(((cases["window_type"] == "regular")
                                             & ~nonvip).sum())
    assert 0 < report.vip_window_nonvip_while_vip_waited <= report.vip_window_nonvip
    assert isinstance(report.intervals, pd.DataFrame) and report.peak_intervals > 0
