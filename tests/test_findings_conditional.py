"""Conditional slow steps (procmine.analysis.conditional): tellers slow at one step only from
15:00 are found in that slice and nowhere else, logs without such slowness (tellers' own habits
up to 1.25x included) have none, a slice slow for everyone is no one's finding, a finding that
holds all day is not repeated per slice, and Spark finds the same."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.analysis.conditional import _strongest, without_all_day
from procmine.analysis.findings import Finding
from procmine.analysis.judging import MONTH_DAYS
from procmine.core.baseline import Baseline
from procmine.demo import DemoConfig, write_demo_data
from procmine.ingest.run import ingest_log
from procmine.sop.links import workspace_references
from procmine.store.engine import Engine, get_engine
from procmine.store.event_store import EventStore

#: (seed, events, conditional slow steps, completion-only): several seeds and sizes; the
#: injection needs about 400,000 events for 60 cases in the closing band
LOGS = ((31, 400_000, 3, False), (32, 500_000, 3, False), (37, 400_000, 2, True))

Log = tuple[EventStore, dict[str, Any], list[Finding], Path]


def _key(item: Finding | dict[str, Any]) -> tuple[Any, ...]:
    """An expected finding's key (contract): kind, scope, who, type, step, condition."""
    data = item.to_dict() if isinstance(item, Finding) else {"kind": "step", **item}
    who = data["teller_id"] if data["scope"] == "teller" else data["branch_id"]
    condition = data.get("condition")
    return (data["kind"], data["scope"], who, data["business_type"], data["activity"],
            (condition["dimension"], condition["value"]) if condition else None)


def _write(folder: Path, config: DemoConfig) -> tuple[EventStore, dict[str, Any], Path]:
    result = write_demo_data(folder, config, fmt="parquet")
    store = EventStore(folder / "ws")
    ingest_log(store, result.events_path)
    truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
    return store, truth, result.events_path


@pytest.fixture(scope="module")
def conditional_logs(tmp_path_factory: pytest.TempPathFactory, baseline: Baseline) -> list[Log]:
    logs = []
    for seed, events, slow, completion_only in LOGS:
        folder = tmp_path_factory.mktemp(f"conditional-{seed}")
        store, truth, path = _write(folder, DemoConfig(
            events=events, seed=seed, conditional_slow=slow, completion_only=completion_only))
        logs.append((store, truth, find_bottlenecks(store, baseline), path))
    return logs


def _conditional(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.condition is not None]


@pytest.mark.parametrize("index", range(len(LOGS)), ids=[f"seed{s}-{e}" for s, e, *_ in LOGS])
def test_every_conditional_slow_step_is_found_in_its_slice_and_nothing_else(
        conditional_logs: list[Log], index: int) -> None:
    _, truth, findings, _ = conditional_logs[index]
    injected = {_key(s) for s in truth["conditional_slow_steps"]}
    assert len(injected) == LOGS[index][2]
    found = [_key(f) for f in _conditional(findings)]
    assert len(found) == len(set(found))
    assert not injected - set(found), f"missed {injected - set(found)}; found {found}"
    # no extra is explained by the truth: a slice of an injected all-day slow step would be,
    # but it holds all day and is dropped
    extra = [f for f in _conditional(findings) if _key(f) not in injected]
    assert (len(found) - len(extra)) / len(found) >= 0.95, f"extra {extra}"
    # the all-day slow steps are still found, as all-day findings
    all_day = {_key(f) for f in findings if f.condition is None}
    assert {_key(s) for s in truth["slow_steps"]} <= all_day


