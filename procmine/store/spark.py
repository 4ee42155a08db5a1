"""The spark engine: the project's SQL on Apache Spark, in local mode or on a cluster.

Apache Spark (PySpark, the ``spark`` extra) runs the SQL the library writes for DuckDB, in local
mode (``local[2]``, the default) or on a cluster given by Spark's own master URL
(``spark://host:7077``, ``yarn``, ``k8s://...``; the workspace must then sit on storage that every
executor reads at the same path). Each query is translated by :mod:`procmine.store.spark_sql`.

The process has one Spark context: the first engine starts it (local masters quietly, spilling
beside DuckDB in the store's temp directory) and the last one to close stops it, unless procmine
did not start it. Each engine works in a Spark session of its own over that context, with the
views ``events`` and ``tickets`` as DuckDB defines them (the canonical columns,
``source_batch``, ``source_row``; rows without a quarantine reason), redefined when the store
changes.

A session (:class:`SparkEngineSession`) keeps its views as DuckDB-dialect SELECTs and hands them
to Spark with each query, as CTEs in the order they read each other; its tables are registered
once (Spark temporary views under unique names). A table made from a SELECT
(``create_table``) stays a view, computed again per query: the same rows as DuckDB's
materialised table, without the memory. Results come back typed as DuckDB's ``.df()`` types
them (decimals as float64, nullable integers and booleans where there are NULLs).

Example (``SparkEngine(store)``, or ``get_engine("spark", store)``, answers the DuckDB
engine's query below with the same count; constructing it starts Spark, so the example shows
DuckDB and the translation each Spark query goes through):
    >>> from procmine.store.engine import get_engine
    >>> from procmine.store.spark_sql import to_spark_sql
    >>> int(get_engine("duckdb", store).query("SELECT count(*) AS n FROM events").loc[0, "n"])
    199730
    >>> to_spark_sql("SELECT median(x) AS m FROM t")
    'SELECT PERCENTILE(x, 0.5) AS m FROM t'
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import pandas as pd
import pyarrow as pa

from procmine.core.errors import ProcmineError
from procmine.core.schema import CANONICAL_COLUMNS, LINEAGE_COLUMNS, TICKET_COLUMNS
from procmine.store.engine import TableData, run_once
from procmine.store.event_store import EventStore
from procmine.store.spark_sql import (
    SPARK_EXTRA,
    parse_query,
    parse_view,
    rename_tables,
    table_names,
    translate,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession
    from sqlglot import exp

__all__ = ["SparkEngine", "SparkEngineSession"]

# Spark types of the store's DuckDB types.
_SPARK_TYPES: Final[dict[str, str]] = {
    "VARCHAR": "string",
    "TIMESTAMP": "timestamp_ntz",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "BIGINT": "bigint",
}

# Quiet from the JVM's first line (local masters): warnings and errors on stderr, without the
# start-up notes (a loopback host name, no native Hadoop). At Spark's default shell level
# (WARN), so Spark prints no "Setting default log level" banner either.
_LOG4J2: Final = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.utils.name = org.apache.spark.util.Utils
logger.utils.level = error
logger.hadoop.name = org.apache.hadoop.util.NativeCodeLoader
logger.hadoop.level = error
"""


