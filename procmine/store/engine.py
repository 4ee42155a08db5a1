"""Query engines: the project's SQL, written once in DuckDB's dialect, run on DuckDB or on Spark.

DuckDB (the default) runs in-process over the store's Parquet files. Apache Spark (PySpark, the
``spark`` extra) runs the same SQL in local mode, or on a cluster given by Spark's own master URL
(``spark://host:7077``, ``yarn``, ``k8s://...``; the workspace must then sit on storage that
every executor reads at the same path). For Spark the SQL is parsed as DuckDB's dialect with
SQLGlot, its ``$name`` parameters become typed literals, the views become CTEs, a few rewrites
make Spark compute what DuckDB computes, and SQLGlot writes the result as Spark SQL.

The rewrites, where SQLGlot's own translation would be wrong or inexact on Spark:

* ``median(x)``, ``quantile_cont(x, q)`` (also with a list of ``q``) and
  ``percentile_cont(q) WITHIN GROUP (ORDER BY x)`` become ``percentile(x, q)``: exact (every
  value, no sketch), interpolating linearly between the same two values as DuckDB (SQLGlot
  writes ``percentile_cont(x, q)``, which Spark rejects, or the approximate
  ``percentile_approx``). DuckDB computes ``lo + d * (hi - lo)`` and Spark
  ``(1 - d) * lo + d * hi``, so an interpolated quantile may differ in its last bit or two
  (relative 1e-15); a value taken as it is (``d = 0``, e.g. the median of an odd count) is
  identical.
* ``quantile_cont(x, [0.5, 0.9])[2]``: SQLGlot types the call as a number, not a list, and
  leaves the index 1-based; it is made 0-based like every other list index.
* ``quantile_disc(x, q)``, ``quantile(x, q)`` and ``percentile_disc(q) WITHIN GROUP (...)``
  become Spark's ``percentile_disc(q) WITHIN GROUP (ORDER BY x)`` (same SQL-standard rule; Spark
  returns it as DOUBLE).
* ``mode(x)`` and ``mode(x ORDER BY x)`` become ``mode(x, true)``: the most frequent value, the
  smallest among ties. DuckDB's plain ``mode(x)`` takes the first value it meets among ties (scan
  order, not deterministic); write ``mode(x ORDER BY x)`` where ties can occur, and both engines
  give the smallest.
* ``epoch(a - b)`` (seconds between two timestamps) becomes
  ``CAST(timestampdiff(MICROSECOND, b, a) AS DOUBLE) / 1000000`` and ``epoch(ts)`` becomes
  ``CAST(unix_micros(ts) AS DOUBLE) / 1000000`` (SQLGlot writes ``unix_timestamp``, which takes
  no interval and drops the fraction of a second).
* ``grouping(a, b, ...)`` becomes ``grouping(a) * 2 + grouping(b)`` and so on: Spark's
  ``grouping`` takes one column, and its ``grouping_id`` only the full list of grouping columns.
* ``avg(x)`` becomes ``avg(CAST(x AS DOUBLE))``: DuckDB's average is a DOUBLE, Spark's average
  of a decimal (``1.0`` is a decimal literal) is a decimal rounded to a few places.
* ``hash(x)`` becomes ``xxhash64(x)``: a 64-bit hash like DuckDB's (Spark's ``hash`` has 32
  bits, so two of a few hundred thousand cases would likely share a key). The values differ
  from DuckDB's; use them as keys only.
* ``a / b`` becomes ``try_divide(a, b)`` (except by a non-zero number): Spark fails on a division
  by zero; it now gives NULL, where DuckDB gives infinity or NaN.

Results come back as pandas frames typed as DuckDB's ``.df()`` types them: decimals as float64,
integer and boolean columns with NULLs as pandas' nullable types. Name every output column
(``count(*) AS n``): the engines name unnamed expressions differently. Not made equal:
``hash()`` values (see above), ``approx_quantile`` (approximate on both,
by different algorithms), list indexes out of range (NULL on DuckDB, an error on Spark), and
the ``events_hashed`` view (ingest only, DuckDB only).

Example:
    >>> from procmine.store.engine import get_engine
    >>> engine = get_engine("duckdb", store)                               # doctest: +SKIP
    >>> engine.query("SELECT business_type, median(epoch(end_time - start_time)) AS s "
    ...              "FROM events WHERE list_contains($types, business_type) "
    ...              "GROUP BY business_type", {"types": ["P01", "P02"]})  # doctest: +SKIP
    >>> to_spark_sql("SELECT median(x) AS m FROM t")
    'SELECT PERCENTILE(x, 0.5) AS m FROM t'
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import threading
import uuid
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

from procmine.core.errors import ProcmineError
from procmine.core.schema import CANONICAL_COLUMNS, LINEAGE_COLUMNS
from procmine.core.sql import quote
from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession
    from sqlglot import exp

__all__ = [
    "ENGINES",
    "DuckDBEngine",
    "Engine",
    "SparkEngine",
    "TableData",
    "get_engine",
    "to_spark_sql",
]

#: The engine names :func:`get_engine` knows.
ENGINES: Final[tuple[str, ...]] = ("duckdb", "spark")

#: A table handed to a query by value (small lookups such as the baseline).
TableData: TypeAlias = pa.Table | pd.DataFrame

_SPARK_EXTRA: Final = (
    "the spark engine needs PySpark and SQLGlot, which are not installed; install the spark "
    "extra: pip install 'procmine[spark]' (pyspark==4.3.0, sqlglot==30.30.0)"
)

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


class Engine(Protocol):
    """Runs the project's SQL (DuckDB dialect) over the store's ``events`` view.

    ``params`` fill ``$name`` placeholders in ``sql``. ``views`` maps a view name to a
    DuckDB-dialect SELECT that defines it; they are defined in order, so a later one may use an
    earlier one, and they take no parameters. ``tables`` hands small tables to the query by
    name (an Arrow table or a pandas frame).
    """

    name: str

    def query(self, sql: str, params: Mapping[str, Any] | None = None,
              views: Mapping[str, str] | None = None, *,
              tables: Mapping[str, TableData] | None = None) -> pd.DataFrame: ...

    def close(self) -> None: ...


class DuckDBEngine:
    """The default engine: DuckDB in-process, one connection per query (``store.connect()``).

    Example:
        >>> with DuckDBEngine(store) as engine:                                # doctest: +SKIP
        ...     engine.query("SELECT count(*) AS n FROM events").loc[0, "n"]
    """

    name = "duckdb"

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def query(self, sql: str, params: Mapping[str, Any] | None = None,
              views: Mapping[str, str] | None = None, *,
              tables: Mapping[str, TableData] | None = None) -> pd.DataFrame:
        con = self.store.connect()
        try:
            for name, table in (tables or {}).items():
                con.register(name, table)
            for name, body in (views or {}).items():
                con.execute(f"CREATE TEMP VIEW {quote(name)} AS {body}")
            return con.execute(sql, dict(params or {})).df()
        finally:
            con.close()

    def close(self) -> None:
        """Nothing to release: every query has its own connection."""

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class SparkEngine:
    """The same SQL on Apache Spark: local mode by default, or any Spark master URL.

    The engine's Spark session (a session of its own over the process's one Spark context) has
    the view ``events`` with the same rows and columns as DuckDB's: the canonical columns,
    ``source_batch`` (the file's name) and ``source_row``, only rows without a quarantine
    reason. It follows the store: a new ingest is seen by the next query. ``conf`` adds or
    overrides Spark settings (e.g. ``spark.driver.memory``) when this engine starts Spark.

    Example:
        >>> with SparkEngine(store) as engine:                                 # doctest: +SKIP
        ...     engine.query("SELECT count(*) AS n FROM events").loc[0, "n"]
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
        from pyspark.errors import PySparkException

        if self._closed:
            raise ProcmineError("this Spark engine is closed")
        self._refresh()
        registered: dict[str, str] = {}
        try:
            for name, table in (tables or {}).items():
                unique = f"procmine_{uuid.uuid4().hex[:12]}"
                arrow = table if isinstance(table, pa.Table) else pa.Table.from_pandas(
                    table, preserve_index=False)
                self.spark.createDataFrame(arrow).createOrReplaceTempView(unique)
                registered[name] = unique
            text = to_spark_sql(sql, params, views, rename=registered)
            try:
                result = self.spark.sql(text).toArrow()
            except PySparkException as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise ProcmineError(f"Spark could not run the query: {first}") from exc
        finally:
            for unique in registered.values():
                self.spark.catalog.dropTempView(unique)
        return _to_pandas(result)

    def _refresh(self) -> None:
        """(Re)define ``events`` when the store has changed since the last query."""
        version = self.store.version()
        with self._lock:
            if version == self._version:
                return
            files = (sorted(self.store.events_dir.glob("*.parquet"))
                     if self.store.events_dir.exists() else [])
            _events_frame(self.spark, files).createOrReplaceTempView("events")
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


def get_engine(name: str, store: EventStore, master: str | None = None) -> Engine:
    """The engine called ``name`` ("duckdb" or "spark") over ``store``.

    ``master`` is Spark's master URL (default ``local[2]``); DuckDB takes none.

    Example:
        >>> engine = get_engine("spark", store, master="local[4]")  # doctest: +SKIP
    """
    key = name.strip().lower()
    if key == "duckdb":
        if master is not None:
            raise ProcmineError(f"master {master!r}: a master URL applies to the spark engine "
                                "only")
        return DuckDBEngine(store)
    if key == "spark":
        return SparkEngine(store, master or "local[2]")
    raise ProcmineError(f"engine {name!r}: expected one of {', '.join(ENGINES)}")


# -- Spark: the session ------------------------------------------------------------------------

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
        raise ProcmineError(_SPARK_EXTRA) from None
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


def _events_frame(spark: SparkSession, files: list[Path]) -> SparkFrame:
    """The store's ``events`` as DuckDB's view defines them (see ``EventStore.connect``)."""
    if not files:
        schema = ", ".join(f"{c} {_SPARK_TYPES[t]}"
                           for c, t in {**CANONICAL_COLUMNS, **LINEAGE_COLUMNS}.items())
        return spark.createDataFrame([], schema)
    uris = [f.resolve().as_uri() for f in files]
    try:
        return _canonical(spark.read.option("mergeSchema", "true").parquet(*uris))
    except Exception:  # types that do not merge: read file by file and union by name
        frames = [_canonical(spark.read.parquet(uri)) for uri in uris]
        return functools.reduce(lambda a, b: a.unionByName(b), frames)


def _canonical(raw: SparkFrame) -> SparkFrame:
    from pyspark.sql import functions as F

    present = set(raw.columns)

    def column(name: str, kind: str) -> Any:
        value = F.col(name) if name in present else F.lit(None)
        return value.cast(kind).alias(name)

    rows = raw.where(F.col("reason").isNull()) if "reason" in present else raw
    return rows.select(
        *(column(c, _SPARK_TYPES[t]) for c, t in CANONICAL_COLUMNS.items()),
        F.regexp_extract(F.col("_metadata.file_name"), r"^(.*)\.parquet$", 1)
        .alias("source_batch"),
        column("src_row", "bigint").alias("source_row"),
    )


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """A frame typed as DuckDB's ``.df()`` types it."""
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.float64()))
    frame = table.to_pandas()
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if column.null_count and (pa.types.is_integer(field.type)
                                  or pa.types.is_boolean(field.type)):
            dtype = "boolean" if pa.types.is_boolean(field.type) else f"Int{field.type.bit_width}"
            frame.isetitem(i, pd.array(column.to_pylist(), dtype=dtype))
    return frame


