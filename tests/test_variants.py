"""Variants: the step sequences of a type's cases, their counts, shares and dwell times, on a
hand-built log (every figure worked out by hand), on the demo workspace (the SOP's variant
marked, counted again with pandas) and on the receipt log (CoSeLoG, J.C.A.M. Buijs, 4TU)
against pm4py's variants; and ``procmine variants``."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from demo_kit import copy_demo_workspace
from typer.testing import CliRunner

from procmine.analysis.filters import Filters
from procmine.cli.main import app
from procmine.cli.variants import variant_lines
from procmine.core.errors import ProcmineError
from procmine.ingest.run import ingest_log
from procmine.maps.variants import VARIANT_COLUMNS, prescribed_sequence, variants
from procmine.sop.library import SopLibrary
from procmine.store.engine import get_engine
from procmine.store.event_store import EventStore

runner = CliRunner()

CALL, CASH, ENTER, SEE_OFF, VOUCHER = ("Call number", "Count cash", "Enter transaction",
                                       "See off", "Print voucher")
X = (CALL, ENTER, SEE_OFF)
Y = (CALL, CASH, SEE_OFF)
Z = (CALL, ENTER, ENTER, SEE_OFF)  # rework: a variant of its own
W = (CALL, CASH, VOUCHER)  # two steps start together: the one that ends first comes first

# case -> (branch, day, [(activity, start second, end second)]); the dwell is the last end
# minus the first start. Rows are written out of order: the sequence follows the starts.
_CASES: dict[str, tuple[str, str, list[tuple[str, int, int]]]] = {
    "A": ("B01", "2026-09-01", [(SEE_OFF, 50, 60), (CALL, 0, 10), (ENTER, 10, 40)]),
    "B": ("B01", "2026-09-02", [(CALL, 0, 10), (ENTER, 20, 80), (SEE_OFF, 90, 100)]),
    "C": ("B01", "2026-09-03", [(CALL, 0, 10), (ENTER, 10, 150), (SEE_OFF, 150, 200)]),
    "D": ("B02", "2026-09-04", [(CALL, 0, 5), (CASH, 5, 20), (SEE_OFF, 25, 30)]),
    "E": ("B01", "2026-09-05", [(CALL, 0, 5), (CASH, 5, 40), (SEE_OFF, 45, 50)]),
    "F": ("B01", "2026-09-06", [(CALL, 0, 5), (ENTER, 5, 30), (ENTER, 30, 60), (SEE_OFF, 60, 70)]),
    "G": ("B01", "2026-10-07", [(CALL, 0, 5), (ENTER, 5, 40), (ENTER, 40, 80), (SEE_OFF, 80, 90)]),
    "H": ("B01", "2026-09-08", [(CALL, 0, 5), (VOUCHER, 10, 45), (CASH, 10, 30)]),
}
# another type's case, left out by --type P18
_OTHER = ("I", "B01", "2026-09-09", [(CALL, 0, 5), (SEE_OFF, 5, 9)])


def _log() -> str:
    lines = ["case_id,activity,start_time,end_time,teller_id,branch_id,business_type"]

    def add(case: str, branch: str, day: str, steps: list[tuple[str, int, int]],
            code: str) -> None:
        for activity, start, end in steps:
            lines.append(f"{case},{activity},{day} 09:{start // 60:02d}:{start % 60:02d},"
                         f"{day} 09:{end // 60:02d}:{end % 60:02d},0101,{branch},{code}")

    for case, (branch, day, steps) in _CASES.items():
        add(case, branch, day, steps, "P18")
    add(*_OTHER, code="P17")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def hand_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("variants")
    (folder / "log.csv").write_text(_log(), encoding="utf-8")
    home = folder / "workspace"
    report = ingest_log(EventStore(home), folder / "log.csv")
    assert report.loaded == 28 and report.quarantined == 0
    return home


# a library as variants() reads it: SOP ids, the latest approved version of each
@dataclass(frozen=True)
class _Step:
    activity: str
    conditional: bool = False


@dataclass(frozen=True)
class _Sop:
    id: str
    version: str
    business_types: tuple[str, ...]
    steps: tuple[_Step, ...]

    def steps_for(self, business_type: str, *, conditional: bool = True) -> list[_Step]:
        if business_type not in self.business_types:
            return []
        return [s for s in self.steps if conditional or not s.conditional]


@dataclass(frozen=True)
class _Version:
    sop: _Sop


class _Library:
    def __init__(self, *sops: _Sop | None, names: tuple[str, ...] = ()) -> None:
        self.sops = dict(zip(names, sops, strict=True))

    def ids(self) -> list[str]:
        return list(self.sops)

    def approved(self, sop_id: str) -> _Version | None:
        sop = self.sops[sop_id]
        return _Version(sop) if sop is not None else None


def _library(sequence: tuple[str, ...]) -> _Library:
    """SOP-A (retired: no approved version) and SOP-B, which governs P18 with ``sequence``
    plus a conditional step that is not on the standard path."""
    steps = (*(_Step(a) for a in sequence[:1]), _Step("Verify identity", conditional=True),
             *(_Step(a) for a in sequence[1:]))
    return _Library(None, _Sop("SOP-B", "2.1", ("P18",), steps), names=("SOP-A", "SOP-B"))


def test_the_hand_logs_variants_counts_shares_and_dwell_times(hand_home: Path) -> None:
    table = variants(EventStore(hand_home), business_type="P18", library=_library(X))
    frame = table.frame
    assert list(frame.columns) == list(VARIANT_COLUMNS)
    assert table.cases == 8 and table.variant_count == 4
    # Y and Z both have 2 cases: ordered by their steps ("Count cash" < "Enter transaction")
    assert frame["activities"].tolist() == [X, Y, Z, W]
    assert frame["rank"].tolist() == [1, 2, 3, 4]
    assert frame["length"].tolist() == [3, 3, 4, 3]
    assert frame["cases"].tolist() == [3, 2, 2, 1]
    assert frame["share"].tolist() == [3 / 8, 2 / 8, 2 / 8, 1 / 8]
    assert frame["cumulative_share"].tolist() == [3 / 8, 5 / 8, 7 / 8, 1.0]
    # dwell: X 60, 100, 200; Y 30, 50; Z 70, 90; W 45 (linear interpolation for p90)
    assert frame["median_dwell_seconds"].tolist() == [100.0, 40.0, 80.0, 45.0]
    assert frame["p90_dwell_seconds"].tolist() == pytest.approx([180.0, 48.0, 88.0, 45.0])
    assert frame["prescribed"].tolist() == [True, False, False, False]
    assert table.prescribed == X and table.sop == "SOP-B@2.1"
    assert (table.prescribed_rank, table.prescribed_cases) == (1, 3)
    pd.testing.assert_frame_equal(table.pareto(), frame[["rank", "share", "cumulative_share"]])


def test_top_keeps_the_most_frequent_and_shares_stay_of_all_cases(hand_home: Path) -> None:
    store = EventStore(hand_home)
    full = variants(store, business_type="P18").frame
    table = variants(store, business_type="P18", library=_library(W), top=2)
    assert table.cases == 8 and table.variant_count == 4
    assert table.frame["activities"].tolist() == [X, Y]
    pd.testing.assert_frame_equal(table.frame.drop(columns="prescribed"),
                                  full.head(2).drop(columns="prescribed"))
    # the SOP's variant was cut off: where it stands is still known
    assert not table.frame["prescribed"].any()
    assert (table.prescribed, table.prescribed_rank, table.prescribed_cases) == (W, 4, 1)
    data = json.loads(json.dumps(table.to_dict(), allow_nan=False))
    assert data["variants"][1] == {
        "rank": 2, "activities": list(Y), "length": 3, "cases": 2, "share": 0.25,
        "cumulative_share": 0.625, "median_dwell_seconds": 40.0,
        "p90_dwell_seconds": pytest.approx(48.0), "prescribed": False}
    assert (data["sop"], data["prescribed"], data["prescribed_rank"]) == ("SOP-B@2.1", list(W), 4)
    with pytest.raises(ProcmineError, match="at least 1"):
        variants(store, top=0)


def test_filters_types_and_a_sequence_no_case_follows(hand_home: Path) -> None:
    store = EventStore(hand_home)
    september = variants(store, business_type="P18", filters=Filters.for_month("2026-09"))
    assert dict(zip(september.frame["activities"], september.frame["cases"], strict=True)) == {
        X: 3, Y: 2, Z: 1, W: 1}
    b02 = variants(store, business_type="P18", filters=Filters(branches=("B02",)))
    assert b02.frame["activities"].tolist() == [Y] and b02.cases == 1
    # every type: the P17 case too; no SOP's variant without a type
    every = variants(store, library=_library(X))
    assert every.cases == 9 and every.sop is None and not every.frame["prescribed"].any()
    assert (CALL, SEE_OFF) in every.frame["activities"].tolist()
    unfollowed = variants(store, business_type="P18", library=_library((CALL, SEE_OFF)))
    assert unfollowed.prescribed == (CALL, SEE_OFF) and unfollowed.prescribed_rank is None
    assert unfollowed.prescribed_cases == 0
    assert prescribed_sequence(_library(X), "P17") is None
    nothing = variants(store, business_type="P99")
    assert nothing.cases == 0 and nothing.frame.empty


def test_the_command_fits_80_columns_and_prints_json(hand_home: Path) -> None:
    result = runner.invoke(app, ["variants", "--type", "P18", "--home", str(hand_home)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0] == "Variants of P18, all months: 8 cases, 4 variants"
    # no SOP library in this workspace: no mark, and a line says so
    assert lines[1].split() == ["rank", "cases", "share", "cumul.", "median", "dwell", "steps"]
    assert lines[2].split() == ["1", "3", "37.5%", "37.5%", "1m", "40s", "3"]
    assert lines[3].strip() == "Call number > Enter transaction > See off"
    assert lines[-1] == "The workspace has no SOP library yet: no variant is marked as the SOP's."
    result = runner.invoke(app, ["variants", "--type", "P18", "--month", "2026-10", "--branch",
                                 "B01", "--top", "1", "--json", "--home", str(hand_home)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["cases"], data["variant_count"]) == (1, 1)
    assert data["variants"][0]["activities"] == list(Z)
    result = runner.invoke(app, ["variants", "--type", "P99", "--home", str(hand_home)])
    assert isinstance(result.exception, ProcmineError)
    assert str(result.exception) == ("no cases of type P99 with these options; business types "
                                     "with data: P17, P18")


def test_the_text_says_where_the_sops_variant_stands(hand_home: Path) -> None:
    store = EventStore(hand_home)
    cut = variant_lines(variants(store, business_type="P18", library=_library(W), top=2),
                        "all months")
    assert cut[-2:] == ["The variant SOP-B@2.1 prescribes is rank 4 with 1 case:",
                        "      Call number > Count cash > Print voucher"]
    assert not any(" * " in line for line in cut)
    unfollowed = variant_lines(variants(store, business_type="P18",
                                        library=_library((CALL, SEE_OFF))), "all months")
    assert unfollowed[-2:] == ["No case follows the variant SOP-B@2.1 prescribes:",
                               "      Call number > See off"]
    ungoverned = variant_lines(variants(store, business_type="P17", library=_library(X)),
                               "all months")
    assert ungoverned[-1] == "No approved SOP in the workspace's library governs P17."
    # the steps break between steps to fit the width
    narrow = variant_lines(variants(store, business_type="P18", top=1), "all months",
                           width=30, has_library=False)
    assert narrow[-4:-1] == ["      Call number >", "      Enter transaction >",
                             "      See off"]


def test_spark_gives_the_same_variants(hand_home: Path) -> None:
    """The sequence order survives the translation (Spark's collect_list has none of its
    own): the same table, figure for figure, on Spark in local mode."""
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")
    store = EventStore(hand_home)
    duck = variants(store, business_type="P18", library=_library(X))
    engine = get_engine("spark", store)
    try:
        other = variants(store, business_type="P18", library=_library(X), engine=engine)
    finally:
        engine.close()
    assert other.frame["activities"].tolist() == [X, Y, Z, W]
    pd.testing.assert_frame_equal(other.frame, duck.frame)


# -- the demo workspace -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("variants-demo") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    return home


def _pandas_variants(store: EventStore, business_type: str) -> Counter[tuple[str, ...]]:
    """Each case's steps ordered by start (end without one), then end, then activity."""
    events = store.read_events(["case_id", "activity", "start_time", "end_time",
                                "business_type"]).to_pandas()
    events = events[events["business_type"] == business_type]
    events["started"] = events["start_time"].fillna(events["end_time"])
    events = events.sort_values(["case_id", "started", "end_time", "activity"])
    return Counter(tuple(steps) for steps in events.groupby("case_id")["activity"].agg(list))