def test_a_conditional_finding_carries_its_slice_figures(conditional_logs: list[Log],
                                                         baseline: Baseline) -> None:
    """The figures of each conditional finding from the raw log: the group's steps from 15:00,
    their median, cases, time lost beyond the reference, the peers in the same slice, the
    period; and the finding's shape."""
    store, truth, findings, path = conditional_logs[0]
    events = pq.read_table(path).to_pandas()
    events["seconds"] = (events["end_time"] - events["start_time"]).dt.total_seconds()
    late = events[events["start_time"].dt.hour >= 15]
    for finding in _conditional(findings):
        assert finding.kind == "step" and finding.scope == "teller"
        assert finding.condition == {"dimension": "hour_band", "value": "closing"}
        assert "after 15:00" in finding.summary and not finding.inferred
        pair = late[(late["business_type"] == finding.business_type)
                    & (late["activity"] == finding.activity)]
        mine = pair[pair["teller_id"] == finding.teller_id]
        assert finding.steps == len(mine) and finding.cases == mine["case_id"].nunique()
        assert finding.median_seconds == pytest.approx(mine["seconds"].median(), abs=1e-3)
        assert finding.bank_median_seconds == pytest.approx(pair["seconds"].median(), abs=1e-3)
        reference = finding.reference_seconds
        assert finding.reference_source == "baseline share"
        assert finding.ratio == pytest.approx(finding.median_seconds / reference, abs=1e-3)
        assert finding.ratio_ci is not None
        assert finding.ratio_ci[0] <= finding.ratio <= finding.ratio_ci[1]
        assert finding.ratio_ci[0] >= 1.25 and finding.ratio_ci[1] >= 1.5
        per_case = mine.groupby("case_id")["seconds"].sum()
        lost = float(np.maximum(per_case - reference, 0).sum())
        assert finding.time_lost_seconds == pytest.approx(lost, abs=0.5)
        assert finding.peer_seconds == pytest.approx(_slice_peer(pair, finding), abs=1e-3)
        assert finding.median_seconds >= 1.25 * max(1.0, finding.pace) * finding.peer_seconds
        branch = events[events["branch_id"] == finding.branch_id]["start_time"].dt.normalize()
        days = (branch.max() - branch.min()).days + 1
        assert finding.period_days == days
        assert finding.monthly_teller_hours == pytest.approx(
            lost / 3600 / (days / MONTH_DAYS), abs=0.01)
        assert finding.q_value <= 0.05
        assert json.loads(json.dumps(finding.to_dict()))["condition"] == finding.condition
    assert ({f.teller_id for f in _conditional(findings)}
            == {s["teller_id"] for s in truth["conditional_slow_steps"]})
    # an SOP standard of the same seconds in force on every date: the same slices, "sop"
    sops = {(f.business_type, f.activity): f.reference_seconds for f in _conditional(findings)}
    with_sops = _conditional(find_bottlenecks(store, baseline, step_references=sops))
    assert [_key(f) for f in with_sops] == [_key(f) for f in _conditional(findings)]
    for finding in with_sops:
        assert finding.reference_source == "sop"
        assert finding.reference_seconds == pytest.approx(
            sops[finding.business_type, finding.activity], abs=1e-3)


def _slice_peer(pair: pd.DataFrame, finding: Finding) -> float:
    """What peers do in the slice, by hand: each branch's step-weighted median of its tellers'
    medians (tellers with 5 steps or more), the median over the other branches."""
    tellers = pair.groupby(["branch_id", "teller_id"])["seconds"].agg(["count", "median"])
    tellers = tellers[tellers["count"] >= 5].reset_index().sort_values(["branch_id", "median"])
    typical = {}
    for branch, part in tellers.groupby("branch_id"):
        cumulative = part["count"].cumsum()
        typical[branch] = float(part["median"][cumulative >= part["count"].sum() / 2].iloc[0])
    others = [v for b, v in typical.items() if b != finding.branch_id]
    return float(np.median(others if len(others) >= 2 else list(typical.values())))


def test_a_completion_only_log_says_its_slice_times_are_inferred(
        conditional_logs: list[Log]) -> None:
    _, truth, findings, _ = conditional_logs[2]
    assert truth["completion_only"]
    assert _conditional(findings) and all(f.inferred for f in _conditional(findings))
    assert all("inferred" in f.summary for f in _conditional(findings))


