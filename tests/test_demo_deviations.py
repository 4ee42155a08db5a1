"""Tests for the demo's deviations from the SOP and their truth (procmine.demo.deviations).

Every case of a generated log is compared with its business type's template: the steps it
skipped, added or repeated must be exactly the ones truth.json lists for it (background and
injected), so a conformance check can be scored against the truth; and the conformance check
against the bundled SOP library finds exactly those (procmine.maps.conformance).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from procmine.core.amounts import LARGE_AMOUNT
from procmine.core.baseline import load_baseline
from procmine.demo import DemoConfig, DemoError, generate_demo_log, write_demo_data
from procmine.demo.activities import CONTROL, SKIPPABLE
from procmine.demo.deviations import sop_steps
from procmine.demo.profiles import ALWAYS, CASH, LARGE, LARGE_CASH, profile_for
from procmine.demo.steps import template
from procmine.ingest.run import ingest_log
from procmine.maps.conformance import conformance
from procmine.maps.reference import reference_models
from procmine.sop.library import SopLibrary
from procmine.store.event_store import EventStore

SEED = 5


@dataclass
class Case:
    teller: str
    business_type: str
    amount: float | None
    steps: list[str]


def _cases(table: pa.Table) -> dict[str, Case]:
    """The log's cases, their steps in order (the log's rows are in case and step order)."""
    cases: dict[str, Case] = {}
    columns = [table.column(c).to_pylist()
               for c in ("case_id", "activity", "teller_id", "business_type", "amount")]
    for case_id, activity, teller, code, amount in zip(*columns, strict=True):
        if case_id not in cases:
            cases[case_id] = Case(teller, code, amount, [])
        cases[case_id].steps.append(activity)
    return cases


@cache
def _template(code: str) -> tuple[list[str], bool, list[tuple[str, int]]]:
    """A type's template: its steps in order, whether every case handles cash, and the steps
    with their conditions."""
    baseline = load_baseline()
    slots = template(code, baseline)
    return ([s.activity for s in slots], profile_for(code, baseline).cash == 1.0,
            [(s.activity, s.cond) for s in slots])


def _deviations(case: Case) -> set[tuple[str, str]]:
    """What the case does differently from its type's template: (kind, activity) of the steps
    it repeats, adds and leaves out (of the steps the case must have: the standard path, and the
    steps its amount brings where the type always handles cash). Asserts that the steps it has
    come in the template's order."""
    order, cash, slots = _template(case.business_type)
    assert len(set(order)) == len(order)  # a step occurs once in a template
    large = case.amount is not None and case.amount >= LARGE_AMOUNT
    due = {a for a, cond in slots if cond == ALWAYS or (cond == LARGE and large) or (
        cash and (cond == CASH or (cond == LARGE_CASH and large)))}
    found: set[tuple[str, str]] = set()
    for i, step in enumerate(case.steps):
        if i and case.steps[i - 1] == step:
            found.add(("rework", step))
    assert all(case.steps.count(a) <= 2 for a in case.steps)
    found |= {("extra", a) for a in case.steps if a not in order}
    found |= {("skipped", a) for a in due if a not in case.steps}
    positions = [order.index(a) for a in case.steps if a in order]
    assert positions == sorted(positions), case
    return found


