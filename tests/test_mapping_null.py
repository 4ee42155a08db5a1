"""A mapping can switch detection by name off (issue 19): a canonical column set to null in a
mapping file is not picked up by its name, so a log can be declared completion-only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from procmine.cli.main import app
from procmine.core.errors import ProcmineError
from procmine.ingest.run import ingest_log
from procmine.io.eventlog import ColumnMap, describe_source, load_column_map
from procmine.store.event_store import EventStore

runner = CliRunner()

_HEADER = "case_id,activity,start_time,end_time,teller_id,business_type,amount\n"
_ROWS = (
    "c1,Count cash,2026-09-01 09:00:00,2026-09-01 09:01:00,0101,P17,500\n"
    "c1,Print voucher,2026-09-01 09:01:10,2026-09-01 09:02:00,0101,P17,500\n"
    "c2,Count cash,2026-09-01 09:05:00,2026-09-01 09:06:30,0102,P17,1200\n"
    "c2,Print voucher,2026-09-01 09:06:40,2026-09-01 09:07:00,0102,P17,1200\n"
    "c3,Count cash,2026-09-01 09:10:00,not a time,0101,P17,80\n"
)


def _log(tmp_path: Path) -> Path:
    path = tmp_path / "log.csv"
    path.write_text(_HEADER + _ROWS, encoding="utf-8")
    return path


def _map(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(f"columns:\n{body}", encoding="utf-8")
    return path


def _stored(store: EventStore, column: str) -> list[object]:
    rows = store.read_events(["case_id", "activity", column]).to_pylist()
    return [r[column] for r in sorted(rows, key=lambda r: (r["case_id"], r["activity"]))]


@pytest.mark.parametrize("null", ["null", "~", ""])
def test_start_time_null_loads_a_completion_only_log(tmp_path: Path, null: str) -> None:
    column_map = load_column_map(_map(tmp_path, f"  start_time: {null}\n"))
    assert column_map.absent == frozenset({"start_time"}) and column_map.columns == {}
    store = EventStore(tmp_path / "ws")
    report = ingest_log(store, _log(tmp_path), column_map=column_map)
    assert (report.read, report.loaded, report.quarantined) == (5, 4, 1)
    assert report.reconciles and report.read == report.loaded + report.quarantined
    assert "start_time" not in report.mapping
    assert report.ignored_columns == ["start_time"]
    assert _stored(store, "start_time") == [None, None, None, None]
    assert _stored(store, "end_time")[0] is not None


def test_without_the_key_the_start_column_is_detected_by_name(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "ws")
    column_map = load_column_map(_map(tmp_path, "  teller_id: teller_id\n"))
    assert column_map.absent == frozenset()
    report = ingest_log(store, _log(tmp_path), column_map=column_map)
    assert report.mapping["start_time"] == "start_time" and report.loaded == 4
    starts = _stored(store, "start_time")
    assert all(s is not None for s in starts)
    assert str(starts[0]).startswith("2026-09-01 09:00:00")
    no_map = ingest_log(EventStore(tmp_path / "ws2"), _log(tmp_path))
    assert no_map.mapping["start_time"] == "start_time"


def test_amount_null_leaves_amounts_empty(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "ws")
    column_map = load_column_map(_map(tmp_path, "  amount: null\n"))
    report = ingest_log(store, _log(tmp_path), column_map=column_map)
    assert report.reconciles and (report.loaded, report.quarantined) == (4, 1)
    assert "amount" not in report.mapping and report.ignored_columns == ["amount"]
    assert _stored(store, "amount") == [None, None, None, None]
    assert _stored(store, "start_time")[0] is not None  # the other columns still detected


def test_a_synonym_is_not_picked_up_either() -> None:
    names = ["Case ID", "Activity", "Step Begin", "Timestamp", "TLR_NO"]
    assert describe_source("log.csv", names).mapping["start_time"] == "Step Begin"
    spec = describe_source("log.csv", names,
                           ColumnMap(absent=frozenset({"start_time", "teller_id"})))
    assert spec.mapping == {"case_id": "Case ID", "activity": "Activity",
                            "end_time": "Timestamp"}


def test_a_null_column_can_still_be_named_for_another_role(tmp_path: Path) -> None:
    """The file's start_time column may feed end_time while start_time is declared absent."""
    column_map = load_column_map(_map(tmp_path, "  start_time: null\n  end_time: start_time\n"))
    spec = describe_source("log.csv", ["case_id", "activity", "start_time", "end_time"],
                           column_map)
    assert spec.mapping == {"case_id": "case_id", "activity": "activity",
                            "end_time": "start_time"}


