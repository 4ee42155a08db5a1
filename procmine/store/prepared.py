"""The prepared step relation: each loaded event as a step, with what the analyses derive from
its case, computed once per ingest instead of on every page view.

A step's wait, its inferred service time (completion-only logs), the nth time it occurs in its
case, and its case's dwell time need a window over the case: sorting every case's events. The
analyses used to pay that sort on each call. Ingest now pays it once and writes the result beside
the batch (layout under the workspace)::

    store/steps/<batch>/<YYYY-MM>-<n>.parquet   one row per loaded event of the batch
    store/cases/<batch>/<YYYY-MM>-<n>.parquet   one row per transaction begun in the batch
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
  among ties) are in the prepared transactions, ``store/cases/<batch>/``
  (:data:`CASE_COLUMNS`), one row per case in the batch of its first step;
* ``source_batch``, ``source_row``.

Each batch's rows are split by month (a hashed split as they are written, not a sort), so a
filter on the period reads only the files of its months (their min/max statistics), on DuckDB
and on Spark alike.

Example (the demo workspace: one batch over two months):
    >>> store.is_prepared(), [f.name for f in store.prepared_files()]
    (True, ['2026-09-0.parquet', '2026-10-0.parquet'])
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
# per case gives the previous and next steps, the step's place and the case's figures (the
# windows ``w`` and ``c`` share the partitioning). The occurrence (the nth time the same step
# occurs in its case) needs a sort per case and step; only the steps that do repeat in their case
# (a few percent) pay for it, the others occur once.
_PREPARE_SQL: Final = """
    WITH windowed AS (
        SELECT *, coalesce(start_time, end_time) AS started,
               lag(end_time) OVER w AS previous_end,
               lag(teller_id) OVER w AS previous_teller_id,
               lead(activity) OVER w AS next_activity,
               lead(coalesce(start_time, end_time)) OVER w AS next_started,
               row_number() OVER w AS step_index,
               count(*) OVER c AS case_steps,
               epoch(max(end_time) OVER c - min(coalesce(start_time, end_time)) OVER c)
                   AS dwell
        FROM chosen
        WINDOW w AS (PARTITION BY case_id
                     ORDER BY coalesce(start_time, end_time), end_time, activity),
               c AS (PARTITION BY case_id)
    ), repeated AS (
        SELECT case_id, activity FROM chosen GROUP BY ALL HAVING count(*) > 1
    ), occurrences AS (
        SELECT source_batch AS key_batch, file_row AS key_row,
               row_number() OVER (PARTITION BY case_id, activity
                                  ORDER BY coalesce(start_time, end_time), end_time)
                   AS occurrence
        FROM chosen SEMI JOIN repeated USING (case_id, activity)
    ), timed AS (
        SELECT t.*, coalesce(o.occurrence, 1) AS occurrence,
               CASE WHEN t.start_time IS NOT NULL THEN epoch(t.end_time - t.start_time)
                    ELSE epoch(t.end_time - coalesce(t.previous_end, t.call_time))
               END AS raw_service,
               {amount_band} AS amount_band
        FROM windowed t
        LEFT JOIN occurrences o ON o.key_batch = t.source_batch AND o.key_row = t.file_row
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
           t.step_index, t.next_activity, t.next_started, t.previous_teller_id, t.case_steps,
           (CASE WHEN t.raw_service >= 0 THEN t.raw_service END) / nullif(t.dwell, 0)
               AS share_of_case,
           t.source_batch, t.source_row
    FROM timed t
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
# their events; a case belongs to the batch of its first step. Its teller, branch, type and
# window are those of most of its steps (the smallest among ties): nearly every case has one of
# each, which min() gives; only the others pay for the ordered mode().
_ATTRIBUTED: Final = ("teller_id", "branch_id", "business_type", "window_type")
_CASES_SQL: Final = """
    WITH simple AS (
        SELECT case_id, {firsts},
               {uniform} AS uniform,
               min(coalesce(start_time, end_time)) AS started, max(end_time) AS ended,
               epoch(max(end_time) - min(coalesce(start_time, end_time))) AS dwell_seconds,
               datediff('microsecond', min(coalesce(start_time, end_time)), max(end_time))
                   AS dwell_us,
               count(*) AS steps, coalesce(bool_or(error), false) AS error,
               max(amount) AS amount,
               epoch(min(call_time) - min(ticket_time)) AS queue_seconds,
               strftime(min(coalesce(start_time, end_time)), '%Y-%m') AS month,
               CAST(min(coalesce(start_time, end_time)) AS DATE) AS day,
               arg_min(source_batch, coalesce(start_time, end_time)) AS source_batch
        FROM chosen
        GROUP BY case_id
    ), mixed AS (
        SELECT case_id, {modes}
        FROM chosen
        WHERE case_id IN (SELECT case_id FROM simple WHERE NOT uniform)
        GROUP BY case_id
    )
    SELECT s.case_id, {chosen}, s.started, s.ended, s.dwell_seconds, s.dwell_us, s.steps,
           s.error, s.amount, s.queue_seconds, s.month, s.day, s.source_batch
    FROM simple s LEFT JOIN mixed m USING (case_id)
""".format(
    firsts=", ".join(f"min({c}) AS {c}" for c in _ATTRIBUTED),
    uniform=" AND ".join(f"min({c}) IS NOT DISTINCT FROM max({c})" for c in _ATTRIBUTED),
    modes=", ".join(f"mode({c} ORDER BY {c}) AS {c}" for c in _ATTRIBUTED),
    chosen=", ".join(f"CASE WHEN s.uniform THEN s.{c} ELSE m.{c} END AS {c}"
                     for c in _ATTRIBUTED),
)


def _write_manifest(store: EventStore, con: duckdb.DuckDBPyConnection) -> None:
    """Record the event files the steps were prepared from, whether any step's service time
    is inferred (a completion-only log), and the store's figures (``EventStore.info``), so that
    readers need not scan for them."""
    inferred = False
    if store.prepared_files():
        files = ", ".join(lit(str(f)) for f in store.prepared_files())
        row = con.execute(f"SELECT coalesce(bool_or(service_is_inferred), false) "
                          f"FROM read_parquet([{files}])").fetchone()
        inferred = bool(row[0]) if row else False
    path = store.steps_dir / "prepared.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.new")
    figures = store.event_figures(store.prepared_case_files())
    tmp.write_text(json.dumps({"events": store.events_stamp(), "version": PREPARED_VERSION,
                               "inferred": inferred, "figures": figures}), encoding="utf-8")
    tmp.replace(path)


