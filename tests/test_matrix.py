"""The teller x business type matrix: its cells against an independent pandas computation on a
generated demo store, too-few cells, the branch and month filters, the Excel workbook (one sheet
per branch, opened with openpyxl), ``procmine matrix`` (JSON, 80 columns, Excel), Spark parity,
and the dashboard page for operations, a branch manager and a teller."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from apptest import app_as, deferred_downloads, signed_in
from demo_kit import copy_demo_workspace
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from procmine import (
    MATRIX_COLUMNS,
    MIN_MATRIX_CASES,
    Baseline,
    Engine,
    EventStore,
    ProcmineError,
    SopLibrary,
    assign_paper,
    build_paper,
    export_matrix_excel,
    get_engine,
    matrix_grid,
    matrix_records,
    start_attempt,
    submit_attempt,
    t,
    teller_roster,
    teller_type_matrix,
)
from procmine.analysis.matrix import type_order
from procmine.cli.main import app
from procmine.reports.matrix import TOO_FEW_FILL, ratio_band

runner = CliRunner()


# -- the independent computation -------------------------------------------------------------------


def _mode(events: pd.DataFrame, column: str) -> pd.Series:
    """Per case the most frequent value of ``column``, the smallest among ties."""
    counts = events.groupby(["case_id", column]).size().rename("n").reset_index()
    counts = counts.sort_values(["case_id", "n", column], ascending=[True, False, True])
    return counts.drop_duplicates("case_id").set_index("case_id")[column]


def _expected(store: EventStore, baseline: Baseline, month: str | None = None,
              branch: str | None = None, min_cases: int = 5) -> pd.DataFrame:
    """The matrix by pandas from the store's raw events."""
    events = store.read_events(["case_id", "teller_id", "branch_id", "business_type",
                                "start_time", "end_time"]).to_pandas()
    events["begin"] = events["start_time"].fillna(events["end_time"])
    cases = pd.DataFrame({c: _mode(events, c) for c in ("teller_id", "branch_id",
                                                          "business_type")})
    by_case = events.groupby("case_id")
    cases["started"] = by_case["begin"].min()
    cases["dwell"] = (by_case["end_time"].max() - cases["started"]).dt.total_seconds()
    cases = cases.dropna(subset=["teller_id", "business_type"])
    if month is not None:
        cases = cases[cases["started"].dt.strftime("%Y-%m") == month]
    if branch is not None:
        cases = cases[cases["branch_id"] == branch]
    cells = (cases.groupby(["teller_id", "branch_id", "business_type"])["dwell"]
             .agg(cases="size", median_seconds="median").reset_index())
    standards = {b.code: float(b.standard_seconds) for b in baseline}
    cells["standard_seconds"] = cells["business_type"].map(standards).astype(float)
    cells["enough"] = cells["cases"] >= min_cases
    cells.loc[~cells["enough"], "median_seconds"] = np.nan
    cells["ratio"] = cells["median_seconds"] / cells["standard_seconds"]
    cells["cases"] = cells["cases"].astype("int64")
    for column in ("teller_id", "branch_id", "business_type"):
        cells[column] = cells[column].astype(object)
    cells = cells.sort_values(["branch_id", "teller_id", "business_type"])
    return cells[list(MATRIX_COLUMNS)].reset_index(drop=True)


@pytest.fixture(scope="module")
def demo(league_demo: tuple[EventStore, list[str]]) -> tuple[EventStore, str]:
    """The shared generated demo store and its last month."""
    store, months = league_demo
    return store, months[-1]


def test_the_cells_are_the_independent_computation(demo: tuple[EventStore, str],
                                                   baseline: Baseline) -> None:
    store, month = demo
    cells = teller_type_matrix(store, baseline, month=month)
    expected = _expected(store, baseline, month)
    assert len(cells) > 300 and cells["enough"].sum() > 100
    pd.testing.assert_frame_equal(cells, expected, check_exact=False, rtol=1e-9)
    whole = teller_type_matrix(store, baseline)
    pd.testing.assert_frame_equal(whole, _expected(store, baseline), check_exact=False,
                                  rtol=1e-9)
    # every ratio is the median over the type's standard from the baseline
    enough = cells[cells["enough"]]
    assert (enough["standard_seconds"] == enough["business_type"].map(
        lambda c: float(baseline[c].standard_seconds))).all()
    assert np.allclose(enough["ratio"], enough["median_seconds"] / enough["standard_seconds"])


