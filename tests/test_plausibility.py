"""Plausibility at ingest (issue 12, rows 3 and 7): implausible timestamps, overlong steps and
control characters in identifiers are quarantined with their own reasons; and the analyses cope
with whatever does load, an odd or an empty store included."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from procmine.analysis.league import monthly_league
from procmine.analysis.performance import latest_month, step_times
from procmine.cli.main import app
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.ingest.rules import QUARANTINE_REASONS, Plausibility, reason_case
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

HEADER = ["case_id", "activity", "start_time", "end_time", "teller_id", "branch_id",
          "business_type"]
TODAY = dt.date.today()


def row(case: str, start: str, end: str, teller: str = "0101", activity: str = "Count cash",
        branch: str = "B01") -> list[str]:
    return [case, activity, start, end, teller, branch, "P18"]


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def good(n: int, day: str = "2026-10-01") -> list[list[str]]:
    return [row(f"G{i:04d}", f"{day} 09:{i % 60:02d}:00", f"{day} 09:{i % 60:02d}:40")
            for i in range(n)]


def quarantine_reasons(report_file: str | None) -> dict[str, str]:
    assert report_file is not None
    with open(report_file, encoding="utf-8", newline="") as fh:
        return {r["case_id"]: r["reason"] for r in csv.DictReader(fh)}


def test_implausible_times_overlong_steps_and_control_characters_are_quarantined(
    store: EventStore, tmp_path: Path
) -> None:
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    far = (TODAY + dt.timedelta(days=3)).isoformat()
    bad = [
        row("FAR_FUTURE", "9999-12-31 09:00:00", "9999-12-31 09:01:00"),
        row("Y2099", "2099-01-05 09:00:00", "2099-01-05 09:01:00"),
        row("IN3DAYS", f"{far} 09:00:00", f"{far} 09:01:00"),
        row("Y1900", "1900-01-01 00:00:00", "1900-01-01 00:01:00"),
        row("Y1999", "1999-12-31 23:59:00", "1999-12-31 23:59:30"),
        row("LONG", "2026-10-01 08:00:00", "2026-10-01 16:00:01"),
        row("DAYLONG", "2026-10-01 08:00:00", "2026-10-02 08:00:00"),
        row("NUL", "2026-10-01 09:00:00", "2026-10-01 09:00:30", teller="01\x0001"),
        row("VTAB", "2026-10-01 09:00:00", "2026-10-01 09:00:30", teller="01\x0b01"),
        row("TAB", "2026-10-01 09:00:00", "2026-10-01 09:00:30", branch="B\t01"),
        row("C1", "2026-10-01 09:00:00", "2026-10-01 09:00:30", activity="Count\x85cash"),
        row("DEL\x7f", "2026-10-01 09:00:00", "2026-10-01 09:00:30"),
    ]
    fine = [
        row("TOMORROW", f"{tomorrow} 09:00:00", f"{tomorrow} 09:01:00"),
        row("Y2000", "2000-01-01 00:00:00", "2000-01-01 00:00:30"),
        row("EIGHT_HOURS", "2026-10-01 08:00:00", "2026-10-01 16:00:00"),
        row("CHINESE", "2026-10-01 09:00:00", "2026-10-01 09:00:30", activity="点钞 复核"),
    ]
    report = ingest_log(store, write(tmp_path / "odd.csv", good(50) + bad + fine))
    assert report.reasons == {"control_character": 5, "implausible_time": 5,
                              "step_too_long": 2}
    assert (report.read, report.loaded, report.quarantined) == (66, 54, 12)
    by_case = quarantine_reasons(report.quarantine_file)
    assert by_case == {
        "FAR_FUTURE": "implausible_time", "Y2099": "implausible_time",
        "IN3DAYS": "implausible_time", "Y1900": "implausible_time",
        "Y1999": "implausible_time", "LONG": "step_too_long", "DAYLONG": "step_too_long",
        "NUL": "control_character", "VTAB": "control_character", "TAB": "control_character",
        "C1": "control_character", "DEL\x7f": "control_character",
    }
    loaded = set(store.read_events().column("case_id").to_pylist())
    assert {"TOMORROW", "Y2000", "EIGHT_HOURS", "CHINESE"} <= loaded
    assert not loaded & set(by_case)


def test_the_limits_are_keyword_arguments_of_ingest(store: EventStore, tmp_path: Path) -> None:
    rows = [
        row("Y2015", "2015-06-01 09:00:00", "2015-06-01 09:01:00"),
        row("TWO_HOURS", "2026-10-01 08:00:00", "2026-10-01 10:00:00"),
        row("Y2099", "2099-01-05 09:00:00", "2099-01-05 09:01:00"),
    ]
    relaxed = ingest_log(store, write(tmp_path / "a.csv", rows), earliest=dt.date(1990, 1, 1),
                         latest_days=40000, max_step_hours=24)
    assert (relaxed.loaded, relaxed.reasons) == (3, {})
    other = EventStore(tmp_path / "strict")
    strict = ingest_log(other, write(tmp_path / "b.csv", rows), earliest=dt.date(2020, 1, 1),
                        max_step_hours=1.5)
    assert strict.reasons == {"implausible_time": 2, "step_too_long": 1}


@pytest.mark.parametrize("kwargs", [
    {"latest_days": -1}, {"max_step_hours": 0}, {"earliest": TODAY + dt.timedelta(days=5)},
])
def test_limits_that_make_no_sense_are_refused(
    store: EventStore, tmp_path: Path, kwargs: dict[str, object]
) -> None:
    with pytest.raises(ProcmineError):
        ingest_log(store, write(tmp_path / "a.csv", good(3)), **kwargs)  # type: ignore[arg-type]
    assert store.is_empty()


def test_each_new_rule_has_a_sentence_and_a_condition() -> None:
    assert {"implausible_time", "step_too_long", "control_character"} <= set(QUARANTINE_REASONS)
    case = reason_case(limits=Plausibility(earliest=dt.date(2010, 1, 1), latest_days=2,
                                           max_step_hours=0.5), today=dt.date(2026, 10, 5))
    assert "start_time < TIMESTAMP '2010-01-01'" in case
    assert "end_time >= TIMESTAMP '2026-10-08'" in case
    assert "> 1800.0 THEN 'step_too_long'" in case


def test_the_cli_takes_the_limits(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", [
        *good(4),
        row("Y1999", "1999-06-01 09:00:00", "1999-06-01 09:01:00"),
        row("LONG", "2026-10-01 08:00:00", "2026-10-01 18:00:00"),
    ])
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(path), "--home", str(tmp_path / "ws"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["reasons"] == {"implausible_time": 1, "step_too_long": 1}
    result = runner.invoke(app, [
        "ingest", str(path), "--home", str(tmp_path / "ws2"), "--json",
        "--earliest", "1990-01-01", "--latest-days", "0", "--max-step-hours", "12",
    ])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["loaded"] == 6
    result = runner.invoke(app, ["ingest", str(path), "--home", str(tmp_path / "ws3"),
                                 "--max-step-hours", "0"])
    assert result.exit_code != 0 and "Traceback" not in result.output


# -- the analyses on an odd store --------------------------------------------------------------


def odd_store(home: Path, ends: list[dt.datetime]) -> EventStore:
    """A store whose batch file was written directly (ingest would refuse these rows)."""
    store = EventStore(home)
    good_store = ingest_log(store, write(home.parent / f"{home.name}.csv", good(8)))
    assert good_store.loaded == 8
    batch = store.events_dir / "odd-batch.parquet"
    existing = pq.read_table(next(store.events_dir.glob("*.parquet")))
    n = len(ends)
    columns = {}
    for name in existing.column_names:
        field = existing.schema.field(name)
        columns[name] = pa.nulls(n, field.type)
    columns["case_id"] = pa.array([f"ODD{i}" for i in range(n)])
    columns["activity"] = pa.array(["Count cash"] * n)
    columns["end_time"] = pa.array(ends, existing.schema.field("end_time").type)
    columns["start_time"] = pa.array([e - dt.timedelta(seconds=30) for e in ends],
                                     existing.schema.field("start_time").type)
    columns["teller_id"] = pa.array(["0101"] * n)
    columns["branch_id"] = pa.array(["B01"] * n)
    columns["business_type"] = pa.array(["P18"] * n)
    if "source_batch" in columns:
        columns["source_batch"] = pa.array(["odd-batch"] * n)
    pq.write_table(pa.table(columns, schema=existing.schema), batch)
    return store


FAR = [dt.datetime(9999, 12, 31, 9, 0, 0), dt.datetime(9999, 12, 31, 23, 59, 0)]


def test_the_league_and_step_times_cope_with_a_far_future_row(
    tmp_path: Path, baseline: Baseline
) -> None:
    store = odd_store(tmp_path / "ws", FAR)
    assert len(store.read_events()) == 10  # the odd rows did load
    assert latest_month(store) == dt.date(9999, 12, 1)
    league = monthly_league(store, baseline, "9999-12")
    assert list(league["teller_id"]) == ["0101"]
    assert int(league["transactions"].sum()) == 2
    assert len(step_times(store)) == 10
    previous = monthly_league(store, baseline, "2026-10")
    assert int(previous["transactions"].sum()) == 8


def test_procmine_league_on_a_far_future_month_and_on_an_empty_store(tmp_path: Path) -> None:
    store = odd_store(tmp_path / "ws", FAR)
    runner = CliRunner()
    result = runner.invoke(app, ["league", "--month", "9999-12", "--home", str(store.home),
                                 "--json"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    records = json.loads(result.output)
    assert [(r["teller_id"], r["month"], r["transactions"]) for r in records] == [
        ("0101", "9999-12", 2)]
    empty = runner.invoke(app, ["league", "--month", "2026-10", "--home", str(tmp_path / "e")])
    assert "Traceback" not in empty.output
    assert isinstance(empty.exception, ProcmineError)
    assert "no events" in str(empty.exception)


def test_the_rules_hold_for_parquet_and_excel_too(tmp_path: Path) -> None:
    """The checks are on the typed rows, whatever the format."""
    table = pa.table({
        "case_id": ["P1", "P2", "P3", "P4"],
        "activity": ["Count cash"] * 4,
        "start_time": [dt.datetime(2026, 10, 1, 9), dt.datetime(9999, 12, 31, 9),
                       dt.datetime(2026, 10, 1, 9), dt.datetime(2026, 10, 1, 9)],
        "end_time": [dt.datetime(2026, 10, 1, 9, 1), dt.datetime(9999, 12, 31, 9, 1),
                     dt.datetime(2026, 10, 2, 9), dt.datetime(2026, 10, 1, 9, 1)],
        "teller_id": ["0101", "0101", "0101", "01\x0001"],
    })
    pq.write_table(table, tmp_path / "log.parquet")
    report = ingest_log(EventStore(tmp_path / "pq"), tmp_path / "log.parquet")
    assert (report.loaded, report.reasons) == (
        1, {"control_character": 1, "implausible_time": 1, "step_too_long": 1})
    frame = table.to_pandas()
    frame.loc[3, "teller_id"] = "01\t01"  # a tab (openpyxl writes no NUL or vertical tab)
    frame.to_excel(tmp_path / "log.xlsx", index=False)
    report = ingest_log(EventStore(tmp_path / "xl"), tmp_path / "log.xlsx")
    assert (report.loaded, report.reasons) == (
        1, {"control_character": 1, "implausible_time": 1, "step_too_long": 1})


_IDENTIFIER_TEXT = st.text(st.sampled_from(["a", "7", "点", "·", "\t", "\x00", "\x0b", "\r",
                                            "\n", "\x7f", "\x85", "\x9f"]), min_size=1,
                           max_size=4)
_IS_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["case", "teller", "activity", "remark"]),
                          _IDENTIFIER_TEXT), max_size=4),
       st.sampled_from(["utf-8", "utf-16", "gb18030"]))
def test_a_control_character_in_an_identifier_is_quarantined_wherever_it_is_found(
        tmp_path_factory: pytest.TempPathFactory, odd: list[tuple[str, str]],
        encoding: str) -> None:
    """Whichever way the file goes in (the typed pass, which leaves controls to the count of
    the file's bytes, or the full pass), a row with a control character in an identifier is
    quarantined for it, and one with a control only in another column (a remark) is loaded."""
    folder = tmp_path_factory.mktemp("controls")
    rows = [[f"G{i:03d}", "Count cash", "2026-10-01 09:00:00", "2026-10-01 09:00:40", "0101",
             "B01", "P18", "fine"] for i in range(30)]
    expected = set()
    for n, (column, text) in enumerate(odd):
        at = {"case": 0, "activity": 1, "teller": 4, "remark": 7}[column]
        rows[n * 7][at] = rows[n * 7][at] + text if column != "case" else f"G{n * 7:03d}{text}"
        if column != "remark" and _IS_CONTROL.search(rows[n * 7][at]):
            expected.add(rows[n * 7][0])
    path = folder / "log.csv"
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow([*HEADER, "remark"])
        writer.writerows(rows)
    store = EventStore(folder / "ws")
    report = ingest_log(store, path)
    assert report.reconciles
    assert report.reasons.get("control_character", 0) == len(expected)
    if expected:
        assert set(quarantine_reasons(report.quarantine_file)) == expected
    loaded = set(store.read_events(["case_id"]).column(0).to_pylist())
    assert loaded == {r[0] for r in rows} - expected
