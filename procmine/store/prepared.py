"""The prepared step relation: each loaded event as a step, with what the analyses derive from
its case, computed once per ingest instead of on every page view.

A step's wait, its inferred service time (completion-only logs), the nth time it occurs in its
case, and its case's dwell time need a window over the case: sorting every case's events. The
analyses used to pay that sort on each call. Ingest now pays it once and writes the result beside
the batch (layout under the workspace)::

    store/steps/<batch>.parquet     one row per loaded event of the batch, with its case's columns
    store/steps/prepared.json       the event files the steps were prepared from (their stamp)

A case can span batches (a file cut at midnight). A new batch's preparation therefore also
recomputes the cases it shares with earlier batches and rewrites those batches' step files; a
dropped batch's step file goes, and the cases it shared are recomputed from what remains. Each
row stays in the step file of its own event's batch, so dropping a batch drops its rows.

The columns (:data:`STEP_COLUMNS`) are the events' canonical ones a step analysis reads, and:

* ``started``: the start (the end where there is none); ``month``, ``hour``, ``weekday``
  (ISO) of it; ``amount_band`` (:data:`procmine.core.amounts.AMOUNT_BANDS`);
* ``service_seconds`` (end - start; without a start, the time since the previous step's end in
  the case, or since the call for the first step: ``service_is_inferred``), ``wait_seconds``
  (start - the previous step's end, or the call; NULL without a start), ``occurrence`` and
  ``is_rework``;
* the case order (by start, by end without one, then end and step name): ``step_index`` (1 for
  the first step), ``next_activity`` and ``next_started`` (NULL for the last step) and
  ``previous_teller_id``: what a process map and a handover wait read;
* ``case_steps`` and ``share_of_case`` (service time over the case's dwell, first start to
  last end); the case's attributed teller, branch and type (most of its steps', the smallest
  among ties) are in the prepared transactions, ``store/cases/<batch>.parquet``
  (:data:`CASE_COLUMNS`), one row per case in the batch of its first step;
* ``source_batch``, ``source_row``.

Files are sorted by month, business type and case, so a filter on the period or the type reads
only the row groups that hold it (Parquet's min/max statistics), on DuckDB and on Spark alike.

Example:
    >>> store.is_prepared(), len(store.prepared_files())
    (True, 1)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import duckdb
import pyarrow as pa

from procmine.core.amounts import AMOUNT_BANDS, BOOKING_AMOUNT, LARGE_AMOUNT, SELF_SERVICE_LIMIT
from procmine.core.sql import lit
from procmine.store.event_store import PREPARED_VERSION, EventStore

__all__ = [
    "CASE_COLUMNS",
    "STEP_COLUMNS",
    "batch_cases",
    "drop_prepared",
    "prepare_all",
    "prepare_batch",
    "unprepare_batch",
]


_AMOUNT_BAND_SQL: Final = f"""CASE
        WHEN amount IS NULL THEN {lit(AMOUNT_BANDS[4])}
        WHEN amount < {SELF_SERVICE_LIMIT:g} THEN {lit(AMOUNT_BANDS[0])}
        WHEN amount < {LARGE_AMOUNT:g} THEN {lit(AMOUNT_BANDS[1])}
        WHEN amount < {BOOKING_AMOUNT:g} THEN {lit(AMOUNT_BANDS[2])}
        ELSE {lit(AMOUNT_BANDS[3])} END"""

#: The relation's columns, in order.
STEP_COLUMNS: Final[tuple[str, ...]] = (
    "case_id", "activity", "teller_id", "branch_id", "business_type", "window_type", "segment",
    "amount", "amount_band", "error", "start_time", "end_time", "started", "month", "hour",
    "weekday", "service_seconds", "service_is_inferred", "wait_seconds", "occurrence",
    "is_rework", "step_index", "next_activity", "next_started", "previous_teller_id",
    "case_steps", "share_of_case", "source_batch", "source_row",
)

# The steps of the events in ``chosen`` (a relation with the events view's columns). One sort
# per case gives the previous step's end; the occurrence numbers the same step in its case; the
# case's figures come from one grouping joined back.
_PREPARE_SQL: Final = """
    WITH ordered AS (
        -- the windows sort only what they need; the other columns join back by the row's key
        SELECT source_batch AS key_batch, file_row AS key_row,
               lag(end_time) OVER w AS previous_end,
               lag(teller_id) OVER w AS previous_teller_id,
               lead(activity) OVER w AS next_activity,
               lead(coalesce(start_time, end_time)) OVER w AS next_started,
               row_number() OVER w AS step_index,
               row_number() OVER (PARTITION BY case_id, activity
                                  ORDER BY coalesce(start_time, end_time), end_time)
                   AS occurrence
        FROM chosen
        WINDOW w AS (PARTITION BY case_id
                     ORDER BY coalesce(start_time, end_time), end_time, activity)
    ), timed AS (
        SELECT e.*, o.*, coalesce(e.start_time, e.end_time) AS started,
               CASE WHEN e.start_time IS NOT NULL THEN epoch(e.end_time - e.start_time)
                    ELSE epoch(e.end_time - coalesce(o.previous_end, e.call_time))
               END AS raw_service,
               {amount_band} AS amount_band
        FROM chosen e
        JOIN ordered o ON o.key_batch = e.source_batch AND o.key_row = e.file_row
    ), cases AS (
        -- from the events themselves, not from ``ordered``: its windows are computed once
        SELECT case_id, epoch(max(end_time) - min(coalesce(start_time, end_time))) AS dwell,
               count(*) AS case_steps
        FROM chosen
        GROUP BY case_id
    )
    SELECT t.case_id, t.activity, t.teller_id, t.branch_id, t.business_type, t.window_type,
           t.segment, t.amount, t.amount_band, t.error, t.start_time, t.end_time, t.started,
           strftime(t.started, '%Y-%m') AS month, hour(t.started) AS hour,
           isodow(t.started) AS weekday,
           CASE WHEN t.raw_service >= 0 THEN t.raw_service END AS service_seconds,
           t.start_time IS NULL AS service_is_inferred,
           CASE WHEN t.start_time IS NOT NULL
                THEN greatest(epoch(t.start_time - coalesce(t.previous_end, t.call_time)), 0)
           END AS wait_seconds,
           t.occurrence, t.occurrence > 1 AS is_rework,
           t.step_index, t.next_activity, t.next_started, t.previous_teller_id, c.case_steps,
           (CASE WHEN t.raw_service >= 0 THEN t.raw_service END) / nullif(c.dwell, 0)
               AS share_of_case,
           t.source_batch, t.source_row
    FROM timed t JOIN cases c USING (case_id)
