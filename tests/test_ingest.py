"""Ingest: every record is loaded or quarantined with its reason, and the counts reconcile."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import random
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.ingest import copies as ingest
from procmine.ingest.run import IngestRun, ingest_log
from procmine.io.eventlog import ColumnMap, load_column_map
from procmine.store.event_store import EventStore

HEADER = [
    "case_id", "activity", "start_time", "end_time", "teller_id", "branch_id",
    "business_type", "amount", "error",
]


def good_rows(n: int, seed: int = 1) -> list[list[str]]:
    """n distinct, valid step rows of counter transactions."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        case = f"J{i // 4:06d}"
        minute = i % 60
        start = f"2026-09-{1 + (i // 240) % 28:02d} 09:{minute:02d}:{(i * 7) % 50:02d}"
        end = start[:-2] + f"{(i * 7) % 50 + 5:02d}"
        rows.append([
            case, ["Call number", "Verify identity", "Count cash", "Print voucher"][i % 4],
            start, end, f"{rng.randint(1, 20):04d}", f"B{rng.randint(1, 3):02d}",
            rng.choice(["P17", "P18", "P28"]), f"{rng.randint(1, 90000)}.{i % 100:02d}",
            rng.choice(["0", "1", "false", "true"]),
        ])
    return rows


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER,
              encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def quarantine(report_file: str | None) -> pd.DataFrame:
    assert report_file is not None
    return pd.read_csv(report_file, dtype=str, keep_default_na=False)


def test_a_clean_csv_loads_every_row_with_ids_as_strings(store: EventStore, tmp_path: Path,
                                                         baseline: Baseline) -> None:
    rows = good_rows(400)
    report = ingest_log(store, write_csv(tmp_path / "log.csv", rows), baseline=baseline)
    assert (report.read, report.loaded, report.quarantined) == (400, 400, 0)
    assert report.quarantine_file is None
    events = store.read_events().to_pandas()
    assert len(events) == 400
    assert set(events["teller_id"]) == {r[4] for r in rows}  # "0007" stays "0007"
    assert events["teller_id"].str.len().eq(4).all()
    first = events[events["case_id"] == "J000000"].sort_values("start_time").iloc[0]
    # CSV lines are not numbered in the store (quarantined rows carry their line)
    assert events["source_row"].isna().all()
    assert events["source_batch"].eq(report.batch_id).all()
    assert str(first["start_time"]) == rows[0][2]
    assert first["amount"] == pytest.approx(float(rows[0][7]))
    assert first["error"] == (rows[0][8] in ("1", "true"))


def test_ten_percent_bad_rows_of_every_kind_are_quarantined_with_their_line(
    store: EventStore, tmp_path: Path, baseline: Baseline
) -> None:
    rows = good_rows(900)
    bad: dict[str, list[list[str]]] = {
        "missing_case_id": [], "missing_activity": [], "missing_end_time": [],
        "bad_timestamp": [], "end_before_start": [], "unknown_business_type": [],
        "bad_amount": [], "bad_error_flag": [], "duplicate": [],
    }
    base = good_rows(100, seed=9)
    for i, row in enumerate(base):
        row = list(row)
        row[0] = f"X{i:05d}"  # distinct cases, so these rows are not copies of good ones
        kind = list(bad)[i % len(bad)]
        if kind == "missing_case_id":
            row[0] = ""
        elif kind == "missing_activity":
            row[1] = "  "
        elif kind == "missing_end_time":
            row[3] = ""
        elif kind == "bad_timestamp":
            row[2] = "yesterday at nine"
        elif kind == "end_before_start":
            row[2], row[3] = row[3], row[2]
        elif kind == "unknown_business_type":
            row[6] = "Z99"
        elif kind == "bad_amount":
            row[7] = "12,3x"
        elif kind == "bad_error_flag":
            row[8] = "maybe"
        elif kind == "duplicate":
            row = list(rows[i * 7])
        bad[kind].append(row)
    mixed: list[tuple[str | None, list[str]]] = [(None, r) for r in rows]
    rng = random.Random(3)
    for kind, kind_rows in bad.items():
        for row in kind_rows:
            # a copy must come after its original for the original to be the one kept
            low = (rows.index(row) + 1) if kind == "duplicate" else 0
            mixed.insert(rng.randint(low, len(mixed)), (kind, row))
    path = write_csv(tmp_path / "mixed.csv", [r for _, r in mixed])
    # one line the reader cannot split: too many fields
    text = path.read_text(encoding="utf-8").splitlines()
    text.insert(500, "J999999,Call number,2026-09-01 09:00:00,2026-09-01 09:00:05,0001,B01,"
                     "P17,1,0,extra")
    path.write_text("\n".join(text) + "\n", encoding="utf-8")

    report = ingest_log(store, path, baseline=baseline)

    expected = {kind: len(v) for kind, v in bad.items()}
    expected["malformed_line"] = 1
    assert report.reasons == expected
    assert report.loaded == 900
    assert report.read == 1001 == report.loaded + report.quarantined
    assert report.reconciles
    assert len(store.read_events()) == 900

    # every quarantined row names the line it came from, and that line holds its values
    q = quarantine(report.quarantine_file)
    assert len(q) == report.quarantined
    assert q["reason"].value_counts().to_dict() == expected
    lines = path.read_text(encoding="utf-8").splitlines()
    for _, row in q.iterrows():
        line = lines[int(row["source_row"]) - 1]
        if row["reason"] == "malformed_line":
            assert line.endswith(",extra")
            continue
        assert line.split(",")[1].strip() == row["activity"].strip()
        assert line.split(",")[0] == row["case_id"]
        if row["reason"] == "bad_timestamp":
            assert row["start_time"] == "yesterday at nine"  # the text as written
        if row["reason"] == "duplicate":
            # the kept copy is the earlier line
            assert lines.index(line) + 1 < int(row["source_row"])


def test_reingesting_a_file_adds_nothing_and_a_new_month_appends(
    store: EventStore, tmp_path: Path, baseline: Baseline
) -> None:
    september = write_csv(tmp_path / "sep.csv", good_rows(200))
    first = ingest_log(store, september, baseline=baseline)
    again = ingest_log(store, september, baseline=baseline)
    assert first.loaded == 200
    assert (again.read, again.loaded, again.reasons) == (200, 0, {"already_in_store": 200})
    october_rows = [[r[0].replace("J", "K"), *r[1:]] for r in good_rows(150, seed=2)]
    october = ingest_log(store, write_csv(tmp_path / "oct.csv", october_rows), baseline=baseline)
    assert october.loaded == 150
    info = store.info()
    assert info.events == 350
    assert info.batches == 3
    assert info.quarantined == 200


def test_the_same_log_in_another_format_adds_nothing(store: EventStore, tmp_path: Path) -> None:
    rows = good_rows(120)
    ingest_log(store, write_csv(tmp_path / "log.csv", rows))
    frame = pd.DataFrame(rows, columns=HEADER)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "log.parquet")
    report = ingest_log(store, tmp_path / "log.parquet")
    assert report.reasons == {"already_in_store": 120}


