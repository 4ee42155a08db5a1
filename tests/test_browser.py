"""The dashboard in a real browser: Debian's Chromium driven by Playwright against
``streamlit run app.py`` on a free port (tests/browser_kit.py). Screenshots go to
tests/artifacts/ (ignored by git). Each role's walk through every page of its menu is in
tests/test_browser_layout.py (one walk checks that the pages open and that they fit)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from browser_kit import ARTIFACTS, metric_value
from browser_kit import heading as _heading
from browser_kit import metric as _metric
from browser_kit import pick as _pick
from browser_kit import sign_in as _sign_in
from browser_kit import wait_quiet as _wait_quiet
from demo_kit import copy_demo_workspace

from procmine.app.i18n import t

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace the server below serves (a test may check the library's figures)."""
    home = tmp_path_factory.mktemp("browser-workspace")
    copy_demo_workspace(tmp_path_factory, home)
    return home


def test_language_switch_and_sign_out(server: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "ops")
        page.get_by_role("heading", name=t("overview.title", "zh-CN")).wait_for(timeout=60_000)
        page.get_by_text("English", exact=True).click()
        page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)
        _wait_quiet(page)
        page.screenshot(path=str(ARTIFACTS / "operations-overview-en.png"), full_page=True)
        page.get_by_text("中文", exact=True).click()
        page.get_by_role("heading", name=t("overview.title", "zh-CN")).wait_for(timeout=60_000)
        page.get_by_role("button", name=t("auth.sign_out", "zh-CN")).click()
        page.get_by_label(t("auth.username", "zh-CN")).wait_for(timeout=60_000)
    finally:
        page.close()


def test_a_wrong_password_is_refused(server: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    try:
        page.goto(server)
        page.get_by_label(t("auth.username", "zh-CN")).fill("ops")
        page.get_by_label(t("auth.password", "zh-CN")).fill("wrong-password")
        page.get_by_role("button", name=t("auth.sign_in", "zh-CN")).click()
        page.get_by_text(t("auth.wrong_password", "zh-CN")).wait_for(timeout=30_000)
    finally:
        page.close()


def test_upload_a_log_from_the_browser(server: str, browser: object, tmp_path: Path) -> None:
    log = tmp_path / "branch_export.csv"
    log.write_text(
        "case_id,activity,start_time,end_time,teller_id,branch_id,business_type\n"
        "U1,Count cash,2026-10-30 09:00:00,2026-10-30 09:00:40,0101,B01,P17\n"
        "U1,Print voucher,2026-10-30 09:00:45,2026-10-30 09:00:55,0101,B01,P17\n"
        "U2,Count cash,2026-10-30 09:10:00,2026-10-30 09:09:00,0101,B01,P17\n",
        encoding="utf-8",
    )
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "ops")
        page.get_by_role("link", name=t("nav.upload", "zh-CN")).first.click()
        page.get_by_role("heading", name=t("upload.title", "zh-CN")).wait_for(timeout=60_000)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
            str(log))
        page.get_by_role("button", name=t("upload.ingest", "zh-CN")).click()
        done = t("upload.done", "zh-CN", file=log.name, read="3", loaded="2", quarantined="1")
        page.get_by_text(done).first.wait_for(timeout=60_000)
        page.get_by_text(t("quality.reason.end_before_start", "zh-CN")).first.wait_for(
            timeout=30_000)
        page.get_by_role("button", name=re.compile(t("upload.download_quarantine", "zh-CN")))\
            .wait_for(timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "operations-upload-done.png"), full_page=True)
    finally:
        page.close()


