"""The questions generated from the SOPs are right against their SOP and unambiguous.

Every right answer is recomputed here from the SOP's front matter (the standard paths, the
controls, the ``when`` amounts, the standard times), not taken from the generator; every wrong
choice is checked not to be right under the question's own wording.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procmine.core.paths import bundled_path
from procmine.demo.config import bundled_demo_config
from procmine.demo.workspace import record_demo_revision
from procmine.sop.document import Sop, SopStep, load_sops
from procmine.sop.library import SopLibrary
from procmine.sop.steps import step_names
from procmine.sop.workflow import Editor
from procmine.training.generate import generate_bank, generate_questions, order_windows
from procmine.training.question import KINDS, TEMPLATES, Question

REVIEWER = Editor("bob", "reviewer", "accounting-and-cash", "Bob Wang")


def _norm(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", "", folded) or folded.strip()


def _zh(sop: Sop) -> dict[str, str]:
    return {k: v["zh"] for k, v in step_names(sop).items()}


def _paths(sop: Sop, *, conditional: bool = False) -> dict[str, list[SopStep]]:
    return {t: [s for s in sop.steps if (not s.types or t in s.types)
                and (conditional or not s.conditional)] for t in sop.business_types}


def _right(q: Question) -> list[str]:
    return [c.text for c in q.choices if c.fraction > 0]


def _wrong(q: Question) -> list[str]:
    return [c.text for c in q.choices if c.fraction <= 0]


@pytest.fixture(scope="module")
def bundled() -> dict[str, Sop]:
    return load_sops(bundled_path("sops"))


@pytest.fixture(scope="module")
def bank(bundled: dict[str, Sop]) -> dict[str, list[Question]]:
    sops = list(bundled.values())
    return {sop.id: generate_questions(sop, others=sops) for sop in sops}


# -- the checks, one per template -----------------------------------------------------------------


def check_form(sop: Sop, q: Question) -> None:
    """What every question must be: its kind's shape, distinct choices, tied to its SOP."""
    parts = q.key.split(":")
    assert parts[:3] == ["gen", sop.id, sop.version], q.key
    assert parts[3] == (q.step_id or "-") and parts[4] == q.template, q.key
    assert q.template in TEMPLATES and q.kind in KINDS
    assert (q.topic, q.source, q.sop_id, q.sop_version) == (sop.id, "generated", sop.id,
                                                             sop.version)
    assert q.step_id is None or q.step_id in {s.id for s in sop.steps}
    assert len(q.choices) >= 2, q.key
    texts = [_norm(c.text) for c in q.choices]
    assert len(set(texts)) == len(texts) and all(texts), q.key
    assert f"{sop.id} {sop.version}" in q.general_feedback and q.stem and q.title
    if q.kind in ("single", "truefalse"):
        assert [c.fraction for c in q.choices].count(100.0) == 1, q.key
        assert all(c.fraction in (0.0, 100.0) for c in q.choices), q.key
    elif q.kind == "multiple":
        right = [c.fraction for c in q.choices if c.fraction > 0]
        wrong = [c.fraction for c in q.choices if c.fraction < 0]
        assert 2 <= len(right) <= 3 and len(wrong) == 2, q.key
        assert sum(right) == pytest.approx(100.0, abs=0.001) and sum(wrong) == -100.0
    else:
        assert all(c.fraction == 100.0 for c in q.choices), q.key


def check_order(sop: Sop, questions: list[Question]) -> None:
    """Each question is its window (:func:`order_windows`: consecutive slices of 5-6 steps
    covering the path) of the first type's standard path, in order; every window whose steps
    have distinct names is asked."""
    names = _zh(sop)
    path = [names[s.id] for s in _paths(sop)[sop.business_types[0]]]
    windows = order_windows(len(path))
    asked = set()
    for q in questions:
        suffix = q.key.split(":")[5:]
        assert (suffix == []) == (len(windows) == 1), q.key
        n = int(suffix[0]) if suffix else 1
        start, stop = windows[n - 1]
        assert [c.text for c in q.choices] == path[start:stop], q.key
        asked.add(n)
    distinct = {n for n, (a, b) in enumerate(windows, start=1)
                if len({_norm(x) for x in path[a:b]}) == b - a}
    assert asked == (distinct if len(path) >= 3 else set()), sop.id


