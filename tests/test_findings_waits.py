"""Wait findings (time lost before a step) on demo logs with injected waits (truth.json's
``waits``): every injected wait found and nothing else, none on logs without waits (with slow
steps, with tellers' own habits up to 1.25x, with waits under the floor), the figures against
the raw events, who was waited for, the completion-only log (a step finding that says its time
is inferred), the evidence, Spark."""

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
from procmine.analysis.context import FindingContext
from procmine.analysis.evidence import explain_findings
from procmine.analysis.filters import Filters
from procmine.analysis.findings import Finding
from procmine.analysis.steps import StepData
from procmine.analysis.waits import WAIT_FLOOR_SECONDS, _waits_sql, wait_findings
from procmine.core.baseline import Baseline
from procmine.demo import DemoConfig, write_demo_data
from procmine.ingest.run import ingest_log
from procmine.store.engine import Engine, get_engine
from procmine.store.event_store import EventStore

#: (seed, events) of the logs with injected waits: several seeds and sizes
LOGS = ((31, 150_000), (32, 200_000), (33, 260_000))
#: Two tellers and one whole branch wait 120 s more before a step each (the demo's default).
WAITS = {"waits": 2, "wait_branches": 1}

Logged = tuple[EventStore, dict[str, Any], list[Finding]]


def _key(item: Finding | dict[str, Any]) -> tuple[str, str | None, str, str]:
    data = item.to_dict() if isinstance(item, Finding) else item
    who = data["teller_id"] if data["scope"] == "teller" else data["branch_id"]
    return data["scope"], who, data["business_type"], data["activity"]


def _log(root: Path, config: DemoConfig, relabel: bool = False
         ) -> tuple[EventStore, dict[str, Any]]:
    """A demo log in a store of its own, and its truth. With ``relabel`` the first waiting
    teller's step rows carry another teller's id (9901, the supervisor who did the step)."""
    result = write_demo_data(root / "demo", config, fmt="parquet")
    truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
    if relabel:
        events = pq.read_table(result.events_path).to_pandas()
        wait = next(w for w in truth["waits"] if w["scope"] == "teller")
        step = ((events["teller_id"] == wait["teller_id"])
                & (events["business_type"] == wait["business_type"])
                & (events["activity"] == wait["activity"]))
        events.loc[step, "teller_id"] = "9901"
        pq.write_table(pa.Table.from_pandas(events, preserve_index=False), result.events_path)
    store = EventStore(root / "ws")
    ingest_log(store, result.events_path)
    return store, truth


def _waits(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.kind == "wait"]


@pytest.fixture(scope="module")
def demo_logs(tmp_path_factory: pytest.TempPathFactory, baseline: Baseline) -> list[Logged]:
    logs = []
    for seed, events in LOGS:
        store, truth = _log(tmp_path_factory.mktemp(f"waits-{seed}"),
                            DemoConfig(events=events, seed=seed, **WAITS))
        logs.append((store, truth, find_bottlenecks(store, baseline)))
    return logs


@pytest.mark.parametrize("index", range(len(LOGS)), ids=[f"seed{s}-{e}" for s, e in LOGS])
def test_every_injected_wait_is_found_and_nothing_else(demo_logs: list[Logged],
                                                       index: int) -> None:
    _, truth, findings = demo_logs[index]
    injected = {_key(w) for w in truth["waits"]}
    assert {w["scope"] for w in truth["waits"]} == {"teller", "branch"}
    found = [_key(f) for f in _waits(findings)]
    assert len(found) == len(set(found))
    assert injected <= set(found), f"missed {injected - set(found)}; found {found}"
    precision = len(injected & set(found)) / len(found)
    assert precision >= 0.95, f"extra wait findings {set(found) - injected}"
    # the waits are not slow work: no step finding of the injected groups on their step
    assert not [f for f in findings if f.kind == "step" and _key(f) in injected]