"""

#: The columns of the prepared transactions (one row per case), as
#: :mod:`procmine.analysis.transactions` defines them, with the month and day it started and the
#: batch of its first step.
CASE_COLUMNS: Final[tuple[str, ...]] = (
    "case_id", "teller_id", "branch_id", "business_type", "window_type", "started", "ended",
    "dwell_seconds", "dwell_us", "steps", "error", "amount", "queue_seconds", "month", "day",
    "source_batch",
)

# The transactions of the chosen cases, as procmine.analysis.transactions defines them, from
# their events; a case belongs to the batch of its first step.
_CASES_SQL: Final = """
    SELECT case_id,
           mode(teller_id ORDER BY teller_id) AS teller_id,
           mode(branch_id ORDER BY branch_id) AS branch_id,
           mode(business_type ORDER BY business_type) AS business_type,
           mode(window_type ORDER BY window_type) AS window_type,
           min(coalesce(start_time, end_time)) AS started, max(end_time) AS ended,
           epoch(max(end_time) - min(coalesce(start_time, end_time))) AS dwell_seconds,
           datediff('microsecond', min(coalesce(start_time, end_time)), max(end_time))
               AS dwell_us,
           count(*) AS steps, coalesce(bool_or(error), false) AS error, max(amount) AS amount,
           epoch(min(call_time) - min(ticket_time)) AS queue_seconds,
           strftime(min(coalesce(start_time, end_time)), '%Y-%m') AS month,
           CAST(min(coalesce(start_time, end_time)) AS DATE) AS day,
           arg_min(source_batch, coalesce(start_time, end_time)) AS source_batch
    FROM chosen
    GROUP BY case_id
