"""The monthly announcement's exports (Excel, printable HTML) and the ``league`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from procmine.analysis.league import league_records, monthly_league
from procmine.cli.analysis import league as league_command
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.reports.league import (
    add_spot_checks,
    column_labels,
    export_league_excel,
    export_league_html,
)
from procmine.store.event_store import EventStore

# --------------------------------------------------------------------------------------------------
# Fixture: a generated demo log (two months)
# --------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------
# Exports and the command
# --------------------------------------------------------------------------------------------------


def test_excel_export_has_a_bank_sheet_then_one_per_branch_formatted(
    league_demo: tuple[EventStore, list[str]], baseline: Baseline, tmp_path: Path
) -> None:
    store, months = league_demo
    league = monthly_league(store, baseline, months[1])
    path = export_league_excel(league, tmp_path / "out" / "league.xlsx")
    book = load_workbook(path)
    branches = sorted(league["branch_id"].unique())
    assert book.sheetnames == ["全行", *branches]
    labels = column_labels("zh-CN")
    for name in book.sheetnames:
        sheet = book[name]
        assert months[1] in sheet["A1"].value and name in sheet["A1"].value
        header = [c.value for c in sheet[2]]
        assert header[:3] == [labels["rank_overall"], labels["rank_in_branch"], "柜员号"]
        col = {v: i + 1 for i, v in enumerate(header)}
        assert sheet.cell(2, 1).font.bold
        assert sheet.cell(2, 1).fill.fgColor.rgb.endswith("305496")
        assert sheet.freeze_panes == "D3"
        rows = league if name == "全行" else league[league["branch_id"] == name]
        first = sheet.cell(3, col[labels["speed_index_shrunk"]])
        assert first.number_format == "0.00"
        assert first.value == pytest.approx(rows["speed_index_shrunk"].max())
        assert sheet.cell(3, col[labels["error_rate"]]).number_format == "0.00%"
        assert sheet.cell(3, col[labels["error_rate_shrunk"]]).number_format == "0.00%"
        tellers = [sheet.cell(r, col["柜员号"]).value for r in range(3, 3 + len(rows))]
        assert sorted(tellers) == sorted(rows["teller_id"])
        assert sheet.cell(3 + len(rows), col["柜员号"]).value is None
        letter = sheet.cell(3, col[labels["speed_index_shrunk"]]).column_letter
        ranges = [str(r.sqref) for r in sheet.conditional_formatting]
        assert f"{letter}3:{letter}{2 + len(rows)}" in ranges
        rules = [rule for r in sheet.conditional_formatting for rule in r.rules]
        assert all(rule.type == "colorScale" for rule in rules)
    bank = book["全行"]
    assert [bank.cell(r, 1).value for r in range(3, 3 + len(league))] == list(
        range(1, len(league) + 1))
    english = load_workbook(export_league_excel(league, tmp_path / "en.xlsx", lang="en"))
    assert english.sheetnames[0] == "All branches"
    assert english["All branches"]["C2"].value == "Teller"


def test_html_export_is_printable_and_self_contained(
    league_demo: tuple[EventStore, list[str]], baseline: Baseline, tmp_path: Path
) -> None:
    store, months = league_demo
    league = monthly_league(store, baseline, months[1])
    text = export_league_html(league, tmp_path / "league.html", months[1], "en").read_text(
        encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<html lang="en">' in text
    assert f"<title>{months[1]} Monthly announcement</title>" in text
    for teller in league["teller_id"]:
        assert f"<td class=\"text\">{teller}</td>" in text
    assert "@media print" in text and "break-before: page" in text and "@page" in text
    assert text.count('<section class="branch">') == league["branch_id"].nunique()
    assert text.count("<table>") == 1 + league["branch_id"].nunique()
    for external in ("<link", "<script", "http://", "https://", "src="):
        assert external not in text
    zh = export_league_html(league, tmp_path / "zh.html").read_text(encoding="utf-8")
    assert "柜员号" in zh and f"{months[1]} 月度通报" in zh


def test_league_command_prints_json_and_writes_the_exports(
    league_demo: tuple[EventStore, list[str]], baseline: Baseline, tmp_path: Path
) -> None:
    store, months = league_demo
    app = typer.Typer()
    app.command("league")(league_command)
    runner = CliRunner()
    assert "YYYY-MM" in runner.invoke(app, ["--help"]).output
    result = runner.invoke(app, ["--month", months[1], "--home", str(store.home), "--json",
                                 "--excel", str(tmp_path / "l.xlsx"),
                                 "--html", str(tmp_path / "l.html")])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    expected = league_records(monthly_league(store, baseline, months[1]))
    assert len(records) == len(expected)
    for got, want in zip(records, expected, strict=True):
        assert got.keys() == want.keys()
        for key, value in want.items():  # floats may differ in the last bit (thread order)
            assert got[key] == (pytest.approx(value, rel=1e-12) if isinstance(value, float)
                                else value), key
    assert records[0]["rank_overall"] == 1 and records[0]["prev_rank_overall"] is not None
    assert (tmp_path / "l.xlsx").exists() and (tmp_path / "l.html").exists()
    # the exports carry the month's spot checks (none recorded in this workspace: all 0)
    header = [c.value for c in load_workbook(tmp_path / "l.xlsx")["全行"][2]]
    assert header[-2:] == ["本月抽查次数", "抽查通过次数"]
    column = header.index("本月抽查次数") + 1
    sheet = load_workbook(tmp_path / "l.xlsx")["全行"]
    assert [sheet.cell(r, column).value for r in range(3, 3 + len(records))] == [0] * len(records)
    table = runner.invoke(app, ["--month", months[1], "--home", str(store.home), "--lang", "en"],
                          env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert records[0]["teller_id"] in table.stdout and "Bank rank" in table.stdout
    bad = runner.invoke(app, ["--month", "2026-13", "--home", str(store.home)])
    assert isinstance(bad.exception, ProcmineError)


def test_the_exports_carry_the_months_spot_checks_per_teller(
    league_demo: tuple[EventStore, list[str]], baseline: Baseline, tmp_path: Path
) -> None:
    store, months = league_demo
    league = monthly_league(store, baseline, months[1])
    first, second = sorted(league["teller_id"])[:2]
    summary = pd.DataFrame({"teller_id": [first, second, "9999"], "checks": [3, 1, 2],
                            "passed": [2, 0, 2], "failed": [1, 1, 0]})
    shown = add_spot_checks(league, summary)
    assert len(shown) == len(league) and shown.attrs == league.attrs
    assert int(shown["spot_checks"].sum()) == 4  # the teller not in the league is left out
    book = load_workbook(export_league_excel(shown, tmp_path / "checks.xlsx", lang="en"))
    for name in book.sheetnames:
        sheet = book[name]
        header = [c.value for c in sheet[2]]
        assert header[-2:] == ["Spot checks", "Spot checks passed"]
        col = {v: i + 1 for i, v in enumerate(header)}
        rows = shown if name == "All branches" else shown[shown["branch_id"] == name]
        got = {sheet.cell(r, col["Teller"]).value: (sheet.cell(r, col["Spot checks"]).value,
                                                    sheet.cell(r, col["Spot checks passed"]).value)
               for r in range(3, 3 + len(rows))}
        want = {t: ((3, 2) if t == first else (1, 0) if t == second else (0, 0))
                for t in rows["teller_id"]}
        assert got == want
        assert sheet.cell(3, col["Spot checks"]).number_format == "#,##0"
    plain = load_workbook(export_league_excel(league, tmp_path / "plain.xlsx", lang="en"))
    assert "Spot checks" not in [c.value for c in plain["All branches"][2]]
    page = export_league_html(shown, tmp_path / "checks.html", months[1], "zh-CN").read_text(
        encoding="utf-8")
    assert page.count("<th>本月抽查次数</th>") == 1 + league["branch_id"].nunique()
    assert "无步骤做错或遗漏即为通过" in page
