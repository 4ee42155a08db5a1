"""An SOP step's conditions in the reader's language: ``when`` as text or ``{zh, en}``, its lint
errors with their codes, ``required_when`` in words (:func:`procmine.condition_text`), the
bundled SOPs' Chinese conditions and the training questions that quote them; a finding's peer
basis as a catalogue code."""

from __future__ import annotations

from pathlib import Path

import pytest
from walk_kit import latin_words

from procmine import Finding, condition_text, issue_text, t
from procmine.core.baseline import load_baseline
from procmine.sop.conditions import parse_condition
from procmine.sop.document import load_sops, parse_sop
from procmine.sop.lint import lint_sops
from procmine.sop.repository import bundled_sops_dir
from procmine.training.generate import generate_questions
from tests.test_sop_library import SOP_TEXT

ZH, EN = "zh-CN", "en"

# the library tests' SOP with a conditional second-person recount after counting cash
RECOUNT = """\
  - id: second_person_recount
    activity: Second-person recount
    standard_seconds: 40
    conditional: true
{when}    required_when: amount >= 50000
  - id: enter_transaction
"""


def _text(when: str) -> str:
    return (SOP_TEXT.replace("  - id: enter_transaction\n", RECOUNT.format(when=when), 1)
            .replace("### 3. 录入交易", "### 3. 复点 Second-person recount "
                     "{#second_person_recount}\n\n大额现金由第二名柜员复点。\n\n### 4. 录入交易"))


def _issues(tmp_path: Path, text: str) -> list[tuple[str, str, dict[str, object]]]:
    (tmp_path / "SOP-P17.md").write_text(text, encoding="utf-8")
    report = lint_sops(tmp_path, load_baseline())
    return [(i.field, i.code, dict(i.params)) for i in report.errors]


# --- when: text or {zh, en} ---------------------------------------------------------------------

def test_when_as_text_keeps_the_text_and_has_no_chinese() -> None:
    step = parse_sop(_text("    when: cash amount >= 50000\n")).step("second_person_recount")
    assert (step.when, step.when_zh) == ("cash amount >= 50000", "")
    assert step.when_in(ZH) == step.when_in(EN) == "cash amount >= 50000"


def test_when_as_a_mapping_gives_each_language() -> None:
    when = "    when:\n      zh: 现金金额 ≥ 50000，或超出柜员权限\n" \
           "      en: cash amount >= 50000, or over the teller's authority\n"
    step = parse_sop(_text(when)).step("second_person_recount")
    assert step.when == "cash amount >= 50000, or over the teller's authority"
    assert step.when_zh == "现金金额 ≥ 50000，或超出柜员权限"
    assert step.when_in(ZH) == "现金金额 ≥ 50000，或超出柜员权限"
    assert step.when_in(EN) == "cash amount >= 50000, or over the teller's authority"


def test_a_mapping_with_chinese_only_shows_it_in_both_languages(tmp_path: Path) -> None:
    text = _text("    when: {zh: 现金金额 ≥ 50000}\n")
    step = parse_sop(text).step("second_person_recount")
    assert (step.when, step.when_zh, step.when_in(EN)) == (
        "现金金额 ≥ 50000", "现金金额 ≥ 50000", "现金金额 ≥ 50000")
    assert _issues(tmp_path, text) == []


@pytest.mark.parametrize(("when", "field", "code", "params", "zh"), [
    ("    when: {zh: 大额, fr: gros montant}\n", "steps[3].when.fr", "sop.lint.when_language",
     {"language": "fr"}, "条件只分中文（`zh`）和英文（`en`），不能写 `fr`"),
    ("    when: {zh: '', en: large amount}\n", "steps[3].when.zh", "sop.lint.when_text",
     {"language": "zh"}, "条件的 `zh` 文字为空；请写出适用条件"),
    ("    when: {zh: [a, b]}\n", "steps[3].when.zh", "sop.lint.when_text",
     {"language": "zh"}, "条件的 `zh` 文字为空；请写出适用条件"),
    ("    when: {}\n", "steps[3].when", "sop.lint.when_mapping", {},
     "条件应写为 `{zh: 中文条件, en: English condition}`，至少写一种语言"),
])
def test_a_bad_mapping_is_an_error_with_its_code(tmp_path: Path, when: str, field: str,
                                                 code: str, params: dict[str, object],
                                                 zh: str) -> None:
    errors = _issues(tmp_path, _text(when))
    assert (field, code, params) in errors
    (tmp_path / "SOP-P17.md").write_text(_text(when), encoding="utf-8")
    issue = next(i for i in lint_sops(tmp_path, load_baseline()).errors if i.code == code)
    assert issue_text(issue, ZH) == zh
    assert "{" not in issue_text(issue, EN).replace("{zh", "")