class SparkEngine:
    """The same SQL on Apache Spark: local mode by default, or any Spark master URL.

    The engine's Spark session (a session of its own over the process's one Spark context) has
    the view ``events`` with the same rows and columns as DuckDB's: the canonical columns,
    ``source_batch`` (the file's name) and ``source_row``, only rows without a quarantine
    reason. It follows the store: a new ingest is seen by the next query. ``conf`` adds or
    overrides Spark settings (e.g. ``spark.driver.memory``) when this engine starts Spark.

    Example (``with SparkEngine(store) as engine:`` runs the same query with the same result;
    it starts Spark, so the example shows the DuckDB engine):
        >>> from procmine.store.engine import DuckDBEngine
        >>> with DuckDBEngine(store) as engine:
        ...     int(engine.query("SELECT count(*) AS n FROM events").loc[0, "n"])
        199730
        >>> SparkEngine.name
        'spark'
    """

    name = "spark"

    def __init__(self, store: EventStore, master: str = "local[2]",
                 conf: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.master = master
        root = _acquire_spark(master, conf or {}, store.tmp_dir)
        try:
            self.spark: SparkSession = root.newSession()
            self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        except BaseException:
            _release_spark()
            raise
        self._version: str | None = None
        self._closed = False
        self._lock = threading.Lock()

    def query(self, sql: str, params: Mapping[str, Any] | None = None,
              views: Mapping[str, str] | None = None, *,
              tables: Mapping[str, TableData] | None = None) -> pd.DataFrame:
        return run_once(self.session(), sql, params, views, tables)

    def session(self) -> SparkEngineSession:
        """A session whose views and tables live in this engine's Spark session."""
        self._check_open()
        return SparkEngineSession(self)

    def _check_open(self) -> None:
        if self._closed:
            raise ProcmineError("this Spark engine is closed")

    def _put(self, table: TableData) -> str:
        """Register ``table`` under a new unique name and return it."""
        unique = f"procmine_{uuid.uuid4().hex[:12]}"
        arrow = table if isinstance(table, pa.Table) else pa.Table.from_pandas(
            table, preserve_index=False)
        self.spark.createDataFrame(arrow).createOrReplaceTempView(unique)
        return unique

    def _run(self, text: str) -> pd.DataFrame:
        """Run Spark SQL ``text`` over the store's current ``events``."""
        from pyspark.errors import PySparkException

        self._refresh()
        try:
            result = self.spark.sql(text).toArrow()
        except PySparkException as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise ProcmineError(f"Spark could not run the query: {first}") from exc
        return _to_pandas(result)

    def _refresh(self) -> None:
        """(Re)define ``events`` and ``tickets`` when the store has changed since the last
        query."""
        version = self.store.version()
        with self._lock:
            if version == self._version:
                return
            files = (sorted(self.store.events_dir.glob("*.parquet"))
                     if self.store.events_dir.exists() else [])
            _store_frame(self.spark, files, CANONICAL_COLUMNS).createOrReplaceTempView("events")
            _store_frame(self.spark, self.store.ticket_files(),
                         TICKET_COLUMNS).createOrReplaceTempView("tickets")
            if (self.store.is_prepared() and self.store.prepared_files()
                    and self.store.prepared_case_files()):
                # the prepared step relation: the same Parquet files DuckDB reads
                for name, files in (("prepared_steps", self.store.prepared_files()),
                                    ("prepared_cases", self.store.prepared_case_files())):
                    uris = [f.resolve().as_uri() for f in files]
                    self.spark.read.parquet(*uris).createOrReplaceTempView(name)
            self._version = version

    def close(self) -> None:
        """Let go of Spark; it stops when the last engine that needed it closes (and only if
        procmine started it)."""
        if not self._closed:
            self._closed = True
            _release_spark()

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class SparkEngineSession:
    """A session (:class:`procmine.store.engine.Session`) on a :class:`SparkEngine`.

    Views are kept parsed and go with each query as CTEs, ordered so that each comes after the
    views it reads (a view reads the others as they are when the query runs, as on DuckDB).
    Tables are registered once and dropped on ``close``. ``create_table`` from a SELECT makes a
    view; where it replaces a view it reads, the replaced one stays under a name of its own
    for it (DuckDB computes the table from the view as it was).
    """

    def __init__(self, engine: SparkEngine) -> None:
        self._engine = engine
        self._tables: dict[str, str] = {}  # name -> the Spark temporary view that holds it
        self._views: dict[str, exp.Expr] = {}  # name -> its SELECT, parsed
        self._reads: dict[str, set[str]] = {}  # name -> the names its SELECT reads
        self._count = 0

    def register(self, name: str, table: TableData) -> None:
        unique = self._engine._put(table)
        self._forget(name)
        self._tables[name] = unique

    def create_view(self, name: str, sql: str) -> None:
        view = parse_view(name, sql)
        self._forget(name)
        self._views[name] = view
        self._reads[name] = table_names(view)

    def create_table(self, name: str, source: str | TableData) -> None:
        if not isinstance(source, str):
            self.register(name, source)
            return
        view = parse_view(name, source)
        if name in self._views:
            self._count += 1
            previous = f"{name}_{self._count}"
            self._views[previous] = self._views.pop(name)
            self._reads[previous] = self._reads.pop(name)
            rename_tables(view, {name: previous})
        self._forget(name)
        self._views[name] = view
        self._reads[name] = table_names(view)

    def _forget(self, name: str) -> None:
        self._views.pop(name, None)
        self._reads.pop(name, None)
        unique = self._tables.pop(name, None)
        if unique is not None:
            self._engine.spark.catalog.dropTempView(unique)

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              tables: Mapping[str, TableData] | None = None) -> pd.DataFrame:
        self._engine._check_open()
        extra: dict[str, str] = {}
        try:
            for name, table in (tables or {}).items():
                extra[name] = self._engine._put(table)
            text = translate(parse_query(sql), params,
                             [(name, view.copy()) for name, view in self._ordered()],
                             rename={**self._tables, **extra})
            return self._engine._run(text)
        finally:
            for unique in extra.values():
                self._engine.spark.catalog.dropTempView(unique)

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None, *,
                    tables: Mapping[str, TableData] | None = None) -> pa.Table:
        return pa.Table.from_pandas(self.query(sql, params, tables=tables),
                                    preserve_index=False)

    def _ordered(self) -> list[tuple[str, exp.Expr]]:
        """The views, each after the views it reads (in the order they were made otherwise)."""
        names = {name.lower(): name for name in self._views}
        done: dict[str, exp.Expr] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in done:
                return
            if name in path:
                raise ProcmineError(f"view {name} reads itself: {' -> '.join([*path, name])}")
            for read in sorted(self._reads[name]):
                if read in names:
                    visit(names[read], (*path, name))
            done[name] = self._views[name]

        for name in list(self._views):
            visit(name, ())
        return list(done.items())

    def close(self) -> None:
        if not self._engine._closed:  # a closed engine's Spark may have stopped
            for unique in self._tables.values():
                self._engine.spark.catalog.dropTempView(unique)
        self._tables.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# -- the Spark context ---------------------------------------------------------------------------

