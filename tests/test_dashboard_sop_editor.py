"""The SOP editor's front-matter form, its live checks and each step's findings, and the due
list's overdue marks, through AppTest (issue 17). The workspaces are test_dashboard_sops.py's:
the demo log with a library seeded from two SOPs written there, and one without events."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import NumberInput

from procmine import (
    EventStore,
    Filters,
    SopLibrary,
    conformance,
    deviation_findings,
    linked_findings,
    load_baseline,
    seed_demo_users,
    set_fields,
    t,
)
from tests.test_dashboard_sops import (  # noqa: F401  (fixtures)
    SOP_P17,
    SOP_P28,
    _open,
    _source,
    demo_home,
    flow_home,
    home,
)

ZH = "zh-CN"


def _seconds_input(at: AppTest) -> NumberInput:
    """The step detail's standard time (its key carries the form's revision)."""
    (found,) = [n for n in at.number_input if str(n.key).startswith("editor_step_SOP-P17_")
                and str(n.key).endswith("_seconds")]
    return found


def test_the_form_edits_a_steps_standard_time_and_the_saved_text_has_it(
        flow_home: Path) -> None:  # noqa: F811
    library = SopLibrary.open(flow_home)
    at = _open("reviewer", flow_home, "sop_editor.py")
    assert not at.exception
    # the form shows the front matter: titles, types, the steps' table
    assert "活期现金存款" in [w.value for w in at.text_input]
    at.selectbox(key="editor_step_SOP-P17").set_value("count_cash").run()
    assert _seconds_input(at).value == 30.0
    _seconds_input(at).set_value(45.0).run()
    assert not at.exception
    text = _source(at).value
    # only the step's standard time changed, in its place
    assert text == SOP_P17.replace(
        "  - id: count_cash\n    activity: Count cash\n    standard_seconds: 30",
        "  - id: count_cash\n    activity: Count cash\n    standard_seconds: 45")
    # a lint problem shows live, in Chinese: the steps no longer add up to the baseline time
    issues = at.dataframe[0].value
    standard = load_baseline().standard_seconds("P17")
    assert t("error.sop.lint.step_total", ZH, type="P17", total="135", standard=f"{standard:g}",
             tolerance="5%") in list(issues[t("editor.message", ZH)])
    assert at.number_input(key=str(_seconds_input(at).key)).value == 45.0  # the form redrawn
    at.text_input(key="editor_note_SOP-P17").input("Count cash: 45 s").run()
    at.button(key="editor_save").click().run()
    assert not at.exception
    head = library.current("SOP-P17")
    assert (head.action, head.sop.version) == ("save", "2.0")  # the steps changed: major
    assert head.sop.step("count_cash").standard_seconds == 45.0
    assert head.sop.step("call_number").standard_seconds == 30.0
    # the form's titles and dates write their fields too
    (effective,) = [d for d in at.date_input if str(d.key).endswith("_effective")]
    effective.set_value(date(2027, 1, 4)).run()
    assert "effective: 2027-01-04\n" in str(_source(at).value)


def test_a_lint_problem_shows_live_at_its_step_row(flow_home: Path) -> None:  # noqa: F811
    at = _open("reviewer", flow_home, "sop_editor.py")
    assert at.success[0].value == t("editor.no_issues", ZH)
    text = str(_source(at).value)
    renamed = text.replace("  - id: count_cash\n", "  - id: count_money\n")
    _source(at).input(renamed).run()
    assert not at.exception
    issues = at.dataframe[0].value
    where = list(issues[t("editor.where", ZH)])
    assert t("editor.where_step", ZH, row=2, step="count_money", field="id") in where
    assert t("editor.error", ZH) in list(issues[t("editor.severity", ZH)])
    assert "正文中没有标题带锚点 {#count_money}" in list(issues[t("editor.message", ZH)])
    # the form follows the source: the step picker has the new id (shown by number and name)
    at.selectbox(key="editor_step_SOP-P17").set_value("count_money").run()
    assert not at.exception
    assert at.selectbox(key="editor_step_SOP-P17").options == ["1. 叫号", "2. 点钞", "3. 录入交易"]
    assert t("editor.step_findings", ZH, step="2. 点钞", n=0) in [
        m.value.strip("*") for m in at.markdown]


def test_each_steps_findings_show_beside_it(home: Path) -> None:  # noqa: F811
    library = SopLibrary.open(home)
    store = EventStore(home)
    slow = [f for f in linked_findings(store, load_baseline(), library)
            if f.sop == "SOP-P17" and f.sop_step and f.activity and f.kind in ("step", "wait")]
    deviations = [d for d in deviation_findings(conformance(store, library,
                                                            business_type="P17",
                                                            filters=Filters()))
                  if d.step_id and d.sop.startswith("SOP-P17@")]
    counts: dict[str, int] = {}
    for step_id in [f.sop_step for f in slow] + [d.step_id for d in deviations]:
        counts[str(step_id)] = counts.get(str(step_id), 0) + 1
    assert counts, "the demo log has findings on SOP-P17's steps"
    at = _open("reviewer", home, "sop_editor.py")
    assert not at.exception
    names = {"call_number": "1. 叫号", "count_cash": "2. 点钞", "enter_transaction": "3. 录入交易"}
    for step_id, name in names.items():   # the steps by number and name, not by id
        at.selectbox(key="editor_step_SOP-P17").set_value(step_id).run()
        n = counts.get(step_id, 0)
        assert t("editor.step_findings", ZH, step=name, n=n) in [
            m.value.strip("*") for m in at.markdown]
    # the steps' table (labelled by its column settings) carries the same counts
    (table,) = [d for d in at.dataframe if "findings" in d.value.columns]
    rows = table.value
    assert dict(zip(rows["id"], rows["findings"], strict=True)) == {
        s: counts.get(s, 0) for s in ("call_number", "count_cash", "enter_transaction")}


@pytest.fixture
def due_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SOP-P28 overdue for review by 50 days, SOP-P17 due in 10."""
    today = date.today()
    seed = tmp_path / "seed-sops"
    seed.mkdir()
    (seed / "SOP-P17.md").write_text(set_fields(SOP_P17, review_due=today + timedelta(days=10)),
                                     encoding="utf-8")
    (seed / "SOP-P28.md").write_text(set_fields(SOP_P28, effective=date(2025, 1, 1),
                                                review_due=today - timedelta(days=50)),
                                     encoding="utf-8")
    seed_demo_users(tmp_path)
    SopLibrary.open(tmp_path, seed=seed)
    monkeypatch.setenv("PROCMINE_HOME", str(tmp_path))
    return tmp_path


