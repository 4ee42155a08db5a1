r"""Moodle XML: the question bank as Moodle's own export format, and Moodle's files read back.

The format is the one Moodle's XML importer reads (``question/format/xml/format.php`` in Moodle;
``import_headers``, ``import_multichoice``, ``import_truefalse``, ``import_category``) and, for
ordering questions, the standard ``qtype_ordering`` plugin (part of Moodle since 4.4;
``question/type/ordering/questiontype.php``, ``import_from_xml`` / ``export_to_xml``):

.. code-block:: xml

    <quiz>
      <question type="category">
        <category><text>$course$/top/procmine/regulation/aml</text></category>
      </question>
      <question type="multichoice">
        <name><text>aml-records</text></name>
        <questiontext format="html"><text>客户身份资料至少保存几年？</text></questiontext>
        <generalfeedback format="html"><text>...</text></generalfeedback>
        <defaultgrade>1</defaultgrade> <penalty>0.3333333</penalty> <hidden>0</hidden>
        <idnumber>reg:aml:aml-records</idnumber>
        <single>true</single> <shuffleanswers>true</shuffleanswers>
        <answernumbering>abc</answernumbering>
        <answer fraction="100" format="html"><text>5年</text><feedback format="html">...
        <tags><tag><text>procmine:regulation=aml</text></tag> ...</tags>
      </question>
    </quiz>

What goes where: the key is ``<idnumber>``, the title ``<name>`` (the key when a question has no
title, with the tag ``procmine:notitle``), the topic the category before the question
(``$course$/top/procmine/<topic>``), a choice's fraction the answer's ``fraction`` (percent), the
SOP, version, step, template, regulation and source the tags ``procmine:sop=SOP-P17``,
``procmine:version=2.1``, ``procmine:step=count_cash``, ``procmine:template=next_step``,
``procmine:regulation=aml``, ``procmine:source=generated``; the question's own tags follow as
they are. Texts are written as HTML (escaped, a line break as ``<br>``) and read back to plain
text: ``<br>`` and paragraph breaks become line breaks, other tags are dropped, entities resolved.

An ordering question is written as ``qtype_ordering`` exports one: ``layouttype`` VERTICAL,
``selecttype`` ALL, ``selectcount`` the number of items (all shown), ``gradingtype``
ABSOLUTE_POSITION, ``showgrading`` SHOW, ``numberingstyle`` none, and the items in their right
order, each ``fraction`` its position (Moodle's importer takes the order of the answers).

Reading is safe against hostile files: no DTD (refused), no entities resolved, no network, no
huge trees. Question types other than multichoice, truefalse and ordering are reported by name,
not dropped, and every problem of a file is raised as one
:class:`~procmine.training.gift.FormatError`.

Example:
    >>> from procmine.training.question import Question, true_false
    >>> q = Question(key="reg:cash:cash-fake", kind="truefalse",
    ...              stem="收缴假币须由两名以上业务人员当面进行。", choices=true_false(True),
    ...              topic="regulation/cash", source="regulation", regulation="cash",
    ...              title="cash-fake")
    >>> xml = write_moodle_xml([q])
    >>> "<idnumber>reg:cash:cash-fake</idnumber>" in xml
    True
    >>> parse_moodle_xml(xml) == [q]
    True
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from procmine.core.errors import ProcmineError
from procmine.training.gift import SUPPORTED, FormatError, category_topic, format_number
from procmine.training.question import FALSE_TEXT, SOURCES, TRUE_TEXT, Choice, Question

__all__ = ["parse_moodle_xml", "write_moodle_xml"]

#: tag name -> Question field, for the procmine tags (``procmine:<name>=<value>``)
TAG_FIELDS = {"sop": "sop_id", "version": "sop_version", "step": "step_id",
              "template": "template", "regulation": "regulation", "source": "source"}
_NOTITLE = "procmine:notitle"
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p(?:\s[^>]*)?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_KEY = re.compile(r"^(gen|reg|imp):")


# ---------------------------------------------------------------------------------------- writing


def _html(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str
         ) -> etree._Element:
    element = etree.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _text_field(parent: etree._Element, tag: str, text: str, fmt: str = "html") -> None:
    _sub(_sub(parent, tag, format=fmt), "text", _html(text) if fmt == "html" else text)


def _answer(parent: etree._Element, fraction: str, text: str, feedback: str,
            fmt: str = "html") -> None:
    answer = _sub(parent, "answer", fraction=fraction, format=fmt)
    _sub(answer, "text", _html(text) if fmt == "html" else text)
    _text_field(answer, "feedback", feedback)


def _tags(q: Question) -> list[str]:
    tags = [f"procmine:{name}={getattr(q, attr)}" for name, attr in TAG_FIELDS.items()
            if getattr(q, attr) is not None]
    if not q.title:
        tags.append(_NOTITLE)
    return tags + list(q.tags)


def _write_question(quiz: etree._Element, q: Question) -> None:
    moodle_type = {"single": "multichoice", "multiple": "multichoice",
                   "truefalse": "truefalse", "ordering": "ordering"}[q.kind]
    element = _sub(quiz, "question", type=moodle_type)
    _sub(_sub(element, "name"), "text", q.title or q.key)
    _text_field(element, "questiontext", q.stem)
    _text_field(element, "generalfeedback", q.general_feedback)
    _sub(element, "defaultgrade", "1")
    _sub(element, "penalty", "1" if q.kind == "truefalse" else "0.3333333")
    _sub(element, "hidden", "0")
    _sub(element, "idnumber", q.key)
    if q.kind in ("single", "multiple"):
        _sub(element, "single", "true" if q.kind == "single" else "false")
        _sub(element, "shuffleanswers", "true")
        _sub(element, "answernumbering", "abc")
        _sub(element, "showstandardinstruction", "0")
        for c in q.choices:
            _answer(element, format_number(c.fraction), c.text, c.feedback)
    elif q.kind == "truefalse":
        for c in q.choices:
            word = "true" if c.text == TRUE_TEXT else "false"
            _answer(element, "100" if c.correct else "0", word, c.feedback,
                    fmt="moodle_auto_format")
    else:
        for tag, value in (("layouttype", "VERTICAL"), ("selecttype", "ALL"),
                           ("selectcount", str(len(q.choices))),
                           ("gradingtype", "ABSOLUTE_POSITION"), ("showgrading", "SHOW"),
                           ("numberingstyle", "none")):
            _sub(element, tag, value)
        for n, c in enumerate(q.choices, start=1):
            _answer(element, str(n), c.text, c.feedback)
    tags = _sub(element, "tags")
    for tag in _tags(q):
        _sub(_sub(tags, "tag"), "text", tag)


def write_moodle_xml(questions: Iterable[Question]) -> str:
    """The questions as a Moodle XML file (``<quiz>``): a category before each new topic, then
    the questions; :func:`parse_moodle_xml` reads it back to equal questions."""
    quiz = etree.Element("quiz")
    topic = None
    for q in questions:
        if q.kind not in ("single", "multiple", "truefalse", "ordering"):
            raise ValueError(f"unknown question kind {q.kind!r}")
        if q.topic != topic:
            category = _sub(quiz, "question", type="category")
            _sub(_sub(category, "category"), "text", f"$course$/top/procmine/{q.topic}")
            topic = q.topic
        try:
            _write_question(quiz, q)
        except ValueError as error:  # lxml refuses control characters XML cannot carry
            raise ProcmineError(f"question {q.key}: {error}") from None
    etree.indent(quiz, space="  ")
    body = etree.tostring(quiz, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


# ---------------------------------------------------------------------------------------- reading


def html_to_text(text: str, fmt: str = "html") -> str:
    """Plain text of a Moodle text field: for HTML (and Moodle's auto format) line breaks and
    paragraphs become newlines, other tags are dropped and entities resolved.

    >>> html_to_text("<p>Testing <b>Iota</b> &amp; Kappa</p>")
    'Testing Iota & Kappa'
    """
    text = text.strip()
    if fmt in ("plain_text", "markdown", "wiki_like"):
        return text
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", text)))


@dataclass
class _Reader:
    source: str
    errors: list[tuple[int, str]] = field(default_factory=list)
    topic: str = "imported"
    keys: set[str] = field(default_factory=set)
    count: int = 0

    def error(self, element: etree._Element, message: str) -> None:
        self.errors.append((element.sourceline or 0, message))


def _child_text(element: etree._Element, path: str) -> str:
    found = element.find(path)
    return (found.text or "") if found is not None else ""


def _field(element: etree._Element, tag: str) -> str:
    found = element.find(tag)
    if found is None:
        return ""
    return html_to_text(_child_text(found, "text"), found.get("format", "html").strip())


def _parse_tree(data: str | bytes, source: str) -> etree._Element:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False, dtd_validation=False, remove_comments=True)
    try:
        tree = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as error:
        raise FormatError([(error.lineno or 0, f"not well-formed XML: {error.msg}")],
                          source=source) from None
    docinfo = tree.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise FormatError([(1, "a DOCTYPE/DTD is not allowed in a question file")],
                          source=source)
    if tree.tag != "quiz":
        raise FormatError([(tree.sourceline or 1, f"the root element is <{tree.tag}>, "
                                                   "expected <quiz>")], source=source)
    return tree


def parse_moodle_xml(data: str | bytes, *, source: str = "") -> list[Question]:
    """The questions of a Moodle XML file (ours or Moodle's own export): multichoice (single
    and multiple), truefalse and ordering; other types are errors naming the question. Raises
    :class:`~procmine.training.gift.FormatError` listing every problem."""
    quiz = _parse_tree(data, source)
    reader = _Reader(source)
    questions: list[Question] = []
    for element in quiz.iterchildren("question"):
        kind = (element.get("type") or "").strip()
        if kind == "category":
            reader.topic = category_topic(_child_text(element, "category/text")) or "imported"
            continue
        reader.count += 1
        name = _child_text(element, "name/text").strip()
        if kind not in ("multichoice", "truefalse", "ordering"):
            reader.error(element, f"question {name or reader.count!r}: type {kind!r} {SUPPORTED}")
            continue
        question = _read_question(element, kind, name, reader)
        if question is not None:
            questions.append(question)
    if reader.errors:
        raise FormatError(reader.errors, source=source)
    return questions


def _answers(element: etree._Element, reader: _Reader) -> list[tuple[float, str, str]]:
    """(fraction, text, feedback) of each ``<answer>``."""
    out = []
    for answer in element.iterchildren("answer"):
        raw = answer.get("fraction", "0")
        try:
            fraction = float(raw)
        except ValueError:
            reader.error(answer, f"the fraction {raw!r} is not a number")
            fraction = 0.0
        fmt = answer.get("format", "html").strip()
        text = html_to_text(_child_text(answer, "text"), fmt)
        out.append((fraction, text, _field(answer, "feedback")))
    return out


def _choices(element: etree._Element, kind: str, name: str, reader: _Reader
             ) -> tuple[str, tuple[Choice, ...]] | None:
    answers = _answers(element, reader)
    label = f"question {name!r}"
    if len(answers) < 2:
        reader.error(element, f"{label}: needs at least two answers")
        return None
    texts = [text for _, text, _ in answers]
    if kind != "truefalse" and (any(not t for t in texts) or len(set(texts)) < len(texts)):
        reader.error(element, f"{label}: an empty or repeated answer")
        return None
    if kind == "ordering":
        return "ordering", tuple(Choice(t, 100.0, fb) for _, t, fb in answers)
    if kind == "truefalse":
        return _truefalse(element, answers, label, reader)
    single = _child_text(element, "single").strip() not in ("false", "", "0")
    positive = [f for f, _, _ in answers if f > 0]
    if single and positive != [100.0]:
        reader.error(element, f"{label}: a single-choice question needs exactly one answer "
                              f"with fraction 100 and no partial credit")
        return None
    if not single and (not positive or abs(sum(positive) - 100.0) > 0.02):
        reader.error(element, f"{label}: the fractions of the right answers add up to "
                              f"{format_number(round(sum(positive), 4))}, not 100")
        return None
    choices = tuple(Choice(t, f, fb) for f, t, fb in answers)
    return ("single" if single else "multiple"), choices


def _truefalse(element: etree._Element, answers: list[tuple[float, str, str]], label: str,
               reader: _Reader) -> tuple[str, tuple[Choice, ...]] | None:
    # as Moodle's import_truefalse: match on "true"/"false", else true first, then false
    feedback = {}
    answer = None
    for n, (fraction, text, fb) in enumerate(answers[:2]):
        word = text.lower() if text.lower() in ("true", "false") else ("true", "false")[n]
        feedback[word] = fb
        if fraction == 100.0:
            answer = word == "true"
    if answer is None:
        reader.error(element, f"{label}: neither true nor false has fraction 100")
        return None
    return "truefalse", (Choice(TRUE_TEXT, 100.0 if answer else 0.0, feedback.get("true", "")),
                         Choice(FALSE_TEXT, 0.0 if answer else 100.0, feedback.get("false", "")))


def _read_question(element: etree._Element, kind: str, name: str, reader: _Reader
                   ) -> Question | None:
    made = _choices(element, kind, name, reader)
    if made is None:
        return None
    procmine_kind, choices = made
    meta: dict[str, str] = {}
    tags: list[str] = []
    for tag in element.iterfind("tags/tag/text"):
        value = (tag.text or "").strip()
        label, _, rest = value.partition("=")
        attr = TAG_FIELDS.get(label.removeprefix("procmine:")) if label.startswith(
            "procmine:") and "=" in value else None
        if attr:
            meta[attr] = rest
        elif value != _NOTITLE:
            tags.append(value)
    notitle = any((t.text or "").strip() == _NOTITLE for t in element.iterfind("tags/tag/text"))
    idnumber = _child_text(element, "idnumber").strip()
    if _KEY.match(idnumber):
        key = idnumber
    else:
        key = f"imp:{reader.source or 'file'}:{idnumber or name or reader.count}"
        if key in reader.keys:
            key = f"{key}:{reader.count}"
    if key in reader.keys:
        reader.error(element, f"question {name!r}: the key {key!r} appears twice")
        return None
    reader.keys.add(key)
    stem = _field(element, "questiontext")
    if not stem:
        reader.error(element, f"question {name!r}: no question text")
        return None
    source = meta.get("source", "imported")
    if source not in SOURCES:
        reader.error(element, f"question {name!r}: unknown source {source!r}")
        return None
    return Question(
        key=key, kind=procmine_kind, stem=stem, choices=choices, topic=reader.topic,
        source=source, sop_id=meta.get("sop_id"), sop_version=meta.get("sop_version"),
        step_id=meta.get("step_id"), template=meta.get("template"),
        regulation=meta.get("regulation"), title="" if notitle else name,
        general_feedback=_field(element, "generalfeedback"), tags=tuple(tags),
    )
