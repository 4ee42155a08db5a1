"""Slow-step detection on generated logs with known injected slow steps (truth.json), on logs
whose tellers are all at the same standard, and the pieces: the test, time lost, the SOP seam
(dated references), the evidence, the command."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import typer
from scipy import stats
from typer.testing import CliRunner

from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.analysis.evidence import explain_finding
from procmine.analysis.findings import Finding, StepReference
from procmine.analysis.stats import mann_whitney_greater
from procmine.cli.analysis import bottlenecks
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.demo import DemoConfig, generate_demo_log, steps_for_type, write_demo_data
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

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
        ingest_log(store, result.events_path)
        truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
        # the step kind's findings (the other kinds have tests of their own)
        logs.append((store, truth, [f for f in find_bottlenecks(store, baseline)
                                    if f.kind == "step"]))
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
        # every branch reports from the first day to the last: the costs spread over those days
        first, last = (date.fromisoformat(truth["span"][k]) for k in ("first_day", "last_day"))
        days = (last - first).days + 1
        for f in findings:
            assert f.period_days == days
            assert f.months == pytest.approx(days / 30.4375, abs=1e-3)
            assert f.monthly_teller_hours == pytest.approx(
                f.time_lost_seconds / 3600 / (days / 30.4375), abs=0.01)
            assert f.ratio == pytest.approx(f.median_seconds / f.reference_seconds, rel=1e-3)
            # material by its interval: reaching the cut, its low end above half-way to it
            assert f.ratio_ci is not None
            low, high = f.ratio_ci
            assert 1.25 <= low <= f.ratio <= high and high >= 1.5
            assert f.q_value <= 0.05 and f.sop is None and f.kind == "step"
            assert f.cases >= 30 and f.steps >= f.cases
            assert f.summary.startswith("Teller " if f.scope == "teller" else "Branch ")
            assert "teller hours a month" in f.summary
        branch = [f for f in findings if f.scope == "branch"]
        assert len(branch) == 1 and branch[0].teller_id is None
        assert len(branch[0].tellers_flagged) * 2 > branch[0].tellers_eligible


def test_a_branch_named_by_its_tellers_alone_carries_its_own_costs(
        demo_logs: list[tuple[EventStore, dict[str, Any], list[Finding]]], baseline: Baseline,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests cost (cases, time lost, the median's interval) only the material groups; a
    branch that is not material itself but most of whose tellers are flagged (the branch
    rule) is costed after the flags: its finding's figures are those it has when it is material
    and costed with the tests."""
    import procmine.analysis.bottlenecks as bottlenecks

    store, _, findings = demo_logs[0]
    [branch] = [f for f in findings if f.scope == "branch"]
    assert len(branch.tellers_flagged) >= 2
    branch_frame = bottlenecks._branch_frame

    def no_material_branch(*args: Any, **kwargs: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        branches, candidates = branch_frame(*args, **kwargs)
        branches["material"] = False  # no branch is material by itself, before the tests
        return branches, candidates

    monkeypatch.setattr(bottlenecks, "_branch_frame", no_material_branch)
    again = [f for f in find_bottlenecks(store, baseline, kinds=("step",)) if f.scope == "branch"]
    assert [(f.branch_id, f.business_type, f.activity) for f in again] == \
        [(branch.branch_id, branch.business_type, branch.activity)]
    named = again[0]
    assert named.cases == branch.cases > 0
    assert branch.time_lost_seconds > 0
    assert named.time_lost_seconds == pytest.approx(branch.time_lost_seconds)
    assert named.ratio_ci == branch.ratio_ci and named.ratio_ci is not None
    assert named.tellers_flagged == branch.tellers_flagged


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
    one = [f for f in find_bottlenecks(store, baseline, month=month) if f.kind == "step"]
    days = {d for d in truth["span"]["days"] if d.startswith(month)}
    covered = (date.fromisoformat(max(days)) - date.fromisoformat(min(days))).days + 1
    assert one and all(f.period_days == covered for f in one)
    assert {_key(f) for f in one} <= {_key(f) for f in findings}
    strict = find_bottlenecks(store, baseline, ratio=10.0)
    assert [f for f in strict if f.kind == "step"] == []  # the overall kind has cuts of its own
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
    months = evidence["by_month"]
    assert [row["value"] for row in months] == sorted(row["value"] for row in months)
    assert sum(row["group_steps"] for row in months) == teller.steps
    assert all(re.fullmatch(r"\d{4}-\d{2}", row["value"]) for row in months)
    reports: list[tuple[str, float]] = []
    with_evidence = find_bottlenecks(store, baseline, evidence=True,
                                     progress=lambda *r: reports.append(r))
    # progress: the analysis, then the evidence, each from 0 to 1 and never backwards
    phases = list(dict.fromkeys(phase for phase, _ in reports))
    assert phases == ["analyse", "evidence"]
    for phase in phases:
        done = [f for p, f in reports if p == phase]
        assert done[0] == 0.0 and done[-1] == 1.0 and done == sorted(done) and len(done) >= 4
    branch = next(f for f in with_evidence if f.scope == "branch" and f.kind == "step")
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
    ingest_log(store, path)
    return store


def test_no_finding_when_every_teller_works_at_the_same_standard(
        tmp_path: Path, baseline: Baseline) -> None:
    # the shuffled durations leave each next step's start where it was: where a slow step was
    # shortened the timestamps now show a gap before the next step (a wait finding, not slow work)
    standard = find_bottlenecks(_standard_log(tmp_path, 31), baseline)
    assert [f for f in standard if f.kind != "wait"] == []
    table, truth = generate_demo_log(
        DemoConfig(events=150_000, seed=32, slow_steps=0, branch_slow_steps=0))
    assert truth["slow_steps"] == []
    pq.write_table(table, tmp_path / "no-slow.parquet")
    store = EventStore(tmp_path / "ws-no-slow")
    ingest_log(store, tmp_path / "no-slow.parquet")
    found = find_bottlenecks(store, baseline)
    assert [f for f in found if f.kind == "step"] == []
    # only a teller naturally a third slower at every step (its speed factor in the truth) is
    # slow overall (procmine.analysis.overall)
    speed = {t["teller_id"]: t["speed_factor"] for t in truth["tellers"]}
    assert all(f.kind == "overall" and f.scope == "teller" and speed[str(f.teller_id)] >= 1.25
               for f in found)


def test_completion_only_logs_find_the_same_slow_steps(tmp_path: Path,
                                                       baseline: Baseline) -> None:
    """Without start times a step's time is inferred from the previous step's end."""
    table, truth = generate_demo_log(DemoConfig(events=200_000, seed=5))
    column = table.column_names.index("start_time")
    table = table.set_column(column, "start_time", pa.nulls(table.num_rows, pa.timestamp("ms")))
    pq.write_table(table, tmp_path / "completion-only.parquet")
    store = EventStore(tmp_path / "ws")
    ingest_log(store, tmp_path / "completion-only.parquet")
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


# -- dated SOP references ---------------------------------------------------------------------

SEPT, OCT = date(2026, 9, 1), date(2026, 10, 1)


def _dated_log(tmp_path: Path) -> tuple[EventStore, pd.DataFrame]:
    """Eight tellers in two branches, 60 P17 transactions each (25 in September, 35 in
    October) of three steps; tellers 0101 (B01) and 0201 (B02) are slow at "Enter transaction"
    and at nothing else."""
    rng = np.random.default_rng(7)
    rows = []
    for branch in ("B01", "B02"):
        for t in range(1, 5):
            teller = f"{branch[1:]}{t:02d}"
            for i in range(60):
                day = SEPT + timedelta(days=i) if i < 25 else OCT + timedelta(days=i - 25)
                clock = datetime.combine(day, datetime.min.time()) + timedelta(hours=9 + t / 10)
                slow = t == 1
                for activity, seconds in (
                        ("Call number", rng.uniform(8, 12)),
                        ("Enter transaction",
                         rng.uniform(15, 105) if slow else rng.uniform(17, 23)),
                        ("Print receipt", rng.uniform(8, 12))):
                    end = clock + timedelta(milliseconds=round(seconds * 1000))
                    rows.append({"case_id": f"{teller}-{i:03d}", "activity": activity,
                                 "start_time": clock, "end_time": end, "teller_id": teller,
                                 "branch_id": branch, "business_type": "P17"})
                    clock = end + timedelta(seconds=2)
    frame = pd.DataFrame(rows)
    path = tmp_path / "dated.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    store = EventStore(tmp_path / "ws-dated")
    ingest_log(store, path)
    return store, frame


def _hand(frame: pd.DataFrame, teller: str,
          reference_on: Any) -> tuple[float, float, int]:
    """(reference: step-weighted mean, time lost, cases) of a teller's "Enter transaction"
    with ``reference_on(day, branch)`` the reference in force."""
    mine = frame[(frame["teller_id"] == teller) & (frame["activity"] == "Enter transaction")]
    seconds = (mine["end_time"] - mine["start_time"]).dt.total_seconds()
    refs = [reference_on(t.date(), b) for t, b in zip(mine["start_time"], mine["branch_id"],
                                                         strict=True)]
    lost = float(np.maximum(seconds.to_numpy() - np.array(refs), 0).sum())
    return float(np.mean(refs)), lost, len(mine)


def _share_reference(frame: pd.DataFrame, baseline: Baseline,
                     activity: str = "Enter transaction") -> float:
    """A P17 step's baseline-share reference, computed by hand: the standard split over the
    steps by their median shares of the transaction, normalised so that the shares weighted by
    each step's occurrences per case add up to 1."""
    case = frame.groupby("case_id").agg(first=("start_time", "min"), last=("end_time", "max"))
    steps = frame[frame["business_type"] == "P17"].join(case, on="case_id")
    share = ((steps["end_time"] - steps["start_time"]).dt.total_seconds()
             / (steps["last"] - steps["first"]).dt.total_seconds())
    medians = share.groupby(steps["activity"]).median()
    per_case = steps.groupby("activity").size() / steps["case_id"].nunique()
    total = float((medians * per_case).sum())
    return float(baseline.standard_seconds("P17") * medians[activity] / total)


def _version(seconds: float, version: str, **dates: Any) -> StepReference:
    return StepReference("P17", "Enter transaction", seconds, "SOP-P17", "enter", version,
                         **dates)


def test_each_step_is_judged_against_the_sop_version_in_force_on_its_date(
        tmp_path: Path, baseline: Baseline) -> None:
    store, frame = _dated_log(tmp_path)
    references = [
        _version(30.0, "1.0", valid_to=OCT),
        _version(20.0, "2.0", valid_from=OCT),
        # B02 adopted 2.0 on its own date, before the rest of the bank
        _version(20.0, "2.0", valid_from=date(2026, 9, 15), branch_id="B02"),
    ]

    def in_force(day: date, branch: str) -> float:
        if branch == "B02" and day >= date(2026, 9, 15):
            return 20.0
        return 30.0 if day < OCT else 20.0

    # the log runs at a third of P17's standard: the baseline review is kept out of the way
    findings = find_bottlenecks(store, baseline, step_references=references,
                                baseline_band=(0.01, 100.0))
    assert {_key(f) for f in findings} == {("teller", "0101", "P17", "Enter transaction"),
                                          ("teller", "0201", "P17", "Enter transaction")}
    for f in findings:
        reference, lost, cases = _hand(frame, str(f.teller_id), in_force)
        assert f.cases == cases == 60
        assert f.reference_seconds == pytest.approx(reference, abs=1e-3)
        assert f.time_lost_seconds == pytest.approx(lost, abs=0.05)
        assert f.ratio == pytest.approx(f.median_seconds / reference, rel=1e-3)
        assert (f.reference_source, f.sop, f.sop_step) == ("sop", "SOP-P17", "enter")
        assert f.sop_version == "2.0"  # in force on 35 (B01) or 46 (B02) of the 60 steps
        data = f.to_dict()
        assert (data["sop"], data["sop_step"], data["sop_version"]) == ("SOP-P17", "enter",
                                                                         "2.0")
    # the B02 row applies to B02 only: 0101 keeps 1.0 from 15 to 30 September
    by_teller = {f.teller_id: f for f in findings}
    assert by_teller["0101"].reference_seconds == pytest.approx((25 * 30 + 35 * 20) / 60,
                                                               abs=1e-3)
    assert by_teller["0201"].reference_seconds == pytest.approx((14 * 30 + 46 * 20) / 60,
                                                               abs=1e-3)

    # only October has an SOP row: September's steps keep the baseline share ("mixed")
    share = _share_reference(frame, baseline)
    mixed = find_bottlenecks(store, baseline, step_references=[_version(20.0, "2.0",
                                                                        valid_from=OCT)],
                             baseline_band=(0.01, 100.0))
    for f in mixed:
        reference, lost, _ = _hand(frame, str(f.teller_id),
                                   lambda day, _b: share if day < OCT else 20.0)
        assert f.reference_source == "mixed" and f.sop_version == "2.0"
        assert f.reference_seconds == pytest.approx(reference, abs=1e-3)
        assert f.time_lost_seconds == pytest.approx(lost, abs=0.05)


def test_undated_references_reproduce_the_mapping(
        demo_logs: list[tuple[EventStore, dict[str, Any], list[Finding]]],
        baseline: Baseline) -> None:
    store, _, findings = demo_logs[0]
    pairs = {(f.business_type, f.activity): f.reference_seconds * 0.9 for f in findings}
    old = find_bottlenecks(store, baseline, step_references=pairs)
    assert old and all(f.reference_source == "sop" and f.sop is None for f in old)
    rows = [StepReference(t, a, s, f"SOP-{t}", "x", "1.0") for (t, a), s in pairs.items()]
    # the same rows, dated so that they cover the whole period
    dated = [replace(r, valid_from=date(2000, 1, 1), valid_to=date(2100, 1, 1)) for r in rows]
    for new in (find_bottlenecks(store, baseline, step_references=rows),
                find_bottlenecks(store, baseline, step_references=dated)):
        assert [replace(f, sop=None, sop_step=None, sop_version=None, summary="")
                for f in new] == [replace(f, summary="") for f in old]
        assert all(f.sop == f"SOP-{f.business_type}" and f.sop_version == "1.0" for f in new)
    # and no references at all is the baseline share everywhere, no SOP named
    assert all(f.reference_source == "baseline share" and f.sop is None
               and f.sop_version is None for f in findings)


def test_sop_standards_from_the_demo_paths_still_find_every_injected_slow_step(
        demo_logs: list[tuple[EventStore, dict[str, Any], list[Finding]]],
        baseline: Baseline) -> None:
    """References as the SOP files give them: the type's standard time x the step's share of
    the standard path (``steps_for_type``), for every type."""
    store, truth, _ = demo_logs[0]
    references = [
        StepReference(code, step.name, baseline.standard_seconds(code) * step.share,
                      f"SOP-{code}", f"step-{i}", "1.0", valid_from=date(2026, 1, 1))
        for code in baseline.codes for i, step in enumerate(steps_for_type(code, baseline))
    ]
    findings = find_bottlenecks(store, baseline, step_references=references)
    injected = {_key(s) for s in truth["slow_steps"]}
    found = [_key(f) for f in findings]
    assert not injected - set(found), f"missed {injected - set(found)}"
    assert len(injected & set(found)) / len(found) >= 0.9, f"extra {set(found) - injected}"
    by_type = {(r.business_type, r.activity): r for r in references}
    for f in findings:
        ref = by_type.get((f.business_type, f.activity))
        if ref is not None:  # a step of the standard path: the SOP is its reference
            assert (f.reference_source, f.sop, f.sop_step) == ("sop", ref.sop_id, ref.sop_step)
            assert f.reference_seconds == pytest.approx(ref.seconds, abs=1e-3)
        else:  # a conditional step no SOP row covers
            assert f.reference_source == "baseline share" and f.sop is None


def test_references_that_contradict_themselves_are_refused(
        demo_logs: list[tuple[EventStore, dict[str, Any], list[Finding]]],
        baseline: Baseline) -> None:
    store = demo_logs[0][0]
    cases = [
        ("same days", [_version(30.0, "1.0", valid_to=OCT),
                       _version(20.0, "2.0", valid_from=date(2026, 9, 20))]),
        ("same days", [_version(30.0, "1.0"), _version(20.0, "2.0", valid_from=OCT)]),
        ("positive", [_version(0.0, "1.0")]),
        ("not before", [_version(20.0, "1.0", valid_from=OCT, valid_to=OCT)]),
    ]
    for message, references in cases:
        with pytest.raises(ProcmineError, match=message):
            find_bottlenecks(store, baseline, step_references=references)
    # a branch's row and an all-branch row may cover the same days
    both = [_version(30.0, "1.0"), _version(20.0, "2.0", valid_from=OCT, branch_id="B01")]
    find_bottlenecks(store, baseline, step_references=both)