# -- Spark: the SQL ----------------------------------------------------------------------------

def to_spark_sql(sql: str, params: Mapping[str, Any] | None = None,
                 views: Mapping[str, str] | None = None, *,
                 rename: Mapping[str, str] | None = None) -> str:
    """The Spark SQL of a DuckDB-dialect query: parameters as literals, ``views`` as CTEs in
    front of the query's own, table names in ``rename`` replaced, and the rewrites of the module
    docs applied.

    Example:
        >>> to_spark_sql("SELECT mode(x) AS m FROM t WHERE list_contains($xs, x)",
        ...              {"xs": ["a", "b"]})
        "SELECT MODE(x, TRUE) AS m FROM t WHERE ARRAY_CONTAINS(ARRAY('a', 'b'), x)"
    """
    try:
        import sqlglot
        from sqlglot import exp
        from sqlglot.errors import ErrorLevel, SqlglotError
    except ImportError:
        raise ProcmineError(_SPARK_EXTRA) from None

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
        if not isinstance(tree, exp.Query):
            raise ProcmineError(f"the spark engine runs queries only, not {tree.key.upper()}")
        ctes = []
        for name, body in (views or {}).items():
            view = sqlglot.parse_one(body, read="duckdb")
            if next(view.find_all(exp.Placeholder), None) is not None:
                raise ProcmineError(f"view {name}: views take no parameters (as on DuckDB)")
            ctes.append(exp.CTE(this=view, alias=exp.TableAlias(this=exp.to_identifier(name))))
        _bind(tree, params or {})
        if ctes:
            key = "with_" if "with_" in type(tree).arg_types else "with"
            existing = tree.args.get(key)
            if existing is not None:
                existing.set("expressions", [*ctes, *existing.expressions])
            else:
                tree.set(key, exp.With(expressions=ctes))
        if rename:
            _rename_tables(tree, rename)
        _fix_quantile_list_index(tree)
        tree = _rewrite(tree)
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise ProcmineError(f"cannot translate the query for Spark: {exc}") from exc


