"""The error rates on the pages, raw and corrected side by side: the monthly announcement says
how the corrected rate was made (the month's prior weight, estimated from the data), and the
tellers page shows the teller's raw and corrected rates month by month."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest import app_as
from demo_kit import copy_demo_workspace

from procmine import (
    EventStore,
    error_prior,
    load_baseline,
    monthly_league,
    teller_error_rates,
)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-workspace")
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    return demo_home


def test_the_announcement_shows_raw_and_corrected_rates_and_the_prior(home: Path) -> None:
    at = app_as("operations", home).run()
    at.switch_page("procmine/dashboard/pages/announcement.py").run()
    assert not at.exception
    month = at.selectbox(key="period_pick").value
    league = monthly_league(EventStore(home), load_baseline(), month)
    prior = error_prior(league)
    shown = at.dataframe[0].value
    columns = list(shown.columns)
    assert columns.index("error_rate_shrunk") == columns.index("error_rate") + 1
    assert shown["error_rate"].tolist() == pytest.approx(league["error_rate"].tolist())
    # the demo's October: a prior weight in the thousands, estimated from the month
    assert month == "2026-10" and 1_000 < prior["prior_weight"] < 20_000
    caption = next(c.value for c in at.caption if "差错率" in c.value)
    assert f"M = {prior['prior_weight']:,.0f} 笔" in caption
    assert f"全行差错率 {prior['bank_error_rate']:.2%}" in caption
    assert f"保留自身差错率的 {prior['own_share']:.0%}" in caption


def test_the_tellers_page_shows_the_tellers_rates_by_month(home: Path) -> None:
    at = app_as("operations", home).run()
    at.switch_page("procmine/dashboard/pages/tellers.py").run()
    assert not at.exception
    teller = at.selectbox(key="tellers_pick").value
    store, baseline = EventStore(home), load_baseline()
    leagues = [monthly_league(store, baseline, m) for m in ("2026-10", "2026-09")]
    expected = teller_error_rates(leagues, teller)
    assert any(s.value == "差错率：原始与校正" for s in at.subheader)
    shown = at.dataframe[-1].value
    assert shown["month"].tolist() == ["2026-09", "2026-10"]
    assert shown["errors"].tolist() == expected["errors"].tolist()
    # percentages on the page: raw and corrected side by side, in per cent
    assert shown["error_rate"].tolist() == pytest.approx((expected["error_rate"] * 100).tolist())
    assert shown["error_rate_shrunk"].tolist() == pytest.approx(
        (expected["error_rate_shrunk"] * 100).tolist())
    october = expected.iloc[-1]
    assert october["error_rate_shrunk"] == pytest.approx(
        (october["errors"] + october["error_prior_strength"] * october["bank_error_rate"])
        / (october["transactions"] + october["error_prior_strength"]))


def test_the_readme_gives_the_demos_prior_weights(home: Path) -> None:
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text(
        encoding="utf-8").split())
    store, baseline = EventStore(home), load_baseline()
    september, october = (monthly_league(store, baseline, m) for m in ("2026-09", "2026-10"))
    weights = [error_prior(league)["prior_weight"] for league in (september, october)]
    assert f"put it at {weights[0]:,.0f} in September and {weights[1]:,.0f} in October" in readme
    ranges = " and ".join(
        f"{league['error_rate_shrunk'].min():.2%}"[:-1] + "–"
        + f"{league['error_rate_shrunk'].max():.2%}" for league in (september, october))
    assert f"corrected rates {ranges}" in readme
    share = error_prior(october)
    assert (f"the median {share['median_transactions']:.0f} transactions keeping "
            f"{share['own_share']:.0%} of the own rate in October") in readme


def test_the_exports_say_how_the_error_rates_were_corrected(home: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from procmine import column_labels, export_league_excel, export_league_html

    league = monthly_league(EventStore(home), load_baseline(), "2026-10")
    prior = error_prior(league)
    page = export_league_html(league, tmp_path / "league.html", "2026-10", "en").read_text(
        encoding="utf-8")
    assert f"M = {prior['prior_weight']:,.0f} transactions" in page
    assert f"keeps {prior['own_share']:.0%} of their own rate" in page
    labels = column_labels("en")
    assert page.index(labels["error_rate"]) < page.index(labels["error_rate_shrunk"])
    book = load_workbook(export_league_excel(league, tmp_path / "league.xlsx", lang="zh-CN"))
    texts = [str(c.value) for row in book.worksheets[0].iter_rows() for c in row if c.value]
    assert any(f"M = {prior['prior_weight']:,.0f} 笔" in text for text in texts)
    header = [c.value for c in book.worksheets[0][2]]
    assert header.index("差错率(校正)") == header.index("差错率(原始)") + 1
