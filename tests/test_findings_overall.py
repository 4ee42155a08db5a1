"""Slow branches and tellers overall, and the baseline review (issue 19), on demo logs with
their truth: a branch of tellers 1.2x or 1.6x slower at every step, a teller 1.4x or 1.5x
slower at every step, a business type whose standard is 2x too low or 2x too high (with real
teller anomalies on that type), and a log of tellers with their own habits up to 1.25x.

**Allowed extras** (precision): the demo's tellers have their own speed (lognormal around 1,
``speed_factor`` in the truth) and some are naturally a quarter or a third slower than the
others at every step; such a teller (branch) is slow overall and may be found: a finding is
*explained* by the truth when its teller's speed (its branch's median speed) over the median
of the other branches' median speeds, times any slow-overall factor injected on it, is at
least 1.2 (1.08 for a branch), a margin under the cuts (1.25 and 1.1 on the interval's low end).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from procmine.analysis.baseline_review import check_band
from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.analysis.context import FindingContext
from procmine.analysis.findings import Finding
from procmine.analysis.overall import overall_findings, paces
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.demo import DemoConfig, write_demo_data
from procmine.ingest.run import ingest_log
from procmine.store.engine import Engine, get_engine
from procmine.store.event_store import EventStore

#: name -> settings. Seeds 45 and 46 put teller slow steps (2.0-3.0x) on P18 and P17, the
#: types given a wrong standard there.
LOGS: dict[str, DemoConfig] = {
    "slow-1.2": DemoConfig(events=200_000, seed=46, slow_branch=1.2, slow_teller=1.4,
                           wrong_standards=(("P17", 0.5),)),
    "slow-1.6": DemoConfig(events=220_000, seed=45, slow_branch=1.6, slow_teller=1.5,
                           wrong_standards=(("P18", 2.0),)),
    "slow-1.2-small": DemoConfig(events=150_000, seed=60, slow_branch=1.2, slow_teller=1.4),
    "completion-only": DemoConfig(events=150_000, seed=45, completion_only=True,
                                  wrong_standards=(("P18", 2.0),)),
    "habits": DemoConfig(events=150_000, seed=55, habits=1.25, slow_steps=0,
                         branch_slow_steps=0),
}
#: Out of the review's way: no type runs a hundred times off its standard.
NO_REVIEW = (0.01, 100.0)

Log = tuple[EventStore, dict[str, Any], list[Finding]]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory, baseline: Baseline) -> dict[str, Log]:
    out = {}
    for name, config in LOGS.items():
        folder = tmp_path_factory.mktemp(name)
        result = write_demo_data(folder, config, fmt="parquet")
        store = EventStore(folder / "ws")
        ingest_log(store, result.events_path)
        truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
        out[name] = (store, truth, find_bottlenecks(store, baseline))
    return out


def _relative_speeds(truth: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Each branch's and teller's speed in the truth over the median of the other branches'
    median speeds, times the slow-overall factors injected on it."""
    factor = {(s["scope"], s["teller_id"] or s["branch_id"]): s["factor"]
              for s in truth["slow_overall"]}
    speeds: dict[str, list[float]] = {}
    teller_speed = {}
    for t in truth["tellers"]:
        speed = (t["speed_factor"] * factor.get(("branch", t["branch_id"]), 1.0)
                 * factor.get(("teller", t["teller_id"]), 1.0))
        teller_speed[t["teller_id"]] = (t["branch_id"], speed)
        speeds.setdefault(t["branch_id"], []).append(speed)
    median = {b: float(np.median(v)) for b, v in speeds.items()}

    def others(branch: str) -> float:
        return float(np.median([m for b, m in median.items() if b != branch]))

    branches = {b: m / others(b) for b, m in median.items()}
    tellers = {t: s / others(b) for t, (b, s) in teller_speed.items()}
    return branches, tellers


def _overall_key(item: Finding | dict[str, Any]) -> tuple[str, str]:
    data = item.to_dict() if isinstance(item, Finding) else item
    return data["scope"], data["teller_id"] if data["scope"] == "teller" else data["branch_id"]


