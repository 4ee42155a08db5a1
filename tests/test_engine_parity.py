"""The whole analysis on Spark gives DuckDB's figures: the slow steps with their evidence, the
monthly announcement, the dashboard summaries and the process map.

One demo store (about 150,000 events) and one Spark session (local mode) serve the module. The
store is prepared at ingest (``store.is_prepared()``): both engines read the prepared step
relation and transactions (the Parquet under ``store/steps`` and ``store/cases``), and the tests
check that each Spark query of an analysis reads them rather than the events, with no window over
the case (:func:`_spark_reads`).
DuckDB interpolates a quantile as ``lo + d * (hi - lo)`` and Spark as ``(1 - d) * lo + d * hi``,
so quantiles may differ in their last bits; counts, keys and the order of the findings are
exact. The Mann-Whitney p-values come from the same ranks on both engines. The evidence
(:func:`explain_findings`: the detailed step view, kept pairs, breakdowns) matches too.
The league's counts and ranks are exact and its floats within ``FIGURE_RTOL`` (its dwell
times are summed as whole microseconds on both engines; float sums such as the standard
times with large-amount allowances add in another order); so are the summaries' floats.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.analysis.filters import Filters
from procmine.analysis.findings import Finding, StepReference
from procmine.analysis.league import league_records, monthly_league, months_with_data
from procmine.analysis.performance import (
    business_type_summary,
    filter_options,
    latest_month,
    step_statistics,
    teller_profile,
    teller_summary,
    transaction_statistics,
    transaction_summary,
    type_steps,
)
from procmine.analysis.steps import StepData
from procmine.cli.analysis import bottlenecks
from procmine.cli.analysis import league as league_command
from procmine.core.baseline import Baseline
from procmine.demo import DemoConfig, write_demo_data
from procmine.ingest.batches import drop_batch
from procmine.ingest.run import ingest_log
from procmine.maps.dfg import ProcessMap, process_map
from procmine.store.engine import get_engine
from procmine.store.event_store import EventStore
from procmine.store.spark import SparkEngine

QUANTILE_RTOL = 1e-12
MEDIAN_RTOL = 1e-9
Q_RTOL = 1e-6
# league and summaries: relative, and absolute for differences that cancel (index change)
FIGURE_RTOL = 1e-12


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, baseline: Baseline) -> EventStore:
    root = tmp_path_factory.mktemp("parity")
    demo = write_demo_data(root / "demo", DemoConfig(events=150_000, seed=21), fmt="parquet")
    store = EventStore(root / "workspace")
    assert ingest_log(store, demo.events_path, baseline=baseline).loaded > 100_000
    # the ingest prepared the steps and transactions: the analyses below read them
    assert store.is_prepared() and store.prepared_files() and store.prepared_case_files()
    with StepData(store, baseline) as data:
        assert data.prepared
    return store


@pytest.fixture(scope="module")
def spark(store: EventStore) -> Iterator[SparkEngine]:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")
    engine = get_engine("spark", store)
    assert isinstance(engine, SparkEngine)
    yield engine
    engine.close()


# The store's relations a Spark query can name (the engine's temporary views).
_STORE_RELATIONS = frozenset({"events", "tickets", "prepared_steps", "prepared_cases"})
_PREPARED = frozenset({"prepared_steps", "prepared_cases"})


@contextmanager
def _spark_reads(spark: SparkEngine,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[set[str], bool]]]:
    """For each Spark query run meanwhile: the store's relations it reads and whether it
    computes a window over the case (``PARTITION BY case_id``, what the prepared relation
    holds already). Read from the Spark SQL the engine hands to Spark."""
    import sqlglot
    from sqlglot import exp

    reads: list[tuple[set[str], bool]] = []
    run = spark._run

    def recording(text: str) -> pd.DataFrame:
        tree = sqlglot.parse_one(text, read="spark")
        tables = {t.name.lower() for t in tree.find_all(exp.Table)} & _STORE_RELATIONS
        case_window = any(
            column.name.lower() == "case_id"
            for window in tree.find_all(exp.Window)
            for part in window.args.get("partition_by") or []
            for column in part.find_all(exp.Column))
        reads.append((tables, case_window))
        return run(text)

    with monkeypatch.context() as patch:
        patch.setattr(spark, "_run", recording)
        yield reads


def _read_prepared(reads: list[tuple[set[str], bool]], what: str) -> None:
    """Every query read the prepared relation only, with no window over the case."""
    assert reads, what
    for tables, case_window in reads:
        assert tables and tables <= _PREPARED, (what, tables)
        assert not case_window, what


def _close(a: float | None, b: float | None, rtol: float) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=rtol, abs_tol=0.0)


def _key(f: Finding) -> tuple[str, str | None, str | None, str, str]:
    return (f.scope, f.teller_id, f.branch_id, f.business_type, f.activity)


def test_findings_with_evidence_are_the_same_on_spark(
        store: EventStore, baseline: Baseline, spark: SparkEngine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``find_bottlenecks(evidence=True)`` (what ``procmine bottlenecks --json`` shows): the
    same findings of every kind, with the same evidence (:func:`explain_findings`: the detailed
    step view, kept pairs, breakdowns), read from the prepared steps on Spark."""
    duck = find_bottlenecks(store, baseline, evidence=True)
    with _spark_reads(spark, monkeypatch) as reads:
        other = find_bottlenecks(store, baseline, engine=spark, evidence=True)
    _read_prepared(reads, "find_bottlenecks")
    assert len(duck) > 0
    assert [_key(f) for f in other] == [_key(f) for f in duck]
    for d, s in zip(duck, other, strict=True):
        assert (s.kind, s.cases, s.steps) == (d.kind, d.cases, d.steps), _key(d)
        assert (s.tellers_flagged, s.tellers_eligible) == (d.tellers_flagged,
                                                             d.tellers_eligible)
        assert s.reference_source == d.reference_source
        for name in ("median_seconds", "p90_seconds", "reference_seconds",
                     "bank_median_seconds", "branch_median_seconds", "time_lost_seconds",
                     "pace", "ratio"):
            assert _close(getattr(s, name), getattr(d, name), MEDIAN_RTOL), (name, _key(d))
        assert _close(s.q_value, d.q_value, Q_RTOL), _key(d)
        assert _close(s.p_value, d.p_value, Q_RTOL), _key(d)
    stepped = [d.evidence for d in duck if d.activity]
    assert stepped and all(e and "by_month" in e and "rework" in e for e in stepped)
    _same([d.evidence for d in duck], [s.evidence for s in other], "evidence")


