r"""Moodle's GIFT format: read the hand-written regulation bank and trainers' files, write the bank.

GIFT (Moodle's "General Import Format Template", documented with the Moodle question formats) is a
plain-text format a trainer can write in any editor (``sops/questions/*.gift`` are examples): a
list of questions separated by blank lines, such as ``::aml-records::客户身份资料至少保存几年？
{=5年#正确 ~3年 ~%-50%1年}``. What is read, and how it maps to a
:class:`~procmine.training.question.Question`:

* ``//`` starts a comment line; ``$CATEGORY: path`` sets the topic of the questions after it
  (a ``$course$/top/procmine/`` prefix, as Moodle writes it, is dropped); ``::title::`` names a
  question; ``[html]``, ``[moodle]``, ``[plain]`` and ``[markdown]`` at the start of a text are
  format markers (dropped, the text is kept as it is).
* The answer block ``{...}`` holds ``=right`` and ``~wrong`` choices, ``~%50%`` / ``~%-100%``
  weights in percent, ``#feedback`` after a choice and ``####general feedback`` at the end.
  One ``=`` choice is a single-choice question (the other choices may carry negative weights);
  ``~%n%`` weights with more than one positive are a multiple-choice question (the positive
  weights add up to 100); ``{T}``, ``{F}``, ``{TRUE}``, ``{FALSE}`` (``#feedback if wrong
  #feedback if right``) a true/false question.
* ``\~ \= \# \{ \} \:`` escape the special characters, ``\n`` is a line break and ``\\`` a
  backslash.
* GIFT has no ordering question. procmine writes one as a matching question whose left sides are
  ``1``, ``2``, ... and right sides the items in their order, and writes one comment line
  ``// procmine: {json}`` before every question it writes, carrying what GIFT cannot hold (key,
  kind, source, SOP, version, step, template, regulation, tags). Reading such a comment restores
  them; a matching block without it is not supported.

Moodle's own ordering form (``{>6 ALL VERTICAL ...`` and one item a line) is read too. Essays
(``{}``), numeric (``{#...}``), short-answer (``=`` choices only), matching and missing-word
questions (text after the block) are reported, not dropped. Every problem of a file is
collected with its line and raised as one :class:`FormatError`.

Example:
    >>> qs = parse_gift("$CATEGORY: regulation/cash\n\n"
    ...                 "::cash-fake::收缴假币须由两名以上业务人员当面进行。{T}", regulation="cash")
    >>> qs[0].key, qs[0].kind, qs[0].topic, [c.text for c in qs[0].correct_choices()]
    ('reg:cash:cash-fake', 'truefalse', 'regulation/cash', ['正确'])
    >>> parse_gift(write_gift(qs)) == qs
    True
    >>> try:
    ...     parse_gift("::a::a?{=x ~y}\n\n::b::b?{}", source="bank.gift")
    ... except FormatError as error:
    ...     print(error)
    bank.gift:3: an essay question ({}) is not supported (single, multiple, true/false, ordering)
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from procmine.core.errors import ProcmineError
from procmine.training.question import (
    FALSE_TEXT,
    KINDS,
    SOURCES,
    TEMPLATES,
    TRUE_TEXT,
    Choice,
    Question,
)

__all__ = ["FormatError", "category_topic", "parse_gift", "write_gift"]

SUPPORTED = "is not supported (single, multiple, true/false, ordering)"
#: what Moodle writes before a category path; dropped when read
_CATEGORY_PREFIX = re.compile(r"^\$(?:course|cat|module|system)\$/(?:top/)?(?:procmine/)?")
_MARKER = re.compile(r"^\[(html|moodle|plain|markdown)\]")
_WEIGHT = re.compile(r"^%([^%\n]*)%")
_ESCAPE = re.compile(r"\\(.?)", re.DOTALL)
_ESCAPES = {"~": "~", "=": "=", "#": "#", "{": "{", "}": "}", ":": ":", "n": "\n", "\\": "\\"}
_META = "// procmine:"
#: the fields the ``// procmine:`` comment carries
_META_FIELDS = ("key", "kind", "source", "sop_id", "sop_version", "step_id", "template",
                "regulation", "tags", "item_feedback")
#: how much the positive weights of a multiple-choice question may miss 100 (3 x 33.33)
WEIGHT_TOLERANCE = 0.02


class FormatError(ProcmineError):
    """Problems in a question file: ``errors`` lists each as (line, message), in line order."""

    def __init__(self, errors: Iterable[tuple[int, str]], *, source: str = "") -> None:
        self.errors: list[tuple[int, str]] = sorted(errors, key=lambda e: e[0])
        self.source = source
        name = source or "<text>"
        super().__init__("\n".join(f"{name}:{line}: {message}" for line, message in self.errors),
                         code="training.format_errors", file=name, count=len(self.errors))


def category_topic(path: str) -> str:
    """The topic of a Moodle category path: ``$course$/top/procmine/SOP-P17`` -> ``SOP-P17``.

    >>> category_topic("$course$/Default for C1")
    'Default for C1'
    """
    return _CATEGORY_PREFIX.sub("", path.strip()).strip()


def imported_key(source: str, name: str, n: int, used: set[str]) -> str:
    """The key of an imported question: ``imp:<source>:<title or n>``, made unique in a file."""
    key = f"imp:{source or 'file'}:{name or n}"
    return f"{key}:{n}" if key in used else key


def format_number(value: float) -> str:
    """A weight as plain decimals that read back to the same float: 50.0 -> ``50``."""
    if value == int(value):
        return str(int(value))
    return format(Decimal(repr(value)), "f")


# ---------------------------------------------------------------------------------------- reading


@dataclass
class _Block:
    """One question's text, the line it starts on, and its ``// procmine:`` comment."""

    text: str
    line: int
    meta: dict[str, Any] | None = None
    meta_line: int = 0