@pytest.mark.parametrize("name", ["slow-1.2", "slow-1.6", "slow-1.2-small"])
def test_slow_branches_and_tellers_overall_are_found(logs: dict[str, Log], name: str) -> None:
    _, truth, findings = logs[name]
    overall = [f for f in findings if f.kind == "overall"]
    injected = {_overall_key(s) for s in truth["slow_overall"]}
    assert {s["scope"] for s in truth["slow_overall"]} == {"branch", "teller"}
    found = [_overall_key(f) for f in overall]
    assert len(found) == len(set(found))
    assert injected <= set(found), f"missed {injected - set(found)}"
    branches, tellers = _relative_speeds(truth)
    explained = injected | {("branch", b) for b, s in branches.items() if s >= 1.08} | {
        ("teller", t) for t, s in tellers.items() if s >= 1.2}
    precision = len(set(found) & explained) / len(found)
    assert precision >= 0.95, f"unexplained {set(found) - explained}"
    days = truth["period"]["days"]
    for f in overall:
        assert (f.business_type, f.activity, f.condition, f.kind) == ("", "", None, "overall")
        assert f.ratio == f.pace and f.reference_source == "peers"
        assert f.ratio_ci is not None
        low, high = f.ratio_ci
        assert low <= f.ratio <= high and low >= (1.25 if f.scope == "teller" else 1.1)
        assert f.q_value <= 0.05 and f.p_value <= f.q_value
        assert f.reference_seconds == f.peer_seconds and f.median_seconds > f.reference_seconds
        assert f.excess_seconds == pytest.approx(f.median_seconds - f.reference_seconds,
                                                 abs=2e-3)
        assert f.time_lost_seconds > 0 and f.period_days == days
        assert f.monthly_teller_hours == pytest.approx(
            f.time_lost_seconds / 3600 / (days / 30.4375), abs=0.01)
        assert f.evidence is not None and f.evidence["slower_share"] >= 0.75
        assert f.evidence["groups"] >= 10 and len(f.evidence["costliest_steps"]) == 5
        assert "slower across most steps" in f.summary
    for s in truth["slow_overall"]:
        f = next(f for f in overall if _overall_key(f) == _overall_key(s))
        # the pace is the factor, give or take the teller's (the branch's) own speed
        assert 0.85 * s["factor"] <= f.ratio <= 1.15 * s["factor"], (f.ratio, s)
        if s["scope"] == "branch":
            # one branch finding, not one per teller: its tellers are named in it
            assert f.tellers_eligible >= 6 and len(f.tellers_flagged) * 2 > f.tellers_eligible
            assert not [g for g in overall if g.scope == "teller"
                        and g.branch_id == s["branch_id"]]
            assert f.evidence is not None
            assert set(f.evidence["teller_paces"]) >= set(f.tellers_flagged)
            # and no slow step of its own besides the injected ones
            steps = {(g.business_type, g.activity) for g in findings
                     if g.kind == "step" and g.branch_id == s["branch_id"]}
            truth_steps = {(t["business_type"], t["activity"]) for t in truth["slow_steps"]
                           if t["branch_id"] == s["branch_id"]}
            assert steps <= truth_steps


def test_habits_and_natural_speeds_give_no_overall_or_baseline_finding(
        logs: dict[str, Log]) -> None:
    _, truth, findings = logs["habits"]
    assert truth["habits"] == 1.25 and truth["slow_overall"] == []
    assert truth["wrong_standards"] == []
    # no teller of this log is naturally much slower than the others (seed 53 has one 1.54x
    # slower at every step: found, and explained by its speed in the truth)
    branches, tellers = _relative_speeds(truth)
    assert max(tellers.values()) <= 1.25 and max(branches.values()) <= 1.13
    assert [f for f in findings if f.kind in ("overall", "baseline")] == []


