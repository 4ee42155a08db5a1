"""The Conformance page (流程符合性) through AppTest, on the demo workspace with three skipped
control steps added (tests/conformance_kit.py): the headline figures are the library's
(:func:`procmine.conformance`), the findings are listed with "act on this", the ranked
deviations and the fitness are drawn, "control steps only" lists exactly the skipped control
steps (and downloads them), a transaction is shown beside its SOP; a branch manager sees only
their branch's tellers and findings; a teller does not open the page. And once in a real
browser: ``ops`` opens the page and an improvement item on a finding through its form."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptest import app_as, signed_in
from conformance_kit import SKIPPED, build_skipped_workspace
from streamlit.testing.v1 import AppTest

from procmine import (
    EventStore,
    Filters,
    SopLibrary,
    conformance,
    deviation_findings,
    get_user,
    list_improvements,
    months_with_data,
    t,
)

REPO = Path(__file__).resolve().parents[1]
PAGE = "procmine/dashboard/pages/conformance.py"
ZH = "zh-CN"


def zh(key: str, **fmt: object) -> str:
    return t(key, ZH, **fmt)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("conformance-page") / "workspace"
    return build_skipped_workspace(tmp_path_factory, home)


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    yield demo_home


def _page(role: str, home: Path, **state: Any) -> AppTest:
    at = app_as(role, home, timeout=120)
    # over the whole period, as the library's figures compared with (pages open on the
    # latest month: tests/test_period.py)
    for key, value in {"period_month": "whole", **state}.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _traces(at: AppTest, index: int) -> dict[str, dict[str, Any]]:
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    return {str(trace["meta"]): trace for trace in spec["data"] if trace.get("meta")}


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _findings(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**") and ".** " in m.value]


def test_operations_see_the_librarys_figures_findings_and_charts(home: Path) -> None:
    store, library = EventStore(home), SopLibrary.open(home)
    at = _page("operations", home)
    assert at.selectbox(key="conf_type").value == ""     # every type
    report = conformance(store, library)
    metrics = _metrics(at)
    assert metrics[zh("conformance.checked")] == f"{report.cases:,}"
    assert metrics[zh("conformance.conforming")] == f"{report.conformance_rate:.1%}"
    assert metrics[zh("conformance.mean_fitness")] == f"{report.fitness:.3f}"
    assert metrics[zh("conformance.control_risk_cases")] == str(
        report.control_risks()["case_id"].nunique())
    assert metrics[zh("conformance.unchecked")] == f"{report.unchecked:,}"
    # the findings, in their order, in Chinese, each with its act button
    found = deviation_findings(report)
    shown = _findings(at)
    assert len(shown) == min(len(found), 10)
    mark = ":red[:material/warning:] " if found[0].control_risk else ""
    assert shown[0] == f"**1.** {mark}" + found[0].summary_in(ZH)
    recount = next(f for f in found if "SKIP-0103-1" in f.case_ids)
    assert recount.control_risk and "双人复点" in recount.summary_in(ZH)
    assert [b.label for b in at.button].count(zh("act.button")) == len(shown)
    # the ranked deviations: a bar trace per kind; the bars are the most frequent ones
    ranked = report.ranked()
    bars = _traces(at, 0)
    assert set(bars) <= {"skipped", "extra", "rework", "order"} and "rework" in bars
    drawn = sum(sum(trace["y"]) for trace in bars.values())
    assert drawn == int(ranked["occurrences"].head(15).sum())
    top = ranked.iloc[0]   # named by the SOP's Chinese step name
    name = report.models[(top["sop"], top["business_type"])].step_name(top["activity"], ZH)
    assert name != top["activity"]
    assert bars[top["kind"]]["x"][0].startswith(f"{name} · {zh('conformance.kind.' + top['kind'])}")
    table = at.dataframe[0].value
    assert len(table) == len(ranked) and list(table["occurrences"]) == list(ranked["occurrences"])
    # the fitness per teller, lowest first, against the bank's line
    fitness = _traces(at, 1)["fitness"]
    tellers = report.level("teller")
    assert len(fitness["x"]) == len(tellers)
    assert fitness["y"] == sorted(fitness["y"])
    assert fitness["y"][0] == pytest.approx(float(tellers["fitness"].min()))
    spec = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert spec["layout"]["shapes"][0]["y0"] == pytest.approx(report.fitness)
    at.radio(key="conf_level").set_value("branch").run()
    assert len(_traces(at, 1)["fitness"]["x"]) == 6


def test_control_steps_only_lists_them_and_downloads_them(home: Path) -> None:
    store, library = EventStore(home), SopLibrary.open(home)
    report = conformance(store, library)
    at = _page("operations", home, conf_controls_only=True, conf_case="SKIP-0103-1")
    table = at.dataframe[0].value
    risks = report.control_risks()
    assert list(table["case_id"]) == list(risks["case_id"])
    assert list(table["teller_id"]) == list(risks["teller_id"])
    assert list(table["day"]) == [str(d)[:10] for d in risks["day"]]
    added = table[table["case_id"].isin(list(SKIPPED))]
    assert list(added["case_id"]) == list(SKIPPED)
    assert list(added["day"]) == [v[2] for v in SKIPPED.values()]
    assert set(added["step"]) == {"双人复点"} and set(added["sop"]) == {"SOP-P18@3.0"}
    risky = [f for f in deviation_findings(report) if f.control_risk]
    assert len(_findings(at)) == min(len(risky), 10) and not at.get("plotly_chart")
    assert at.get("download_button")[0].proto.label == zh("conformance.controls_csv")
    # the drill-down: the transaction's steps beside its SOP's, the recount skipped
    assert at.selectbox(key="conf_case").value == "SKIP-0103-1"
    events, steps = at.dataframe[1].value, at.dataframe[2].value
    assert len(events) == 15 and set(events["verdict"]) == {zh("conformance.verdict.matched")}
    verdicts = dict(zip(steps["step"], steps["verdict"], strict=True))
    assert verdicts["双人复点"] == zh("conformance.verdict.skipped")
    assert verdicts["身份核验"] == zh("conformance.verdict.done")
    assert verdicts["冲正"] == zh("conformance.verdict.not_required")
    # act on a finding: the register's form opens with the compliance group first
    at.button(key="conf_act_1_button").click().run()
    assert not at.exception
    assert zh("improve.form.open") in [e.label for e in at.expander]
    assert at.selectbox(key="conf_act_1_group").value == "compliance-and-control"


def test_a_rework_transaction_beside_its_sop(home: Path) -> None:
    store, library = EventStore(home), SopLibrary.open(home)
    report = conformance(store, library, business_type="P18")
    row = report.deviations[report.deviations["kind"] == "rework"].iloc[0]
    at = _page("reviewer", home, conf_type="P18", conf_case=str(row["case_id"]))
    events = at.dataframe[-2].value
    position = int(row["position"])
    assert events["verdict"].iloc[position] == zh("conformance.verdict.rework")
    assert (events["verdict"] == zh("conformance.verdict.rework")).sum() == 1


def test_a_branch_manager_sees_only_their_branchs_tellers(home: Path) -> None:
    store, library = EventStore(home), SopLibrary.open(home)
    at = _page("branch_manager", home)
    assert at.selectbox(key="conf_branch").options == ["B01"]
    assert at.selectbox(key="conf_teller").options[1:] == [f"010{i}" for i in range(1, 9)]
    mine = conformance(store, library, filters=Filters(branches=("B01",)))
    assert _metrics(at)[zh("conformance.checked")] == f"{mine.cases:,}"
    assert _metrics(at)[zh("conformance.control_risk_cases")] == str(
        mine.control_risks()["case_id"].nunique())
    shown = _findings(at)
    theirs = [f for f in deviation_findings(conformance(store, library))
              if f.scope == "teller" and f.branch_id == "B01"]   # judged against every peer
    assert len(shown) == min(len(theirs), 10) and theirs[0].summary_in(ZH) in shown[0]
    assert any("SKIP-0103-1" in f.case_ids for f in theirs)
    assert shown and all("B01" in s for s in shown)
    assert not [s for s in shown if "0205" in s or "B02" in s]
    fitness = _traces(at, 1)["fitness"]
    assert fitness["x"] and all(x.endswith("(B01)") for x in fitness["x"])
    ranked = at.dataframe[0].value
    assert int(ranked["occurrences"].sum()) == len(mine.deviations)
    at.toggle(key="conf_controls_only").set_value(True).run()
    assert not at.exception
    cases = list(at.dataframe[0].value["case_id"])
    assert cases == list(mine.control_risks()["case_id"])
    assert {"SKIP-0103-1", "SKIP-0103-2"} <= set(cases) and "SKIP-0205-1" not in cases


def test_a_teller_cannot_open_it(home: Path) -> None:
    at = AppTest.from_file(str(REPO / PAGE), default_timeout=60)
    at.session_state["procmine_user"] = signed_in("teller", home)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [zh("auth.not_allowed", role=zh("roles.teller"))]
    assert not at.get("plotly_chart") and not at.dataframe


def test_the_page_in_english(home: Path) -> None:
    at = AppTest.from_file(str(REPO / PAGE), default_timeout=120)
    at.session_state["procmine_user"] = signed_in("operations", home)
    at.session_state["procmine_lang"] = "en"
    at.session_state["period_month"] = "whole"
    at.run()
    assert not at.exception, at.exception
    assert [x.value for x in at.title] == ["Conformance"]
    found = deviation_findings(conformance(EventStore(home), SopLibrary.open(home)))
    assert found[0].summary_in("en") in _findings(at)[0]
    assert set(at.dataframe[0].value["kind_name"]) <= {
        "Skipped step", "Extra step", "Rework", "Out of order"}


# -- in a browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_home(demo_home: Path) -> Path:
    return demo_home


@pytest.mark.browser
def test_in_a_browser_ops_acts_on_a_finding(server: str, browser: Any, server_home: Path
                                            ) -> None:
    from browser_kit import ARTIFACTS, heading, sign_in, wait_quiet

    home = server_home
    ops = get_user("ops", home)
    assert ops is not None
    before = {i.id for i in list_improvements(user=ops, home=home)}
    store = EventStore(home)   # the page opens on the latest month
    latest = Filters.for_month(months_with_data(store)[-1])
    finding = deviation_findings(conformance(store, SopLibrary.open(home), filters=latest))[0]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        sign_in(page, server, "ops")
        heading(page, "overview.title")
        page.get_by_role("link", name=zh("nav.conformance"), exact=True).first.click()
        heading(page, "conformance.title")
        page.get_by_text(finding.summary_in(ZH)).wait_for(timeout=90_000)
        page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=60_000)
        wait_quiet(page)
        page.get_by_role("button", name=zh("act.button")).first.click()
        change = page.get_by_label(zh("improve.form.proposed_change"))
        change.wait_for(timeout=60_000)
        change.fill("大额取款付款前必须完成双人复点，系统增加复点授权校验")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "conformance-act.png"), full_page=True)
        page.get_by_role("button", name=zh("improve.form.submit"), exact=True).click()
        heading(page, "improve.item.title")
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()
    (item,) = [i for i in list_improvements(user=ops, home=home) if i.id not in before]
    assert (item.subject.source, item.subject.key) == ("conformance", finding.key())
    assert item.review_group == finding.review_group
    assert item.subject.figures["case_ids"] == list(finding.case_ids)
    assert item.subject.figures["kind"] == "deviation"


def test_the_controls_download_names_the_step_in_chinese_and_keeps_the_log_name(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.elements.widgets import button

    downloads: dict[str, bytes] = {}
    original = button.marshall_file

    def keep(coordinates: str, data: Any, *args: Any, **kwargs: Any) -> Any:
        """The file a download button offers, kept (AppTest cannot click one)."""
        downloads[str(kwargs.get("file_name", args[2] if len(args) > 2 else ""))] = data
        return original(coordinates, data, *args, **kwargs)

    monkeypatch.setattr(button, "marshall_file", keep)
    _page("operations", home, conf_controls_only=True)
    text = downloads["control-steps-skipped.csv"].decode("utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][-2:] == [zh("conformance.col.step"), zh("names.log_name")]
    added = [row for row in rows[1:] if row[0] in SKIPPED]
    assert len(added) == len(SKIPPED)
    assert {(row[-2], row[-1]) for row in added} == {("双人复点", "Second-person recount")}