@dataclass
class _Reader:
    source: str
    regulation: str | None
    errors: list[tuple[int, str]] = field(default_factory=list)
    topic: str = ""
    keys: set[str] = field(default_factory=set)
    count: int = 0

    def error(self, line: int, message: str) -> None:
        self.errors.append((line, message))


def _mask(text: str) -> str:
    """``text`` with each escape ``\\x`` replaced by two NUL characters (same length), so that
    searching the mask for ``{``, ``~``, ``#``... finds only the unescaped ones."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append("\0\0")
            i += 2
        else:
            out.append("\1" if text[i] == "\0" else text[i])
            i += 1
    return "".join(out)


def _unescape(raw: str, line: int, reader: _Reader) -> str:
    def resolve(found: re.Match[str]) -> str:
        if found.group(1) and found.group(1) in _ESCAPES:
            return _ESCAPES[found.group(1)]
        shown = found.group(0) if found.group(1) else "\\ at the end"
        reader.error(line + raw.count("\n", 0, found.start()),
                     f"unknown escape {shown!r} (use \\~ \\= \\# \\{{ \\}} \\: \\n \\\\)")
        return ""

    return _ESCAPE.sub(resolve, raw)


def _text(raw: str, line: int, reader: _Reader) -> str:
    """A GIFT text: trimmed, a leading format marker dropped, escapes resolved."""
    return _unescape(_MARKER.sub("", raw.strip(), count=1), line, reader).strip()


def _blocks(text: str, reader: _Reader) -> list[_Block]:
    """The questions of a file: runs of lines between blank lines, comment lines left out."""
    blocks: list[_Block] = []
    lines: list[str] = []
    start = 0
    meta: tuple[dict[str, Any] | None, int] = (None, 0)

    def close() -> None:
        nonlocal lines, meta
        if "".join(lines).strip():
            blocks.append(_Block("\n".join(lines), start, meta[0], meta[1]))
        elif meta[0] is not None:
            reader.error(meta[1], "a procmine comment without a question after it")
        lines, meta = [], (None, 0)

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if not stripped:
            close()
            continue
        if not lines:
            start = number
        if stripped.startswith("//"):
            if stripped.startswith(_META):
                meta = (_read_meta(stripped[len(_META):], number, reader), number)
            lines.append("")
            continue
        lines.append(line)
    close()
    return blocks


def _read_meta(raw: str, line: int, reader: _Reader) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        reader.error(line, "the procmine comment is not valid JSON")
        return {}
    if not isinstance(data, dict):
        reader.error(line, "the procmine comment is not a JSON object")
        return {}
    unknown = sorted(set(data) - set(_META_FIELDS))
    if unknown:
        reader.error(line, f"the procmine comment has unknown fields: {', '.join(unknown)}")
    checks = (("kind", KINDS), ("source", SOURCES), ("template", TEMPLATES))
    for name, allowed in checks:
        if data.get(name) is not None and data[name] not in allowed:
            reader.error(line, f"the procmine comment has {name} {data[name]!r}, "
                               f"expected one of {', '.join(allowed)}")
    return {k: v for k, v in data.items() if k in _META_FIELDS}


def parse_gift(text: str, *, source: str = "", regulation: str | None = None) -> list[Question]:
    """The questions of a GIFT file; raises :class:`FormatError` listing every problem.

    ``source`` (a file name) names the file in messages and in the keys of imported questions
    (``imp:<source>:<title or n>``). With ``regulation`` (an area of ``REGULATIONS``) the
    questions are the regulation bank's: key ``reg:<regulation>:<title>`` (a title is then
    required), source ``regulation``, topic ``regulation/<area>`` unless ``$CATEGORY`` says
    otherwise. A ``// procmine:`` comment before a question restores its own fields.
    """
    reader = _Reader(source, regulation)
    questions: list[Question] = []
    for block in _blocks(text.lstrip("\ufeff"), reader):
        question = _read_block(block, reader)
        if question is not None:
            questions.append(question)
    if reader.errors:
        raise FormatError(reader.errors, source=source)
    return questions


def _read_block(block: _Block, reader: _Reader) -> Question | None:
    raw = block.text
    mask = _mask(raw)
    lead = len(mask) - len(mask.lstrip())
    breaks = [i for i, char in enumerate(raw) if char == "\n"]
    line_at = lambda pos: block.line + bisect_left(breaks, pos)  # noqa: E731
    if mask[lead:].startswith("$CATEGORY:"):
        path = raw[lead + 10:].strip()
        if "\n" in path:
            reader.error(line_at(lead), "a $CATEGORY line must be followed by a blank line")
        reader.topic = category_topic(_unescape(path, line_at(lead), reader))
        if block.meta is not None:
            reader.error(block.meta_line, "a procmine comment before a $CATEGORY line")
        return None
    reader.count += 1
    title, pos = "", lead
    if mask.startswith("::", lead):
        end = mask.find("::", lead + 2)
        if end < 0:
            reader.error(line_at(lead), "the title '::' is not closed with '::'")
            return None
        title = _text(raw[lead + 2:end], line_at(lead), reader)
        pos = end + 2
    opening = mask.find("{", pos)
    closing = mask.find("}", pos)
    if opening < 0:
        where = line_at(closing) if closing >= 0 else line_at(pos)
        reader.error(where, "'}' without '{'" if closing >= 0 else
                     f"a question without an answer block {{...}} {SUPPORTED}")
        return None
    if 0 <= closing < opening:
        reader.error(line_at(closing), "'}' without '{' (write \\} for a brace)")
        return None
    closing = mask.find("}", opening)
    if closing < 0:
        reader.error(line_at(opening), "'{' is not closed with '}'")
        return None
    inner = mask.find("{", opening + 1, closing)
    if inner >= 0:
        reader.error(line_at(inner), "'{' inside an answer block (write \\{ for a brace)")
        return None
    after = len(mask) - len(mask[closing + 1:].lstrip())
    if after < len(mask):
        reader.error(line_at(after), "a second question without a blank line before it" if "{"
                     in mask[after:] else f"text after the answer block (a missing-word "
                                          f"question) {SUPPORTED}")
        return None
    stem = _text(raw[pos:opening], line_at(pos), reader)
    if not stem:
        reader.error(line_at(pos), "the question has no text")
    body = _Answer(raw, mask, opening + 1, closing, line_at)
    kind, choices, feedback = _read_answers(body, block.meta or {}, reader)
    if kind is None:
        return None
    return _question(block, reader, title, stem, kind, choices, feedback)


@dataclass
class _Answer:
    """The inside of ``{...}``: the raw text, its mask, and where it lies in the block."""

    raw: str
    mask: str
    start: int
    end: int
    line_at: Any

    def split_general(self) -> tuple[int, str]:
        """(end of the choices, general feedback): ``####`` starts the general feedback."""
        at = self.mask.rfind("####", self.start, self.end)
        if at < 0:
            return self.end, ""
        return at, self.raw[at + 4:self.end]


