"""The slow-steps page and the other consumers of findings with every kind of finding: a slow
step (with and without a slice), a wait before a step, a branch and a teller slow overall and a
standard to review, each with its explanation in both languages; the kind and scope filters;
a branch manager's view; the SOP step links, the training loop and the teller's own page.

The findings are built here (real :class:`procmine.Finding` objects of each kind) and given to
the page through its data seam (``procmine.dashboard.data.findings``); the evidence of the step
and wait findings comes from the demo workspace, whose tellers, types and steps they name."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from apptest import app_as, signed_in
from demo_kit import copy_demo_workspace
from findings_kit import made_finding
from streamlit.testing.v1 import AppTest

from procmine import (
    EventStore,
    Finding,
    SopLibrary,
    findings_by_step,
    load_baseline,
    scoped_findings,
    t,
    teller_loop,
)
from procmine.dashboard import data, session
from procmine.sop.links import step_linked

REPO = Path(__file__).resolve().parents[1]
PAGE = "procmine/dashboard/pages/bottlenecks.py"
ZH, EN = "zh-CN", "en"
BANK = load_baseline()
# the filters and the pick of the Chinese page (each language has its own widgets)
KINDS, SCOPES, PICK = "bn_kinds_zh-CN", "bn_scopes_zh-CN", "bn_pick_zh-CN"


_finding = made_finding


#: One finding of each kind, most time lost first (as the analysis orders them).
OVERALL_BRANCH = _finding(
    kind="overall", scope="branch", teller_id=None, branch_id="B02", business_type="",
    activity="", cases=5200, steps=41000, median_seconds=0.0, reference_seconds=0.0,
    ratio=1.6, ratio_ci=(1.5, 1.7), monthly_teller_hours=30.0, sop=None, sop_step=None,
    sop_version=None, peer_seconds=None, peer_basis="", tellers_flagged=("0201", "0203"),
    tellers_eligible=3,
    evidence={"groups": 40, "slower_share": 0.875,
              "costliest_steps": [
                  {"business_type": "P17", "activity": "Count cash", "steps": 900,
                   "median_seconds": 60.0, "peer_seconds": 40.0, "ratio": 1.5,
                   "time_lost_seconds": 36000.0},
                  {"business_type": "P18", "activity": "Enter transaction", "steps": 800,
                   "median_seconds": 55.0, "peer_seconds": 38.0, "ratio": 1.447,
                   "time_lost_seconds": 24000.0}],
              "teller_paces": {"0201": 1.7, "0202": 1.1, "0203": 1.6}})
CONDITIONAL = _finding(condition={"dimension": "hour_band", "value": "closing"},
                       cases=48, monthly_teller_hours=14.0)
WAIT = _finding(
    kind="wait", teller_id="0107", business_type="P17", activity="Supervisor authorization",
    median_seconds=150.0, reference_seconds=30.0, ratio=5.0, ratio_ci=(4.2, 5.8),
    monthly_teller_hours=11.0, sop="SOP-P17", sop_step="supervisor_authorization",
    sop_version="2.1", peer_seconds=30.0, branch_median_seconds=60.0,
    evidence={"waited_for": {"teller_id": "0199", "steps": 90, "note": "most often 0199"}})
OVERALL_TELLER = _finding(
    kind="overall", teller_id="0301", branch_id="B03", business_type="", activity="",
    ratio=1.3, ratio_ci=(1.2, 1.4), monthly_teller_hours=8.0, sop=None, sop_step=None,
    sop_version=None)
INFERRED = _finding(teller_id="0305", branch_id="B03", business_type="P17",
                    activity="Count cash", inferred=True, monthly_teller_hours=5.0,
                    sop="SOP-P17", sop_step="count_cash", sop_version="2.1")
BASELINE = _finding(
    kind="baseline", scope="type", teller_id=None, branch_id=None, business_type="P17",
    activity="", median_seconds=300.0, reference_seconds=150.0, ratio=2.0,
    ratio_ci=(1.9, 2.1), monthly_teller_hours=0.0, branch_median_seconds=None, sop=None,
    sop_step=None, sop_version=None, peer_seconds=None, peer_basis="", cases=20000,
    evidence={"review_group": "accounting-and-cash", "dwell_median_seconds": 420.0,
              "standard_seconds": 150.0, "ratio": 2.0, "cases": 20000,
              "branches": {"B01": {"median_seconds": 290.0, "cases": 3000},
                           "B02": {"median_seconds": 310.0, "cases": 3500},
                           "B03": {"median_seconds": 300.0, "cases": 3300}}})
FOUND = [OVERALL_BRANCH, CONDITIONAL, WAIT, OVERALL_TELLER, INFERRED, BASELINE]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("kinds-workspace")
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The demo workspace, its findings those of :data:`FOUND` (the page's data seam)."""
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    monkeypatch.setattr(data, "findings", lambda month, ratio, min_cases, q: list(FOUND))
    yield demo_home