def test_a_cell_with_too_few_transactions_keeps_its_count_only(demo: tuple[EventStore, str],
                                                               baseline: Baseline) -> None:
    store, month = demo
    cells = teller_type_matrix(store, baseline, month=month, min_cases=8)
    few = cells[~cells["enough"]]
    assert len(few) > 20 and (few["cases"] < 8).all() and (few["cases"] >= 1).all()
    assert few["median_seconds"].isna().all() and few["ratio"].isna().all()
    assert few["standard_seconds"].notna().all()
    assert (cells.loc[cells["enough"], "cases"] >= 8).all()
    assert cells.loc[cells["enough"], "median_seconds"].notna().all()
    # the minimum changes which cells show figures, never the counts
    everything = teller_type_matrix(store, baseline, month=month, min_cases=1)
    assert everything["enough"].all() and everything["median_seconds"].notna().all()
    assert everything["cases"].tolist() == cells["cases"].tolist()
    pd.testing.assert_frame_equal(cells, _expected(store, baseline, month, min_cases=8),
                                  check_exact=False, rtol=1e-9)
    records = [r for r in matrix_records(cells) if not r["enough"]]
    assert records[0]["median_seconds"] is None and records[0]["ratio"] is None
    assert isinstance(records[0]["cases"], int)
    for wrong in (0, -1, True):
        with pytest.raises(ProcmineError, match="minimum of transactions in a cell"):
            teller_type_matrix(store, baseline, min_cases=wrong)


def test_the_branch_and_month_filters(league_demo: tuple[EventStore, list[str]],
                                      baseline: Baseline) -> None:
    store, months = league_demo
    assert len(months) == 2
    first, last = (teller_type_matrix(store, baseline, month=m, min_cases=1) for m in months)
    whole = teller_type_matrix(store, baseline, min_cases=1)
    keys = ["teller_id", "branch_id", "business_type"]
    # a transaction belongs to one month: the months' counts add up to the whole period's
    summed = pd.concat([first, last]).groupby(keys)["cases"].sum()
    assert summed.to_dict() == whole.set_index(keys)["cases"].to_dict()
    b02 = teller_type_matrix(store, baseline, branch="B02", month=months[-1], min_cases=1)
    assert set(b02["branch_id"]) == {"B02"}
    pd.testing.assert_frame_equal(b02, last[last["branch_id"] == "B02"].reset_index(drop=True))
    pd.testing.assert_frame_equal(
        teller_type_matrix(store, baseline, branch="B02", month=months[-1]),
        _expected(store, baseline, months[-1], branch="B02"), check_exact=False, rtol=1e-9)
    one = teller_type_matrix(store, baseline, teller=str(b02["teller_id"].iloc[0]),
                             month=months[-1], min_cases=1)
    assert set(one["teller_id"]) == {b02["teller_id"].iloc[0]}
    assert teller_type_matrix(store, baseline, branch="B99").empty
    assert teller_type_matrix(store, baseline, month="2020-01").empty
    with pytest.raises(ProcmineError, match="is not a month"):
        teller_type_matrix(store, baseline, month="2026-13")


def test_the_grid_holds_tellers_by_types_with_data(demo: tuple[EventStore, str],
                                                   baseline: Baseline) -> None:
    store, month = demo
    cells = teller_type_matrix(store, baseline, branch="B03", month=month)
    medians, enough = matrix_grid(cells), matrix_grid(cells, "enough")
    assert list(medians.columns) == sorted(cells["business_type"].unique())
    ordered = matrix_grid(cells, order=baseline.codes)
    assert list(ordered.columns) == [c for c in baseline.codes if c in set(medians.columns)]
    assert len(medians) == cells["teller_id"].nunique()
    assert medians.notna().sum().sum() == cells["enough"].sum()
    assert (enough == False).sum().sum() == (~cells["enough"]).sum()  # noqa: E712
    row = cells[cells["enough"]].iloc[0]
    assert medians.loc[(row["teller_id"], "B03"), row["business_type"]] == row["median_seconds"]
    with pytest.raises(ValueError, match="not a figure"):
        matrix_grid(cells, "teller_id")