def test_no_conditional_finding_without_conditional_slowness(
        tmp_path: Path, baseline: Baseline) -> None:
    """Tellers' own habits up to 1.25x and nothing injected; then the usual all-day slow steps
    with habits: no slice is anyone's finding."""
    store, truth, _ = _write(tmp_path / "quiet", DemoConfig(
        events=500_000, seed=42, habits=1.25, slow_steps=0, branch_slow_steps=0))
    assert truth["habits"] == 1.25 and truth["conditional_slow_steps"] == []
    assert _conditional(find_bottlenecks(store, baseline)) == []
    store, truth, _ = _write(tmp_path / "habits", DemoConfig(events=300_000, seed=41,
                                                             habits=1.25))
    assert truth["slow_steps"]
    findings = find_bottlenecks(store, baseline)
    assert findings and _conditional(findings) == []


def test_a_wrong_standard_leaves_no_slice_of_its_own(tmp_path: Path,
                                                   baseline: Baseline) -> None:
    """P18's standard twice what the bank really takes: the all-day slow branch and tellers on
    P18 sit at about 1x of the reference and make no all-day findings, but none of their slices
    (large amounts take everyone longer) is a conditional finding; the closing-hour tellers on
    the other types are found (those on P18 are the baseline review's to judge against peers)."""
    store, truth, _ = _write(tmp_path / "log", DemoConfig(
        events=900_000, seed=66, conditional_slow=5, habits=1.25,
        wrong_standards=(("P18", 0.5),)))
    injected = {_key(s) for s in truth["conditional_slow_steps"]}
    found = {_key(f) for f in _conditional(find_bottlenecks(store, baseline))}
    assert found <= injected
    assert {k for k in injected if k[3] != "P18"} <= found


def test_a_slice_slow_for_everyone_is_no_finding(tmp_path: Path, baseline: Baseline) -> None:
    """Every teller twice as slow at P17 "Enter transaction" from 15:00 (the peers in the slice
    are as slow), one teller 2.5 times slower than that at "Count cash" from 15:00: only the
    teller is a finding."""
    _, _, path = _write(tmp_path / "log", DemoConfig(events=400_000, seed=31))
    table = pq.read_table(path)
    frame = table.select(["teller_id", "business_type", "activity", "start_time",
                          "end_time"]).to_pandas()
    late = frame["start_time"].dt.hour >= 15
    everyone = late & (frame["business_type"] == "P17") & (frame["activity"] == "Enter transaction")
    teller = late & (frame["business_type"] == "P17") & (frame["activity"] == "Count cash") & (
        frame["teller_id"] == "0102")
    factor = np.where(everyone, 2.0, np.where(teller, 2.5, 1.0))
    end = frame["start_time"] + (frame["end_time"] - frame["start_time"]) * factor
    table = table.set_column(table.column_names.index("end_time"), "end_time",
                             pa.array(end.to_numpy(), pa.timestamp("ms")))
    pq.write_table(table, tmp_path / "late.parquet")
    store = EventStore(tmp_path / "ws-late")
    ingest_log(store, tmp_path / "late.parquet")
    found = [_key(f) for f in _conditional(find_bottlenecks(store, baseline))]
    assert found == [("step", "teller", "0102", "P17", "Count cash", ("hour_band", "closing"))]


#: Slices of the other dimensions, injected by hand: (dimension, value, the steps in it)
OTHER_SLICES = (
    ("amount_band", "20,000-49,999", lambda f: (f["amount"] >= 20_000) & (f["amount"] < 50_000)),
    ("weekday", "sat", lambda f: f["start_time"].dt.day_of_week == 5),
    ("hour_band", "opening", lambda f: f["start_time"].dt.hour < 10),
)