#: the evidence's sections drawn once opened (the breakdowns, month by month), open
OPENED = {"bn_breakdowns_open": True, "bn_by_month_open": True}


def _page(role: str, home: Path, lang: str = ZH) -> Any:
    if lang == ZH:
        at = app_as(role, home)
        for key, value in OPENED.items():
            at.session_state[key] = value
        at.run()
        at.switch_page(PAGE).run()
    else:  # the page by its address, in the language the switch would have chosen
        at = AppTest.from_file(str(REPO / PAGE), default_timeout=60)
        at.session_state["procmine_user"] = signed_in(role, home)
        at.session_state[session._LANG] = lang
        for key, value in OPENED.items():
            at.session_state[key] = value
        at.run()
    assert not at.exception, at.exception
    return at


def _table(at: Any) -> pd.DataFrame:
    return at.dataframe[0].value


def _column(at: Any, key: str, lang: str = ZH) -> list[str]:
    return [str(v) for v in _table(at)[t(key, lang)]]


# -- the page --------------------------------------------------------------------------------------

#: The steps of these findings as the Chinese pages name them (their SOP steps' names).
STEPS_ZH = {"Enter transaction": "录入交易", "Supervisor authorization": "主管授权",
            "Count cash": "点钞"}


def _step(activity: str, lang: str) -> str:
    return STEPS_ZH[activity] if lang == ZH else activity


def _summary(f: Finding) -> str:
    """A finding's line on the Chinese page: its step by its Chinese name."""
    return f.summary_in(ZH, step=STEPS_ZH.get(f.activity))


def test_the_evidences_breakdowns_and_months_are_drawn_once_opened(home: Path) -> None:
    """The Slow steps page is a landing page: a step finding's evidence opens on its figures,
    its distribution and its comparison; the breakdowns (hour, amount band, window type) and the
    months are drawn when their sections open, and stay open for the next finding."""
    at = app_as("reviewer", home).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    step = next(i for i, f in enumerate(FOUND) if f.kind == "step")
    at.selectbox(key=f"bn_pick_{ZH}").set_value(step).run()
    assert [e.label for e in at.expander][-2:] == [t("bottlenecks.breakdowns", ZH),
                                                   t("bottlenecks.by_month", ZH)]
    assert len(at.get("plotly_chart")) == 1   # the distribution
    compared = t("bottlenecks.compared", ZH)
    assert any(compared in m.value for m in at.markdown)
    at.session_state["bn_breakdowns_open"] = True
    at.run()
    assert len(at.get("plotly_chart")) == 4
    assert [m.value for m in at.markdown if m.value.startswith("**按")] == [
        f"**{t(k, ZH)}**" for k in ("bottlenecks.by_hour", "bottlenecks.by_amount",
                                    "bottlenecks.by_window")]
    at.session_state["bn_by_month_open"] = True
    at.run()
    assert len(at.get("plotly_chart")) == 5
    wait = next(i for i, f in enumerate(FOUND) if f.kind == "wait")
    at.selectbox(key=f"bn_pick_{ZH}").set_value(wait).run()
    assert len(at.get("plotly_chart")) == 4   # no distribution for a wait; both still open