def test_a_teller_overall_counts_its_cases_and_its_time_lost(logs: dict[str, Log]) -> None:
    store, _, findings = logs["slow-1.2"]
    f = next(f for f in findings if f.kind == "overall" and f.scope == "teller")
    events = store.read_events(["case_id", "teller_id", "branch_id"]).to_pandas()
    mine = events[(events["teller_id"] == f.teller_id) & (events["branch_id"] == f.branch_id)]
    # per type its most frequent step's count: the cases, and a few repeated steps at most
    assert mine["case_id"].nunique() <= f.cases <= 1.05 * mine["case_id"].nunique()
    assert f.steps <= len(mine)


def test_the_pace_its_interval_and_the_time_lost_by_hand() -> None:
    """A teller 1.5x its peers at 14 of 16 steps and at their pace at 2; a teller at 1.1x;
    their branch at 1.05x."""
    rows, peers = [], []
    for i in range(16):
        pair = {"business_type": "P17", "activity": f"step {i:02d}"}
        peers += [{**pair, "branch_id": "B01", "branch_seconds": 10.5, "peer_seconds": 10.0,
                   "peer_branches": 2, "bank_peer_seconds": 10.0}]
        slow = 15.0 if i < 14 else 10.0
        rows += [{"teller_id": "0101", "branch_id": "B01", **pair, "count": 10 + i,
                  "median_seconds": slow, "p90_seconds": 2 * slow, "standard_seconds": 120.0},
                 {"teller_id": "0102", "branch_id": "B01", **pair, "count": 20,
                  "median_seconds": 11.0, "p90_seconds": 22.0, "standard_seconds": 120.0}]
    stats = pd.DataFrame(rows).astype({"teller_id": object, "branch_id": object})
    refs = pd.DataFrame({"business_type": ["P17"] * 16,
                         "activity": [f"step {i:02d}" for i in range(16)],
                         "share_reference": 10.0, "bank_median_seconds": 10.0,
                         "bank_count": 100})
    context = FindingContext(1.5, 30, 0.05, refs, stats, pd.DataFrame(peers),
                             {None: 61.0, "B01": 61.0}, False)
    tellers = paces(context)["teller"].set_index("teller_id")
    # 14 groups of 10..23 steps at 1.5x (231 steps), 2 of 24 and 25 at 1.0x (49 steps)
    assert tellers.loc["0101", "pace"] == pytest.approx(1.5)
    assert tellers.loc["0101", "slower_share"] == pytest.approx(231 / 280)
    assert tellers.loc["0101", "time_lost"] == pytest.approx(231 * 5.0)
    # the interval: the weighted quantiles at 1/2 -+ 0.98 / sqrt(n_eff), n_eff = 280^2 / 5240
    # (0.25 and 0.75: both among the 1.5x groups, which start at 49 / 280 = 0.175)
    assert (tellers.loc["0101", "pace_low"], tellers.loc["0101", "pace_high"]) == (
        pytest.approx(1.5), pytest.approx(1.5))
    assert tellers.loc["0102", "pace"] == pytest.approx(1.1)
    assert tellers.loc["0102", "slower_share"] == 1.0
    # 0101 is slower at 82.5% of its steps: a finding; asked for 90%, none
    assert overall_findings(context, most=0.9) == []
    found = overall_findings(context)
    assert [(f.scope, f.teller_id, f.ratio, f.ratio_ci) for f in found] == [
        ("teller", "0101", 1.5, (1.5, 1.5))]
    f = found[0]
    assert f.time_lost_seconds == pytest.approx(1155.0)
    assert f.monthly_teller_hours == pytest.approx(1155 / 3600 / (61 / 30.4375), abs=0.01)
    assert f.median_seconds == pytest.approx((231 * 15 + 49 * 10) / 280, abs=1e-3)
    assert f.reference_seconds == pytest.approx(10.0) and f.cases == 25 and f.steps == 280
    # the sign test over the 14 groups not tied with the peers, all 14 above
    assert f.p_value == pytest.approx(0.5 ** 14)
    assert f.branch_median_seconds == pytest.approx(10.5)
    # 0102 is slower at every step, but only 1.1x: under the teller cut (1.25)
    assert overall_findings(context, teller_cut=1.1)[1].teller_id == "0102"


