"""Conformance on Spark: the same report as on DuckDB, figure for figure, on a hand-built log
with every kind of deviation (skipped control steps, a conditional step required by a large
amount, extra, rework and order, transactions no SOP checks) and on the demo workspace (SOP
versions adopted branch by branch)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from demo_kit import copy_demo_workspace

from procmine.ingest.run import ingest_log
from procmine.maps.conformance import ConformanceReport, conformance
from procmine.maps.reference import ReferenceModel, reference_models
from procmine.sop.library import SopLibrary
from procmine.store.engine import get_engine
from procmine.store.event_store import EventStore

DAY = "2026-11-02"          # the SOPs bundled with procmine are in force
EARLY = "2025-01-06"        # before any version of them
LARGE, SMALL = 80000, 500   # P18's controls for large cash are required from 50000


def _spark_ready() -> None:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")


def _both(home: Path, business_type: str | None = None
          ) -> tuple[ConformanceReport, ConformanceReport]:
    """The report on DuckDB and on Spark (local mode) over the same workspace."""
    _spark_ready()
    store, library = EventStore(home), SopLibrary.open(home)
    duck = conformance(store, library, business_type=business_type)
    engine = get_engine("spark", store)
    try:
        spark = conformance(store, library, business_type=business_type, engine=engine)
    finally:
        engine.close()
    return duck, spark


def _assert_same(duck: ConformanceReport, spark: ConformanceReport) -> None:
    assert (spark.cases, spark.unchecked, spark.conforming, spark.variants) == (
        duck.cases, duck.unchecked, duck.conforming, duck.variants)
    assert spark.fitness == pytest.approx(duck.fitness, rel=0, abs=1e-9)
    assert set(spark.models) == set(duck.models)
    # the levels come sorted by level and keys; fitness is a mean, so its last bits may differ
    pd.testing.assert_frame_equal(spark.levels, duck.levels, check_exact=False, rtol=0,
                                  atol=1e-9)

    def rows(report: ConformanceReport) -> pd.DataFrame:
        frame = report.deviations
        return frame.sort_values(list(frame.columns)).reset_index(drop=True)

    pd.testing.assert_frame_equal(rows(spark), rows(duck))


# -- a hand-built log ---------------------------------------------------------------------------


def _p18(library: SopLibrary) -> ReferenceModel:
    models, periods = reference_models(library, ["P18"])
    assert len(models) == 1 and periods.num_rows == 1  # one version, for every branch
    return models[0]


def _cases(model: ReferenceModel) -> dict[str, tuple[str, str, str, int, list[str]]]:
    """case -> (teller, branch, day, amount, activities in order)."""
    standard = [s.activity for i, s in enumerate(model.steps) if i in model.required()]
    large = [s.activity for i, s in enumerate(model.steps)
             if i in model.required({"amount >= 50000"})]
    assert len(large) > len(standard)
    swapped = list(standard)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    return {
        "ok-1": ("T1", "B01", DAY, SMALL, standard),
        "ok-2": ("T2", "B02", DAY, LARGE, large),
        "skipped": ("T1", "B01", DAY, SMALL,
                    [a for a in standard if a != "Check signature and stamp"]),
        "large-no-controls": ("T2", "B02", DAY, LARGE, standard),
        "extra": ("T1", "B01", DAY, SMALL, [*standard[:3], "Chat about the weather",
                                            *standard[3:]]),
        "rework": ("T2", "B02", DAY, SMALL, [*standard[:5], standard[4], *standard[5:]]),
        "order": ("T1", "B02", DAY, SMALL, swapped),
        "early": ("T1", "B01", EARLY, SMALL, standard),
    }


def _csv(cases: dict[str, tuple[str, str, str, int, list[str]]]) -> str:
    lines = ["case_id,activity,start_time,end_time,teller_id,branch_id,business_type,amount"]
    for case, (teller, branch, day, amount, activities) in cases.items():
        for k, activity in enumerate(activities):
            # step k takes 10 + k seconds, from minute k: the seconds of a deviating event
            lines.append(f"{case},{activity},{day} 10:{k:02d}:00,{day} 10:{k:02d}:{10 + k:02d},"
                         f"{teller},{branch},P18,{amount}")
    # a type no SOP governs: unchecked
    lines.append(f"other,Count cash,{DAY} 11:00:00,{DAY} 11:00:30,T1,B01,X99,{SMALL}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def hand_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("conformance-spark")
    home = folder / "workspace"
    cases = _cases(_p18(SopLibrary.open(home)))
    (folder / "log.csv").write_text(_csv(cases), encoding="utf-8")
    report = ingest_log(EventStore(home), folder / "log.csv")
    assert report.quarantined == 0
    yield home


def test_spark_gives_the_same_report_on_every_kind_of_deviation(hand_home: Path) -> None:
    duck, spark = _both(hand_home)
    _assert_same(duck, spark)
    # the figures themselves, worked out by hand (both engines agreeing on nothing would fail)
    assert (duck.cases, duck.unchecked, duck.conforming) == (7, 2, 2)
    model = _p18(SopLibrary.open(hand_home))
    standard = [s.activity for i, s in enumerate(model.steps) if i in model.required()]
    found = {(r.case_id, r.kind, r.activity, r.control,
              None if pd.isna(r.position) else int(r.position),
              None if pd.isna(r.seconds) else float(r.seconds))
             for r in duck.deviations.itertuples()}
    assert found == {
        ("skipped", "skipped", "Check signature and stamp", True, None, None),
        # a large amount without the steps its condition requires
        *(("large-no-controls", "skipped", s.activity, s.control, None, None)
          for s in model.steps if s.condition is not None),
        # event k takes 10 + k seconds
        ("extra", "extra", "Chat about the weather", False, 3, 13.0),
        ("rework", "rework", standard[4], False, 5, 15.0),
        # of two swapped steps the later event is out of order
        ("order", "order", standard[2], False, 3, 13.0),
    }
    teller = duck.level("teller").set_index(["teller_id", "branch_id"])
    assert teller["control_risk_cases"].to_dict() == {("T1", "B01"): 1, ("T1", "B02"): 0,
                                                      ("T2", "B02"): 1}
    assert teller["cases"].to_dict() == {("T1", "B01"): 3, ("T1", "B02"): 1, ("T2", "B02"): 3}


# -- the demo workspace -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("conformance-spark-demo") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    return home


def test_spark_gives_the_same_report_on_the_demo_workspace(demo_home: Path) -> None:
    duck, spark = _both(demo_home)
    _assert_same(duck, spark)
    assert duck.cases > 10_000 and duck.unchecked > 0
    # both SOP versions of P18 judged some transaction, and the deviations carry seconds
    assert {"SOP-P18@2.0", "SOP-P18@3.0"} <= set(duck.deviations["sop"])
    assert duck.deviations.loc[duck.deviations["kind"] == "rework", "seconds"].notna().all()
