"""The teller x business type matrix: each teller's counter dwell time on each business type.

The banks' first ask, as one view: for every teller and every one of the baseline's business
types the teller did, the median counter dwell time of their transactions (the one
transactions relation of :mod:`procmine.analysis.transactions`: first step's start to last
step's end), how many there were, the type's standard time from the baseline and the ratio
``median / standard`` (above 1: slower than standard). A cell is one teller x branch x type:
a teller who worked in two branches has a row in each, so that each branch's sheet holds its
own work. A transaction belongs to the month its first step starts in.

A median of two or three transactions says little, and a table that prints it invites a
judgement it cannot carry. A cell with fewer than ``min_cases`` transactions (default
:data:`MIN_MATRIX_CASES`) keeps its count but not its figures: ``enough`` is False and
``median_seconds`` and ``ratio`` are empty, so every view (terminal, JSON, Excel, dashboard)
shows it as "too few", never as a number.

:func:`teller_type_matrix` builds the tidy frame (one row per cell, :data:`MATRIX_COLUMNS`) in
one query on any engine of :mod:`procmine.store.engine` (DuckDB by default; Spark gives the
same figures); :func:`matrix_grid` turns it into tellers x types for a view, with only the types
that have data; :func:`matrix_records` gives JSON-ready cells.

Example:
    >>> cells = teller_type_matrix(store, baseline, branch="B01", month="2026-10")
    >>> list(cells.columns) == list(MATRIX_COLUMNS)
    True
    >>> sorted(cells["branch_id"].unique())
    ['B01']
    >>> row = cells[cells["enough"]].iloc[0]
    >>> bool(row["ratio"] == row["median_seconds"] / row["standard_seconds"])
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Final

import numpy as np
import pandas as pd

from procmine.analysis.filters import Filters
from procmine.analysis.transactions import (
    SCAN_WINDOW,
    baseline_table,
    scan_window,
    transactions_sql,
)
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.core.months import add_months, parse_month
from procmine.core.plain import plain_value
from procmine.store.engine import DuckDBEngine, Engine
from procmine.store.event_store import EventStore

__all__ = [
    "MATRIX_COLUMNS",
    "MIN_MATRIX_CASES",
    "matrix_grid",
    "matrix_records",
    "teller_type_matrix",
    "type_order",
]

#: Fewest transactions of a teller on a type for the cell to show its median and ratio.
MIN_MATRIX_CASES: Final = 5

#: The columns of :func:`teller_type_matrix`, in order.
MATRIX_COLUMNS: Final[tuple[str, ...]] = (
    "teller_id",
    "branch_id",
    "business_type",
    "cases",
    "median_seconds",
    "standard_seconds",
    "ratio",
    "enough",
)

_TX_COLUMNS = ("teller_id", "branch_id", "business_type", "started", "dwell_seconds")

# One row per teller x branch x type, over the transactions that pass the filters (``where``
# is a Filters.where() clause on the transactions relation). The standard joins afterwards: a
# type missing from the baseline keeps its counts, without a standard or a ratio.
_MATRIX_SQL = """
WITH tx AS ({transactions}),
cells AS (
    SELECT teller_id, branch_id, business_type, count(*) AS cases,
           median(dwell_seconds) AS median_seconds
    FROM tx
    WHERE teller_id IS NOT NULL AND business_type IS NOT NULL AND {where}
    GROUP BY teller_id, branch_id, business_type
)
SELECT c.teller_id, c.branch_id, c.business_type, c.cases, c.median_seconds,
       b.standard_seconds
