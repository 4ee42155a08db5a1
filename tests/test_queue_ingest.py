"""Ticket ingest (procmine/io/tickets.py, procmine/ingest/tickets.py): the ticket mapping, every
row loaded or quarantined with its reason, copies and re-ingests, batch drop, atomic commits,
the command line, and the real call-centre log through the shipped mapping, checked against an
independent computation from the raw file."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from procmine import (
    TICKET_REASONS,
    EventStore,
    Limits,
    ProcmineError,
    QueueFilter,
    drop_batch,
    ingest_tickets,
    list_batches,
    load_column_map,
    load_ticket_map,
    queue_summary,
    read_map_kind,
)
from procmine.cli.main import app
from procmine.core.paths import bundled_path
from procmine.ingest import tickets as ticket_ingest

runner = CliRunner()

# A small export: times of day beside a date, a composite id, "-" for "did not happen".
MAP = """\
kind: tickets
columns:
  ticket_id: {join: [desk, num], sep: "/"}
  arrival_time: taken
  queue_start: {first: [queued, start]}
  call_time: {first: [called, start]}
  service_start: start
  service_end: end
  teller_id: teller
  business_type: type
  segment: seg
  amount: amount
  outcome: state
date: day
date_format: "%Y%m%d"
time_format: "%H:%M:%S"
missing: ["-", "NOBODY"]
values:
  outcome: {OK: served, LEFT: abandoned, TEST: skip, MOVED: transferred}
  segment: {"1": vip}
