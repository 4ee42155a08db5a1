"""Dashboard pages through AppTest: each page renders for the roles allowed to open it, refuses
the others (on the server), sign-in and sign-out work, and the language switches."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from apptest import app_as, deferred_downloads, signed_in
from streamlit.testing.v1 import AppTest

from procmine import (
    AMOUNT_BANDS,
    DEMO_PASSWORD,
    ROLES,
    EventStore,
    Finding,
    SopLibrary,
    activity_names,
    authenticate,
    build_demo_workspace,
    explain_finding,
    t,
)
from procmine.dashboard.registry import PAGES, PageSpec

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TITLES = {"overview.py": "概览", "announcement.py": "月度通报", "upload.py": "上传",
          "my_figures.py": "我的指标", "bottlenecks.py": "慢步骤",
          "business_types.py": "业务类型", "tellers.py": "柜员",
          "baseline.py": "业务时间基准", "sop_library.py": "操作规程库",
          "sop_editor.py": "规程编辑", "sop_review.py": "规程审批", "sop_history.py": "规程历史",
          "audit.py": "审计日志", "question_bank.py": "题库", "papers.py": "试卷",
          "training_results.py": "培训结果", "spot_checks.py": "抽查", "my_sops.py": "SOP 阅读",
          "take_paper.py": "参加考试", "my_review.py": "复习", "queue.py": "排队",
          "staffing.py": "柜台排班", "diversion.py": "自助分流",
          "matrix.py": "柜员×业务类型", "improvements.py": "整改台账",
          "improvement_item.py": "整改事项", "process_map.py": "流程图",
          "variants.py": "流程变体", "conformance.py": "流程符合性"}


def _zh(home: Path, activity: str) -> str:
    """A step's name as the Chinese pages show it (the SOP's, else the glossary's)."""
    return activity_names(SopLibrary.open(home)).name(activity, "zh-CN")


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-workspace")
    report = build_demo_workspace(home)
    assert report is not None and report.loaded > 100_000
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    return demo_home


def page_cases() -> list[tuple[PageSpec, str]]:
    return [(page, role) for page in PAGES for role in ROLES]


@pytest.mark.parametrize(("page", "role"), page_cases(),
                         ids=[f"{p.script}-{r}" for p, r in page_cases()])
def test_each_page_opens_for_its_roles_and_refuses_the_others(page: PageSpec, role: str,
                                                               home: Path) -> None:
    if role in page.roles:
        at = app_as(role, home).run()
        at.switch_page(str(page.path.relative_to(REPO))).run()
        assert not at.exception, at.exception
        assert any(TITLES[page.script] in t.value for t in at.title)
        assert not at.error
    else:
        # Opened directly (as a URL would), the page itself refuses: the check is server-side.
        at = AppTest.from_file(str(page.path), default_timeout=60)
        at.session_state["procmine_user"] = signed_in(role, home)
        at.run()
        assert not at.exception
        expected = t("auth.not_allowed", "zh-CN", role=t(f"roles.{role}", "zh-CN"))
        assert [e.value for e in at.error] == [expected]
        assert not at.title and not at.metric and not at.dataframe


def test_navigation_shows_only_the_pages_of_the_role(home: Path) -> None:
    for role in ROLES:
        at = app_as(role, home).run()
        assert not at.exception
        first = next(p for p in PAGES if role in p.roles)
        assert any(TITLES[first.script] in t.value for t in at.title)


def test_sign_in_with_the_demo_user_lands_on_the_overview(home: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    at.text_input(key="sign_in_username").input("ops")
    at.text_input(key="sign_in_password").input(DEMO_PASSWORD)
    at.button[0].click().run()   # the form's submit button
    assert not at.exception
    assert at.session_state["procmine_user"].username == "ops"
    assert [ti.value for ti in at.title] == [t("overview.title", "zh-CN")]
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics[t("overview.transactions", "zh-CN")].replace(",", "")) > 1000


def test_a_wrong_password_is_refused(home: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="sign_in_username").input("ops")
    at.text_input(key="sign_in_password").input("not-the-password")
    at.button[0].click().run()
    assert "procmine_user" not in at.session_state
    assert at.error


def test_sign_out(home: Path) -> None:
    at = app_as("operations", home).run()
    at.button(key="sign_out").click().run()
    assert "procmine_user" not in at.session_state
    assert at.text_input(key="sign_in_username")


def test_language_switch_to_english(home: Path) -> None:
    at = app_as("operations", home).run()
    at.radio(key="lang_switch").set_value("en").run()
    assert not at.exception
    assert any(t.value == "Overview" for t in at.title)


