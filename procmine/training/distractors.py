"""The generator's building blocks for wrong answers that are plausible and never right.

A generated question is only fair when none of its wrong choices is also right under the
question's own wording. This module holds the rules the templates of
:mod:`procmine.training.generate` share:

* :func:`normalize` compares texts the way a reader does (full-width and half-width forms,
  case, spaces and punctuation do not count: "读卡/刷折" and "读卡 刷折" are one name);
  :func:`pick` takes wrong answers from a candidate list in order of preference, skipping any
  whose normalized text is excluded (the right answer, every other right answer) or already taken.
* :func:`similar_sops` ranks the other SOPs a distractor may come from: those governing an
  overlapping business type first, then those of the same owner group, then the rest.
* Amount thresholds (:func:`parse_threshold`, :func:`amount_text`,
  :func:`threshold_distractors`): a conditional step's ``when`` ("cash amount >= 50000") read as
  a number, written in 万元 ("5万元（含）以上"), and other thresholds of the library or of a
  ladder of common ones (1万, 2万, 3万, 10万, 20万, 50万), never equal in value.
* Duration bands (:data:`DURATION_BANDS`, :func:`band_index`, :func:`band_text`,
  :func:`duration_bands`): half-open bands ``[low, high)`` worded so that a standard time on an
  edge belongs to exactly one band ("10秒（含）至30秒（不含）").

Example:
    >>> normalize("读卡/刷折") == normalize("读卡 刷折")
    True
    >>> pick(["点钞", "录入交易", "点  钞", "叫号"], exclude={normalize("录入交易")}, count=2)
    ['点钞', '叫号']
    >>> t = parse_threshold("cash amount >= 50000, or over the teller's authority")
    >>> t.subject, threshold_text(t.value, t.inclusive)
    ('现金金额', '5万元（含）以上')
    >>> [amount_text(v) for v in threshold_distractors(50000, [])]
    ['3万元', '10万元', '2万元']
    >>> band_text(band_index(30)), [band_text(i) for i in duration_bands(30)][::3]
    ('30秒（含）至1分钟（不含）', ['不足10秒', '1分钟（含）至2分钟（不含）'])
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from procmine.sop.document import Sop

__all__ = [
    "DURATION_BANDS",
    "THRESHOLD_LADDER",
    "Threshold",
    "amount_text",
    "band_index",
    "band_text",
    "duration_bands",
    "normalize",
    "parse_threshold",
    "pick",
    "seconds_text",
    "similar_sops",
    "threshold_distractors",
    "threshold_text",
]

_NOT_WORD: Final = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """A text as a reader compares it: NFKC (full-width forms), no case, no spaces or
    punctuation; a text of punctuation only stays itself (stripped)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NOT_WORD.sub("", folded) or folded.strip()


def pick(candidates: Iterable[str], *, exclude: Iterable[str] = (), count: int = 3) -> list[str]:
    """Up to ``count`` texts of ``candidates``, in their order, whose normalized form is neither
    in ``exclude`` (normalized texts) nor one already taken; empty texts are skipped."""
    seen = set(exclude)
    out: list[str] = []
    for text in candidates:
        key = normalize(text)
        if not key or key in seen:
            continue
        seen.add(key)
        out.append(text)
        if len(out) == count:
            break
    return out


def similar_sops(sop: Sop, others: Sequence[Sop]) -> list[Sop]:
    """The other SOPs (another id than ``sop``'s), most similar first: an overlapping business
    type, then the same owner group, then the rest; by id within a rank."""
    types = set(sop.business_types)

    def rank(other: Sop) -> tuple[int, str]:
        if types & set(other.business_types):
            return (0, other.id)
        return (1 if other.owner_group == sop.owner_group else 2, other.id)

    unique = {o.id: o for o in others if o.id != sop.id}
    return sorted(unique.values(), key=rank)


# -- amount thresholds ---------------------------------------------------------------------------

#: Common counter thresholds (CNY) a wrong answer may name when the library has too few others.
THRESHOLD_LADDER: Final[tuple[int, ...]] = (10_000, 20_000, 30_000, 100_000, 200_000, 500_000)

