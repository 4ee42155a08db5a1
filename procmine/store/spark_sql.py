"""DuckDB-dialect SQL as Spark SQL: the translation the spark engine runs every query through.

The project's SQL is written once, in DuckDB's dialect. For Spark it is parsed as DuckDB's dialect
with SQLGlot, its ``$name`` parameters become typed literals, the views become CTEs, a few rewrites
make Spark compute what DuckDB computes, and SQLGlot writes the result as Spark SQL. No Spark is
needed to translate (only SQLGlot, from the ``spark`` extra).

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
* ``isodow(ts)`` becomes ``weekday(ts) + 1`` (1 = Monday .. 7 = Sunday; SQLGlot writes
  ``dayofweek(ts) % 7 + 1``, which is off by two days).
* ``date_trunc(unit, ts)`` is cast to ``TIMESTAMP_NTZ``: DuckDB's is a naive timestamp,
  Spark's a timestamp with the session's time zone (UTC).
* ``to_minutes(n)`` (an interval of ``n`` whole minutes, e.g. the queue tickets' 15-minute
  intervals) becomes ``make_dt_interval(0, 0, n)``: Spark has no ``to_minutes``.
* ``a / b`` becomes ``try_divide(a, b)`` (except by a non-zero number): Spark fails on a division
  by zero; it now gives NULL, where DuckDB gives infinity or NaN.

Not made equal: ``hash()`` values (see above), ``approx_quantile`` (approximate on both, by
different algorithms), list indexes out of range (NULL on DuckDB, an error on Spark), and the
``events_hashed`` view (ingest only, DuckDB only).

Example:
    >>> to_spark_sql("SELECT median(x) AS m FROM t")
    'SELECT PERCENTILE(x, 0.5) AS m FROM t'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from procmine.core.errors import ProcmineError

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = [
    "SPARK_EXTRA",
    "parse_query",
    "parse_view",
    "rename_tables",
    "table_names",
    "to_spark_sql",
    "translate",
]

SPARK_EXTRA: Final = (
    "the spark engine needs PySpark and SQLGlot, which are not installed; install the spark "
    "extra: pip install 'procmine[spark]' (pyspark==4.3.0, sqlglot==30.30.0)"
)


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
    tree = parse_query(sql)
    ctes = [(name, parse_view(name, body)) for name, body in (views or {}).items()]
    return translate(tree, params, ctes, rename)


@contextmanager
def _sqlglot_errors() -> Iterator[None]:
    """SQLGlot missing, or failing on a query: a :class:`ProcmineError` that says so."""
    try:
        from sqlglot.errors import SqlglotError
    except ImportError:
        raise ProcmineError(SPARK_EXTRA) from None
    try:
        yield
    except SqlglotError as exc:
        raise ProcmineError(f"cannot translate the query for Spark: {exc}") from exc


def parse_query(sql: str) -> exp.Query:
    """``sql`` (DuckDB's dialect) parsed; a :class:`ProcmineError` unless it is a query."""
    with _sqlglot_errors():
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, read="duckdb")
    if not isinstance(tree, exp.Query):
        raise ProcmineError(f"the spark engine runs queries only, not {tree.key.upper()}")
    return tree


def parse_view(name: str, body: str) -> exp.Expr:
    """The SELECT of view ``name`` parsed; views take no parameters (as on DuckDB)."""
    with _sqlglot_errors():
        import sqlglot
        from sqlglot import exp

        view = sqlglot.parse_one(body, read="duckdb")
    if next(view.find_all(exp.Placeholder), None) is not None:
        raise ProcmineError(f"view {name}: views take no parameters (as on DuckDB)")
    return view


def table_names(tree: exp.Expr) -> set[str]:
    """The names of the tables and views ``tree`` reads (lower case), not its own CTEs."""
    from sqlglot import exp

    own = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    return {t.name.lower() for t in tree.find_all(exp.Table)
            if not t.args.get("db") and not t.args.get("catalog")} - own


def rename_tables(tree: exp.Expr, rename: Mapping[str, str]) -> None:
    """Point table references at other names, keeping the old name as the alias (not the
    tree's own CTEs)."""
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


def translate(tree: exp.Query, params: Mapping[str, Any] | None,
              views: Sequence[tuple[str, exp.Expr]],
              rename: Mapping[str, str] | None = None) -> str:
    """The Spark SQL of a parsed query (changed in place) with parsed ``views`` (in order, as
    CTEs in front of its own; used as they are, so pass copies), ``params`` bound and the
    tables of ``rename`` renamed."""
    with _sqlglot_errors():
        from sqlglot import exp
        from sqlglot.errors import ErrorLevel

        ctes = [exp.CTE(this=view, alias=exp.TableAlias(this=exp.to_identifier(name)))
                for name, view in views]
        _bind(tree, params or {})
        if ctes:
            key = "with_" if "with_" in type(tree).arg_types else "with"
            existing = tree.args.get(key)
            if existing is not None:
                existing.set("expressions", [*ctes, *existing.expressions])
            else:
                tree.set(key, exp.With(expressions=ctes))
        if rename:
            rename_tables(tree, rename)
        _fix_quantile_list_index(tree)
        text: str = _rewrite(tree).sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    return text


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
    calendar = _spark_calendar(node)
    if calendar is not None:
        return calendar
    if isinstance(node, exp.Div):
        divisor = node.expression
        if isinstance(divisor, exp.Literal) and divisor.is_number and float(divisor.this) != 0:
            return node
        return _call("TRY_DIVIDE", node.this, node.expression)
    return node


def _spark_calendar(node: exp.Expr) -> exp.Expr | None:
    """The calendar rewrites of the module docs (``isodow``, ``date_trunc``, ``to_minutes``);
    None for any other node."""
    from sqlglot import exp

    if isinstance(node, exp.DayOfWeekIso):
        return exp.Paren(this=exp.Add(this=_call("WEEKDAY", node.this),
                                      expression=exp.Literal.number(1)))
    if isinstance(node, exp.TimestampTrunc) and not isinstance(node.parent, exp.Cast):
        return exp.cast(node, exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "to_minutes":
        zero = exp.Literal.number(0)
        return _call("MAKE_DT_INTERVAL", zero, zero.copy(), *node.expressions)
    return None


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