def check_next(sop: Sop, q: Question) -> None:
    """The right answer is the step after X on the standard path (of the type the key names,
    or of every type X is on); no wrong choice follows X on any type's path, conditional steps
    included, and none is X."""
    names = _zh(sop)
    x = _norm(names[q.step_id or ""])
    suffix = q.key.split(":")[5:]
    expected, follows = set(), set()
    for t, path in _paths(sop).items():
        full = _paths(sop, conditional=True)[t]
        keys = [_norm(names[s.id]) for s in path]
        if x in keys[:-1]:
            here, nxt = path[keys.index(x)], path[keys.index(x) + 1]
            if not suffix or suffix == [t]:
                expected.add(_norm(names[nxt.id]))
            at = full.index(here)
            follows |= {_norm(names[s.id]) for s in full[at + 1:full.index(nxt) + 1]}
    assert [_norm(t) for t in _right(q)] == sorted(expected), q.key
    assert not {_norm(t) for t in _wrong(q)} & (follows | {x}), q.key
    assert names[q.step_id or ""] in q.stem


def check_control(sop: Sop, q: Question) -> None:
    """Right choices are controls of X; no wrong one is a control of any step named like X."""
    names = _zh(sop)
    step = sop.step(q.step_id or "")
    namesakes = [s for s in sop.steps if _norm(names[s.id]) == _norm(names[step.id])]
    theirs = {_norm(c) for s in namesakes for c in s.controls}
    assert {_norm(t) for t in _right(q)} <= {_norm(c) for c in step.controls}, q.key
    assert not {_norm(t) for t in _wrong(q)} & theirs, q.key
    assert (q.kind == "multiple") == q.key.endswith(":multi")


def _amount(text: str) -> float:
    match = re.search(r"(\d+(?:\.\d+)?)(万?)元", text)
    assert match, text
    return float(match.group(1)) * (10_000 if match.group(2) else 1)


def check_threshold(sop: Sop, q: Question) -> None:
    """The right answer is the step's ``when`` amount, in 万元 and at or over; the wrong ones
    name other amounts."""
    step = sop.step(q.step_id or "")
    match = re.search(r"amount\s*>=\s*(\d+)", step.when or "")
    assert step.conditional and match, q.key
    value = int(match.group(1))
    if q.kind == "truefalse":  # a statement of the condition, true only with its own amount
        stated = _amount(q.stem)
        assert q.key.endswith(":true" if stated == value else ":false"), q.key
        assert stated <= value and "（含）以上时须执行" in q.stem, q.key
        assert _right(q) == (["正确"] if stated == value else ["错误"]), q.key
        return
    [right] = _right(q)
    if value % 10_000 == 0:
        assert right == f"{value // 10_000}万元（含）以上", q.key
    assert _amount(right) == value and right.endswith("（含）以上"), q.key
    assert all(_amount(t) != value for t in _wrong(q)), q.key
    assert ("现金金额" in q.stem) == (re.search(r"cash amount", step.when or "") is not None)


def _band(text: str) -> tuple[float, float]:
    def seconds(part: str) -> float:
        m = re.fullmatch(r"(?:(\d+)分钟?)?(?:(\d+)秒)?", part)
        assert m and part, part
        return int(m.group(1) or 0) * 60 + int(m.group(2) or 0)

    if m := re.fullmatch(r"不足(.+)", text):
        return 0.0, seconds(m.group(1))
    if m := re.fullmatch(r"(.+)（含）以上", text):
        return seconds(m.group(1)), float("inf")
    m = re.fullmatch(r"(.+)（含）至(.+)（不含）", text)
    assert m, text
    return seconds(m.group(1)), seconds(m.group(2))


def check_duration(sop: Sop, q: Question) -> None:
    """Four bands [low, high) that do not overlap; exactly one holds the standard time, and it
    is the right one."""
    standard = sop.step(q.step_id or "").standard_seconds
    bands = [_band(c.text) for c in q.choices]
    assert len(bands) == 4 and bands == sorted(bands), q.key
    assert all(a[1] <= b[0] for a, b in pairwise(bands)), q.key
    holding = [c.text for c, (lo, hi) in zip(q.choices, bands, strict=True)
               if lo <= standard < hi]
    assert holding == _right(q), (q.key, standard, holding)


def check_all(sop: Sop, questions: list[Question]) -> None:
    stems = Counter((q.kind, q.stem) for q in questions)
    assert [s for s, n in stems.items() if n > 1] == [], sop.id  # one question, one reading
    for q in questions:
        check_form(sop, q)
        if q.template == "next_step":
            check_next(sop, q)
        elif q.template == "control":
            check_control(sop, q)
        elif q.template == "threshold":
            check_threshold(sop, q)
        elif q.template == "duration":
            check_duration(sop, q)
    check_order(sop, [q for q in questions if q.template == "order_steps"])


