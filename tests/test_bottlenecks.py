"""Slow-step detection on generated logs with known injected slow steps (truth.json), on logs
whose tellers are all at the same standard, and the pieces: the test, time lost, the SOP seam,
the evidence, the command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import typer
from scipy import stats
from typer.testing import CliRunner

from procmine.baseline import Baseline
from procmine.bottlenecks import (
    Finding,
    explain_finding,
    find_bottlenecks,
    mann_whitney_greater,
)
from procmine.cli_mining import bottlenecks
from procmine.demo import DemoConfig, generate_demo_log, write_demo_data
from procmine.errors import ProcmineError
from procmine.store import EventStore

#: (seed, events): several seeds and sizes of the demo log
LOGS = ((21, 150_000), (22, 220_000), (23, 300_000))
REQUIRED = {"scope", "teller_id", "branch_id", "business_type", "activity", "cases",
            "median_seconds", "reference_seconds", "ratio", "excess_seconds", "q_value", "sop",
            "time_lost_seconds", "monthly_teller_hours", "summary", "evidence"}


def _key(item: Finding | dict[str, Any]) -> tuple[str, str | None, str, str]:
    data = item.to_dict() if isinstance(item, Finding) else item
    who = data["teller_id"] if data["scope"] == "teller" else data["branch_id"]
    return data["scope"], who, data["business_type"], data["activity"]


@pytest.fixture(scope="module")
def demo_logs(tmp_path_factory: pytest.TempPathFactory,
              baseline: Baseline) -> list[tuple[EventStore, dict[str, Any], list[Finding]]]:
    logs = []
    for seed, events in LOGS:
        folder = tmp_path_factory.mktemp(f"demo-{seed}")
        result = write_demo_data(folder, DemoConfig(events=events, seed=seed), fmt="parquet")
        store = EventStore(folder / "ws")
        store.ingest(result.events_path)
        truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
        logs.append((store, truth, find_bottlenecks(store, baseline)))
    return logs


@pytest.mark.parametrize("index", range(len(LOGS)), ids=[f"seed{s}-{e}" for s, e in LOGS])
def test_every_injected_slow_step_is_found_and_findings_are_injected(
        demo_logs: list[tuple[EventStore, dict[str, Any], list[Finding]]], index: int) -> None:
    _, truth, findings = demo_logs[index]
    injected = {_key(s) for s in truth["slow_steps"]}
    assert sum(s["scope"] == "branch" for s in truth["slow_steps"]) == 1
    found = [_key(f) for f in findings]
    assert len(found) == len(set(found))
    missed = injected - set(found)
    assert not missed, f"missed {missed}; found {found}"
    precision = len(injected & set(found)) / len(found)
    assert precision >= 0.9, f"extra findings {set(found) - injected}"


def test_findings_are_ranked_by_time_lost_and_costed_per_month(
        demo_logs: list[tuple[EventStore, dict[str, Any], list[Finding]]]) -> None:
    for _, truth, findings in demo_logs:
        lost = [f.time_lost_seconds for f in findings]
        assert lost == sorted(lost, reverse=True)
        for f in findings:
            assert f.months == len(truth["span"]["months"])
            assert f.monthly_teller_hours == pytest.approx(
                f.time_lost_seconds / 3600 / f.months, abs=0.01)
            assert f.ratio == pytest.approx(f.median_seconds / f.reference_seconds, rel=1e-3)
            assert f.ratio >= 1.5 and f.q_value <= 0.05 and f.sop is None
            assert f.cases >= 30 and f.steps >= f.cases
            assert f.summary.startswith("Teller " if f.scope == "teller" else "Branch ")
            assert "teller hours a month" in f.summary
        branch = [f for f in findings if f.scope == "branch"]
        assert len(branch) == 1 and branch[0].teller_id is None
        assert len(branch[0].tellers_flagged) * 2 > branch[0].tellers_eligible


def test_time_lost_is_the_excess_over_the_reference_per_case(
        demo_logs: list[tuple[EventStore, dict[str, Any], list[Finding]]]) -> None:
    store, _, findings = demo_logs[0]
    f = next(f for f in findings if f.scope == "teller")
    events = store.read_events(["case_id", "activity", "start_time", "end_time", "teller_id",
                                "branch_id", "business_type"]).to_pandas()
    mine = events[(events["teller_id"] == f.teller_id) & (events["branch_id"] == f.branch_id)
                  & (events["business_type"] == f.business_type)
                  & (events["activity"] == f.activity)]
    seconds = (mine["end_time"] - mine["start_time"]).dt.total_seconds()
    per_case = seconds.groupby(mine["case_id"]).sum()
    assert f.cases == len(per_case) and f.steps == len(mine)
    assert f.median_seconds == pytest.approx(float(np.median(seconds)), abs=1e-3)
    expected = float(np.maximum(per_case - f.reference_seconds, 0).sum())
    # the reference is rounded to the millisecond in the finding
    assert f.time_lost_seconds == pytest.approx(expected, abs=0.05 + 1e-3 * len(per_case))


def test_sop_standard_times_replace_the_baseline_share(
        demo_logs: list[tuple[EventStore, dict[str, Any], list[Finding]]],
        baseline: Baseline) -> None:
    store, _, findings = demo_logs[0]
    f = next(f for f in findings if f.scope == "teller")
    pair = (f.business_type, f.activity)
    same = find_bottlenecks(store, baseline, step_references={pair: f.reference_seconds})
    again = next(g for g in same if _key(g) == _key(f))
    assert again.reference_source == "sop" and again.sop is None
    generous = find_bottlenecks(store, baseline, step_references={pair: f.median_seconds})
    assert _key(f) not in {_key(g) for g in generous}


def test_a_month_and_stricter_settings(
        demo_logs: list[tuple[EventStore, dict[str, Any], list[Finding]]],
        baseline: Baseline) -> None:
    store, truth, findings = demo_logs[2]
    month = truth["span"]["months"][0]
    one = find_bottlenecks(store, baseline, month=month)
    assert one and all(f.months == 1 for f in one)
    assert {_key(f) for f in one} <= {_key(f) for f in findings}
    strict = find_bottlenecks(store, baseline, ratio=10.0)
    assert strict == []
    few = find_bottlenecks(store, baseline, min_cases=10**6)
    assert few == []
    with pytest.raises(ProcmineError, match="YYYY-MM"):
        find_bottlenecks(store, baseline, month="2026/10")
    with pytest.raises(ProcmineError, match="ratio"):
        find_bottlenecks(store, baseline, ratio=0)


def test_evidence_shows_why(demo_logs: list[tuple[EventStore, dict[str, Any], list[Finding]]],
                            baseline: Baseline) -> None:
    store, _, findings = demo_logs[1]
    teller = next(f for f in findings if f.scope == "teller")
    evidence = explain_finding(store, teller)
    comparison = evidence["comparison"]
    assert comparison["group_median_seconds"] == pytest.approx(teller.median_seconds, abs=1e-3)
    assert comparison["group_median_seconds"] > comparison["branch_median_seconds"]
    assert comparison["group_median_seconds"] > 1.5 * comparison["bank_median_seconds"]
    assert comparison["bank_median_seconds"] == pytest.approx(teller.bank_median_seconds,
                                                              abs=1e-3)
    assert 0 <= evidence["rework"]["group_rate"] <= 1
    assert evidence["wait_before"]["bank_median_seconds"] >= 0
    hours = [row["value"] for row in evidence["by_hour"]]
    assert hours == sorted(hours) and all(8 <= h <= 17 for h in hours)
    windows = {row["value"] for row in evidence["by_window_type"]}
    assert windows <= {"regular", "vip", "corporate"}
    bands = evidence["by_amount_band"]
    assert sum(row["group_steps"] for row in bands) == teller.steps
    with_evidence = find_bottlenecks(store, baseline, evidence=True)
    branch = next(f for f in with_evidence if f.scope == "branch")
    assert branch.evidence is not None
    flagged = [t["teller_id"] for t in branch.evidence["tellers"] if t["flagged"]]
    assert sorted(flagged) == list(branch.tellers_flagged)
    json.dumps([f.to_dict() for f in with_evidence])  # JSON-ready


def _standard_log(tmp_path: Path, seed: int) -> EventStore:
    """A demo log whose tellers are all at the same standard: every step's duration is drawn at
    random from all durations of its business type x step, whoever did it."""
    table, truth = generate_demo_log(DemoConfig(events=150_000, seed=seed))
    assert truth["slow_steps"]
    rng = np.random.default_rng(seed)
    frame = table.select(["business_type", "activity", "start_time", "end_time"]).to_pandas()
    duration = (frame["end_time"] - frame["start_time"]).to_numpy()
    order = np.lexsort((rng.random(len(frame)), frame["activity"], frame["business_type"]))
    shuffled = np.empty_like(duration)
    grouped = frame.iloc[order].groupby(["business_type", "activity"], sort=False).indices
    for rows in grouped.values():
        picked = order[rows]
        shuffled[picked] = duration[rng.permutation(picked)]
    end = pa.array(frame["start_time"].to_numpy() + shuffled, pa.timestamp("ms"))
    table = table.set_column(table.column_names.index("end_time"), "end_time", end)
    assert pc.all(pc.greater_equal(table["end_time"], table["start_time"])).as_py()
    path = tmp_path / f"standard-{seed}.parquet"
    pq.write_table(table, path)
    store = EventStore(tmp_path / f"ws-{seed}")
    store.ingest(path)
    return store


def test_no_finding_when_every_teller_works_at_the_same_standard(
        tmp_path: Path, baseline: Baseline) -> None:
    assert find_bottlenecks(_standard_log(tmp_path, 31), baseline) == []
    table, truth = generate_demo_log(
        DemoConfig(events=150_000, seed=32, slow_steps=0, branch_slow_steps=0))
    assert truth["slow_steps"] == []
    pq.write_table(table, tmp_path / "no-slow.parquet")
    store = EventStore(tmp_path / "ws-no-slow")
    store.ingest(tmp_path / "no-slow.parquet")
    assert find_bottlenecks(store, baseline) == []


def test_completion_only_logs_find_the_same_slow_steps(tmp_path: Path,
                                                       baseline: Baseline) -> None:
    """Without start times a step's time is inferred from the previous step's end."""
    table, truth = generate_demo_log(DemoConfig(events=200_000, seed=5))
    column = table.column_names.index("start_time")
    table = table.set_column(column, "start_time", pa.nulls(table.num_rows, pa.timestamp("ms")))
    pq.write_table(table, tmp_path / "completion-only.parquet")
    store = EventStore(tmp_path / "ws")
    store.ingest(tmp_path / "completion-only.parquet")
    findings = find_bottlenecks(store, baseline)
    injected = {_key(s) for s in truth["slow_steps"]}
    assert {_key(f) for f in findings} == injected


def test_an_empty_store_has_no_findings(store: EventStore, baseline: Baseline) -> None:
    assert find_bottlenecks(store, baseline) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mann_whitney_matches_scipy_for_every_group_at_once(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.round(rng.lognormal(3, 0.4, 3_000), 1)  # rounding makes ties
    groups = rng.integers(-1, 5, values.size)
    values[groups == 2] *= 1.1
    order = np.argsort(values, kind="stable")
    u, p = mann_whitney_greater(values[order], groups[order], 5)
    for g in range(5):
        mine = values[groups == g]
        rest = values[groups != g]
        expected = stats.mannwhitneyu(mine, rest, alternative="greater")
        assert u[g] == pytest.approx(expected.statistic)
        assert p[g] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    small = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    _, p_small = mann_whitney_greater(small, np.array([-1] * 7 + [0] * 3), 1)
    assert p_small[0] == pytest.approx(
        stats.mannwhitneyu(small[7:], small[:7], alternative="greater").pvalue)


def test_the_command_prints_a_table_or_json(
        demo_logs: list[tuple[EventStore, dict[str, Any], list[Finding]]]) -> None:
    store, _, findings = demo_logs[0]
    app = typer.Typer()
    app.command()(bottlenecks)
    runner = CliRunner()
    result = runner.invoke(app, ["--home", str(store.home), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [_key(d) for d in data] == [_key(f) for f in findings]
    assert all(set(d) >= REQUIRED and d["evidence"] for d in data)
    result = runner.invoke(app, ["--home", str(store.home)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Slow steps" in result.stdout and findings[0].summary[:30] in result.stdout
    result = runner.invoke(app, ["--home", str(store.home), "--month", "10-2026"])
    assert isinstance(result.exception, ProcmineError)
    result = runner.invoke(app, ["--home", str(store.home), "--ratio", "50"])
    assert result.exit_code == 0 and "No slow steps" in result.stdout
