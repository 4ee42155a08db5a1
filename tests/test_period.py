"""One period control (issue 17): every page with period figures opens on the latest month
with data, names it in its caption, and keeps the month chosen on one page on the next; the
Business types and Tellers pages open on the type and the teller that lost the most hours."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest import app_as
from demo_kit import copy_demo_workspace

from procmine import (
    EventStore,
    Filters,
    business_type_summary,
    filter_options,
    load_baseline,
    months_with_data,
    t,
    teller_summary,
)

PAGES = "procmine/dashboard/pages/"
ZH = "zh-CN"
WITH_PERIOD = {
    "operations": ["overview.py", "bottlenecks.py", "business_types.py", "process_map.py",
                   "variants.py", "conformance.py", "tellers.py", "announcement.py",
                   "matrix.py"],
    "teller": ["my_figures.py", "matrix.py"],
}


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-workspace")
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    return demo_home


def _caption(month: str | None, latest: str, lang: str = ZH) -> str:
    """The caption naming ``month`` (None: the whole period), as the catalogue words it."""
    if month is None:
        return t("period.caption", lang, period=t("period.whole", lang))
    year, number = (int(p) for p in month.split("-"))
    name = t("period.month", lang, year=year, month=t(f"period.m{number}", lang))
    if month == latest:
        name = t("period.latest", lang, month=name)
    return t("period.caption", lang, period=name)


def _latest(home: Path) -> str:
    return months_with_data(EventStore(home))[-1]


def test_the_month_labels_name_the_month_and_mark_the_latest() -> None:
    assert _caption("2026-03", "2026-03") == "期间：2026年3月 (最新)"
    assert _caption("2026-03", "2026-03", "en") == "Period: March 2026 (latest)"
    assert _caption("2026-02", "2026-03", "en") == "Period: February 2026"
    assert _caption(None, "2026-03") == "期间：全部期间"


@pytest.mark.parametrize("role", sorted(WITH_PERIOD))
def test_every_page_with_a_period_opens_on_the_latest_month_and_says_so(
        home: Path, role: str) -> None:
    latest = _latest(home)
    at = app_as(role, home).run()
    for script in WITH_PERIOD[role]:
        at.switch_page(PAGES + script).run()
        assert not at.exception, (script, at.exception)
        assert at.selectbox(key="period_pick").value == latest, script
        captions = [c.value for c in at.caption]
        assert _caption(latest, latest) in captions, (script, captions)


@pytest.mark.parametrize("script", ["queue.py", "staffing.py", "diversion.py"])
def test_the_queue_pages_open_on_the_days_of_the_shared_month(home: Path, script: str) -> None:
    months = months_with_data(EventStore(home))
    latest, earlier = months[-1], months[-2]
    at = app_as("branch_manager", home).run()
    at.switch_page(PAGES + script).run()
    assert not at.exception
    first, last = at.date_input(key=f"{script[:-3]}_period").value
    start, end = Filters.for_month(latest).start, Filters.for_month(latest).end
    assert start is not None and end is not None
    assert (first, last) == (start, min(end, last)) and first.month == last.month
    assert _caption(latest, latest) in [c.value for c in at.caption]
    # a month chosen on another page: the days of that month here
    at.switch_page(PAGES + "bottlenecks.py").run()
    at.selectbox(key="period_pick").select(earlier).run()
    at.switch_page(PAGES + script).run()
    assert not at.exception
    first, last = at.date_input(key=f"{script[:-3]}_period").value
    assert f"{first:%Y-%m}" == f"{last:%Y-%m}" == earlier
    assert _caption(earlier, latest) in [c.value for c in at.caption]


def test_a_month_chosen_on_one_page_is_the_month_of_the_next(home: Path) -> None:
    months = months_with_data(EventStore(home))
    latest, earlier = months[-1], months[-2]
    at = app_as("operations", home).run()
    at.switch_page(PAGES + "bottlenecks.py").run()
    at.selectbox(key="period_pick").select(earlier).run()
    assert not at.exception
    for script in ("overview.py", "announcement.py", "process_map.py", "matrix.py"):
        at.switch_page(PAGES + script).run()
        assert not at.exception, script
        assert at.selectbox(key="period_pick").value == earlier, script
        assert _caption(earlier, latest) in [c.value for c in at.caption], script
    # the whole period chosen on the overview; the league, of one month, shows the latest
    at.switch_page(PAGES + "overview.py").run()
    at.selectbox(key="period_pick").select("whole").run()
    assert _caption(None, latest) in [c.value for c in at.caption]
    at.switch_page(PAGES + "announcement.py").run()
    assert at.selectbox(key="period_pick").value == latest
    at.switch_page(PAGES + "matrix.py").run()
    assert at.selectbox(key="period_pick").value == "whole"


def test_business_types_open_on_the_type_that_lost_the_most_hours(home: Path) -> None:
    store, baseline = EventStore(home), load_baseline()
    summary = business_type_summary(store, baseline, Filters.for_month(_latest(home)))
    summary = summary[summary["business_type"].isin(filter_options(store)["business_type"])]
    expected = summary.sort_values(["hours_lost", "business_type"],
                                   ascending=[False, True])["business_type"].iloc[0]
    assert summary["hours_lost"].max() > summary["hours_lost"].min()
    at = app_as("operations", home).run()
    at.switch_page(PAGES + "business_types.py").run()
    assert not at.exception
    assert at.selectbox(key="types_code").value == expected
    # one type picker: the sidebar leaves the type to the page
    assert not [m for m in at.multiselect if m.key == "types_filters_types"]


def _most_hours_lost(home: Path, tellers: list[str] | None = None) -> str:
    frame = teller_summary(EventStore(home), load_baseline(), Filters.for_month(_latest(home)))
    if tellers is not None:
        frame = frame[frame["teller_id"].isin(tellers)]
    lost = frame.assign(lost=frame["actual_hours"] - frame["standard_hours"])
    return str(lost.sort_values(["lost", "teller_id"], ascending=[False, True])
               ["teller_id"].iloc[0])


@pytest.mark.parametrize("role", ["operations", "branch_manager"])
def test_tellers_open_on_the_teller_who_lost_the_most_hours(home: Path, role: str) -> None:
    at = app_as(role, home).run()
    at.switch_page(PAGES + "tellers.py").run()
    assert not at.exception
    pick = at.selectbox(key="tellers_pick")
    expected = _most_hours_lost(home, list(pick.options))
    assert pick.value == expected
    assert at.query_params["teller"] == expected
    if role == "operations":
        assert expected == _most_hours_lost(home) and expected != pick.options[0]
