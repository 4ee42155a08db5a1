"""Conformance against the SOP in force: the alignment of one transaction (deviations worked out
by hand; the cost equal to pm4py's optimal alignment on the same model's Petri net, on random
transactions), the SOP's conformance fields (control, optional, alternatives, required_when),
and the report over the demo workspace (recounted with pandas)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from demo_kit import copy_demo_workspace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procmine.maps.alignment import align
from procmine.maps.conformance import ConformanceReport, conformance
from procmine.maps.deviations import deviation_findings
from procmine.maps.reference import ReferenceModel, ReferenceStep, reference_models
from procmine.sop.conditions import parse_condition
from procmine.sop.document import parse_with_issues
from procmine.sop.library import SopLibrary
from procmine.store.event_store import EventStore

LARGE = parse_condition("amount >= 50000")


def _step(step_id: str, *, always: bool = True, control: bool = False,
          alternatives: tuple[str, ...] = (), condition: object = None) -> ReferenceStep:
    return ReferenceStep(step_id=step_id, activity=step_id.upper(), alternatives=alternatives,
                         standard_seconds=10.0, control=control, always=always,
                         condition=condition)  # type: ignore[arg-type]


# A: always; B: control, required for large amounts; C: optional, D may stand in for it;
# E: always, a control step; F: always
MODEL = ReferenceModel(
    sop_id="SOP-T", version="1.0", business_type="T", owner_group="accounting-and-cash",
    steps=(_step("a"), _step("b", always=False, control=True, condition=LARGE),
           _step("c", always=False, alternatives=("D",)), _step("e", control=True),
           _step("f")))


def _kinds(trace: list[str], large: bool = False) -> list[tuple[str, str, int | None]]:
    holding = {LARGE.text} if large else set()
    result = align(MODEL, trace, MODEL.required(holding))
    return [(d.kind, d.activity, d.position) for d in result.deviations]


def test_a_transaction_that_follows_the_model_conforms() -> None:
    for trace, large in ((["A", "E", "F"], False), (["A", "C", "E", "F"], False),
                         (["A", "D", "E", "F"], False), (["A", "B", "E", "F"], True),
                         (["A", "B", "E", "F"], False)):  # a step that may occur, occurs
        result = align(MODEL, trace, MODEL.required({LARGE.text} if large else set()))
        assert result.conforms and result.fitness == 1.0 and result.cost == 0, trace


def test_each_kind_of_deviation_by_hand() -> None:
    # a required control step left out: skipped (fitness 1 - 1/(2 + 3))
    result = align(MODEL, ["A", "F"], MODEL.required())
    assert [(d.kind, d.activity, d.control) for d in result.deviations] == [
        ("skipped", "E", True)]
    assert result.cost == 1 and result.fitness == pytest.approx(1 - 1 / 5)
    # the large-amount control step is required only for a large amount
    assert _kinds(["A", "E", "F"], large=True) == [("skipped", "B", None)]
    assert _kinds(["A", "E", "F"], large=False) == []
    # an activity no step has: extra, at its position
    assert _kinds(["A", "X", "E", "F"]) == [("extra", "X", 1)]
    # a step done twice: the repetition is rework
    assert _kinds(["A", "E", "E", "F"]) == [("rework", "E", 2)]
    assert _kinds(["A", "D", "D", "E", "F"]) == [("rework", "D", 2)]
    # two steps swapped: one is out of order (not also reported as skipped)
    result = align(MODEL, ["A", "F", "E"], MODEL.required())
    assert [(d.kind, d.activity) for d in result.deviations] == [("order", "E")]
    assert result.cost == 2  # a log move and a model move
    # done early and again in its place: rework, not order
    assert _kinds(["E", "A", "E", "F"]) == [("rework", "E", 0)]


_ACTIVITIES = ["A", "B", "C", "D", "E", "F", "X"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_ACTIVITIES), max_size=8))
def test_the_alignment_cost_is_pm4pys_optimal_alignment_cost(trace: list[str]) -> None:
    """pm4py's A* alignment on the model's Petri net (standard costs: 10000 a log or model
    move, 1 a silent move) costs the same number of moves as the dynamic programme (the Petri
    net cannot carry the condition: its step is optional there, as without a large amount)."""
    import pm4py
    from pm4py.objects.log.obj import Event, EventLog, Trace

    net, initial, final = MODEL.petri_net()
    log = EventLog([Trace([Event({"concept:name": a}) for a in trace])])
    ours = align(MODEL, trace, MODEL.required())
    theirs = pm4py.conformance_diagnostics_alignments(log, net, initial, final)[0]
    assert ours.cost == theirs["cost"] // 10000  # (optimal alignments may differ; costs not)
    assert ours.fitness == pytest.approx(1 - ours.cost / (len(trace) + 3))


def test_the_sop_fields_are_read_and_checked() -> None:
    text = (Path(__file__).parents[1] / "sops" / "SOP-P18.md").read_text(encoding="utf-8")
    sop, issues = parse_with_issues(text, "SOP-P18.md")
    assert sop is not None and not [i for i in issues if i.severity == "error"]
    step = sop.step("verify_identity_large")
    assert step.control and step.conditional and step.required_when == LARGE
    assert step.required("P18", {"amount": 50000.0}) and not step.required("P18", {})
    bad = text.replace("    required_when: amount >= 50000\n",
                       "    required_when: cash >= lots\n", 1).replace(
        "  - id: call_number\n", "  - id: call_number\n    optional: maybe\n", 1)
    _, issues = parse_with_issues(bad, "SOP-P18.md")
    messages = [(i.field, i.message) for i in issues if i.severity == "error"]
    assert any(f.endswith(".required_when") and "not a condition" in m for f, m in messages)
    assert any(f.endswith(".optional") and "not true or false" in m for f, m in messages)


# -- the demo workspace -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("conformance-demo") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    return home


def test_the_demo_report_adds_up_and_agrees_with_a_recount(demo_home: Path) -> None:
    store, library = EventStore(demo_home), SopLibrary.open(demo_home)
    report = conformance(store, library)
    events = store.read_events(["case_id", "business_type"]).to_pandas()
    governed = {m.business_type for m in reference_models(library)[0]}
    per_case = events.groupby("case_id")["business_type"].first()
    # every transaction is checked or unchecked; the demo's SOPs date from before the log
    assert report.cases + report.unchecked == len(per_case)
    assert report.cases == int(per_case.isin(governed).sum())
    levels = report.levels
    for name in ("teller", "branch", "type"):
        rows = levels[levels["level"] == name]
        assert int(rows["cases"].sum()) == report.cases
        assert int(rows["deviations"].sum()) == len(report.deviations)
    deviating = report.deviations["case_id"].nunique()
    assert report.conforming == report.cases - deviating
    # the demo's background deviations (about 1 % skip a courtesy step, 3 % rework a step) and
    # its injected ones (one teller each skips a control step, adds a step, reworks a step)
    kinds = report.deviations.groupby("kind")["case_id"].nunique()
    assert 0.005 < kinds["skipped"] / report.cases < 0.02
    assert 0.02 < kinds["rework"] / report.cases < 0.045
    assert set(kinds.index) <= {"skipped", "rework", "extra"}  # the demo keeps the SOPs' order
    truth = json.loads((Path(__file__).parents[1] / "event_logs" / "demo_truth.json")
                       .read_text(encoding="utf-8"))
    extra = next(g for g in truth["deviations"]["injected"] if g["kind"] == "extra")
    found = report.deviations[report.deviations["kind"] == "extra"]
    assert sorted(found["case_id"].astype(str)) == sorted(extra["cases"])
    assert set(found["teller_id"]) == {extra["teller_id"]}
    # a rework row's seconds are its event's service time in the log
    row = report.deviations[report.deviations["kind"] == "rework"].iloc[0]
    case = store.read_events(["case_id", "activity", "start_time", "end_time"]).to_pandas()
    case = case[case["case_id"] == row["case_id"]].sort_values(["start_time", "end_time"])
    event = case.iloc[int(row["position"])]
    assert event["activity"] == row["activity"]
    assert row["seconds"] == pytest.approx(
        (event["end_time"] - event["start_time"]).total_seconds())


def test_filters_and_one_type(demo_home: Path) -> None:
    from procmine.analysis.filters import Filters

    store, library = EventStore(demo_home), SopLibrary.open(demo_home)
    whole = conformance(store, library)
    p18 = conformance(store, library, business_type="P18")
    b01 = conformance(store, library, business_type="P18", filters=Filters(branches=("B01",)))
    type_row = whole.level("type").set_index("business_type").loc["P18"]
    assert p18.cases == int(type_row["cases"]) and p18.unchecked == 0
    assert p18.fitness == pytest.approx(float(type_row["fitness"]))
    branch_row = whole.level("branch_type").set_index(["branch_id", "business_type"]).loc[
        ("B01", "P18")]
    assert b01.cases == int(branch_row["cases"])
    assert set(b01.deviations["branch_id"]) <= {"B01"}
    assert isinstance(p18.ranked(), pd.DataFrame) and not p18.ranked().empty
    data = p18.to_dict()
    assert data["cases"] == p18.cases and data["ranked"][0]["case_ids"]


# -- deviations as findings ---------------------------------------------------------------------


def _report(rows: list[tuple[str, str, str, str, bool, int]],
            cases: dict[str, int]) -> ConformanceReport:
    """A report of type T: (teller, kind, activity, step, control, deviating transactions)
    rows; ``cases``: each teller's checked transactions (all at branch B01)."""
    deviations = []
    for teller, kind, activity, step, control, n in rows:
        for i in range(n):
            deviations.append({
                "case_id": f"{teller}-{activity}-{i}", "teller_id": teller, "branch_id": "B01",
                "business_type": "T", "day": None, "sop": MODEL.key, "kind": kind,
                "activity": activity, "step_id": step, "control": control,
                "position": None if kind == "skipped" else 1,
                "seconds": None if kind == "skipped" else 30.0})
    levels = [{"level": "teller_type", "teller_id": t, "branch_id": "B01", "business_type": "T",
               "cases": n, "conforming": 0, "conformance_rate": 0.0, "fitness": 1.0,
               "deviations": 0, "control_risk_cases": 0} for t, n in cases.items()]
    levels.append({"level": "type", "teller_id": None, "branch_id": None, "business_type": "T",
                   "cases": sum(cases.values()), "conforming": 0, "conformance_rate": 0.0,
                   "fitness": 1.0, "deviations": 0, "control_risk_cases": 0})
    return ConformanceReport(
        business_type="T", cases=sum(cases.values()), unchecked=0, conforming=0, fitness=1.0,
        levels=pd.DataFrame(levels), deviations=pd.DataFrame(deviations),
        models={(MODEL.key, "T"): MODEL})


