"""Exports are inert: ids like ``=1+1`` or with control characters, written by the league's
Excel and HTML exports, the ``league --excel`` command and the quarantine download, come out as
text (procmine.reports.safe)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from procmine.analysis.league import monthly_league
from procmine.cli.analysis import league as league_command
from procmine.core.baseline import Baseline
from procmine.ingest.run import ingest_log
from procmine.reports.league import export_league_excel, export_league_html
from procmine.reports.safe import safe_cell, safe_csv, safe_sheet_name
from procmine.store.event_store import EventStore

MONTH = "2026-03"
# (a tab or carriage return in an id is quarantined at ingest: those are tried on a frame below)
HOSTILE_TELLERS = ["=cmd|' /C calc'!A0", "=1+1", "+SUM(A1)", "@x", "-1+2", "-12", "0101"]
HOSTILE_BRANCHES = ["=1+1", "@x", "-1+2", "+SUM(A1)", "=1+1", "@x", "B01"]
ESCAPED = {v: "'" + v for v in ("=cmd|' /C calc'!A0", "=1+1", "+SUM(A1)", "@x", "-1+2")}


def _hostile_csv(path: Path, bad_rows: int = 2) -> Path:
    """30 one-step transactions per teller in March 2026; ``bad_rows`` more with a timestamp
    that is not one (quarantined with their values as written)."""
    first = datetime(2026, 3, 2, 8, 30)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "activity", "start_time", "end_time", "teller_id",
                         "branch_id", "business_type", "amount", "error"])
        n = 0
        for teller, branch in zip(HOSTILE_TELLERS, HOSTILE_BRANCHES, strict=True):
            for k in range(30):
                start = first + timedelta(days=k // 10, minutes=20 * (k % 10))
                end = start + timedelta(seconds=60 + 7 * (n % 5) + k)
                writer.writerow([f"c{n:05d}", "Enter transaction", f"{start:%Y-%m-%d %H:%M:%S}",
                                 f"{end:%Y-%m-%d %H:%M:%S}", teller, branch, "P17", "", "0"])
                n += 1
        for k in range(bad_rows):
            writer.writerow([f"bad{k}", "=HYPERLINK(\"http://evil\")", "not a time",
                             "2026-03-02 09:00:00", "=1+1", "@x", "P17", "", "0"])
    return path


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    root = tmp_path_factory.mktemp("hostile")
    store = EventStore(root / "workspace")
    report = ingest_log(store, _hostile_csv(root / "hostile.csv"))
    assert (report.loaded, report.quarantined) == (30 * len(HOSTILE_TELLERS), 2), report
    return store


def _cells(path: Path) -> list[tuple[str, object, str]]:
    book = load_workbook(path)
    return [(sheet.title, cell.value, cell.data_type) for sheet in book.worksheets
            for row in sheet.iter_rows() for cell in row if cell.value is not None]


# -- the helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"),
    ("@x", "'@x"), ("-1+2", "'-1+2"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("\x00=1+1", "'=1+1"), ("B\x0b01\x00", "B01"), ("a\u0085b\x7f", "ab"),
    ("line\nnext", "line\nnext"),
    ("-12", "-12"), ("+3.5", "+3.5"), ("-1e3", "-1e3"), ("0101", "0101"), ("", ""),
    (-1.5, -1.5), (7, 7), (None, None), (True, True),
])
def test_safe_cell_quotes_formula_text_and_keeps_numbers(value: object, expected: object) -> None:
    assert safe_cell(value) == expected


def test_safe_sheet_name_is_valid_unique_and_not_a_formula() -> None:
    used: set[str] = set()
    names = [safe_sheet_name(title, used) for title in (
        "=1+1", "=1+1", "+SUM(A1)", "@x", "-1+2", "a[b]:c*d?e/f\\g", "'quoted'", "x" * 40,
        "x" * 40, "History", "", "\x00", "B\x0b01", "b01")]
    assert names == ["_=1+1", "_=1+1 (2)", "_+SUM(A1)", "_@x", "_-1+2", "a_b__c_d_e_f_g",
                     "quoted", "x" * 31, "x" * 27 + " (2)", "History_", "_", "_ (2)", "B01",
                     "b01 (2)"]
    assert all(len(n) <= 31 and n[0] not in "=+-@'" for n in names)
    assert len({n.lower() for n in names}) == len(names)


def test_safe_csv_escapes_every_text_field_and_keeps_the_rows() -> None:
    text = 'a,b\r\n"=1+1","x,\ny"\r\n-5,"@SUM(1)"\r\n"B\x0001",+7\r\n'
    rows = list(csv.reader(io.StringIO(safe_csv(text), newline="")))
    assert rows == [["a", "b"], ["'=1+1", "x,\ny"], ["-5", "'@SUM(1)"], ["B01", "+7"]]


# -- the exports -----------------------------------------------------------------------------------


def test_excel_export_of_hostile_ids_has_no_formula(hostile_store: EventStore,
                                                    baseline: Baseline, tmp_path: Path) -> None:
    league = monthly_league(hostile_store, baseline, MONTH)
    assert set(league["teller_id"]) == set(HOSTILE_TELLERS)
    path = export_league_excel(league, tmp_path / "league.xlsx", lang="en")
    cells = _cells(path)
    assert [c for c in cells if c[2] == "f"] == []
    values = {c[1] for c in cells}
    for raw, escaped in ESCAPED.items():
        assert raw not in values and escaped in values
    for teller in HOSTILE_TELLERS:
        assert safe_cell(teller) in values
    assert "-12" in values  # a text that is a plain number is left as it is
    book = load_workbook(path)
    assert book.sheetnames == ["All branches", "_+SUM(A1)", "_-1+2", "_=1+1", "_@x", "B01"]
    bank = book["All branches"]
    assert sorted(bank.cell(r, 3).value for r in range(3, 3 + len(league))) == sorted(
        safe_cell(t) for t in HOSTILE_TELLERS)
    assert {bank.cell(r, 4).value for r in range(3, 3 + len(league))} == {
        safe_cell(b) for b in HOSTILE_BRANCHES}
    # numbers stay numbers
    assert all(isinstance(bank.cell(r, 5).value, int) for r in range(3, 3 + len(league)))


def test_league_command_excel_is_inert(hostile_store: EventStore, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("league")(league_command)
    target = tmp_path / "cli.xlsx"
    result = CliRunner().invoke(app, ["--month", MONTH, "--home", str(hostile_store.home),
                                      "--excel", str(target), "--json"])
    assert result.exit_code == 0, result.output
    cells = _cells(target)
    assert cells and [c for c in cells if c[2] == "f"] == []
    assert {"'=1+1", "'=cmd|' /C calc'!A0", "'+SUM(A1)", "'@x", "'-1+2"} <= {c[1] for c in cells}
    assert all(not name.startswith(("=", "+", "-", "@")) for name in load_workbook(target)
               .sheetnames)


def test_control_characters_in_ids_do_not_break_the_exports(
    hostile_store: EventStore, baseline: Baseline, tmp_path: Path
) -> None:
    league = monthly_league(hostile_store, baseline, MONTH)
    odd = league.copy()
    odd["teller_id"] = [f"T\x00{i}\x0b" for i in range(len(odd) - 2)] + ["\t=2+2", "\r=3"]
    odd["branch_id"] = pd.Series(["B\x0001", "B\x0b02", "\x1f=9"] * len(odd))[: len(odd)].values
    path = export_league_excel(odd, tmp_path / "odd.xlsx", lang="en")
    assert [c for c in _cells(path) if c[2] == "f"] == []
    book = load_workbook(path)
    assert book.sheetnames == ["All branches", "_=9", "B01", "B02"]
    tellers = [book["All branches"].cell(r, 3).value for r in range(3, 3 + len(odd))]
    assert sorted(tellers) == sorted([*(f"T{i}" for i in range(len(odd) - 2)), "'\t=2+2",
                                      "'\r=3"])
    html = export_league_html(odd, tmp_path / "odd.html", MONTH, "en").read_text(
        encoding="utf-8")
    assert "\x00" not in html and "\x0b" not in html and "\x1f" not in html
    assert '<td class="text">T0</td>' in html and "<h2>Branch B01</h2>" in html


def test_the_quarantine_download_is_escaped(hostile_store: EventStore) -> None:
    from procmine.dashboard.components.downloads import quarantine_csv

    files = sorted((hostile_store.home / "quarantine").glob("*.csv"))
    assert len(files) == 1
    raw = files[0].read_text(encoding="utf-8")
    assert "\n=1+1," in raw or ",=1+1," in raw  # the file keeps the source's values as written
    rows = list(csv.reader(io.StringIO(quarantine_csv(files[0]).decode("utf-8-sig"),
                                       newline="")))
    header, body = rows[0], rows[1:]
    assert len(body) == 2
    record = dict(zip(header, body[0], strict=True))
    assert record["teller_id"] == "'=1+1" and record["branch_id"] == "'@x"
    assert record["activity"] == "'=HYPERLINK(\"http://evil\")"
    assert not any(field.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows
                   for field in row)