def test_sop_edit_submit_and_approval_by_another_reviewer(server: str, browser: object) -> None:
    """reviewer edits an SOP, saves it with a note and submits it; reviewer2 sees the diff in
    the review queue and approves it."""
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    added = "浏览器测试：补充一句说明。"
    note = "Browser test: one more sentence"
    page = browser.new_page(viewport={"width": 1400, "height": 1200})  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "reviewer")
        page.get_by_role("link", name=t("nav.sop_editor", "zh-CN")).first.click()
        page.get_by_role("heading", name=t("editor.title", "zh-CN")).wait_for(timeout=60_000)
        _wait_quiet(page)
        # the source text sits in its expander beside the form
        page.get_by_text(t("editor.source", "zh-CN"), exact=True).first.click()
        editor = page.get_by_label(t("editor.text", "zh-CN"))
        # the text area fills once the script has read the SOP (later on a loaded machine)
        expect(editor).to_have_value(re.compile(r"^---\n"), timeout=60_000)
        text = editor.input_value()
        assert text.startswith("---\n")
        # in force from tomorrow: the reviewer approves the draft's own date (a date that has
        # passed is refused, never replaced)
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        text = re.sub(r"^effective: .*$", f"effective: {tomorrow}", text, count=1, flags=re.M)
        editor.fill(text.rstrip("\n") + f"\n\n{added}\n")
        page.get_by_label(t("editor.note", "zh-CN")).fill(note)
        page.get_by_label(t("editor.note", "zh-CN")).press("Enter")
        _wait_quiet(page)
        page.get_by_role("button", name=t("editor.save", "zh-CN")).click()
        page.get_by_text(re.compile("已将 SOP-.* 保存为草稿")).wait_for(timeout=180_000)
        _wait_quiet(page)
        page.screenshot(path=str(ARTIFACTS / "reviewer-sop-editor-saved.png"), full_page=True)
        # submit at once: the saved text is the editor's, also when the source edit went with
        # the save's click (no run drew it first)
        page.get_by_role("button", name=t("editor.submit", "zh-CN")).click()
        # after the upload test the store is new: the editor's step findings are computed
        # again first (slow on a loaded 2-core machine); a refusal fails at once
        unsaved = t("editor.unsaved", "zh-CN")
        page.get_by_text(re.compile(f"SOP-.* 已提交审批|{re.escape(unsaved)}")).first.wait_for(
            timeout=180_000)
        assert page.get_by_text(unsaved).count() == 0
    finally:
        page.close()

    page = browser.new_page(viewport={"width": 1400, "height": 1200})  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "reviewer2")
        page.get_by_role("link", name=t("nav.sop_review", "zh-CN")).first.click()
        page.get_by_role("heading", name=t("review.title", "zh-CN")).wait_for(timeout=60_000)
        _wait_quiet(page)
        row = page.locator("table.pm-diff tr.pm-added", has_text=added)
        row.first.wait_for(timeout=60_000)
        # among the change notes (the grid draws on a canvas; its cells stay in the DOM, hidden)
        page.get_by_text(note).first.wait_for(state="attached", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "reviewer2-sop-review.png"), full_page=True)
        page.get_by_role("button", name=t("review.approve", "zh-CN")).click()
        page.get_by_text(re.compile("SOP-.* 已批准，自 .* 起生效。")).wait_for(timeout=60_000)
        _wait_quiet(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / "reviewer2-sop-approved.png"), full_page=True)
    finally:
        page.close()


def _answer(page: object, attempt: object) -> None:
    """Answer every item of an attempt through its widgets: the first choice shown, or the
    items of an ordering in reverse. Each answer is done when the page says so: the count of
    answered items moves (a click during a rerun may be lost, so an ordering's pick is checked
    and made again if it did not take)."""
    from playwright.sync_api import expect

    answered = metric_value(page, t("take.answered", "zh-CN"))
    total = len(attempt.items)  # type: ignore[attr-defined]
    for done, item in enumerate(attempt.items, start=1):  # type: ignore[attr-defined]
        key = f"take_{attempt.id}_{item.position}"  # type: ignore[attr-defined]
        if item.kind in ("single", "truefalse"):
            page.locator(f'.st-key-{key} [role="radiogroup"] label').first.click()  # type: ignore[attr-defined]
        elif item.kind == "multiple":
            page.locator(f".st-key-{key}_0 label").first.click()  # type: ignore[attr-defined]
        else:
            n = len(item.choices)
            for i in range(n):
                # a rerun may still show the old element beside the new one: the fresh one
                box = page.locator(f'.st-key-{key}_{i}:not([data-stale="true"])')  # type: ignore[attr-defined]
                for _ in range(3):
                    box.click()
                    page.get_by_role("option", name=str(n - i), exact=True).click()  # type: ignore[attr-defined]
                    _wait_quiet(page)
                    if box.get_by_role("combobox").input_value() == str(n - i):
                        break
        expect(answered).to_have_text(f"{done} / {total}", timeout=60_000)
        _wait_quiet(page)


