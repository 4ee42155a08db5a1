"""``procmine conformance``: on a hand-built log checked against one SOP of our own (every
deviation worked out by hand) and on the demo workspace with three skipped control steps added
(tests/conformance_kit.py): the text fits 80 columns, --json carries the report and the findings
numbered in order (those of ``run_deviation_findings``, which ``improve add --deviation N``
uses), --controls lists exactly the skipped control steps, a bad type or month is a clear error
without a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conformance_kit import SKIPPED, build_skipped_workspace
from typer.testing import CliRunner

from procmine import EventStore, ProcmineError, SopLibrary, ingest_log
from procmine.cli.conformance import run_deviation_findings
from procmine.cli.main import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]

CALL, VERIFY, ENTER, RECOUNT, SEE_OFF = ("Call number", "Verify identity", "Enter transaction",
                                         "Second-person recount", "See off")
_SOP = """---
id: SOP-T1
title: {zh: 测试取款, en: Test withdrawal}
business_types: [P18]
owner_group: accounting-and-cash
version: "1.0"
status: approved
effective: 2026-01-01
review_due: 2027-01-01
author: ops-standards
approved_by: chen.jie
steps:
  - id: call_number
    activity: Call number
    standard_seconds: 9
  - id: verify_identity
    activity: Verify identity
    control: true
    standard_seconds: 40
  - id: enter_transaction
    activity: Enter transaction
    standard_seconds: 38
  - id: second_person_recount
    activity: Second-person recount
    control: true
    standard_seconds: 40
    conditional: true
    when: cash amount >= 50000
    required_when: amount >= 50000
  - id: see_off
    activity: See off
    standard_seconds: 7
---
# 测试取款 Test withdrawal

## 操作步骤 Steps

### 1. 叫号 Call number {#call_number}
### 2. 身份核验 Verify identity {#verify_identity}
### 3. 录入交易 Enter transaction {#enter_transaction}
### 4. 双人复点 Second-person recount {#second_person_recount}
### 5. 送别客户 See off {#see_off}
"""
# case -> (teller, type, amount, activities); 10 seconds a step from 09:00 on 2026-09-0N
_CASES: dict[str, tuple[str, str, int, tuple[str, ...]]] = {
    "A": ("0101", "P18", 100, (CALL, VERIFY, ENTER, SEE_OFF)),               # conforms
    "B": ("0101", "P18", 60000, (CALL, VERIFY, ENTER, RECOUNT, SEE_OFF)),    # conforms
    "C": ("0102", "P18", 100, (CALL, ENTER, SEE_OFF)),                       # skipped VERIFY
    "D": ("0102", "P18", 60000, (CALL, VERIFY, ENTER, SEE_OFF)),             # skipped RECOUNT
    "E": ("0101", "P18", 100, (CALL, VERIFY, ENTER, ENTER, SEE_OFF)),        # rework ENTER
    "F": ("0101", "P18", 100, (CALL, VERIFY, "Make coffee", ENTER, SEE_OFF)),  # extra
    "G": ("0101", "P17", 100, (CALL, SEE_OFF)),                              # no SOP: unchecked
}


def _log() -> str:
    lines = ["case_id,activity,start_time,end_time,teller_id,branch_id,business_type,amount"]
    for day, (case, (teller, code, amount, steps)) in enumerate(_CASES.items(), start=1):
        for i, activity in enumerate(steps):
            lines.append(f"{case},{activity},2026-09-{day:02d} 09:00:{i * 10:02d},"
                         f"2026-09-{day:02d} 09:00:{i * 10 + 8:02d},{teller},B01,{code},{amount}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def hand_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("conformance-cli")
    (folder / "sops").mkdir()
    (folder / "sops" / "SOP-T1.md").write_text(_SOP, encoding="utf-8")
    (folder / "log.csv").write_text(_log(), encoding="utf-8")
    home = folder / "workspace"
    report = ingest_log(EventStore(home), folder / "log.csv")
    assert report.loaded == sum(len(c[3]) for c in _CASES.values()) and report.quarantined == 0
    assert SopLibrary.open(home, seed=folder / "sops").ids() == ["SOP-T1"]
    return home


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("conformance-cli-demo") / "workspace"
    return build_skipped_workspace(tmp_path_factory, home)


def _run(home: Path, *args: str) -> str:
    result = runner.invoke(app, ["conformance", "--home", str(home), *args],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.output


def _fits(text: str) -> None:
    assert max(len(line) for line in text.splitlines()) <= 80


def _control_rows(text: str) -> list[list[str]]:
    """The rows of --controls' table (under its header's rule), split into their cells (a
    step name wrapped at 80 columns joined again)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("─")) + 1
    rows: list[list[str]] = []
    for line in lines[start:]:
        cells = re.split(r"\s{2,}", line.strip())
        if not line.strip():
            continue
        if len(cells) == 1 and rows and line.startswith(" " * 20):
            rows[-1][-1] += " " + cells[0]  # a step name wrapped onto the next line
        else:
            rows.append(cells)
    return rows


