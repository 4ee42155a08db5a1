"""Library messages in the user's language (issue 17): every error code the library raises has
its message in both catalogues with the same placeholders; the pages show the catalogue's
message (a change saved without a note, approving one's own change, rejecting without a
comment, a bad upload); the English text stays the exception's, for the command line; audit
actions and business-type categories show by name, automatic notes in the user's language."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path
from typing import Any

import pytest
from demo_kit import copy_demo_workspace
from streamlit.testing.v1 import AppTest

import procmine
from procmine import (
    DEMO_PASSWORD,
    STATUSES,
    ProcmineError,
    SopLibrary,
    User,
    authenticate,
    display_name,
    error_text,
    list_audit,
    load_baseline,
    note_text,
    seed_demo_users,
    t,
)
from procmine.app.i18n import load_messages
from procmine.app.policy import check_password

ROOT = Path(procmine.__file__).resolve().parent
REPO = ROOT.parent
APP = str(REPO / "app.py")
ZH, EN = "zh-CN", "en"
CJK = re.compile(r"[\u4e00-\u9fff]")
#: codes built from a value (f"sop.wrong_status.{status}"): the values they take
DYNAMIC = {"sop.wrong_status.": STATUSES}
#: audit actions written as "<family>.<action>" from an action word (the SOP workflow's git
#: actions, the improvement register's events)
FAMILIES = {
    "sop.": ("save", "submit", "approve", "reject", "retire", "conflict"),
    "improve.": ("add", "decide", "assign", "note", "status", "link", "measure", "regression"),
}
_AUDIT = re.compile(r"(auth|user|batch|sop|spotcheck|training|quiz|improve)\.[a-z_]+")


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(ROOT.rglob("*.py"))]


def raised_codes() -> dict[str, list[set[str]]]:
    """Each message code given to an error in procmine/, with the parameters given beside it
    at each place (an f-string code expanded over the values it takes)."""
    found: dict[str, list[set[str]]] = {}
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            code = keywords.get("code")
            params = set(keywords) - {"code"}
            given = keywords.get("params")  # an SOP check's issue: params={...}
            if isinstance(given, ast.Dict):
                params = {k.value for k in given.keys if isinstance(k, ast.Constant)}
            if isinstance(code, ast.Constant) and isinstance(code.value, str) and (
                    "." in code.value):
                found.setdefault(code.value, []).append(params)
            elif isinstance(code, ast.JoinedStr):
                head = code.values[0]
                prefix = head.value if isinstance(head, ast.Constant) else ""
                assert prefix in DYNAMIC, f"{path}: a code made of {ast.unparse(code)}"
                for value in DYNAMIC[str(prefix)]:
                    found.setdefault(f"{prefix}{value}", []).append(params)
    return found


def placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def test_every_code_raised_has_its_message_in_both_languages() -> None:
    codes = raised_codes()
    # the scan finds the errors a dashboard user meets, not nothing
    assert {"sop.note_required", "sop.own_change", "sop.reject_needs_comment",
            "auth.password_short", "auth.locked", "scope.other_branch", "improve.reject_note",
            "ingest.no_column", "training.too_few_questions", "sop.wrong_status.in_review",
            } <= set(codes)
    zh, en = load_messages(ZH), load_messages(EN)
    for code, sites in sorted(codes.items()):
        key = f"error.{code}"
        assert key in zh and key in en, key
        assert placeholders(zh[key]) == placeholders(en[key]), key
        assert CJK.search(zh[key]), key
        for params in sites:  # every placeholder is filled wherever the code is raised
            assert placeholders(zh[key]) <= params, (key, params)
    # and no message waits for a code nobody raises
    assert {k.removeprefix("error.") for k in zh if k.startswith("error.")} <= set(codes)


@pytest.mark.parametrize(("password", "code", "english"), [
    ("   ", "auth.password_empty", "the password is empty or only whitespace"),
    ("short1", "auth.password_short",
     "the password is too short: at least 10 characters, got 6"),
    ("wang.teller.b01", "auth.password_is_name", "the password may not be the user name"),
    ("password1234", "auth.password_common",
     "the password is one of the most common passwords; choose another"),
])
def test_the_password_policy_speaks_chinese_to_the_dashboard_and_english_to_the_cli(
        password: str, code: str, english: str) -> None:
    with pytest.raises(ProcmineError) as caught:
        check_password(password, "wang.teller.b01")
    exc = caught.value
    assert (str(exc), exc.code) == (english, code)
    assert error_text(exc, ZH) == t(f"error.{code}", ZH, **exc.params)
    assert error_text(exc, EN) == t(f"error.{code}", EN, **exc.params)
    if code == "auth.password_short":
        assert error_text(exc, ZH) == "密码太短：至少 10 个字符，当前 6 个"


# -- the pages ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("messages-demo") / "workspace"
    copy_demo_workspace(tmp_path_factory, home)
    return home


@pytest.fixture
def home(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    return demo_home


@pytest.fixture
def flow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo users and the bundled SOP library, no events: for the review workflow."""
    seed_demo_users(tmp_path)
    SopLibrary.open(tmp_path)
    monkeypatch.setenv("PROCMINE_HOME", str(tmp_path))
    return tmp_path