def test_gb18030_csv_with_chinese_columns_ingests_through_a_mapping(
    store: EventStore, tmp_path: Path, baseline: Baseline
) -> None:
    header = ["交易流水号", "步骤名称", "开始时间", "结束时间", "柜员号", "网点号", "交易码",
              "交易金额", "是否冲正"]
    rows = [
        ["20260901000001", "核对身份", "2026-09-01 09:00:00.120", "2026-09-01 09:00:31.500",
         "0103", "广州天河支行", "P17", "5000.00", "否"],
        ["20260901000001", "清点现金", "2026-09-01 09:00:35.000", "2026-09-01 09:01:20.250",
         "0103", "广州天河支行", "P17", "5000.00", "否"],
        ["20260901000002", "录入交易", "2026-09-01 09:05:00.000", "2026-09-01 09:06:10.000",
         "0208", "广州天河支行", "P18", "60000.00", "是"],
    ]
    path = write_csv(tmp_path / "核心系统导出.csv", rows, header=header, encoding="gb18030",
                     delimiter="|")
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "columns:\n  case_id: 交易流水号\n  activity: 步骤名称\n  start_time: 开始时间\n"
        "  end_time: 结束时间\n  teller_id: 柜员号\n  branch_id: 网点号\n  business_type: 交易码\n"
        "  amount: 交易金额\n  error: 是否冲正\n"
        'timestamp_format: "%Y-%m-%d %H:%M:%S.%f"\nencoding: gb18030\n',
        encoding="utf-8",
    )
    report = ingest_log(store, path, column_map=load_column_map(mapping), baseline=baseline)
    assert (report.read, report.loaded, report.quarantined) == (3, 3, 0)
    assert report.encoding == "gb18030"
    events = store.read_events().to_pandas().sort_values("start_time")
    assert list(events["activity"]) == ["核对身份", "清点现金", "录入交易"]
    assert list(events["branch_id"].unique()) == ["广州天河支行"]
    assert list(events["teller_id"]) == ["0103", "0103", "0208"]
    assert list(events["error"]) == [False, False, True]
    assert (events["end_time"] - events["start_time"]).dt.total_seconds().tolist() == [
        pytest.approx(31.38), pytest.approx(45.25), pytest.approx(70.0)
    ]


def test_gb18030_is_detected_without_a_mapping(store: EventStore, tmp_path: Path) -> None:
    rows = [["c1", "点钞", "2026-09-01 09:00:00", "2026-09-01 09:00:40", "0001", "B1", "P17",
             "10", "0"]]
    path = write_csv(tmp_path / "gb.csv", rows, encoding="gb18030")
    report = ingest_log(store, path)
    assert report.encoding == "gb18030"
    assert store.read_events().column("activity").to_pylist() == ["点钞"]