_AMOUNT: Final = re.compile(
    r"(?P<subject>cash amount|amount)\s*(?P<op>>=|≥|>)\s*(?P<value>\d[\d,_]*(?:\.\d+)?)",
    re.IGNORECASE)
_SUBJECTS: Final[dict[str, str]] = {"cash amount": "现金金额", "amount": "金额"}


@dataclass(frozen=True)
class Threshold:
    """An amount condition of a step: ``subject`` (Chinese) at or over ``value`` yuan."""

    subject: str
    value: float
    inclusive: bool  # ">=": the value itself triggers the step


def parse_threshold(when: str | None) -> Threshold | None:
    """The amount condition in a step's ``when`` ("cash amount >= 50000, or ..."), or None."""
    match = _AMOUNT.search(when or "")
    if match is None:
        return None
    value = float(match.group("value").replace(",", "").replace("_", ""))
    if not value > 0:
        return None
    return Threshold(_SUBJECTS[match.group("subject").lower()], value, match.group("op") != ">")


def amount_text(value: float) -> str:
    """An amount in yuan as a teller says it: 万元 when it is a whole number of thousands from
    10,000 ("5万元", "1.5万元"), yuan otherwise ("5000元")."""
    if value >= 10_000 and value % 1000 == 0:
        return f"{value / 10_000:g}万元"
    return f"{value:g}元" if value < 1e15 else f"{value:.0f}元"


def threshold_text(value: float, inclusive: bool) -> str:
    """"5万元（含）以上" for ">= 50000", "超过5万元（不含）" for "> 50000"."""
    return f"{amount_text(value)}（含）以上" if inclusive else f"超过{amount_text(value)}（不含）"


def threshold_distractors(value: float, library_values: Iterable[float],
                          count: int = 3) -> list[float]:
    """Other thresholds for a wrong answer: those the library uses, then the ladder, each group
    nearest to ``value`` first (by ratio); never ``value`` itself, nor two equal in words."""
    def nearness(v: float) -> tuple[float, float]:
        return (abs(math.log(v / value)), v)

    used = sorted({v for v in library_values if v > 0}, key=nearness)
    ladder = sorted((float(v) for v in THRESHOLD_LADDER), key=nearness)
    out: list[float] = []
    taken = {amount_text(value)}
    for v in [*used, *ladder]:
        text = amount_text(v)
        if v == value or text in taken:
            continue
        taken.add(text)
        out.append(v)
        if len(out) == count:
            break
    return out


# -- duration bands ------------------------------------------------------------------------------

#: Half-open bands of a step's standard time in seconds: [low, high); None: no upper end.
DURATION_BANDS: Final[tuple[tuple[int, int | None], ...]] = (
    (0, 10), (10, 30), (30, 60), (60, 120), (120, 300), (300, None))


def seconds_text(seconds: float) -> str:
    """"45秒", "2分钟", "2分30秒"."""
    if seconds < 60 or seconds % 1:
        return f"{seconds:g}秒"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}分钟" if rest == 0 else f"{minutes}分{rest}秒"


def band_index(seconds: float) -> int:
    """The band holding ``seconds``: low <= seconds < high (exactly one)."""
    for i, (low, high) in enumerate(DURATION_BANDS):
        if low <= seconds and (high is None or seconds < high):
            return i
    return 0  # below 0 s: no standard time is negative (the parser refuses it)


def band_text(index: int) -> str:
    """A band in words, each edge saying whether it is in the band."""
    low, high = DURATION_BANDS[index]
    if low == 0 and high is not None:
        return f"不足{seconds_text(high)}"
    if high is None:
        return f"{seconds_text(low)}（含）以上"
    return f"{seconds_text(low)}（含）至{seconds_text(high)}（不含）"


def duration_bands(seconds: float, count: int = 4) -> list[int]:
    """The bands to offer for a standard time: its own and the ``count - 1`` nearest others
    (the lower first on a tie), in ascending order."""
    right = band_index(seconds)
    order = sorted(range(len(DURATION_BANDS)), key=lambda i: (abs(i - right), i))
    return sorted(order[:count])