def test_dated_references_give_the_same_findings_on_spark(store: EventStore,
                                                         baseline: Baseline,
                                                         spark: SparkEngine) -> None:
    """SOP rows changing mid-period, one of them for one branch only: the same per-step
    references (joined on date ranges in the engine's SQL) on both engines."""
    plain = find_bottlenecks(store, baseline)
    middle = date(2026, 10, 1)
    pairs = {(f.business_type, f.activity): f.reference_seconds for f in plain}
    references = [
        row for (business_type, activity), seconds in pairs.items() for row in (
            StepReference(business_type, activity, seconds, "SOP-X", "s", "1.0",
                          valid_to=middle),
            StepReference(business_type, activity, seconds * 0.8, "SOP-X", "s", "2.0",
                          valid_from=middle))
    ]
    references += [
        StepReference(business_type, activity, pairs[business_type, activity] * 0.7, "SOP-X",
                      "s", "2.1", valid_from=date(2026, 9, 15), branch_id=branch)
        for business_type, activity, branch in sorted(
            {(f.business_type, f.activity, str(f.branch_id)) for f in plain})
    ]
    duck = find_bottlenecks(store, baseline, step_references=references)
    other = find_bottlenecks(store, baseline, step_references=references, engine=spark)
    assert duck and [_key(f) for f in other] == [_key(f) for f in duck]
    assert {f.reference_source for f in duck} == {"sop"}
    for d, s in zip(duck, other, strict=True):
        assert (s.sop, s.sop_step, s.sop_version, s.cases) == (d.sop, d.sop_step,
                                                                d.sop_version, d.cases)
        for name in ("reference_seconds", "time_lost_seconds", "ratio", "median_seconds"):
            assert _close(getattr(s, name), getattr(d, name), MEDIAN_RTOL), (name, _key(d))
        assert _close(s.q_value, d.q_value, Q_RTOL), _key(d)