# -- Excel ----------------------------------------------------------------------------------------


def test_the_workbook_has_one_sheet_per_branch(demo: tuple[EventStore, str],
                                               baseline: Baseline, tmp_path: Path) -> None:
    store, month = demo
    cells = teller_type_matrix(store, baseline, month=month)
    path = export_matrix_excel(cells, tmp_path / "m.xlsx", baseline, period=month)
    book = load_workbook(path)
    assert book.sheetnames == sorted(cells["branch_id"].unique())
    for branch in ("B01", "B04"):
        sheet = book[branch]
        rows = cells[cells["branch_id"] == branch]
        types = type_order(rows["business_type"], baseline.codes)
        assert types[0].startswith("P") and types[-1].startswith("C")
        tellers = sorted(rows["teller_id"].unique())
        assert month in sheet["A1"].value and branch in sheet["A1"].value
        assert [c.value for c in sheet[2]][1:len(types) + 1] == types
        assert sheet["A4"].value == t("matrix.standard", "zh-CN")
        assert [c.value for c in sheet[4]][1:len(types) + 1] == [
            float(baseline[c].standard_seconds) for c in types]
        assert [sheet.cell(row=5 + i, column=1).value for i in range(len(tellers))] == tellers
        assert sheet.cell(row=3, column=2).value == baseline[types[0]].name("zh-CN")
        for cell in rows.itertuples(index=False):
            value = sheet.cell(row=5 + tellers.index(cell.teller_id),
                               column=2 + types.index(cell.business_type))
            if cell.enough:
                assert value.value == round(cell.median_seconds)
                colour = ratio_band(cell.ratio)[0]
                assert (value.fill.fgColor.rgb[-6:] if colour else value.fill.fill_type) == \
                    (colour or None)
            else:
                assert value.value == t("matrix.too_few_cell", "zh-CN", cases=cell.cases)
                assert value.fill.fgColor.rgb[-6:] == TOO_FEW_FILL
        # a teller who never did a type leaves the cell empty
        did = set(zip(rows["teller_id"], rows["business_type"], strict=True))
        empty = [(tl, ty) for tl in tellers for ty in types if (tl, ty) not in did]
        assert empty and all(sheet.cell(row=5 + tellers.index(tl),
                                        column=2 + types.index(ty)).value is None
                             for tl, ty in empty)
        legend = [sheet.cell(row=r, column=1).value for r in range(6 + len(tellers),
                                                                   14 + len(tellers))]
        assert t("matrix.legend_too_few", "zh-CN", min=5) in legend
        assert t("matrix.legend_very_slow", "zh-CN") in legend


def test_the_workbook_in_english_and_without_cells(demo: tuple[EventStore, str],
                                                   baseline: Baseline, tmp_path: Path) -> None:
    store, month = demo
    cells = teller_type_matrix(store, baseline, branch="B05", month=month, min_cases=3)
    sheet = load_workbook(export_matrix_excel(cells, tmp_path / "en.xlsx", baseline,
                                              lang="en"))["B05"]
    assert sheet["A1"].value.startswith("Whole period")
    assert sheet["A2"].value == "Teller"
    texts = {c.value for row in sheet.iter_rows(min_row=5) for c in row
             if isinstance(c.value, str)}
    assert any(v.startswith("too few (") for v in texts)
    assert "Grey \"too few\": fewer than 3 transactions, the count only" in texts
    none = teller_type_matrix(store, baseline, branch="B99")
    book = load_workbook(export_matrix_excel(none, tmp_path / "none.xlsx", lang="en"))
    assert book.sheetnames == [t("matrix.title", "en")]


# -- the command line ------------------------------------------------------------------------------


def test_procmine_matrix_json_gives_the_cells(demo: tuple[EventStore, str],
                                              baseline: Baseline, tmp_path: Path) -> None:
    store, month = demo
    result = runner.invoke(app, ["matrix", "--home", str(store.home), "--month", month,
                                 "--branch", "B02", "--min-cases", "6", "--json",
                                 "--excel", str(tmp_path / "b02.xlsx")])
    assert result.exit_code == 0, result.output
    cells = json.loads(result.stdout)
    expected = matrix_records(teller_type_matrix(store, baseline, branch="B02", month=month,
                                                 min_cases=6))
    assert cells == expected and len(cells) > 20
    assert {c["branch_id"] for c in cells} == {"B02"}
    assert any(c["median_seconds"] is None and not c["enough"] for c in cells)
    assert load_workbook(tmp_path / "b02.xlsx").sheetnames == ["B02"]


