"""SOPs and the log: dated references, findings linked to SOP steps, coverage, and the effect of
a revision on the bundled demo log, whose P18 "Count cash" got 30% faster at B01-B03 from
2026-09-21 and at B04-B06 from 2026-10-12."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from procmine.core.baseline import load_baseline
from procmine.demo import bundled_demo_config
from procmine.demo.workspace import bundled_demo_log, record_demo_revision
from procmine.ingest.run import ingest_log
from procmine.sop.library import SopLibrary
from procmine.sop.links import (
    coverage_report,
    findings_by_step,
    linked_findings,
    revision_effects,
    sop_references,
)
from procmine.store.event_store import EventStore

BASELINE = load_baseline()
STORY = bundled_demo_config().revisions[0]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("sop-links")
    ingest_log(EventStore(home), bundled_demo_log(), baseline=BASELINE)
    library = SopLibrary.open(home)
    assert record_demo_revision(library, STORY) is not None
    return home


@pytest.fixture(scope="module")
def library(home: Path) -> SopLibrary:
    return SopLibrary.open(home)


def test_the_demo_revision_is_a_reviewed_major_version(library: SopLibrary) -> None:
    history = library.history("SOP-P18")
    assert [v.action for v in history] == ["approve", "submit", "save", "seed"]
    approved = history[0]
    assert (approved.sop.version, approved.author, approved.sop.approved_by) == (
        "3.0", "reviewer2", "reviewer2")
    assert history[2].author == "reviewer"
    assert approved.sop.step("count_cash").standard_seconds < 37
    assert approved.sop.adoption["B01"] == date(2026, 9, 21)
    assert approved.sop.adoption["B06"] == date(2026, 10, 12)
    assert approved.when.date() == date(2026, 9, 14)
    # the revised library still lints clean
    from procmine.sop.lint import lint_sops

    assert lint_sops(library.root, BASELINE).errors == []


def test_references_follow_versions_and_branch_adoption(library: SopLibrary) -> None:
    refs = sop_references(library)
    count_cash = [r for r in refs if (r.business_type, r.activity) == ("P18", "Count cash")]

    def seconds_on(day: date, branch: str) -> float:
        own = [r for r in count_cash if r.branch_id == branch and r.in_force(day, branch)]
        rows = own or [r for r in count_cash if r.branch_id is None and r.in_force(day, branch)]
        (row,) = rows
        return row.seconds

    new = library.approved("SOP-P18").sop.step("count_cash").standard_seconds  # type: ignore[union-attr]
    assert seconds_on(date(2026, 9, 20), "B01") == 37
    assert seconds_on(date(2026, 9, 21), "B01") == new
    assert seconds_on(date(2026, 10, 11), "B04") == 37
    assert seconds_on(date(2026, 10, 12), "B04") == new
    # every type of every SOP has its standard path covered, one SOP per type x step
    keys = {(r.business_type, r.activity, r.branch_id, r.valid_from) for r in refs}
    assert len(keys) == len(refs)
    p17 = [r for r in refs if r.business_type == "P17" and r.branch_id is None]
    assert sum(r.seconds for r in p17 if r.activity != "Reverse transaction"
               and not library.approved("SOP-P17").sop.step(r.sop_step).conditional  # type: ignore[union-attr]
               ) == BASELINE.standard_seconds("P17")


def test_findings_are_linked_to_sop_steps(home: Path, library: SopLibrary) -> None:
    store = EventStore(home)
    found = linked_findings(store, BASELINE, library)
    truth = json.loads((bundled_demo_log().parent / "demo_truth.json").read_text())
    injected = {(s["scope"], s.get("teller_id"), s["branch_id"], s["business_type"],
                 s["activity"]) for s in truth["slow_steps"]}
    got = {(f.scope, f.teller_id, f.branch_id, f.business_type, f.activity) for f in found}
    assert injected <= got
    assert len(got & injected) >= 0.9 * len(got)
    sops = {v.sop.id: v.sop for v in library.latest().values()}
    linked = [f for f in found if f.sop is not None]
    assert linked, "the injected slow steps fall on types the SOPs cover"
    for f in linked:
        step = sops[f.sop].step(f.sop_step)  # type: ignore[arg-type]
        assert step.activity == f.activity
        assert f.business_type in sops[f.sop].business_types  # type: ignore[index]
        assert f.reference_source in ("sop", "mixed")
    for f in found:
        covered = any(f.business_type in s.business_types for s in sops.values())
        assert (f.sop is not None) == covered or f.activity == "Reverse transaction"
    by_step = findings_by_step(found, sops[linked[0].sop])  # type: ignore[index]
    assert by_step["findings"].sum() == sum(1 for f in found if f.sop == linked[0].sop)
    assert by_step.loc[by_step["step_id"] == linked[0].sop_step, "monthly_teller_hours"].iloc[0] \
        == pytest.approx(sum(f.monthly_teller_hours for f in found if f.sop == linked[0].sop
                             and f.sop_step == linked[0].sop_step), abs=0.01)


def test_coverage_report(home: Path, library: SopLibrary) -> None:
    store = EventStore(home)
    report = coverage_report(store, BASELINE, library)
    covered = {t for v in library.latest().values() for t in v.sop.business_types}
    cases = dict(duckdb.connect().execute(
        "SELECT business_type, count(DISTINCT case_id) FROM read_parquet($f) GROUP BY 1",
        {"f": str(bundled_demo_log())}).fetchall())
    expected = {t: n for t, n in cases.items() if t not in covered}
    assert dict(zip(report.uncovered_types["business_type"], report.uncovered_types["transactions"],
                    strict=True)) == expected
    assert report.transactions == sum(cases.values())
    assert report.transaction_share == pytest.approx(
        sum(n for t, n in cases.items() if t in covered) / sum(cases.values()))
    # the reversal step of covered types is governed by the SOPs' conditional steps: every
    # frequent uncovered step is really absent from the SOP of its type
    for code, activity in zip(report.uncovered_steps["business_type"],
                              report.uncovered_steps["activity"], strict=True):
        sop = next(v.sop for v in library.latest().values() if code in v.sop.business_types)
        assert activity not in {s.activity for s in sop.steps_for(code)}


def test_the_revision_shows_its_effect(home: Path, library: SopLibrary) -> None:
    effects = revision_effects(EventStore(home), library, "SOP-P18")
    assert set(effects["version"]) == {"3.0"}
    row = effects[effects["step_id"] == "count_cash"].iloc[0]
    assert row["n_before"] > 100 and row["n_after"] > 100
    assert row["change"] == pytest.approx(STORY.factor - 1, abs=0.08)
    assert row["p_value"] < 1e-6
    # the branches still on the old version are the control group
    assert row["did_effect"] == pytest.approx(STORY.factor - 1, abs=0.1)
    assert row["did_p_value"] < 1e-3
    assert row["did_groups"].startswith("B01,B02,B03 vs B04,B05,B06")
    others = effects[(effects["step_id"] != "count_cash") & (effects["n_before"] > 300)]
    assert len(others) >= 5
    assert (others["did_effect"].abs() < 0.12).all(), others[["step_id", "did_effect"]]
    assert (others["change"].abs() < 0.15).all(), others[["step_id", "change"]]
