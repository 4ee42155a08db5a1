"""What the browser tests share: ``streamlit run app.py`` on a free port for a workspace, Debian's
Chromium driven by Playwright, and the steps every test takes (sign in, wait for the script to
finish, wait for a page's title, read a metric, choose in a select box). Screenshots go to
tests/artifacts/ (ignored by git). A test file makes its own module fixtures of
:func:`serve` and :func:`chromium` (tests/test_browser.py, tests/test_browser_improve.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from procmine.app.auth import DEMO_PASSWORD
from procmine.app.i18n import t

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
DEMO_USERS = {"operations": "ops", "branch_manager": "manager", "reviewer": "reviewer",
              "trainer": "trainer", "teller": "teller"}
#: every grid has its scroller and every chart its SVG (drawn after the script has run); also
#: what bench/bench_pages.py waits for before it calls a page rendered
DRAWN = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
    .every(e => e.offsetParent === null || e.closest('details:not([open])')
                || !e.checkVisibility() || e.querySelector('.dvn-scroller'))
  && [...document.querySelectorAll('.js-plotly-plot')].every(e => e.querySelector('.main-svg'))"""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(home: Path) -> Iterator[str]:
    """The dashboard served for the workspace ``home``; its address. Stopped at the end."""
    with serve_script(REPO / "app.py", {"PROCMINE_HOME": str(home)}, REPO) as url:
        yield url


@contextmanager
def serve_script(script: Path, env: dict[str, str], cwd: Path) -> Iterator[str]:
    """``streamlit run script`` (with ``env`` added to this process's, in ``cwd``) once it
    answers its health check; its address. Stopped at the end."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script),
         "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=cwd, env={**os.environ, **env},
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


@contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium, headless, through Playwright (missing: a failure, not a skip)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


def sign_in(page: object, url: str, username: str) -> None:
    page.goto(url)  # type: ignore[attr-defined]
    page.get_by_label(t("auth.username", "zh-CN")).fill(username)  # type: ignore[attr-defined]
    page.get_by_label(t("auth.password", "zh-CN")).fill(DEMO_PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name=t("auth.sign_in", "zh-CN")).click()  # type: ignore[attr-defined]


def wait_quiet(page: object) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached",  # type: ignore[attr-defined]
                           timeout=60_000)


def heading(page: object, key: str) -> None:
    """Wait for the page whose title is the message ``key``."""
    page.get_by_role("heading", name=t(key, "zh-CN"), exact=True).wait_for(  # type: ignore[attr-defined]
        timeout=60_000)


def metric_value(page: object, label: str) -> Any:
    """The element holding the value of the metric labelled ``label`` (a locator: a test may
    wait for it to change)."""
    box = page.locator('[data-testid="stMetric"]').filter(  # type: ignore[attr-defined]
        has=page.get_by_text(label, exact=True))  # type: ignore[attr-defined]
    return box.first.locator('[data-testid="stMetricValue"]')


def metric(page: object, label: str) -> str:
    """The value of the metric labelled ``label``."""
    return str(metric_value(page, label).inner_text()).strip()


def pick(page: object, label: str, option: str, *, escape: bool = True) -> None:
    """Choose ``option`` in the select box or multiselect labelled ``label`` (the list is long
    and drawn lazily: narrow it by typing first; a click while the page is still settling may
    not open it, so try again). Escape closes a multiselect's list after; ``escape=False`` for
    a select box that takes new options (there Escape takes the choice back)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.get_by_label(label, exact=True).first  # type: ignore[attr-defined]
    target = page.get_by_role("option", name=option, exact=True).first  # type: ignore[attr-defined]
    for _ in range(5):
        wait_quiet(page)
        box.click()
        try:
            page.get_by_role("option").first.wait_for(timeout=3_000)  # type: ignore[attr-defined]
            box.press_sequentially(option, delay=30)
            target.wait_for(timeout=5_000)
        except PlaywrightTimeout:
            box.fill("")
            page.keyboard.press("Escape")  # type: ignore[attr-defined]
            continue
        target.click()
        break
    else:
        raise AssertionError(f"could not choose {option!r} in {label!r}")
    if escape:
        page.keyboard.press("Escape")  # type: ignore[attr-defined]