def test_slices_of_every_dimension_are_found(conditional_logs: list[Log], tmp_path: Path,
                                             baseline: Baseline) -> None:
    """Three more tellers 2.5 times slower at one step only on amounts of 20,000-49,999, only
    on Saturdays, only before 10:00 (each where the slice holds at most a third of the group's
    steps): each is found in its slice, with the log's own closing-hour tellers, and nothing
    else."""
    _, truth, _, path = conditional_logs[0]
    table = pq.read_table(path)
    frame = table.select(["teller_id", "business_type", "activity", "amount", "start_time",
                          "end_time"]).to_pandas()
    taken = {s["teller_id"] for s in truth["slow_steps"] + truth["conditional_slow_steps"]
             if s["teller_id"]}
    factor = np.ones(len(frame))
    expected = {_key(s) for s in truth["conditional_slow_steps"]}
    group = ["teller_id", "business_type", "activity"]
    for dimension, value, inside in OTHER_SLICES:
        steps = frame.assign(inside=inside(frame))
        sizes = steps.groupby(group)["inside"].agg(["sum", "size"]).reset_index()
        sizes = sizes[(3 * sizes["sum"] <= sizes["size"]) & ~sizes["teller_id"].isin(taken)
                      & sizes["business_type"].isin(["P17", "P18"])]
        teller, business_type, activity = sizes.sort_values(["sum", *group]).iloc[-1][group]
        assert sizes["sum"].max() >= 45
        taken.add(teller)
        chosen = (steps["inside"] & (frame["teller_id"] == teller)
                  & (frame["business_type"] == business_type) & (frame["activity"] == activity))
        factor[chosen.to_numpy()] = 2.5
        expected.add(("step", "teller", teller, business_type, activity, (dimension, value)))
    end = frame["start_time"] + (frame["end_time"] - frame["start_time"]) * factor
    table = table.set_column(table.column_names.index("end_time"), "end_time",
                             pa.array(end.to_numpy(), pa.timestamp("ms")))
    pq.write_table(table, tmp_path / "sliced.parquet")
    store = EventStore(tmp_path / "ws")
    ingest_log(store, tmp_path / "sliced.parquet")
    found = {_key(f) for f in _conditional(find_bottlenecks(store, baseline))}
    assert found == expected


def test_a_branch_slow_in_a_slice_is_one_branch_finding(conditional_logs: list[Log],
                                                       tmp_path: Path,
                                                       baseline: Baseline) -> None:
    """Every teller of branch B04 twice as slow at P17 "Enter transaction" from 15:00: one
    branch finding in that slice, naming its flagged tellers, instead of one per teller."""
    _, truth, _, path = conditional_logs[0]
    table = pq.read_table(path)
    frame = table.select(["branch_id", "business_type", "activity", "start_time",
                          "end_time"]).to_pandas()
    chosen = ((frame["branch_id"] == "B04") & (frame["business_type"] == "P17")
              & (frame["activity"] == "Enter transaction") & (frame["start_time"].dt.hour >= 15))
    end = frame["start_time"] + (frame["end_time"] - frame["start_time"]) * np.where(chosen, 2.0,
                                                                                     1.0)
    table = table.set_column(table.column_names.index("end_time"), "end_time",
                             pa.array(end.to_numpy(), pa.timestamp("ms")))
    pq.write_table(table, tmp_path / "branch.parquet")
    store = EventStore(tmp_path / "ws")
    ingest_log(store, tmp_path / "branch.parquet")
    found = _conditional(find_bottlenecks(store, baseline))
    expected = {_key(s) for s in truth["conditional_slow_steps"]}
    branch = ("step", "branch", "B04", "P17", "Enter transaction", ("hour_band", "closing"))
    assert {_key(f) for f in found} == expected | {branch}
    finding = next(f for f in found if f.scope == "branch")
    assert finding.teller_id is None and len(finding.tellers_flagged) >= 2
    assert 2 * len(finding.tellers_flagged) > finding.tellers_eligible
    assert finding.steps == int(chosen.sum()) and 1.8 <= finding.ratio <= 2.2
    assert "Branch B04" in finding.summary and "after 15:00" in finding.summary


def _finding(**fields: Any) -> Finding:
    base = Finding("teller", "0101", "B01", "P17", "Count cash", 40, 40, 60.0, 90.0, 20.0,
                   "baseline share", 3.0, 1.0, 40.0, 1000.0, 1.0, 1.0, 1e-9, 1e-6, 20.0, 21.0,
                   condition={"dimension": "hour_band", "value": "closing"})
    return replace(base, **fields)