_SPARK_LOCK = threading.Lock()
_SPARK_USERS = 0
_SPARK_OURS: SparkSession | None = None  # the session procmine started, stopped by the last user


@contextmanager
def _quiet() -> Iterator[None]:
    # PySpark warns about pandas >= 3 when it starts; the engine hands it Arrow only.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                                category=FutureWarning)
        yield


def _acquire_spark(master: str, conf: Mapping[str, str], tmp_dir: Path) -> SparkSession:
    """The process's Spark session, started on ``master`` if none runs yet."""
    global _SPARK_USERS, _SPARK_OURS
    try:
        import sqlglot  # noqa: F401  (checked here so a missing extra fails before Spark starts)
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError:
        raise ProcmineError(SPARK_EXTRA) from None
    with _SPARK_LOCK:
        running = SparkContext._active_spark_context
        if running is not None:
            if running.master != master:
                raise ProcmineError(
                    f"Spark already runs in this process with master {running.master}; one "
                    f"process has one Spark master, so {master} cannot start here"
                )
            session = SparkSession.builder.getOrCreate()
        else:
            _check_java()
            session = _start_spark(SparkSession, master, conf, tmp_dir)
            _SPARK_OURS = session
        _SPARK_USERS += 1
        return session


def _release_spark() -> None:
    global _SPARK_USERS, _SPARK_OURS
    with _SPARK_LOCK:
        _SPARK_USERS = max(_SPARK_USERS - 1, 0)
        if _SPARK_USERS == 0 and _SPARK_OURS is not None:
            _SPARK_OURS.stop()
            _SPARK_OURS = None