def _write_split(con: duckdb.DuckDBPyConnection, select: str, folder: Path,
                 batches: Sequence[str], keep_others: str | None) -> None:
    """Write ``select``'s rows (with ``source_batch`` and ``month`` columns) in one pass, split
    by batch and month (a hashed split, no sort); then replace each of ``batches``' folder in
    ``folder`` with its new rows and (``keep_others``: a condition on the folder's old rows)
    the old rows it keeps: ``<batch>/<YYYY-MM>-<n>.parquet``."""
    folder.mkdir(parents=True, exist_ok=True)
    work = folder / ".work"
    shutil.rmtree(work, ignore_errors=True)
    _copy_by(con, select, work, "source_batch, month")
    for batch in batches:
        target, partial = folder / batch, folder / f"{batch}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        written = work / f"source_batch={batch}"
        old_files = month_files(target)
        if keep_others is not None and old_files:
            rows = (f"SELECT * FROM read_parquet([{_paths(old_files)}]) "
                    f"WHERE NOT ({keep_others})")
            new_files = sorted(written.glob("month=*/*.parquet"))
            if new_files:
                rows += f" UNION ALL BY NAME SELECT * FROM read_parquet([{_paths(new_files)}])"
            written = work / f"kept={batch}"
            _copy_by(con, rows, written, "month")
        _flatten(written, partial)
        shutil.rmtree(target, ignore_errors=True)
        if month_files(partial):
            partial.replace(target)
        shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


def _copy_by(con: duckdb.DuckDBPyConnection, select: str, folder: Path, keys: str) -> None:
    con.execute(f"""COPY ({select}) TO {lit(str(folder))} (FORMAT parquet,
                    PARTITION_BY ({keys}), WRITE_PARTITION_COLUMNS true,
                    ROW_GROUP_SIZE 122880)""")


def _flatten(written: Path, partial: Path) -> None:
    """Move a batch's ``month=<YYYY-MM>/data_<n>.parquet`` files to ``<YYYY-MM>-<n>.parquet``
    in ``partial`` (no ``=`` in a path: Spark would read it as a partition of its own)."""
    partial.mkdir(parents=True, exist_ok=True)
    for path in sorted(written.glob("month=*/*.parquet")):
        month = path.parent.name.split("=", 1)[1]
        path.replace(partial / f"{month}-{path.stem.rsplit('_', 1)[-1]}.parquet")


def month_files(folder: Path) -> list[Path]:
    """The Parquet files of one batch's prepared folder (``<batch>/<YYYY-MM>-<n>.parquet``), in
    month order."""
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def _paths(files: Sequence[Path]) -> str:
    return ", ".join(lit(str(f)) for f in files)


def _prepare_cases(con: duckdb.DuckDBPyConnection, store: EventStore, where: str,
                   batches: Sequence[str], keep_others: str | None) -> None:
    """Compute the steps of the events ``where`` selects (whole cases) and write them to
    ``batches``' step files (see :func:`_write_split`), then the transactions of the same cases
    to the case files of the batches their first steps are in."""
    con.execute("CREATE OR REPLACE TEMP VIEW chosen AS "
                f"SELECT * EXCLUDE (row_hash) FROM events_hashed WHERE {where}")
    _write_split(con, _PREPARE_SQL.format(amount_band=_AMOUNT_BAND_SQL), store.steps_dir,
                 batches, keep_others)
    _write_split(con, _CASES_SQL, store.cases_dir, batches, keep_others)


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
    shutil.rmtree(store.steps_dir / batch, ignore_errors=True)
    shutil.rmtree(store.cases_dir / batch, ignore_errors=True)
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
    (store.steps_dir / "prepared.json").unlink(missing_ok=True)
    for folder in (store.steps_dir, store.cases_dir):
        if folder.exists():
            for batch in folder.iterdir():
                if batch.is_dir():
                    shutil.rmtree(batch, ignore_errors=True)
                elif batch.suffix == ".parquet":  # a file of the layout before PREPARED_VERSION 2
                    batch.unlink(missing_ok=True)
