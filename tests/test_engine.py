"""Engines: the same DuckDB-dialect SQL on DuckDB and on Spark (local mode) gives the same rows.

One generated demo log (about 40,000 steps) plus a small CSV with quarantined rows is stored
once for the module, and one Spark session serves every Spark test. Counts, keys and
timestamps must match exactly; quantiles are exact on both engines (every value, linear
interpolation) but DuckDB interpolates as ``lo + d * (hi - lo)`` and Spark as
``(1 - d) * lo + d * hi``, which can differ in the last bits, hence ``QUANTILE_RTOL``; float sums
and means add in a different order, hence ``SUM_RTOL``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from procmine.analysis.transactions import TRANSACTIONS as _TRANSACTIONS
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.core.schema import CANONICAL_COLUMNS
from procmine.demo import DemoConfig, write_demo_data
from procmine.ingest.run import ingest_log
from procmine.maps.variants import variants
from procmine.store import spark as engine_module
from procmine.store.engine import DuckDBEngine, Engine, TableData, get_engine
from procmine.store.event_store import EventStore
from procmine.store.spark import SparkEngine
from procmine.store.spark_sql import to_spark_sql

QUANTILE_RTOL = 1e-12
SUM_RTOL = 1e-9

# Three good steps of one case (one without a start time, no queue times) and two bad rows.
_EXTRA_CSV = """\
case_id,activity,start_time,end_time,teller_id,branch_id,business_type,amount
X-1,Call number,2026-10-05 09:00:00,2026-10-05 09:00:10,0101,B01,P10,
X-1,Enter transaction,,2026-10-05 09:01:00.250,0101,B01,P10,1500.5
X-1,Print receipt,2026-10-05 09:01:05,2026-10-05 09:01:20,0101,B01,P10,
X-2,Call number,2026-10-05 09:05:00,2026-10-05 09:04:00,0102,B01,P10,
X-3,Call number,2026-10-05 09:06:00,2026-10-05 09:06:30,0102,B01,ZZZ,
"""

# The step view of procmine.analysis.performance in brief: windows over the case, epoch, greatest,
# hour and strftime.
_STEPS = """
    WITH ordered AS (
        SELECT *, coalesce(start_time, end_time) AS started,
               lag(end_time) OVER (PARTITION BY case_id
                                   ORDER BY coalesce(start_time, end_time), end_time, activity)
                   AS previous_end,
               row_number() OVER (PARTITION BY case_id, activity
                                  ORDER BY coalesce(start_time, end_time), end_time)
                   AS occurrence
        FROM events
    )
    SELECT case_id, activity, teller_id, branch_id, business_type, started,
           epoch(end_time - start_time) AS service_seconds,
           greatest(epoch(start_time - coalesce(previous_end, call_time)), 0) AS wait_seconds,
           occurrence, hour(started) AS hour, strftime(started, '%Y-%m') AS month
    FROM ordered
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, baseline: Baseline) -> EventStore:
    root = tmp_path_factory.mktemp("engine")
    demo = write_demo_data(root / "demo", DemoConfig(events=40_000, seed=11), fmt="parquet")
    extra = root / "extra.csv"
    extra.write_text(_EXTRA_CSV, encoding="utf-8")
    store = EventStore(root / "workspace")
    assert ingest_log(store, demo.events_path, baseline=baseline).loaded > 30_000
    report = ingest_log(store, extra, baseline=baseline)
    assert (report.loaded, report.quarantined) == (3, 2)
    return store


@pytest.fixture(scope="module")
def duck(store: EventStore) -> DuckDBEngine:
    return DuckDBEngine(store)


@pytest.fixture(scope="module")
def spark(store: EventStore) -> Iterator[SparkEngine]:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")
    engine = SparkEngine(store, master="local[2]")
    yield engine
    engine.close()


def _baseline_table(baseline: Baseline) -> pa.Table:
    return pa.Table.from_pylist(
        [{"business_type": b.code, "standard_seconds": float(b.standard_seconds)}
         for b in baseline],
        schema=pa.schema([("business_type", pa.string()), ("standard_seconds", pa.float64())]),
    )


