"""Every page of every role, in Chinese, at 1440x900 and at 1280x720 (tests/browser_kit.py): each
role signs in and opens every page of its menu (no exception or error box, a title, the page's
default chart or table drawn, its sections drawn when opened closed and then opened, no link to
another role's page); a full-page screenshot of each in
tests/artifacts/layout-<w>x<h>-<role>-<page>.png, and through the DOM (tests/layout_probe.js) no
table with a column cut off at the right (the grid's scroller needs no horizontal scrolling) and
no chart legend over an axis's tick labels.

One server, one browser; each role signs in once and walks its pages; each page is read at
1440x900, then the window is narrowed to 1280x720 and read again (the same script run, laid out
anew), so a page runs once per role. Pages that need a choice first stay at their default view.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from browser_kit import ARTIFACTS, DEMO_USERS
from browser_kit import sign_in as _sign_in
from browser_kit import wait_quiet as _wait_quiet
from demo_kit import copy_demo_workspace
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from procmine.app.auth import ROLES
from procmine.app.i18n import t
from procmine.dashboard.registry import PageSpec, pages_for_role

pytestmark = pytest.mark.browser

SIZES = ((1440, 900), (1280, 720))
_GRID = '[data-testid="stDataFrame"]'
PROBE = (Path(__file__).parent / "layout_probe.js").read_text(encoding="utf-8")
# the probe's reading once every table and chart it finds shown is drawn (else null: wait on)
_DRAWN_PROBE = f"""() => {{ const found = ({PROBE.strip()})();
  return found.grids.every((g) => !g.shown || g.ready) && found.charts.every((c) => c.ready)
    ? found : null; }}"""


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("browser-layout-workspace")
    copy_demo_workspace(tmp_path_factory, home)
    return home


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]


def problems(found: dict[str, Any]) -> list[str]:
    """What is wrong on a page, from the probe's reading: a table wider than it is shown, a
    table not drawn, a legend over a tick label."""
    out = [f"{found['errors']} exception(s) on the page"] if found.get("errors") else []
    for grid in found["grids"]:
        if not grid["shown"]:   # in a closed expander or another tab
            continue
        if not grid["ready"]:
            out.append(f"table {grid['index']} not drawn")
        elif grid["clientWidth"] > 0 and grid["scrollWidth"] > grid["clientWidth"] + 1:
            out.append(f"table {grid['index']} {grid['headers']}: columns "
                       f"{grid['scrollWidth']} px wide in {grid['clientWidth']} px")
    for chart in found["charts"]:
        legend = chart["legend"]
        if legend is None:
            continue
        hit = [tick["text"] for tick in chart["ticks"] if _overlap(legend, tick)]
        if hit:
            out.append(f"chart {chart['index']}: legend over tick labels {hit[:5]}")
    return out


def _resize(page: Any, size: dict[str, int], settle_ms: int) -> bool:
    """Make the window ``size``; when that changes it, wait ``settle_ms`` for the grids and
    charts to lay out again. Whether it changed."""
    if page.viewport_size == size:
        return False
    page.set_viewport_size(size)
    page.wait_for_timeout(settle_ms)
    return True


def _read(page: Any, name: str) -> list[str]:
    """The page's problems now, at the window's size (the page's script has finished: a resize
    runs no script); a full-page screenshot ``name`` (the window made as tall as the page for
    the picture, then put back)."""
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
    try:   # read once every table and chart shown is drawn, in the same turn as the check
        # as long as the other waits: a loaded machine (CI) has taken over 20 s to draw one
        found = page.wait_for_function(_DRAWN_PROBE, timeout=60_000).json_value()
    except PlaywrightTimeout:   # what never drew is reported
        found = page.evaluate(PROBE)
    size = page.viewport_size
    tall = page.evaluate("""() => { const m = document.querySelector('[data-testid="stMain"]');
        return m ? m.scrollHeight : document.body.scrollHeight; }""")
    if tall > size["height"]:   # for the picture only: the probe has read the page
        _resize(page, {"width": size["width"], "height": min(int(tall) + 40, 9000)}, 150)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.set_viewport_size(size)
    return problems(found)


def _open(page: Any, spec: PageSpec, several: bool, first: bool) -> None:
    """Open the page by its menu link (the first page is where signing in lands, its address
    the app's own) and wait until its script has finished."""
    if several:   # Streamlit shows no menu for a single page
        link = page.get_by_role("link", name=t(spec.title_key, "zh-CN"), exact=True)
        link.first.click()
        if not first:
            page.wait_for_url(   # a page may keep its choice in the query string
                lambda url: urlparse(url).path.rstrip("/").endswith(spec.url_path),
                timeout=60_000)
    page.get_by_role("heading", level=1).first.wait_for(timeout=60_000)
    _wait_quiet(page)


#: The sections a page draws only once opened (lazy expanders), by script: the label of each
#: and what it then draws inside (a selector and how many), so that the walk opens them and
#: reads them too.
LAZY = {
    "process_map.py": [("model.title", ".js-plotly-plot", 1)],
    "queue.py": [("queue.by_window", ".js-plotly-plot", 1),
                 ("queue.windows", '[data-testid="stMetric"]', 4),
                 ("queue.per_teller", _GRID, 1)],
    "bottlenecks.py": [("bottlenecks.breakdowns", ".js-plotly-plot", 3),
                       ("bottlenecks.by_month", ".js-plotly-plot", 1)],
    "my_figures.py": [("my_figures.training", "h3", 2)],   # spot checks, papers: their headings
}


def _open_sections(page: Any, spec: PageSpec) -> list[str]:
    """Open the page's lazy sections (closed at first: what they draw is not on the page) and
    wait until they are drawn; what went wrong."""
    out = []
    for key, selector, count in LAZY.get(spec.script, []):
        label = t(key, "zh-CN").split("{")[0]   # a title that counts: its words before the count
        section = page.locator('[data-testid="stExpander"]').filter(
            has=page.locator("summary").filter(has_text=label)).first
        drawn = section.locator(selector)
        if drawn.count():
            out.append(f"section {label!r} drawn before it was opened")
        section.locator("summary").first.click()
        try:
            drawn.nth(count - 1).wait_for(timeout=60_000)
        except PlaywrightTimeout:
            out.append(f"section {label!r} not drawn once opened")
        _wait_quiet(page)
    return out


def test_the_wide_table_check_fails_on_a_table_too_wide() -> None:
    """The DOM criterion itself: a grid whose columns need 3048 px in 1278 px is reported, one
    that fits is not, and a legend drawn under the x axis's labels is reported."""
    found = {"grids": [{"index": 0, "shown": True, "ready": True, "scrollWidth": 3048,
                        "clientWidth": 1278, "headers": ["a"]},
                       {"index": 1, "shown": True, "ready": True, "scrollWidth": 1278,
                        "clientWidth": 1278, "headers": ["b"]},
                       {"index": 2, "shown": False, "ready": False, "scrollWidth": 0,
                        "clientWidth": 0, "headers": []}],
             "charts": [{"index": 0, "ready": True,
                         "legend": {"l": 114, "t": 708, "r": 229, "b": 737},
                         "ticks": [{"l": 150, "t": 696, "r": 300, "b": 712, "text": "点钞"}]},
                        {"index": 1, "ready": True,
                         "legend": {"l": 114, "t": 400, "r": 229, "b": 420},
                         "ticks": [{"l": 150, "t": 696, "r": 300, "b": 712, "text": "点钞"}]}]}
    assert problems(found) == [
        "table 0 ['a']: columns 3048 px wide in 1278 px",
        "chart 0: legend over tick labels ['点钞']",
    ]


def _opened(page: Any, spec: PageSpec) -> list[str]:
    """What is wrong with a page just opened: an error box, an empty title, or the chart,
    table or downloads its page shows by default missing (an exception the layout probe
    counts, :func:`problems`)."""
    out = []
    if page.locator('[data-testid="stAlertContentError"]').count():
        out.append("an error box on the page")
    if not page.get_by_role("heading", level=1).first.inner_text().strip():
        out.append("an empty title")
    wanted = {"overview.py": ".js-plotly-plot", "my_figures.py": ".js-plotly-plot",
              "bottlenecks.py": ".js-plotly-plot", "announcement.py": _GRID,
              "baseline.py": _GRID, "sop_library.py": _GRID, "sop_history.py": _GRID}
    try:
        if spec.script in wanted:
            page.locator(wanted[spec.script]).first.wait_for(timeout=60_000)
        if spec.script == "announcement.py":  # the downloads come after the table
            excel = page.get_by_role("button", name=re.compile("Excel"))
            excel.first.wait_for(timeout=60_000)
            if excel.count() != 1:
                out.append(f"{excel.count()} Excel download buttons")
    except PlaywrightTimeout as exc:
        out.append(f"not shown: {exc.message.splitlines()[0]}")
    return out


@pytest.mark.parametrize("role", ROLES)
def test_every_page_opens_and_fits_at_both_sizes(role: str, server: str, browser: Any) -> None:
    """The role signs in and opens each page of its menu (and no other role's): no exception
    or error box, a title, its default chart or table drawn; then the layout at both sizes."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[0]
    page = browser.new_page(viewport={"width": width, "height": height})
    specs = [p for p in pages_for_role(role) if not p.hidden]
    wrong: list[str] = []
    try:
        _sign_in(page, server, DEMO_USERS[role])
        page.get_by_role("heading", level=1).first.wait_for(timeout=60_000)
        for n, spec in enumerate(specs):
            _open(page, spec, len(specs) > 1, n == 0)
            wrong += [f"{spec.url_path}: {p}" for p in _opened(page, spec)]
            wrong += [f"{spec.url_path}: {p}" for p in _open_sections(page, spec)]
            for w, h in SIZES:
                # the grids and charts lay out again after a resize: 250 ms
                _resize(page, {"width": w, "height": h}, 250)
                shot = f"layout-{w}x{h}-{role}-{spec.url_path}.png"
                wrong += [f"{spec.url_path} {w}x{h}: {p}" for p in _read(page, shot)]
            page.set_viewport_size({"width": width, "height": height})
        # the links of other roles' pages are not offered
        for spec in pages_for_role("operations"):
            name = t(spec.title_key, "zh-CN")  # exact: "柜员" is also in "柜员×业务类型"
            if role not in spec.roles and page.get_by_role("link", name=name,
                                                           exact=True).count():
                wrong.append(f"a link to {spec.url_path}, a page of another role")
    finally:
        page.close()
        (ARTIFACTS / f"layout-{role}.txt").write_text("\n".join(wrong) + "\n", encoding="utf-8")
    assert not wrong, "\n".join(wrong)
