"""The SOP pages through AppTest: library, SOP view, editor, review queue and history, on a
workspace whose SOP library is seeded from two SOPs written here; the edit -> submit -> approve
flow with the workflow's rules; a conflicting save. (That every page opens for its roles and
refuses the others is tests/test_dashboard.py's, over the registry.)"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import TextArea

from procmine import (
    DEMO_PASSWORD,
    Editor,
    EventStore,
    SopLibrary,
    User,
    activity_names,
    authenticate,
    bundled_demo_log,
    ingest_log,
    load_baseline,
    seed_demo_users,
    t,
)
from tests.test_sop_library import SOP_TEXT

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
ZH = "zh-CN"

# the library tests' SOP with other step times: Count cash 30 s, Enter transaction 60 s
SOP_P17 = (SOP_TEXT
           .replace("standard_seconds: 60\n    controls", "standard_seconds: 30\n    controls")
           .replace("    standard_seconds: 30\n---", "    standard_seconds: 60\n---"))

SOP_P28 = """\
---
id: SOP-P28
title: {zh: 代缴水电煤气费, en: Utility bill payment}
business_types: [P28]
owner_group: domestic-settlement
version: "1.0"
status: approved
effective: 2026-03-01
review_due: 2027-03-01
approved_by: qian
steps:
  - id: call_number
    activity: Call number
    standard_seconds: 10
  - id: enter_transaction
    activity: Enter transaction
    standard_seconds: 30
  - id: print_voucher
    activity: Print voucher
    standard_seconds: 20
---
# 代缴水电煤气费 Utility bill payment

### 1. 叫号 Call number {#call_number}

叫号。

### 2. 录入 Enter transaction {#enter_transaction}

录入缴费单号，核对户名与金额。

### 3. 打印凭证 Print voucher {#print_voucher}

打印回单，请客户核对。
"""


def _seed(home: Path) -> SopLibrary:
    seed = home / "seed-sops"
    seed.mkdir(parents=True)
    (seed / "SOP-P17.md").write_text(SOP_P17, encoding="utf-8")
    (seed / "SOP-P28.md").write_text(SOP_P28, encoding="utf-8")
    return SopLibrary.open(home, seed=seed)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo log and users, a library seeded from the two SOPs above, and a second approved
    version of SOP-P28 in force from 2026-10-01 (inside the demo log's span)."""
    home = tmp_path_factory.mktemp("sop-pages")
    seed_demo_users(home)
    library = _seed(home)
    ingest_log(EventStore(home), bundled_demo_log(), baseline=load_baseline())
    head = library.current("SOP-P28")
    text = head.sop.text.replace("effective: 2026-03-01", "effective: 2026-10-01")
    text = text.replace("standard_seconds: 30", "standard_seconds: 25")
    text = text.replace("standard_seconds: 20", "standard_seconds: 25")
    author = Editor("dana", "reviewer", "domestic-settlement", "Dana")
    library.save("SOP-P28", text, user=author, note="Shorter entry with the bill scanner",
                 base=head.commit, today=date(2026, 9, 20))
    library.submit("SOP-P28", user=author, today=date(2026, 9, 20))
    settlement = authenticate("settlement", DEMO_PASSWORD, home)
    library.approve("SOP-P28", user=settlement, today=date(2026, 9, 21))
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    return demo_home