constants: {branch_id: B07, window_type: cash}
"""
HEADER = ["desk", "num", "day", "taken", "queued", "called", "start", "end", "teller", "type",
          "seg", "amount", "state"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def ticket_map(tmp_path: Path, text: str = MAP) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def row(desk: str = "D1", no: str = "1", taken: str = "09:00:00", queued: str = "09:00:05",
        called: str = "09:04:00", start: str = "09:04:10", end: str = "09:09:00",
        teller: str = "0101", state: str = "OK", amount: str = "100", day: str = "20261001",
        seg: str = "0") -> list[str]:
    return [desk, no, day, taken, queued, called, start, end, teller, "P18", seg, amount, state]


def tickets(store: EventStore, sql: str) -> list[tuple]:
    con = store.connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# -- the mapping file ---------------------------------------------------------------------


def test_a_ticket_mapping_is_read_with_its_rules_and_settings(tmp_path: Path) -> None:
    path = ticket_map(tmp_path, MAP + 'earliest: "1999-01-01"\nstage_tolerance_seconds: 2\n'
                      'delimiter: "\\t"\n')
    m = load_ticket_map(path)
    assert read_map_kind(path) == "tickets"
    assert (m.columns["ticket_id"].kind, m.columns["ticket_id"].sources,
            m.columns["ticket_id"].sep) == ("join", ("desk", "num"), "/")
    assert m.columns["queue_start"].kind == "first"
    assert m.columns["teller_id"].sources == ("teller",)
    assert m.missing == ("-", "NOBODY")
    assert m.values["outcome"]["TEST"] == "skip" and m.values["segment"] == {"1": "vip"}
    assert m.constants == {"branch_id": "B07", "window_type": "cash"}
    assert (m.date, m.date_format, m.time_format) == ("day", "%Y%m%d", "%H:%M:%S")
    assert str(m.earliest) == "1999-01-01" and m.stage_tolerance_seconds == 2.0
    assert m.delimiter == "\t"
    assert m.describe()["ticket_id"] == "desk + num"
    assert m.describe()["branch_id"] == "= B07"


def test_an_event_mapping_stays_an_event_mapping(tmp_path: Path) -> None:
    events = tmp_path / "events.yaml"
    events.write_text("kind: events\ncolumns: {case_id: JRNL_NO}\n", encoding="utf-8")
    assert read_map_kind(events) == "events"
    assert load_column_map(events).columns == {"case_id": "JRNL_NO"}
    plain = tmp_path / "plain.yaml"
    plain.write_text("columns: {case_id: JRNL_NO}\n", encoding="utf-8")
    assert read_map_kind(plain) == "events"
    with pytest.raises(ProcmineError, match=r"kind: tickets.*ticket ingest"):
        load_column_map(ticket_map(tmp_path))
    with pytest.raises(ProcmineError, match="not a ticket mapping"):
        load_ticket_map(events)


@pytest.mark.parametrize(("change", "message"), [
    (("  teller_id: teller\n", "  teller: teller\n"), "columns.teller is not a canonical"),
    (("LEFT: abandoned", "LEFT: gone"), "values.outcome.LEFT: 'gone' is not an outcome"),
    (("missing: [\"-\", \"NOBODY\"]", "missing: [1:00:00]"), "missing must be a list of texts"),
    (("  arrival_time: taken\n", ""), "columns.arrival_time is required"),
    (("kind: tickets\n", "kind: tickets\nspeed: fast\n"), "unknown setting"),
    (("kind: tickets\n", "kind: queues\n"), "kind 'queues' is not known"),
    (("{first: [queued, start]}", "{first: [queued], sep: x}"), "columns.queue_start must be"),
    (("{first: [queued, start]}", "{first: []}"), "must be a list of column names"),
    (("[desk, num]", "[desk, no]"), "YAML reads no, yes, on"),
    (("time_format: \"%H:%M:%S\"\n", "timestamp_format: \"%H\"\n"), "either date"),
    (("constants: {branch_id: B07", "constants: {arrival_time: x"), "cannot stand for"),
    (("constants: {branch_id: B07", "constants: {teller_id: x"), "mapped already"),
    (("  segment: {\"1\": vip}", "  amount: {\"1\": vip}"), "only a text column"),
    (("  segment: {\"1\": vip}", "  segment: {yes: vip}"), "quote both sides"),
])
def test_a_bad_ticket_mapping_is_a_clear_error(tmp_path: Path, change: tuple[str, str],
                                               message: str) -> None:
    old, new = change
    assert old in MAP
    with pytest.raises(ProcmineError, match=message):
        load_ticket_map(ticket_map(tmp_path, MAP.replace(old, new)))


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_ticket_reason_has_a_label(lang: str) -> None:
    from procmine.app.i18n import load_messages

    messages = load_messages(lang)
    assert [r for r in TICKET_REASONS if not messages.get(f"quality.reason.{r}")] == []


def test_a_mapping_with_aliases_is_refused(tmp_path: Path) -> None:
    text = MAP.replace("constants: {branch_id: B07, window_type: cash}",
                       "constants: &c {branch_id: B07}\nextra: *c")
    with pytest.raises(ProcmineError, match="anchors and aliases"):
        load_ticket_map(ticket_map(tmp_path, text))


def test_a_mapping_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = ticket_map(tmp_path, MAP + "# " + "x" * 2048 + "\n")
    with pytest.raises(ProcmineError, match="larger than 1 KB"):
        load_ticket_map(path, limits=Limits(max_map_kb=1))
    with pytest.raises(ProcmineError, match="larger than 1 KB"):
        read_map_kind(path, limits=Limits(max_map_kb=1))


def test_a_column_the_file_lacks_is_named_and_nothing_is_stored(tmp_path: Path,
                                                                store: EventStore) -> None:
    source = write_csv(tmp_path / "t.csv", [row()[:-1]], header=HEADER[:-1])
    with pytest.raises(ProcmineError, match=r"column\(s\) state named in the mapping"):
        ingest_tickets(store, source, load_ticket_map(ticket_map(tmp_path)))
    assert store.batches() == [] and store.ticket_files() == []


# -- typing: keys, first values, missing tokens, midnight ---------------------------------


def test_keys_first_values_missing_tokens_and_midnight_roll_over(tmp_path: Path,
                                                                 store: EventStore) -> None:
    rows = [
        row(),
        # served without queueing: queue start and call time are the service start
        row(no="2", queued="-", called="-", start="10:00:00", end="10:03:00", teller="NOBODY",
            seg="1"),
        # a service that crosses midnight, and a wait that does
        row(no="3", taken="23:50:00", queued="23:50:10", called="0:01:00", start="0:01:05",
            end="0:07:00"),
        row(no="4", taken="23:58:00", queued="23:58:05", called="23:59:00", start="23:59:30",
            end="0:04:30"),
        # hung up in the menu: never queued
        row(no="5", taken="11:00:00", queued="-", called="-", start="-", end="-", teller="-",
            state="LEFT", amount=""),
    ]
    store_report = ingest_tickets(store, write_csv(tmp_path / "t.csv", rows),
                                  load_ticket_map(ticket_map(tmp_path)))
    assert (store_report.read, store_report.loaded, store_report.quarantined) == (5, 5, 0)
    assert store_report.warnings == {"missing_teller": 1}
    got = tickets(store, "SELECT ticket_id, branch_id, window_type, strftime(arrival_time, "
                  "'%d %H:%M:%S'), strftime(queue_start, '%d %H:%M:%S'), strftime(call_time, "
                  "'%d %H:%M:%S'), strftime(service_start, '%d %H:%M:%S'), "
                  "strftime(service_end, '%d %H:%M:%S'), teller_id, segment, amount, outcome, "
                  "source_row FROM tickets ORDER BY source_row")
    assert got == [
        ("D1/1", "B07", "cash", "01 09:00:00", "01 09:00:05", "01 09:04:00", "01 09:04:10",
         "01 09:09:00", "0101", "0", 100.0, "served", 2),
        ("D1/2", "B07", "cash", "01 09:00:00", "01 10:00:00", "01 10:00:00", "01 10:00:00",
         "01 10:03:00", None, "vip", 100.0, "served", 3),
        ("D1/3", "B07", "cash", "01 23:50:00", "01 23:50:10", "02 00:01:00", "02 00:01:05",
         "02 00:07:00", "0101", "0", 100.0, "served", 4),
        ("D1/4", "B07", "cash", "01 23:58:00", "01 23:58:05", "01 23:59:00", "01 23:59:30",
         "02 00:04:30", "0101", "0", 100.0, "served", 5),
        ("D1/5", "B07", "cash", "01 11:00:00", None, None, None, None, None, "0", None,
         "abandoned", 6),
    ]


def test_full_timestamps_and_parquet_with_record_numbers(tmp_path: Path,
                                                         store: EventStore) -> None:
    frame = pd.DataFrame({
        "id": ["T1", "T2", "T3"],
        "taken": ["2026-10-01 09:00:00", "2026-10-01T17:10:00+08:00", "yesterday"],
        "end": ["2026-10-01 09:05:00", None, None],
        "status": ["served", "No_Show", "served"],
    })
    source = tmp_path / "t.parquet"
    frame.to_parquet(source)
    mapping = ticket_map(tmp_path, "kind: tickets\ncolumns: {ticket_id: id, arrival_time: "
                         "taken, queue_start: taken, service_end: end, outcome: status}\n")
    report = ingest_tickets(store, source, load_ticket_map(mapping))
    assert (report.format, report.read, report.loaded, report.reasons) == (
        "parquet", 3, 2, {"bad_timestamp": 1})
    assert tickets(store, "SELECT ticket_id, outcome, source_row, strftime(arrival_time, "
                          "'%H:%M') FROM tickets ORDER BY 1") == [
        ("T1", "served", 1, "09:00"), ("T2", "no_show", 2, "09:10")]  # an offset: UTC
    quarantine = pd.read_csv(report.quarantine_file, dtype=str)
    assert quarantine[["source_row", "reason", "id", "taken"]].values.tolist() == [
        ["3", "bad_timestamp", "T3", "yesterday"]]


def test_an_excel_sheet_and_a_gb18030_export(tmp_path: Path, store: EventStore) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["票号", "取号时间", "状态", "客户类型"])
    sheet.append(["A001", "2026-10-01 09:00:00", "已办理", "VIP"])
    sheet.append(["A002", "2026-10-01 09:01:00", "弃号", "普通"])
    sheet.append(["A003", None, "已办理", "普通"])
    workbook.save(tmp_path / "t.xlsx")
    text = ("kind: tickets\ncolumns: {ticket_id: 票号, arrival_time: 取号时间, outcome: 状态, "
            "segment: 客户类型}\nvalues: {outcome: {已办理: served, 弃号: abandoned}}\n")
    mapping = load_ticket_map(ticket_map(tmp_path, text))
    report = ingest_tickets(store, tmp_path / "t.xlsx", mapping)
    assert (report.format, report.read, report.loaded, report.reasons) == (
        "xlsx", 3, 2, {"missing_arrival_time": 1})
    assert pd.read_csv(report.quarantine_file, dtype=str)[["source_row", "票号"]].values.tolist() \
        == [["4", "A003"]]
    source = tmp_path / "t.csv"
    source.write_bytes("票号,取号时间,状态,客户类型\nB001,2026-10-01 09:00:00,已办理,VIP\n"
                       .encode("gb18030"))
    report = ingest_tickets(store, source, mapping)
    assert (report.encoding, report.read, report.loaded) == ("gb18030", 1, 1)
    assert tickets(store, "SELECT ticket_id, outcome, segment FROM tickets ORDER BY 1") == [
        ("A001", "served", "VIP"), ("A002", "abandoned", "普通"), ("B001", "served", "VIP")]


# -- every reason, counts, copies, re-ingest ---------------------------------------------


def test_every_row_is_loaded_or_quarantined_with_its_reason(tmp_path: Path,
                                                            store: EventStore) -> None:
    rows = [
        row(no="1"),                                         # line 2: good
        row(no="-"),                                         # 3: missing_ticket_id (part)
        row(no="3", taken="-"),                              # 4: missing_arrival_time
        row(no="4\x0b"),                                     # 5: control_character
        row(no="5", state="LOST"),                           # 6: unknown_outcome
        row(no="6", state="TEST", taken="nonsense"),         # 7: outcome_excluded first
        row(no="7", start="9:61:00"),                        # 8: bad_timestamp
        row(no="8", day="19890101"),                         # 9: implausible_time
        row(no="9", called="09:02:00", queued="09:03:00"),   # 10: stage_out_of_order
        row(no="10", start="-", end="-", state="MOVED"),     # 11: missing_service_start
        row(no="11", amount="12,5x"),                        # 12: bad_amount
        row(no="1"),                                         # 13: duplicate of line 2
        row(no="13", state="Served"),                        # 14: good (a canonical outcome)
    ]
    source = write_csv(tmp_path / "t.csv", rows)
    with source.open("a", encoding="utf-8") as fh:
        fh.write("D1,14,too,few\n")                          # 15: malformed_line
    report = ingest_tickets(store, source, load_ticket_map(ticket_map(tmp_path)))
    expected = {
        "missing_ticket_id": 1, "missing_arrival_time": 1, "control_character": 1,
        "unknown_outcome": 1, "outcome_excluded": 1, "bad_timestamp": 1, "implausible_time": 1,
        "stage_out_of_order": 1, "missing_service_start": 1, "bad_amount": 1, "duplicate": 1,
        "malformed_line": 1,
    }
    assert report.reasons == expected
    assert list(report.reasons) == [r for r in TICKET_REASONS if r in expected]  # report order
    assert (report.read, report.loaded, report.quarantined, report.reconciles) == (
        14, 2, 12, True)
    quarantine = pd.read_csv(report.quarantine_file, dtype=str, keep_default_na=False)
    assert quarantine[["source_row", "reason"]].values.tolist() == [
        ["3", "missing_ticket_id"], ["4", "missing_arrival_time"], ["5", "control_character"],
        ["6", "unknown_outcome"], ["7", "outcome_excluded"], ["8", "bad_timestamp"],
        ["9", "implausible_time"], ["10", "stage_out_of_order"],
        ["11", "missing_service_start"], ["12", "bad_amount"], ["13", "duplicate"],
        ["15", "malformed_line"]]
    assert quarantine.loc[quarantine.reason == "bad_amount", "amount"].tolist() == ["12,5x"]
    assert quarantine.loc[quarantine.reason == "malformed_line", "raw_line"].tolist() == [
        "D1,14,too,few"]
    assert tickets(store, "SELECT ticket_id, outcome FROM tickets ORDER BY source_row") == [
        ("D1/1", "served"), ("D1/13", "served")]


def test_lines_are_numbered_past_blank_and_rejected_lines(tmp_path: Path,
                                                          store: EventStore) -> None:
    good, bad = ",".join(row(no="1")), ",".join(row(no="2", state="LOST"))
    text = "\n".join(["", ",".join(HEADER), good, "", "", "x,y", "x", bad, "", bad.replace(
        "D1,2", "D1,3"), ""]) + "\n"
    source = tmp_path / "t.csv"
    source.write_text(text, encoding="utf-8", newline="")
    report = ingest_tickets(store, source, load_ticket_map(ticket_map(tmp_path)))
    assert (report.read, report.loaded, report.blank_lines) == (5, 1, 5)
    quarantine = pd.read_csv(report.quarantine_file, dtype=str)
    assert quarantine[["source_row", "reason"]].values.tolist() == [
        ["6", "malformed_line"], ["7", "malformed_line"], ["8", "unknown_outcome"],
        ["10", "unknown_outcome"]]
    assert quarantine.raw_line.dropna().tolist() == ["x,y", "x"]
    assert tickets(store, "SELECT source_row FROM tickets") == [(3,)]


def test_lines_are_numbered_past_notes_over_several_lines(tmp_path: Path,
                                                          store: EventStore) -> None:
    """The reader numbers a record over several lines as one line: the quarantine file and
    the store name the line in the file where each record begins."""
    def line(no: str, state: str = "OK", note: str = "") -> str:
        return ",".join([*row(no=no, state=state), note])

    text = "\n".join([",".join([*HEADER, "note"]),
                      line("1", note='"a\nb"'),                  # lines 2-3
                      "",                                         # 4: blank
                      line("2", state="LOST"),                    # 5: unknown outcome
                      "x,y",                                      # 6: malformed
                      line("3", note='"c\n\nd"'),                # 7-9
                      line("4", state="LOST")]) + "\n"            # 10: unknown outcome
    source = tmp_path / "t.csv"
    source.write_text(text, encoding="utf-8", newline="")
    report = ingest_tickets(store, source, load_ticket_map(ticket_map(tmp_path)))
    assert (report.read, report.loaded, report.blank_lines, report.reconciles) == (
        5, 2, 1, True)
    quarantine = pd.read_csv(report.quarantine_file, dtype=str)
    assert quarantine[["source_row", "reason"]].values.tolist() == [
        ["5", "unknown_outcome"], ["6", "malformed_line"], ["10", "unknown_outcome"]]
    assert tickets(store, "SELECT source_row FROM tickets ORDER BY 1") == [(2,), (7,)]


def test_a_stage_within_the_tolerance_is_kept(tmp_path: Path, store: EventStore) -> None:
    rows = [row(no="1", called="09:04:12", start="09:04:10"),   # 2 s before the call
            row(no="2", called="09:04:13", start="09:04:10")]   # 3 s before
    mapping = load_ticket_map(ticket_map(tmp_path, MAP + "stage_tolerance_seconds: 2\n"))
    report = ingest_tickets(store, write_csv(tmp_path / "t.csv", rows), mapping)
    assert (report.loaded, report.reasons) == (1, {"stage_out_of_order": 1})


def test_a_second_ingest_finds_its_tickets_in_the_store(tmp_path: Path,
                                                        store: EventStore) -> None:
    mapping = load_ticket_map(ticket_map(tmp_path))
    first = ingest_tickets(store, write_csv(tmp_path / "a.csv", [row(no="1"), row(no="2")]),
                           mapping)
    assert first.loaded == 2
    # the same two again, twice, and one new: the stored ones stay already_in_store
    again = write_csv(tmp_path / "b.csv", [row(no="1"), row(no="2"), row(no="2"),
                                           row(no="3")])
    second = ingest_tickets(store, again, mapping)
    assert (second.loaded, second.reasons) == (1, {"already_in_store": 3})
    assert tickets(store, "SELECT count(*), count(DISTINCT ticket_id) FROM tickets") == [(3, 3)]
    assert [b.kind for b in list_batches(store)] == ["tickets", "tickets"]
    assert store.is_empty()  # no events: the tickets live apart


@pytest.mark.parametrize("app_db", ["sqlite"], indirect=True)
def test_dropping_a_ticket_batch_removes_its_tickets(tmp_path: Path, store: EventStore,
                                                     app_db: str) -> None:
    mapping = load_ticket_map(ticket_map(tmp_path))
    keep = ingest_tickets(store, write_csv(tmp_path / "a.csv", [row(no="1")]), mapping)
    drop = ingest_tickets(store, write_csv(tmp_path / "b.csv", [row(no="2"), row(no="2")]),
                          mapping)
    assert drop.quarantine_file is not None
    dropped = drop_batch(store, drop.batch_id, user="ops")
    assert (dropped.kind, dropped.loaded) == ("tickets", 1)
    assert tickets(store, "SELECT ticket_id FROM tickets") == [("D1/1",)]
    assert [b.batch_id for b in list_batches(store)] == [keep.batch_id]
    assert not Path(drop.quarantine_file).exists()
    assert store.ticket_files() == [store.batch_file(keep.batch_id, "tickets")]


def test_nothing_is_committed_when_the_counts_do_not_reconcile(
        tmp_path: Path, store: EventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    counted = ticket_ingest.count_csv_lines

    def one_more(path: Path, encoding: str = "utf-8", **options: bool):  # a line lost
        lines = counted(path, encoding, **options)
        return type(lines)(lines=lines.lines + 1, blank=lines.blank)

    monkeypatch.setattr(ticket_ingest, "count_csv_lines", one_more)
    source = write_csv(tmp_path / "t.csv", [row(no="1"), row(no="2", state="LOST")])
    with pytest.raises(ProcmineError, match=r"3 records counted in the file.*nothing was stored"):
        ingest_tickets(store, source, load_ticket_map(ticket_map(tmp_path)))
    assert store.batches() == [] and not store.has_tickets()
    assert list(store.tickets_dir.iterdir()) == []
    assert list(store.quarantine_dir.iterdir()) == []


def test_the_ingest_command_dispatches_on_the_mapping_kind(tmp_path: Path) -> None:
    home = tmp_path / "workspace"
    source = write_csv(tmp_path / "t.csv", [row(no="1"), row(no="2", state="TEST")])
    mapping = ticket_map(tmp_path)
    result = runner.invoke(app, ["ingest", str(source), "--map", str(mapping), "--home",
                                 str(home), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["kind"], data["read"], data["loaded"], data["reasons"]) == (
        "tickets", 2, 1, {"outcome_excluded": 1})
    again = runner.invoke(app, ["ingest", str(source), "--map", str(mapping), "--home",
                                str(home)])
    assert again.exit_code == 0, again.output
    printed = " ".join(again.stdout.split())  # the console wraps long lines
    assert "(csv, tickets," in printed
    assert "already_in_store: the ticket is already in the store" in printed
    listed = runner.invoke(app, ["batch", "list", "--home", str(home), "--json"])
    assert [b["kind"] for b in json.loads(listed.stdout)] == ["tickets", "tickets"]
    bad = runner.invoke(app, ["ingest", str(source), "--map", str(ticket_map(
        tmp_path, MAP.replace("OK: served", "OK: done"))), "--home", str(home)])
    assert bad.exit_code != 0 and isinstance(bad.exception, ProcmineError)
    assert "'done' is not an outcome" in str(bad.exception)  # main() prints it, no traceback


# -- the real call-centre log through the shipped mapping ----------------------------------


def _independent(raw_file: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """The call-centre log read with pandas alone, and the rules of the shipped mapping
    applied by hand: PHANTOM set aside, stages rolled over midnight (12 h), a stage more than
    2 s before an earlier one out of order, an AGENT call without a service start."""
    df = pd.read_csv(raw_file, sep="\t", dtype=str)

    def seconds(column: str) -> pd.Series:
        parts = df[column].str.split(":", expand=True).astype(int)
        value = parts[0] * 3600 + parts[1] * 60 + parts[2]
        return value.where(df[column] != "0:00:00")

    q_start, q_exit, ser_start = seconds("q_start"), seconds("q_exit"), seconds("ser_start")
    stages = [seconds("vru_entry"), q_start.fillna(ser_start), q_exit.fillna(ser_start),
              ser_start, seconds("ser_exit")]
    latest = stages[0].copy()
    out_of_order = pd.Series(False, index=df.index)
    for stage in stages[1:]:
        stage = stage.where(~(stage < latest - 12 * 3600), stage + 86400)
        out_of_order |= stage < latest - 2
        latest = latest.where(latest >= stage, stage).where(stage.notna(), latest)
    reason = pd.Series(None, index=df.index, dtype=object)
    reason[(df.outcome == "AGENT") & ser_start.isna()] = "missing_service_start"
    reason[out_of_order] = "stage_out_of_order"
    reason[df.outcome == "PHANTOM"] = "outcome_excluded"
    df["reason"] = reason
    counts = {r: int(n) for r, n in reason.value_counts().items()}
    return df, counts


def test_the_real_call_centre_log_through_the_shipped_mapping(real_logs: Path,
                                                              store: EventStore) -> None:
    raw_file = real_logs / "data_anonymous_bank_february.txt"
    mapping = bundled_path("event_logs", "mappings", "anonymous_bank.yaml")
    assert read_map_kind(mapping) == "tickets"
    report = ingest_tickets(store, raw_file, load_ticket_map(mapping))

    df, reasons = _independent(raw_file)
    loaded = df[df.reason.isna()]
    assert len(df) == 33_344
    assert (report.read, report.loaded, report.quarantined) == (
        33_344, len(loaded), 33_344 - len(loaded))
    assert report.reconciles and report.blank_lines == 0
    assert report.reasons == reasons
    assert reasons == {"outcome_excluded": 278, "stage_out_of_order": 241,
                       "missing_service_start": 50}
    assert report.warnings == {"missing_teller": int(
        ((loaded.outcome == "AGENT") & (loaded.server == "NO_SERVER")).sum())}

    # the queue figures (procmine.queue_summary) against the raw file's own columns
    served = loaded[loaded.outcome == "AGENT"]
    abandoned = loaded[loaded.outcome == "HANG"]
    queued = loaded[(loaded.q_start != "0:00:00") | (loaded.ser_start != "0:00:00")]
    waits, services = served.q_time.astype(int), served.ser_time.astype(int)
    summary = queue_summary(store, QueueFilter(target_wait=60))
    assert summary.source == "tickets"
    assert (summary.tickets, summary.served, summary.abandoned, summary.transferred,
            summary.no_show, summary.queued) == (
        len(loaded), len(served), len(abandoned), 0, 0, len(queued))
    assert (len(loaded), len(served), len(abandoned)) == (32_775, 26_888, 5_887)
    assert summary.abandonment_rate == pytest.approx(
        (queued.outcome == "HANG").sum() / len(queued))
    assert summary.mean_wait_seconds_served == pytest.approx(waits.mean(), abs=0.5)
    assert summary.max_wait_seconds_served == waits.max()
    assert summary.service_level == {"target_seconds": 60.0,
                                     "share": pytest.approx((waits <= 60).mean())}
    assert summary.mean_service_seconds == pytest.approx(services.mean(), abs=0.5)
    assert (summary.first_day, summary.last_day) == ("1999-02-01", "1999-02-28")
    agents = served[served.server != "NO_SERVER"].groupby("server").ser_time
    expected = {str(name): (len(times), times.astype(int).mean()) for name, times in agents}
    assert {t["teller_id"]: t["served"] for t in summary.per_teller} == {
        name: n for name, (n, _) in expected.items()}
    for teller in summary.per_teller:
        assert teller["mean_service_seconds"] == pytest.approx(
            expected[teller["teller_id"]][1], abs=0.5)
    assert tickets(store, "SELECT count(DISTINCT ticket_id) FROM tickets") == [
        (len(loaded),)]  # vru+line with call_id is unique

    # the services that cross midnight end on the next day, with the file's service time
    crossing = tickets(store, "SELECT count(*), sum(epoch(service_end - service_start)) "
                              "FROM tickets WHERE outcome = 'served' "
                              "AND service_end::DATE > service_start::DATE")[0]
    late = served[served.ser_exit.str.split(":").str[0].astype(int)
                  < served.ser_start.str.split(":").str[0].astype(int)]
    assert crossing == (len(late), late.ser_time.astype(int).sum())
    assert len(late) > 0


# -- any text: every row accounted for, or a clear refusal ---------------------------------

_TICKET_FIELD = st.one_of(
    st.text(st.sampled_from([*"abcOK019 -:/", '"', ",", "\t", "\x00", "\x0b", "\r", "号"]),
            max_size=6),
    st.sampled_from(["-", "NOBODY", "", "OK", "LEFT", "TEST", "MOVED", "09:00:00", "23:59:59",
                     "0:00:01", "12:00:00", "25:00:00", "20261001", "19991231", "20261301",
                     '"quoted, comma"', '"broken', "1,000", "D1"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(st.lists(_TICKET_FIELD, min_size=0, max_size=14),
                                st.builds(lambda n, s: row(no=n, state=s),
                                          st.sampled_from(["1", "2", "-"]),
                                          st.sampled_from(["OK", "LEFT", "TEST"]))),
                      max_size=20),
       blank=st.lists(st.booleans(), max_size=20))
def test_any_ticket_text_is_loaded_or_quarantined_or_refused_clearly(
        tmp_path: Path, lines: list[list[str]], blank: list[bool]) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        out = [",".join(HEADER)]
        for line, blank_after in zip(lines, blank + [False] * len(lines), strict=False):
            out += [",".join(line)] + ([""] if blank_after else [])
        path = Path(tmp) / "t.csv"
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
        store = EventStore(Path(tmp) / "ws")
        try:
            report = ingest_tickets(store, path, load_ticket_map(ticket_map(Path(tmp))))
        except ProcmineError as exc:
            event(f"refused: {str(exc)[-50:]}")
            assert store.batches() == [] and not store.has_tickets()
            return
        event("quarantined" if report.quarantined else "loaded")
        assert report.reconciles and sum(report.reasons.values()) == report.quarantined
        assert set(report.reasons) <= set(TICKET_REASONS)
        stored = tickets(store, "SELECT count(*), count(DISTINCT source_row), "
                                "min(source_row), max(source_row) FROM tickets")[0]
        assert stored[0] == stored[1] == report.loaded
        n_lines = len(path.read_text(encoding="utf-8").split("\n")) - 1
        if report.loaded:
            assert stored[2] >= 2 and stored[3] <= n_lines
        if report.quarantine_file:
            rows = pd.read_csv(report.quarantine_file, dtype=str, keep_default_na=False)
            assert len(rows) == report.quarantined
            assert all(2 <= int(r) <= n_lines for r in rows.source_row)