# -- the bundled SOPs -----------------------------------------------------------------------------


def test_every_generated_question_is_right_and_unambiguous(
        bundled: dict[str, Sop], bank: dict[str, list[Question]]) -> None:
    assert len(bank) == 22
    for sop_id, questions in bank.items():
        check_all(bundled[sop_id], questions)


def test_keys_are_unique_and_the_output_is_the_same_every_time(
        bundled: dict[str, Sop], bank: dict[str, list[Question]]) -> None:
    keys = [q.key for qs in bank.values() for q in qs]
    assert len(keys) == len(set(keys)) > 1000
    sops = list(bundled.values())
    again = {sop.id: generate_questions(sop, others=list(reversed(sops))) for sop in sops}
    assert again == bank


def test_every_sop_gets_every_applicable_template(
        bundled: dict[str, Sop], bank: dict[str, list[Question]]) -> None:
    for sop_id, questions in bank.items():
        sop, names = bundled[sop_id], _zh(bundled[sop_id])
        by = Counter((q.template, q.kind, q.step_id) for q in questions)
        assert any(q.template == "order_steps" for q in questions), sop_id
        for step in sop.steps:
            assert by["duration", "single", step.id] == 1, (sop_id, step.id)
            if step.controls:
                assert by["control", "single", step.id] == 1, (sop_id, step.id)
            if len(set(step.controls)) >= 2:
                assert by["control", "multiple", step.id] == 1, (sop_id, step.id)
            amount = step.conditional and re.search(r"amount\s*>=\s*\d", step.when or "")
            assert by["threshold", "single", step.id] == (1 if amount else 0), (sop_id, step.id)
            assert by["threshold", "truefalse", step.id] == (2 if amount else 0), step.id
        asked = {_norm(names[q.step_id or ""]) for q in questions if q.template == "next_step"}
        for path in _paths(sop).values():
            keys = [_norm(names[s.id]) for s in path]
            assert {k for k in keys[:-1] if keys.count(k) == 1} <= asked, sop_id


def test_the_stems_read_as_the_issue_asks(bank: dict[str, list[Question]]) -> None:
    p17 = {q.key: q for q in bank["SOP-P17"]}
    first = p17["gen:SOP-P17:2.1:-:order_steps:1"]
    assert first.stem == "按《活期现金存款》(SOP-P17 2.1)的标准流程排列以下步骤（标准流程第1至6步）"
    assert [c.text for c in p17["gen:SOP-P17:2.1:-:order_steps:2"].choices] == [
        "点钞", "录入交易", "打印凭证", "客户签字确认", "核对签字并盖章", "送别客户"]
    nxt = p17["gen:SOP-P17:2.1:count_cash:next_step"]
    assert nxt.stem == "在《活期现金存款》的标准流程中，「点钞」之后的下一步是？"
    assert _right(nxt) == ["录入交易"]
    # the large-cash steps that may follow 点钞 are never offered as wrong answers
    assert not {"双人复点", "大额现金登记"} & set(_wrong(nxt))
    # the wrong ones are the nearest other steps of the SOP (steps 5, 4 and 3)
    assert sorted(_wrong(nxt)) == sorted(["身份核验", "读卡/刷折", "询问需求"])
    assert "「双人复点」、「大额现金登记」是条件步骤" in nxt.general_feedback
    control = p17["gen:SOP-P17:2.1:count_cash:control"]
    assert control.stem == "在《活期现金存款》中，「点钞」这一步应执行哪项控制要求？"
    assert _right(control) == ["在客户视线内点验"]
    multi = p17["gen:SOP-P17:2.1:count_cash:control:multi"]
    assert sorted(_right(multi)) == sorted(["在客户视线内点验", "机点加手点", "唱收金额"])
    assert [c.fraction for c in multi.choices if c.fraction < 0] == [-50.0, -50.0]
    threshold = p17["gen:SOP-P17:2.1:second_person_recount:threshold"]
    assert threshold.stem == "在《活期现金存款》中，现金金额达到多少时须执行「双人复点」？"
    assert [c.text for c in threshold.choices] == [
        "2万元（含）以上", "3万元（含）以上", "5万元（含）以上", "10万元（含）以上"]
    statements = [p17[f"gen:SOP-P17:2.1:second_person_recount:threshold:{x}"]
                  for x in ("true", "false")]
    said = "在《活期现金存款》中，「双人复点」是条件步骤：现金金额{}万元（含）以上时须执行。"
    assert [(q.stem, _right(q)) for q in statements] == [
        (said.format(5), ["正确"]), (said.format(3), ["错误"])]
    duration = p17["gen:SOP-P17:2.1:count_cash:duration"]  # 30 s: on a band edge
    assert duration.stem == "在《活期现金存款》中，「点钞」的标准用时大约是多少？"
    assert _right(duration) == ["30秒（含）至1分钟（不含）"]


