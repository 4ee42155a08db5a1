"""The credit one answer earns (0 to 1), and the score of a paper: pure functions, no database.

A response is a list of choice indexes into the question's choices as stored (for an ordering
question: the item indexes in the order the teller put them; the stored items are in the right
order). The rules, by kind:

* ``single`` and ``truefalse``: credit 1 when the response is exactly the right choice, else 0.
* ``multiple``: Moodle's multiple-choice rule. Each choice carries a fraction in percent (the
  right ones share +100, the wrong ones are negative); the credit is the sum of the chosen
  choices' fractions over 100, clamped to 0..1. With two right choices (+50 each) and two wrong
  ones (-50 each): one right choice earns 0.5, both 1, both and a wrong one 0.5, all four 0 —
  ticking everything earns nothing.
* ``ordering``: Moodle ordering's "relative to the next item, excluding the last": of the n-1
  adjacent pairs of the teller's order, the share that are in the right relative order (item
  k+1 right after item k). The right order earns 1; the right order with the first item moved to
  the end earns (n-2)/(n-1).

A paper's score is ``100 * sum(credit * points) / sum(points)`` over its questions (unanswered
questions earn 0). A response that breaks the rules of its kind (an index out of range, two
choices to a single-choice question, an ordering that is not a permutation) is refused with a
:class:`~procmine.core.errors.ProcmineError` by :func:`check_response`, before it is saved.

Example:
    >>> from procmine.training.question import Choice, Question
    >>> q = Question(key="reg:aml:kyc", kind="multiple", stem="哪些属于客户身份识别？",
    ...              choices=(Choice("核对证件", 50), Choice("联网核查", 50),
    ...                       Choice("代客签名", -50), Choice("先办后补", -50)),
    ...              topic="regulation/aml", source="regulation", regulation="aml")
    >>> grade_response(q, [0]), grade_response(q, [0, 1]), grade_response(q, [0, 1, 2])
    (0.5, 1.0, 0.5)
    >>> grade_response(q, [0, 1, 2, 3])
    0.0
    >>> paper_score([(1.0, 1.0), (0.5, 1.0), (0.0, 2.0)])
    37.5
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

from procmine.core.errors import ProcmineError
from procmine.training.question import Question

__all__ = ["check_response", "grade_response", "paper_score"]


def check_response(question: Question, response: Sequence[int]) -> tuple[int, ...]:
    """The response as a tuple of ints when it is a valid answer to ``question``; else
    ProcmineError saying what is wrong. An empty response is valid (no answer)."""
    try:
        chosen = tuple(int(i) for i in response)
    except (TypeError, ValueError):
        raise ProcmineError(f"an answer is a list of choice numbers, not {response!r}",
                            code="training.bad_answer") from None
    if any(isinstance(i, bool) for i in response):
        raise ProcmineError(f"an answer is a list of choice numbers, not {response!r}",
                            code="training.bad_answer")
    n = len(question.choices)
    if any(i < 0 or i >= n for i in chosen):
        raise ProcmineError(f"choice numbers run from 0 to {n - 1}; got {list(chosen)}",
                            code="training.bad_answer")
    if len(set(chosen)) != len(chosen):
        raise ProcmineError(f"a choice is given twice in {list(chosen)}",
                            code="training.choice_twice")
    if not chosen:
        return chosen
    if question.kind in ("single", "truefalse") and len(chosen) != 1:
        raise ProcmineError(f"this question takes exactly one choice; got {len(chosen)}",
                            code="training.one_choice")
    if question.kind == "ordering" and len(chosen) != n:
        raise ProcmineError(f"put all {n} items in order; got {len(chosen)}",
                            code="training.order_all", count=n)
    return chosen


def grade_response(question: Question, response: Sequence[int]) -> float:
    """The credit (0 to 1) ``response`` earns on ``question`` by the rules above; an empty
    response earns 0, an invalid one raises ProcmineError."""
    chosen = check_response(question, response)
    if not chosen:
        return 0.0
    if question.kind in ("single", "truefalse"):
        return 1.0 if question.choices[chosen[0]].correct else 0.0
    if question.kind == "multiple":
        total = sum(question.choices[i].fraction for i in chosen) / 100.0
        return round(min(1.0, max(0.0, total)), 6)
    if question.kind == "ordering":
        pairs = len(chosen) - 1
        if pairs == 0:
            return 1.0
        right = sum(1 for a, b in pairwise(chosen) if b == a + 1)
        return round(right / pairs, 6)
    raise ProcmineError(f"cannot grade a question of kind {question.kind!r}")


def paper_score(credits: Iterable[tuple[float, float]]) -> float:
    """The score in percent of (credit, points) pairs: ``100 * sum(credit * points) /
    sum(points)`` (0 for no points)."""
    pairs = list(credits)
    total = sum(points for _, points in pairs)
    if total <= 0:
        return 0.0
    return round(100.0 * sum(credit * points for credit, points in pairs) / total, 4)
