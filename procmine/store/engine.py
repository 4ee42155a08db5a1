"""Query engines: the project's SQL, written once in DuckDB's dialect, run on DuckDB or on Spark.

DuckDB (the default) runs in-process over the store's Parquet files. Apache Spark (PySpark, the
``spark`` extra, :mod:`procmine.store.spark`) runs the same SQL in local mode or on a cluster;
:mod:`procmine.store.spark_sql` translates it (SQLGlot, with the rewrites that make Spark compute
what DuckDB computes).

Every query of the library runs through an engine, in one of two ways:

* :meth:`Engine.query`: one query, with the views and small tables it needs handed over with it.
* :meth:`Engine.session`: several queries over the same temporary views and tables (a
  :class:`Session`). On DuckDB a session is one connection for its life: its views are DuckDB
  views, its tables are materialised once. On Spark its views go with each query as CTEs and its
  tables are views computed again per query (the results are the same; see
  :class:`procmine.store.spark.SparkEngineSession`).

Only this package opens DuckDB connections (``EventStore.connect``); analyses hold a session.

Results come back as pandas frames typed as DuckDB's ``.df()`` types them: decimals as float64,
integer and boolean columns with NULLs as pandas' nullable types. Name every output column
(``count(*) AS n``): the engines name unnamed expressions differently.

Example:
    >>> from procmine.store.engine import get_engine
    >>> engine = get_engine("duckdb", store)
    >>> frame = engine.query("SELECT business_type, median(epoch(end_time - start_time)) AS s "
    ...                      "FROM events WHERE list_contains($types, business_type) "
    ...                      "GROUP BY business_type ORDER BY business_type",
    ...                      {"types": ["P01", "P02"]})
    >>> frame.round(1).values.tolist()
    [['P01', 13.1], ['P02', 12.8]]
    >>> with engine.session() as session:
    ...     session.create_view("long", "SELECT * FROM events WHERE amount > 50000")
    ...     int(session.query("SELECT count(*) AS n FROM long").loc[0, "n"])
    24115
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Final, Protocol, Self, TypeAlias

import pandas as pd
import pyarrow as pa

from procmine.core.errors import ProcmineError
from procmine.core.sql import quote
from procmine.store.event_store import EventStore

__all__ = [
    "ENGINES",
    "DuckDBEngine",
    "DuckDBSession",
    "Engine",
    "Session",
    "TableData",
    "get_engine",
    "run_once",
]

#: The engine names :func:`get_engine` knows.
ENGINES: Final[tuple[str, ...]] = ("duckdb", "spark")

#: A table handed to a query by value (small lookups such as the baseline).
TableData: TypeAlias = pa.Table | pd.DataFrame


class Session(Protocol):
    """Temporary views and tables over the store's ``events``, and queries over them.

    ``register`` hands a small table over by value (an Arrow table or a pandas frame);
    ``create_view`` defines (or replaces) a view by a DuckDB-dialect SELECT without parameters
    over what the session has (``events`` and its views and tables), read when a query runs (a
    view sees the views it names as they are then);
    ``create_table`` computes a SELECT (or takes a table) once where the engine can, and shows
    it under ``name``: it may replace a view of that name and read it (e.g. narrow ``steps`` to
    a few rows). ``query`` runs a query with ``$name`` parameters and, for that query only,
    ``tables``. Use as a context manager, or call ``close``.
    """

    def register(self, name: str, table: TableData) -> None: ...

    def create_view(self, name: str, sql: str) -> None: ...

    def create_table(self, name: str, source: str | TableData) -> None: ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              tables: Mapping[str, TableData] | None = None) -> pd.DataFrame: ...

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None, *,
                    tables: Mapping[str, TableData] | None = None) -> pa.Table: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class Engine(Protocol):
    """Runs the project's SQL (DuckDB dialect) over the store's ``events`` view.

    ``params`` fill ``$name`` placeholders in ``sql``. ``views`` maps a view name to a
    DuckDB-dialect SELECT that defines it; they are defined in order, so a later one may use an
    earlier one, and they take no parameters. ``tables`` hands small tables to the query by
    name (an Arrow table or a pandas frame). ``session`` opens a :class:`Session` for several
    queries over the same views and tables.
    """

    name: str

    def query(self, sql: str, params: Mapping[str, Any] | None = None,
              views: Mapping[str, str] | None = None, *,
              tables: Mapping[str, TableData] | None = None) -> pd.DataFrame: ...

    def session(self) -> Session: ...

    def close(self) -> None: ...


def run_once(session: Session, sql: str, params: Mapping[str, Any] | None,
             views: Mapping[str, str] | None,
             tables: Mapping[str, TableData] | None) -> pd.DataFrame:
    """:meth:`Engine.query` on a session of its own: the tables, then the views in order."""
    with session:
        for name, table in (tables or {}).items():
            session.register(name, table)
        for name, body in (views or {}).items():
            session.create_view(name, body)
        return session.query(sql, params)


class DuckDBEngine:
    """The default engine: DuckDB in-process, one connection per query or per session
    (``store.connect()``).

    Example:
        >>> with DuckDBEngine(store) as engine:
        ...     int(engine.query("SELECT count(*) AS n FROM events").loc[0, "n"])
        199730
    """

    name = "duckdb"

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def query(self, sql: str, params: Mapping[str, Any] | None = None,
              views: Mapping[str, str] | None = None, *,
              tables: Mapping[str, TableData] | None = None) -> pd.DataFrame:
        return run_once(self.session(), sql, params, views, tables)

    def session(self) -> DuckDBSession:
        """A session on one connection of its own (closed with the session)."""
        return DuckDBSession(self.store)

    def close(self) -> None:
        """Nothing to release: every query and session has its own connection."""

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class DuckDBSession:
    """A :class:`Session` on one DuckDB connection: views are DuckDB temporary views, a table
    from ``create_table`` is a temporary table (computed once, in the connection's memory,
    spilling to the store's temp directory) shown through a view of its name."""

    def __init__(self, store: EventStore) -> None:
        self._con = store.connect()
        self._held: dict[str, str] = {}  # name -> the temporary table that holds its rows
        self._count = 0

    def register(self, name: str, table: TableData) -> None:
        self._con.register(name, table)

    def create_view(self, name: str, sql: str) -> None:
        self._con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(name)} AS {sql}")

    def create_table(self, name: str, source: str | TableData) -> None:
        self._count += 1
        held = f"{name}_table_{self._count}"
        if isinstance(source, str):
            self._con.execute(f"CREATE TEMP TABLE {quote(held)} AS {source}")
        else:
            self._con.register(f"{held}_arrow", source)
            try:
                self._con.execute(
                    f"CREATE TEMP TABLE {quote(held)} AS SELECT * FROM {quote(held + '_arrow')}")
            finally:
                self._con.unregister(f"{held}_arrow")
        self.create_view(name, f"SELECT * FROM {quote(held)}")
        previous = self._held.pop(name, None)
        self._held[name] = held
        if previous is not None:  # its rows are in the new table, if it read them
            self._con.execute(f"DROP TABLE IF EXISTS {quote(previous)}")

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              tables: Mapping[str, TableData] | None = None) -> pd.DataFrame:
        with self._registered(tables):
            return self._con.execute(sql, dict(params or {})).df()

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None, *,
                    tables: Mapping[str, TableData] | None = None) -> pa.Table:
        with self._registered(tables):
            return self._con.sql(sql, params=dict(params) if params else None).to_arrow_table()

    @contextmanager
    def _registered(self, tables: Mapping[str, TableData] | None) -> Iterator[None]:
        names = list(tables or {})
        try:
            for name, table in (tables or {}).items():
                self._con.register(name, table)
            yield
        finally:
            for name in names:
                self._con.unregister(name)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def get_engine(name: str, store: EventStore, master: str | None = None) -> Engine:
    """The engine called ``name`` ("duckdb" or "spark") over ``store``.

    ``master`` is Spark's master URL (default ``local[2]``); DuckDB takes none.

    Example (``get_engine("spark", store, master="local[4]")`` gives the Spark engine on four
    local cores; it starts Spark, so the example shows DuckDB):
        >>> get_engine(" DuckDB", store).name
        'duckdb'
    """
    key = name.strip().lower()
    if key == "duckdb":
        if master is not None:
            raise ProcmineError(f"master {master!r}: a master URL applies to the spark engine "
                                "only")
        return DuckDBEngine(store)
    if key == "spark":
        # imported here: the spark module builds on this one (Session, TableData, run_once)
        from procmine.store.spark import SparkEngine

        return SparkEngine(store, master or "local[2]")
    raise ProcmineError(f"engine {name!r}: expected one of {', '.join(ENGINES)}")