"""


def _write_manifest(store: EventStore, con: duckdb.DuckDBPyConnection) -> None:
    """Record the event files the steps were prepared from, and whether any step's service time
    is inferred (a completion-only log), so that readers need not scan for it."""
    inferred = False
    if store.prepared_files():
        files = ", ".join(lit(str(f)) for f in store.prepared_files())
        row = con.execute(f"SELECT coalesce(bool_or(service_is_inferred), false) "
                          f"FROM read_parquet([{files}])").fetchone()
        inferred = bool(row[0]) if row else False
    path = store.steps_dir / "prepared.json"
    tmp = path.with_suffix(".json.new")
    tmp.write_text(json.dumps({"events": store.events_stamp(), "version": PREPARED_VERSION,
                               "inferred": inferred}), encoding="utf-8")
    tmp.replace(path)


def _write_split(con: duckdb.DuckDBPyConnection, select: str, columns: Sequence[str],
                 folder: Path, batches: Sequence[str], keep_others: str | None) -> None:
    """Write ``select``'s rows (with a ``source_batch`` column) in one pass, split by batch,
    sorted for the common filters; then replace each of ``batches``' file in ``folder`` with
    its new rows and (``keep_others``: a condition on the file's old rows) the old rows it
    keeps."""
    folder.mkdir(parents=True, exist_ok=True)
    work = folder / ".work"
    shutil.rmtree(work, ignore_errors=True)
    con.execute(f"""COPY ({select} ORDER BY month, business_type)
                    TO {lit(str(work))} (FORMAT parquet, PARTITION_BY (source_batch),
                                         WRITE_PARTITION_COLUMNS true, ROW_GROUP_SIZE 122880)""")
    names = ", ".join(columns)
    for batch in batches:
        target = folder / f"{batch}.parquet"
        written = sorted((work / f"source_batch={batch}").glob("*.parquet"))
        new_rows = (f"SELECT {names} FROM read_parquet([{', '.join(lit(str(f)) for f in written)}])"
                    if written else None)
        partial = target.with_name(target.name + ".partial")
        if keep_others is not None and target.exists():
            old = (f"SELECT {names} FROM read_parquet({lit(str(target))}) "
                   f"WHERE NOT ({keep_others})")
            rows = old if new_rows is None else f"{old} UNION ALL {new_rows}"
            con.execute(f"COPY ({rows} ORDER BY month, business_type) TO {lit(str(partial))} "
                        "(FORMAT parquet, ROW_GROUP_SIZE 122880)")
            partial.replace(target)
        elif len(written) == 1:
            written[0].replace(target)
        elif new_rows is not None:
            con.execute(f"COPY ({new_rows}) TO {lit(str(partial))} (FORMAT parquet)")
            partial.replace(target)
        else:
            target.unlink(missing_ok=True)
        if target.exists() and not _has_rows(con, target):
            target.unlink()
    shutil.rmtree(work, ignore_errors=True)


def _has_rows(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    row = con.execute(f"SELECT count(*) FROM parquet_metadata({lit(str(path))}) "
                      "WHERE num_values > 0").fetchone()
    return bool(row and row[0])


def _prepare_cases(con: duckdb.DuckDBPyConnection, store: EventStore, where: str,
                   batches: Sequence[str], keep_others: str | None) -> None:
    """Compute the steps of the events ``where`` selects (whole cases) and write them to
    ``batches``' step files (see :func:`_write_split`), then the transactions of the same cases
    to the case files of the batches their first steps are in."""
    con.execute("CREATE OR REPLACE TEMP VIEW chosen AS "
                f"SELECT * EXCLUDE (row_hash) FROM events_hashed WHERE {where}")
    _write_split(con, _PREPARE_SQL.format(amount_band=_AMOUNT_BAND_SQL), STEP_COLUMNS,
                 store.steps_dir, batches, keep_others)
    _write_split(con, _CASES_SQL, CASE_COLUMNS, store.cases_dir, batches, keep_others)


def prepare_all(store: EventStore) -> int:
    """Prepare every batch's steps from scratch (call under the store's lock); returns the
    number of step rows written. A workspace from before the relation is prepared this way
    once."""
    drop_prepared(store)
    con = store.connect()
    try:
        batches = [r[0] for r in con.execute(
            "SELECT DISTINCT source_batch FROM events ORDER BY 1").fetchall()]
        if batches:
            _prepare_cases(con, store, "true", batches, None)
        _write_manifest(store, con)
        files = ", ".join(lit(str(f)) for f in store.prepared_files())
        row = (con.execute(f"SELECT count(*) FROM read_parquet([{files}])").fetchone()
               if files else (0,))
    finally:
        con.close()
    return int(row[0]) if row else 0


def _touched(con: duckdb.DuckDBPyConnection, batch: str) -> list[str]:
    """The other batches holding events of the cases of ``batch`` (a case spanning files)."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE touched_cases AS
        SELECT DISTINCT case_id FROM events WHERE source_batch = {lit(batch)}
        INTERSECT SELECT DISTINCT case_id FROM events WHERE source_batch <> {lit(batch)}""")
    return [r[0] for r in con.execute(
        f"""SELECT DISTINCT source_batch FROM events
            WHERE source_batch <> {lit(batch)}
              AND case_id IN (SELECT case_id FROM touched_cases) ORDER BY 1""").fetchall()]


def prepare_batch(store: EventStore, batch: str) -> None:
    """Prepare the steps of a committed batch (call under the store's lock, after the commit):
    its own file, and the files of earlier batches whose cases it continues. A store whose
    steps were not prepared before is prepared whole."""
    if store.prepared_manifest().get("events") != store.events_stamp(leave_out=batch):
        prepare_all(store)
        return
    con = store.connect()
    try:
        others = _touched(con, batch)
        where = (f"source_batch = {lit(batch)} OR case_id IN (SELECT case_id FROM touched_cases)")
        _prepare_cases(con, store, where, [batch, *others],
                       "case_id IN (SELECT case_id FROM touched_cases)")
        _write_manifest(store, con)
    finally:
        con.close()


def unprepare_batch(store: EventStore, batch: str, cases_of_batch: Sequence[str]) -> None:
    """After a batch was dropped (under the store's lock): its step file goes, and the cases it
    shared with other batches (``cases_of_batch``: the dropped batch's case ids) are prepared
    again from the events that remain."""
    (store.steps_dir / f"{batch}.parquet").unlink(missing_ok=True)
    (store.cases_dir / f"{batch}.parquet").unlink(missing_ok=True)
    if not store.prepared_manifest():
        return
    con = store.connect()
    try:
        con.register("dropped_cases", _case_table(cases_of_batch))
        con.execute("""CREATE OR REPLACE TEMP TABLE touched_cases AS
            SELECT DISTINCT e.case_id FROM events e JOIN dropped_cases d USING (case_id)""")
        others = [r[0] for r in con.execute(
            """SELECT DISTINCT source_batch FROM events
               WHERE case_id IN (SELECT case_id FROM touched_cases) ORDER BY 1""").fetchall()]
        if others:
            _prepare_cases(con, store, "case_id IN (SELECT case_id FROM touched_cases)", others,
                           "case_id IN (SELECT case_id FROM touched_cases)")
        _write_manifest(store, con)
    finally:
        con.close()


def batch_cases(store: EventStore, batch: str) -> list[str]:
    """The case ids of a batch's loaded events (none for an unknown or ticket batch)."""
    path = store.batch_file(batch)
    if not path.exists():
        return []
    con = store.connect()
    try:
        return [r[0] for r in con.execute(
            f"SELECT DISTINCT case_id FROM read_parquet({lit(str(path))}) "
            "WHERE reason IS NULL").fetchall()]
    finally:
        con.close()


def _case_table(cases: Sequence[str]) -> pa.Table:
    return pa.table({"case_id": pa.array(list(cases), pa.string())})


def drop_prepared(store: EventStore) -> None:
    """Remove every prepared step file and the manifest."""
    for path in [*store.prepared_files(), *store.prepared_case_files()]:
        path.unlink(missing_ok=True)
    (store.steps_dir / "prepared.json").unlink(missing_ok=True)