def _read_answers(body: _Answer, meta: dict[str, Any], reader: _Reader
                  ) -> tuple[str | None, tuple[Choice, ...], str]:
    end, general_raw = body.split_general()
    general = _text(general_raw, body.line_at(end), reader) if general_raw else ""
    part = body.mask[body.start:end].strip()
    line = body.line_at(body.start)
    if not part:
        reader.error(line, f"an essay question ({{}}) {SUPPORTED}")
        return None, (), ""
    if part.startswith("#"):
        reader.error(line, f"a numeric question ({{#...}}) {SUPPORTED}")
        return None, (), ""
    if part.startswith(">"):
        return "ordering", _read_moodle_ordering(body, end, reader), general
    if "~" in part:
        kind, choices = _read_choice_block(body, end, meta, reader)
        return kind, choices, general
    if "=" in part and "->" in part:
        if meta.get("kind") != "ordering":
            reader.error(line, f"a matching question (=a -> b, a '->' pair in a non-ordering "
                               f"block) {SUPPORTED}")
            return None, (), ""
        return "ordering", _read_ordering(body, end, meta, reader), general
    head = part.split("#", 1)[0].strip()
    if head in ("T", "TRUE", "F", "FALSE"):
        return "truefalse", _read_truefalse(body, end, head in ("T", "TRUE"), reader), general
    reader.error(line, f"a short-answer question (only '=' answers, no '~') {SUPPORTED}")
    return None, (), ""


