"""Every kind of finding at once, on demo logs that carry every injected case together: slow
steps, slow steps after 15:00, waits before a step, a slow branch and a slow teller overall, a
standard twice too low, a log that starts mid-month with a branch reporting later. Each kind
finds all of its truth and (nearly) nothing else; costs use each branch's own period; one JSON
shape for all; ``kinds`` runs a chosen few."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from statistics import median
from typing import Any

import pytest
from typer.testing import CliRunner

from procmine.analysis.bottlenecks import ANALYSES, find_bottlenecks
from procmine.analysis.findings import Finding
from procmine.cli.main import app
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.demo import DemoConfig, write_demo_data
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

#: (seed, events) of the logs with every injection
LOGS = ((3, 600_000), (4, 500_000))
#: a teller whose own speed is this much slower than the bank's typical teller is a real slow
#: teller overall, though not injected (the demo draws speeds; truth["tellers"] has them)
NATURAL_SLOW = 1.25


def _config(seed: int, events: int) -> DemoConfig:
    return DemoConfig(events=events, seed=seed, conditional_slow=2, waits=2, slow_branch=1.3,
                      slow_teller=1.5, wrong_standards=(("P18", 2.0),),
                      start=date(2026, 9, 15), days=47,
                      branch_starts=(("B06", date(2026, 9, 22)),))


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory,
         baseline: Baseline) -> list[tuple[EventStore, dict[str, Any], list[Finding]]]:
    made = []
    for seed, events in LOGS:
        folder = tmp_path_factory.mktemp(f"all-kinds-{seed}")
        result = write_demo_data(folder / "demo", _config(seed, events), fmt="parquet")
        store = EventStore(folder / "ws")
        ingest_log(store, result.events_path)
        truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
        made.append((store, truth, find_bottlenecks(store, baseline)))
    return made


def _key(f: Finding) -> tuple[Any, ...]:
    who = {"teller": f.teller_id, "branch": f.branch_id, "type": f.business_type}[f.scope]
    condition = (f.condition["dimension"], f.condition["value"]) if f.condition else None
    kind = "conditional" if f.kind == "step" and f.condition else f.kind
    return kind, f.scope, who, f.business_type, f.activity, condition


def _expected(truth: dict[str, Any]) -> set[tuple[Any, ...]]:
    def who(item: dict[str, Any]) -> str:
        return item["teller_id"] if item["scope"] == "teller" else item["branch_id"]

    keys = {("step", s["scope"], who(s), s["business_type"], s["activity"], None)
            for s in truth["slow_steps"]}
    keys |= {("conditional", s["scope"], who(s), s["business_type"], s["activity"],
              (s["condition"]["dimension"], s["condition"]["value"]))
             for s in truth["conditional_slow_steps"]}
    keys |= {("wait", s["scope"], who(s), s["business_type"], s["activity"], None)
             for s in truth["waits"]}
    keys |= {("overall", s["scope"], who(s), "", "", None) for s in truth["slow_overall"]}
    keys |= {("baseline", "type", s["business_type"], s["business_type"], "", None)
             for s in truth["wrong_standards"]}
    return keys


def _naturally_slow(truth: dict[str, Any]) -> set[tuple[Any, ...]]:
    """Overall findings the truth explains without an injection: tellers drawn this slow."""
    speeds = {t["teller_id"]: t["speed_factor"] for t in truth["tellers"]}
    typical = median(speeds.values())
    return {("overall", "teller", teller, "", "", None)
            for teller, speed in speeds.items() if speed >= NATURAL_SLOW * typical}


@pytest.mark.parametrize("index", range(len(LOGS)), ids=[f"seed{s}" for s, _ in LOGS])
def test_every_kind_finds_its_truth_and_little_else(
        logs: list[tuple[EventStore, dict[str, Any], list[Finding]]], index: int) -> None:
    _, truth, findings = logs[index]
    expected = _expected(truth)
    found = {_key(f) for f in findings}
    assert len(found) == len(findings)  # no finding twice
    assert expected <= found, f"missed: {sorted(expected - found, key=str)}"
    explained = expected | _naturally_slow(truth)
    for kind in ("step", "conditional", "wait", "overall", "baseline"):
        mine = [k for k in found if k[0] == kind]
        assert mine, kind
        right = sum(k in explained for k in mine)
        assert right / len(mine) >= 0.95, (kind, sorted(set(mine) - explained, key=str))


def test_costs_use_each_branch_period_and_one_json_shape(
        logs: list[tuple[EventStore, dict[str, Any], list[Finding]]]) -> None:
    for _, truth, findings in logs:
        per_branch, days = truth["period"]["per_branch"], truth["period"]["days"]
        assert days == 47 and per_branch["B01"] == 47 and per_branch["B06"] < 47
        for f in findings:
            covered = per_branch[f.branch_id] if f.branch_id else days
            assert f.period_days == covered
            assert f.monthly_teller_hours == pytest.approx(
                f.time_lost_seconds / 3600 / (covered / 30.4375), abs=0.01)
            data = json.loads(json.dumps(f.to_dict()))
            assert data["kind"] in ("step", "wait", "overall", "baseline")
            assert data["scope"] in ("teller", "branch", "type")
            assert data["inferred"] is False
            assert data["condition"] is None or set(data["condition"]) == {"dimension", "value"}
            if f.kind != "baseline":
                low, high = data["ratio_ci"]
                assert low <= data["ratio"] <= high


def test_a_wrong_standard_does_not_inflate_the_anomalies_on_its_type(
        logs: list[tuple[EventStore, dict[str, Any], list[Finding]]]) -> None:
    """P18 runs at twice its standard: its injected teller slow steps read about their own
    factor (against peers), not twice it."""
    checked = 0
    for _, truth, findings in logs:
        by_key = {_key(f): f for f in findings}
        for s in truth["slow_steps"]:
            if s["business_type"] != "P18" or s["scope"] != "teller":
                continue
            f = by_key[("step", "teller", s["teller_id"], "P18", s["activity"], None)]
            assert f.reference_source == "peers"
            assert f.ratio == pytest.approx(s["factor"], rel=0.25)
            checked += 1
    assert checked


def test_kinds_run_only_the_chosen_analyses(
        logs: list[tuple[EventStore, dict[str, Any], list[Finding]]],
        baseline: Baseline) -> None:
    store, _, findings = logs[0]
    waits = find_bottlenecks(store, baseline, kinds=["wait"])
    assert waits == [f for f in findings if f.kind == "wait"]
    steps = find_bottlenecks(store, baseline, kinds=("step", "baseline"))
    assert steps == [f for f in findings if f.kind in ("step", "baseline") and not f.condition]
    assert set(ANALYSES) == {"step", "conditional", "wait", "overall", "baseline"}
    with pytest.raises(ProcmineError, match="expected one or more of"):
        find_bottlenecks(store, baseline, kinds=["slow"])
    result = CliRunner().invoke(app, ["bottlenecks", "--home", str(store.home), "--kind",
                                      "overall", "--json", "--no-sop"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert [(d["kind"], d["teller_id"], d["branch_id"]) for d in printed] == [
        (f.kind, f.teller_id, f.branch_id) for f in findings if f.kind == "overall"]


def test_the_command_prints_every_kind_on_an_80_column_terminal(
        logs: list[tuple[EventStore, dict[str, Any], list[Finding]]]) -> None:
    store, _, findings = logs[0]
    result = CliRunner().invoke(app, ["bottlenecks", "--home", str(store.home), "--no-sop"],
                                env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert "…" not in result.output
    for word in ("step", "wait", "overall", "baseline", "after 15:00"):
        assert word in result.output
    assert "costs a month over\n40-47 days of data (each branch its own period)" in result.output
    assert len(findings) >= 15



def test_the_bundled_demo_log_finds_exactly_its_truth(demo_workspace: dict[str, Any],
                                                      baseline: Baseline) -> None:
    """Every kind, against the baseline shares and against the workspace's SOP standards: the
    bundled log's findings are its injected slow steps, nothing more, nothing less."""
    from procmine import workspace_references

    truth = json.loads((Path(__file__).resolve().parents[1] / "event_logs" / "demo_truth.json"
                        ).read_text(encoding="utf-8"))
    store = demo_workspace["store"]
    expected = _expected(truth)
    assert len(expected) == 7
    for references in (None, workspace_references(demo_workspace["home"])):
        findings = find_bottlenecks(store, baseline, step_references=references)
        assert {_key(f) for f in findings} == expected
        for f in findings:  # each sized near its injected factor
            factor = next(s["factor"] for s in truth["slow_steps"]
                          if (s["teller_id"] if s["scope"] == "teller" else s["branch_id"])
                          == (f.teller_id or f.branch_id) and s["activity"] == f.activity)
            assert f.ratio == pytest.approx(factor, rel=0.3)