def _both(duck: DuckDBEngine, spark: SparkEngine, sql: str,
          params: Mapping[str, Any] | None = None, views: Mapping[str, str] | None = None,
          tables: Mapping[str, TableData] | None = None, *, keys: Sequence[str] = (),
          rtol: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Run ``sql`` on both engines and assert the same rows (sorted by ``keys``, or in the
    query's order without them): columns in ``rtol`` within that relative tolerance, every
    other column exactly. Returns DuckDB's frame."""
    left = duck.query(sql, params, views, tables=tables)
    right = spark.query(sql, params, views, tables=tables)
    assert list(left.columns) == list(right.columns)
    assert len(left) > 0
    if keys:
        left = left.sort_values(list(keys)).reset_index(drop=True)
        right = right.sort_values(list(keys)).reset_index(drop=True)
    close = dict(rtol or {})
    exact = [c for c in left.columns if c not in close]
    pd.testing.assert_frame_equal(left[exact], right[exact], check_dtype=False,
                                  check_exact=True)
    for column, tolerance in close.items():
        pd.testing.assert_series_equal(left[column], right[column], check_dtype=False,
                                       check_exact=False, rtol=tolerance, atol=0.0)
    return left


# -- parity -------------------------------------------------------------------------------------

def test_counts_per_business_type(duck: DuckDBEngine, spark: SparkEngine) -> None:
    frame = _both(duck, spark, """
        SELECT business_type, count(*) AS events, count(DISTINCT case_id) AS cases,
               count(DISTINCT teller_id) AS tellers, count(DISTINCT source_batch) AS batches,
               sum(CASE WHEN error THEN 1 ELSE 0 END) AS errors,
               count(start_time) AS with_start, min(coalesce(start_time, end_time)) AS first,
               max(end_time) AS last, bool_or(amount > 100000) AS large
        FROM events
        GROUP BY business_type
    """, keys=["business_type"])
    assert len(frame) == 58
    # the quarantined rows of the second file are not events on either engine
    assert frame.loc[frame["business_type"] == "P10", "batches"].item() == 2
    assert "ZZZ" not in set(frame["business_type"])


def test_events_view_is_the_same(duck: DuckDBEngine, spark: SparkEngine) -> None:
    _both(duck, spark, r"""
        SELECT source_batch, regexp_extract(source_batch, '^(\d{8})T', 1) AS day,
               count(*) AS events, min(source_row) AS first_row, max(source_row) AS last_row,
               count(amount) AS amounts, sum(amount) AS amount,
               'it''s \ fine' AS text
        FROM events GROUP BY source_batch
    """, keys=["source_batch"], rtol={"amount": SUM_RTOL})


def test_step_statistics_per_teller_type_and_step(duck: DuckDBEngine,
                                                   spark: SparkEngine) -> None:
    frame = _both(duck, spark, """
        WITH grouped AS (
            SELECT teller_id, business_type, activity, count(*) AS count,
                   count(service) AS timed,
                   median(service) AS median_seconds,
                   quantile_cont(service, 0.9) AS p90_seconds,
                   quantile_cont(service, [0.5, 0.9]) AS quantiles,
                   quantile_cont(service, [0.5, 0.9])[2] AS p90_direct,
                   avg(service) AS mean_seconds, sum(service) AS total_seconds
            FROM (SELECT *, epoch(end_time - start_time) AS service FROM events)
            GROUP BY teller_id, business_type, activity
        )
        SELECT g.* EXCLUDE (quantiles), g.quantiles[1] AS median_listed,
               g.quantiles[2] AS p90_listed
        FROM grouped g
    """, keys=["teller_id", "business_type", "activity"],
        rtol={"median_seconds": QUANTILE_RTOL, "p90_seconds": QUANTILE_RTOL,
              "p90_direct": QUANTILE_RTOL, "median_listed": QUANTILE_RTOL,
              "p90_listed": QUANTILE_RTOL, "mean_seconds": SUM_RTOL,
              "total_seconds": SUM_RTOL})
    assert len(frame) > 5_000
    # a list index is 1-based in DuckDB's dialect, on both engines
    np.testing.assert_array_equal(frame["median_listed"], frame["median_seconds"])
    np.testing.assert_array_equal(frame["p90_direct"], frame["p90_seconds"])
    # the step without a start time has no service time: NULL on both
    assert frame["timed"].lt(frame["count"]).sum() == 1


def test_transactions_view_row_by_row(duck: DuckDBEngine, spark: SparkEngine) -> None:
    frame = _both(duck, spark, "SELECT * FROM transactions",
                  views={"transactions": _TRANSACTIONS}, keys=["case_id"])
    extra = frame.set_index("case_id").loc["X-1"]
    assert extra["teller_id"] == "0101"
    assert extra["dwell_seconds"] == 80.0
    assert pd.isna(extra["queue_seconds"])


def test_dwell_times_per_business_type(duck: DuckDBEngine, spark: SparkEngine,
                                       baseline: Baseline) -> None:
    frame = _both(duck, spark, """
        SELECT t.business_type, count(*) AS transactions,
               median(t.dwell_seconds) AS median_seconds,
               quantile_cont(t.dwell_seconds, 0.9) AS p90_seconds,
               median(t.queue_seconds) AS median_queue_seconds,
               any_value(b.standard_seconds) AS standard_seconds,
               median(t.dwell_seconds) / any_value(b.standard_seconds) AS ratio,
               sum(greatest(t.dwell_seconds - b.standard_seconds, 0)) / 3600 AS hours_lost,
               avg(CASE WHEN t.error THEN 1.0 ELSE 0.0 END) AS error_rate,
               mode(t.branch_id ORDER BY t.branch_id) AS main_branch
        FROM transactions t JOIN baseline b USING (business_type)
        GROUP BY t.business_type
        ORDER BY hours_lost DESC, t.business_type
    """, views={"transactions": _TRANSACTIONS}, tables={"baseline": _baseline_table(baseline)},
        rtol={"median_seconds": QUANTILE_RTOL, "p90_seconds": QUANTILE_RTOL,
              "median_queue_seconds": QUANTILE_RTOL, "ratio": QUANTILE_RTOL,
              "hours_lost": SUM_RTOL, "error_rate": SUM_RTOL})
    assert len(frame) == 58
    assert frame["hours_lost"].is_monotonic_decreasing


def test_filtered_with_list_and_date_parameters(duck: DuckDBEngine,
                                                spark: SparkEngine) -> None:
    params = {
        "start": date(2026, 9, 2),  # the demo log has 1 Sep, 31 Oct and 1 Nov
        "end": datetime(2026, 10, 31, 12, 0, 0, 500),
        "branches": ["B01", "B03", "B04"],
        "types": ("P17", "P18", "P10", "P28"),
        "min_transactions": 5,
    }
    frame = _both(duck, spark, """
        SELECT branch_id, business_type, count(*) AS transactions,
               median(dwell_seconds) AS median_seconds,
               sum(dwell_seconds) / 3600 AS hours, min(started) AS first
        FROM transactions
        WHERE started >= $start AND started < $end
          AND list_contains($branches, branch_id) AND list_contains($types, business_type)
        GROUP BY branch_id, business_type
        HAVING count(*) >= $min_transactions OR business_type = 'P10'
    """, params, views={"transactions": _TRANSACTIONS}, keys=["branch_id", "business_type"],
        rtol={"median_seconds": QUANTILE_RTOL, "hours": SUM_RTOL})
    assert set(frame["branch_id"]) == {"B01", "B03", "B04"}
    assert frame["first"].min() >= pd.Timestamp("2026-09-02")
    assert "P10" in set(frame["business_type"])  # the CSV's case of 2026-10-05 counts


def test_step_windows_and_grouping_sets(duck: DuckDBEngine, spark: SparkEngine) -> None:
    frame = _both(duck, spark, """
        SELECT CASE grouping(teller_id, branch_id) WHEN 0 THEN 'teller'
                    WHEN 2 THEN 'branch' ELSE 'bank' END AS level,
               grouping(teller_id, branch_id) AS grouping_id,
               teller_id, branch_id, business_type, activity, count(*) AS steps,
               count(*) FILTER (WHERE occurrence > 1) AS repeated,
               quantile_cont(service_seconds, 0.5) AS median_seconds,
               quantile_cont(wait_seconds, 0.5) AS median_wait_seconds,
               min(month) AS first_month, max(hour) AS last_hour
        FROM steps
        GROUP BY GROUPING SETS ((business_type, activity, teller_id, branch_id),
                                (business_type, activity, branch_id),
                                (business_type, activity))
    """, views={"steps": _STEPS},
        keys=["level", "business_type", "activity", "branch_id", "teller_id"],
        rtol={"median_seconds": QUANTILE_RTOL, "median_wait_seconds": QUANTILE_RTOL})
    assert set(frame["level"]) == {"teller", "branch", "bank"}
    assert set(frame["grouping_id"]) == {0, 2, 3}
    assert frame["repeated"].sum() > 0


def test_null_ordering_follows_duckdb(duck: DuckDBEngine, spark: SparkEngine) -> None:
    frame = _both(duck, spark, """
        SELECT amount FROM (SELECT DISTINCT amount FROM events) ORDER BY amount
    """)
    assert pd.isna(frame["amount"].iloc[-1])  # NULLS LAST, as DuckDB sorts


def test_spark_percentile_is_exact(spark: SparkEngine) -> None:
    rng = np.random.default_rng(5)
    values = rng.lognormal(3.0, 1.0, 5_001)
    sql = """
        SELECT median(x) AS p50, quantile_cont(x, 0.9) AS p90,
               quantile_cont(x, [0.1, 0.25, 0.75]) AS quartiles,
               percentile_cont(0.33) WITHIN GROUP (ORDER BY x) AS p33
        FROM t
    """
    assert "APPROX" not in to_spark_sql(sql).upper()
    row = spark.query(sql, tables={"t": pa.table({"x": values})}).iloc[0]
    # an odd count: the median is the middle value itself, bit for bit
    assert row["p50"] == np.sort(values)[2_500]
    expected = np.percentile(values, [90, 10, 25, 75, 33], method="linear")
    got = [row["p90"], *row["quartiles"], row["p33"]]
    np.testing.assert_allclose(got, expected, rtol=QUANTILE_RTOL, atol=0)


def test_discrete_quantiles_match(duck: DuckDBEngine, spark: SparkEngine) -> None:
    rng = np.random.default_rng(8)
    table = pa.table({"g": rng.integers(0, 7, 400), "x": rng.integers(0, 1_000, 400)})
    _both(duck, spark, """
        SELECT g, quantile_disc(x, 0.9) AS d90, quantile_disc(x, 0.5) AS d50,
               quantile(x, 0.25) AS d25, count(*) AS n
        FROM t GROUP BY g
    """, tables={"t": table}, keys=["g"])


def test_mode_ties_give_the_smallest_value(duck: DuckDBEngine, spark: SparkEngine) -> None:
    table = pd.DataFrame({"g": [1, 1, 1, 1, 2, 2, 2, 3],
                          "x": ["b", "a", "a", "b", "c", "d", "d", None]})
    frame = _both(duck, spark, """
        SELECT g, mode(x ORDER BY x) AS most, count(x) AS n FROM t GROUP BY g
    """, tables={"t": table}, keys=["g"])
    assert frame["most"].tolist()[:2] == ["a", "d"]
    assert pd.isna(frame["most"].iloc[2])
    plain = spark.query("SELECT g, mode(x) AS most FROM t GROUP BY g ORDER BY g",
                        tables={"t": table})
    assert plain["most"].tolist()[:2] == ["a", "d"]


def test_spark_follows_the_store(spark: SparkEngine, tmp_path: Path,
                                 baseline: Baseline) -> None:
    store = EventStore(tmp_path / "workspace")
    count = "SELECT count(*) AS events, count(DISTINCT source_batch) AS batches FROM events"
    with SparkEngine(store) as other:  # a second engine shares the running Spark
        assert other.query(count).iloc[0].tolist() == [0, 0]
        extra = tmp_path / "extra.csv"
        extra.write_text(_EXTRA_CSV, encoding="utf-8")
        ingest_log(store, extra, baseline=baseline)
        assert other.query(count).iloc[0].tolist() == [3, 1]
        assert DuckDBEngine(store).query(count).iloc[0].tolist() == [3, 1]
    # closing it left the module's engine (and Spark) running
    assert spark.query("SELECT count(*) AS n FROM events")["n"].tolist()[0] > 30_000


def _session_figures(engine: Engine) -> list[pd.DataFrame]:
    """Views that read each other, a table that replaces the view it reads, per-query tables."""
    with engine.session() as session:
        session.register("kinds", pd.DataFrame({"business_type": ["P10", "P17"]}))
        session.create_view("chosen", "SELECT e.* FROM events e JOIN kinds USING (business_type)")
        session.create_view("per_type", "SELECT business_type, count(*) AS n, "
                            "count(DISTINCT case_id) AS cases FROM chosen GROUP BY business_type")
        before = session.query("SELECT * FROM per_type ORDER BY business_type")
        session.create_table("chosen", "SELECT * FROM chosen WHERE business_type = 'P10'")
        after = session.query("SELECT * FROM per_type ORDER BY business_type")
        session.create_table("limits", pa.table({"business_type": ["P10"], "low": [2]}))
        joined = session.query_arrow(
            "SELECT p.business_type, p.n >= l.low AS enough, x.label FROM per_type p "
            "JOIN limits l USING (business_type) JOIN labels x USING (business_type) "
            "WHERE p.n > $least", {"least": 0},
            tables={"labels": pd.DataFrame({"business_type": ["P10"], "label": ["cash"]})})
    return [before, after, joined.to_pandas()]


def test_sessions_give_the_same_figures(duck: DuckDBEngine, spark: SparkEngine) -> None:
    left, right = _session_figures(duck), _session_figures(spark)
    for a, b in zip(left, right, strict=True):
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    before, after, joined = left
    assert before["business_type"].tolist() == ["P10", "P17"]
    # the table holds the rows of the view it replaced; the views over it see it
    assert after.to_dict("list") == before[before["business_type"] == "P10"].to_dict("list")
    assert joined.to_dict("list") == {"business_type": ["P10"], "enough": [True],
                                      "label": ["cash"]}


# -- DuckDB engine and translation --------------------------------------------------------------

def test_duckdb_views_in_order_and_tables(duck: DuckDBEngine) -> None:
    frame = duck.query(
        "SELECT v2.n, t.label FROM v2 JOIN t USING (n) WHERE v2.n >= $low",
        {"low": 2},
        {"v1": "SELECT range AS n FROM range(5)", "v2": "SELECT n FROM v1 WHERE n < 4"},
        tables={"t": pd.DataFrame({"n": [1, 2, 3], "label": ["one", "two", "three"]})},
    )
    assert frame.to_dict("list") == {"n": [2, 3], "label": ["two", "three"]}


def test_to_spark_sql_rewrites() -> None:
    pytest.importorskip("sqlglot", reason="the spark extra (sqlglot) is not installed")
    sql = to_spark_sql(
        "SELECT mode(x) AS m, median(y) AS p50, quantile_cont(y, [0.5, 0.9])[2] AS p90, "
        "epoch(b - a) AS seconds, epoch(a) AS at, grouping(x, y) AS g, avg(y) AS mean, "
        "y / z AS ratio, y / 2 AS half, hash(x) AS k FROM v "
        "WHERE a >= $from AND list_contains($xs, x) AND y < $limit "
        "GROUP BY GROUPING SETS ((x, y), (x))",
        {"from": datetime(2026, 9, 1, 8, 30), "xs": ["0101", "it's"], "limit": 1.5},
        {"v": "SELECT * FROM events"},
    )
    assert sql == (
        "WITH v AS (SELECT * FROM events) "
        "SELECT MODE(x, TRUE) AS m, PERCENTILE(y, 0.5) AS p50, "
        "PERCENTILE(y, ARRAY(0.5, 0.9))[1] AS p90, "
        "CAST(TIMESTAMPDIFF(MICROSECOND, a, b) AS DOUBLE) / 1000000 AS seconds, "
        "CAST(UNIX_MICROS(a) AS DOUBLE) / 1000000 AS at, "
        "(GROUPING(x) * 2 + GROUPING(y)) AS g, AVG(CAST(y AS DOUBLE)) AS mean, "
        "TRY_DIVIDE(y, z) AS ratio, y / 2 AS half, XXHASH64(x) AS k FROM v "
        "WHERE a >= CAST('2026-09-01 08:30:00' AS TIMESTAMP_NTZ) "
        "AND ARRAY_CONTAINS(ARRAY('0101', 'it\\'s'), x) AND y < CAST(1.5 AS DOUBLE) "
        "GROUP BY GROUPING SETS ((x, y), (x))"
    )


def test_to_spark_sql_refuses_what_it_cannot_translate() -> None:
    pytest.importorskip("sqlglot", reason="the spark extra (sqlglot) is not installed")
    with pytest.raises(ProcmineError, match=r"\$missing has no value"):
        to_spark_sql("SELECT * FROM events WHERE teller_id = $missing")
    with pytest.raises(ProcmineError, match=r"parameters not in the query: \$extra"):
        to_spark_sql("SELECT * FROM events WHERE teller_id = $t", {"t": "0101", "extra": 1})
    with pytest.raises(ProcmineError, match="views take no parameters"):
        to_spark_sql("SELECT * FROM v", {"x": 1}, {"v": "SELECT * FROM events WHERE a = $x"})
    with pytest.raises(ProcmineError, match="one ascending key"):
        to_spark_sql("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x DESC) AS p FROM t")
    with pytest.raises(ProcmineError, match="queries only"):
        to_spark_sql("CREATE TABLE t AS SELECT 1")


# -- errors -------------------------------------------------------------------------------------

def test_spark_without_pyspark_says_install_the_extra(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ProcmineError, match=r"procmine\[spark\]"):
        get_engine("spark", EventStore(tmp_path / "workspace"))


def test_missing_java_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(engine_module.shutil, "which", lambda name: None)
    with pytest.raises(ProcmineError, match="needs Java 17"):
        engine_module._check_java()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(ProcmineError, match="JAVA_HOME is"):
        engine_module._check_java()


def test_get_engine_names(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "workspace")
    assert isinstance(get_engine("DuckDB", store), DuckDBEngine)
    with pytest.raises(ProcmineError, match="expected one of duckdb, spark"):
        get_engine("oracle", store)
    with pytest.raises(ProcmineError, match="spark engine only"):
        get_engine("duckdb", store, master="local[2]")


def test_events_union_files_by_name(spark: SparkEngine, tmp_path: Path) -> None:
    """Files with other column orders, missing columns and wider types read as on DuckDB."""
    events = tmp_path / "workspace" / "store" / "events"
    events.mkdir(parents=True)
    kinds = {"VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us"), "DOUBLE": pa.float64(),
             "BOOLEAN": pa.bool_()}
    first = {c: pa.array([None, None], kinds[t]) for c, t in CANONICAL_COLUMNS.items()}
    first.update(case_id=pa.array(["A", "B"]), activity=pa.array(["Count cash"] * 2),
                 end_time=pa.array([datetime(2026, 9, 1, 9), datetime(2026, 9, 1, 10)]),
                 amount=pa.array([1.5, None]))
    pq.write_table(pa.table({**first, "src_row": pa.array([1, 2]),
                             "row_hash": pa.array([11, 12], pa.uint64()),
                             "reason": pa.array([None, "duplicate"], pa.string())}),
                   events / "batch-1.parquet")
    pq.write_table(pa.table({"reason": pa.array([None], pa.string()),
                             "amount": pa.array([20_000], pa.int64()),
                             "end_time": pa.array([datetime(2026, 9, 2, 9, 30, 0, 250)]),
                             "activity": pa.array(["Enter transaction"]),
                             "case_id": pa.array(["C"]), "src_row": pa.array([7]),
                             "row_hash": pa.array([13], pa.uint64())}),
                   events / "batch-2.parquet")
    store = EventStore(tmp_path / "workspace")
    with SparkEngine(store) as other:
        _both(DuckDBEngine(store), other, "SELECT * FROM events", keys=["case_id"])
        rows = other.query("SELECT case_id, amount, source_batch, source_row FROM events "
                           "ORDER BY case_id")
    assert rows.to_dict("list") == {"case_id": ["A", "C"], "amount": [1.5, 20_000.0],
                                    "source_batch": ["batch-1", "batch-2"],
                                    "source_row": [1, 7]}


def test_spark_on_a_workspace_named_relative_to_the_current_folder(
        store: EventStore, tmp_path: Path) -> None:
    """``procmine variants --engine spark --home ws`` from the folder that holds ``ws``: the
    Spark session's scratch folder and logging configuration are made absolute, so a relative
    workspace works (a fresh process, since a running Spark session is reused)."""
    shutil.copytree(store.home, tmp_path / "ws")
    env = {**os.environ, "PROCMINE_HOME": ""}
    done = subprocess.run(
        [sys.executable, "-m", "procmine.cli", "variants", "--engine", "spark", "--home", "ws",
         "--type", "P18", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300)
    assert done.returncode == 0, done.stderr
    on_spark = json.loads(done.stdout)
    on_duckdb = variants(EventStore(tmp_path / "ws"), business_type="P18", top=10).to_dict()
    assert on_spark["cases"] == on_duckdb["cases"] > 0
    for spark_row, duck_row in zip(on_spark["variants"], on_duckdb["variants"], strict=True):
        assert spark_row.keys() == duck_row.keys()
        for key, value in spark_row.items():  # the JSON round trip may move a float's last bit
            expected = duck_row[key]
            assert value == (pytest.approx(expected) if isinstance(expected, float)
                             else expected), key