def test_deviation_findings_pick_tellers_against_peers_and_every_control_risk() -> None:
    tellers = {f"T{i}": 100 for i in range(10)}
    rows = [("T1", "extra", "X", None, False, 12),      # 12 % against 1 % of the others
            *[(f"T{i}", "extra", "X", None, False, 1) for i in range(2, 10)],
            ("T3", "rework", "E", "e", False, 2),       # 2 %: too few to say
            ("T4", "skipped", "E", "e", True, 1),       # one skipped control step: a risk
            *[(f"T{i}", "rework", "A", "a", False, 7) for i in range(10)]]  # 7 % everywhere
    found = deviation_findings(_report(rows, tellers))
    summary = [(f.scope, f.kind, f.teller_id, f.activity) for f in found]
    assert summary[0] == ("teller", "skipped", "T4", "E")          # control risks first
    assert found[0].review_group == "compliance-and-control" and found[0].control_risk
    assert ("teller", "extra", "T1", "X") in summary
    assert found[summary.index(("teller", "extra", "T1", "X"))].rate == pytest.approx(0.12)
    assert found[summary.index(("teller", "extra", "T1", "X"))].peer_rate == pytest.approx(
        8 / 900)
    assert ("bank", "rework", None, "A") in summary                # a procedure problem
    bank = found[summary.index(("bank", "rework", None, "A"))]
    assert bank.deviating == 70 and bank.cases == 1000 and bank.seconds == pytest.approx(2100)
    assert bank.review_group == "accounting-and-cash"              # the SOP's owner group
    assert not [s for s in summary if s[2] in ("T3",) or (s[0] == "teller" and s[3] == "A")]
    assert len(found) == 3
    t1 = found[summary.index(("teller", "extra", "T1", "X"))]
    assert "T1" in t1.summary_in("zh-CN") and "12.0%" in t1.summary_in("en")
    assert t1.key() == "conformance|extra|teller|T1|B01|T|X"
