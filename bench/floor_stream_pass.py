"""A floor for bench_ingest.py: the prepared steps' columns in one streaming pass with no sort.

Run as ``python bench/floor_stream_pass.py LOG.csv TARGET_DIR``. Every preparation at ingest
has to bring the rows of a case together; DuckDB does it with a sort per case (the floors
``duckdb_copy_with_case_window`` and ``duckdb_prepared_in_one_pass``). A file whose cases
are already contiguous, each in the order of its steps (as many exports write them), needs no
sort: each column comes from the row before or after it in the file, and a case's totals from
its own run of rows. This script is that design, in the fastest form found here: DuckDB's
CSV reader (parallel, the file's order kept) hands Arrow batches over, the derived columns are
computed per batch with numpy and Arrow's kernels (a case cut by a batch's end is carried to
the next), and the batches are written to Parquet by a thread of their own while the next is
derived. No check, no hash, one file. (With Arrow's own CSV reader instead of DuckDB's, the
pass took 14.6-15.3 s against 12.5-13.7 s at 10M rows: its reader alone takes 5.5-7 s.)

It derives the columns ``bench_ingest._ONE_PASS`` derives, with the same values for a file in
that order (``tests/test_bench_floors.py`` compares the two); a file in another order would need
the sort this design leaves out.
"""

from __future__ import annotations

import queue
import sys
import threading

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

_TS = pa.timestamp("us")
_BANDS = (20000, 50000, 200000)
_BAND_NAMES = np.array(["small", "medium", "large", "booking", "none"], dtype=object)


def _micros(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A timestamp column's microseconds and its null mask."""
    values = pc.fill_null(column, 0).to_numpy().view("i8") if column.null_count else \
        column.to_numpy().view("i8")
    return values, pc.is_null(column).to_numpy(zero_copy_only=False)


def derive(rows: pa.Table) -> pa.Table:
    """``rows`` (whole cases, each contiguous and in order) with the prepared columns."""
    n = len(rows)
    case = rows.column("case_id").combine_chunks()
    cut = np.flatnonzero(pc.not_equal(case.slice(1), case.slice(0, n - 1))
                         .to_numpy(zero_copy_only=False)) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [n]))
    size = ends - starts
    first = np.zeros(n, bool)
    first[starts] = True
    last = np.zeros(n, bool)
    last[ends - 1] = True

    start, no_start = _micros(rows.column("start_time"))
    end, no_end = _micros(rows.column("end_time"))
    call, no_call = _micros(rows.column("call_time"))
    started = np.where(no_start, end, start)
    started_null = no_start & no_end
    service = (end - start) / 1e6
    service_null = no_start | no_end
    previous_end = np.roll(end, 1)
    previous_end_null = np.roll(no_end, 1) | first
    base = np.where(previous_end_null, call, previous_end)
    base_null = previous_end_null & no_call
    wait = np.maximum((start - base) / 1e6, 0.0)
    wait[no_start | base_null] = 0.0   # greatest(NULL, 0) is 0
    big = np.iinfo("i8").max
    case_first = np.minimum.reduceat(np.where(started_null, big, started), starts)
    case_last = np.maximum.reduceat(np.where(no_end, -big, end), starts)
    dwell = np.repeat((case_last - case_first) / 1e6, size)
    share_null = (service_null | (dwell == 0)
                  | np.repeat((case_last == -big) | (case_first == big), size))
    share = np.where(share_null, 0.0, service / np.where(dwell == 0, 1.0, dwell))

    amount = rows.column("amount").to_numpy(zero_copy_only=False).astype(float)
    band = _BAND_NAMES[np.where(np.isnan(amount), 4, np.searchsorted(_BANDS, amount, "right"))]
    started_array = pa.array(started, _TS, mask=started_null)
    teller = rows.column("teller_id").combine_chunks()
    activity = rows.column("activity").combine_chunks()
    previous_teller = pa.concat_arrays([pa.nulls(1, pa.string()), teller.slice(0, n - 1)])
    next_activity = pa.concat_arrays([activity.slice(1), pa.nulls(1, pa.string())])
    next_started = pa.concat_arrays([started_array.slice(1), pa.nulls(1, _TS)])
    return pa.Table.from_arrays(
        [*rows.columns, started_array, pc.strftime(started_array, "%Y-%m"),
         pc.hour(started_array), pc.day_of_week(started_array, count_from_zero=False),
         pa.array(band, pa.string()), pa.array(service, mask=service_null),
         pa.array(wait),
         pc.if_else(pa.array(first), pa.nulls(n, pa.string()), previous_teller),
         pc.if_else(pa.array(last), pa.nulls(n, pa.string()), next_activity),
         pc.if_else(pa.array(last), pa.nulls(n, _TS), next_started),
         pa.array(np.arange(n) - np.repeat(starts, size) + 1),
         pa.array(np.repeat(size, size)), pa.array(share, mask=share_null)],
        names=[*rows.column_names, "started", "month", "hour", "weekday", "amount_band",
               "service_seconds", "wait_seconds", "previous_teller_id", "next_activity",
               "next_started", "step_index", "case_steps", "share_of_case"])


def stream(log: str, target: str, batch_rows: int = 1 << 20) -> int:
    """Derive and write every block of ``log`` (``batch_rows`` rows at a time, in the file's
    order); returns the rows written."""
    con = duckdb.connect()
    reader = con.sql(f"SELECT * FROM read_csv('{log}')").to_arrow_reader(batch_rows)
    blocks: queue.Queue[pa.Table | None] = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def write() -> None:
        writer = None
        try:
            while (block := blocks.get()) is not None:
                if writer is None:
                    writer = pq.ParquetWriter(f"{target}/stream.parquet", block.schema)
                writer.write_table(block)
        except BaseException as exc:   # re-raised in the reading thread
            failed.append(exc)
        finally:
            if writer is not None:
                writer.close()

    writer = threading.Thread(target=write)
    writer.start()
    written, carry = 0, None
    try:
        for batch in reader:
            rows = pa.Table.from_batches([batch])
            if carry is not None:
                rows = pa.concat_tables([carry, rows])
            case = rows.column("case_id")
            # the last case may go on in the next block: carried over
            keep = len(rows) - 1
            tail = case[keep]
            while keep > 0 and case[keep - 1] == tail:
                keep -= 1
            carry = rows.slice(keep)
            if keep:
                blocks.put(derive(rows.slice(0, keep)))
                written += keep
            if failed:
                break
        if carry is not None and len(carry) and not failed:
            blocks.put(derive(carry))
            written += len(carry)
    finally:
        blocks.put(None)
        writer.join()
    if failed:
        raise failed[0]
    return written


if __name__ == "__main__":
    print(stream(sys.argv[1], sys.argv[2]))