@pytest.fixture
def flow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with the demo users and the two SOPs, no events: for the workflow."""
    seed_demo_users(tmp_path)
    _seed(tmp_path)
    monkeypatch.setenv("PROCMINE_HOME", str(tmp_path))
    return tmp_path


def _user(username: str, home: Path) -> User:
    user = authenticate(username, DEMO_PASSWORD, home)
    assert user is not None
    return user


def _open(username: str, home: Path, script: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["procmine_user"] = _user(username, home)
    at.run()
    at.switch_page(f"procmine/dashboard/pages/{script}").run()
    assert not at.exception, at.exception
    return at


def _source(at: AppTest) -> TextArea:
    """The editor's source text area (its key carries the form's revision)."""
    (found,) = [a for a in at.text_area if str(a.key).startswith("editor_source_SOP-P17_")]
    return found


def _html(at: AppTest) -> str:
    return "\n".join(h.value for h in at.get("html"))


def _texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown] + [c.value for c in at.caption]


def test_library_lists_searches_and_shows_the_document_with_findings(home: Path) -> None:
    from procmine import findings_by_step, linked_findings

    at = _open("ops", home, "sop_library.py")
    table = at.dataframe[0].value
    assert list(table[t("sops.id", ZH)]) == ["SOP-P17", "SOP-P28"]
    assert list(table[t("sops.in_force", ZH)]) == ["1.2", "2.0"]
    # the list first: no document until one is chosen
    pick = at.selectbox(key="sops_pick")
    assert pick.value is None and pick.placeholder == t("sops.choose", ZH)
    assert pick.options == ["SOP-P17 活期现金存款", "SOP-P28 代缴水电煤气费"]
    assert 'id="count_cash"' not in _html(at) and 'id="print_voucher"' not in _html(at)
    # a search that leaves one SOP opens it
    at.text_input(key="sops_search").input("utility").run()
    assert at.selectbox(key="sops_pick").value == "SOP-P28"
    assert 'id="print_voucher"' in _html(at)
    at.text_input(key="sops_search").input("").run()
    at.text_input(key="sops_search").input("utility").run()
    assert list(at.dataframe[0].value[t("sops.id", ZH)]) == ["SOP-P28"]
    at.text_input(key="sops_search").input("count cash").run()
    assert list(at.dataframe[0].value[t("sops.id", ZH)]) == ["SOP-P17"]
    at.text_input(key="sops_search").input("").run()
    at.multiselect(key="sops_groups").set_value(["domestic-settlement"]).run()
    assert list(at.dataframe[0].value[t("sops.id", ZH)]) == ["SOP-P28"]
    at.multiselect(key="sops_groups").set_value([]).run()
    at.checkbox(key="sops_due_only").check().run()
    due = {v.sop.id for v in SopLibrary.open(home).due_for_review(date.today(), 30)}
    if due:
        assert set(at.dataframe[0].value[t("sops.id", ZH)]) == due
    else:
        assert t("sops.none_match", ZH) in [i.value for i in at.info]
    at.checkbox(key="sops_due_only").uncheck().run()

    # the SOP view: each step's section rendered, its standard time and findings beside it
    at.selectbox(key="sops_pick").set_value("SOP-P17").run()
    assert not at.exception
    page = _html(at)
    assert 'id="count_cash"' in page and "当面点清，唱收唱付。" in page
    library = SopLibrary.open(home)
    expected = findings_by_step(linked_findings(EventStore(home), load_baseline(), library),
                                library.current("SOP-P17").sop)
    texts = _texts(at)
    sop = library.current("SOP-P17").sop
    for row in expected.itertuples():
        seconds = f"{sop.step(str(row.step_id)).standard_seconds:g}"
        assert f"**{t('view.standard', ZH, seconds=seconds)}**" in texts
        if row.findings:
            hours = f"{row.monthly_teller_hours:.1f}"
            assert f":red[{t('view.findings', ZH, n=row.findings, hours=hours)}]" in texts
    # the demo log has tellers slow at counting cash for P17: linked to the SOP's step
    assert expected.set_index("step_id").loc["count_cash", "findings"] > 0

    # operations see the coverage of the logs
    assert any(m.label == t("sops.coverage_share", ZH) for m in at.metric)


def test_history_shows_versions_diff_text_on_a_date_and_revision_effects(home: Path) -> None:
    at = _open("trainer", home, "sop_history.py")
    at.selectbox(key="history_sop").set_value("SOP-P28").run()
    assert not at.exception
    versions = at.dataframe[0].value
    assert list(versions[t("sops.version", ZH)]) == ["2.0", "2.0", "2.0", "1.0"]
    assert versions[t("sop_history.note", ZH)].iloc[2] == "Shorter entry with the bill scanner"
    old = SopLibrary.open(home).history("SOP-P28")[-1].commit
    # the default comparison: the latest version against the one in force before it
    assert at.selectbox(key="history_old_SOP-P28").value == old
    diff = _html(at)
    assert ('<tr class="pm-changed"><td>    standard_seconds: 30</td>'
            "<td>    standard_seconds: 25</td></tr>") in diff
    at.date_input(key="history_day").set_value(date(2026, 9, 15)).run()
    assert t("sop_history.in_force", ZH, version="1.0", effective="2026-03-01",
             commit=old[:8]) in _texts(at)
    at.date_input(key="history_day").set_value(date(2026, 1, 1)).run()
    assert at.info[0].value == t("sop_history.none_in_force", ZH, sop="SOP-P28",
                                              date="2026-01-01")
    effects = at.dataframe[1].value
    named = activity_names(SopLibrary.open(home))  # the steps by their SOP names in Chinese
    steps = {named.name(a, ZH) for a in ("Call number", "Enter transaction", "Print voucher")}
    assert set(effects[t("bottlenecks.step", ZH)]) == steps
    assert {"叫号", "打印凭证"} <= steps
    assert (effects[t("sop_history.n_before", ZH)] > 0).all()
    assert len(at.get("plotly_chart")) == 1


def test_edit_save_submit_and_approval_by_another_reviewer(flow_home: Path) -> None:
    library = SopLibrary.open(flow_home)
    at = _open("reviewer", flow_home, "sop_editor.py")
    # a reviewer edits only the SOPs of their group
    assert at.selectbox(key="editor_sop").options == ["SOP-P17 活期现金存款"]
    original = _source(at).value
    assert original == SOP_P17
    # a broken value is caught by the checks with its line, and the save is refused
    broken = original.replace("standard_seconds: 60", "standard_seconds: sixty")
    line = broken.splitlines().index("    standard_seconds: sixty") + 1
    _source(at).input(broken).run()
    issues = at.dataframe[0].value
    assert line in list(issues[t("editor.line", ZH)])
    at.text_input(key="editor_note_SOP-P17").input("Try").run()
    at.button(key="editor_save").click().run()
    assert not at.exception
    assert "standard_seconds" in at.error[0].value
    assert len(library.history("SOP-P17")) == 1
    # a good change saves as a draft with its note
    edited = original.replace("当面点清，唱收唱付。", "当面点清，唱收唱付，大额券别分开清点。")
    _source(at).input(edited).run()
    at.text_input(key="editor_note_SOP-P17").input("Count mixed notes apart").run()
    at.button(key="editor_save").click().run()
    head = library.current("SOP-P17")
    assert (head.action, head.author, head.note, head.sop.version, head.sop.status) == (
        "save", "reviewer", "Count mixed notes apart", "1.3", "draft")
    assert [s.value for s in at.success] == [
        t("editor.saved", ZH, sop="SOP-P17", version="1.3", commit=head.short),
        t("editor.no_issues", ZH)]
    assert _source(at).value == head.sop.text
    assert "大额券别分开清点" in _html(at)  # the preview
    # the history shows it
    at.switch_page("procmine/dashboard/pages/sop_history.py").run()
    versions = at.dataframe[0].value
    assert versions[t("sop_history.note", ZH)].iloc[0] == "Count mixed notes apart"
    assert versions[t("sop_history.commit", ZH)].iloc[0] == head.short
    # submit
    at.switch_page("procmine/dashboard/pages/sop_editor.py").run()
    at.button(key="editor_submit").click().run()
    assert not at.exception
    assert library.current("SOP-P17").sop.status == "in_review"
    # the author cannot approve: the library's rule shows as an error
    at.switch_page("procmine/dashboard/pages/sop_review.py").run()
    assert at.selectbox(key="review_pick").value == "SOP-P17"
    at.button(key="review_approve").click().run()
    assert not at.exception
    # in the user's language (the English text stays the exception's, for the command line)
    assert t("error.sop.own_change", ZH, username="reviewer", sop_id="SOP-P17") in (
        at.error[0].value)
    assert library.current("SOP-P17").sop.status == "in_review"
    # the settlement reviewer sees nothing of another group in the queue
    other = _open("settlement", flow_home, "sop_review.py")
    assert [s.value for s in other.success] == [t("review.empty", ZH)]
    # reviewer2 sees the diff against the version in force and the notes, and approves
    second = _open("reviewer2", flow_home, "sop_review.py")
    diff = _html(second)
    assert ('<tr class="pm-changed"><td>当面点清，唱收唱付。</td>'
            "<td>当面点清，唱收唱付，大额券别分开清点。</td></tr>") in diff
    notes = second.dataframe[1].value
    # the automatic note of the submission in the user's language, the author's as written
    assert list(notes[t("sop_history.note", ZH)]) == [t("note.submitted", ZH),
                                                     "Count mixed notes apart"]
    # the draft's effective date (2026-03-01) is pre-filled and said to have passed; approving
    # on it is refused in the reviewer's language (issue 17: never moved to today)
    today = date.today()
    effective = second.date_input(key="review_effective_SOP-P17")
    assert effective.value == date(2026, 3, 1)
    assert t("review.effective_passed", ZH, day="2026-03-01", today=str(today)) in [
        w.value for w in second.warning]
    second.text_area(key="review_comment").input("OK").run()
    second.button(key="review_approve").click().run()
    assert t("error.sop.effective_passed", ZH, sop_id="SOP-P17", day="2026-03-01",
             today=str(today)) in second.error[0].value
    assert library.current("SOP-P17").sop.status == "in_review"
    # the reviewer chooses a later day and approves
    chosen = today + timedelta(days=40)
    second.date_input(key="review_effective_SOP-P17").set_value(chosen).run()
    second.button(key="review_approve").click().run()
    assert not second.exception
    approved = library.approved("SOP-P17")
    assert approved is not None
    assert (approved.sop.version, approved.sop.approved_by, approved.author) == (
        "1.3", "reviewer2", "reviewer2")
    assert (approved.sop.effective, approved.sop.review_due) == (chosen, date(2027, 3, 1))
    assert second.success[0].value == t("review.approved", ZH, sop="SOP-P17", version="1.3",
                                        effective=str(chosen))
    # the history shows the version with the date the reviewer chose
    second.switch_page("procmine/dashboard/pages/sop_history.py").run()
    versions = second.dataframe[0].value
    assert versions[t("sops.effective", ZH)].iloc[0] == str(chosen)
    assert versions[t("sops.version", ZH)].iloc[0] == "1.3"


def test_a_conflicting_save_shows_both_and_loads_the_merged_text(flow_home: Path) -> None:
    library = SopLibrary.open(flow_home)
    at = _open("reviewer", flow_home, "sop_editor.py")
    loaded = library.current("SOP-P17")
    # meanwhile reviewer2 changes the same line
    theirs = loaded.sop.text.replace("当面点清，唱收唱付。", "使用点钞机，屏幕朝向客户。")
    landed = library.save("SOP-P17", theirs, user=_user("reviewer2", flow_home),
                          note="Machine", base=loaded.commit).version
    mine = loaded.sop.text.replace("当面点清，唱收唱付。", "当面点清两遍。")
    _source(at).input(mine).run()
    at.text_input(key="editor_note_SOP-P17").input("Twice").run()
    at.button(key="editor_save").click().run()
    assert not at.exception and not at.error
    (warning,) = at.warning
    assert landed.short in warning.value and "refs/procmine/conflicts/SOP-P17/reviewer-" \
        in warning.value
    merged = _source(at).value
    assert "<<<<<<<" in merged and "当面点清两遍。" in merged and "使用点钞机" in merged
    assert at.session_state["editor_base_SOP-P17"] == landed.commit
    assert ('<tr class="pm-changed"><td>使用点钞机，屏幕朝向客户。</td>'
            "<td>当面点清两遍。</td></tr>") in _html(at)
    assert library.current("SOP-P17").commit == landed.commit


def test_the_body_is_cut_at_the_step_headings() -> None:
    from procmine import parse_sop
    from procmine.dashboard.components.sop_widgets import split_by_steps

    sop = parse_sop(SOP_P17)
    pieces = split_by_steps(sop.body, [s.id for s in sop.steps])
    assert [step for step, _ in pieces] == [None, "call_number", "count_cash",
                                            "enter_transaction", None]
    assert pieces[2][1] == "### 2. 点钞 Count cash {#count_cash}\n\n当面点清，唱收唱付。\n"
    assert pieces[4][1].startswith("## 常见差错 Common errors")
    assert "".join(text for _, text in pieces).replace("\n", "") == sop.body.replace("\n", "")


def test_the_diff_table_colours_each_kind_of_row() -> None:
    from procmine.dashboard.components.sop_widgets import diff_html

    table = diff_html([("same", "a", "a"), ("changed", "<b>", "c"), ("removed", "d", ""),
                       ("added", "", "e"), ("gap", "", "")], "old", "new")
    assert '<tr class="pm-changed"><td>&lt;b&gt;</td><td>c</td></tr>' in table
    assert '<tr class="pm-removed"><td>d</td><td></td></tr>' in table
    assert '<tr class="pm-added"><td></td><td>e</td></tr>' in table
    assert table.count("<tr class=") == 5