# -- a hand-built log, one SOP ---------------------------------------------------------------------


def test_json_has_the_counts_deviations_and_findings_worked_out_by_hand(hand_home: Path) -> None:
    data = json.loads(_run(hand_home, "--json"))
    assert (data["cases"], data["unchecked"], data["conforming"]) == (6, 1, 2)
    assert data["conformance_rate"] == pytest.approx(2 / 6)
    ranked = {(r["kind"], r["activity"]): (r["occurrences"], r["case_ids"])
              for r in data["ranked"]}
    assert ranked == {("skipped", VERIFY): (1, ["C"]), ("skipped", RECOUNT): (1, ["D"]),
                      ("rework", ENTER): (1, ["E"]), ("extra", "Make coffee"): (1, ["F"])}
    # a fitness per teller: 0101 (A, B, E, F) and 0102 (C, D)
    tellers = {r["teller_id"]: r for r in data["levels"]["teller"]}
    assert (tellers["0101"]["cases"], tellers["0101"]["conforming"]) == (4, 2)
    assert (tellers["0102"]["cases"], tellers["0102"]["control_risk_cases"]) == (2, 2)
    # C skips a step of 5 required (3 events + 4 required steps: 1 - 1/7), F has one extra
    # event (5 events + 4 required: 1 - 1/9)
    assert tellers["0102"]["fitness"] == pytest.approx((1 - 1 / 7 + 1 - 1 / 9) / 2)
    # the findings: the two skipped control steps (no teller has 3 deviations to test), each
    # numbered, control risks first, then by step; their review group is the compliance group
    found = [(f["number"], f["teller_id"], f["kind"], f["activity"], f["case_ids"])
             for f in data["findings"]]
    assert found == [(1, "0102", "skipped", RECOUNT, ["D"]), (2, "0102", "skipped", VERIFY, ["C"])]
    assert {f["review_group"] for f in data["findings"]} == {"compliance-and-control"}
    assert data["findings"][0]["step_name_zh"] == "双人复点"
    assert {r["case_id"] for r in data["control_risks"]} == {"C", "D"}
    report, findings = run_deviation_findings(hand_home)
    assert report.cases == 6 and [f.case_ids for f in findings] == [("D",), ("C",)]


def test_text_fits_80_columns_and_numbers_the_findings(hand_home: Path) -> None:
    text = _run(hand_home, "--type", "P18", "--month", "2026-09", "--branch", "B01")
    _fits(text)
    flat = " ".join(text.split())
    assert "checked 6 transactions; unchecked 0" in flat
    assert "conforming 33.3%" in flat and "with a skipped control step 2" in flat
    assert ('1. Teller 0102 (B01), P18: skipped "Second-person recount" in 1 of 2 '
            "transactions (50.0%)") in flat
    assert '2. Teller 0102 (B01), P18: skipped "Verify identity"' in flat
    assert "skipped! │ P18 │ Verify identity │ SOP-T1@1.0 │ 1" in flat
    assert "rework │ P18 │ Enter transaction │ SOP-T1@1.0 │ 1" in flat
    assert "B01 │ 6 │ 33.3%" in flat
    # --teller: that teller's figures; the findings keep their numbers
    text = _run(hand_home, "--teller", "0101")
    assert "checked 4 transactions" in " ".join(text.split()) and "No findings" in text