def test_the_due_list_marks_overdue_sops_overdue_first(due_home: Path) -> None:
    at = _open("ops", due_home, "sop_library.py")
    assert not at.exception
    due = at.dataframe[1].value
    assert list(due[t("sops.id", ZH)]) == ["SOP-P28", "SOP-P17"]
    assert list(due[t("sops.review_when", ZH)]) == [t("sops.overdue", ZH, days=50),
                                                    t("sops.due_in", ZH, days=10)]
    assert t("sops.overdue", ZH, days=50) == "已逾期 50 天"


def test_the_review_page_approves_on_a_future_date_with_a_branchs_own_date(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With events, the review page offers the log's branches for dates of their own."""
    from procmine import Editor, bundled_demo_log, ingest_log

    seed_demo_users(tmp_path)
    seed = tmp_path / "seed-sops"
    seed.mkdir()
    (seed / "SOP-P17.md").write_text(SOP_P17, encoding="utf-8")
    library = SopLibrary.open(tmp_path, seed=seed)
    ingest_log(EventStore(tmp_path), bundled_demo_log(), baseline=load_baseline())
    monkeypatch.setenv("PROCMINE_HOME", str(tmp_path))
    today = date.today()
    head = library.current("SOP-P17")
    author = Editor("reviewer", "reviewer", "accounting-and-cash")
    draft = set_fields(head.sop.text.replace("叫号，", "叫号后，"),
                       effective=today + timedelta(days=20))
    library.save("SOP-P17", draft, user=author, note="Wording", base=head.commit)
    library.submit("SOP-P17", user=author)
    at = _open("reviewer2", tmp_path, "sop_review.py")
    assert not at.exception
    # the draft's date has not passed: pre-filled, no warning
    assert at.date_input(key="review_effective_SOP-P17").value == today + timedelta(days=20)
    assert not at.warning
    branches = at.multiselect(key="review_branches_SOP-P17")
    assert "B01" in branches.options
    branches.set_value(["B01"]).run()
    # a branch added starts on the effective date; the reviewer gives it a later one
    assert at.date_input(key="review_adopt_SOP-P17_B01").value == today + timedelta(days=20)
    at.date_input(key="review_adopt_SOP-P17_B01").set_value(today + timedelta(days=30)).run()
    at.button(key="review_approve").click().run()
    assert not at.exception and not at.error
    approved = library.approved("SOP-P17")
    assert approved is not None and approved.sop.version == "1.3"
    assert (approved.sop.effective, approved.sop.adoption) == (
        today + timedelta(days=20), {"B01": today + timedelta(days=30)})
    assert library.in_force("SOP-P17", today + timedelta(days=25), branch="B01") != approved
    assert library.in_force("SOP-P17", today + timedelta(days=25), branch="B02") == approved


def test_a_source_edit_saved_in_the_same_run_is_not_applied_again_and_submits(
        flow_home: Path) -> None:  # noqa: F811
    """The source edited and saved at once (the browser sends the text area's value with the
    click when no run drew it first): the save takes it, and the run after the save shows the
    saved text, not the edit again over it, so submitting right after it is not refused as
    unsaved."""
    library = SopLibrary.open(flow_home)
    at = _open("reviewer", flow_home, "sop_editor.py")
    tomorrow = date.today() + timedelta(days=1)
    edited = set_fields(SOP_P17, effective=tomorrow).rstrip("\n") + "\n\n补充一句说明。\n"
    _source(at).input(edited)  # no run: the text area's value goes with the click
    at.text_input(key="editor_note_SOP-P17").input("One more sentence")
    at.button(key="editor_save").click().run()
    assert not at.exception and not at.error
    head = library.current("SOP-P17")
    assert (head.action, head.sop.version, head.sop.status, head.sop.effective) == (
        "save", "1.3", "draft", tomorrow)
    assert head.sop.text.endswith("补充一句说明。\n")
    # the editor holds the saved text (its status and version), not the edit before the save
    assert at.session_state["editor_text_SOP-P17"] == head.sop.text
    assert _source(at).value == head.sop.text
    at.button(key="editor_submit").click().run()
    assert not at.exception
    assert t("editor.unsaved", ZH) not in [e.value for e in at.error]
    assert library.current("SOP-P17").sop.status == "in_review"
    assert at.success[0].value == t("editor.submitted", ZH, sop="SOP-P17", version="1.3")


def test_reload_drops_a_source_edit_sent_with_its_click(flow_home: Path) -> None:  # noqa: F811
    """Reload takes the library's head as it is, also over a source edit no run drew."""
    at = _open("reviewer", flow_home, "sop_editor.py")
    _source(at).input(SOP_P17.replace("当面点清，唱收唱付。", "当面点清两遍。"))  # no run
    at.button(key="editor_reload").click().run()
    assert not at.exception
    assert at.session_state["editor_text_SOP-P17"] == SOP_P17
    assert _source(at).value == SOP_P17