def test_a_step_named_like_another_is_asked_with_its_business_type(
        bank: dict[str, list[Question]]) -> None:
    p04 = {q.key: q for q in bank["SOP-P04"]}
    oral = p04["gen:SOP-P04:1.0:verify_identity_oral:next_step:P04"]
    written = p04["gen:SOP-P04:1.0:verify_identity_written:next_step:P05"]
    assert "口头挂失业务的标准流程中，「身份核验」" in oral.stem and _right(oral) == ["录入交易"]
    assert "书面挂失业务的标准流程中，「身份核验」" in written.stem
    assert _right(written) == ["审核单据"]
    # each type's answer is never offered as a wrong answer for the other
    assert "审核单据" not in _wrong(oral) and "录入交易" not in _wrong(written)
    duration = p04["gen:SOP-P04:1.0:verify_identity_oral:duration"]
    assert "口头挂失业务的「身份核验」" in duration.stem


def test_wrong_steps_come_from_the_same_sop_first(
        bundled: dict[str, Sop], bank: dict[str, list[Question]]) -> None:
    for sop_id, questions in bank.items():
        own = {_norm(n) for n in _zh(bundled[sop_id]).values()}
        for q in questions:
            if q.template == "next_step" and len(own) > 8:
                assert {_norm(t) for t in _wrong(q)} <= own, q.key


def test_a_lone_sop_borrows_wrong_answers_from_similar_sops(bundled: dict[str, Sop]) -> None:
    sop = bundled["SOP-P17"]
    short = _small_sop(sop, ["call_number", "count_cash", "enter_transaction"])
    alone = {q.key: q for q in generate_questions(short)}
    helped = {q.key: q for q in generate_questions(short, others=list(bundled.values()))}
    key = "gen:SOP-P17:2.1:call_number:next_step"
    assert len(alone[key].choices) == 2  # only enter_transaction is left as a wrong answer
    assert len(helped[key].choices) == 4
    check_all(short, list(helped.values()))
    # P18 (cash withdrawal) shares the owner group and comes before the other groups
    similar = {_norm(n) for s in ("SOP-P18",) for n in _zh(bundled[s]).values()}
    assert {_norm(t) for t in _wrong(helped[key])} <= similar | {"录入交易"}


def _small_sop(sop: Sop, step_ids: list[str]) -> Sop:
    from dataclasses import replace
    return replace(sop, steps=tuple(sop.step(i) for i in step_ids))


def test_order_windows() -> None:
    assert order_windows(3) == [(0, 3)]
    for n in range(7, 40):
        windows = order_windows(n)
        assert windows[0][0] == 0 and windows[-1][1] == n
        assert all(5 <= b - a <= 6 for a, b in windows)
        assert all(a[1] >= b[0] > a[0] for a, b in pairwise(windows))


# -- the library's SOPs in force ------------------------------------------------------------------


def test_generate_bank_takes_each_sop_in_force(home: Path) -> None:
    library = SopLibrary.open(home)
    record_demo_revision(library, bundled_demo_config().revisions[0])
    bank = generate_bank(library, today=date(2026, 11, 2))
    versions = {(q.sop_id, q.sop_version) for q in bank}
    assert len({s for s, _ in versions}) == 22 and len(versions) == 22
    assert ("SOP-P18", "3.0") in versions
    bundled = load_sops(bundled_path("sops"))
    assert versions - {("SOP-P18", "3.0")} == {
        (s.id, s.version) for s in bundled.values() if s.id != "SOP-P18"}
    # before the revision's first adoption date only 2.0 was in force
    before = generate_bank(library, today=date(2026, 9, 1))
    assert {q.sop_version for q in before if q.sop_id == "SOP-P18"} == {"2.0"}
    # between the two adoption dates 3.0 is in force at B01-B03: the latest in force wins
    between = generate_bank(library, today=date(2026, 10, 1))
    assert {q.sop_version for q in between if q.sop_id == "SOP-P18"} == {"3.0"}
    p18 = library.approved("SOP-P18")
    assert p18 is not None
    check_all(p18.sop, [q for q in bank if q.sop_id == "SOP-P18"])
    keys = [q.key for q in bank]
    assert len(keys) == len(set(keys))