def test_wait_findings_figures_against_the_raw_events(demo_logs: list[Logged]) -> None:
    for store, truth, findings in demo_logs:
        events = store.read_events(["case_id", "activity", "start_time", "end_time",
                                    "teller_id", "branch_id", "business_type",
                                    "call_time"]).to_pandas()
        events = events.sort_values(["case_id", "start_time", "end_time", "activity"])
        previous = events.groupby("case_id")["end_time"].shift().fillna(events["call_time"])
        events["wait"] = (events["start_time"] - previous).dt.total_seconds().clip(lower=0)
        extra = {_key(w): w["extra_seconds"] for w in truth["waits"]}
        for f in _waits(findings):
            step = events[(events["business_type"] == f.business_type)
                          & (events["activity"] == f.activity)]
            mine = step[step["branch_id"] == f.branch_id]
            if f.scope == "teller":
                mine = mine[mine["teller_id"] == f.teller_id]
            assert (f.kind, f.reference_source, f.inferred, f.pace) == ("wait", "peers", False,
                                                                          1.0)
            assert f.steps == len(mine) and f.cases == mine["case_id"].nunique()
            assert f.median_seconds == pytest.approx(float(mine["wait"].median()), abs=1e-3)
            assert f.bank_median_seconds == pytest.approx(float(step["wait"].median()),
                                                          abs=1e-3)
            # the peers: the median over the other branches of their typical median wait
            others = step[step["branch_id"] != f.branch_id].groupby("branch_id")["wait"]
            assert f.peer_seconds == pytest.approx(float(others.median().median()),
                                                   rel=0.25, abs=1.0)
            assert f.reference_seconds == max(f.peer_seconds, 1.0)
            # the wait added, over what the group waited anyway (about what the peers wait)
            assert f.median_seconds - f.peer_seconds == pytest.approx(
                extra[_key(f)], abs=max(10.0, 0.5 * f.peer_seconds))
            assert f.ratio == pytest.approx(f.median_seconds / f.reference_seconds, rel=1e-3)
            assert f.ratio_ci is not None
            low, high = f.ratio_ci
            assert 1.25 <= low <= f.ratio <= high and high >= 1.5
            assert low * f.reference_seconds - f.peer_seconds >= WAIT_FLOOR_SECONDS - 0.01
            per_case = mine.groupby("case_id")["wait"].sum()
            lost = float(np.maximum(per_case - f.peer_seconds, 0).sum())
            assert f.time_lost_seconds == pytest.approx(lost, abs=0.05 + 1e-3 * len(per_case))
            assert f.period_days == (truth["period"]["per_branch"].get(f.branch_id)
                                     or truth["period"]["days"])
            assert f.monthly_teller_hours == pytest.approx(
                f.time_lost_seconds / 3600 / (f.period_days / 30.4375), abs=0.01)
            assert f.q_value <= 0.05 and f.cases >= 30
            assert f"waiting before {f.activity}" in f.summary and "at peers" in f.summary
            assert f.evidence is not None and f.evidence["waited_for"]["teller_id"] is None
            assert "does not name" in f.evidence["waited_for"]["note"]
            assert f.to_dict()["kind"] == "wait"
            if f.scope == "branch":
                assert len(f.tellers_flagged) * 2 > f.tellers_eligible or f.tellers_eligible < 2


@pytest.mark.parametrize("month", [None, "2026-10"])
def test_the_waits_are_the_detailed_step_views(demo_logs: list[Logged], month: str | None,
                                                baseline: Baseline) -> None:
    """The detector's own window gives every wait of the detailed step view, and only those
    (over a month too: the period restricts the cases before the window, as the view does)."""
    store = demo_logs[0][0]
    filters = Filters.for_month(month) if month else Filters()
    order = "ORDER BY case_id, activity, wait_seconds"
    with StepData(store, baseline, filters, detail=True) as data:
        view = data.query("SELECT case_id, activity, wait_seconds FROM steps "
                          f"WHERE wait_seconds IS NOT NULL {order}")
        own = data.query(f"SELECT case_id, activity, wait_seconds "
                         f"FROM ({_waits_sql(filters)}) w {order}")
    assert len(view) > 10_000
    pd.testing.assert_frame_equal(own, view)


def test_no_wait_findings_on_logs_without_waits(tmp_path_factory: pytest.TempPathFactory,
                                                baseline: Baseline) -> None:
    """The bank's normal waits (~40 s for the supervisor, a few seconds elsewhere) make no
    wait finding, nor do slow steps, tellers' own habits up to 1.25x, or 20 s more waiting
    (under the floor) before a step."""
    for seed, config in (
            (41, DemoConfig(events=150_000, seed=41)),
            (42, DemoConfig(events=150_000, seed=42, habits=1.25, slow_steps=0,
                            branch_slow_steps=0)),
            (43, DemoConfig(events=150_000, seed=43, wait_seconds=20.0, **WAITS))):
        store, truth = _log(tmp_path_factory.mktemp(f"plain-{seed}"), config)
        findings = find_bottlenecks(store, baseline)
        assert not [f.summary for f in _waits(findings)], seed
        assert bool(truth["waits"]) == (seed == 43)


def test_the_one_who_did_the_step_is_who_was_waited_for(
        tmp_path_factory: pytest.TempPathFactory, baseline: Baseline) -> None:
    """Where the step's rows carry another teller (a supervisor's id), the finding is the
    waiting teller's (the previous step's) and its evidence names whom they waited for."""
    store, truth = _log(tmp_path_factory.mktemp("waited"),
                        DemoConfig(events=150_000, seed=31, **WAITS), relabel=True)
    wait = next(w for w in truth["waits"] if w["scope"] == "teller")
    waits = _waits(find_bottlenecks(store, baseline))
    mine = next(f for f in waits if _key(f) == _key(wait))
    assert mine.cases == wait["cases"]
    assert mine.evidence is not None
    assert mine.evidence["waited_for"]["teller_id"] == "9901"
    assert mine.evidence["waited_for"]["steps"] == mine.steps
    assert "9901" in mine.evidence["waited_for"]["note"]
    assert not [f for f in waits if f.teller_id == "9901"]