def _entries(body: _Answer, end: int, markers: str) -> list[tuple[str, int, int]]:
    """(marker, start, end) of each choice in the block: a choice starts at an unescaped
    marker character and runs to the next one."""
    starts = [i for i in range(body.start, end) if body.mask[i] in markers]
    return [(body.mask[s], s + 1, (starts[n + 1] if n + 1 < len(starts) else end))
            for n, s in enumerate(starts)]


def _split_feedback(body: _Answer, start: int, end: int) -> tuple[int, str]:
    at = body.mask.find("#", start, end)
    return (end, "") if at < 0 else (at, body.raw[at + 1:end])


def _read_choice_block(body: _Answer, end: int, meta: dict[str, Any], reader: _Reader
                       ) -> tuple[str | None, tuple[Choice, ...]]:
    lead = body.mask[body.start:end]
    first = min(i for i in (lead.find("~"), lead.find("=")) if i >= 0)
    if lead[:first].strip():
        reader.error(body.line_at(body.start), "text before the first choice of the block")
    choices: list[Choice] = []
    seen: set[str] = set()
    rights = 0
    ok = True
    for marker, start, stop in _entries(body, end, "~="):
        line = body.line_at(start - 1)
        weight: float = 100.0 if marker == "=" else 0.0
        text_start = start + len(body.mask[start:stop]) - len(body.mask[start:stop].lstrip())
        found = _WEIGHT.match(body.mask[text_start:stop]) if marker == "~" else None
        if found:
            try:
                weight = float(found.group(1))
            except ValueError:
                reader.error(line, f"the weight %{found.group(1)}% is not a number")
                ok = False
            if not -100.0 <= weight <= 100.0:
                reader.error(line, f"the weight %{found.group(1)}% is outside -100..100")
                ok = False
            text_start += found.end()
        rights += marker == "="
        text_end, feedback_raw = _split_feedback(body, text_start, stop)
        text = _text(body.raw[text_start:text_end], line, reader)
        feedback = _text(feedback_raw, line, reader) if feedback_raw else ""
        if not text:
            reader.error(line, "an empty choice")
            ok = False
        elif text in seen:
            reader.error(line, f"the choice {text!r} appears twice")
            ok = False
        seen.add(text)
        choices.append(Choice(text, weight, feedback))
    kind = _choice_kind(choices, rights, meta, body.line_at(body.start), reader)
    return (kind if ok else None), tuple(choices)