@pytest.mark.parametrize("lang", [ZH, EN])
def test_each_kind_shows_with_its_explanation(home: Path, lang: str) -> None:
    at = _page("operations", home, lang)
    assert _column(at, "bottlenecks.kind", lang) == [
        t(f"bottlenecks.kind.{f.kind}", lang) for f in FOUND]
    what = _column(at, "bottlenecks.what", lang)
    assert what[1] == "P18 · " + _step("Enter transaction", lang) + " · " + t(
        "bottlenecks.condition.hour_band.closing", lang)
    assert what[0] == t("bottlenecks.every_type", lang) + " · " + t("bottlenecks.every_step",
                                                                      lang)
    assert what[2] == "P17 · " + _step("Supervisor authorization", lang)
    assert what[5] == "P17"
    assert _column(at, "bottlenecks.ratio_ci", lang)[2] == "5.00 (4.20–5.80)"
    assert _column(at, "bottlenecks.inferred", lang) == ["", "", "", "", "✓", ""]
    assert _column(at, "bottlenecks.who", lang)[5] == t("bottlenecks.scope_type", lang)
    # the SOP step is the last column: step and wait findings name theirs
    assert list(_table(at).iloc[:, -1]) == [
        "", "SOP-P18 3.0 #enter_transaction", "SOP-P17 2.1 #supervisor_authorization", "",
        "SOP-P17 2.1 #count_cash", ""]
    charts = {"step": 5, "wait": 4, "overall": 0, "baseline": 0}
    for i, finding in enumerate(FOUND):
        at.selectbox(key=f"bn_pick_{lang}").set_value(i).run()
        assert not at.exception, at.exception
        assert at.subheader[0].value.replace("\\", "") == (
            _summary(finding) if lang == ZH else finding.summary_in(lang))
        boxes = " ".join(box.value for box in at.info)
        assert t(f"bottlenecks.explain.{finding.kind}", lang) in boxes
        assert t(f"bottlenecks.action.{finding.kind}", lang) in boxes
        assert len(at.get("plotly_chart")) == charts[finding.kind]
        captions = " ".join(c.value for c in at.caption)
        assert (t("bottlenecks.no_step_evidence", lang) in captions) == (
            finding.kind in ("overall", "baseline") and not finding.evidence)
        if finding.business_type:  # the type by its name (the table has its code)
            code = finding.business_type
            assert f"{code} {BANK[code].name(lang)}" in captions
        if finding.condition:
            assert t("bottlenecks.condition_only", lang, condition=finding.condition_in(
                lang)) in captions.replace("\\", "")
        warnings = [w.value for w in at.warning]
        assert warnings == ([t("bottlenecks.inferred_note", lang)] if finding.inferred else [])
        period = next(m for m in at.metric if m.label == t("bottlenecks.period_metric", lang))
        assert period.value == t("bottlenecks.period_days", lang, days="61")
        ratio = at.metric[0]
        assert ratio.value == t("bottlenecks.ratio_value", lang, value=f"{finding.ratio:.2f}")
        assert ratio.proto.delta == t("bottlenecks.ratio_interval", lang,
                                      low=f"{finding.ratio_ci[0]:.2f}",
                                      high=f"{finding.ratio_ci[1]:.2f}")
    # the peer reference of a step finding, and how it was formed
    at.selectbox(key=f"bn_pick_{lang}").set_value(1).run()
    peer = next(m for m in at.metric if m.label == t("bottlenecks.peer_metric", lang))
    assert peer.value == t("bottlenecks.seconds_value", lang, value="39")
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert t("bottlenecks.peer_line", lang, peer="39",
             basis="median of the other branches' medians") in captions
    # a wait shows the waits and who was waited for
    at.selectbox(key=f"bn_pick_{lang}").set_value(2).run()
    waits = {m.label: m.value for m in at.metric}
    assert waits[t("bottlenecks.group_wait", lang)] == t("bottlenecks.seconds_value", lang,
                                                         value="150")
    assert waits[t("bottlenecks.waited_for", lang)] == "0199"
    assert t("bottlenecks.waited_for_steps", lang, teller="0199", steps="90",
             waits=f"{WAIT.steps:,}") in [c.value for c in at.caption]
    # a baseline review shows the standard it questions
    at.selectbox(key=f"bn_pick_{lang}").set_value(5).run()
    standard = next(m for m in at.metric if m.label == t("bottlenecks.standard_metric", lang))
    assert standard.value == t("bottlenecks.seconds_value", lang, value="150")


