"""``procmine bottlenecks`` on a terminal (issue 19): one line per finding on 80 columns, the
full table on a wide terminal, the evidence of a finding as text with ``--explain``; every kind
of finding (step, wait, overall, baseline; conditional, inferred) prints sensibly."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.analysis.findings import Finding
from procmine.cli.findings_view import (
    compact_lines,
    evidence_lines,
    findings_table,
    period_text,
    step_text,
)
from procmine.cli.main import app
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.demo import DemoConfig, write_demo_data
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

runner = CliRunner()
#: a compact line: rank, kind (* inferred), hours a month, ratio (interval), who/type/step
LINE = re.compile(r"^\s*(\d+)  (\w+)(\*?)\s+([\d,.]+|–)  ([\d.]+)x(?: \(([\d.]+)-([\d.]+)\))?"
                  r"\s+(.*)$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory,
         baseline: Baseline) -> tuple[EventStore, list[Finding]]:
    folder = tmp_path_factory.mktemp("bottlenecks-table")
    result = write_demo_data(folder / "demo", DemoConfig(events=60_000, seed=21), fmt="parquet")
    store = EventStore(folder / "ws")
    ingest_log(store, result.events_path)
    findings = find_bottlenecks(store, baseline, evidence=True)
    assert len(findings) >= 4 and {f.scope for f in findings} == {"teller", "branch"}
    return store, findings


def _run(store: EventStore, columns: int, *args: str) -> Any:
    result = runner.invoke(app, ["bottlenecks", "--home", str(store.home), *args],
                           env={"COLUMNS": str(columns)})
    return result


def _finding(**changes: Any) -> Finding:
    base = Finding(
        "teller", "0305", "B03", "P17", "Enter transaction", 120, 130, 95.0, 140.0, 38.0,
        "baseline share", 2.5, 1.0, 57.0, 160_000.0, 22.7, 2.0, 1e-9, 1e-7, 40.0, 41.0,
        ratio_ci=(2.1, 2.9), period_days=61.0, peer_seconds=39.5,
        peer_basis="median of the other branches' medians",
    )
    return replace(base, **changes)


def _kinds() -> list[Finding]:
    """One finding of every kind and shape, with long names."""
    return [
        _finding(condition={"dimension": "hour_band", "value": "closing"}),
        _finding(kind="wait", scope="branch", teller_id=None, branch_id="B0007",
                 activity="Supervisor authorisation of the large withdrawal", ratio=6.0,
                 ratio_ci=(5.1, 7.2), inferred=True, tellers_flagged=("0701", "0702"),
                 tellers_eligible=7, monthly_teller_hours=37.4,
                 condition={"dimension": "amount_band", "value": "50,000-199,999"}),
        _finding(kind="overall", scope="branch", teller_id=None, branch_id="B04",
                 business_type="", activity="", ratio=1.6, ratio_ci=(1.5, 1.7),
                 monthly_teller_hours=118.25, period_days=47.0),
        _finding(kind="overall", teller_id="TLR-000123456", branch_id="B01", business_type="",
                 activity="", ratio=1.3, ratio_ci=(1.2, 1.4), monthly_teller_hours=9.1),
        _finding(kind="baseline", scope="type", teller_id=None, branch_id=None,
                 business_type="C07", activity="", median_seconds=310.0,
                 reference_seconds=150.0, ratio=2.07, ratio_ci=(1.95, 2.2),
                 time_lost_seconds=0.0, monthly_teller_hours=0.0),
        _finding(activity="柜员录入交易信息并打印凭证", business_type="P02",
                 condition={"dimension": "weekday", "value": "mon"}, ratio_ci=None),
    ]


def _parsed(lines: list[str]) -> dict[int, tuple[re.Match[str], str]]:
    """Each finding's compact line (its match) and its text with continuation lines."""
    found: dict[int, tuple[re.Match[str], str]] = {}
    current = None
    for line in lines[1:]:
        match = LINE.match(line)
        if match:
            current = int(match.group(1))
            found[current] = (match, match.group(8))
        elif current is not None and line.startswith(" ") and line.strip():
            match, text = found[current]
            found[current] = (match, f"{text} {line.strip()}")
    return found


def _check_line(f: Finding, match: re.Match[str], text: str) -> None:
    assert match.group(2) == f.kind and (match.group(3) == "*") == f.inferred
    hours = match.group(4)
    assert hours == "–" or float(hours.replace(",", "")) == round(f.monthly_teller_hours, 1)
    assert float(match.group(5)) == round(f.ratio, 1)
    if f.ratio_ci is None:
        assert match.group(6) is None
    else:
        assert (float(match.group(6)), float(match.group(7))) == (
            round(f.ratio_ci[0], 1), round(f.ratio_ci[1], 1))
    who = f.teller_id if f.scope == "teller" else f.branch_id
    assert who is None or text.startswith(who + " ")
    step = step_text(f)
    # a word wider than the room (Chinese text has no spaces) is folded over lines
    assert text.endswith(step) or (
        not step.isascii() and text.replace(" ", "").endswith(step.replace(" ", "")))