def _choice_kind(choices: Sequence[Choice], rights: int, meta: dict[str, Any], line: int,
                 reader: _Reader) -> str | None:
    """single or multiple, from the choices' weights (the procmine comment may say multiple
    for one right choice of 100)."""
    positive = [c.fraction for c in choices if c.fraction > 0]
    if len(choices) < 2:
        reader.error(line, "a question needs at least two choices")
        return None
    if rights > 1:
        reader.error(line, "more than one right answer '=' (write ~%50% weights for a "
                           "multiple-choice question)")
        return None
    if rights == 1 and len(positive) > 1:
        reader.error(line, "partial weights ~%n% beside a right answer '=' (a single-choice "
                           "question has one right choice)")
        return None
    if not positive:
        reader.error(line, "no right answer ('=' or a positive ~%n% weight)")
        return None
    if abs(sum(positive) - 100.0) > WEIGHT_TOLERANCE:
        reader.error(line, f"the weights of the right choices add up to "
                           f"{format_number(round(sum(positive), 4))}, not 100")
        return None
    if len(positive) > 1 or meta.get("kind") == "multiple":
        return "multiple"
    return "single"


def _read_truefalse(body: _Answer, end: int, answer: bool, reader: _Reader
                    ) -> tuple[Choice, ...]:
    parts: list[str] = []
    start = body.start
    for _ in range(2):
        at = body.mask.find("#", start, end)
        if at < 0:
            break
        parts.append(body.raw[start:at])
        start = at + 1
    parts.append(body.raw[start:end])
    line = body.line_at(body.start)
    wrong = _text(parts[1], line, reader) if len(parts) > 1 else ""
    right = _text(parts[2], line, reader) if len(parts) > 2 else ""
    if answer:
        return Choice(TRUE_TEXT, 100.0, right), Choice(FALSE_TEXT, 0.0, wrong)
    return Choice(TRUE_TEXT, 0.0, wrong), Choice(FALSE_TEXT, 100.0, right)


def _read_ordering(body: _Answer, end: int, meta: dict[str, Any], reader: _Reader
                   ) -> tuple[Choice, ...]:
    items: list[Choice] = []
    seen: set[str] = set()
    feedback = meta.get("item_feedback") or []
    for n, (_, start, stop) in enumerate(_entries(body, end, "="), start=1):
        line = body.line_at(start - 1)
        arrow = body.mask.find("->", start, stop)
        if arrow < 0:
            reader.error(line, "an ordering item without '->'")
            continue
        left = _text(body.raw[start:arrow], line, reader)
        text = _text(body.raw[arrow + 2:stop], line, reader)
        if left != str(n):
            reader.error(line, f"ordering items are numbered 1, 2, ...: expected {n}, "
                               f"found {left!r}")
        if not text:
            reader.error(line, "an empty choice")
        elif text in seen:
            reader.error(line, f"the choice {text!r} appears twice")
        seen.add(text)
        items.append(Choice(text, 100.0, str(feedback[n - 1]) if n <= len(feedback) else ""))
    if len(items) < 2:
        reader.error(body.line_at(body.start), "a question needs at least two choices")
    return tuple(items)


def _read_moodle_ordering(body: _Answer, end: int, reader: _Reader) -> tuple[Choice, ...]:
    """qtype_ordering's own GIFT form: ``{>6 ALL VERTICAL ABSOLUTE_POSITION SHOW none``, then
    one item a line in the right order (the settings are Moodle's, not kept)."""
    items: list[Choice] = []
    seen: set[str] = set()
    pos = body.raw.find("\n", body.mask.index(">", body.start), end) + 1 or end
    while pos < end:
        stop = body.raw.find("\n", pos, end) + 1 or end + 1
        text = _text(body.raw[pos:stop - 1], body.line_at(pos), reader)
        if text in seen:
            reader.error(body.line_at(pos), f"the choice {text!r} appears twice")
        elif text:
            seen.add(text)
            items.append(Choice(text, 100.0))
        pos = stop
    if len(items) < 2:
        reader.error(body.line_at(body.start), "a question needs at least two choices")
    return tuple(items)