def test_utf8_bom_and_semicolons(store: EventStore, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bom.csv", good_rows(10), encoding="utf-8-sig", delimiter=";")
    report = ingest_log(store, path)
    assert report.loaded == 10
    assert store.read_events().column("case_id").to_pylist()[0] == "J000000"


def test_a_log_without_teller_or_type_still_loads(store: EventStore, tmp_path: Path) -> None:
    path = tmp_path / "generic.csv"
    path.write_text(
        "Case,Task,Timestamp\n1,Register,2026/01/30 06:24:00\n1,Check,2026/01/30 07:00:00\n",
        encoding="utf-8",
    )
    report = ingest_log(store, path)
    assert report.loaded == 2
    assert report.mapping == {"case_id": "Case", "activity": "Task", "end_time": "Timestamp"}
    events = store.read_events().to_pandas()
    assert events["teller_id"].isna().all()
    assert str(events["end_time"].max()) == "2026-01-30 07:00:00"


def test_rows_without_teller_load_with_a_warning(store: EventStore, tmp_path: Path) -> None:
    rows = good_rows(20)
    for row in rows[:5]:
        row[4] = ""
    report = ingest_log(store, write_csv(tmp_path / "t.csv", rows))
    assert report.loaded == 20
    assert report.warnings == {"missing_teller": 5}


def test_timestamps_with_changing_offsets_are_stored_in_utc(store: EventStore,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "tz.csv"
    path.write_text(
        "case_id,activity,end_time\n"
        "a,x,2011-10-11 13:45:40.276000+02:00\na,y,2011-11-24 15:36:51.302000+01:00\n",
        encoding="utf-8",
    )
    ingest_log(store, path)
    ends = sorted(str(t) for t in store.read_events().column("end_time").to_pylist())
    assert ends == ["2011-10-11 11:45:40.276000", "2011-11-24 14:36:51.302000"]


def test_excel_workbook(store: EventStore, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["流水号", "步骤", "开始时间", "结束时间", "柜员号"])
    sheet.append(["A1", "清点现金", dt.datetime(2026, 9, 1, 9, 0), dt.datetime(2026, 9, 1, 9, 1),
                  "0103"])
    sheet.append(["A1", "打印凭证", dt.datetime(2026, 9, 1, 9, 1, 5),
                  dt.datetime(2026, 9, 1, 9, 0), "0103"])
    workbook.save(tmp_path / "log.xlsx")
    report = ingest_log(store, tmp_path / "log.xlsx")
    assert (report.loaded, report.reasons) == (1, {"end_before_start": 1})
    q = quarantine(report.quarantine_file)
    assert q.loc[0, "source_row"] == "3"  # sheet row 3
    assert store.read_events().column("teller_id").to_pylist() == ["0103"]


def test_parquet_with_typed_columns(store: EventStore, tmp_path: Path) -> None:
    table = pa.table({
        "case_id": ["c1", "c1", "c2"],
        "activity": ["a", "b", "a"],
        "start_time": pa.array([dt.datetime(2026, 9, 1, 9, 0), dt.datetime(2026, 9, 1, 9, 1),
                                None], pa.timestamp("us")),
        "end_time": pa.array([dt.datetime(2026, 9, 1, 9, 0, 30), dt.datetime(2026, 9, 1, 9, 2),
                              dt.datetime(2026, 9, 1, 9, 5)], pa.timestamp("us")),
        "amount": [1.5, None, 3.0],
    })
    pq.write_table(table, tmp_path / "typed.parquet")
    report = ingest_log(store, tmp_path / "typed.parquet")
    assert report.loaded == 3
    events = store.read_events().to_pandas().sort_values("source_row")
    assert events["source_row"].tolist() == [1, 2, 3]
    assert events["amount"].tolist()[0] == 1.5


def test_xes_lifecycle_pairs_start_and_complete(store: EventStore, tmp_path: Path) -> None:
    def event(name: str, transition: str, time: str, resource: str = "r1") -> str:
        return (
            f'<event><string key="concept:name" value="{name}"/>'
            f'<string key="lifecycle:transition" value="{transition}"/>'
            f'<string key="org:resource" value="{resource}"/>'
            f'<date key="time:timestamp" value="{time}"/></event>'
        )

    trace = "".join([
        '<trace><string key="concept:name" value="case1"/>',
        event("A", "start", "2026-09-01T09:00:00.000+08:00"),
        event("A", "complete", "2026-09-01T09:00:30.000+08:00"),
        event("B", "start", "2026-09-01T09:01:00.000+08:00"),
        event("B", "start", "2026-09-01T09:01:10.000+08:00"),     # nested: FIFO pairing
        event("B", "complete", "2026-09-01T09:02:00.000+08:00"),
        event("B", "complete", "2026-09-01T09:03:00.000+08:00"),
        event("C", "complete", "2026-09-01T09:04:00.000+08:00"),  # no start
        event("D", "start", "2026-09-01T09:05:00.000+08:00"),     # never completed
        event("E", "schedule", "2026-09-01T09:06:00.000+08:00"),  # not used
        "</trace>",
    ])
    xes = f'<?xml version="1.0"?><log xmlns="http://www.xes-standard.org/">{trace}</log>'
    path = tmp_path / "log.xes.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(xes)
    report = ingest_log(store, path)
    assert report.read == 9
    assert report.merged_by_pairing == 3
    assert report.pairing == {"start_events": 4, "complete_events": 4, "paired": 3,
                              "unmatched_start": 1, "unmatched_complete": 1}
    assert report.reasons == {"lifecycle_not_used": 1, "unmatched_start": 1}
    assert report.loaded == 4 and report.reconciles
    assert report.warnings == {"unmatched_complete": 1}
    con = duckdb.connect()
    events = store.read_events().to_pandas().sort_values(["activity", "end_time"])
    durations = (events["end_time"] - events["start_time"]).dt.total_seconds().tolist()
    assert events["activity"].tolist() == ["A", "B", "B", "C"]
    assert durations[:3] == [30.0, 60.0, 110.0]   # B: 09:01:00-09:02:00 and 09:01:10-09:03:00
    assert pd.isna(durations[3])
    assert str(events["start_time"].iloc[0]) == "2026-09-01 01:00:00"  # UTC
    con.close()


def test_unreadable_files_give_a_clear_error(store: EventStore, tmp_path: Path) -> None:
    with pytest.raises(ProcmineError, match="no such file"):
        ingest_log(store, tmp_path / "missing.csv")
    (tmp_path / "log.doc").write_text("x", encoding="utf-8")
    with pytest.raises(ProcmineError, match=r"unknown file type \.doc"):
        ingest_log(store, tmp_path / "log.doc")
    (tmp_path / "nocase.csv").write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(ProcmineError, match="no column found for case_id, activity, end_time"):
        ingest_log(store, tmp_path / "nocase.csv")
    path = write_csv(tmp_path / "ok.csv", good_rows(3))
    with pytest.raises(ProcmineError, match="NO_SUCH_COLUMN"):
        ingest_log(store, path, column_map=ColumnMap(columns={"case_id": "NO_SUCH_COLUMN"}))
    weird = tmp_path / "weird.csv"
    weird.write_text("case_id,activity,end_time\na,b,not a time\nc,d,never\n", encoding="utf-8")
    with pytest.raises(ProcmineError, match="timestamp_format"):
        ingest_log(store, weird)
    assert store.is_empty()


def test_mapping_file_errors_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("columns:\n  case_idd: JRNL\n", encoding="utf-8")
    with pytest.raises(ProcmineError, match=r"columns\.case_idd is not a canonical column"):
        load_column_map(path)
    path.write_text("columns: [a, b\n", encoding="utf-8")
    with pytest.raises(ProcmineError, match="line 2: not valid YAML"):
        load_column_map(path)
    path.write_text("columns:\n  case_id: A\nencoding: klingon\n", encoding="utf-8")
    with pytest.raises(ProcmineError, match="encoding 'klingon' is not known"):
        load_column_map(path)


def test_progress_is_reported_by_phase_and_ends_complete(store: EventStore, tmp_path: Path,
                                                         baseline: Baseline) -> None:
    calls: list[tuple[str, float]] = []
    path = write_csv(tmp_path / "log.csv", good_rows(2000))
    ingest_log(store, path, baseline=baseline, progress=lambda phase, f: calls.append((phase, f)))
    # the read ends complete, then the preparation of the steps runs and ends complete
    assert ("read", 1.0) in calls and calls[-1] == ("prepare", 1.0)
    assert [phase for phase, _ in calls[calls.index(("read", 1.0)):]] == [
        "read", "prepare", "prepare"]
    fractions = [f for phase, f in calls if phase == "read"]
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert fractions == sorted(fractions)


def _full_path_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ingest skip the typed CSV pass, so every value is read as text and converted."""
    monkeypatch.setattr(IngestRun, "_fast_pass", lambda self: False)


def test_the_typed_csv_pass_stores_what_the_full_path_stores(
    tmp_path: Path, baseline: Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = good_rows(300)
    rows[5][2] = rows[5][2].replace(" ", "T") + ".123456"  # ISO variants the reader parses itself
    rows[6][2], rows[6][7] = "", "1e3"
    path = write_csv(tmp_path / "log.csv", rows)
    taken: list[bool] = []
    fast = IngestRun._fast_pass

    def spy(self: IngestRun) -> bool:
        taken.append(fast(self))
        return taken[-1]

    monkeypatch.setattr(IngestRun, "_fast_pass", spy)
    typed_store = EventStore(tmp_path / "typed")
    typed_report = ingest_log(typed_store, path, baseline=baseline)
    assert taken == [True]
    _full_path_only(monkeypatch)
    text_store = EventStore(tmp_path / "text")
    text_report = ingest_log(text_store, path, baseline=baseline)
    assert (typed_report.loaded, typed_report.reasons) == (text_report.loaded, {}) == (300, {})

    def stored(store: EventStore) -> pd.DataFrame:
        con = store.connect()
        try:
            return con.sql("SELECT * EXCLUDE (source_batch) FROM events_hashed "
                           "ORDER BY row_hash").df()
        finally:
            con.close()

    pd.testing.assert_frame_equal(stored(typed_store), stored(text_store))
    # the hashes agree, so the full path recognises what the typed pass stored
    again = ingest_log(typed_store, path, baseline=baseline)
    assert again.reasons == {"already_in_store": 300}


def test_a_value_the_typed_reader_rejects_past_the_sample_is_still_read(
    store: EventStore, tmp_path: Path, baseline: Baseline
) -> None:
    rows = good_rows(20_100)  # the format checks sample the first 20,000 records
    rows[20_050][7] = "1,234.50"  # a thousands separator: not a plain number, yet an amount
    # an offset, outside the sampled format (UTC, so the step keeps a plausible length)
    rows[20_060][2] = rows[20_060][2] + "+00:00"
    rows[20_070][3] = "not a time"
    report = ingest_log(store, write_csv(tmp_path / "log.csv", rows), baseline=baseline)
    assert (report.loaded, report.reasons) == (20_099, {"bad_timestamp": 1})
    q = quarantine(report.quarantine_file)
    assert q[["source_row", "end_time"]].values.tolist() == [["20072", "not a time"]]
    events = store.read_events().to_pandas().set_index(["case_id", "activity"])
    amount = events.loc[(rows[20_050][0], rows[20_050][1]), "amount"]
    assert amount == pytest.approx(1234.5)


def test_copies_are_found_the_same_by_sorting_and_by_grouping_hashes(
    tmp_path: Path, baseline: Baseline, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = good_rows(500)
    rows += [list(rows[10]), list(rows[20]), list(rows[10])]
    path = write_csv(tmp_path / "log.csv", rows)
    sorted_report = ingest_log(EventStore(tmp_path / "sorted"), path, baseline=baseline)
    monkeypatch.setattr(ingest, "SORT_LIMIT", 0)  # DuckDB groups the hashes instead
    grouped_report = ingest_log(EventStore(tmp_path / "grouped"), path, baseline=baseline)
    for report in (sorted_report, grouped_report):
        assert (report.loaded, report.reasons) == (500, {"duplicate": 3})
        assert sorted(quarantine(report.quarantine_file)["source_row"].astype(int)) == [
            502, 503, 504]


# -- read is counted from the source ----------------------------------------------------------


def test_blank_lines_are_counted_apart_from_the_records(store: EventStore, tmp_path: Path) -> None:
    rows = good_rows(40)
    text = write_csv(tmp_path / "log.csv", rows).read_text(encoding="utf-8").splitlines()
    text[10:10] = ["", ""]
    text[30:30] = [""]
    (tmp_path / "blank.csv").write_text("\n".join(["", *text, "", ""]) + "\n", encoding="utf-8")
    report = ingest_log(store, tmp_path / "blank.csv")
    assert (report.read, report.loaded, report.quarantined, report.blank_lines) == (40, 40, 0, 6)
    assert report.to_dict()["blank_lines"] == 6
    assert report.reconciles


def test_lines_starting_with_a_hash_are_records_not_comments(store: EventStore,
                                                             tmp_path: Path) -> None:
    """DuckDB's sniffer took them for comments and dropped them; the report still said read
    == loaded. Now each is loaded or quarantined, and read counts them."""
    source = tmp_path / "hash.csv"
    source.write_text("case_id,activity,end_time\nC1,Open,2026-10-01 09:00:05\n"
                      "# exported by the branch system\nC1,Close,2026-10-01 09:02:00\n"
                      "#C2,Open,2026-10-01 09:03:00\n", encoding="utf-8")
    report = ingest_log(store, source)
    assert (report.read, report.loaded, report.quarantined) == (4, 3, 1)
    assert report.reasons == {"malformed_line": 1}
    assert sorted(store.read_events(["case_id"]).column(0).to_pylist()) == ["#C2", "C1", "C1"]
    assert quarantine(report.quarantine_file)["source_row"].tolist() == ["3"]


def test_a_record_the_reader_does_not_return_stops_the_ingest(
    store: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reconciliation compares the reader with a count of its own: one line more in the
    file than the reader returned, and nothing is stored."""
    from procmine.ingest import counting, run

    def one_more(path: Path, encoding: str = "utf-8") -> counting.CsvLines:
        lines = counting.count_csv_lines(path, encoding)
        return counting.CsvLines(lines=lines.lines + 1, blank=lines.blank)

    monkeypatch.setattr(run, "count_csv_lines", one_more)
    rows = good_rows(30)
    rows[5][0] = ""  # a row to quarantine: the full path, with a quarantine file
    with pytest.raises(ProcmineError, match="31 records counted in the file, but the reader "
                                            "accounted for 30"):
        ingest_log(store, write_csv(tmp_path / "log.csv", rows))
    assert store.is_empty() and store.batches() == []
    assert list(store.events_dir.iterdir()) == [] and list(store.quarantine_dir.iterdir()) == []


def test_a_blank_line_inside_a_quoted_value_is_a_line_of_its_record(store: EventStore,
                                                                     tmp_path: Path) -> None:
    """A remark with an empty paragraph: the count sees a blank line there, but it belongs to
    the record (a blank line between records is still reported as one)."""
    source = tmp_path / "paragraphs.csv"
    source.write_bytes(b'case_id,activity,end_time,remark\r\nC1,Open,2026-10-01 09:00:05,"cash'
                       b'\r\n\r\n\r\ncounted twice"\r\n\r\nC1,Close,2026-10-01 09:02:00,\r\n')
    report = ingest_log(store, source)
    assert (report.read, report.loaded, report.quarantined, report.blank_lines) == (2, 2, 0, 1)


def test_a_quoted_value_over_two_lines_is_one_record(store: EventStore, tmp_path: Path) -> None:
    source = tmp_path / "multi.csv"
    # the line break sits in a column that is not an identifier (one there is a control
    # character, quarantined)
    source.write_text('case_id,activity,end_time,remark\nC1,Open,2026-10-01 09:00:05,"cash\n'
                      'counted twice"\nC1,Close,2026-10-01 09:02:00,\n', encoding="utf-8")
    report = ingest_log(store, source)
    assert (report.read, report.loaded, report.quarantined, report.blank_lines) == (2, 2, 0, 0)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_quarantined_rows_keep_their_line_past_records_over_several_lines(
    store: EventStore, tmp_path: Path, newline: str
) -> None:
    """The reader numbers a record over several lines as one line: the quarantine file names
    the line in the file where each bad record begins, past remarks of three lines, a blank
    line inside a remark and one between records, and a line the reader could not split."""
    lines = ["case_id,activity,end_time,remark",
             'C1,Open,2026-10-01 09:00:05,"cash', "counted", 'twice"',   # lines 2-4
             "C1,Close,2026-10-01 09:02:00,",                             # 5
             ",Open,2026-10-01 09:03:00,",                                # 6: no case id
             "",                                                          # 7: blank
             'C3,Open,notatime,"a', "", 'b"',                             # 8-10: bad time
             "x,y",                                                       # 11: malformed
             "C4,Open,notatime,",                                         # 12: bad time
             'C5,Open,2026-10-01 09:05:00,"""quoted""',  'on two lines"',   # 13-14
             ",Close,2026-10-01 09:06:00,"]                               # 15: no case id
    path = tmp_path / "remarks.csv"
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
    report = ingest_log(store, path)
    assert report.reconciles and (report.read, report.loaded, report.blank_lines) == (8, 3, 1)
    found = quarantine(report.quarantine_file)
    assert found[["source_row", "reason"]].values.tolist() == [
        ["6", "missing_case_id"], ["8", "bad_timestamp"], ["11", "malformed_line"],
        ["12", "bad_timestamp"], ["15", "missing_case_id"]]
    assert [lines[int(n) - 1].split(",")[0] for n in found["source_row"]] == [
        "", "C3", "x", "C4", ""]


def test_a_lifecycle_logs_quarantined_rows_keep_their_line_past_records_over_several_lines(
    store: EventStore, tmp_path: Path
) -> None:
    """The same where starts are paired with completes: the lines are numbered when the
    events are staged, the quarantine file names the file's own."""
    lines = ["case_id,activity,lifecycle,end_time,remark",
             'C1,Open,start,2026-10-01 09:00:00,"x', 'y"',      # lines 2-3
             "C1,Open,complete,2026-10-01 09:00:05,",            # 4
             "",                                                 # 5: blank
             ",Open,complete,2026-10-01 09:03:00,",              # 6: no case id
             'C3,Open,complete,notatime,"p', "", 'q"',           # 7-9: bad time
             "x,y",                                              # 10: malformed
             "C4,Open,complete,notatime,"]                       # 11: bad time
    path = tmp_path / "lifecycle.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_log(store, path)
    assert report.reconciles and (report.read, report.loaded, report.merged_by_pairing) == (
        6, 1, 1)
    found = quarantine(report.quarantine_file)
    assert found[["source_row", "reason"]].values.tolist() == [
        ["6", "missing_case_id"], ["7", "bad_timestamp"], ["10", "malformed_line"],
        ["11", "bad_timestamp"]]
    # the stored event (its start and complete paired) keeps its complete's line
    assert store.read_events(["source_row"]).column(0).to_pylist() == [4]


def test_parquet_rows_are_counted_from_the_footer(store: EventStore, tmp_path: Path) -> None:
    table = pa.table({"case_id": ["C1", "C1", None], "activity": ["Open", "Close", "Open"],
                      "end_time": ["2026-10-01 09:00:05", "2026-10-01 09:02:00",
                                   "2026-10-01 09:03:00"]})
    pq.write_table(table, tmp_path / "log.parquet")
    report = ingest_log(store, tmp_path / "log.parquet")
    assert (report.read, report.loaded, report.quarantined) == (3, 2, 1)


def test_utf16_lines_are_counted_as_text(store: EventStore, tmp_path: Path) -> None:
    """In UTF-16, 上 (U+4E0A) holds the byte 0x0A: the lines are counted after decoding."""
    source = tmp_path / "utf16.csv"
    source.write_text("case_id,activity,end_time\nC1,上柜,2026-10-01 09:00:05\n\n"
                      "C1,上传,2026-10-01 09:02:00\n", encoding="utf-16")
    report = ingest_log(store, source)
    assert (report.read, report.loaded, report.blank_lines) == (2, 2, 1)


@pytest.mark.parametrize("line", [2, 101, 30_001])
def test_one_broken_quote_is_one_malformed_line_wherever_it_is(
    store: EventStore, tmp_path: Path, line: int
) -> None:
    # issue 12, row 9: within DuckDB's sniffing sample (about 20,000 lines) one broken quote
    # used to change the dialect chosen for the whole file
    rows = [[f"C{i}", "Count cash, twice", "2026-10-01 09:00:00", "2026-10-01 09:00:30",
             "0101", "B01", "P18", "1,234.50", "0"] for i in range(40_000)]
    path = write_csv(tmp_path / "log.csv", rows)
    text = path.read_text(encoding="utf-8").splitlines()
    broken = ('C_BROKEN,"Count "cash",2026-10-01 09:00:00,2026-10-01 09:00:30,0101,B01,P18,'
              '"1,234.50",0')
    text[line - 1] = broken
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    report = ingest_log(store, path)
    assert (report.read, report.loaded, report.reasons) == (40_000, 39_999, {"malformed_line": 1})
    q = quarantine(report.quarantine_file)
    assert q[["source_row", "reason"]].values.tolist() == [[str(line), "malformed_line"]]
    assert q["raw_line"].iloc[0] == broken
    events = store.read_events()
    assert set(events.column("activity").to_pylist()) == {"Count cash, twice"}
    assert sorted(set(events.column("amount").to_pylist())) == [1234.5]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_comes_from_the_header_line(
    store: EventStore, tmp_path: Path, delimiter: str
) -> None:
    rows = good_rows(30)
    activity = 'Count "cash", twice; or | thrice'  # quoted by the writer
    rows[3][1] = activity
    report = ingest_log(store, write_csv(tmp_path / "log.csv", rows, delimiter=delimiter))
    assert (report.loaded, report.reasons) == (30, {})
    assert activity in store.read_events().column("activity").to_pylist()


@pytest.mark.parametrize(("text", "field"), [
    ("timestamp_format: 123", "timestamp_format"),
    ("delimiter: [1, 2]", "delimiter"),
    ("delimiter: ';;'", "delimiter"),
    ("encoding: {a: 1}", "encoding"),
    ("encoding: 8", "encoding"),
])
def test_a_mapping_setting_of_the_wrong_type_is_a_clear_error(
    tmp_path: Path, text: str, field: str
) -> None:
    # issue 12, row 13: these were tracebacks (TypeError, AttributeError)
    path = tmp_path / "map.yaml"
    path.write_text(f"columns:\n  case_id: JRNL_NO\n{text}\n", encoding="utf-8")
    with pytest.raises(ProcmineError) as caught:
        load_column_map(path)
    assert str(path) in str(caught.value) and field in str(caught.value)


@pytest.mark.parametrize("value", ["[A, B]", "{x: 1}", "true"])
def test_a_mapped_column_must_be_one_name(tmp_path: Path, value: str) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(f"columns:\n  case_id: {value}\n", encoding="utf-8")
    with pytest.raises(ProcmineError, match=r"columns\.case_id must name one column"):
        load_column_map(path)


def test_a_timestamp_format_duckdb_cannot_use_is_a_clear_error(
    store: EventStore, tmp_path: Path
) -> None:
    log = write_csv(tmp_path / "log.csv", good_rows(5))
    mapping = tmp_path / "map.yaml"
    mapping.write_text('columns: {case_id: case_id}\ntimestamp_format: "%Q %Y"\n',
                       encoding="utf-8")
    with pytest.raises(ProcmineError, match="timestamp_format '%Q %Y'"):
        ingest_log(store, log, column_map=load_column_map(mapping))
    assert store.is_empty()


@pytest.mark.parametrize("name", ["a*.csv", "p[1].csv", "q?.csv", "p[1].parquet",
                                  "a*.parquet"])
def test_a_path_with_glob_characters_reads_exactly_that_file(
    store: EventStore, tmp_path: Path, name: str
) -> None:
    # issue 12, row 13: DuckDB's readers expanded the name as a glob and read other files
    folder = tmp_path / "logs"
    folder.mkdir()
    target = folder / name
    decoys = [folder / n for n in ("abc.csv", "p1.csv", "qx.csv", "p1.parquet", "ab.parquet")]
    for i, path in enumerate([target, *decoys]):
        rows = good_rows(3 + i, seed=i)
        for r in rows:
            r[0] = f"{path.stem}-{r[0]}"
        if path.suffix == ".csv":
            write_csv(path, rows)
        else:
            pq.write_table(pa.table({h: [r[k] for r in rows] for k, h in enumerate(HEADER)}),
                           path)
    report = ingest_log(store, target)
    assert (report.read, report.loaded) == (3, 3)
    cases = set(store.read_events().column("case_id").to_pylist())
    assert {c.split("-")[0] for c in cases} == {target.stem}


def test_duplicate_excel_headers_keep_the_first_and_list_the_second_as_ignored(
    store: EventStore, tmp_path: Path
) -> None:
    # issue 12, row 14: the last of two equal headers silently replaced the first
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["case_id", "activity", "end_time", "teller_id", "teller_id", "_row"])
    sheet.append(["C1", "Open", "2026-10-01 09:00:00", "0101", "9999", "x"])
    sheet.append(["C1", "Close", "2026-10-01 09:01:00", "0102", "9998", "y"])
    book.save(tmp_path / "log.xlsx")
    report = ingest_log(store, tmp_path / "log.xlsx")
    assert report.mapping["teller_id"] == "teller_id"
    assert report.ignored_columns == ["teller_id_1", "_row_1"]
    events = store.read_events().to_pandas().sort_values("end_time")
    assert list(events["teller_id"]) == ["0101", "0102"]
    assert list(events["source_row"]) == [2, 3]
    csv_path = tmp_path / "log.csv"
    csv_path.write_text("case_id,activity,end_time,teller_id,teller_id\n"
                        "C2,Open,2026-10-01 09:00:00,0101,9999\n", encoding="utf-8")
    csv_report = ingest_log(EventStore(tmp_path / "csv"), csv_path)
    assert csv_report.ignored_columns == ["teller_id_1"]


def test_a_quote_that_never_closes_is_refused_unless_it_is_on_the_last_line(
    store: EventStore, tmp_path: Path
) -> None:
    # the reader would take every line after the quote as one value: 399 lines lost unseen
    rows = good_rows(500)
    path = write_csv(tmp_path / "log.csv", rows)
    text = path.read_text(encoding="utf-8").splitlines()
    text[101] = text[101].replace(",Call number,", ',"Call number,')
    text[101] = text[101].replace(",Verify identity,", ',"Verify identity,')
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(ProcmineError, match=r"line 102: a quote opens and does not close on "
                                            r"its line, so the line\(s\) after it \(at least"):
        ingest_log(store, path)
    assert store.is_empty()
    assert not list(store.events_dir.glob("*.parquet*"))
    last = write_csv(tmp_path / "last.csv", rows)
    text = last.read_text(encoding="utf-8").splitlines()
    text[-1] = text[-1].replace(",Print voucher,", ',"Print voucher,')
    last.write_text("\n".join(text) + "\n", encoding="utf-8")
    report = ingest_log(store, last)
    assert (report.loaded, report.reasons) == (499, {"malformed_line": 1})


def test_lines_after_consecutive_rejected_lines_and_a_blank_one_keep_their_numbers(
    store: EventStore, tmp_path: Path
) -> None:
    # three malformed lines in a row, then a bad row; a malformed line after a blank one is
    # quarantined (not taken for a quote that runs on), with its own text
    lines = ["case_id,activity,end_time"] + [f"C{i},Open,2026-10-01 09:00:05" for i in range(50)]
    lines[10], lines[11], lines[12] = "x,y", "x,y,z,w", "q"
    lines[30] = ",Close,2026-10-01 09:02:00"
    lines[40], lines[41] = "", "bad"
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_log(store, path)
    assert (report.read, report.blank_lines, report.reasons) == (
        49, 1, {"missing_case_id": 1, "malformed_line": 4})
    quarantine = pd.read_csv(report.quarantine_file, dtype=str)
    assert quarantine[["source_row", "reason"]].values.tolist() == [
        ["11", "malformed_line"], ["12", "malformed_line"], ["13", "malformed_line"],
        ["31", "missing_case_id"], ["42", "malformed_line"]]
    assert quarantine.raw_line.dropna().tolist() == ["x,y", "x,y,z,w", "q", "bad"]


@pytest.mark.parametrize("lifecycle", [False, True], ids=["plain", "lifecycle"])
@pytest.mark.parametrize("leading", [0, 2], ids=["no-leading-blank", "two-leading-blank"])
def test_quarantined_rows_keep_their_line_past_blank_lines(
    store: EventStore, tmp_path: Path, lifecycle: bool, leading: int
) -> None:
    # blank lines before the header and between records: the reader skips them, the
    # quarantine file still names each bad row's own line in the file
    if lifecycle:
        header, good = "case_id,activity,lifecycle,end_time", [
            "C1,Open,start,2026-10-01 09:00:00", "C1,Open,complete,2026-10-01 09:00:05"]
        bad = [",Open,complete,2026-10-01 09:03:00", "C3,Open,complete,notatime"]
    else:
        header, good = "case_id,activity,end_time", [
            "C1,Open,2026-10-01 09:00:05", "C1,Close,2026-10-01 09:02:00"]
        bad = [",Open,2026-10-01 09:03:00", "C3,Open,notatime"]
    lines = [""] * leading + [header, good[0], "", "", good[1], bad[0], "", bad[1]]
    path = tmp_path / "gaps.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_log(store, path)
    assert report.reconciles and report.blank_lines == leading + 3
    quarantine = pd.read_csv(report.quarantine_file, dtype=str)
    expected = [lines.index(b) + 1 for b in bad]  # 1-based lines of the bad rows
    assert quarantine["source_row"].astype(int).tolist() == expected
    assert quarantine["reason"].tolist() == ["missing_case_id", "bad_timestamp"]


# -- the quarantine's lines, whatever the file's shape ------------------------------------------

_RECORD = st.tuples(
    st.sampled_from(["good", "no_case", "bad_time", "malformed", "blank"]),
    st.lists(st.sampled_from(["note", ""]), max_size=3),   # a remark's further lines
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_RECORD, min_size=1, max_size=12), crlf=st.booleans())
def test_every_quarantined_row_names_the_line_where_its_record_begins(
    tmp_path_factory: pytest.TempPathFactory, records: list[tuple[str, list[str]]], crlf: bool
) -> None:
    """Records whose remark runs over several lines (with blank lines inside), blank lines
    between records and lines the reader cannot split, in any order: each quarantined row's
    line is the line in the file where its record begins, and every bad record is there."""
    home = tmp_path_factory.mktemp("lines")
    # good records first: a file with more bad times than good is refused as a whole
    lines = ["case_id,activity,end_time,remark",
             *(f"G{i},Open,2026-10-01 09:00:00," for i in range(12))]
    expected: list[tuple[int, str]] = []
    for n, (kind, more) in enumerate(records):
        if kind == "blank":
            lines.append("")
            continue
        if kind == "malformed":
            expected.append((len(lines) + 1, "malformed_line"))
            lines.append(f"x{n},y")
            continue
        case, time = f"C{n}", "2026-10-01 09:00:05"
        if kind == "no_case":
            case = ""
            expected.append((len(lines) + 1, "missing_case_id"))
        elif kind == "bad_time":
            time = "notatime"
            expected.append((len(lines) + 1, "bad_timestamp"))
        remark = [f"r{n}", *more]
        lines.append(f'{case},Open,{time},"' + remark[0] if more else f"{case},Open,{time},r{n}")
        if more:
            lines.extend(remark[1:-1])
            lines.append(remark[-1] + '"')
    path = home / "log.csv"
    newline = "\r\n" if crlf else "\n"
    path.write_bytes((newline.join(lines) + newline).encode("utf-8"))
    report = ingest_log(EventStore(home / "workspace"), path)
    assert report.reconciles
    found = quarantine(report.quarantine_file) if report.quarantine_file else pd.DataFrame(
        {"source_row": [], "reason": []})
    assert sorted((int(r), str(why)) for r, why in found[["source_row", "reason"]].values) \
        == sorted(expected)