def test_procmine_matrix_fits_80_columns(demo: tuple[EventStore, str], baseline: Baseline,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    store, month = demo
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["matrix", "--home", str(store.home), "--month", month])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if line.startswith("│ ")]
    cells = teller_type_matrix(store, baseline, month=month)
    assert len(rows) == len(cells)
    few = cells[~cells["enough"]].iloc[0]
    line = next(r for r in rows if f"│ {few['teller_id']}" in r
                and f"│ {few['business_type']} " in r)
    assert "too few" in line and f"│ {few['cases']:>5} │" in line
    fine = cells[cells["enough"]].iloc[0]
    line = next(r for r in rows if f"│ {fine['teller_id']}" in r
                and f"│ {fine['business_type']} " in r)
    assert f"{fine['ratio']:.2f}x" in line and f"{fine['median_seconds']:,.0f}" in line


def test_procmine_matrix_names_the_data_for_an_empty_request(
        demo: tuple[EventStore, str]) -> None:
    store, month = demo
    result = runner.invoke(app, ["matrix", "--home", str(store.home), "--branch", "B99",
                                 "--month", month])
    assert isinstance(result.exception, ProcmineError)
    assert "no teller transactions for branch B99" in str(result.exception)
    assert "branches with data: B01, B02" in str(result.exception)


# -- Spark -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark(demo: tuple[EventStore, str]) -> Iterator[Engine]:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java for Spark (JAVA_HOME unset, no java on PATH)")
    engine = get_engine("spark", demo[0])
    yield engine
    engine.close()


def test_the_matrix_is_the_same_on_spark(demo: tuple[EventStore, str], baseline: Baseline,
                                         spark: Engine) -> None:
    store, month = demo
    for kwargs in ({"month": month}, {"branch": "B03"}, {}):
        duck = teller_type_matrix(store, baseline, **kwargs)  # type: ignore[arg-type]
        other = teller_type_matrix(store, baseline, engine=spark,
                                   **kwargs)  # type: ignore[arg-type]
        assert len(duck) > 50
        pd.testing.assert_frame_equal(duck, other, check_exact=False, rtol=1e-9)


# -- the dashboard page ----------------------------------------------------------------------------

PAGE = "procmine/dashboard/pages/matrix.py"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def page_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("matrix-workspace")
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture
def home(page_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(page_home))
    return page_home