@pytest.mark.parametrize("required", ["case_id", "activity", "end_time"])
def test_a_required_column_set_to_null_is_a_clear_error(tmp_path: Path, required: str) -> None:
    path = _map(tmp_path, f"  {required}: null\n")
    with pytest.raises(ProcmineError, match=rf"columns\.{required} is null, but {required} "
                                            "is required"):
        load_column_map(path)


def test_the_cli_says_so_without_a_traceback(tmp_path: Path) -> None:
    mapping = _map(tmp_path, "  start_time: ~\n  end_time: null\n")
    result = subprocess.run(
        [sys.executable, "-m", "procmine.cli", "ingest", str(_log(tmp_path)), "--map",
         str(mapping), "--home", str(tmp_path / "ws")],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    text = " ".join(result.stderr.split())  # rich wraps at the terminal width
    assert "error:" in text and "columns.end_time is null, but end_time is required" in text
    assert "Traceback" not in result.stderr


def test_the_cli_ingests_a_completion_only_declaration(tmp_path: Path) -> None:
    mapping = _map(tmp_path, "  start_time: null\n  amount: ~\n")
    result = runner.invoke(app, ["ingest", str(_log(tmp_path)), "--map", str(mapping),
                                 "--json", "--home", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["read"], data["loaded"], data["quarantined"]) == (5, 4, 1)
    assert "start_time" not in data["mapping"] and "amount" not in data["mapping"]
    assert sorted(data["ignored_columns"]) == ["amount", "start_time"]
    store = EventStore(tmp_path / "ws")
    assert _stored(store, "start_time") == [None] * 4
    assert _stored(store, "amount") == [None] * 4


def test_a_lifecycle_log_declared_without_start_times(tmp_path: Path) -> None:
    """Start events still pair with (and merge into) their completes; their times are not kept
    when the mapping declares start_time absent."""
    log = tmp_path / "lifecycle.csv"
    log.write_text(
        "case_id,activity,lifecycle,timestamp,teller_id\n"
        "c1,Count cash,start,2026-09-01 09:00:00,0101\n"
        "c1,Count cash,complete,2026-09-01 09:01:00,0101\n"
        "c2,Count cash,start,2026-09-01 09:05:00,0102\n"
        "c2,Count cash,complete,2026-09-01 09:06:30,0102\n"
        "c3,Count cash,start,2026-09-01 09:10:00,0102\n",
        encoding="utf-8",
    )
    kept = ingest_log(EventStore(tmp_path / "kept"), log)
    assert kept.pairing["paired"] == 2 and kept.merged_by_pairing == 2
    assert all(s is not None for s in _stored(EventStore(tmp_path / "kept"), "start_time"))
    store = EventStore(tmp_path / "ws")
    column_map = load_column_map(_map(tmp_path, "  start_time: null\n"))
    report = ingest_log(store, log, column_map=column_map)
    assert (report.read, report.loaded, report.quarantined, report.merged_by_pairing) == (
        5, 2, 1, 2)
    assert report.reconciles and report.reasons == {"unmatched_start": 1}
    assert _stored(store, "start_time") == [None, None]
    assert [str(e) for e in _stored(store, "end_time")] == [
        "2026-09-01 09:01:00", "2026-09-01 09:06:30"]