def _listed(truth: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """By case: the deviations truth.json lists for it."""
    listed: dict[str, set[tuple[str, str]]] = defaultdict(set)
    background = truth["deviations"]["background"]
    for kind in ("skipped", "rework"):
        for case_id, activity in background[kind]:
            listed[case_id].add((kind, activity))
    for group in truth["deviations"]["injected"]:
        for case_id in group["cases"]:
            listed[case_id].add((group["kind"], group["activity"]))
    return listed


def _csv_digest(table: pa.Table) -> str:
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


# --- without injected deviations ----------------------------------------------------------------


def test_a_log_without_deviations_has_the_events_it_had_before_them() -> None:
    # digests of the events written before the deviations existed (the same code path otherwise)
    table, truth = generate_demo_log(DemoConfig(events=20_000, seed=3))
    assert _csv_digest(table) == (
        "a582838970f6f0127cea8e2fda581f3b4b05e2ae91265518675839279d03e926")
    table, _ = generate_demo_log(DemoConfig(events=20_000, seed=11, waits=1, conditional_slow=1,
                                            slow_teller=1.3))
    assert _csv_digest(table) == (
        "7c3ec962e0f2addc17bc3cdb46b963129b0a3d29ba2c96200a8cb3077b2a9a62")
    assert truth["deviations"]["injected"] == []
    assert truth["deviations"]["settings"] == {"deviations": 0, "deviation_share": 0.3}


def test_the_background_truth_lists_exactly_the_cases_that_skip_or_rework() -> None:
    table, truth = generate_demo_log(DemoConfig(events=60_000, seed=SEED))
    cases = _cases(table)
    background = truth["deviations"]["background"]
    assert background["skipped"] == sorted(background["skipped"])
    assert background["rework"] == sorted(background["rework"])
    assert {activity for _, activity in background["skipped"]} <= SKIPPABLE
    # about 1% skip a step and 3% rework one; the rates of the truth are these lists
    assert len(background["skipped"]) == round(truth["rates"]["skipped_step"] * len(cases))
    assert len(background["rework"]) == round(truth["rates"]["rework"] * len(cases))
    assert 0.005 < len(background["skipped"]) / len(cases) < 0.02
    assert 0.015 < len(background["rework"]) / len(cases) < 0.05
    listed = _listed(truth)
    found = {c: d for c, case in cases.items() if (d := _deviations(case))}
    assert found == listed
    # a reworked step: two adjacent rows
    case_id, activity = background["rework"][0]
    steps = cases[case_id].steps
    assert steps.count(activity) == 2
    assert steps[steps.index(activity) + 1] == activity


# --- injected deviations ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def injected_log() -> tuple[dict[str, Case], dict[str, Any]]:
    table, truth = generate_demo_log(DemoConfig(events=150_000, seed=SEED, deviations=1))
    return _cases(table), truth


def test_every_case_is_listed_under_exactly_the_deviations_it_has(
        injected_log: tuple[dict[str, Case], dict[str, Any]]) -> None:
    cases, truth = injected_log
    found = {c: d for c, case in cases.items() if (d := _deviations(case))}
    assert found == _listed(truth)


def test_each_group_is_one_tellers_cases_of_one_type_with_the_step_missing_added_or_doubled(
        injected_log: tuple[dict[str, Case], dict[str, Any]]) -> None:
    cases, truth = injected_log
    groups = truth["deviations"]["injected"]
    assert [g["kind"] for g in groups] == ["skipped", "extra", "rework"]
    assert len({g["teller_id"] for g in groups}) == 3
    other_tellers = {s["teller_id"] for s in truth["slow_steps"] if s["teller_id"]}
    governed = sop_steps()
    for g in groups:
        assert g["teller_id"] not in other_tellers
        assert g["business_type"] in governed
        assert g["branch_id"] == f"B{g['teller_id'][:2]}"
        mine = {c for c, case in cases.items()
                if (case.teller, case.business_type) == (g["teller_id"], g["business_type"])}
        hit = set(g["cases"])
        assert hit <= mine and g["eligible_cases"] == len(mine)
        activity = g["activity"]
        rework = {c for c, a in truth["deviations"]["background"]["rework"] if a == activity}
        if g["kind"] == "skipped":
            assert activity == "Check signature and stamp" and g["control"] is True
            assert {c for c in mine if activity not in cases[c].steps} == hit
        elif g["kind"] == "extra":
            assert activity not in governed[g["business_type"]] and g["control"] is False
            assert {c for c in mine if activity in cases[c].steps} == hit
            for c in hit:  # right after its step (after both rows where that step was reworked)
                steps = cases[c].steps
                assert steps[steps.index(activity) - 1] == g["after"]
                assert steps[steps.index(activity) + 1] != g["after"]
        else:
            assert activity not in CONTROL and g["control"] is False
            doubled = {c for c in mine if cases[c].steps.count(activity) == 2}
            assert doubled == hit | (rework & mine) and not hit & rework
        # the share: within a binomial tolerance (4 standard deviations) of 0.3
        n, p = len(mine), g["share"]
        assert n >= 40 and p == 0.3
        assert abs(len(hit) - n * p) <= 4 * math.sqrt(n * p * (1 - p))
        assert g["actual_share"] == round(len(hit) / n, 4)


def test_a_big_log_also_skips_a_control_step_that_large_cash_brings() -> None:
    config = DemoConfig(events=1_000_000, seed=2, deviations=1, deviation_share=0.5)
    table, truth = generate_demo_log(config)
    first, large, *_ = truth["deviations"]["injected"]
    assert (first["kind"], large["kind"], large["teller_id"]) == ("skipped", "skipped",
                                                                  first["teller_id"])
    code, activity = large["business_type"], large["activity"]
    assert activity in CONTROL and large["control"] is True and large["share"] == 0.5
    step = sop_steps()[code][activity]
    assert step.control and step.required_when is not None
    assert step.required_when.text == "amount >= 50000"
    teller = table.filter(pa.compute.equal(table["teller_id"], large["teller_id"]))
    cases = {c: case for c, case in _cases(teller).items() if case.business_type == code}
    listed = _listed(truth)
    found = {c: d for c, case in cases.items() if (d := _deviations(case))}
    assert found == {c: listed[c] for c in cases if c in listed}
    assert any(("skipped", activity) in d for d in found.values())
    due = {c for c, case in cases.items() if case.amount is not None
           and case.amount >= LARGE_AMOUNT}
    assert set(large["cases"]) == {c for c in due if activity not in cases[c].steps}
    assert large["eligible_cases"] == len(due) >= 40
    n = len(due)
    assert abs(len(large["cases"]) - n * 0.5) <= 4 * math.sqrt(n * 0.25)


def test_the_settings_are_checked() -> None:
    with pytest.raises(DemoError, match="deviations is -1, expected 0 or more"):
        generate_demo_log(DemoConfig(events=5_000, deviations=-1))
    with pytest.raises(DemoError, match=r"deviation_share is 1\.5, expected a share above 0"):
        generate_demo_log(DemoConfig(events=5_000, deviations=1, deviation_share=1.5))


# --- found by the conformance check -------------------------------------------------------------


def _conformance_agrees(folder: Path, config: DemoConfig) -> tuple[dict[str, Any], Any]:
    """Generate ``config``'s log into a store and check it against the bundled SOP library:
    each injected group's deviation rows (its teller x type x activity x kind) are its cases
    exactly (the teller's background deviations of the same step aside), and every case of a
    governed type has exactly the deviations the truth lists for it (none, for the others).
    Returns the truth and the report."""
    result = write_demo_data(folder / "demo", config, fmt="parquet")
    truth = json.loads(result.truth_path.read_text(encoding="utf-8"))
    store = EventStore(folder / "workspace")
    ingest_log(store, result.events_path)
    library = SopLibrary.open(folder / "workspace")
    report = conformance(store, library)
    rows = report.deviations
    for g in truth["deviations"]["injected"]:
        mine = rows[(rows["teller_id"] == g["teller_id"])
                    & (rows["business_type"] == g["business_type"])
                    & (rows["activity"] == g["activity"]) & (rows["kind"] == g["kind"])]
        background = {c for c, a in truth["deviations"]["background"].get(g["kind"], [])
                      if a == g["activity"]} & set(mine["case_id"])
        assert sorted(set(mine["case_id"]) - background) == g["cases"], g["kind"]
        assert len(mine) == len(g["cases"]) + len(background)
        assert set(mine["branch_id"]) == {g["branch_id"]}
        assert set(mine["control"]) == {g["control"]}
    per_case = store.read_events(["case_id", "business_type"]).to_pandas().groupby(
        "case_id")["business_type"].first()
    governed = {m.business_type for m in reference_models(library)[0]}
    listed = {c: d for c, d in _listed(truth).items() if per_case[c] in governed}
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for case_id, kind, activity in zip(rows["case_id"], rows["kind"], rows["activity"],
                                       strict=True):
        found[case_id].add((kind, activity))
    assert dict(found) == listed
    checked = set(per_case[per_case.isin(governed)].index)
    assert report.cases == len(checked) and report.conforming == len(checked - set(listed))
    return truth, report


def test_the_conformance_report_finds_every_injected_group_and_nothing_else(
        tmp_path: Path) -> None:
    truth, report = _conformance_agrees(
        tmp_path, DemoConfig(events=150_000, seed=SEED, deviations=1))
    assert len(truth["deviations"]["injected"]) == 3
    assert report.cases - report.conforming > 300 and report.conforming > 9_000
    # the skipped control step is a control risk of the compliance group's list, with its teller
    [skipped] = [g for g in truth["deviations"]["injected"] if g["kind"] == "skipped"]
    risks = report.control_risks()
    assert sorted(risks["case_id"]) == skipped["cases"]
    assert set(risks["teller_id"]) == {skipped["teller_id"]}


def test_the_conformance_report_finds_the_skipped_large_cash_control_step(
        tmp_path: Path) -> None:
    truth, report = _conformance_agrees(
        tmp_path, DemoConfig(events=1_000_000, seed=2, deviations=1, deviation_share=0.5))
    large = truth["deviations"]["injected"][1]
    assert (large["kind"], large["activity"]) == ("skipped", "Register large cash")
    assert len(large["cases"]) >= 20
    risks = report.control_risks()
    assert set(risks.loc[risks["activity"] == large["activity"], "case_id"]) == set(
        large["cases"])


def test_the_command_injects_the_deviations(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from procmine.cli.main import app

    result = CliRunner().invoke(app, ["demo-data", str(tmp_path), "--events", "150000", "--seed",
                                      str(SEED), "--deviations", "1", "--deviation-share", "0.5",
                                      "--json"])
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert truth["deviations"]["settings"] == {"deviations": 1, "deviation_share": 0.5}
    assert [g["kind"] for g in truth["deviations"]["injected"]] == ["skipped", "extra", "rework"]
    result = CliRunner().invoke(app, ["demo-data", str(tmp_path), "--deviations", "1",
                                      "--deviation-share", "2"])
    assert isinstance(result.exception, DemoError)  # the CLI prints it without a traceback
    assert "deviation_share is 2.0, expected a share above 0" in str(result.exception)


def test_the_deviating_tellers_are_in_no_other_injection() -> None:
    from procmine.demo.plan import make_plan

    plan = make_plan(DemoConfig(events=150_000, seed=SEED, deviations=2, waits=1,
                                conditional_slow=1, slow_branch=1.3))
    staff, injected = plan.staff, plan.injected
    others: set[int] = set()
    for g in [*plan.slow, *injected.conditional, *injected.waits, *injected.overall]:
        others |= ({g.teller} if g.scope == "teller"
                   else {int(j) for j in range(len(staff.teller_ids))
                         if staff.tel_branch[j] == g.branch})
    tellers = [d.teller for d in plan.deviations]
    assert len(tellers) == 6 and len(set(tellers)) == 6 and not set(tellers) & others
    assert [d.kind for d in plan.deviations] == ["skipped"] * 2 + ["extra"] * 2 + ["rework"] * 2