def _heatmap(at: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The page's figure: the grey trace of too-few cells and the ratio trace."""
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    grey, ratio = figure["data"]
    return grey, ratio


def _open(role: str, home: Path) -> Any:
    at = app_as(role, home).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.error
    assert [x.value for x in at.title] == [t("matrix.title", "zh-CN")]
    return at


def test_operations_see_every_branch_on_the_heat_map(home: Path, baseline: Baseline) -> None:
    at = _open("operations", home)
    store = EventStore(home)
    assert at.selectbox(key="matrix_branch").options == [t("filters.all", "zh-CN"),
                                                          "B01", "B02", "B03", "B04", "B05",
                                                          "B06"]
    month = at.selectbox(key="period_pick").value
    assert month == "2026-10"
    cells = teller_type_matrix(store, baseline, month=month)
    grey, ratio = _heatmap(at)
    tellers = sorted(set(zip(cells["teller_id"], cells["branch_id"], strict=True)),
                     key=lambda k: (k[0], k[1]))
    assert ratio["y"] == [f"{teller} · {branch}" for teller, branch in tellers]
    assert ratio["x"] == type_order(cells["business_type"], baseline.codes)
    # each cell's colour is its ratio; the grey trace marks exactly the too-few cells
    first = cells[cells["teller_id"] == tellers[0][0]].set_index("business_type")
    for j, code in enumerate(ratio["x"]):
        z, flag = ratio["z"][0][j], grey["z"][0][j]
        if code not in first.index:
            assert z is None and flag is None
        elif first.loc[code, "enough"]:
            assert z == pytest.approx(first.loc[code, "ratio"]) and flag is None
            assert f"{first.loc[code, 'median_seconds']:,.0f}" in ratio["customdata"][0][j]
        else:
            assert z is None and flag == 1.0
            assert t("matrix.too_few", "zh-CN") in grey["customdata"][0][j]
    assert sum(v == 1.0 for row in grey["z"] for v in row) == int((~cells["enough"]).sum())
    assert len(at.get("download_button")) == 1
    # a branch and a month narrow the map; a minimum of 1 leaves no grey cell
    at.selectbox(key="matrix_branch").select("B02").run()
    at.selectbox(key="period_pick").select("2026-09").run()
    at.number_input(key="matrix_min_cases").set_value(1).run()
    assert not at.exception
    grey, ratio = _heatmap(at)
    b02 = teller_type_matrix(store, baseline, branch="B02", month="2026-09", min_cases=1)
    assert ratio["y"] == sorted(b02["teller_id"].unique())
    assert all(v is None for row in grey["z"] for v in row)
    assert sum(v is not None for row in ratio["z"] for v in row) == len(b02)


def test_the_workbook_is_made_when_its_button_is_pressed(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's runs do not write the workbook; the button's function does, with what the
    page shows (every branch, the month chosen, the minimum, the language)."""
    from procmine.dashboard import data

    made: list[tuple[Any, ...]] = []
    export = data.matrix_export
    monkeypatch.setattr(data, "matrix_export",
                        lambda *args: made.append(args) or export(*args))
    pressed = deferred_downloads(monkeypatch)
    at = _open("operations", home)
    month = at.selectbox(key="period_pick").value
    assert made == [] and list(pressed) == [f"matrix-{month or 'all'}.xlsx"]
    book = load_workbook(io.BytesIO(pressed[f"matrix-{month or 'all'}.xlsx"]()))
    assert made == [(None, month, None, MIN_MATRIX_CASES, "zh-CN")]
    cells = data.matrix(None, month, None, MIN_MATRIX_CASES)
    assert book.sheetnames == sorted(cells["branch_id"].unique())


def test_a_branch_manager_sees_their_branch_and_a_teller_their_row(home: Path,
                                                                   baseline: Baseline) -> None:
    at = _open("branch_manager", home)
    assert at.selectbox(key="matrix_branch").options == ["B01"]
    _, ratio = _heatmap(at)
    assert ratio["y"] == [f"010{i}" for i in range(1, 9)]
    at = _open("teller", home)
    assert not at.selectbox or "matrix_branch" not in [s.key for s in at.selectbox]
    _, ratio = _heatmap(at)
    assert ratio["y"] == ["0101"]
    mine = teller_type_matrix(EventStore(home), baseline, teller="0101", month="2026-10")
    assert ratio["x"] == type_order(mine["business_type"], baseline.codes)
    assert t("matrix.own_row", "zh-CN") in [c.value for c in at.caption]


@pytest.mark.parametrize("role", ["reviewer", "trainer"])
def test_reviewers_and_trainers_are_refused_the_page(role: str, home: Path) -> None:
    at = AppTest.from_file(str(REPO / PAGE), default_timeout=60)
    at.session_state["procmine_user"] = signed_in(role, home)
    at.run()
    assert [e.value for e in at.error] == [
        t("auth.not_allowed", "zh-CN", role=t(f"roles.{role}", "zh-CN"))]
    assert not at.get("plotly_chart")


def test_the_page_is_closed_to_a_teller_during_an_open_paper(home: Path) -> None:
    trainer, teller = signed_in("trainer", home), signed_in("teller", home)
    paper = build_paper(title="matrix closed book", user=trainer, sops=("SOP-P17",), count=2,
                        time_limit_minutes=30, shuffle=False, seed=3,
                        library=SopLibrary.open(home), home=home)
    assign_paper(paper.id, user=trainer, roster=teller_roster(EventStore(home), home=home),
                 tellers=("0101",), home=home)
    view = start_attempt(paper.id, user=teller, home=home)
    try:
        at = app_as("teller", home).run()
        at.switch_page(PAGE).run()
        assert [e.value for e in at.error] == [t("closed_book.refused", "zh-CN")]
        assert not at.get("plotly_chart") and not at.get("download_button")
    finally:
        submit_attempt(view.id, user=teller, home=home)
