"""The dashboard in a real browser: Debian's Chromium driven by Playwright against
``streamlit run app.py`` on a free port. Screenshots go to tests/artifacts/ (ignored by git)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from procmine.app.auth import DEMO_PASSWORD, ROLES
from procmine.app.i18n import t
from procmine.dashboard.registry import pages_for_role
from procmine.demo.workspace import build_demo_workspace

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
DEMO_USERS = {"operations": "ops", "reviewer": "reviewer", "trainer": "trainer",
              "teller": "teller"}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("browser-workspace")
    build_demo_workspace(home)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
         "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env={**os.environ, "PROCMINE_HOME": str(home)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


def _sign_in(page: object, url: str, username: str) -> None:
    page.goto(url)  # type: ignore[attr-defined]
    page.get_by_label(t("auth.username", "zh-CN")).fill(username)  # type: ignore[attr-defined]
    page.get_by_label(t("auth.password", "zh-CN")).fill(DEMO_PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name=t("auth.sign_in", "zh-CN")).click()  # type: ignore[attr-defined]


def _wait_quiet(page: object) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached",  # type: ignore[attr-defined]
                           timeout=60_000)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_signs_in_and_opens_its_pages(role: str, server: str, browser: object) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, DEMO_USERS[role])
        for spec in pages_for_role(role):
            link = page.get_by_role("link", name=t(spec.title_key, "zh-CN"))
            if len(pages_for_role(role)) > 1:  # Streamlit shows no menu for a single page
                link.first.click()
            heading = page.get_by_role("heading", level=1)
            heading.first.wait_for(timeout=60_000)
            _wait_quiet(page)
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0
            assert heading.first.inner_text().strip() != ""
            if spec.script in ("overview.py", "my_figures.py", "bottlenecks.py"):
                page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
            if spec.script in ("announcement.py", "baseline.py", "sop_library.py",
                               "sop_history.py"):
                page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
                page.wait_for_timeout(1000)  # the grid draws on a canvas after it mounts
            if spec.script == "announcement.py":
                # the downloads come after the table (the files are made first)
                excel = page.get_by_role("button", name=re.compile("Excel"))
                excel.first.wait_for(timeout=60_000)
                assert excel.count() == 1
            page.screenshot(path=str(ARTIFACTS / f"{role}-{spec.url_path}.png"), full_page=True)
        # the links of other roles' pages are not offered
        others = [p for p in pages_for_role("operations") if role not in p.roles]
        for spec in others:
            assert page.get_by_role("link", name=t(spec.title_key, "zh-CN")).count() == 0
    finally:
        page.close()


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
        editor = page.get_by_label(t("editor.text", "zh-CN"))
        # the text area fills once the script has read the SOP (later on a loaded machine)
        expect(editor).to_have_value(re.compile(r"^---\n"), timeout=60_000)
        text = editor.input_value()
        assert text.startswith("---\n")
        editor.fill(text.rstrip("\n") + f"\n\n{added}\n")
        page.get_by_label(t("editor.note", "zh-CN")).fill(note)
        page.get_by_label(t("editor.note", "zh-CN")).press("Enter")
        _wait_quiet(page)
        page.get_by_role("button", name=t("editor.save", "zh-CN")).click()
        page.get_by_text(re.compile("已将 SOP-.* 保存为草稿")).wait_for(timeout=60_000)
        _wait_quiet(page)
        page.screenshot(path=str(ARTIFACTS / "reviewer-sop-editor-saved.png"), full_page=True)
        page.get_by_role("button", name=t("editor.submit", "zh-CN")).click()
        page.get_by_text(re.compile("SOP-.* 已提交审批")).wait_for(timeout=60_000)
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