def test_overview_figures_match_the_store(home: Path) -> None:
    at = app_as("operations", home)
    at.session_state["period_month"] = "whole"
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    info = EventStore(home).info()
    assert metrics[t("overview.events", "zh-CN")] == f"{info.events:,}"
    assert metrics[t("overview.transactions", "zh-CN")] == f"{info.cases:,}"
    assert metrics[t("overview.tellers", "zh-CN")] == "48"
    assert metrics[t("overview.branches", "zh-CN")] == "6"
    assert metrics[t("overview.business_types", "zh-CN")] == "58"
    assert len(at.get("plotly_chart")) == 1  # actual vs standard (no quarantine in the demo)


def test_overview_on_an_empty_workspace_says_so(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine import seed_demo_users

    monkeypatch.setenv("PROCMINE_HOME", str(tmp_path))
    seed_demo_users(tmp_path)
    at = app_as("operations", tmp_path).run()
    assert not at.exception
    assert [i.value for i in at.info] == [t("overview.empty_store", "zh-CN")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_streamlit_serves_the_dashboard(demo_home: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PROCMINE_HOME": str(demo_home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", APP, "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        health = ""
        while time.monotonic() < deadline and health != "ok":
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=2) as r:
                    health = r.read().decode()
            except OSError:
                time.sleep(0.5)
        assert health == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_announcements_files_are_made_when_their_buttons_are_pressed(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's runs write no file; each button's function writes its own, of the month
    shown, in the page's language."""
    import io

    from openpyxl import load_workbook

    from procmine.dashboard import data

    made: list[tuple[str, str, str]] = []
    export = data.league_export
    monkeypatch.setattr(data, "league_export",
                        lambda *args: made.append(args) or export(*args))
    pressed = deferred_downloads(monkeypatch)
    at = app_as("operations", home).run()
    at.switch_page("procmine/dashboard/pages/announcement.py").run()
    assert not at.exception
    month = at.selectbox(key="period_pick").value
    assert made == [] and sorted(pressed) == [f"league-{month}.html", f"league-{month}.xlsx"]
    book = load_workbook(io.BytesIO(pressed[f"league-{month}.xlsx"]()))
    page = pressed[f"league-{month}.html"]().decode("utf-8")
    assert made == [(month, "zh-CN", "xlsx"), (month, "zh-CN", "html")]
    tellers = list(at.dataframe[0].value["teller_id"])
    assert len(tellers) == 48 and all(str(teller) in page for teller in tellers)
    cells = [str(c.value) for row in book.active.iter_rows() for c in row]
    assert all(str(teller) in cells for teller in tellers)


def test_announcement_lists_every_teller_of_the_month_with_downloads(home: Path) -> None:
    from procmine import load_baseline, monthly_league

    at = app_as("operations", home).run()
    at.switch_page("procmine/dashboard/pages/announcement.py").run()
    assert not at.exception
    month = at.selectbox(key="period_pick").value
    expected = monthly_league(EventStore(home), load_baseline(), month)
    shown = at.dataframe[0].value
    assert len(shown) == len(expected) == 48
    assert list(shown["teller_id"]) == list(expected["teller_id"])
    # the month's spot checks per teller beside the league (the demo has a dozen in October)
    from procmine import spot_check_summary

    checks = spot_check_summary(month, home=home).set_index("teller_id")
    assert month == "2026-10" and int(shown["spot_checks"].sum()) == int(checks["checks"].sum())
    by_teller = shown.set_index("teller_id")
    for teller, row in checks.iterrows():
        assert by_teller.loc[teller, ["spot_checks", "spot_checks_passed"]].tolist() == [
            row["checks"], row["passed"]]
    assert len(at.get("download_button")) == 2
    # the chart: every teller's ranked index, by branch, and the raw one, best on top
    import json

    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    ranked = {y: x for trace in figure["data"] if trace.get("name", "").startswith("排名依据")
              for x, y in zip(trace["x"], trace["y"], strict=True)}
    assert len(ranked) == 48
    for row in expected.itertuples():
        assert ranked[f"{row.teller_id} ({row.branch_id})"] == pytest.approx(
            row.speed_index_shrunk)
    raw = next(trace for trace in figure["data"] if trace.get("name") == "原始速度指数")
    assert raw["y"][-1] == f"{expected['teller_id'].iloc[0]} ({expected['branch_id'].iloc[0]})"
    assert figure["layout"]["yaxis"]["categoryarray"][-1] == raw["y"][-1]


def test_bottlenecks_page_lists_the_findings_and_draws_the_evidence(home: Path) -> None:
    from procmine import SopLibrary, linked_findings, load_baseline, months_with_data

    at = app_as("operations", home)
    at.session_state["bn_breakdowns_open"] = at.session_state["bn_by_month_open"] = True
    at.run()
    at.switch_page("procmine/dashboard/pages/bottlenecks.py").run()
    assert not at.exception
    # the page judges steps against the SOPs in force (the library is seeded on first use),
    # in the latest month (the period every page opens on)
    store = EventStore(home)
    latest = months_with_data(store)[-1]
    expected = linked_findings(store, load_baseline(), SopLibrary.open(home), month=latest)
    table = at.dataframe[0].value
    assert len(table) == len(expected) > 0
    sop_column = table.columns[-1]
    assert list(table[sop_column]) == [f"{f.sop} {f.sop_version} #{f.sop_step}" if f.sop else ""
                                       for f in expected]
    # the finding's line in Chinese, and in English the library's own summary
    first = expected[0]
    assert at.subheader[0].value.startswith(
        f"柜员 {first.teller_id}（{first.branch_id}）" if first.scope == "teller"
        else f"网点 {first.branch_id}")
    assert f"{first.business_type} {_zh(home, first.activity)}：中位用时 " \
        f"{first.median_seconds:,.0f} 秒" in at.subheader[0].value
    # distribution, by hour, by amount band, by window type, by month
    assert len(at.get("plotly_chart")) == 5
    first_evidence = explain_finding(EventStore(home), expected[0], latest)
    _assert_compared(at, expected[0], first_evidence)
    # window types in the user's language
    import json

    windows = json.loads(at.get("plotly_chart")[3].proto.spec)["data"][0]["x"]
    names = {"regular": "普通窗口", "vip": "贵宾窗口", "corporate": "对公窗口"}
    assert windows == [names[row["value"]] for row in first_evidence["by_window_type"]]
    bands = json.loads(at.get("plotly_chart")[2].proto.spec)["data"][0]["x"]
    assert bands == [t(f"amount_bands.{AMOUNT_BANDS.index(row['value'])}", "zh-CN")
                     for row in first_evidence["by_amount_band"]]
    assert all("万" in band or band == "无金额" for band in bands)
    at.selectbox(key="bn_pick_zh-CN").set_value(len(expected) - 1).run()
    assert f"{expected[-1].business_type} {_zh(home, expected[-1].activity)}：" in \
        at.subheader[0].value
    # a branch finding names its tellers at the step, the slow ones marked
    branch = next(i for i, f in enumerate(expected) if f.scope == "branch")
    at.selectbox(key="bn_pick_zh-CN").set_value(branch).run()
    assert not at.exception
    evidence = explain_finding(EventStore(home), expected[branch], latest)
    _assert_compared(at, expected[branch], evidence)
    tellers = at.dataframe[2].value
    assert list(tellers.iloc[:, 0]) == [row["teller_id"] for row in evidence["tellers"]]
    assert len(tellers) >= 2
    assert (tellers.iloc[:, 3] == "✓").sum() == len(expected[branch].tellers_flagged)
    at.radio(key="lang_switch").set_value("en").run()
    assert not at.exception
    assert at.subheader[0].value == expected[branch].summary


def _assert_compared(at: AppTest, finding: Finding, evidence: dict[str, Any]) -> None:
    """The comparison table of the drill-down shows the finding's evidence, level by level."""
    table = at.dataframe[1].value
    levels = ["group", "bank"] if finding.scope == "branch" else ["group", "branch", "bank"]
    assert len(table.columns) == 1 + len(levels)
    for column, level in zip(table.columns[1:], levels, strict=True):
        median = evidence["comparison"][f"{level}_median_seconds"]
        wait = evidence["wait_before"][f"{level}_median_seconds"]
        rate = evidence["rework"][f"{level}_rate"]
        assert list(table[column]) == [
            "" if median is None else f"{median:.0f}", "" if wait is None else f"{wait:.0f}",
            "" if rate is None else f"{rate:.1%}"]
    assert evidence["comparison"]["group_median_seconds"] == pytest.approx(
        finding.median_seconds, abs=1e-3)


def test_the_bundled_demo_findings_are_the_injected_slow_steps(home: Path) -> None:
    import json

    from procmine import find_bottlenecks, finding_distribution, load_baseline

    truth = json.loads((REPO / "event_logs" / "demo_truth.json").read_text(encoding="utf-8"))
    injected = {(s["scope"], s["teller_id"], s["branch_id"], s["business_type"], s["activity"])
                for s in truth["slow_steps"]}
    store = EventStore(home)
    found = find_bottlenecks(store, load_baseline())
    assert {(f.scope, f.teller_id, f.branch_id, f.business_type, f.activity)
            for f in found} == injected
    spread = finding_distribution(store, found[0])
    group = spread[spread["level"] == "group"]["service_seconds"]
    assert len(group) == found[0].steps
    assert group.median() == pytest.approx(found[0].median_seconds, abs=1e-3)


def test_business_type_and_teller_pages_show_the_library_figures(home: Path) -> None:
    from procmine import load_baseline, teller_profile, type_steps

    at = app_as("operations", home)
    at.session_state["period_month"] = "whole"   # one period for every page
    at.run()
    at.switch_page("procmine/dashboard/pages/business_types.py").run()
    assert not at.exception
    code = at.selectbox(key="types_code").value
    assert len(at.dataframe[0].value) == len(type_steps(EventStore(home), load_baseline(), code))
    at.switch_page("procmine/dashboard/pages/tellers.py").run()
    assert not at.exception
    teller = at.selectbox(key="tellers_pick").value
    profile = teller_profile(EventStore(home), load_baseline(), teller)
    shown = at.dataframe[0].value
    steps = profile["steps"]
    assert len(shown) == len(steps)
    # most time beyond the bank's pace first: count x (median - bank median), in minutes
    assert steps["minutes_above_bank"].is_monotonic_decreasing
    top = steps.iloc[0]
    assert top["minutes_above_bank"] == pytest.approx(
        top["count"] * (top["median_seconds"] - top["bank_median_seconds"]) / 60)
    assert list(shown.iloc[:, 1]) == [_zh(home, a) for a in steps["activity"]]
    bars = json.loads(at.get("plotly_chart")[1].proto.spec)["data"]
    assert f"{top['business_type']} {_zh(home, top['activity'])}" in [
        y for trace in bars for y in trace.get("y", [])]
    assert len(profile["months"]) == 2  # the demo log spans September and October


def test_audit_trail_shows_the_demo_sop_revision_and_filters(home: Path) -> None:
    at = app_as("operations", home)
    # every page test before signs in (an audit row each): show them all, the demo's too
    at.session_state["audit_limit"] = 5000
    at.run()
    at.switch_page("procmine/dashboard/pages/audit.py").run()
    assert not at.exception
    rows = at.dataframe[0].value
    actions = list(rows[t("audit.code", "zh-CN")])  # the action's code, beside its name
    # the demo's SOP-P18 3.0: written and submitted by reviewer, approved by reviewer2
    approvals = rows[rows[t("audit.code", "zh-CN")] == "sop.approve"]
    assert list(approvals[t("audit.user", "zh-CN")]) == ["reviewer2"]
    assert list(approvals[t("audit.action", "zh-CN")]) == [t("audit.action.sop.approve", "zh-CN")]
    assert str(approvals[t("audit.detail", "zh-CN")].iloc[0]).startswith("SOP-P18 3.0 approved")
    assert {"sop.save", "sop.submit", "user.add"} <= set(actions)
    at.selectbox(key="audit_action").set_value("sop.submit").run()
    assert not at.exception
    only = at.dataframe[0].value
    assert set(only[t("audit.code", "zh-CN")]) == {"sop.submit"}
    assert list(only[t("audit.user", "zh-CN")]) == ["reviewer"]


def test_cached_calls_follow_the_store_and_keep_apart(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine.dashboard import data

    monkeypatch.setenv("PROCMINE_HOME", str(tmp_path))
    calls: list[tuple[int, int]] = []

    @data.cached()
    def scaled(x: int, factor: int = 2) -> int:
        calls.append((x, factor))
        return x * factor

    assert scaled(3) == scaled(3, factor=2) == scaled(x=3) == 6
    assert calls == [(3, 2)]  # bound to the signature first: one entry for the three calls
    assert scaled(3, 5) == 15
    assert calls == [(3, 2), (3, 5)]
    # a new ingest (the store's version changes) shows on the next call
    batches = EventStore(tmp_path).batches_file
    batches.parent.mkdir(parents=True)
    batches.write_text("", encoding="utf-8")
    assert scaled(3) == 6
    assert calls == [(3, 2), (3, 5), (3, 2)]
    # two cached functions without arguments do not share a cache
    assert data.store_info()["events"] == 0
    assert data.quarantine_summary() == {}


# -- sign-in and sessions (issue 12, rows 10 to 12) ---------------------------------------------

def _real_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real workspace (not built by demo-workspace) with one operations user, chief."""
    from procmine import add_user

    monkeypatch.setenv("PROCMINE_HOME", str(tmp_path))
    add_user("chief", "chief-password", "operations", home=tmp_path)
    return tmp_path


def _captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def test_the_sign_in_page_names_the_demo_users_only_in_a_demo_workspace(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = AppTest.from_file(APP, default_timeout=60).run()
    assert DEMO_PASSWORD in _captions(demo) and "reviewer2" in _captions(demo)
    _real_home(tmp_path, monkeypatch)
    real = AppTest.from_file(APP, default_timeout=60).run()
    assert not real.exception
    assert real.text_input(key="sign_in_username")
    assert DEMO_PASSWORD not in _captions(real) and "reviewer2" not in _captions(real)


def test_a_disabled_user_loses_the_pages_at_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from procmine import disable_user

    home = _real_home(tmp_path, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["procmine_user"] = authenticate("chief", "chief-password", home)
    at.run()
    assert [ti.value for ti in at.title] == [t("overview.title", "zh-CN")]
    disable_user("chief", home=home)
    at.run()
    assert not at.exception
    assert "procmine_user" not in at.session_state
    assert at.text_input(key="sign_in_username")
    assert [i.value for i in at.info] == [t("auth.session_ended", "zh-CN")]
    assert authenticate("chief", "chief-password", home) is None


def test_a_demoted_user_is_refused_the_page_at_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from procmine import set_role

    home = _real_home(tmp_path, monkeypatch)
    page = next(p for p in PAGES if p.script == "overview.py")
    at = AppTest.from_file(str(page.path), default_timeout=60)
    at.session_state["procmine_user"] = authenticate("chief", "chief-password", home)
    at.run()
    assert not at.error and at.title
    set_role("chief", "teller", home=home)
    at.run()
    assert [e.value for e in at.error] == [
        t("auth.not_allowed", "zh-CN", role=t("roles.teller", "zh-CN"))]
    assert not at.title and not at.metric
    assert at.session_state["procmine_user"].role == "teller"


def test_an_idle_session_expires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    home = _real_home(tmp_path, monkeypatch)
    monkeypatch.setenv("PROCMINE_SESSION_IDLE_MINUTES", "10")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["procmine_user"] = authenticate("chief", "chief-password", home)
    at.session_state["procmine_seen_at"] = datetime.now(UTC) - timedelta(minutes=9)
    at.run()
    assert at.session_state["procmine_user"].username == "chief"  # within the idle time
    at.session_state["procmine_seen_at"] = datetime.now(UTC) - timedelta(minutes=11)
    at.run()
    assert "procmine_user" not in at.session_state
    assert [i.value for i in at.info] == [t("auth.session_expired", "zh-CN", minutes="10")]


def test_a_locked_name_is_refused_on_the_sign_in_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _real_home(tmp_path, monkeypatch)
    for _ in range(5):
        assert authenticate("chief", "not-the-password", home) is None
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="sign_in_username").input("chief")
    at.text_input(key="sign_in_password").input("chief-password")
    at.button[0].click().run()
    assert not at.exception
    assert "procmine_user" not in at.session_state
    locked = t("auth.locked", "zh-CN", until="")
    assert [e.value[: len(locked) - 10] for e in at.error] == [locked[: len(locked) - 10]]


def test_a_password_reset_ends_the_open_sessions(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine import set_password

    home = _real_home(tmp_path, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["procmine_user"] = authenticate("chief", "chief-password", home)
    at.run()
    assert at.session_state["procmine_user"].username == "chief"
    set_password("chief", "chief-new-password", home=home)
    at.run()
    assert "procmine_user" not in at.session_state
    assert [i.value for i in at.info] == [t("auth.session_ended", "zh-CN")]


def test_the_period_filter_copes_with_the_last_month_of_the_calendar() -> None:
    """Issue 12, row 3: a store reaching 9999-12 made every page's period filter overflow."""
    from datetime import date

    from procmine.dashboard.components import period

    last = period.filters("9999-12", branches=("B01",))
    assert (last.start, last.end, last.branches) == (date(9999, 12, 1), date(9999, 12, 31),
                                                     ("B01",))
    assert (period.filters(None).start, period.filters(None).end) == (None, None)