def _bind(tree: exp.Expr, params: Mapping[str, Any]) -> None:
    """Replace each ``$name`` placeholder with its value as a typed literal; like DuckDB, refuse
    a missing value and a value the query does not use."""
    from sqlglot import exp

    used = set()
    for node in list(tree.find_all(exp.Placeholder)):
        name = node.name
        if not name or name.isdigit():
            raise ProcmineError("the spark engine takes named parameters ($name) only")
        if name not in params:
            raise ProcmineError(f"parameter ${name} has no value")
        node.replace(_literal(name, params[name]))
        used.add(name)
    unused = sorted(set(params) - used)
    if unused:
        raise ProcmineError(f"parameters not in the query: {', '.join('$' + n for n in unused)}")


def _literal(name: str, value: Any) -> exp.Expr:
    from sqlglot import exp

    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        text = repr(value) if math.isfinite(value) else {
            "nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(value)]
        number = exp.Literal.number(text) if math.isfinite(value) else exp.Literal.string(text)
        return exp.cast(number, exp.DataType.build("DOUBLE"))  # DuckDB binds a float as DOUBLE
    if isinstance(value, Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, datetime):  # before date: a datetime is a date
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")),
                        exp.DataType.build("TIMESTAMP", dialect="duckdb"))
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[_literal(name, v) for v in value])
    raise ProcmineError(f"parameter ${name}: a {type(value).__name__} cannot be passed to Spark")