def _check_java() -> None:
    home = os.environ.get("JAVA_HOME")
    if home:
        if not (Path(home) / "bin" / "java").exists():
            raise ProcmineError(f"JAVA_HOME is {home}, but {Path(home) / 'bin' / 'java'} does not "
                                "exist; point JAVA_HOME at a Java 17 (or later) installation")
        return
    if shutil.which("java") is None:
        raise ProcmineError(
            "the spark engine needs Java 17 or later, and none was found (JAVA_HOME is unset "
            "and no java is on PATH); install a JDK (Debian: apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME"
        )


def _start_spark(builder_cls: type[SparkSession], master: str, conf: Mapping[str, str],
                 tmp_dir: Path) -> SparkSession:
    tmp_dir = tmp_dir.resolve()  # a workspace named relative to the current folder (--home ws)
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
    }
    if master.startswith("local"):
        tmp_dir.mkdir(parents=True, exist_ok=True)
        log_config = tmp_dir / "spark-log4j2.properties"
        log_config.write_text(_LOG4J2, encoding="utf-8")
        settings.update({
            "spark.sql.shuffle.partitions": "4",
            "spark.local.dir": str(tmp_dir / "spark"),  # spills beside DuckDB's
            "spark.ui.enabled": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={log_config.as_uri()}",
        })
    settings.update(conf)
    builder = builder_cls.builder.master(master).appName("procmine")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with _quiet():
            session = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start or the master is unreachable
        raise ProcmineError(f"could not start Spark with master {master}: {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


def _store_frame(spark: SparkSession, files: list[Path],
                 columns: Mapping[str, str]) -> SparkFrame:
    """The store's ``events`` (``columns`` = the canonical event columns) or ``tickets`` (the
    canonical ticket columns) as DuckDB's views define them (see ``EventStore.connect``): the
    loaded rows with their batch and source row; an empty typed frame without files."""
    if not files:
        schema = ", ".join(f"{c} {_SPARK_TYPES[t]}"
                           for c, t in {**columns, **LINEAGE_COLUMNS}.items())
        return spark.createDataFrame([], schema)
    uris = [f.resolve().as_uri() for f in files]
    try:
        return _canonical(spark.read.option("mergeSchema", "true").parquet(*uris), columns)
    except Exception:  # types that do not merge: read file by file and union by name
        frames = [_canonical(spark.read.parquet(uri), columns) for uri in uris]
        return functools.reduce(lambda a, b: a.unionByName(b), frames)


def _canonical(raw: SparkFrame, columns: Mapping[str, str]) -> SparkFrame:
    from pyspark.sql import functions as F

    present = set(raw.columns)

    def column(name: str, kind: str) -> Any:
        value = F.col(name) if name in present else F.lit(None)
        return value.cast(kind).alias(name)

    rows = raw.where(F.col("reason").isNull()) if "reason" in present else raw
    return rows.select(
        *(column(c, _SPARK_TYPES[t]) for c, t in columns.items()),
        F.regexp_extract(F.col("_metadata.file_name"), r"^(.*)\.parquet$", 1)
        .alias("source_batch"),
        column("src_row", "bigint").alias("source_row"),
    )


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """A frame typed as DuckDB's ``.df()`` types it (decimals as float64, dates as
    ``datetime64``)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.float64()))
        elif pa.types.is_date32(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.timestamp("us")))
    frame = table.to_pandas()
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if column.null_count and (pa.types.is_integer(field.type)
                                  or pa.types.is_boolean(field.type)):
            dtype = "boolean" if pa.types.is_boolean(field.type) else f"Int{field.type.bit_width}"
            frame.isetitem(i, pd.array(column.to_pylist(), dtype=dtype))
    return frame
