"""Data values on the pages are text, not markdown; a page that fails shows a message to act
on, never a traceback (client.showErrorDetails); a control character in an id does not take the
Announcement page down."""

from __future__ import annotations

import csv
import html
import random
import re
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from markdown_it import MarkdownIt
from streamlit.config import ShowErrorDetailsConfigOptions
from streamlit.testing.v1 import AppTest

from procmine import EventStore, User, add_user, authenticate, ingest_log, t
from procmine.dashboard import data
from procmine.dashboard.components import charts
from procmine.dashboard.components.text import plain

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
MONTH = "2026-03"
MARKDOWN_ID = "**bold**[x](http://evil)"
PASSWORD = "render-check: 7 tellers, 3 branches"
COMMONMARK = MarkdownIt("commonmark").enable(["strikethrough", "table"])


def _shown(value: str) -> str:
    """What a page should show for ``value``: its text, line breaks as spaces, as HTML."""
    text = re.sub(r"[\t\n]+", " ", value).strip()
    return f"<p>{html.escape(text, quote=False).replace(chr(34), '&quot;')}</p>\n" if text else ""


@pytest.mark.parametrize("value", [
    MARKDOWN_ID, "*em* _em_ `code` ~~del~~ ~del~", "# heading", "- item", "+ item", "1. item",
    "12) item", "> quote", "<b>bold</b><script>x</script>", ":red[alarm] $x^2$", "a\\*b",
    "|a|b|", "line one\nline two", "tab\there", "![img](http://evil/x.png)", "&amp; &lt;",
    "B01", "柜员 0101", "__init__", "a__b", "x_", "_x", "standard_seconds",
])
def test_plain_shows_the_value_as_written(value: str) -> None:
    rendered = COMMONMARK.render(plain(value))
    assert rendered == _shown(value), plain(value)


def test_plain_shows_any_mix_of_markdown_characters_as_written() -> None:
    alphabet = [*"ab1 _*~`[]()<>!#-+=.:/\\|$&@;'\"{}^%\n\t", "http://", "www.", "&amp;", "柜",
                "1.", "**", "__", "x_y"]
    rng = random.Random(12)
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
        assert COMMONMARK.render(plain(value)) == _shown(value), (value, plain(value))


def test_plain_leaves_ordinary_values_alone() -> None:
    summary = ("Branch B06, 3 of 3 tellers, P28 Enter transaction: median 33 s vs 16 s "
               "reference (2.1x) over 176 cases; costs 0.5 teller hours a month")
    assert plain(summary) == summary
    assert plain("SOP-P17.md:21: steps.standard_seconds") == "SOP-P17.md:21: steps.standard_seconds"
    assert plain(None) == "" and plain(12) == "12" and plain(-1.5) == "\\-1.5"
    assert plain("B\x0001\x0b") == "B01"
    assert plain("see http://evil or www.evil.example") == "see http\\://evil or www\\.evil.example"


def test_errors_are_not_shown_in_the_browser() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == ShowErrorDetailsConfigOptions.NONE.value
    for lang in ("zh-CN", "en"):
        assert t("common.unexpected", lang) != "common.unexpected"


def test_tables_offer_no_raw_csv_download() -> None:
    """st.dataframe's toolbar download does not escape formulas: it is switched off."""
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True


def test_chart_labels_made_of_data_are_not_markup() -> None:
    link = '<a href="https://evil.example">pay here</a>'
    frame = pd.DataFrame({
        "teller_id": [link, "0101"], "branch_id": ["<b>B1</b>", "B&2"], "transactions": [40, 40],
        "speed_index": [1.1, 0.9], "speed_index_shrunk": [1.05, 0.95], "rank_overall": [1, 2]})
    labels = {k: k for k in ("raw", "ranked", "speed", "standard", "transactions")}
    figure = charts.league_speed(frame, labels)
    shown = [str(y) for trace in figure.data for y in (trace.y or ())] + [
        str(trace.name) for trace in figure.data]
    assert not any("<a" in v or "<b>" in v for v in shown)
    assert ("&lt;a href=\"https://evil.example\"&gt;pay here&lt;/a&gt; "
            "(&lt;b&gt;B1&lt;/b&gt;)") in shown
    assert "0101 (B&amp;2)" in shown
    steps = charts.steps_vs_reference(pd.DataFrame({
        "activity": ['<span style="font-size:90px">Count</span>'], "median_seconds": [30.0],
        "reference_seconds": [20.0]}), {"reference": "r", "actual": "a", "seconds": "s"})
    assert list(steps.data[0].y) == ['&lt;span style="font-size:90px"&gt;Count&lt;/span&gt;']


# -- pages ---------------------------------------------------------------------------------------


def _log(path: Path) -> Path:
    tellers = [("0101", "B01"), (MARKDOWN_ID, MARKDOWN_ID), ("0202", "B02")]
    first = datetime(2026, 3, 2, 8, 30)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_id", "activity", "start_time", "end_time", "teller_id",
                         "branch_id", "business_type", "amount", "error"])
        for n in range(90):
            teller, branch = tellers[n % 3]
            start = first + timedelta(days=n // 30, minutes=10 * (n % 30))
            end = start + timedelta(seconds=50 + n % 7)
            writer.writerow([f"c{n:03d}", "Enter transaction", f"{start:%Y-%m-%d %H:%M:%S}",
                             f"{end:%Y-%m-%d %H:%M:%S}", teller, branch, "P17", "", "0"])
    return path


@pytest.fixture(scope="module")
def text_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("text-pages")
    report = ingest_log(EventStore(home), _log(home / "log.csv"))
    assert report.loaded == 90, report
    add_user("ops1", PASSWORD, "operations", home=home)
    return home


@pytest.fixture
def home(text_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(text_home))
    return text_home


def _announcement(home: Path) -> AppTest:
    user = authenticate("ops1", PASSWORD, home)
    assert isinstance(user, User)
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["procmine_user"] = user
    at.run()
    at.switch_page("procmine/dashboard/pages/announcement.py").run()
    return at


def test_an_id_in_markdown_is_shown_as_text_on_the_announcement(home: Path) -> None:
    at = _announcement(home)
    assert not at.exception, at.exception
    branches = at.radio(key="announcement_branch")
    assert plain(MARKDOWN_ID) in branches.options
    assert MARKDOWN_ID not in branches.options
    branches.set_value(MARKDOWN_ID).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["teller_id"]) == [MARKDOWN_ID]


def test_a_control_character_in_an_id_does_not_break_the_announcement(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = data.league

    def odd_league(month: str) -> pd.DataFrame:
        table = real(month).copy()
        table["teller_id"] = [f"T\x00{i}\x0b" for i in range(len(table))]
        table["branch_id"] = ["B\x0001", "B\x0b02", "\x1f=9"][: len(table)]
        return table

    monkeypatch.setattr(data, "league", odd_league)
    at = _announcement(home)
    assert not at.exception, at.exception
    assert [b for b in at.radio(key="announcement_branch").options][1:] == [
        "\\=9", "B01", "B02"]
    assert len(at.get("download_button")) == 2


def test_a_failing_page_says_so_without_details(home: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[str]:
        raise RuntimeError("secret detail /srv/bank/workspace")

    monkeypatch.setattr(data, "months", broken)
    at = _announcement(home)
    assert [e.value for e in at.error] == [t("common.unexpected", "zh-CN")]
    assert at.exception  # still raised: the server logs it