def test_drafts_new_sops_and_retired_sops_are_not_asked(home: Path) -> None:
    library = SopLibrary.open(home)
    head = library.current("SOP-P17")
    text = head.sop.text.replace("standard_seconds: 30\n", "standard_seconds: 33\n", 1)
    library.save("SOP-P17", text, user=REVIEWER, base=head.commit, note="Slower count",
                 today=date(2026, 11, 1))
    bank = generate_bank(library, today=date(2026, 11, 2))
    assert {q.sop_version for q in bank if q.sop_id == "SOP-P17"} == {"2.1"}
    assert library.current("SOP-P17").sop.status == "draft"
    library.retire("SOP-P20", user=REVIEWER, note="Replaced", today=date(2026, 11, 1))
    assert "SOP-P20" not in {q.sop_id for q in generate_bank(library, today=date(2026, 11, 2))}
    # a new SOP never approved is not asked
    text = head.sop.text.replace("SOP-P17", "SOP-P99")
    library.save("SOP-P99", text, user=REVIEWER, note="New SOP", today=date(2026, 11, 1))
    assert "SOP-P99" in library.ids() and library.approved("SOP-P99") is None
    assert "SOP-P99" not in {q.sop_id for q in generate_bank(library, today=date(2026, 11, 2))}
    # an SOP not yet in force on the day is not asked either
    assert generate_bank(library, today=date(2020, 1, 1)) == []


# -- random SOPs ----------------------------------------------------------------------------------

_NAMES = ["叫号", "点钞", "录入交易", "身份核验", "审核单据", "打印凭证", "读卡/刷折", "读卡 刷折",
          "主管授权", "冲正"]
_CONTROLS = ["核对金额", "唱收唱付", "主管授权", "核对 金额", "联网核查", "人像比对", "登记",
             "双人复核"]
_WHENS = ["cash amount >= 50000", "amount >= 20000", "entry error found after posting",
          "cash amount >= 15000, or over the teller's authority", "amount >= 5000"]
_SECONDS = [1, 9.5, 10, 29, 30, 59, 60, 119, 120, 299, 300, 301, 1000]


@st.composite
def _steps(draw: st.DrawFn, types: tuple[str, ...]) -> list[tuple[SopStep, str]]:
    count = draw(st.integers(1, 12))
    out = []
    for i in range(count):
        conditional = draw(st.booleans())
        step = SopStep(
            id=f"s{i}", activity=f"Step {i}", standard_seconds=float(draw(st.sampled_from(
                _SECONDS))),
            controls=tuple(draw(st.lists(st.sampled_from(_CONTROLS), max_size=4))),
            conditional=conditional,
            when=draw(st.sampled_from(_WHENS)) if conditional else None,
            types=tuple(draw(st.lists(st.sampled_from(types), unique=True,
                                      max_size=len(types)))))
        out.append((step, draw(st.sampled_from(_NAMES))))
    return out


def _sop(sop_id: str, types: tuple[str, ...], steps: list[tuple[SopStep, str]],
         group: str = "accounting-and-cash") -> Sop:
    body = "# 测试\n\n" + "".join(f"### {i + 1}. {name} {s.activity} {{#{s.id}}}\n\n"
                                  for i, (s, name) in enumerate(steps))
    return Sop(id=sop_id, title={"zh": f"测试{sop_id}", "en": "Test"}, business_types=types,
               owner_group=group, version="1.0", status="approved",
               effective=date(2026, 1, 1), steps=tuple(s for s, _ in steps), body=body,
               text="")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_sops_give_right_unambiguous_questions(data: st.DataObject) -> None:
    types = data.draw(st.sampled_from([("T1",), ("T1", "T2")]))
    sop = _sop("SOP-R1", types, data.draw(_steps(types)))
    other = _sop("SOP-R2", ("T3",), data.draw(_steps(("T3",))))
    questions = generate_questions(sop, others=[other])
    check_all(sop, questions)
    keys = [q.key for q in questions]
    assert len(keys) == len(set(keys))
    assert generate_questions(sop, others=[other]) == questions
    assert [q for q in questions if q.template == "duration"] and all(
        q.sop_id == "SOP-R1" for q in questions)