def _step_key(item: Finding | dict[str, Any]) -> tuple[str, str | None, str, str]:
    data = item.to_dict() if isinstance(item, Finding) else item
    who = data["teller_id"] if data["scope"] == "teller" else data["branch_id"]
    return data["scope"], who, data["business_type"], data["activity"]


@pytest.mark.parametrize(("name", "code", "factor"), [("slow-1.6", "P18", 2.0),
                                                      ("slow-1.2", "P17", 0.5)])
def test_a_wrong_standard_is_reviewed_and_its_anomalies_judged_against_peers(
        logs: dict[str, Log], baseline: Baseline, name: str, code: str, factor: float) -> None:
    store, truth, findings = logs[name]
    assert truth["wrong_standards"] == [{"business_type": code, "factor": factor}]
    reviews = [f for f in findings if f.kind == "baseline"]
    assert [(f.scope, f.business_type, f.activity) for f in reviews] == [("type", code, "")]
    review = reviews[0]
    assert (review.teller_id, review.branch_id) == (None, None)
    assert review.reference_seconds == baseline.standard_seconds(code)
    assert review.reference_source == "standard" and review.time_lost_seconds == 0
    assert 0.9 * factor <= review.ratio <= 1.15 * factor
    assert review.ratio_ci is not None
    low, high = review.ratio_ci
    assert low <= review.ratio <= high and (low > 1.5 or high < 0.67)
    assert review.cases >= 100 and review.steps > review.cases and review.q_value <= 0.05
    evidence = review.evidence
    assert evidence is not None and review.median_seconds == evidence["bank_median_seconds"]
    assert evidence["review_group"] == baseline[code].review_group
    assert sum(b["cases"] for b in evidence["branches"].values()) == review.cases
    assert "check the standard time" in review.summary
    # the real anomalies on the type: found, at their own size, against the peers
    anomalies = [s for s in truth["slow_steps"] if s["business_type"] == code]
    assert anomalies
    by_key = {_step_key(f): f for f in findings if f.kind == "step"}
    unreviewed = {_step_key(f): f for f in find_bottlenecks(store, baseline,
                                                           baseline_band=NO_REVIEW)}
    for s in anomalies:
        f = by_key[_step_key(s)]
        assert f.reference_source == "peers", s
        # the factor, give or take the teller's own speed (not the factor x the wrong standard)
        assert 0.75 * s["factor"] <= f.ratio <= 1.4 * s["factor"], (f.ratio, s)
        if factor > 1:  # against the standard it would be inflated: ratio and cost
            g = unreviewed[_step_key(s)]
            assert g.ratio >= 1.7 * f.ratio
            # each case lost the difference of the two references more (nearly every case of
            # a 2x-3x anomaly is beyond both)
            assert g.time_lost_seconds - f.time_lost_seconds == pytest.approx(
                f.cases * (f.reference_seconds - g.reference_seconds), rel=0.15)
    if factor < 1:  # against a standard 2x too high, anomalies disappear
        assert sum(_step_key(s) in unreviewed for s in anomalies) < len(anomalies)
    # the other types keep the baseline share
    assert all(f.reference_source == "baseline share" for f in by_key.values()
               if f.business_type != code)


