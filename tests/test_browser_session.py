"""Sessions in a real browser (tests/browser_kit.py): a refresh keeps the user signed in on the
same page; a page opened by its address while signed out asks to sign in and then lands there;
an idle session and a signed-out one go back to the sign-in form, refresh or not."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browser_kit import ARTIFACTS
from browser_kit import heading as _heading
from browser_kit import sign_in as _sign_in
from browser_kit import wait_quiet as _wait_quiet
from demo_kit import copy_demo_workspace
from sqlalchemy import select, update

from procmine.app.appdb import session_for, utc_now
from procmine.app.auth import DEMO_PASSWORD
from procmine.app.i18n import t
from procmine.app.session_tokens import SESSION_COOKIE, SessionRow

pytestmark = pytest.mark.browser

VIEW = {"width": 1400, "height": 1000}


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("browser-session-workspace")
    copy_demo_workspace(tmp_path_factory, home)
    return home


def _sign_in_form(page: object) -> None:
    page.get_by_label(t("auth.username", "zh-CN")).wait_for(timeout=60_000)  # type: ignore[attr-defined]


def _signed_in(page: object) -> bool:
    return bool(page.get_by_role("button", name=t("auth.sign_out", "zh-CN")).count())  # type: ignore[attr-defined]


def _wait_signed_in(page: object) -> None:
    page.get_by_role("button", name=t("auth.sign_out", "zh-CN")).wait_for(timeout=60_000)  # type: ignore[attr-defined]


def _cookie(page: object) -> dict[str, object] | None:
    cookies = page.context.cookies()  # type: ignore[attr-defined]
    return next((c for c in cookies if c["name"] == SESSION_COOKIE and c["value"]), None)


def _open_sessions(home: Path, username: str) -> list[SessionRow]:
    with session_for(home) as session:
        return list(session.scalars(select(SessionRow).where(
            SessionRow.username == username, SessionRow.revoked.is_(False))))


def _path(page: object) -> str:
    return urlparse(page.url).path.rstrip("/")  # type: ignore[attr-defined]


def _fill_sign_in(page: object, username: str) -> None:
    page.get_by_label(t("auth.username", "zh-CN")).fill(username)  # type: ignore[attr-defined]
    page.get_by_label(t("auth.password", "zh-CN")).fill(DEMO_PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name=t("auth.sign_in", "zh-CN")).click()  # type: ignore[attr-defined]


def test_a_refresh_keeps_the_session_on_the_same_page(
        server: str, browser: object, server_home: Path) -> None:
    page = browser.new_page(viewport=VIEW)  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "ops")
        _heading(page, "overview.title")
        page.get_by_role("link", name=t("nav.tellers", "zh-CN"), exact=True).first.click()
        _heading(page, "tellers.title")
        _wait_quiet(page)
        cookie = _cookie(page)
        assert cookie is not None, "no session cookie after sign-in"
        assert (cookie["sameSite"], cookie["path"], cookie["httpOnly"]) == ("Strict", "/", False)
        assert float(str(cookie["expires"])) > 0   # kept past the tab (Max-Age), not a tab cookie
        # the database has the token's hash, never the token
        token = str(cookie["value"])
        hashes = [r.token_hash for r in _open_sessions(server_home, "ops")]
        assert hashlib.sha256(token.encode()).hexdigest() in hashes
        assert token not in hashes
        page.reload()
        _heading(page, "tellers.title")
        _wait_quiet(page)
        assert _path(page) == "/tellers"
        _wait_signed_in(page)
        assert page.get_by_label(t("auth.username", "zh-CN")).count() == 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "session-refresh-tellers.png"), full_page=True)
    finally:
        page.close()


def test_a_deep_link_signs_in_and_lands_on_its_page(server: str, browser: object) -> None:
    page = browser.new_page(viewport=VIEW)  # type: ignore[attr-defined]
    try:
        page.goto(f"{server}/tellers")
        _sign_in_form(page)
        page.get_by_text(t("auth.sign_in_required", "zh-CN")).wait_for(timeout=30_000)
        _fill_sign_in(page, "manager")
        _heading(page, "tellers.title")
        _wait_quiet(page)
        assert _path(page) == "/tellers"
        _wait_signed_in(page)
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    finally:
        page.close()


def test_a_deep_link_the_role_may_not_open_lands_on_its_first_page(
        server: str, browser: object) -> None:
    page = browser.new_page(viewport=VIEW)  # type: ignore[attr-defined]
    try:
        page.goto(f"{server}/tellers")
        _sign_in_form(page)
        _fill_sign_in(page, "teller")
        _heading(page, "my_figures.title")
        _wait_quiet(page)
        assert _path(page) == ""   # the role's first page is the navigation's default: the root
        title = t("tellers.title", "zh-CN")
        assert page.get_by_role("heading", name=title, exact=True).count() == 0
    finally:
        page.close()


def test_an_idle_session_goes_back_to_sign_in(
        server: str, browser: object, server_home: Path) -> None:
    page = browser.new_page(viewport=VIEW)  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "trainer")
        _wait_signed_in(page)
        _wait_quiet(page)
        token = str((_cookie(page) or {}).get("value", ""))
        assert token
        # the browser was closed for two hours: the session's last use is that long ago
        with session_for(server_home) as session:
            session.execute(update(SessionRow)
                            .where(SessionRow.token_hash == hashlib.sha256(token.encode())
                                   .hexdigest())
                            .values(last_seen_at=utc_now() - timedelta(hours=2)))
        page.reload()
        _sign_in_form(page)
        page.get_by_text(t("auth.session_expired", "zh-CN", minutes="30")).wait_for(
            timeout=30_000)
        assert not _signed_in(page)
        assert _open_sessions(server_home, "trainer") == []   # refused, and revoked
    finally:
        page.close()


def test_sign_out_then_reload_stays_signed_out(
        server: str, browser: object, server_home: Path) -> None:
    page = browser.new_page(viewport=VIEW)  # type: ignore[attr-defined]
    try:
        _sign_in(page, server, "reviewer")
        _wait_signed_in(page)
        _wait_quiet(page)
        assert _cookie(page) is not None
        assert len(_open_sessions(server_home, "reviewer")) == 1
        page.get_by_role("button", name=t("auth.sign_out", "zh-CN")).click()
        _sign_in_form(page)
        _wait_quiet(page)
        assert _open_sessions(server_home, "reviewer") == []   # revoked on the server
        assert _cookie(page) is None                           # and cleared in the browser
        page.reload()
        _sign_in_form(page)
        _wait_quiet(page)
        assert not _signed_in(page)
    finally:
        page.close()


def test_a_second_tab_shares_the_session_and_its_sign_out(
        server: str, browser: object, server_home: Path) -> None:
    context = browser.new_context(viewport=VIEW)  # type: ignore[attr-defined]
    try:
        first = context.new_page()
        _sign_in(first, server, "settlement")
        _wait_signed_in(first)
        _wait_quiet(first)
        second = context.new_page()   # the same browser: the same cookie
        second.goto(server)
        _wait_signed_in(second)             # no sign-in form: the cookie's token resumed
        _wait_quiet(second)
        assert second.get_by_label(t("auth.username", "zh-CN")).count() == 0
        second.get_by_role("button", name=t("auth.sign_out", "zh-CN")).click()
        _sign_in_form(second)
        # the first tab's next click: its session was revoked on the server
        first.get_by_text("English", exact=True).click()
        first.get_by_label("Username").wait_for(timeout=60_000)
        first.get_by_text(t("auth.session_closed", "en", hours="12")).wait_for(timeout=30_000)
        assert _open_sessions(server_home, "settlement") == []
    finally:
        context.close()