def test_the_kind_and_scope_filters_filter(home: Path) -> None:
    at = _page("operations", home)
    kinds = at.multiselect(key=KINDS)
    assert kinds.value == ["step", "wait", "overall", "baseline"]
    assert kinds.options == ["慢环节", "环节前等待", "整体偏慢", "标准时间待核"]
    # the explanations name each kind with its number of findings
    help_lines = [m.value for m in at.expander[0].markdown]
    assert help_lines[0].startswith(f"**{t('bottlenecks.option_count', ZH, label='慢环节', n=2)}")
    assert help_lines[2].startswith(f"**{t('bottlenecks.option_count', ZH, label='整体偏慢', n=2)}")
    kinds.set_value(["wait"]).run()
    assert _column(at, "bottlenecks.kind") == ["环节前等待"]
    assert at.selectbox(key=PICK).options == [f"1. {_summary(WAIT)}"]
    at.multiselect(key=KINDS).set_value(["overall", "baseline"]).run()
    assert _column(at, "bottlenecks.kind") == ["整体偏慢", "整体偏慢", "标准时间待核"]
    # the caption counts what is shown, the hours of all but the standard to check
    hours = OVERALL_BRANCH.monthly_teller_hours + OVERALL_TELLER.monthly_teller_hours
    assert t("bottlenecks.caption_kinds", ZH, n=3, hours=f"{hours:.1f}") in [
        c.value for c in at.caption]
    at.multiselect(key=SCOPES).set_value(["branch", "type"]).run()
    assert _column(at, "bottlenecks.kind") == ["整体偏慢", "标准时间待核"]
    assert _column(at, "bottlenecks.who") == ["B02", t("bottlenecks.scope_type", ZH)]
    at.multiselect(key=KINDS).set_value(["wait"]).run()
    assert not at.exception
    assert [i.value for i in at.info] == [t("bottlenecks.filtered_none", ZH)]
    assert len(at.dataframe) == 0


def test_a_language_switch_keeps_the_filters_and_the_finding(home: Path) -> None:
    at = _page("operations", home)
    at.multiselect(key=KINDS).set_value(["step", "overall"]).run()
    at.selectbox(key=PICK).set_value(2).run()
    assert at.subheader[0].value.replace("\\", "") == OVERALL_TELLER.summary_in(ZH)
    at.radio(key="lang_switch").set_value(EN).run()
    assert not at.exception, at.exception
    kinds = at.multiselect(key="bn_kinds_en")
    assert kinds.value == ["step", "overall"]
    assert kinds.options == ["Slow step", "Wait", "Slow overall", "Standard check"]
    assert _column(at, "bottlenecks.kind", EN) == [
        "Slow overall", "Slow step", "Slow overall", "Slow step"]
    assert at.selectbox(key="bn_pick_en").value == 2
    assert at.subheader[0].value.replace("\\", "") == OVERALL_TELLER.summary_in(EN)


