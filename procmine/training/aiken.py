r"""The Aiken format: single-choice questions as plain text, for platforms that read nothing else.

Each question is its text, then its choices on lines ``A. ...`` (or ``A) ...``), then the line
``ANSWER: B``; a blank line may separate questions. Aiken holds single-choice questions only,
and no title, feedback, weights or topic: :func:`write_aiken` leaves out the other kinds (and
says how many) and writes line breaks inside a text as spaces. Moodle's Aiken importer reads
what is written here.

Example:
    >>> text = "大额现金交易的报告标准是？\nA. 1万元\nB. 5万元\nC. 20万元\nANSWER: B\n"
    >>> q = parse_aiken(text, source="aml.txt")[0]
    >>> q.key, q.kind, [c.text for c in q.correct_choices()]
    ('imp:aml.txt:1', 'single', ['5万元'])
    >>> write_aiken([q]) == (text, 0)
    True
    >>> try:
    ...     parse_aiken("问题？\nA. 是\nB. 否\nANSWER: C\n", source="x.txt")
    ... except FormatError as error:
    ...     print(error)
    x.txt:4: ANSWER: C is not one of the choices A to B
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from procmine.training.gift import FormatError
from procmine.training.question import Choice, Question

__all__ = ["parse_aiken", "write_aiken"]

_CHOICE = re.compile(r"^([A-Z])[.)]\s+(.*)$")
_ANSWER = re.compile(r"^ANSWER:\s*(\S*)\s*$")
LETTERS = string.ascii_uppercase


def write_aiken(questions: Iterable[Question]) -> tuple[str, int]:
    """(the single-choice questions as Aiken text, how many other questions were left out)."""
    out: list[str] = []
    left_out = 0
    for q in questions:
        right = [n for n, c in enumerate(q.choices) if c.correct]
        if q.kind != "single" or len(right) != 1 or len(q.choices) > len(LETTERS):
            left_out += 1
            continue
        if out:
            out.append("")
        out.append(" ".join(q.stem.split()))
        out += [f"{LETTERS[n]}. {' '.join(c.text.split())}" for n, c in enumerate(q.choices)]
        out.append(f"ANSWER: {LETTERS[right[0]]}")
    return ("\n".join(out) + "\n" if out else ""), left_out


def parse_aiken(text: str, *, source: str = "") -> list[Question]:
    """The questions of an Aiken file (single choice, key ``imp:<source>:<n>``, topic
    ``imported``); raises :class:`~procmine.training.gift.FormatError` listing every problem."""
    errors: list[tuple[int, str]] = []
    questions: list[Question] = []
    stem: list[str] = []
    choices: list[tuple[str, str]] = []
    start = 0
    for number, raw in enumerate(text.lstrip("\ufeff").split("\n"), start=1):
        line = raw.strip()
        if not line:
            if choices:
                errors.append((start, "the question has no ANSWER: line"))
                stem, choices = [], []
            continue
        if not stem and not choices:
            start = number
        answer = _ANSWER.match(line)
        choice = _CHOICE.match(line)
        if answer:
            question = _close(stem, choices, answer.group(1), number, start, source,
                              len(questions) + 1, errors)
            if question is not None:
                questions.append(question)
            stem, choices = [], []
        elif choice and stem:
            letter = choice.group(1)
            expected = LETTERS[len(choices)] if len(choices) < len(LETTERS) else "?"
            if letter != expected:
                errors.append((number, f"choice {letter} where {expected} was expected"))
            elif not choice.group(2).strip() or any(t == choice.group(2).strip()
                                                     for _, t in choices):
                errors.append((number, "an empty or repeated choice"))
            choices.append((letter, choice.group(2).strip()))
        elif choices:
            errors.append((number, "text after the choices (expected the next choice or "
                                   "ANSWER: letter)"))
        else:
            stem.append(line)
    if stem or choices:
        errors.append((start, "the question has no ANSWER: line"))
    if errors:
        raise FormatError(errors, source=source)
    return questions


def _close(stem: list[str], choices: list[tuple[str, str]], letter: str, line: int,
           start: int, source: str, n: int, errors: list[tuple[int, str]]) -> Question | None:
    if not stem:
        errors.append((line, "ANSWER: without a question before it"))
        return None
    if len(choices) < 2:
        errors.append((start, "a question needs at least two choices"))
        return None
    letters = [c[0] for c in choices]
    if letter not in letters:
        errors.append((line, f"ANSWER: {letter} is not one of the choices A to {letters[-1]}"))
        return None
    return Question(
        key=f"imp:{source or 'file'}:{n}", kind="single", stem="\n".join(stem),
        choices=tuple(Choice(t, 100.0 if c == letter else 0.0) for c, t in choices),
        topic="imported", source="imported",
    )
