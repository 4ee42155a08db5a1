"""Every page, as every demo role, in Chinese: no label in English (issue 17). And in English:
no label in Chinese.

The walk opens each page of the registry for each role that may open it (one AppTest per role,
switching pages) on the demo workspace, and reads everything the page shows
(:func:`walk_kit.page_texts`: titles, captions, markdown, alerts, metrics, widget labels, helps
and options, buttons, tabs and expanders, table headers and the cells of text columns, chart
titles, axes, legends and categories). A Chinese page fails on a Latin word that is not a code,
a unit, a format or an allowed name (:func:`walk_kit.latin_words`), once the data in it is taken
out: user names and file names (and, on the SOP editor, the log's activity names: the editor
edits which log activity a step is). What is data and what is a label: a label is what the page
itself says; the cells of a table of records (who, notes, ids, codes) are data
(:data:`DATA_COLUMNS`), the cells of an enumeration (a category, an action, a state) are labels.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from apptest import REPO, app_as, signed_in
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import ElementTree
from walk_kit import Text, cjk_runs, latin_words, page_texts, without

from procmine import (
    DEMO_PASSWORD,
    ROLES,
    EventStore,
    build_demo_workspace,
    list_improvements,
    list_papers,
    list_questions,
    list_users,
    system_user,
    t,
)
from procmine.app.i18n import load_messages
from procmine.dashboard.registry import PAGES, PageSpec

ZH, EN = "zh-CN", "en"

# The cells of these columns are data (records, free text, identifiers): only their headers are
# checked. By message key, so in both languages.
DATA_COLUMNS = frozenset({
    "audit.user", "audit.detail",      # who, and the record's detail as stored when it happened
    "sop_history.author", "sop_history.note", "sop_history.commit",
    "qbank.key", "qbank.topic", "qbank.updated", "qbank.stem", "qbank.choice", "qbank.note",
    "tcol.stem", "tcol.checker", "tcol.note", "spot.note",
    "papers.paper_title", "history.source",
    "improve.hist.who", "improve.hist.note", "improve.col.owner", "improve.action.note",
    "improve.evidence.value", "sops.coverage_col.step_id",
    "editor.required_when",            # the condition's grammar, as typed (in words beside it)
    "audit.code",                      # the action's code (`procmine user audit --action`)
})

# The sections drawn only once opened (lazy expanders), opened: their texts are checked too.
OPENED = ("pmodel_open", "item_history", "queue_windows_open", "queue_vip_open",
          "queue_tellers_open", "bn_breakdowns_open", "bn_by_month_open", "my_training_open")


@dataclass(frozen=True)
class Offence:
    role: str
    kind: str
    text: str
    words: tuple[str, ...]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("walk-workspace")
    report = build_demo_workspace(home)
    assert report is not None and report.loaded > 100_000
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    return demo_home


def record_data(home: Path) -> set[str]:
    """The workspace's records: the users' names and display names (the system's own and the
    demo seeder's too), the files loaded (names and addresses), the question bank's topics
    (the categories of the imported files)."""
    names = {"seed-demo", system_user().username}
    for user in list_users(home):
        names |= {user.username, user.display_name or ""}
    for batch in EventStore(home).batches():
        source = str(batch.get("source") or "")
        names |= {source, Path(source).name}
    names |= {q.question.topic for q in list_questions(home=home)}
    return {n for n in names if n}


def chinese_data(home: Path) -> set[str]:
    """The workspace's own Chinese texts, data on an English page: the question bank (stems,
    choices, titles, feedback), the papers' titles, the improvement items' words."""
    texts: set[str] = set()
    for q in list_questions(home=home):
        texts |= {q.question.stem, q.question.title, q.question.general_feedback, q.note}
        texts |= {c.text for c in q.question.choices}
    texts |= {p.title for p in list_papers(home=home)}
    for item in list_improvements(user=signed_in("operations", home), home=home):
        texts |= {item.proposed_change, item.decision_reason, item.branch_action}
        texts |= {e.note for e in item.events}
    return {x for x in texts if x}


def walk(home: Path, lang: str, *, every_role: bool = True
         ) -> Iterator[tuple[str, PageSpec, list[Text]]]:
    """Each page as each role that may open it (or only as the first, when not
    ``every_role``): (role, page, its texts)."""
    done: set[str] = set()
    for role in ROLES:
        pages = [p for p in PAGES if role in p.roles and (every_role or p.script not in done)]
        if not pages:
            continue
        at = app_as(role, home)
        at.session_state["procmine_lang"] = lang
        for key in OPENED:
            at.session_state[key] = True
        at.run()
        for page in pages:
            done.add(page.script)
            yield role, page, texts_of(at, page, lang)


def texts_of(at: AppTest, page: PageSpec, lang: str) -> list[Text]:
    """Switch ``at`` to ``page`` and read it. The tree of the last page is dropped first: AppTest
    calls a widget's ``format_func`` outside the script to send its value on, where the page's
    language is not known (every widget keeps its value in the session state all the same)."""
    at._tree = ElementTree()
    at._tree._runner = at
    at.switch_page(str(page.path.relative_to(REPO))).run()
    assert not at.exception, (page.script, at.exception)
    nav = Text("navigation", t(page.title_key, lang))
    return [nav, *page_texts(at, sidebar=True)]


def data_headers(lang: str) -> set[str]:
    return {t(key, lang) for key in DATA_COLUMNS}


def offences(texts: Iterable[Text], role: str, page: str, lang: str,
             data: set[str]) -> list[Offence]:
    check = latin_words if lang == ZH else cjk_runs
    skip = data_headers(lang)
    found = []
    for text in texts:
        if text.kind.startswith("cell:") and text.kind[5:] in skip:
            continue
        words = check(text.text, data)
        if words:
            found.append(Offence(role, text.kind, text.text, tuple(words)))
    return found


def report(found: dict[str, list[Offence]]) -> str:
    lines = []
    for page, items in sorted(found.items()):
        lines.append(f"{page}:")
        seen = set()
        for o in items:
            if (o.kind, o.text) not in seen:
                seen.add((o.kind, o.text))
                lines.append(f"  [{o.kind}] {o.text[:160]!r} ({o.role}): {', '.join(o.words)}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def chinese_walk(demo_home: Path) -> dict[tuple[str, str], list[Text]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("PROCMINE_HOME", str(demo_home))
    try:
        return {(role, page.script): texts for role, page, texts in walk(demo_home, ZH)}
    finally:
        mp.undo()


# --- the classifier ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "P17 点钞：中位用时 70 s，参考 30 秒（2.3 倍），共 57 笔",
    "柜员 0406（B04），SOP-P17 2.1，C44 对公现金缴存",
    "导出 CSV、Excel（.xlsx）、HTML；BPMN（XML）、Petri 网（PNML）；XES.gz",
    "数据版本 a011a25f65750ee3，提交 3250af6e，批次 20261205T134217-a0442b65",
    "检验 q = 1.1e-63；p90 用时 12s；VIP 窗口；SLA 80%；3.5min；UTF-8 或 GB18030",
    ":blue-badge[已提出] [查看](https://example.org/docs) :material/add_task:",
    "映射文件：`columns:` 下写规范列名",
    "时间（UTC）",
    "请管理员用 `procmine user set-role --branch` 指定网点；未指定 --month 时取最近的月份",
    "含控制字符（NUL、制表符）",
    "",
])
def test_the_classifier_passes_codes_units_and_names(text: str) -> None:
    assert latin_words(text) == []


@pytest.mark.parametrize(("text", "words"), [
    ("Submitted for review", ["Submitted", "for", "review"]),
    ("审计：auth.sign_in", ["auth.sign_in"]),
    ("分类 personal_account", ["personal_account"]),
    ("同业参考（the median of 5 branches）", ["the", "median", "of", "branches"]),
    ("中位用时 Median", ["Median"]),
    ("P17 Count cash", ["Count", "cash"]),
    (":red[Overdue]", ["Overdue"]),
    ("下载 report.pdf", ["report.pdf"]),
])
def test_the_classifier_finds_english_words(text: str, words: list[str]) -> None:
    assert latin_words(text) == words


def test_data_is_taken_out_before_the_check() -> None:
    assert latin_words("已登录：Operations (demo)（运营管理）", ["Operations (demo)"]) == []
    assert latin_words("P17 Count cash", ["Count cash"]) == []
    assert latin_words("P17 Count cash，Enter transaction", ["Count cash"]) == ["Enter",
                                                                                "transaction"]
    assert without("a Count cash b", ["Count cash"]) == "a   b"
    assert without("tellers_eligible", ["teller"]) == "tellers_eligible"


def test_the_english_check_finds_chinese() -> None:
    assert cjk_runs("Median 70 s (P17)") == []
    assert cjk_runs("Median 中位 70 s") == ["中位"]
    assert cjk_runs("Step 点钞", ["点钞"]) == []
    assert cjk_runs("Language: 中文 | English") == []


def _message(text: str) -> str:
    return re.sub(r"\{[^}]*\}", " ", text)   # a placeholder is filled with data


def test_every_chinese_message_is_chinese(demo_home: Path) -> None:
    """The messages a page shows only in a state the walk does not meet (an empty store, an
    error, a form sent): each Chinese message on its own, its placeholders aside. The demo
    hint names the demo users (data)."""
    data = {u.username for u in list_users(demo_home)}
    bad = {key: latin_words(_message(text), data) for key, text in load_messages(ZH).items()}
    assert {key: words for key, words in bad.items() if words} == {}


def test_every_english_message_is_english() -> None:
    bad = {key: cjk_runs(_message(text)) for key, text in load_messages(EN).items()}
    assert {key: runs for key, runs in bad.items() if runs} == {}


# --- the walks ---------------------------------------------------------------------------------

def test_every_page_as_every_role_in_chinese_shows_no_english_label(
        chinese_walk: dict[tuple[str, str], list[Text]], home: Path) -> None:
    data = record_data(home)
    assert {page for _, page in chinese_walk} == {p.script for p in PAGES}
    assert {role for role, _ in chinese_walk} == set(ROLES)
    # the SOP editor edits which log activity a step is (its picker and column say "the name
    # in the log"): there the log's names are the data being edited
    log_names = {str(a) for a in EventStore(home).read_events(["activity"]).column(
        "activity").unique().to_pylist() if a}
    with (REPO / "sops" / "activities.csv").open(encoding="utf-8") as glossary:
        log_names |= {row["activity"] for row in csv.DictReader(glossary)}
    found: dict[str, list[Offence]] = {}
    for (role, page), texts in chinese_walk.items():
        assert len(texts) > 3, (role, page)   # a title, the sidebar, something of its own
        bad = offences(texts, role, page, ZH, data | log_names if page == "sop_editor.py"
                       else data)
        if bad:
            found.setdefault(page, []).extend(bad)
    assert not found, "English on Chinese pages:\n" + report(found)


def test_the_sign_in_page_in_chinese_shows_no_english_label(home: Path) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    texts = page_texts(at, sidebar=True)
    assert any(x.kind == "title" for x in texts)
    data = record_data(home) | {DEMO_PASSWORD}   # the demo hint names the users and password
    assert offences(texts, "-", "sign-in", ZH, data) == []


def test_the_walk_catches_a_planted_english_label(home: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A message left in English in the Chinese catalogue (a metric label, a column header and
    a chart's axis title) is found on the page that shows it."""
    planted = {"overview.tellers": "Tellers", "table.teller_id": "Teller ID",
               "overview.standard_time": "Standard time"}
    messages = load_messages(ZH)
    for key, text in planted.items():
        assert key in messages
        monkeypatch.setitem(messages, key, text)   # type: ignore[index]
    assert t("overview.tellers", ZH) == "Tellers"
    at = app_as("operations", home)
    at.run()
    page = next(p for p in PAGES if p.script == "overview.py")
    found = offences(texts_of(at, page, ZH), "operations", page.script, ZH,
                     record_data(home))
    kinds = {(o.kind, o.text) for o in found}
    assert ("metric label", "Tellers") in kinds
    assert any(kind == "column" and "Teller" in text for kind, text in kinds)
    assert ("chart trace", "Standard time") in kinds
    assert all(set(o.words) <= {"Tellers", "Teller", "Standard", "time"} for o in found), found


def test_every_page_in_english_shows_no_chinese_label(home: Path) -> None:
    """Each page once, as the first role that may open it."""
    data = record_data(home) | chinese_data(home)
    found: dict[str, list[Offence]] = {}
    pages = set()
    for role, page, texts in walk(home, EN, every_role=False):
        pages.add(page.script)
        assert any(x.kind == "title" for x in texts), (role, page.script)
        bad = offences(texts, role, page.script, EN, data)
        if bad:
            found.setdefault(page.script, []).extend(bad)
    assert pages == {p.script for p in PAGES}
    assert not found, "Chinese on English pages:\n" + report(found)
