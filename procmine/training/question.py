"""A question as every part of the training room sees it: the bank, the exchange formats, the
generator, papers and grading.

Kinds (the closed-book test's item types): ``single`` (one right choice), ``multiple`` (several
right choices, partial credit), ``truefalse`` (choices "正确"/"错误", one right) and ``ordering``
(the choices in their right order; shown shuffled).

Each choice carries a Moodle-style ``fraction`` in percent: the right choice of a single-choice or
true/false question has 100, the others 0; in a multiple-choice question the right choices share
100 and the wrong ones take a negative share (see :mod:`procmine.training.grading`); in an
ordering question every item has 100 (the order is the answer).

Keys are stable across runs: a generated question is
``gen:<sop_id>:<version>:<step_id>:<template>[:<n>]``, a regulation question
``reg:<file stem>:<title>``, an imported one ``imp:<source>:<title or n>``; a key names the
question, its revisions keep the key.

Example:
    >>> q = Question(key="reg:aml:large-cash", kind="truefalse",
    ...              stem="当日单笔或累计人民币5万元以上现金存取为大额交易。",
    ...              choices=true_false(True), topic="regulation/aml", source="regulation",
    ...              regulation="aml")
    >>> [c.text for c in q.correct_choices()]
    ['正确']
    >>> Question.from_dict(q.to_dict()) == q
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = [
    "FALSE_TEXT",
    "KINDS",
    "REGULATIONS",
    "SOURCES",
    "TEMPLATES",
    "TRUE_TEXT",
    "Choice",
    "Question",
    "true_false",
]

KINDS = ("single", "multiple", "truefalse", "ordering")
#: where a question comes from
SOURCES = ("generated", "regulation", "imported", "manual")
#: the generator's templates (see :mod:`procmine.training.generate`)
TEMPLATES = ("order_steps", "next_step", "control", "threshold", "duration")
#: the regulation areas of the hand-written bank (``sops/questions/<area>.gift``)
REGULATIONS = ("savings", "negotiable-instruments", "payment-settlement", "aml", "cash")

TRUE_TEXT = "正确"
FALSE_TEXT = "错误"


@dataclass(frozen=True)
class Choice:
    """One choice of a question (for ordering: one item, in the right order)."""

    text: str
    fraction: float = 0.0  # percent of the question's credit; negative for wrong multiple choices
    feedback: str = ""

    @property
    def correct(self) -> bool:
        return self.fraction > 0


@dataclass(frozen=True)
class Question:
    """A question of the bank, with what ties it to an SOP step or a regulation."""

    key: str
    kind: str
    stem: str
    choices: tuple[Choice, ...]
    topic: str                       # a category path: "SOP-P17" or "regulation/aml"
    source: str                      # one of SOURCES
    sop_id: str | None = None
    sop_version: str | None = None
    step_id: str | None = None
    template: str | None = None      # one of TEMPLATES (generated questions)
    regulation: str | None = None    # one of REGULATIONS (regulation questions)
    title: str = ""                  # a short name (GIFT ::title::, Moodle <name>)
    general_feedback: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def correct_choices(self) -> list[Choice]:
        """The right choices (all items, in order, for an ordering question)."""
        return list(self.choices) if self.kind == "ordering" else [
            c for c in self.choices if c.correct]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the app database keeps questions this way)."""
        data = asdict(self)
        data["choices"] = [asdict(c) for c in self.choices]
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Question:
        fields = dict(data)
        fields["choices"] = tuple(Choice(**c) for c in data.get("choices", ()))
        fields["tags"] = tuple(data.get("tags", ()))
        return cls(**fields)

    def with_key(self, key: str) -> Question:
        return replace(self, key=key)


def true_false(answer: bool) -> tuple[Choice, Choice]:
    """The two choices of a true/false question whose right answer is ``answer``."""
    return (Choice(TRUE_TEXT, 100.0 if answer else 0.0),
            Choice(FALSE_TEXT, 0.0 if answer else 100.0))