def test_training_paper_from_trainer_to_teller_and_back(server: str, server_home: Path,
                                                        browser: object) -> None:
    """``trainer`` builds a paper of 3 questions and assigns it to teller 0101; ``teller`` starts
    it, finds the SOP page refused (opened by its address) while the attempt is open, answers,
    reloads (still signed in) and finds the answers kept, submits and sees the result;
    ``trainer`` sees the paper's participation and expert rate move to what the library
    computes."""
    from procmine import (
        SopLibrary,
        attempt_result,
        generate_bank,
        get_attempt,
        get_user,
        list_papers,
        list_questions,
        open_attempt,
        paper_results,
        sync_questions,
    )

    home = server_home
    if not list_questions(status="active", home=home):  # the demo's bank, or one made here
        sync_questions(generate_bank(SopLibrary.open(home)), actor="trainer", status="active",
                       home=home)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    title = "浏览器测试试卷"
    zh = "zh-CN"

    page = browser.new_page(viewport={"width": 1400, "height": 1400})  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "trainer")
        page.get_by_role("link", name=t("nav.papers", zh)).first.click()
        _heading(page, "papers.title")
        _wait_quiet(page)
        page.get_by_text(t("papers.build_title", zh)).first.click()
        page.get_by_label(t("papers.paper_title", zh)).fill(title)
        _pick(page, t("papers.sops", zh), "SOP-P17")
        page.get_by_label(t("papers.count", zh)).fill("3")
        page.get_by_role("button", name=t("papers.build", zh), exact=True).click()
        page.get_by_text(re.compile(f"已生成试卷 #\\d+“{title}”，共 3 题。")).wait_for(
            timeout=60_000)
        _wait_quiet(page)
        paper = next(p for p in list_papers(home=home) if p.title == title)
        _pick(page, t("filters.teller", zh), "0101 (B01)")
        page.get_by_role("button", name=t("papers.assign", zh), exact=True).click()
        page.get_by_text(t("papers.assigned_to", zh, n=1, title=title)).wait_for(
            timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "trainer-paper-assigned.png"), full_page=True)
        # the results before the teller sits it: assigned, nobody yet
        page.get_by_role("link", name=t("nav.training_results", zh)).first.click()
        _heading(page, "results.title")
        _wait_quiet(page)
        assert _metric(page, t("results.participated", zh)) == "0 / 1"
        assert _metric(page, t("results.participation", zh)) == "0.0%"
    finally:
        page.close()

    teller = get_user("teller", home)
    assert teller is not None and teller.teller_id == "0101"
    page = browser.new_page(viewport={"width": 1400, "height": 1400})  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "teller")
        page.get_by_role("link", name=t("nav.take_paper", zh)).first.click()
        _heading(page, "take.title")
        _wait_quiet(page)
        page.locator(f".st-key-take_start_{paper.id} button").click()
        page.get_by_text(t("take.time_left", zh)).wait_for(timeout=60_000)
        _wait_quiet(page)
        attempt = open_attempt("0101", home=home)
        assert attempt is not None and attempt.paper_id == paper.id and len(attempt.items) == 3
        # closed book: the menu no longer offers the SOPs, and their address is refused
        assert page.get_by_role("link", name=t("nav.my_sops", zh)).count() == 0
        page.goto(f"{server}/my-sops")  # the session survives the address typed in
        page.get_by_text(t("closed_book.refused", zh)).wait_for(timeout=60_000)
        _wait_quiet(page)
        assert page.get_by_role("heading", name=t("my_sops.title", zh), exact=True).count() == 0
        page.screenshot(path=str(ARTIFACTS / "teller-my-sops-refused.png"), full_page=True)
        page.get_by_role("link", name=t("closed_book.back", zh)).first.click()
        page.get_by_text(t("take.time_left", zh)).wait_for(timeout=60_000)
        _wait_quiet(page)
        _answer(page, attempt)
        saved = get_attempt(attempt.id, user=teller, home=home)
        assert saved.answered == 3 and all(i.response is not None for i in saved.items)
        # a reload keeps the session (its cookie): back on the paper, and the answers are there
        page.reload()
        page.get_by_text(t("take.time_left", zh)).wait_for(timeout=60_000)
        _wait_quiet(page)
        assert _metric(page, t("take.answered", zh)) == "3 / 3"
        for item in saved.items:
            key = f"take_{attempt.id}_{item.position}"
            if item.kind in ("single", "truefalse"):
                assert page.locator(f".st-key-{key} input[type=radio]").first.is_checked()
            elif item.kind == "multiple":
                assert page.locator(f".st-key-{key}_0 input[type=checkbox]").is_checked()
        page.screenshot(path=str(ARTIFACTS / "teller-paper-resumed.png"), full_page=True)
        page.get_by_role("button", name=t("take.submit", zh), exact=True).click()
        page.get_by_role("button", name=t("take.confirm_submit", zh)).click()
        page.get_by_text(t("take.result_of", zh, title=title)).wait_for(timeout=60_000)
        _wait_quiet(page)
        result = attempt_result(attempt.id, user=teller, home=home)
        assert result.status == "submitted" and result.score is not None
        assert _metric(page, t("take.score", zh)) == f"{result.score:.1f}"
        page.screenshot(path=str(ARTIFACTS / "teller-paper-result.png"), full_page=True)
        # the attempt is over: the SOPs are back
        assert page.get_by_role("link", name=t("nav.my_sops", zh)).count() == 1
    finally:
        page.close()

    expected = paper_results(paper.id, home=home)
    assert (expected.assigned, expected.participated, expected.participation) == (1, 1, 1.0)
    page = browser.new_page(viewport={"width": 1400, "height": 1400})  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "trainer")
        page.get_by_role("link", name=t("nav.training_results", zh)).first.click()
        _heading(page, "results.title")
        _wait_quiet(page)
        assert _metric(page, t("results.participated", zh)) == "1 / 1"
        assert _metric(page, t("results.participation", zh)) == f"{expected.participation:.1%}"
        assert _metric(page, t("results.expert_rate", zh)) == f"{expected.expert_rate:.1%}"
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "trainer-training-results.png"), full_page=True)
    finally:
        page.close()


