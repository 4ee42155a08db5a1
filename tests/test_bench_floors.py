"""The ingest bench's floors derive what they claim to: the streaming pass with no sort
(bench/floor_stream_pass.py) gives, for a file whose cases are contiguous and in order, the
same prepared columns as the one-pass DuckDB floor (bench_ingest._ONE_PASS), nulls included."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import floor_stream_pass
from bench_ingest import _ONE_PASS

from procmine.demo.config import DemoConfig
from procmine.demo.generator import write_demo_data

_DERIVED = ["started", "month", "hour", "weekday", "amount_band", "service_seconds",
            "wait_seconds", "previous_teller_id", "next_activity", "next_started", "step_index",
            "case_steps", "share_of_case"]

#: rows with the nulls the derivations must carry: no start (completion only), no call time,
#: no amount, and a case of one step whose dwell is nought
_ODD = "".join(line + "\n" for line in (
    '"Z-1","Open",,2026-09-01 09:00:05.000,"0101","B01","P01",,false,"normal","private",,',
    '"Z-1","Check",2026-09-01 09:00:06.000,2026-09-01 09:00:09.500,"0102","B01","P01",,false,'
    '"normal","private",,',
    '"Z-2","Open",2026-09-01 10:00:00.000,2026-09-01 10:00:00.000,"0103","B01","P02",250000,'
    'true,"vip","private",2026-09-01 09:59:00.000,2026-09-01 09:59:30.000'))


def _ordered_log(tmp_path: Path) -> Path:
    """A generated log, each case's rows together and in the order of its steps."""
    result = write_demo_data(tmp_path / "gen", DemoConfig(events=6_000, seed=3))
    log = tmp_path / "ordered.csv"
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{result.events_path}') ORDER BY case_id, "
        "coalesce(start_time, end_time), end_time, activity) TO "
        f"'{log}' (HEADER, FORCE_QUOTE (case_id, activity, teller_id, branch_id, "
        "business_type, window_type, segment))")
    with log.open("a", encoding="utf-8") as fh:
        fh.write(_ODD)
    return log


def _rows(path: Path) -> dict[tuple[str, int], dict[str, object]]:
    table = pq.read_table(path).to_pylist()
    return {(row["case_id"], row["step_index"]): row for row in table}


def test_the_streaming_floor_derives_the_one_pass_floors_columns(tmp_path: Path) -> None:
    log = _ordered_log(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    duckdb.connect().execute(_ONE_PASS.replace("{log}", str(log)).replace("{target}", str(out)))
    # small batches, so that cases are cut by a batch's end and carried to the next
    written = floor_stream_pass.stream(str(log), str(out), batch_rows=2048)

    expected, got = _rows(out / "prepared.parquet"), _rows(out / "stream.parquet")
    assert written == len(got) == len(expected) > 6_000
    assert got.keys() == expected.keys()
    mismatched = []
    for key, want in expected.items():
        for column in _DERIVED:
            a, b = got[key][column], want[column]
            same = (a is None and b is None) or (
                a is not None and b is not None
                and (math.isclose(a, b, abs_tol=1e-9) if isinstance(b, float) else a == b))
            if not same:
                mismatched.append((key, column, a, b))
    assert not mismatched, mismatched[:10]
    odd = {k: v for k, v in got.items() if k[0].startswith("Z-")}
    assert odd[("Z-1", 1)]["service_seconds"] is None          # no start: no service time
    assert odd[("Z-1", 1)]["wait_seconds"] == 0.0               # nor a wait
    assert odd[("Z-1", 2)]["wait_seconds"] == pytest.approx(1.0)
    assert odd[("Z-1", 2)]["share_of_case"] == pytest.approx(3.5 / 4.5)
    assert odd[("Z-1", 1)]["amount_band"] == "none"
    assert odd[("Z-2", 1)]["amount_band"] == "booking"
    assert odd[("Z-2", 1)]["share_of_case"] is None            # a dwell of nought
    assert odd[("Z-2", 1)]["wait_seconds"] == pytest.approx(30.0)