def test_a_branch_manager_sees_their_branch_and_the_bank_wide_review_only(home: Path) -> None:
    at = _page("branch_manager", home)
    who = _column(at, "bottlenecks.who")
    assert who == ["0102 (B01)", "0107 (B01)", t("bottlenecks.scope_type", ZH)]
    assert not [w for w in who if "B02" in w or "B03" in w or w.startswith("03")]
    options = at.selectbox(key=PICK).options
    assert [o.split(". ", 1)[1] for o in options] == [
        _summary(f) for f in (CONDITIONAL, WAIT, BASELINE)]
    captions = [c.value for c in at.caption]
    elsewhere = [OVERALL_BRANCH, OVERALL_TELLER, INFERRED]
    hours = sum(f.monthly_teller_hours for f in elsewhere)
    assert t("scope.findings_elsewhere", ZH, branch="B01", n=3, hours=f"{hours:.1f}") in captions
    assert t("bottlenecks.bank_wide_note", ZH) in captions
    # the explanations count the findings the manager may see only
    assert at.expander[0].markdown[2].value.startswith(
        f"**{t('bottlenecks.option_count', ZH, label='整体偏慢', n=0)}")


def test_overall_and_baseline_findings_show_their_own_evidence(home: Path) -> None:
    at = _page("operations", home)
    at.selectbox(key=PICK).set_value(0).run()  # branch B02 slow overall
    assert t("bottlenecks.overall_share", ZH, groups="40", share="88%") in [
        c.value for c in at.caption]
    costliest, paces = (d.value for d in at.dataframe[1:3])
    assert list(costliest[t("bottlenecks.what", ZH)]) == ["P17 · 点钞", "P18 · 录入交易"]
    months = OVERALL_BRANCH.months
    assert list(costliest[t("bottlenecks.hours_short", ZH)]) == [
        round(36000 / 3600 / months, 1), round(24000 / 3600 / months, 1)]
    assert list(paces[t("table.teller_id", ZH)]) == ["0201", "0202", "0203"]
    assert list(paces[t("bottlenecks.flagged", ZH)]) == ["✓", "", "✓"]
    at.selectbox(key=PICK).set_value(5).run()  # the standard of P17 to check
    captions = [c.value for c in at.caption]
    assert t("bottlenecks.review_group_line", ZH, group="会计与现金组") in captions
    assert t("bottlenecks.dwell_line", ZH, dwell="420") in captions
    branches = at.dataframe[1].value
    assert list(branches[t("bottlenecks.branch", ZH)]) == ["B01", "B02", "B03", "全行"]
    assert list(branches[t("table.ratio", ZH)]) == [1.93, 2.07, 2.0, 2.0]
    # a branch manager sees their branch's row and the bank's
    manager = _page("branch_manager", home)
    manager.selectbox(key=PICK).set_value(2).run()
    assert not manager.exception
    rows = manager.dataframe[1].value
    assert list(rows[t("bottlenecks.branch", ZH)]) == ["B01", "全行"]


def test_operations_get_no_bank_wide_note(home: Path) -> None:
    at = _page("operations", home)
    assert t("bottlenecks.bank_wide_note", ZH) not in [c.value for c in at.caption]


# -- the other consumers ---------------------------------------------------------------------------


def test_scoped_findings_keep_the_bank_wide_review_for_every_branch(home: Path) -> None:
    manager = signed_in("branch_manager", home)
    assert scoped_findings(manager, FOUND) == [CONDITIONAL, WAIT, BASELINE]
    # a branch finding without a branch is not bank-wide: only a type-scope one is
    odd = dataclasses.replace(OVERALL_BRANCH, branch_id=None)
    assert scoped_findings(manager, [odd]) == []


def test_only_step_and_wait_findings_link_to_an_sop_step(home: Path) -> None:
    assert [step_linked(f) for f in FOUND] == [False, True, True, False, True, False]
    library = SopLibrary.open(home)
    sop = library.approved("SOP-P17")
    assert sop is not None
    # an overall finding that (wrongly) names an SOP step is still not linked to it
    stray = dataclasses.replace(OVERALL_TELLER, sop="SOP-P17", sop_step="count_cash")
    table = findings_by_step([*FOUND, stray], sop.sop).set_index("step_id")
    assert table.loc["supervisor_authorization", "findings"] == 1
    assert table.loc["supervisor_authorization", "tellers"] == "0107"
    assert table.loc["count_cash", "findings"] == 1
    assert table.loc["count_cash", "monthly_teller_hours"] == 5.0
    assert table["findings"].sum() == 2