# -- the command on the demo store -----------------------------------------------------------------


def test_80_columns_one_line_per_finding(demo: tuple[EventStore, list[Finding]]) -> None:
    store, findings = demo
    result = _run(store, 80)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(cell_len(line) <= 80 for line in lines), [ln for ln in lines if len(ln) > 80]
    assert "…" not in result.stdout and "┃" not in result.stdout  # no table, nothing cut
    assert lines[0].startswith("Slow steps, all months: ")
    assert f"{len(findings)} findings" in lines[0]
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("#  kind")):]
    rows = _parsed(table)
    assert sorted(rows) == list(range(1, len(findings) + 1))
    for rank, f in enumerate(findings, start=1):
        _check_line(f, *rows[rank])
    assert "--explain N" in result.stdout


def test_wide_terminal_shows_the_full_table(demo: tuple[EventStore, list[Finding]]) -> None:
    store, findings = demo
    result = _run(store, 200)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "…" not in out and all(cell_len(line) <= 200 for line in out.splitlines())
    header = next(line for line in out.splitlines() if "reference s" in line)
    for column in ("kind", "scope", "who", "type", "step", "condition", "cases", "median s",
                   "ratio", "95% CI", "inferred", "q", "hours/month", "days", "SOP step"):
        assert column in header
    for rank, f in enumerate(findings, start=1):
        row = next(line for line in out.splitlines() if line.startswith(f"│ {rank} "))
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert cells[:6] == [str(rank), "step", f.scope, (
            f"{f.teller_id} ({f.branch_id})" if f.scope == "teller" else
            f"{f.branch_id} ({len(f.tellers_flagged)} of {f.tellers_eligible} eligible tellers "
            "slow)"),
            f.business_type, f.activity]
        assert cells[7:11] == [f"{f.cases:,}", f"{f.median_seconds:,.0f}",
                               f"{f.reference_seconds:,.0f}", f"{f.ratio:.1f}x"]
        assert cells[14] == f"{f.monthly_teller_hours:,.1f}"
    assert f"1. {findings[0].summary}" in out


def test_a_middle_width_falls_back_to_lines(demo: tuple[EventStore, list[Finding]]) -> None:
    store, findings = demo
    result = _run(store, 110)
    assert result.exit_code == 0 and "┃" not in result.stdout
    assert all(cell_len(line) <= 110 for line in result.stdout.splitlines())
    lines = result.stdout.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("#  kind")):]
    rows = _parsed(table)
    assert sorted(rows) == list(range(1, len(findings) + 1))
    for rank, f in enumerate(findings, start=1):
        _check_line(f, *rows[rank])


