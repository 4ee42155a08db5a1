"""The exchange formats of the question bank (GIFT, Moodle XML, Aiken) and the regulation bank.

What is checked: every GIFT feature maps to the right Question; every problem of a file is
reported with its line; unsupported question kinds are errors, not dropped; our Moodle XML has
the elements Moodle's importer reads (written down below from Moodle's own code); Moodle's own
example files (tests/data/moodle, see its README) read to the right values; round trips lose
nothing (also over generated questions with every special character); Aiken keeps single choice
only; the bundled regulation bank parses cleanly with every area and kind present.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import procmine
from procmine.core.limits import Limits, use_limits
from procmine.training.aiken import parse_aiken, write_aiken
from procmine.training.exchange import (
    EXPORT_FORMATS,
    export_questions,
    import_questions,
    regulation_bank,
)
from procmine.training.gift import FormatError, parse_gift, write_gift
from procmine.training.moodle_xml import parse_moodle_xml, write_moodle_xml
from procmine.training.question import (
    FALSE_TEXT,
    REGULATIONS,
    SOURCES,
    TEMPLATES,
    TRUE_TEXT,
    Choice,
    Question,
    true_false,
)

MOODLE = Path(__file__).parent / "data" / "moodle"


def _q(**fields: object) -> Question:
    base: dict[str, object] = {
        "key": "reg:aml:x", "kind": "single", "stem": "题？",
        "choices": (Choice("对", 100.0), Choice("错", 0.0)), "topic": "regulation/aml",
        "source": "regulation", "regulation": "aml", "title": "x",
    }
    base.update(fields)
    return Question(**base)  # type: ignore[arg-type]


SAMPLES = [
    _q(key="reg:aml:aml-cash", title="aml-cash", stem="大额现金交易的标准？",
       choices=(Choice("5万元", 100.0, "对"), Choice("1万元", -50.0), Choice("20万元", 0.0)),
       general_feedback="《金融机构大额交易和可疑交易报告管理办法》第五条"),
    _q(key="gen:SOP-P17:2.1:count_cash:control", kind="multiple", stem="哪些控制适用？",
       choices=(Choice("双人复核", 50.0), Choice("登记", 50.0), Choice("无", -100.0, "不对")),
       topic="SOP-P17", source="generated", sop_id="SOP-P17", sop_version="2.1",
       step_id="count_cash", template="control", regulation=None, title="",
       tags=("现金", "count")),
    _q(key="reg:cash:fake", kind="truefalse", stem="收缴假币须两名以上业务人员当面进行。",
       choices=(Choice(TRUE_TEXT, 100.0, "对"), Choice(FALSE_TEXT, 0.0, "错了")),
       topic="regulation/cash", regulation="cash", title="fake"),
    _q(key="gen:SOP-P17:2.1:-:order_steps", kind="ordering", stem="把步骤排好顺序",
       choices=(Choice("受理", 100.0), Choice("点钞", 100.0, "先点钞"), Choice("记账", 100.0)),
       topic="SOP-P17", source="generated", sop_id="SOP-P17", sop_version="2.1",
       template="order_steps", regulation=None, title="order"),
]


# ------------------------------------------------------------------------------------------ GIFT

GIFT_FILE = r"""// a comment
$CATEGORY: $course$/top/procmine/regulation/aml

::aml-1::[html]当日单笔或累计{
  =5万元以上#正确
  ~%-50%1万元以上#不对
  ~20万元以上
  ####《办法》第五条
}

// comments inside a block are left out
::aml-2:: 可疑交易\: 要报告 \{吗\} \~ \= \# 第一行\n第二行 {T#你答错了#你答对了}

::aml-3::哪些是义务？{~%33.33333%识别 ~%33.33333%保存 ~%33.33334%报告 ~%-100%开匿名户}