def _question(block: _Block, reader: _Reader, title: str, stem: str, kind: str,
              choices: tuple[Choice, ...], general: str) -> Question | None:
    meta = block.meta or {}
    if meta.get("kind") not in (None, kind):
        reader.error(block.line, f"the procmine comment says {meta['kind']} but the answer "
                                 f"block is a {kind} question")
        return None
    regulation = meta.get("regulation", reader.regulation)
    if "key" in meta:
        key = str(meta["key"])
    elif reader.regulation:
        if not title:
            reader.error(block.line, "a regulation question needs a ::title:: (its key)")
            return None
        key = f"reg:{reader.regulation}:{title}"
    else:
        key = imported_key(reader.source, title, reader.count, reader.keys)
    if key in reader.keys:
        reader.error(block.line, f"the key {key!r} appears twice (titles must be unique)")
        return None
    reader.keys.add(key)
    default_topic = f"regulation/{reader.regulation}" if reader.regulation else "imported"
    return Question(
        key=key, kind=kind, stem=stem, choices=choices,
        topic=reader.topic or default_topic,
        source=meta.get("source") or ("regulation" if reader.regulation else "imported"),
        sop_id=meta.get("sop_id"), sop_version=meta.get("sop_version"),
        step_id=meta.get("step_id"), template=meta.get("template"), regulation=regulation,
        title=title, general_feedback=general,
        tags=tuple(str(t) for t in meta.get("tags", ())),
    )


# ---------------------------------------------------------------------------------------- writing


def _escape(text: str, *, stem: bool = False) -> str:
    out = text.replace("\\", "\\\\")
    for char in "~=#{}:":
        out = out.replace(char, "\\" + char)
    out = out.replace("\n", "\\n")
    # a text that starts like a format marker (or, for a question, like a comment) keeps its
    # start behind an explicit [plain] marker
    if _MARKER.match(out) or out.startswith("[") or (stem and out.startswith("//")):
        out = "[plain]" + out
    return out


def _meta_line(q: Question) -> str:
    data: dict[str, Any] = {"key": q.key, "kind": q.kind, "source": q.source}
    for name in ("sop_id", "sop_version", "step_id", "template", "regulation"):
        if getattr(q, name) is not None:
            data[name] = getattr(q, name)
    if q.tags:
        data["tags"] = list(q.tags)
    if q.kind == "ordering" and any(c.feedback for c in q.choices):
        data["item_feedback"] = [c.feedback for c in q.choices]
    return f"{_META} {json.dumps(data, ensure_ascii=False)}"


def _choice_lines(q: Question) -> list[str]:
    if q.kind == "truefalse":
        right = next(c for c in q.choices if c.correct)
        wrong = next(c for c in q.choices if not c.correct)
        head = "TRUE" if right.text == TRUE_TEXT else "FALSE"
        feedback = ""
        if wrong.feedback or right.feedback:
            feedback = f"#{_escape(wrong.feedback)}" + (
                f"#{_escape(right.feedback)}" if right.feedback else "")
        return [head + feedback]
    if q.kind == "ordering":
        return [f"={n} -> {_escape(c.text)}" for n, c in enumerate(q.choices, start=1)]
    lines = []
    for c in q.choices:
        if q.kind == "single" and c.fraction == 100.0:
            line = "=" + _escape(c.text)
        elif c.fraction != 0.0 or c.text.startswith("%"):
            line = f"~%{format_number(c.fraction)}%" + _escape(c.text)
        else:
            line = "~" + _escape(c.text)
        if c.feedback:
            line += "#" + _escape(c.feedback)
        lines.append(line)
    return lines


def write_gift(questions: Iterable[Question]) -> str:
    """The questions as a GIFT file that :func:`parse_gift` reads back to equal questions (and
    Moodle imports: single, multiple and true/false as they are, ordering as matching)."""
    out: list[str] = ["// procmine question bank (GIFT); each question's own fields are in "
                      "the comment before it", ""]
    topic = None
    for q in questions:
        if q.kind not in KINDS:
            raise ValueError(f"unknown question kind {q.kind!r}")
        if q.topic != topic:
            out += [f"$CATEGORY: $course$/top/procmine/{q.topic}", ""]
            topic = q.topic
        title = f"::{_escape(q.title)}::" if q.title else ""
        body = [f"  {line}" for line in _choice_lines(q)]
        if q.general_feedback:
            body.append(f"  ####{_escape(q.general_feedback)}")
        out += [_meta_line(q), f"{title}{_escape(q.stem, stem=not title)}{{", *body, "}", ""]
    return "\n".join(out)