def _rename_tables(tree: exp.Expr, rename: Mapping[str, str]) -> None:
    """Point table references at registered names, keeping the old name as the alias."""
    from sqlglot import exp

    targets = {k.lower(): v for k, v in rename.items()}
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        name = table.name
        if (table.args.get("db") or table.args.get("catalog") or name.lower() not in targets
                or name.lower() in ctes):
            continue
        table.set("this", exp.to_identifier(targets[name.lower()]))
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))


def _fix_quantile_list_index(tree: exp.Expr) -> None:
    """``quantile_cont(x, [0.5, 0.9])[1]``: SQLGlot types the call as DOUBLE, not as a list, so
    its parser leaves the index 1-based (DuckDB's) where it makes every list index 0-based;
    make it 0-based too."""
    from sqlglot import exp

    for bracket in list(tree.find_all(exp.Bracket)):
        func = bracket.this
        if isinstance(func, exp.Quantile):
            q = func.args.get("quantile")
        elif isinstance(func, exp.PercentileCont | exp.PercentileDisc):
            q = func.expression
        else:
            continue
        if isinstance(q, exp.Array) and len(bracket.expressions) == 1:
            index = bracket.expressions[0]
            shifted = (exp.Literal.number(int(index.this) - 1)
                       if isinstance(index, exp.Literal) and index.is_int
                       else exp.Sub(this=index, expression=exp.Literal.number(1)))
            bracket.set("expressions", [shifted])


def _rewrite(tree: exp.Expr) -> exp.Expr:
    """Apply :func:`_spark_node` to every node, children before parents (so a rewritten
    node's arguments are already rewritten)."""
    nodes = list(tree.dfs())
    for node in reversed(nodes):
        new = _spark_node(node)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree


def _spark_node(node: exp.Expr) -> exp.Expr:
    """One node in the Spark form that computes what DuckDB computes (see the module docs)."""
    from sqlglot import exp

    if isinstance(node, exp.Median):
        return _call("PERCENTILE", node.this, exp.Literal.number("0.5"))
    if isinstance(node, exp.PercentileCont) and node.expression is not None:
        return _call("PERCENTILE", node.this, node.expression)
    if isinstance(node, exp.PercentileDisc | exp.Quantile) and not isinstance(
            node.parent, exp.WithinGroup):
        q = node.args.get("quantile") if isinstance(node, exp.Quantile) else node.expression
        if q is None:
            raise ProcmineError("quantile_disc(x, q) needs its quantile q")
        if isinstance(q, exp.Array):
            raise ProcmineError("quantile_disc with a list of quantiles: the spark engine takes "
                                "one quantile per call")
        order = exp.Order(expressions=[exp.Ordered(this=node.this, nulls_first=False)])
        return exp.WithinGroup(this=_call("PERCENTILE_DISC", q), expression=order)
    if isinstance(node, exp.WithinGroup):
        func, order = node.this, node.expression
        if isinstance(func, exp.PercentileDisc):
            return exp.WithinGroup(this=_call("PERCENTILE_DISC", func.this), expression=order)
        if isinstance(func, exp.PercentileCont):
            return _call("PERCENTILE", _ascending_key(order, "percentile_cont"), func.this)
        if isinstance(func, exp.Mode):
            return _call("MODE", _ascending_key(order, "mode"), exp.true())
        return node
    if isinstance(node, exp.Mode) and not isinstance(node.parent, exp.WithinGroup):
        arg = node.this
        if isinstance(arg, exp.Order):
            key = _ascending_key(arg, "mode")
            if key != arg.this:
                raise ProcmineError("mode(x ORDER BY y): the spark engine orders ties by the "
                                    "value itself only (mode(x ORDER BY x))")
            arg = key
        return _call("MODE", arg, exp.true())
    if isinstance(node, exp.TimeToUnix):
        arg = node.this
        if isinstance(arg, exp.Sub) and not any(
                isinstance(side, exp.Interval) for side in (arg.this, arg.expression)):
            micros = _call("TIMESTAMPDIFF", exp.var("MICROSECOND"), arg.expression, arg.this)
        else:
            micros = _call("UNIX_MICROS", arg)
        return exp.Div(this=exp.cast(micros, exp.DataType.build("DOUBLE")),
                       expression=exp.Literal.number(1_000_000))
    if isinstance(node, exp.Grouping) and len(node.expressions) > 1:
        width = len(node.expressions)
        terms: list[exp.Expr] = []
        for i, column in enumerate(node.expressions):
            single = exp.Grouping(expressions=[column.copy()])
            weight = 1 << (width - 1 - i)
            terms.append(exp.Mul(this=single, expression=exp.Literal.number(weight))
                         if weight > 1 else single)
        return exp.Paren(this=functools.reduce(
            lambda a, b: exp.Add(this=a, expression=b), terms))
    if isinstance(node, exp.Avg):
        inner = node.this
        target = inner.expressions[0] if isinstance(inner, exp.Distinct) else inner
        if not (isinstance(target, exp.Cast) and target.to.is_type("double")):
            cast = exp.cast(target.copy(), exp.DataType.build("DOUBLE"))
            if isinstance(inner, exp.Distinct):
                inner.set("expressions", [cast])
            else:
                node.set("this", cast)
        return node
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "hash":
        return _call("XXHASH64", *node.expressions)
    if isinstance(node, exp.Div):
        divisor = node.expression
        if isinstance(divisor, exp.Literal) and divisor.is_number and float(divisor.this) != 0:
            return node
        return _call("TRY_DIVIDE", node.this, node.expression)
    return node


def _call(name: str, *args: exp.Expr) -> exp.Expr:
    from sqlglot import exp

    return exp.Anonymous(this=name, expressions=list(args))


def _ascending_key(order: exp.Expr, what: str) -> exp.Expr:
    from sqlglot import exp

    keys = order.expressions if isinstance(order, exp.Order) else []
    if len(keys) != 1 or keys[0].args.get("desc"):
        raise ProcmineError(f"{what} with this ORDER BY: the spark engine takes one ascending "
                            "key")
    key: exp.Expr = keys[0].this
    return key
