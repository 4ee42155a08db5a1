"""Streamlit's own English in the Chinese interface (issue 17): the file uploader's button and
instructions show the catalogue's text, checked in the DOM of a real browser
(tests/browser_kit.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_kit import heading, sign_in, wait_quiet
from demo_kit import copy_demo_workspace

from procmine import t

pytestmark = pytest.mark.browser
ZH = "zh-CN"
ENGLISH = ("Drag and drop", "Browse files", "Upload", "per file", "Limit 200MB",
           "Choose an option", "No options")


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("browser-messages") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.mark.parametrize("width", [1440, 700])
def test_the_upload_page_in_chinese_shows_no_english_of_streamlit(
        width: int, server: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    try:
        sign_in(page, server, "ops")
        heading(page, "overview.title")
        page.goto(f"{server}/upload")
        heading(page, "upload.title")
        wait_quiet(page)
        zones = page.locator('[data-testid="stFileUploaderDropzone"]')
        zones.nth(1).wait_for(timeout=60_000)  # drawn after the heading on a loaded machine
        assert zones.count() == 2  # the log files and the column mapping
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert not [e for e in ENGLISH if e in text], text
        for i in range(zones.count()):
            zone = zones.nth(i)
            # what the user sees: the catalogue's text, drawn in place of the English
            button = zone.locator('button [data-testid="stMarkdownContainer"]').evaluate(
                "e => getComputedStyle(e, '::after').content")
            hint = zone.locator('[data-testid="stFileUploaderDropzoneInstructions"] > *')\
                .evaluate("e => getComputedStyle(e, '::after').content")
            assert button == f'"{t("widgets.upload", ZH)}"'
            assert hint == '"{}"'.format(t("widgets.drop_hint", ZH, mb=200))
            # and the English under it is not drawn
            english = zone.locator('[data-testid="stFileUploaderDropzoneInstructions"] span')
            assert all(not english.nth(j).is_visible() for j in range(english.count()))
            assert zone.locator("button").is_visible()
    finally:
        page.close()