def test_a_conditional_step_with_an_empty_mapping_also_lacks_its_condition(
        tmp_path: Path) -> None:
    codes = [c for _, c, _ in _issues(tmp_path, _text("    when: {}\n"))]
    assert codes == ["sop.lint.when_mapping", "sop.lint.when"]


def test_every_bundled_condition_is_in_both_languages() -> None:
    sops = load_sops(bundled_sops_dir()).values()
    conditional = [s for sop in sops for s in sop.steps if s.conditional]
    assert len(conditional) > 50
    for step in conditional:
        assert step.when and step.when_zh, step.id
        assert latin_words(step.when_zh) == [], step.when_zh   # Chinese all through
    texts = {s.when: s.when_zh for s in conditional}
    assert texts["entry error found after posting"] == "过账后发现录入错误"
    assert texts["cash amount >= 50000, or over the teller's authority"] == \
        "现金金额 ≥ 50000，或超出柜员权限"
    assert len(texts) == len(set(texts.values())) == 21  # one translation per phrase


def test_training_questions_quote_the_chinese_condition() -> None:
    sops = load_sops(bundled_sops_dir())
    p17 = sops["SOP-P17"]
    questions = [q for q in generate_questions(p17, others=list(sops.values()))
                 if q.template == "threshold"]
    assert questions  # the amount still read from the English condition
    for q in questions:
        step = p17.step(q.step_id or "")
        assert f"条件：{step.when_zh}）" in q.general_feedback, q.key
        assert step.when not in q.general_feedback
    assert any("条件：现金金额 ≥ 50000）" in q.general_feedback for q in questions)


# --- required_when in words ---------------------------------------------------------------------

@pytest.mark.parametrize(("expr", "zh", "en"), [
    ("amount >= 50000 and window_type = vip", "金额 ≥ 50,000 且 窗口类型 = VIP 窗口",
     "amount ≥ 50,000 and window type = VIP window"),
    ("amount < 2500.5", "金额 < 2,500.5", "amount < 2,500.5"),
    ("window_type != corporate", "窗口类型 ≠ 对公窗口", "window type ≠ corporate window"),
    ("segment = private and amount <= 1000000", "客户分层 = 私人银行客户 且 金额 ≤ 1,000,000",
     "customer segment = Private banking and amount ≤ 1,000,000"),
    ("segment = gold", "客户分层 = gold", "customer segment = gold"),   # unknown: as written
    ("cash >= 50000", "cash >= 50000", "cash >= 50000"),                # not a condition
])
def test_condition_text(expr: str, zh: str, en: str) -> None:
    assert condition_text(expr, ZH) == zh
    assert condition_text(expr, EN) == en


def test_condition_text_takes_a_parsed_condition() -> None:
    assert condition_text(parse_condition("amount >= 50000"), ZH) == "金额 ≥ 50,000"


# --- a finding's peer basis -----------------------------------------------------------------------

def test_the_peer_basis_from_its_code_in_each_language() -> None:
    assert Finding.peer_basis_text("branches", 5, EN) == (
        "the median of 5 branches' typical medians (the group's own left out)")
    assert Finding.peer_basis_text("branches", 5, ZH) == "5 个网点典型中位数的中位数（不含本组）"
    assert Finding.peer_basis_text("wait_bank", 0, ZH) == (
        "全行等待中位数（没有网点的等待次数足以形成同业中位数）")
    assert Finding.peer_basis_text("", 0, ZH, "older words") == "older words"
    assert t("finding.peer_basis.overall", ZH, n=12).endswith("共 12 个业务类型×环节）")