def _user(username: str, home: Path) -> User:
    user = authenticate(username, DEMO_PASSWORD, home)
    assert user is not None
    return user


def _open(username: str, home: Path, script: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["procmine_user"] = _user(username, home)
    at.run()
    at.switch_page(f"procmine/dashboard/pages/{script}").run()
    assert not at.exception, at.exception
    return at


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_the_sop_workflow_refuses_in_chinese(flow_home: Path) -> None:
    library = SopLibrary.open(flow_home)
    at = _open("reviewer", flow_home, "sop_editor.py")
    sop_id = str(at.selectbox(key="editor_sop").value).split()[0]
    # the source text area (its key carries the editor form's revision)
    (source,) = [a for a in at.text_area if str(a.key).startswith(f"editor_source_{sop_id}_")]
    changed = source.value + "\n补充一句说明。\n"
    source.input(changed).run()
    # saved without a change note: the catalogue's message, nothing saved
    at.button(key="editor_save").click().run()
    assert not at.exception
    assert _errors(at) == [t("common.error", ZH, message="必须填写修改说明")]
    assert len(library.history(sop_id)) == 1
    # the same change with a note, submitted by its author
    reviewer = _user("reviewer", flow_home)
    library.save(sop_id, changed, user=reviewer, note="补充说明")
    library.submit(sop_id, user=reviewer)
    at = _open("reviewer", flow_home, "sop_review.py")
    assert at.selectbox(key="review_pick").value.startswith(sop_id)
    # the automatic note of the submission shows in Chinese (stored as written)
    assert library.current(sop_id).note == "Submitted for review"
    notes = at.dataframe[1].value[t("sop_history.note", ZH)]
    assert list(notes) == ["提交审批", "补充说明"]
    # the author may not approve it
    at.button(key="review_approve").click().run()
    assert not at.exception
    assert _errors(at) == [t("common.error", ZH, message=t(
        "error.sop.own_change", ZH, username="reviewer", sop_id=sop_id))]
    assert "reviewer 修改过" in _errors(at)[0] and "不能批准" in _errors(at)[0]
    # a rejection without a comment
    at.button(key="review_reject").click().run()
    assert _errors(at) == [t("common.error", ZH, message="驳回时必须说明理由（意见）")]
    assert library.current(sop_id).sop.status == "in_review"
    # the command line keeps the English words
    with pytest.raises(ProcmineError, match=f"^reviewer changed {sop_id} and may not approve it"):
        library.approve(sop_id, user=reviewer)


class _Upload:
    """What st.file_uploader returns for one file."""

    def __init__(self, name: str, content: bytes) -> None:
        self.name, self.size, self._content = name, len(content), content

    def getvalue(self) -> bytes:
        return self._content


def test_a_bad_upload_is_refused_in_chinese_naming_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit as st

    home = tmp_path / "workspace"
    monkeypatch.setenv("PROCMINE_HOME", str(home))
    files = [_Upload("柜面流水.csv", b"no,such,columns\n1,2,3\n")]

    def uploader(label: str, *args: Any, key: str | None = None, **kwargs: Any) -> Any:
        return files if key == "upload_files" else None

    monkeypatch.setattr(st, "file_uploader", uploader)
    seed_demo_users(home)
    at = AppTest.from_file(str(ROOT / "dashboard/pages/upload.py"), default_timeout=60)
    at.session_state["procmine_user"] = _user("ops", home)
    at.run()
    at.button(key="upload_go").click().run()
    assert not at.exception, at.exception
    message = t("error.ingest.no_column", ZH, file="柜面流水.csv",
                missing="case_id, activity, end_time", columns="no, such, columns")
    assert _errors(at) == [t("common.error", ZH, message=message)]
    assert message.startswith("柜面流水.csv：找不到 case_id, activity, end_time 对应的列")


def _texts_in(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and _AUDIT.fullmatch(n.value)}


def audit_actions() -> set[str]:
    """Every audit action the code writes: those given to record_audit, to an ``action``
    variable or keyword, and the families built from an action word (the words checked to be
    in the code)."""
    actions: set[str] = set()
    words: set[str] = set()
    for _, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                words.add(node.value)
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name == "record_audit" and len(node.args) > 2:
                    actions |= _texts_in(node.args[2])
                actions |= {a for k in node.keywords if k.arg == "action"
                            for a in _texts_in(k.value)}
            elif isinstance(node, ast.Assign) and any(
                    getattr(target, "id", "") == "action" for target in node.targets):
                actions |= _texts_in(node.value)
    for family, names in FAMILIES.items():
        assert set(names) <= words, family
        actions |= {family + n for n in names}
    return actions


def test_every_audit_action_has_a_name_in_both_languages(demo_home: Path) -> None:
    written = {e.action for e in list_audit(demo_home, limit=100_000)}
    actions = audit_actions()
    assert written <= actions
    assert {"auth.sign_in", "sop.approve", "quiz.record", "improve.status"} <= actions
    for action in actions | written:
        zh, en = display_name("audit.action", action, ZH), display_name("audit.action", action, EN)
        assert zh != action and en != action and CJK.search(zh), action


def test_the_audit_page_in_chinese_names_the_actions(home: Path) -> None:
    at = _open("ops", home, "audit.py")
    table = at.dataframe[0].value
    shown = list(table[t("audit.action", ZH)])
    codes = list(table[t("audit.code", ZH)])
    assert shown and all(CJK.search(a) and not _AUDIT.fullmatch(a) for a in shown)
    assert shown == [display_name("audit.action", c, ZH) for c in codes]
    assert list(table.columns)[-1] == t("audit.code", ZH)  # the code: last, for the CLI
    options = at.selectbox(key="audit_action").options
    assert options[0] == t("audit.every_action", ZH)
    assert all(CJK.search(o) and not _AUDIT.fullmatch(o) for o in options)
    # filtering by a name shows that action's rows
    at.selectbox(key="audit_action").select_index(options.index("录入考试成绩")).run()
    assert set(at.dataframe[0].value[t("audit.code", ZH)]) == {"quiz.record"}


def test_the_baseline_page_in_chinese_shows_chinese_categories(home: Path) -> None:
    at = _open("teller", home, "baseline.py")
    categories = at.dataframe[0].value[t("baseline.group", ZH)]
    assert set(categories) == {"个人账户", "个人现金", "个人支付结算", "个人理财与外汇",
                               "对公业务", "电子银行"}
    assert len(categories) == len(load_baseline())
    assert {b.group for b in load_baseline()} == {
        "personal_account", "personal_cash", "personal_payment", "personal_wealth_fx",
        "corporate", "e_banking"}


def test_automatic_notes_are_shown_translated_other_notes_as_written() -> None:
    assert note_text("Approved", ZH) == "已批准"
    assert note_text("Submitted for review", EN) == "Submitted for review"
    assert note_text("Seed the SOP library (22 procedures)", ZH) == "初始导入 SOP 库（22 个流程）"
    # a note a user wrote is shown as written, in whatever language
    assert note_text("Approved after the trial", ZH) == "Approved after the trial"
    assert note_text("点钞机改为面向客户", EN) == "点钞机改为面向客户"


def test_the_sop_checks_speak_the_users_language() -> None:
    from procmine import issue_text, lint_sops, parse_sop
    from procmine.sop.document import parse_with_issues
    from procmine.sop.repository import bundled_sops_dir

    text = (bundled_sops_dir() / "SOP-P17.md").read_text(encoding="utf-8")
    seconds = re.search(r"standard_seconds: (\d+)", text)
    assert seconds is not None
    broken = text.replace(seconds.group(0), "standard_seconds: sixty", 1)
    broken = broken.replace("status: approved", "status: done", 1)
    _, issues = parse_with_issues(broken, "SOP-P17.md")
    shown = {i.code: issue_text(i, ZH) for i in issues}
    assert shown == {"sop.lint.seconds": "sixty 不是正的秒数",
                     "sop.lint.status": "done 不是有效状态"}
    assert {i.code: issue_text(i, EN) for i in issues}["sop.lint.seconds"] == (
        "sixty is not a positive number of seconds")
    # the English stays the issue's message (the command line's sop lint prints it)
    assert [i.message for i in issues if i.code == "sop.lint.seconds"] == [
        "'sixty' is not a positive number of seconds"]
    # every bundled SOP passes its checks: nothing to say
    report = lint_sops(bundled_sops_dir(), load_baseline())
    assert not report.errors
    assert parse_sop(text).id == "SOP-P17"


def test_an_items_history_says_what_the_register_wrote_in_the_users_language() -> None:
    from procmine import history_note

    assert history_note("decision retrain; 同意再培训", ZH) == "决定：再培训；同意再培训"
    assert history_note("decision retrain; agreed", EN) == "decision: Retrain; agreed"
    assert history_note("group accounting-and-cash -> compliance-and-control; cause training",
                        ZH) == "评审组：会计与现金组 → 合规与内控组；原因：培训"
    assert history_note("paper 1", ZH) == "关联：试卷 1"
    assert history_note("due 2026-12-31", ZH) == "期限：2026-12-31"
    # a user's note alone, in any language, is shown as written
    assert history_note("带教已开始。", EN) == "带教已开始。"
    assert history_note("Counted twice; slow", ZH) == "Counted twice; slow"
