"""Row hashes, rows already stored, and exact copies within a file.

Every typed row carries two 64-bit hashes: ``row_hash`` over its canonical values (a row the
store already holds has the same one, so the check recognises it in the same pass) and
``record_hash``, which also covers the source columns no canonical column reads (two records are
copies when both agree). Where every column is mapped the two are equal and only ``row_hash``
is written; :func:`read_written` gives the written file both.

Copies are found from the written file's hash column alone: the hashes that occur more than
once among the good rows (:func:`find_repeated_hashes`), then, for those only, the rows equal on
their canonical values, of which the first is kept and the others are marked ``duplicate``
(:func:`mark_copies`). Only a file that has copies is written a second time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from procmine.core.schema import CANONICAL_COLUMNS
from procmine.core.sql import lit as _lit
from procmine.core.sql import quote as _q
from procmine.ingest.state import RunState, SourceColumns

__all__ = [
    "SORT_LIMIT",
    "find_repeated_hashes",
    "load_stored_hashes",
    "mark_copies",
    "read_written",
    "with_hashes",
]

#: Up to this many rows, copies are found by sorting the rows' hashes in memory (see
#: :func:`find_repeated_hashes`).
SORT_LIMIT = 50_000_000

_CANONICAL = ", ".join(CANONICAL_COLUMNS)


def with_hashes(inner: list[str], source: str, columns: SourceColumns) -> str:
    """``SELECT inner FROM source`` with ``row_hash`` and ``record_hash`` added.

    ``inner`` selects the canonical columns, ``src_row`` and the source text (``__src_<i>``).
    """
    unmapped = columns.unmapped
    if unmapped:
        inner = [*inner, "hash(" + ", ".join(_q(c) for c in unmapped) + ") AS unmapped_hash"]
    # Two records are copies when their canonical values and unmapped columns are equal.
    record = "hash(row_hash, unmapped_hash)" if unmapped else "row_hash"
    return (
        f"SELECT * EXCLUDE ({'unmapped_hash' if unmapped else 'src_row'}) "
        f"{'' if unmapped else ', src_row'}, {record} AS record_hash FROM ("
        f"SELECT *, hash({_CANONICAL}) AS row_hash FROM (SELECT {', '.join(inner)} "
        f"FROM {source}))"
    )


def load_stored_hashes(state: RunState, store_is_empty: bool) -> None:
    """The content hashes of the rows already stored (temp table ``stored_hashes``), to
    recognise them in one pass."""
    if store_is_empty:
        state.con.execute("CREATE TEMP TABLE stored_hashes (row_hash UBIGINT)")
    else:
        state.con.execute(
            "CREATE TEMP TABLE stored_hashes AS SELECT DISTINCT row_hash FROM events_hashed"
        )


def read_written(path: Path, columns: SourceColumns) -> str:
    """A written batch file, with ``record_hash`` even where the file holds only
    ``row_hash`` (every column mapped: the two are equal, so only one is written)."""
    alias = "" if columns.has_unmapped else ", row_hash AS record_hash"
    return (f"SELECT *{alias} FROM read_parquet({_lit(str(path))}, "
            "file_row_number = true)")


def find_repeated_hashes(state: RunState) -> int:
    """Record hashes that occur more than once among the good rows of the view ``written``,
    into the temp table ``repeated_hashes``; returns how many there are.

    Sorting the hashes (vectorised, in memory) costs a fraction of a hash aggregate over
    millions of distinct keys; very large files, whose hashes would not sit in memory
    comfortably, are grouped by DuckDB instead, which can spill to disk.
    """
    con = state.con
    good = "SELECT record_hash FROM written WHERE reason IS NULL"
    if state.scalar("SELECT count(*) FROM written WHERE reason IS NULL") > SORT_LIMIT:
        con.execute(
            f"CREATE TEMP TABLE repeated_hashes AS {good} GROUP BY ALL HAVING count(*) > 1"
        )
    else:
        # Arrow's buffer read in place: fetchnumpy, and Arrow's own to_numpy, would import
        # pandas for this (0.15 s of an ingest). A hash is never NULL: no validity to read.
        column = con.sql(good).to_arrow_table().column(0).combine_chunks()
        hashes = np.frombuffer(column.buffers()[1], dtype=np.uint64, count=len(column),
                               offset=column.offset * 8)
        repeated = _repeated(hashes)
        con.execute("CREATE TEMP TABLE repeated_hashes (record_hash UBIGINT)")
        if len(repeated):  # (registering a table imports pandas: only when there is one)
            con.register("repeated_arrow", pa.table({"record_hash": repeated}))
            con.execute("INSERT INTO repeated_hashes SELECT * FROM repeated_arrow")
            con.unregister("repeated_arrow")
    return state.scalar("SELECT count(*) FROM repeated_hashes")


def _repeated(hashes: np.ndarray) -> np.ndarray:
    """The values that occur more than once in ``hashes``, each once: the two halves of the
    range (by the top bit) are sorted on two threads (numpy's sort lets go of the GIL)."""
    high = hashes >= np.uint64(1 << 63)
    with ThreadPoolExecutor(2, thread_name_prefix="procmine-copies") as pool:
        found = list(pool.map(_repeated_sorted, (hashes[~high], hashes[high])))
    return np.concatenate(found)


def _repeated_sorted(hashes: np.ndarray) -> np.ndarray:
    ordered = np.sort(hashes)
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


def mark_copies(state: RunState) -> None:
    """Exact copies within the file: the first is kept, the others are quarantined.

    Records are compared by a 64-bit hash of all their source columns, confirmed on the
    canonical values. Found from the written file's hash column alone; only a file that
    has copies is written a second time, with the copies marked. Defines the view ``final``.
    """
    con = state.con
    state.copies = find_repeated_hashes(state)
    if not state.copies:
        con.execute("CREATE TEMP VIEW final AS SELECT * FROM written")
        return
    con.execute(
        f"""
        CREATE TEMP TABLE copy_marks AS
        SELECT file_row_number FROM (
            SELECT file_row_number, row_number() OVER (
                PARTITION BY record_hash, {_CANONICAL} ORDER BY file_row_number) AS copy
            FROM written
            WHERE reason IS NULL AND record_hash IN (SELECT record_hash FROM repeated_hashes)
        ) WHERE copy > 1
        """
    )
    marked = state.partial.with_suffix(".marked")
    extra = "" if state.columns.has_unmapped else ", record_hash"  # an alias of row_hash
    state.execute(
        f"COPY (SELECT w.* EXCLUDE (file_row_number{extra}) REPLACE (CASE WHEN "
        "m.file_row_number "
        "IS NOT NULL THEN 'duplicate' ELSE w.reason END AS reason) FROM written w "
        "LEFT JOIN copy_marks m USING (file_row_number) ORDER BY w.file_row_number) "
        f"TO {_lit(str(marked))} (FORMAT parquet)",
        "write",
    )
    marked.replace(state.partial)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW final AS {read_written(state.partial, state.columns)}"
    )