def test_a_finding_that_holds_all_day_is_not_repeated_per_slice(
        conditional_logs: list[Log]) -> None:
    closing = _finding()
    weekday = _finding(condition={"dimension": "weekday", "value": "tue"}, teller_id="0102")
    teller_all_day = _finding(condition=None)
    branch_all_day = _finding(condition=None, scope="branch", teller_id=None,
                              activity="Count cash")
    assert without_all_day([closing, weekday], [teller_all_day]) == [weekday]
    assert without_all_day([closing, weekday], [branch_all_day]) == []
    other_step = _finding(condition=None, activity="Enter transaction")
    assert without_all_day([closing], [other_step]) == [closing]
    # in the logs: no conditional finding shares its teller and step with an all-day one
    for _, _, findings, _ in conditional_logs:
        all_day = {(f.teller_id, f.business_type, f.activity) for f in findings
                   if f.condition is None}
        assert not {(f.teller_id, f.business_type, f.activity)
                    for f in _conditional(findings)} & all_day


def test_of_adjacent_slices_the_strongest_is_kept() -> None:
    """Afternoon and closing fire together: the one with more time lost stays; opening is no
    neighbour of closing and stays too; window types have no order."""
    def at(dimension: str, value: str, lost: float, **more: Any) -> Finding:
        return _finding(condition={"dimension": dimension, "value": value},
                        time_lost_seconds=lost, **more)

    afternoon, closing = at("hour_band", "afternoon", 500.0), at("hour_band", "closing", 900.0)
    opening = at("hour_band", "opening", 100.0)
    kept = _strongest([afternoon, closing, opening])
    assert kept == [closing, opening]
    midday = at("hour_band", "midday", 2000.0)
    assert _strongest([opening, midday, afternoon, closing]) == [midday]
    tue, thu = at("weekday", "tue", 300.0), at("weekday", "thu", 200.0)
    wed = at("weekday", "wed", 100.0)
    assert _strongest([tue, thu]) == [tue, thu] and _strongest([tue, wed, thu]) == [tue]
    vip, regular = at("window_type", "vip", 50.0), at("window_type", "regular", 60.0)
    assert _strongest([vip, regular]) == [regular, vip]
    other = at("hour_band", "afternoon", 400.0, teller_id="0102")
    assert _strongest([closing, other]) == [closing, other]


def test_the_bundled_demo_log_has_no_conditional_finding(
        demo_workspace: dict[str, Any], baseline: Baseline) -> None:
    """The bundled log injects no conditional slowness: none with the baseline shares, none
    against the workspace's SOP references."""
    store = demo_workspace["store"]
    findings = find_bottlenecks(store, baseline)
    assert findings and _conditional(findings) == []
    with_sops = find_bottlenecks(store, baseline,
                                 step_references=workspace_references(store.home))
    assert with_sops and _conditional(with_sops) == []
    assert {f.reference_source for f in with_sops} == {"sop"}


# -- Spark -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    """150,000 events with two tellers slow from 15:00 (about 30 cases each in the slice)."""
    store, truth, _ = _write(tmp_path_factory.mktemp("spark"),
                             DemoConfig(events=150_000, seed=51, conditional_slow=2))
    assert len(truth["conditional_slow_steps"]) == 2
    return store


@pytest.fixture(scope="module")
def spark(small_store: EventStore) -> Iterator[Engine]:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")
    engine = get_engine("spark", small_store)
    yield engine
    engine.close()


def test_conditional_findings_are_the_same_on_spark(small_store: EventStore, baseline: Baseline,
                                                    spark: Engine) -> None:
    duck = _conditional(find_bottlenecks(small_store, baseline, min_cases=20))
    other = _conditional(find_bottlenecks(small_store, baseline, min_cases=20, engine=spark))
    assert len(duck) == 2
    assert [_key(f) for f in other] == [_key(f) for f in duck]
    for d, s in zip(duck, other, strict=True):
        assert (s.cases, s.steps, s.reference_source) == (d.cases, d.steps, d.reference_source)
        for name in ("median_seconds", "p90_seconds", "reference_seconds", "bank_median_seconds",
                     "branch_median_seconds", "time_lost_seconds", "pace", "ratio",
                     "peer_seconds", "p_value", "q_value"):
            assert getattr(s, name) == pytest.approx(getattr(d, name), rel=1e-6), name
        assert s.ratio_ci == pytest.approx(d.ratio_ci, rel=1e-9)