::aml-4::假的？{FALSE####说明}
"""


def test_gift_reads_every_feature() -> None:
    q1, q2, q3, q4 = parse_gift(GIFT_FILE, source="aml.gift", regulation="aml")
    assert (q1.key, q1.kind, q1.topic, q1.source, q1.regulation, q1.title) == (
        "reg:aml:aml-1", "single", "regulation/aml", "regulation", "aml", "aml-1")
    assert q1.stem == "当日单笔或累计"  # the [html] marker dropped, the text kept
    assert q1.choices == (Choice("5万元以上", 100.0, "正确"), Choice("1万元以上", -50.0, "不对"),
                          Choice("20万元以上", 0.0))
    assert q1.general_feedback == "《办法》第五条"
    assert q2.stem == "可疑交易: 要报告 {吗} ~ = # 第一行\n第二行"
    assert q2.kind == "truefalse"
    # {T#feedback if wrong#feedback if right}, as Moodle's split_truefalse_comment reads it
    assert q2.choices == (Choice(TRUE_TEXT, 100.0, "你答对了"), Choice(FALSE_TEXT, 0.0, "你答错了"))
    assert q3.kind == "multiple"
    assert [c.fraction for c in q3.choices] == [33.33333, 33.33333, 33.33334, -100.0]
    assert q4.choices == true_false(False) and q4.general_feedback == "说明"


def test_gift_reads_windows_line_ends_and_a_byte_order_mark() -> None:
    crlf = "\ufeff" + GIFT_FILE.replace("\n", "\r\n")
    assert parse_gift(crlf, regulation="aml") == parse_gift(GIFT_FILE, regulation="aml")
    with pytest.raises(FormatError) as caught:
        parse_gift(BROKEN.replace("\n", "\r\n"))
    assert [line for line, _ in caught.value.errors][:3] == [1, 3, 5]


def test_gift_without_regulation_is_imported_with_numbered_keys() -> None:
    questions = parse_gift("题一？{=a ~b}\n\n::t::题二？{=a ~b}\n\n题三？{TRUE}", source="f.txt")
    assert [q.key for q in questions] == ["imp:f.txt:1", "imp:f.txt:t", "imp:f.txt:3"]
    assert {q.topic for q in questions} == {"imported"}
    assert {q.source for q in questions} == {"imported"}


BROKEN = r"""::e1::开口{=a ~b

::e2::没有对的{~a ~b}

::e3::权重{~%50%a ~%40%b ~c}

::e4::转义{=a\q ~b}

::e5::空{=a ~ ~c}

::e6::重复{=a ~a}

::e7::{=a ~b}

::e8::匹配{=a -> b =c -> d}

::e9::作文{}

::e10::数字{#12:1}

::e11::简答{=是 =对}

::e12::填空 {=a ~b} 后面还有字

::e13::两个对{=a =b ~c}

::e14::
  混合{=a ~%50%b ~c}
"""


def test_gift_collects_every_error_with_its_line() -> None:
    with pytest.raises(FormatError) as caught:
        parse_gift(BROKEN, source="bad.gift")
    errors = caught.value.errors
    assert [line for line, _ in errors] == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 28]
    messages = dict(errors)
    assert messages[1] == "'{' is not closed with '}'"
    assert messages[3] == "no right answer ('=' or a positive ~%n% weight)"
    assert messages[5] == "the weights of the right choices add up to 90, not 100"
    assert messages[7].startswith("unknown escape '\\\\q'")
    assert messages[9] == "an empty choice"
    assert messages[11] == "the choice 'a' appears twice"
    assert messages[13] == "the question has no text"
    assert messages[15].startswith("a matching question")
    assert messages[17] == ("an essay question ({}) is not supported "
                            "(single, multiple, true/false, ordering)")
    assert messages[19].startswith("a numeric question ({#...}) is not supported")
    assert messages[21].startswith("a short-answer question")
    assert messages[23].startswith("text after the answer block (a missing-word question)")
    assert messages[25].startswith("more than one right answer")
    assert messages[28].startswith("partial weights ~%n% beside a right answer")
    text = str(caught.value)
    assert text.splitlines()[0] == "bad.gift:1: '{' is not closed with '}'"
    assert len(text.splitlines()) == 14


def test_gift_procmine_comment_restores_fields_and_ordering() -> None:
    text = write_gift(SAMPLES)
    assert text.count("// procmine: ") == len(SAMPLES)
    assert "$CATEGORY: $course$/top/procmine/SOP-P17" in text
    # ordering is a matching block 1 -> item, 2 -> item, ... in GIFT
    assert "=1 -> 受理" in text and "=3 -> 记账" in text
    assert parse_gift(text) == SAMPLES
    # the same matching block without the procmine comment is not supported
    bare = "\n".join(line for line in text.split("\n") if not line.startswith("// procmine:"))
    with pytest.raises(FormatError) as caught:
        parse_gift(bare)
    assert any("a '->' pair in a non-ordering block" in m for _, m in caught.value.errors)


def test_gift_reads_moodles_own_ordering_form() -> None:
    text = (MOODLE / "ordering_testexport.gift.txt").read_text(encoding="utf-8")
    (q,) = parse_gift(text, source="ordering.txt")
    assert (q.key, q.kind, q.title, q.stem) == (
        "imp:ordering.txt:Moodle", "ordering", "Moodle", "Put these words in order.")
    assert [c.text for c in q.choices] == [
        "Modular", "Object", "Oriented", "Dynamic", "Learning", "Environment"]
    assert {c.fraction for c in q.choices} == {100.0}


def test_gift_questions_need_a_blank_line_between_them() -> None:
    with pytest.raises(FormatError) as caught:
        parse_gift("::a::题一？{=a ~b}\n::b::题二？{=a ~b}\n\n::c::第三题\n} 多了 {=a ~b}")
    assert caught.value.errors == [(2, "a second question without a blank line before it"),
                                   (5, "'}' without '{' (write \\} for a brace)")]


def test_gift_procmine_comment_must_match_the_block() -> None:
    text = '// procmine: {"key": "gen:x", "kind": "ordering"}\n::x::题{=a ~b}\n'
    with pytest.raises(FormatError) as caught:
        parse_gift(text)
    assert caught.value.errors == [(1, "the procmine comment says ordering but the answer "
                                       "block is a single question")]
    with pytest.raises(FormatError) as caught:
        parse_gift('// procmine: {"key": \n::x::题{=a ~b}\n')
    assert caught.value.errors == [(1, "the procmine comment is not valid JSON")]


def test_gift_regulation_questions_need_titles_and_unique_keys() -> None:
    with pytest.raises(FormatError) as caught:
        parse_gift("题？{TRUE}\n\n::a::题？{TRUE}\n\n::a::题？{FALSE}", regulation="cash")
    assert caught.value.errors == [
        (1, "a regulation question needs a ::title:: (its key)"),
        (5, "the key 'reg:cash:a' appears twice (titles must be unique)"),
    ]


# ------------------------------------------------------------------------------------ Moodle XML
#
# What Moodle's importer reads (Moodle, question/format/xml/format.php):
# - import_headers: name/text (required), questiontext@format + text, idnumber,
#   generalfeedback text, defaultgrade, penalty, tags/tag/text (import_question_tags);
# - import_multichoice: single ("false" or empty -> multiple), shuffleanswers, answernumbering,
#   each answer: @fraction in percent (import_answer divides by 100), text, feedback/text;
# - import_truefalse: answers whose text is "true" / "false"; the one with @fraction 100 is right;
# - import_category: category/text, the path of the category;
# and qtype_ordering (question/type/ordering/questiontype.php, import_from_xml and
# set_options_for_import): layouttype (VERTICAL|HORIZONTAL), selecttype (ALL|RANDOM|CONTIGUOUS),
# selectcount (at least 2), gradingtype (ALL_OR_NOTHING, ABSOLUTE_POSITION, ...), showgrading
# (SHOW|HIDE), numberingstyle (none, 123, abc, ABCD, iii, IIII), then the answers in their right
# order (the fraction is reset from the position by save_question_options).


def _xml_questions(xml: str) -> list[etree._Element]:
    quiz = etree.fromstring(xml.encode("utf-8"))
    assert quiz.tag == "quiz"
    return list(quiz.iterchildren("question"))


def test_moodle_xml_export_has_what_the_importer_reads() -> None:
    elements = _xml_questions(write_moodle_xml(SAMPLES))
    types = [e.get("type") for e in elements]
    assert types == ["category", "multichoice", "category", "multichoice", "category",
                     "truefalse", "category", "ordering"]
    assert [e.findtext("category/text") for e in elements if e.get("type") == "category"] == [
        "$course$/top/procmine/regulation/aml", "$course$/top/procmine/SOP-P17",
        "$course$/top/procmine/regulation/cash", "$course$/top/procmine/SOP-P17"]
    single, multiple, truefalse, ordering = (e for e in elements if e.get("type") != "category")
    for element, q in zip((single, multiple, truefalse, ordering), SAMPLES, strict=True):
        assert element.findtext("name/text") == (q.title or q.key)
        assert element.find("questiontext").get("format") == "html"
        assert element.findtext("questiontext/text") == q.stem
        assert element.findtext("idnumber") == q.key
        assert element.findtext("defaultgrade") == "1"
        assert element.findtext("hidden") == "0"
        assert float(element.findtext("penalty")) in (1.0, 0.3333333)
    assert single.findtext("generalfeedback/text") == SAMPLES[0].general_feedback
    assert single.findtext("single") == "true" and multiple.findtext("single") == "false"
    assert single.findtext("shuffleanswers") == "true"
    assert single.findtext("answernumbering") == "abc"
    answers = single.findall("answer")
    assert [(a.get("fraction"), a.get("format"), a.findtext("text"),
             a.findtext("feedback/text")) for a in answers] == [
        ("100", "html", "5万元", "对"), ("-50", "html", "1万元", ""), ("0", "html", "20万元", "")]
    assert [a.get("fraction") for a in multiple.findall("answer")] == ["50", "50", "-100"]
    assert [t.text for t in multiple.findall("tags/tag/text")] == [
        "procmine:sop=SOP-P17", "procmine:version=2.1", "procmine:step=count_cash",
        "procmine:template=control", "procmine:source=generated", "procmine:notitle",
        "现金", "count"]
    assert [(a.findtext("text"), a.get("fraction"), a.findtext("feedback/text"))
            for a in truefalse.findall("answer")] == [("true", "100", "对"), ("false", "0", "错了")]
    assert [ordering.findtext(tag) for tag in (
        "layouttype", "selecttype", "selectcount", "gradingtype", "showgrading",
        "numberingstyle")] == ["VERTICAL", "ALL", "3", "ABSOLUTE_POSITION", "SHOW", "none"]
    assert [a.findtext("text") for a in ordering.findall("answer")] == ["受理", "点钞", "记账"]


def test_moodle_xml_round_trip_and_escaping() -> None:
    tricky = _q(stem="a < b & c > d\n第二行 <br> ]]>", title="t<&>",
                choices=(Choice("<b>粗</b>", 100.0, "&amp;"), Choice("x", 0.0)),
                general_feedback="1\n2")
    xml = write_moodle_xml([*SAMPLES, tricky])
    assert parse_moodle_xml(xml) == [*SAMPLES, tricky]
    assert parse_moodle_xml(xml.encode("utf-8")) == [*SAMPLES, tricky]


def test_moodle_multichoice_fixture() -> None:
    (q,) = parse_moodle_xml((MOODLE / "multichoice_testquestion.moodle.xml").read_bytes(),
                            source="mc.xml")
    assert (q.key, q.kind, q.topic, q.title) == (
        "imp:mc.xml:Multi-choice-001", "multiple", "Default for C1", "Multi-choice-001")
    assert q.stem == "Find the capital cities in Europe."
    assert [(c.text, c.fraction) for c in q.choices] == [
        ("Tokyo", 0.0), ("Spain", 0.0), ("London", 50.0), ("Barcelona", 0.0), ("Paris", 50.0)]
    assert q.general_feedback == "Berlin, Paris and London"


def test_moodle_nested_categories_fixture_reports_the_essay() -> None:
    data = (MOODLE / "nested_categories_with_questions.xml").read_text(encoding="utf-8")
    with pytest.raises(FormatError) as caught:
        parse_moodle_xml(data, source="nested.xml")
    assert caught.value.errors == [
        (55, "question 'Kappa Essay Question': type 'essay' is not supported "
             "(single, multiple, true/false, ordering)")]
    start = data.index("<!-- question: 106")
    without_essay = data[:start] + data[data.index("<!-- question: 97"):]
    questions = parse_moodle_xml(without_essay, source="nested.xml")
    assert [(q.title, q.topic, q.kind, q.stem) for q in questions] == [
        ("Iota Question", "Iota", "truefalse", "Testing Iota Question"),
        ("Kappa Question", "Iota/Kappa", "truefalse", "Testing Kappa Question"),
        ("Lambda Question", "Iota/Kappa/Lambda", "truefalse", "Testing Lambda Question"),
        ("Mu Question", "Iota/Mu", "truefalse", "Testing Mu Question")]
    assert all(q.choices == true_false(True) for q in questions)


def test_moodle_ordering_fixture() -> None:
    fragment = (MOODLE / "ordering_testexport.moodle.xml").read_text(encoding="utf-8")
    (q,) = parse_moodle_xml(f"<quiz>{fragment}</quiz>", source="ordering.xml")
    assert (q.key, q.kind, q.title) == ("imp:ordering.xml:myid", "ordering", "Moodle")
    assert [c.text for c in q.choices] == [
        "Modular", "Object", "Oriented", "Dynamic", "Learning", "Environment"]
    assert q.choices[0].feedback == "Modular is correct."
    assert q.general_feedback.startswith('The correct answer is "Modular')
    assert parse_moodle_xml(write_moodle_xml([q])) == [q]


def test_moodle_xml_refuses_dtds_and_reports_bad_files() -> None:
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE quiz [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;">]>\n<quiz>&b;</quiz>')
    with pytest.raises(FormatError, match="DOCTYPE"):
        parse_moodle_xml(bomb)
    with pytest.raises(FormatError) as caught:
        parse_moodle_xml("<quiz>\n<question type='truefalse'>\n</quiz>", source="b.xml")
    assert caught.value.errors[0][0] == 3
    assert str(caught.value).startswith("b.xml:3: not well-formed XML")
    with pytest.raises(FormatError, match="expected <quiz>"):
        parse_moodle_xml("<questions/>")
    with pytest.raises(procmine.ProcmineError, match="question reg:aml:x: All strings must be"):
        write_moodle_xml([_q(stem="bell \x07")])
    bad = write_moodle_xml([_q()]).replace('fraction="100"', 'fraction="50"')
    with pytest.raises(FormatError, match="exactly one answer with fraction 100"):
        parse_moodle_xml(bad)


# ----------------------------------------------------------------------------------------- Aiken


def test_aiken_writes_single_choice_only_and_reads_back() -> None:
    text, left_out = write_aiken(SAMPLES)
    assert left_out == 3
    assert text == "大额现金交易的标准？\nA. 5万元\nB. 1万元\nC. 20万元\nANSWER: A\n"
    (q,) = parse_aiken(text, source="a.txt")
    assert (q.key, q.kind, q.stem) == ("imp:a.txt:1", "single", "大额现金交易的标准？")
    assert [(c.text, c.fraction) for c in q.choices] == [
        ("5万元", 100.0), ("1万元", 0.0), ("20万元", 0.0)]


def test_aiken_errors_have_lines() -> None:
    text = "题一？\nA. 是\nC. 否\nANSWER: A\n\n题二？\nA) 是\nB) 否\nANSWER: D\n\n题三？\nA. x\n"
    with pytest.raises(FormatError) as caught:
        parse_aiken(text, source="x.txt")
    assert caught.value.errors == [
        (3, "choice C where B was expected"),
        (9, "ANSWER: D is not one of the choices A to B"),
        (11, "the question has no ANSWER: line"),
    ]


# -------------------------------------------------------------------------------------- exchange


def test_export_and_import_every_format(tmp_path: Path) -> None:
    assert EXPORT_FORMATS == ("gift", "moodle-xml", "aiken")
    for fmt, name in (("gift", "bank.gift"), ("moodle-xml", "bank.xml"), ("aiken", "bank.txt")):
        text, left_out = export_questions(SAMPLES, fmt)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        imported = import_questions(path)
        if fmt == "aiken":
            assert left_out == 3 and [q.stem for q in imported] == [SAMPLES[0].stem]
        else:
            assert left_out == 0 and imported == SAMPLES
    # a GIFT file saved as .txt (Moodle's GIFT export does that) is found by its content
    gift_txt = tmp_path / "moodle-gift.txt"
    gift_txt.write_text(write_gift(SAMPLES), encoding="utf-8")
    assert import_questions(gift_txt) == SAMPLES
    assert procmine.read_questions("up.xml", export_questions(SAMPLES, "moodle-xml")[0]
                                   .encode("utf-8")) == SAMPLES
    with pytest.raises(procmine.ProcmineError, match="not a question file"):
        procmine.read_questions("notes.txt", b"just some notes")
    with pytest.raises(procmine.ProcmineError, match="unknown export format"):
        export_questions(SAMPLES, "qti")


def test_import_refuses_big_and_non_utf8_files(tmp_path: Path) -> None:
    path = tmp_path / "big.gift"
    path.write_bytes(b"x" * (2 << 20))
    with use_limits(Limits(max_upload_mb=1)), pytest.raises(procmine.ProcmineError,
                                                            match="max_upload_mb"):
        import_questions(path)
    latin = tmp_path / "latin.gift"
    latin.write_bytes("题？{TRUE}\n\n".encode() + b"\xe9t\xe9{TRUE}")
    with pytest.raises(FormatError) as caught:
        import_questions(latin)
    assert caught.value.errors == [(3, "the file is not UTF-8 text")]


def test_regulation_bank_is_complete_and_clean() -> None:
    bank = regulation_bank()
    per_area = Counter(q.regulation for q in bank)
    assert set(per_area) == set(REGULATIONS)
    assert min(per_area.values()) >= 12
    for area in REGULATIONS:
        questions = [q for q in bank if q.regulation == area]
        assert {q.kind for q in questions} == {"single", "multiple", "truefalse"}, area
        for q in questions:
            assert q.key == f"reg:{area}:{q.title}" and q.title.isascii()
            assert q.topic == f"regulation/{area}" and q.source == "regulation"
            assert "《" in q.general_feedback, q.key  # cites the regulation
            assert len(q.correct_choices()) >= 1
    assert len({q.key for q in bank}) == len(bank)
    facts = {q.key: q for q in bank}
    assert [c.text for c in facts["reg:aml:aml-cash-threshold"].correct_choices()] == [
        "当日单笔或者累计交易5万元以上（含5万元）"]
    assert [c.text for c in facts["reg:negotiable-instruments:ni-cheque-term"]
            .correct_choices()] == ["自出票日起10日"]
    assert [c.text for c in facts["reg:negotiable-instruments:ni-draft-term"]
            .correct_choices()] == ["自出票日起1个月"]
    assert [c.text for c in facts["reg:negotiable-instruments:ni-note-term"]
            .correct_choices()] == ["2个月"]
    assert facts["reg:cash:cash-fake-two"].choices == true_false(True)
    # the bank survives both exchange formats unchanged
    assert parse_gift(write_gift(bank)) == bank
    assert parse_moodle_xml(write_moodle_xml(bank)) == bank


def test_regulation_bank_refuses_unknown_areas(tmp_path: Path) -> None:
    (tmp_path / "tax.gift").write_text("::t::题？{TRUE}\n", encoding="utf-8")
    with pytest.raises(procmine.ProcmineError, match="'tax' is not a regulation area"):
        regulation_bank(tmp_path)


# ----------------------------------------------------------------------------- property tests

SPECIAL = "~=#{}:\\\n%[]/->$ "
_chars = st.characters(blacklist_categories=("Cc", "Cs", "Cn"))
texts = (st.text(st.one_of(_chars, st.sampled_from(SPECIAL)), min_size=1, max_size=24)
         .map(str.strip).filter(bool))
plain = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,12}", fullmatch=True)


@st.composite
def questions(draw: st.DrawFn) -> Question:
    kind = draw(st.sampled_from(["single", "multiple", "truefalse", "ordering"]))
    feedback = st.one_of(st.just(""), texts)
    if kind == "truefalse":
        answer = draw(st.booleans())
        choices = tuple(Choice(c.text, c.fraction, draw(feedback)) for c in true_false(answer))
    else:
        items = draw(st.lists(texts, min_size=2, max_size=5, unique=True))
        if kind == "ordering":
            choices = tuple(Choice(t, 100.0, draw(feedback)) for t in items)
        else:
            rights = 1 if kind == "single" else draw(st.integers(2, len(items)))
            wrong = st.sampled_from([0.0, -50.0, -100.0, -100.0 / 3])
            choices = tuple(
                Choice(t, 100.0 / rights if n < rights else draw(wrong), draw(feedback))
                for n, t in enumerate(items))
    optional = st.one_of(st.none(), texts)
    return Question(
        key=draw(st.sampled_from(["gen:", "reg:", "imp:"])) + draw(plain), kind=kind,
        stem=draw(texts), choices=choices,
        topic=draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9/_-]{0,15}", fullmatch=True)),
        source=draw(st.sampled_from(SOURCES)), sop_id=draw(optional),
        sop_version=draw(optional), step_id=draw(optional),
        template=draw(st.one_of(st.none(), st.sampled_from(TEMPLATES))),
        regulation=draw(st.one_of(st.none(), st.sampled_from(REGULATIONS))),
        title=draw(st.one_of(st.just(""), texts)), general_feedback=draw(feedback),
        tags=tuple(draw(st.lists(texts.filter(lambda t: not t.startswith("procmine:")),
                                 max_size=3))),
    )


banks = st.lists(questions(), min_size=1, max_size=4, unique_by=lambda q: q.key)
PROPERTY = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(banks)
def test_gift_round_trip_loses_nothing(bank: list[Question]) -> None:
    assert parse_gift(write_gift(bank)) == bank


@PROPERTY
@given(banks)
def test_moodle_xml_round_trip_loses_nothing(bank: list[Question]) -> None:
    assert parse_moodle_xml(write_moodle_xml(bank)) == bank


GIFT_PIECES = st.sampled_from([
    *"~=#{}:\\n%[]/-> TF\n", "::", "// procmine: {}", '// procmine: {"kind": "ordering"}',
    "$CATEGORY:", "####", "%50%", "=1 -> ", "{>2 ALL\n", "TRUE", "ANSWER: A", "A. ", "B) ", "题"])
XML_PIECES = st.sampled_from([
    "<quiz>", "</quiz>", "<question type='multichoice'>", "<question type='truefalse'>",
    "<question type='ordering'>", "<question type='category'>", "</question>",
    "<answer fraction='100'>", "<answer fraction='x'>", "</answer>", "<text>", "</text>",
    "<name>", "</name>", "<single>false</single>", "<questiontext>", "</questiontext>",
    "<category>", "</category>", "a", "&amp;", "<idnumber>gen:x</idnumber>"])


@PROPERTY
@given(st.lists(GIFT_PIECES, max_size=40).map("".join), st.sampled_from([None, "aml"]))
def test_text_readers_raise_only_format_errors(text: str, regulation: str | None) -> None:
    for read in (lambda: parse_gift(text, regulation=regulation), lambda: parse_aiken(text)):
        try:
            questions = read()
        except FormatError as error:
            assert error.errors and all(line >= 1 for line, _ in error.errors)
        else:
            assert all(q.kind in ("single", "multiple", "truefalse", "ordering")
                       for q in questions)


@PROPERTY
@given(st.lists(XML_PIECES, max_size=40).map("".join))
def test_the_xml_reader_raises_only_format_errors(text: str) -> None:
    try:
        parse_moodle_xml(text)
    except FormatError as error:
        assert error.errors