def test_a_completion_only_log_reports_the_wait_as_inferred_step_time(
        tmp_path_factory: pytest.TempPathFactory, baseline: Baseline) -> None:
    """Without start times a wait cannot be told from the work: no wait findings; the step
    after the injected wait is a step finding that says its time is inferred."""
    store, truth = _log(tmp_path_factory.mktemp("completion"),
                        DemoConfig(events=150_000, seed=31, completion_only=True, **WAITS))
    assert truth["completion_only"]
    findings = find_bottlenecks(store, baseline)
    assert not _waits(findings)
    assert findings and all(f.inferred for f in findings)
    steps = {_key(f): f for f in findings if f.kind == "step"}
    for wait in truth["waits"]:
        step = steps[_key(wait)]
        assert step.ratio >= 1.5
        assert step.summary.endswith("(times inferred from completion timestamps; may include "
                                     "waiting)")


def test_evidence_of_wait_findings(demo_logs: list[Logged], baseline: Baseline) -> None:
    store, _, plain = demo_logs[0]
    found = find_bottlenecks(store, baseline, evidence=True)
    assert [_key(f) for f in found] == [_key(f) for f in plain]
    for f in (f for f in found if f.kind == "wait"):
        assert f.evidence is not None
        assert f.evidence["waited_for"]["teller_id"] is None
        assert f.evidence["wait_before"]["group_median_seconds"] == pytest.approx(
            f.median_seconds, abs=1e-3)
        assert f.evidence["wait_before"]["bank_median_seconds"] == pytest.approx(
            f.bank_median_seconds, abs=1e-3)
        assert {"rework", "comparison", "by_hour", "by_month"} <= set(f.evidence)
        # the breakdowns are of the waits; the comparison is the step's own time
        assert f.evidence["wait_before"]["peer_seconds"] == f.peer_seconds
        assert "reference_seconds" not in f.evidence["comparison"]
        assert f.evidence["comparison"]["group_median_seconds"] < f.median_seconds
        hours = [r for r in f.evidence["by_hour"] if r["group_steps"] >= 10]
        assert hours and all(r["group_median_seconds"] > f.peer_seconds + WAIT_FLOOR_SECONDS
                             for r in hours)
        if f.scope == "branch":
            flagged = [t for t in f.evidence["tellers"] if t["flagged"]]
            assert all(t["median_seconds"] > f.peer_seconds + WAIT_FLOOR_SECONDS
                       for t in flagged)
    # a finding of no one step (overall, baseline) keeps its own evidence, if any
    wait = next(f for f in plain if f.kind == "wait")
    overall = replace(wait, kind="overall", business_type="", activity="", evidence=None)
    explained = explain_findings(store, [overall, wait])
    assert explained[0] == {} and explained[1]["waited_for"] == wait.evidence["waited_for"]


@pytest.fixture(scope="module")
def spark(demo_logs: list[Logged]) -> Iterator[Engine]:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")
    engine = get_engine("spark", demo_logs[0][0])
    yield engine
    engine.close()


def test_wait_findings_are_the_same_on_spark(demo_logs: list[Logged], baseline: Baseline,
                                             spark: Engine) -> None:
    store, _, duck = demo_logs[0]
    with StepData(store, baseline) as data:
        context = replace(FindingContext.empty(), days=data.covered_days())
    duck_waits = _ranked(wait_findings(store, baseline, Filters(), context))
    other_waits = _ranked(wait_findings(store, baseline, Filters(), context, engine=spark))
    assert duck_waits == _ranked([f for f in duck if f.kind == "wait"])
    assert duck_waits and [_key(f) for f in other_waits] == [_key(f) for f in duck_waits]
    for d, s in zip(duck_waits, other_waits, strict=True):
        assert (s.cases, s.steps, s.tellers_flagged, s.tellers_eligible, s.ratio_ci) == (
            d.cases, d.steps, d.tellers_flagged, d.tellers_eligible, d.ratio_ci)
        for name in ("median_seconds", "p90_seconds", "reference_seconds", "ratio",
                     "bank_median_seconds", "time_lost_seconds", "p_value", "q_value"):
            assert getattr(s, name) == pytest.approx(getattr(d, name), rel=1e-6), name
        assert s.evidence == d.evidence


def _ranked(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.time_lost_seconds, _key(f)))