def test_explain_prints_a_findings_evidence(demo: tuple[EventStore, list[Finding]]) -> None:
    store, findings = demo
    result = _run(store, 80, "--explain", "1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(cell_len(line) <= 80 for line in lines) and "…" not in result.stdout
    text = " ".join(" ".join(lines).split())
    f = findings[0]
    assert f.evidence is not None
    assert f"#1 step: {' '.join(f.summary.split())}" in text
    assert "#2 " not in text
    comparison = f.evidence["comparison"]
    assert (f"here {comparison['group_median_seconds']:,.0f} s, branch "
            f"{comparison['branch_median_seconds']:,.0f} s, bank "
            f"{comparison['bank_median_seconds']:,.0f} s") in text
    rework = f.evidence["rework"]
    assert f"bank {rework['bank_rate']:.1%}" in text
    for heading in ("by amount band:", "by hour of day:", "by window type:", "month by month:"):
        assert heading in text
    for row in f.evidence["by_month"]:  # month, steps here, median here, bank steps, median
        expected = [row["value"], f"{row['group_steps']:,}",
                    "–" if row["group_median_seconds"] is None
                    else f"{row['group_median_seconds']:,.0f}",
                    f"{row['bank_steps']:,}", f"{row['bank_median_seconds']:,.0f}"]
        assert any(line.split() == expected for line in lines)


def test_explain_all_and_a_wrong_number(demo: tuple[EventStore, list[Finding]]) -> None:
    store, findings = demo
    result = _run(store, 80, "--explain", "all")
    assert result.exit_code == 0
    assert [int(m) for m in re.findall(r"^#(\d+) ", result.stdout, flags=re.M)] == list(
        range(1, len(findings) + 1))
    for wrong in ("99", "0", "first"):
        result = _run(store, 80, "--explain", wrong)
        assert isinstance(result.exception, ProcmineError), wrong
        assert "--explain" in str(result.exception)


def test_json_is_unchanged_by_the_width(demo: tuple[EventStore, list[Finding]]) -> None:
    store, findings = demo
    data = json.loads(_run(store, 80, "--json").stdout)
    assert [d["ratio"] for d in data] == [f.ratio for f in findings]


# -- every kind, built by hand ---------------------------------------------------------------------


@pytest.mark.parametrize("width", [60, 80, 100])
def test_every_kind_fits_a_narrow_terminal(width: int) -> None:
    findings = _kinds()
    lines = compact_lines(findings, width)
    assert all(cell_len(line) <= width for line in lines), lines
    assert "…" not in "".join(lines)
    rows = _parsed(lines)
    assert sorted(rows) == list(range(1, len(findings) + 1))
    for rank, f in enumerate(findings, start=1):
        _check_line(f, *rows[rank])
    texts = [rows[i][1] for i in range(1, len(findings) + 1)]
    assert texts[0] == "0305 (B03) P17 Enter transaction, after 15:00"
    assert texts[1] == ("B0007 (2 of 7 eligible tellers slow) P17 before Supervisor "
                        "authorisation of the large withdrawal, amount 50,000-199,999")
    assert texts[2] == "B04 (no teller with enough cases) all steps"
    assert texts[3] == "TLR-000123456 (B01) all steps"
    assert texts[4] == "bank C07 all steps"
    assert rows[5][0].group(4) == "–"  # a baseline finding costs no teller hours itself
    assert texts[5].replace(" ", "") == "0305(B03)P02柜员录入交易信息并打印凭证,onMondays"


def test_every_kind_in_the_wide_table() -> None:
    console = Console(width=230, record=True)   # a branch's who names its eligible tellers
    console.print(findings_table(_kinds(), "all months"))
    out = console.export_text()
    assert "…" not in out
    assert "costs a month over 47-61 days of data (each branch its own period)" in " ".join(
        out.split())
    rows = [[c.strip() for c in line.strip("│").split("│")]
            for line in out.splitlines() if line.startswith("│ ")]
    assert [r[1] for r in rows if r[0]] == ["step", "wait", "overall", "overall", "baseline",
                                            "step"]
    first = {r[0]: r for r in rows if r[0]}
    assert first["1"][6] == "after 15:00" and first["1"][11] == "2.1-2.9"
    assert first["2"][3] == "B0007 (2 of 7 eligible tellers slow)" and first["2"][12] == "yes"
    assert first["3"][4:6] == ["all", "all steps"] and first["3"][15] == "47"
    assert first["4"][3] == "TLR-000123456 (B01)"
    assert first["5"][2:6] == ["type", "bank", "C07", "all steps"]
    assert first["5"][14] == "–" and first["1"][14] == "22.7" and first["3"][14] == "118.2"


def test_the_period_of_the_costs() -> None:
    assert period_text([_finding()]) == "costs a month over 61 days of data (2.0 months)"
    assert period_text([_finding(period_days=20.5), _finding()]) == (
        "costs a month over 20.5-61 days of data (each branch its own period)")
    assert period_text([_finding(period_days=0.0, months=1.5)]) == (
        "costs a month over 1.5 months of data")


def test_evidence_of_a_new_kind_reads_as_text() -> None:
    f = _finding(kind="wait", inferred=True, evidence={
        "waited_for": [{"user": "S0101", "cases": 40, "median_seconds": 121.5},
                       {"user": "S0102", "cases": 12, "median_seconds": 8.25}],
        "wait_before": {"group_median_seconds": 130.0, "branch_median_seconds": 12.0,
                        "bank_median_seconds": None},
        "standard_review": "bank median 2.1x the standard on 4,210 cases",
        "slices": [],
    })
    lines = evidence_lines(f, 3, 80)
    assert all(cell_len(line) <= 80 for line in lines)
    text = "\n".join(lines)
    assert lines[0].startswith("#3 wait: Teller 0305 (B03), P17 waiting before Enter")
    assert "  ratio 2.5x (95% interval 2.1-2.9); 120 cases, 130 steps; q 1e-07" in lines
    assert ("  peers 40 s (median of the other branches' medians)") in lines
    assert "  costs 22.7 teller hours a month: 44.4 hours lost over 61 days (2.0 months)" in lines
    assert "may include waiting" in text
    assert "  wait before the step: here 130 s, branch 12 s, bank –" in lines
    assert "  waited for:" in lines
    table = lines[lines.index("  waited for:") + 1:][:3]
    assert [row.split() for row in table] == [["user", "cases", "median", "s"],
                                              ["S0101", "40", "122"], ["S0102", "12", "8.2"]]
    assert "  standard review: bank median 2.1x the standard on 4,210 cases" in lines
    assert "  slices: none" in lines
    assert evidence_lines(replace(f, evidence=None), 3, 80)[-1] == (
        "  (no evidence was computed for this finding)")


def test_no_findings_still_says_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bottlenecks", "--home", str(tmp_path / "ws")],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0 and "No slow steps in all months" in result.stdout
