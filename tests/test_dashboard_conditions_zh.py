"""The Chinese pages on the demo workspace say an SOP step's condition, a finding's peer basis
and an SOP step in Chinese: the SOP view (the condition and the required_when in words), the
slow-steps page (the peer basis), the spot checks and the SOP editor (steps by number and
name, never by id)."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest import REPO, app_as, signed_in
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import ElementTree
from walk_kit import page_texts

from procmine import SopLibrary, build_demo_workspace, condition_text, t

ZH, EN = "zh-CN", "en"
PAGES = REPO / "procmine" / "dashboard" / "pages"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("conditions-workspace")
    assert build_demo_workspace(home) is not None
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    return demo_home


def _page(role: str, home: Path, page: str, lang: str = ZH, **state: object) -> AppTest:
    if lang == ZH:
        at = app_as(role, home)
        for key, value in state.items():
            at.session_state[key] = value
        at.run()
        at._tree = ElementTree()
        at._tree._runner = at
        at.switch_page(str((PAGES / page).relative_to(REPO))).run()
    else:  # the page by its address, in the language the switch would have chosen (a
        # widget's format_func is called outside the script, in the default language)
        at = AppTest.from_file(str(PAGES / page), default_timeout=60)
        at.session_state["procmine_user"] = signed_in(role, home)
        at.session_state["procmine_lang"] = lang
        for key, value in state.items():
            at.session_state[key] = value
        at.run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> list[str]:
    return [x.text for x in page_texts(at)]


@pytest.mark.parametrize("lang", [ZH, EN])
def test_the_sop_view_says_the_condition_in_the_readers_language(home: Path, lang: str) -> None:
    # the search leaves one SOP, which the page then shows
    at = _page("operations", home, "sop_library.py", lang, sops_search="SOP-P17")
    texts = _texts(at)
    sop = SopLibrary.open(home).approved("SOP-P17")
    assert sop is not None
    reverse = sop.sop.step("reverse_transaction")
    when = "过账后发现录入错误" if lang == ZH else "entry error found after posting"
    assert reverse.when_in(lang) == when
    assert t("view.when", lang, when=when) in texts
    words = "金额 ≥ 50,000" if lang == ZH else "amount ≥ 50,000"
    assert condition_text("amount >= 50000", lang) == words
    assert t("view.required_when", lang, condition=words) in texts
    if lang == ZH:
        assert not [x for x in texts if "entry error" in x or "amount >=" in x]


def test_the_slow_steps_page_says_the_peer_basis_in_chinese(home: Path) -> None:
    texts = " ".join(_texts(_page("operations", home, "bottlenecks.py")))
    assert "个网点典型中位数的中位数（不含本组）" in texts
    assert "typical medians" not in texts and "left out" not in texts


def test_the_spot_checks_name_steps_not_ids(home: Path) -> None:
    at = _page("trainer", home, "spot_checks.py")
    texts = _texts(at)
    ids = {s.id for v in SopLibrary.open(home).latest().values() for s in v.sop.steps}
    assert not [x for x in texts if x in ids]      # no cell or label is a bare step id
    assert any(x.startswith("6. 点钞") or ", 6. 点钞" in x for x in texts)


def test_the_editor_picks_steps_by_number_and_name(home: Path) -> None:
    at = _page("reviewer", home, "sop_editor.py")
    [pick] = [s for s in at.selectbox if s.label == t("editor.step_pick", ZH)]
    assert pick.options[:3] == ["1. 叫号", "2. 迎客验号", "3. 询问需求"]
    texts = _texts(at)
    assert any(
        x.startswith("**1. 叫号：") and x.endswith("条未处理的发现**") for x in texts)
    assert not [x for x in texts if x.startswith("**call_number")]
    # the steps table keeps the condition as typed; its words are in the step's own form
    assert t("editor.required_when", ZH) in texts