def test_a_wait_links_to_the_step_of_the_latest_approved_sop(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine.sop import links

    unlinked = dataclasses.replace(WAIT, sop=None, sop_step=None, sop_version=None)
    nowhere = dataclasses.replace(unlinked, activity="A step no SOP has")
    monkeypatch.setattr(links, "find_bottlenecks",
                        lambda *args, **kwargs: [CONDITIONAL, unlinked, nowhere, BASELINE])
    found = links.linked_findings(EventStore(home), load_baseline(), SopLibrary.open(home))
    assert found[0] == CONDITIONAL and found[2] == nowhere and found[3] == BASELINE
    assert (found[1].sop, found[1].sop_step, found[1].sop_version) == (
        "SOP-P17", "supervisor_authorization", "2.1")


def test_the_training_loop_takes_a_tellers_own_step_findings_only(
        home: Path, own_app_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine.training import loop

    mine = [CONDITIONAL,
            dataclasses.replace(WAIT, teller_id="0102"),
            dataclasses.replace(OVERALL_TELLER, teller_id="0102", branch_id="B01"),
            dataclasses.replace(OVERALL_BRANCH, branch_id="B01"),
            BASELINE]
    monkeypatch.setattr(loop, "linked_findings", lambda *args, **kwargs: mine)
    table = teller_loop("0102", store=EventStore(home), baseline=load_baseline(),
                        library=SopLibrary.open(home), home=home)
    slow = table[table["slow_ratio"].notna()]
    assert list(zip(slow["sop_id"], slow["step_id"], slow["slow_ratio"],
                    slow["monthly_hours"], strict=True)) == [
        ("SOP-P18", "enter_transaction", 2.5, 14.0)]


def test_the_training_loop_takes_the_findings_it_is_given(
        home: Path, own_app_db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the findings (the dashboard's kept ones), the loop does not mine again and gives
    the table it gives when it mines them itself."""
    from procmine.training import loop

    mine = [CONDITIONAL, dataclasses.replace(WAIT, teller_id="0102"), BASELINE]
    monkeypatch.setattr(loop, "linked_findings", lambda *args, **kwargs: mine)
    kwargs: dict[str, Any] = {"store": EventStore(home), "baseline": load_baseline(),
                              "library": SopLibrary.open(home), "home": home}
    mined = teller_loop("0102", **kwargs)

    def refuse(*args: object, **kw: object) -> list[Finding]:
        raise AssertionError("mined again")

    monkeypatch.setattr(loop, "linked_findings", refuse)
    given = teller_loop("0102", findings=mine, **kwargs)
    pd.testing.assert_frame_equal(given, mined)
    assert list(given.loc[given["slow_ratio"].notna(), "step_id"]) == ["enter_transaction"]
    none = teller_loop("0102", findings=[BASELINE], **kwargs)
    assert none["slow_ratio"].isna().all()


def test_a_tellers_page_names_the_kind_of_each_of_their_findings(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = [dataclasses.replace(CONDITIONAL, teller_id="0101"),
           dataclasses.replace(OVERALL_TELLER, teller_id="0101", branch_id="B01")]
    monkeypatch.setattr(data, "teller_findings", lambda teller_id: own)
    at = app_as("teller", home).run()
    at.switch_page("procmine/dashboard/pages/my_figures.py").run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if t("my_figures.kind", ZH) in d.value.columns)
    assert list(table[t("my_figures.kind", ZH)]) == ["慢环节", "整体偏慢"]
    what = list(table[t("bottlenecks.what", ZH)])
    assert what[0].endswith("录入交易 · 15:00 以后")
    assert what[1] == "所有业务 · 所有环节"