def test_step_statistics_are_the_same_on_spark(store: EventStore, baseline: Baseline,
                                               spark: SparkEngine) -> None:
    duck = step_statistics(store, baseline, by="teller")
    other = step_statistics(store, baseline, by="teller", engine=spark)
    assert list(other.columns) == list(duck.columns)
    assert len(duck) > 0
    exact = ["teller_id", "branch_id", "business_type", "activity", "count", "inferred",
             "first_started", "last_started"]
    pd.testing.assert_frame_equal(duck[exact], other[exact], check_dtype=False,
                                  check_exact=True)
    for column in ("median_seconds", "p90_seconds", "share"):
        pd.testing.assert_series_equal(duck[column], other[column], check_dtype=False,
                                       check_exact=False, rtol=QUANTILE_RTOL, atol=0.0)
    for column in ("mean_seconds", "total_seconds", "standard_seconds"):
        pd.testing.assert_series_equal(duck[column], other[column], check_dtype=False,
                                       check_exact=False, rtol=1e-9, atol=0.0)


def test_cli_runs_on_either_engine(store: EventStore, baseline: Baseline,
                                   spark: SparkEngine) -> None:
    app = typer.Typer()
    app.command()(bottlenecks)
    runner = CliRunner()
    home = ["--home", str(store.home)]
    first = find_bottlenecks(store, baseline)[0]
    for engine in ("duckdb", "spark"):
        # --engine spark with Spark already running (the module's) shares it
        result = runner.invoke(app, [*home, "--engine", engine], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert f"1. {first.summary}" in " ".join(result.output.split()), engine
    result = runner.invoke(app, [*home, "--engine", "nope"])
    assert result.exit_code != 0 and "expected one of duckdb, spark" in str(result.exception)
    result = runner.invoke(app, [*home, "--engine", "duckdb", "--master", "local[4]"])
    assert result.exit_code != 0 and "spark engine only" in str(result.exception)
    # the module's engine still runs
    assert spark.query("SELECT count(*) AS n FROM events")["n"].iloc[0] > 100_000


def _same_frame(duck: pd.DataFrame, other: pd.DataFrame, keys: list[str] | None = None,
                what: str = "") -> None:
    """The same rows: columns that are floats on both engines within ``FIGURE_RTOL``, every
    other column (keys, counts, ranks, timestamps) exactly; sorted by ``keys`` first, else in
    the order the function gave them."""
    assert list(other.columns) == list(duck.columns), what
    assert len(duck) > 0, what
    if keys:
        duck = duck.sort_values(keys).reset_index(drop=True)
        other = other.sort_values(keys).reset_index(drop=True)
    floats = [c for c in duck.columns if pd.api.types.is_float_dtype(duck[c])
              and pd.api.types.is_float_dtype(other[c])]
    exact = [c for c in duck.columns if c not in floats]
    pd.testing.assert_frame_equal(duck[exact], other[exact], check_dtype=False,
                                  check_exact=True, obj=what)
    pd.testing.assert_frame_equal(duck[floats], other[floats], check_dtype=False,
                                  check_exact=False, rtol=FIGURE_RTOL, atol=FIGURE_RTOL,
                                  obj=what)


def test_league_is_the_same_on_spark(store: EventStore, baseline: Baseline,
                                     spark: SparkEngine,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    months = months_with_data(store)
    assert months_with_data(store, engine=spark) == months
    month = months[-1]  # with last month's ranks to compare against
    duck = monthly_league(store, baseline, month)
    with _spark_reads(spark, monkeypatch) as reads:
        other = monthly_league(store, baseline, month, engine=spark)
    _read_prepared(reads, "league")
    assert len(duck) >= 40 and duck["prev_rank_overall"].notna().sum() >= 40
    _same_frame(duck, other, what="league")  # same order: the same ranks
    assert other["rank_overall"].tolist() == duck["rank_overall"].tolist()
    assert other["rank_in_branch"].tolist() == duck["rank_in_branch"].tolist()
    assert other["rank_change"].tolist() == duck["rank_change"].tolist()
    fit, fit_spark = duck.attrs["method"], other.attrs["method"]
    assert fit_spark.keys() == fit.keys()
    allowances = fit.pop("large_amount_allowances")
    allowances_spark = fit_spark.pop("large_amount_allowances")
    assert len(allowances) > 0 and allowances_spark.keys() == allowances.keys()
    for code, factor in allowances.items():
        assert _close(allowances_spark[code], factor, FIGURE_RTOL), code
    for name, value in fit.items():
        if isinstance(value, float):
            assert _close(fit_spark[name], value, FIGURE_RTOL), name
        else:
            assert fit_spark[name] == value, name


def test_league_command_runs_on_spark(store: EventStore, baseline: Baseline,
                                      spark: SparkEngine) -> None:
    app = typer.Typer()
    app.command()(league_command)
    runner = CliRunner()
    home = ["--home", str(store.home)]
    month = months_with_data(store)[0]  # a first month: no previous month to compare with
    result = runner.invoke(app, [*home, "--month", month, "--engine", "spark", "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    expected = league_records(monthly_league(store, baseline, month))
    assert len(got) == len(expected) >= 40
    assert all(r["prev_rank_overall"] is None for r in got)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.keys() == theirs.keys()
        for key, value in theirs.items():
            if isinstance(value, float):
                assert math.isclose(mine[key], value, rel_tol=FIGURE_RTOL,
                                    abs_tol=FIGURE_RTOL), (key, theirs["teller_id"])
            else:
                assert mine[key] == value, (key, theirs["teller_id"])
    # --master reaches Spark: one process has one master, and the module's runs local[2]
    result = runner.invoke(app, [*home, "--month", month, "--engine", "spark",
                                 "--master", "local[3]"])
    assert result.exit_code != 0 and "one process has one Spark master" in str(
        result.exception)


def test_dashboard_summaries_are_the_same_on_spark(store: EventStore, baseline: Baseline,
                                                   spark: SparkEngine,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """What the overview page reads (the whole store's and the latest month's transactions,
    business types and tellers), and the statistics page's transactions."""
    first = latest_month(store)
    assert first is not None and latest_month(store, engine=spark) == first
    options = filter_options(store)
    assert filter_options(store, engine=spark) == options
    assert [len(options[k]) for k in ("branch_id", "business_type", "teller_id")] == [6, 58, 48]
    month = Filters.for_month(first.strftime("%Y-%m"))
    some = replace(month, branches=tuple(options["branch_id"][:3]))
    for filters in (Filters(), month):
        summary = transaction_summary(store, baseline, filters)
        with _spark_reads(spark, monkeypatch) as reads:
            summary_spark = transaction_summary(store, baseline, filters, engine=spark)
        _read_prepared(reads, "transaction summary")
        assert summary_spark.keys() == summary.keys() and summary["transactions"] > 5_000
        for key, value in summary.items():
            if isinstance(value, float):
                assert _close(summary_spark[key], value, FIGURE_RTOL), key
            else:
                assert summary_spark[key] == value, key
        with _spark_reads(spark, monkeypatch) as reads:
            types_spark = business_type_summary(store, baseline, filters, engine=spark)
        _read_prepared(reads, "business types")
        _same_frame(business_type_summary(store, baseline, filters), types_spark,
                    ["business_type"], "business types")
    none = Filters(business_types=("none",))
    assert transaction_summary(store, baseline, none, engine=spark)["events"] == 0
    _same_frame(teller_summary(store, baseline),
                teller_summary(store, baseline, engine=spark), ["teller_id"], "tellers")
    with _spark_reads(spark, monkeypatch) as reads:
        tellers_spark = teller_summary(store, baseline, month, 20, engine=spark)
    _read_prepared(reads, "tellers")
    _same_frame(teller_summary(store, baseline, month, 20), tellers_spark, ["teller_id"],
                "tellers of the month")
    stats = transaction_statistics(store, baseline, "teller", some)
    assert set(stats["branch_id"]) == set(options["branch_id"][:3])
    _same_frame(stats, transaction_statistics(store, baseline, "teller", some, engine=spark),
                ["teller_id", "branch_id", "business_type"], "transaction statistics")


def _same_map(duck: ProcessMap, other: ProcessMap, what: str) -> None:
    """The same graph: nodes, edges, starts and ends exactly; the times within
    ``FIGURE_RTOL`` (medians interpolate, means add in another order)."""
    assert other.cases == duck.cases > 0, what
    assert other.start_activities == duck.start_activities, what
    assert other.end_activities == duck.end_activities, what
    _same_frame(duck.nodes, other.nodes, what=f"{what} nodes")  # in the map's own order
    _same_frame(duck.edges, other.edges, what=f"{what} edges")


def test_process_maps_are_the_same_on_spark(store: EventStore, spark: SparkEngine,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The maps of every transaction and of one type from the prepared case order (no window
    on Spark either); a branch's map orders its own steps (a window over the case, on the
    prepared steps)."""
    for business_type in (None, "P17"):
        duck = process_map(store, business_type=business_type)
        with _spark_reads(spark, monkeypatch) as reads:
            other = process_map(store, business_type=business_type, engine=spark)
        _read_prepared(reads, f"map {business_type}")
        _same_map(duck, other, f"map {business_type}")
    assert len(duck.edges) > 10 and duck.edges["median_seconds"].notna().all()
    branch = Filters(branches=("B02",))
    duck = process_map(store, business_type="P17", filters=branch)
    with _spark_reads(spark, monkeypatch) as reads:
        other = process_map(store, business_type="P17", filters=branch, engine=spark)
    assert [tables for tables, _ in reads] == [{"prepared_steps"}]
    assert duck.cases < process_map(store, business_type="P17").cases
    _same_map(duck, other, "map P17 at B02")


def test_spark_reads_the_prepared_parquet(store: EventStore, spark: SparkEngine) -> None:
    """Spark's ``prepared_steps`` and ``prepared_cases`` are the files the ingest wrote (the
    ones DuckDB reads), with the same rows, values and types: a few whole cases compared
    column by column."""
    spark.query("SELECT count(*) AS n FROM events")  # the engine defines its views
    for name, files in (("prepared_steps", store.prepared_files()),
                        ("prepared_cases", store.prepared_case_files())):
        read = sorted(spark.spark.table(name).inputFiles())
        assert read == sorted(f.resolve().as_uri() for f in files), name
    cases = ("(SELECT case_id FROM prepared_cases WHERE steps > 3 "
             "ORDER BY case_id LIMIT 20)")
    duck = get_engine("duckdb", store)
    for sql in (f"SELECT * FROM prepared_steps WHERE case_id IN {cases} "
                "ORDER BY case_id, step_index",
                f"SELECT * FROM prepared_cases WHERE case_id IN {cases} ORDER BY case_id"):
        mine, theirs = duck.query(sql), spark.query(sql)
        assert len(mine) >= 20
        pd.testing.assert_frame_equal(mine, theirs, check_dtype=False, check_exact=True)
    totals = ("SELECT count(*) AS n, count(DISTINCT case_id) AS cases, sum(step_index) AS s, "
              "sum(CAST(is_rework AS INTEGER)) AS rework, count(wait_seconds) AS waits "
              "FROM prepared_steps")
    assert duck.query(totals).to_dict("records") == spark.query(totals).to_dict("records")


def test_drill_downs_are_the_same_on_spark(store: EventStore, baseline: Baseline,
                                           spark: SparkEngine) -> None:
    keys = ["business_type", "activity"]
    _same_frame(type_steps(store, baseline, "P17"),
                type_steps(store, baseline, "P17", engine=spark), keys, "type steps")
    teller = teller_summary(store, baseline)["teller_id"].iloc[0]
    mine = teller_profile(store, baseline, teller)
    theirs = teller_profile(store, baseline, teller, engine=spark)
    assert len(mine["months"]) == 2
    _same_frame(mine["months"], theirs["months"], ["month"], "profile months")
    _same_frame(mine["steps"], theirs["steps"], ["teller_id", "branch_id", *keys],
                "profile steps")


# Case A's fourth step comes in a second file: its earlier rows are prepared again.
_HEADER = "case_id,activity,teller_id,branch_id,business_type,start_time,end_time,call_time"
_FIRST = [
    "A,Open,T1,B1,P01,2026-10-01 09:00:10,2026-10-01 09:00:40,2026-10-01 09:00:00",
    "A,Count cash,T1,B1,P01,2026-10-01 09:00:50,2026-10-01 09:01:50,",
    "A,Count cash,T1,B1,P01,2026-10-01 09:02:00,2026-10-01 09:02:30,",
    "B,Open,T2,B1,P01,2026-10-01 10:00:00,2026-10-01 10:00:20,2026-10-01 09:59:00",
]
_SECOND = [
    "A,Print,T2,B1,P01,2026-10-01 09:02:40,2026-10-01 09:03:10,",
    "C,Open,T2,B1,P01,2026-10-02 10:00:00,2026-10-02 10:00:30,",
]


def test_spark_follows_the_prepared_relation_through_an_ingest_and_a_drop(
        tmp_path_factory: pytest.TempPathFactory, baseline: Baseline,
        spark: SparkEngine) -> None:
    """A second batch that continues a case rewrites the first batch's step file, and dropping
    it rewrites it again: Spark's next query reads the files as they are then, as DuckDB does."""
    root = tmp_path_factory.mktemp("follow")
    store = EventStore(root / "workspace")
    files = []
    for name, rows in (("first.csv", _FIRST), ("second.csv", _SECOND)):
        files.append(root / name)
        files[-1].write_text("\n".join([_HEADER, *rows]) + "\n", encoding="utf-8")
    steps = ("SELECT case_id, activity, step_index, next_activity, wait_seconds, case_steps, "
             "share_of_case, source_batch FROM prepared_steps ORDER BY case_id, step_index")
    cases = "SELECT case_id, steps, dwell_seconds FROM prepared_cases ORDER BY case_id"
    first = ingest_log(store, files[0], baseline=baseline)
    engine = get_engine("spark", store)  # the module's Spark, over this store
    duck = get_engine("duckdb", store)
    try:
        seen = []
        for step in ("first", "second", "dropped"):
            if step == "second":
                second = ingest_log(store, files[1], baseline=baseline)
            elif step == "dropped":
                drop_batch(store, second.batch_id, user="ops")
            assert store.is_prepared()
            mine = engine.query(steps)
            pd.testing.assert_frame_equal(duck.query(steps), mine, check_dtype=False)
            pd.testing.assert_frame_equal(duck.query(cases), engine.query(cases),
                                          check_dtype=False)
            seen.append(mine[mine["case_id"] == "A"]["case_steps"].tolist())
    finally:
        engine.close()
    assert seen == [[3, 3, 3], [4, 4, 4, 4], [3, 3, 3]]
    assert set(mine["source_batch"]) == {first.batch_id}


def _same(a: Any, b: Any, path: str) -> None:
    """The same nested evidence: floats (rounded to 3 or 4 places) within a rounding step."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for key in a:
            _same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=MEDIAN_RTOL, abs_tol=1e-3), (path, a, b)
    else:
        assert type(a) is type(b) and a == b, (path, a, b)


def test_a_tie_gives_the_transaction_to_the_smallest_id_on_every_run_and_engine(
        tmp_path_factory: pytest.TempPathFactory, baseline: Baseline, spark: SparkEngine) -> None:
    # Every case has two steps by teller 0102 at B02 and two by teller 0101 at B01, in an order
    # that varies: a plain mode() would hand each case to whichever it met first.
    root = tmp_path_factory.mktemp("ties")
    rows = []
    for case in range(400):
        people = [("0102", "B02"), ("0102", "B02"), ("0101", "B01"), ("0101", "B01")]
        people = people[case % 4:] + people[:case % 4]
        start = pd.Timestamp("2026-10-05 09:00") + pd.Timedelta(minutes=10 * case)
        for k, (teller, branch) in enumerate(people):
            rows.append({"case_id": f"T{case:04d}", "activity": f"Step {k}",
                         "start_time": start + pd.Timedelta(seconds=60 * k),
                         "end_time": start + pd.Timedelta(seconds=60 * k + 50),
                         "teller_id": teller, "branch_id": branch, "business_type": "P17"})
    path = root / "ties.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    store = EventStore(root / "workspace")
    assert ingest_log(store, path, baseline=baseline).loaded == 1600
    october = Filters.for_month("2026-10")
    on_duck = [teller_summary(store, baseline, october, min_transactions=1) for _ in range(3)]
    assert all(frame.equals(on_duck[0]) for frame in on_duck)
    assert on_duck[0][["teller_id", "branch_id", "transactions"]].values.tolist() == [
        ["0101", "B01", 400]]
    spark_engine = get_engine("spark", store)
    try:
        on_spark = teller_summary(store, baseline, october, min_transactions=1,
                                  engine=spark_engine)
        league_spark = monthly_league(store, baseline, "2026-10", engine=spark_engine)
    finally:
        spark_engine.close()
    assert on_spark[["teller_id", "branch_id", "transactions"]].values.tolist() == [
        ["0101", "B01", 400]]
    league = monthly_league(store, baseline, "2026-10")
    for frame in (league, league_spark):
        assert frame[["teller_id", "branch_id", "transactions"]].values.tolist() == [
            ["0101", "B01", 400]]