def _selected(page: object, label: str) -> str:
    """The value shown by the select box labelled ``label``."""
    box = page.get_by_role("combobox", name=label, exact=True).first  # type: ignore[attr-defined]
    return str(box.input_value()).strip()


def _offered(page: object, label: str) -> list[str]:
    """The options the select box labelled ``label`` offers (opened, read, closed)."""
    box = page.get_by_label(label, exact=True).first  # type: ignore[attr-defined]
    box.click()
    page.get_by_role("option").first.wait_for(timeout=10_000)  # type: ignore[attr-defined]
    options = [str(o).strip() for o in page.get_by_role("option").all_inner_texts()]  # type: ignore[attr-defined]
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    return options


def test_the_branch_manager_sees_b01_only_and_another_branchs_teller_is_refused(
        server: str, server_home: Path, browser: object) -> None:
    """``manager`` signs in and lands on the queue of B01; the queue and staffing pages offer
    B01 only and name no other branch; an address to a teller of B03 is refused on the
    server, one to a teller of B01 opens."""
    from datetime import date, timedelta

    from procmine import EventStore, Filters, QueueFilter, months_with_data, queue_summary

    zh = "zh-CN"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # the queue page opens on the days of the latest month (the shared period's default)
    store = EventStore(server_home)
    every = queue_summary(store, QueueFilter())
    assert every.first_day is not None and every.last_day is not None
    month = Filters.for_month(months_with_data(store)[-1])
    assert month.start is not None and month.end is not None
    start = max(month.start, date.fromisoformat(every.first_day))
    end = min(month.end, date.fromisoformat(every.last_day))
    mine = queue_summary(store, QueueFilter(branch="B01", start=start,
                                            end=end + timedelta(days=1)))
    others = [f"B0{i}" for i in range(2, 7)]
    # tall: the whole page in each screenshot (Streamlit scrolls inside its own container)
    page = browser.new_page(viewport={"width": 1400, "height": 3400})  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "manager")
        _heading(page, "queue.title")
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        _wait_quiet(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert _selected(page, t("filters.branch", zh)) == "B01"
        assert _offered(page, t("filters.branch", zh)) == ["B01"]
        assert _metric(page, t("queue.tickets", zh)) == f"{mine.tickets:,}"
        assert page.get_by_text(t("scope.branch_caption", zh, branch="B01")).count() == 1
        body = page.locator("body").inner_text()
        assert not [b for b in others if b in body]
        page.wait_for_timeout(1000)  # the charts finish drawing
        page.screenshot(path=str(ARTIFACTS / "branch_manager-queue-b01.png"), full_page=True)

        page.get_by_role("link", name=t("nav.staffing", zh)).first.click()
        _heading(page, "staffing.title")
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        _wait_quiet(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert _selected(page, t("filters.branch", zh)) == "B01"
        assert _offered(page, t("filters.branch", zh)) == ["B01"]
        body = page.locator("body").inner_text()
        assert t("staffing.model", zh, minutes="10", share="80", models="B01 Erlang C")[:20] \
            in body
        assert not [b for b in others if b in body]
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "branch_manager-staffing-b01.png"), full_page=True)

        page.get_by_role("link", name=t("nav.diversion", zh)).first.click()
        _heading(page, "diversion.title")
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        _wait_quiet(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert _selected(page, t("filters.branch", zh)) == "B01"
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "branch_manager-diversion-b01.png"),
                        full_page=True)

        # an address to another branch's teller (the session survives it): refused
        page.goto(f"{server}/tellers?teller=0301")
        refusal = t("scope.teller_refused", zh, teller="0301", branch="B01")
        page.get_by_text(refusal).wait_for(timeout=60_000)
        _wait_quiet(page)
        assert page.locator(".js-plotly-plot").count() == 0
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / "branch_manager-teller-0301-refused.png"),
                        full_page=True)

        # their own teller's address opens
        page.goto(f"{server}/tellers?teller=0105")
        _heading(page, "tellers.title")
        page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
        _wait_quiet(page)
        assert _selected(page, t("filters.teller", zh)) == "0105"
        assert page.get_by_text(refusal).count() == 0
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "branch_manager-teller-0105.png"), full_page=True)
    finally:
        page.close()