def test_p18_on_the_demo_workspace_marks_the_sops_variant(demo_home: Path) -> None:
    store, library = EventStore(demo_home), SopLibrary.open(demo_home)
    table = variants(store, business_type="P18", library=library)
    counted = _pandas_variants(store, "P18")
    assert table.cases == sum(counted.values()) and table.variant_count == len(counted)
    top = counted.most_common(1)[0]
    assert (table.frame.loc[0, "activities"], table.frame.loc[0, "cases"]) == top
    assert dict(zip(table.frame["activities"], table.frame["cases"], strict=True)) == counted
    # the SOP's standard path, read from the approved SOP itself
    version = library.approved("SOP-P18")
    assert version is not None
    expected = tuple(s.activity for s in version.sop.steps
                     if not s.conditional and s.applies_to("P18"))
    assert table.sop == f"SOP-P18@{version.sop.version}" == "SOP-P18@3.0"
    assert table.prescribed == expected
    assert table.frame.loc[table.frame["prescribed"], "activities"].tolist() == [expected]
    # on the demo, most P18 cases follow the SOP: its variant is the most frequent
    assert table.prescribed_rank == 1 and table.prescribed_cases == counted[expected]
    # the large-withdrawal path carries the SOP's conditional steps, and is not the SOP's
    conditional = [s.activity for s in version.sop.steps if s.conditional]
    assert "Verify identity" in conditional
    assert any("Verify identity" in v for v in table.frame["activities"][1:5])

    result = runner.invoke(app, ["variants", "--type", "P18", "--top", "3", "--home",
                                 str(demo_home)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == "* = the variant SOP-P18@3.0 prescribes (its standard path)"
    assert lines[3].split()[:3] == ["1", "*", f"{counted[expected]:,}"]
    assert sum(line.split()[1:2] == ["*"] for line in lines) == 1


# -- the receipt log against pm4py --------------------------------------------------------------


@pytest.mark.real_logs
def test_receipt_variants_equal_pm4pys(real_logs: Path, tmp_path: Path) -> None:
    pm4py = pytest.importorskip("pm4py")
    log = pm4py.read_xes(str(real_logs / "receipt.xes"), show_progress_bar=False)
    theirs = pm4py.get_variants(log)
    store = EventStore(tmp_path / "ws")
    assert ingest_log(store, real_logs / "receipt.xes").loaded == len(log)
    table = variants(store)
    ours = dict(zip(table.frame["activities"], table.frame["cases"], strict=True))
    assert len(theirs) == 116 and table.cases == log["case:concept:name"].nunique() == 1434
    assert ours == {tuple(k): int(v) for k, v in theirs.items()}