FROM cells c LEFT JOIN baseline b USING (business_type)
ORDER BY c.branch_id, c.teller_id, c.business_type
"""


def _filters(branch: str | None, month: str | None,
             teller: str | None) -> tuple[Filters, dict[str, Any], str]:
    """The filters, the scan window's parameters and the events' condition of a request."""
    people: dict[str, Any] = {"branches": (branch,) if branch else (),
                              "tellers": (teller,) if teller else ()}
    if month is None:
        return Filters(**people), {}, ""
    first = parse_month(month)
    following = add_months(first, 1) if first < date(9999, 12, 1) else date.max
    return Filters.for_month(month, **people), scan_window(first, following), SCAN_WINDOW


def teller_type_matrix(store: EventStore, baseline: Baseline, *, branch: str | None = None,
                       month: str | None = None, teller: str | None = None,
                       min_cases: int = MIN_MATRIX_CASES,
                       engine: Engine | None = None) -> pd.DataFrame:
    """Each teller's counter dwell time on each business type: one row per teller x branch x
    type with transactions (:data:`MATRIX_COLUMNS`), sorted by branch, teller and type.

    ``cases`` is the number of transactions, ``median_seconds`` their median dwell time,
    ``standard_seconds`` the type's standard time in ``baseline`` (empty for a type it does not
    have), ``ratio`` the median over the standard and ``enough`` whether ``cases`` reaches
    ``min_cases``; a cell that does not keeps its count, with median and ratio empty.
    ``branch``, ``month`` (YYYY-MM: the transactions whose first step starts in it) and
    ``teller`` narrow the cells; none given, every transaction counts. ``engine`` runs the
    query on a query engine (:mod:`procmine.store.engine`, e.g. Spark) instead of DuckDB over
    ``store``, with the same figures.

    Raises ProcmineError for a month that is not YYYY-MM and a minimum below 1. A branch,
    teller or month without transactions gives an empty frame.

    Example:
        >>> cells = teller_type_matrix(store, baseline, month="2026-10", min_cases=10**6)
        >>> bool(cells["enough"].any()), bool(cells["median_seconds"].isna().all())
        (False, True)
    """
    if isinstance(min_cases, bool) or not isinstance(min_cases, int | np.integer) \
            or min_cases < 1:
        raise ProcmineError(f"the minimum of transactions in a cell must be a whole number "
                            f">= 1, not {min_cases!r}")
    filters, params, scan = _filters(branch, month, teller)
    where, filter_params = filters.where()
    sql = _MATRIX_SQL.format(where=where, transactions=transactions_sql(
        scan, _TX_COLUMNS, prepared=store.is_prepared()))
    frame = (engine or DuckDBEngine(store)).query(
        sql, {**params, **filter_params}, tables={"baseline": baseline_table(baseline)})
    return _finish(frame, int(min_cases))


def _finish(frame: pd.DataFrame, min_cases: int) -> pd.DataFrame:
    """The query's rows as the matrix: typed columns, the ratio, too-few cells emptied."""
    out = frame.reset_index(drop=True).copy()
    for column in ("teller_id", "branch_id", "business_type"):
        out[column] = out[column].astype(object)
    out["cases"] = out["cases"].astype("int64")
    for column in ("median_seconds", "standard_seconds"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    out["enough"] = (out["cases"] >= min_cases).astype(bool)
    out.loc[~out["enough"], "median_seconds"] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        out["ratio"] = out["median_seconds"] / out["standard_seconds"]
    out.attrs["min_cases"] = min_cases
    return out[list(MATRIX_COLUMNS)]


def type_order(codes: Iterable[str], order: Sequence[str] | None = None) -> list[str]:
    """``codes`` in the order of ``order`` (e.g. the baseline's, ``Baseline.codes``), those
    it does not name after them, alphabetically; alphabetically without an order.

    Example:
        >>> type_order(["C41", "X1", "P02", "P01"], baseline.codes)
        ['P01', 'P02', 'C41', 'X1']
    """
    rank = {code: i for i, code in enumerate(order or ())}
    return sorted({str(c) for c in codes}, key=lambda c: (rank.get(c, len(rank)), c))


def matrix_grid(cells: pd.DataFrame, value: str = "median_seconds",
                order: Sequence[str] | None = None) -> pd.DataFrame:
    """The cells as a grid: one row per teller (``teller_id``, ``branch_id`` as the index,
    sorted), one column per business type that has a cell, in ``order`` (see
    :func:`type_order`; alphabetical without one); ``value`` is the column shown (e.g.
    ``median_seconds``, ``ratio``, ``cases``, ``enough``). A teller who never did a type has
    an empty cell there; a too-few cell is empty too for ``median_seconds`` and ``ratio``
    (``enough`` tells the two apart).

    Example:
        >>> cells = teller_type_matrix(store, baseline, branch="B01", month="2026-10")
        >>> grid = matrix_grid(cells, "cases", baseline.codes)
        >>> int(grid.to_numpy(dtype=float, na_value=0).sum()) == int(cells["cases"].sum())
        True
        >>> list(grid.columns[:2])
        ['P01', 'P02']
    """
    if value not in MATRIX_COLUMNS[3:]:
        raise ValueError(f"not a figure of the matrix: {value!r}")
    grid = cells.pivot(index=["teller_id", "branch_id"], columns="business_type", values=value)
    grid = grid.reindex(columns=type_order(grid.columns, order)).sort_index()
    grid.columns.name = None
    return grid


def matrix_records(cells: pd.DataFrame) -> list[dict[str, Any]]:
    """The cells as JSON-ready records (:data:`MATRIX_COLUMNS`; empty figures as None).

    Example:
        >>> cells = teller_type_matrix(store, baseline, branch="B01", month="2026-10")
        >>> sorted(matrix_records(cells)[0])[:3]
        ['branch_id', 'business_type', 'cases']
    """
    return [{k: plain_value(v) for k, v in zip(MATRIX_COLUMNS, row, strict=True)}
            for row in cells[list(MATRIX_COLUMNS)].itertuples(index=False)]