def test_the_slow_steps_table_fits_1440_pixels_with_the_kind_filter(
        server: str, server_home: Path, browser: object) -> None:
    """At 1440 px the Slow-steps page shows the findings table whole: the grid needs no
    horizontal scrolling, its right-hand column (the SOP step) is inside the window, and the
    kind filter offers every kind."""
    from procmine import EventStore, SopLibrary, linked_findings, load_baseline, months_with_data

    zh = "zh-CN"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    store = EventStore(server_home)   # the page opens on the latest month
    found = linked_findings(store, load_baseline(), SopLibrary.open(server_home),
                            month=months_with_data(store)[-1])
    page = browser.new_page(viewport={"width": 1440, "height": 1800})  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "ops")
        _heading(page, "overview.title")
        page.get_by_role("link", name=t("nav.bottlenecks", zh)).first.click()
        _heading(page, "bottlenecks.title")
        grid = page.locator('[data-testid="stDataFrame"]').first
        grid.wait_for(timeout=60_000)
        _wait_quiet(page)
        page.wait_for_timeout(1500)  # the grid draws on a canvas after it mounts
        assert page.locator('[data-testid="stException"]').count() == 0
        # the kind filter, every kind chosen
        kinds = page.locator('[data-testid="stMultiSelect"]').filter(
            has=page.get_by_text(t("bottlenecks.kind_filter", zh), exact=True))
        assert kinds.count() == 1
        assert kinds.first.inner_text().split("\n")[-4:] == [
            t(f"bottlenecks.kind.{kind}", zh) for kind in ("step", "wait", "overall", "baseline")]
        # the table lists the findings, most time lost first
        hours = sum(f.monthly_teller_hours for f in found if f.kind != "baseline")
        caption = t("bottlenecks.caption_kinds", zh, n=len(found), hours=f"{hours:.1f}")
        assert page.get_by_text(caption, exact=True).count() == 1
        _assert_whole(grid, t("act.mark_column", zh))
        page.screenshot(path=str(ARTIFACTS / "operations-bottlenecks-1440.png"), full_page=True)
        # in English too (longer words)
        page.get_by_text("English", exact=True).first.click()
        page.get_by_role("heading", name=t("bottlenecks.title", "en"), exact=True).wait_for(
            timeout=60_000)
        _wait_quiet(page)
        page.wait_for_timeout(1500)
        _assert_whole(page.locator('[data-testid="stDataFrame"]').first,
                      t("act.mark_column", "en"))
        page.screenshot(path=str(ARTIFACTS / "operations-bottlenecks-1440-en.png"),
                        full_page=True)
    finally:
        page.close()


def _assert_whole(grid: object, last_header: str) -> None:
    """No column of the grid is cut off: its scroller is as wide as its content and inside a
    1440 px window, and the right-hand column is the one named ``last_header`` (the grid's
    accessible table names each column)."""
    scroller = grid.locator(".dvn-scroller").first  # type: ignore[attr-defined]
    content, shown = scroller.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert content <= shown + 1, (content, shown)
    box = grid.bounding_box()  # type: ignore[attr-defined]
    assert box is not None and box["x"] + box["width"] <= 1440
    headers = grid.locator('[role="columnheader"]').all_inner_texts()  # type: ignore[attr-defined]
    assert headers and headers[-1].strip() == last_header