def test_controls_lists_exactly_the_skipped_control_steps(hand_home: Path) -> None:
    text = _run(hand_home, "--controls")
    _fits(text)
    assert "Skipped control steps: 2 in 2 transactions" in text
    assert _control_rows(text) == [
        ["C", "0102", "B01", "2026-09-03", "SOP-T1@1.0", "Verify identity"],
        ["D", "0102", "B01", "2026-09-04", "SOP-T1@1.0", "Second-person recount"]]
    assert "Deviations, most frequent first" not in text
    text = _run(hand_home, "--controls", "--teller", "0101")
    assert "No control step was skipped." in text


def test_a_bad_type_or_month_is_a_clear_error(hand_home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["conformance", "--home", str(hand_home), "--type", "P99"])
    assert isinstance(result.exception, ProcmineError) and result.exit_code != 0
    assert "no transactions for type P99, all months; business types with data: P17, P18" in \
        str(result.exception)
    result = runner.invoke(app, ["conformance", "--home", str(hand_home), "--type", "P17"])
    assert "no SOP was in force for the 1 transactions of type P17" in str(result.exception)
    assert "an approved SOP governs: P18" in str(result.exception)
    result = runner.invoke(app, ["conformance", "--home", str(hand_home), "--month", "2026-13"])
    assert isinstance(result.exception, ProcmineError)
    result = runner.invoke(app, ["conformance", "--home", str(tmp_path / "empty")])
    assert "the store has no events" in str(result.exception)
    # the installed command: a message and exit code 2, no traceback
    done = subprocess.run([sys.executable, "-m", "procmine.cli", "conformance", "--home",
                           str(hand_home), "--type", "P99"], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert done.returncode == 2
    assert "error: no transactions for type P99" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


# -- the demo workspace ----------------------------------------------------------------------------


def test_the_demo_findings_and_control_steps(demo_home: Path) -> None:
    """The demo's figures come from the library (the demo may gain deviations of its own);
    the added skipped recounts are found with their tellers and transactions."""
    data = json.loads(_run(demo_home, "--json"))
    report, findings = run_deviation_findings(demo_home)
    assert data["cases"] == report.cases and data["unchecked"] == report.unchecked
    assert [f["key"] for f in data["findings"]] == [f.key() for f in findings]
    assert [f["number"] for f in data["findings"]] == list(range(1, len(findings) + 1))
    # control risks first; the added transactions among them, with their tellers
    risky = [f["control_risk"] for f in data["findings"]]
    assert risky == sorted(risky, reverse=True)
    recounts = {f["teller_id"]: set(f["case_ids"]) for f in data["findings"]
                if f["control_risk"] and f["activity"] == "Second-person recount"
                and f["business_type"] == "P18"}
    for case, (teller, _, _) in SKIPPED.items():
        assert case in recounts[teller]
    # --controls: every skipped control step of the report, the added ones among them
    text = _run(demo_home, "--controls")
    _fits(text)
    risks = report.control_risks()
    expected = [[str(r["case_id"]), r["teller_id"], r["branch_id"], str(r["day"])[:10], r["sop"],
                 r["activity"]] for r in risks.to_dict("records")]
    assert _control_rows(text) == expected
    for case, (teller, branch, day) in SKIPPED.items():
        assert [case, teller, branch, day, "SOP-P18@3.0", "Second-person recount"] in expected
    text = _run(demo_home, "--type", "P18", "--top", "5")
    _fits(text)
    p18 = run_deviation_findings(demo_home, business_type="P18")[1]
    assert "1. " + p18[0].summary_in("en") in " ".join(text.split())
    # rows of the two tables (a row whose first cell is blank continues a wrapped row)
    ranked = [line for line in text.splitlines()
              if line.startswith("│ ") and line[1:].split("│")[0].strip()]
    assert len(ranked) == 5 + 6   # the five most frequent deviations, six branches
    # one teller: their findings, numbered as in the whole list
    data = json.loads(_run(demo_home, "--teller", "0205", "--json"))
    assert [(f["number"], f["teller_id"]) for f in data["findings"]] == [
        (n, "0205") for n, f in enumerate(findings, start=1) if f.teller_id == "0205"]
    assert data["cases"] == int(report.level("teller").set_index("teller_id").loc[
        "0205", "cases"])