def test_completion_only_logs_are_reviewed_around_the_types_typical_ratio(
        logs: dict[str, Log]) -> None:
    """Inferred times include the waits inside a transaction: P28, whose every transaction
    waits for a supervisor, runs about 1.6x its standard, the others about 1.2x."""
    _, truth, findings = logs["completion-only"]
    assert truth["completion_only"] and truth["wrong_standards"][0]["business_type"] == "P18"
    reviews = [f for f in findings if f.kind == "baseline"]
    assert [f.business_type for f in reviews] == ["P18"]
    f = reviews[0]
    assert f.inferred and "inferred from completion timestamps" in f.summary
    assert f.evidence is not None
    typical = f.evidence["typical_ratio"]
    assert 1.05 <= typical <= 1.4
    assert f.evidence["band"] == pytest.approx([0.67 * typical, 1.5 * typical], abs=2e-3)
    assert f.ratio_ci is not None and f.ratio_ci[0] > 1.5 * typical
    anomalies = {_step_key(s) for s in truth["slow_steps"] if s["business_type"] == "P18"}
    found = {_step_key(g): g for g in findings if g.kind == "step"}
    assert anomalies and anomalies <= set(found)
    assert all(found[k].reference_source == "peers" for k in anomalies)


def test_the_band_and_the_minimum_are_checked() -> None:
    assert check_band((0.5, 2), 1) == (0.5, 2.0)
    for band in ((1.2, 1.5), (0.5, 0.9), (0, 2), (0.5, float("inf")), (2.0, 0.5)):
        with pytest.raises(ProcmineError, match="baseline band"):
            check_band(band, 100)
    with pytest.raises(ProcmineError, match="two numbers"):
        check_band(("low", 2), 100)  # type: ignore[arg-type]
    with pytest.raises(ProcmineError, match="baseline minimum"):
        check_band((0.67, 1.5), 0)


def test_bad_band_in_find_bottlenecks(logs: dict[str, Log], baseline: Baseline) -> None:
    store = logs["habits"][0]
    with pytest.raises(ProcmineError, match="high end above 1"):
        find_bottlenecks(store, baseline, baseline_band=(0.5, 0.9))
    with pytest.raises(ProcmineError, match="at least 1"):
        find_bottlenecks(store, baseline, baseline_min_cases=0)
    # a type needs its transactions: none has a million
    found = find_bottlenecks(logs["slow-1.6"][0], baseline, baseline_min_cases=10**6)
    assert [f for f in found if f.kind == "baseline"] == []


# -- Spark parity --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    root = tmp_path_factory.mktemp("overall-parity")
    result = write_demo_data(root / "demo", DemoConfig(events=60_000, seed=47, slow_branch=1.5,
                                                       wrong_standards=(("P17", 2.0),)),
                             fmt="parquet")
    store = EventStore(root / "ws")
    ingest_log(store, result.events_path)
    return store


@pytest.fixture(scope="module")
def spark(small: EventStore) -> Iterator[Engine]:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")
    engine = get_engine("spark", small)
    yield engine
    engine.close()


def test_overall_and_baseline_findings_are_the_same_on_spark(
        small: EventStore, baseline: Baseline, spark: Engine) -> None:
    duck = find_bottlenecks(small, baseline, evidence=True)
    other = find_bottlenecks(small, baseline, engine=spark)
    kinds = {f.kind for f in duck}
    assert {"overall", "baseline"} <= kinds
    mine = [f for f in duck if f.kind in ("overall", "baseline")]
    theirs = [f for f in other if f.kind in ("overall", "baseline")]
    assert [(f.kind, f.scope, f.teller_id, f.branch_id, f.business_type) for f in theirs] == [
        (f.kind, f.scope, f.teller_id, f.branch_id, f.business_type) for f in mine]
    for d, s in zip(mine, theirs, strict=True):
        assert (s.cases, s.steps, s.reference_source) == (d.cases, d.steps, d.reference_source)
        for field in ("ratio", "median_seconds", "reference_seconds", "time_lost_seconds",
                      "p90_seconds"):
            assert getattr(s, field) == pytest.approx(getattr(d, field), rel=1e-9), field
        assert s.ratio_ci == pytest.approx(d.ratio_ci, rel=1e-9)
        assert s.q_value == pytest.approx(d.q_value, rel=1e-6)
        assert s.evidence == d.evidence
    # with evidence: the step kind's for step findings, their own for the others
    for f in duck:
        assert f.evidence is not None
        assert ("by_hour" in f.evidence) == (f.kind == "step")
