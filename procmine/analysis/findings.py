"""What the slow-step analysis returns and what it is given: findings and dated step references.

A :class:`Finding` is one slow step of a teller or a branch (a teller x type x step, or a branch
x type x step), with its figures against the reference, the test's p- and q-values, the time it
costs, the SOP step it was judged against, and a one-line summary in either language from the
message catalogue (:meth:`Finding.summary_in`; ``summary`` holds the English one).
:meth:`Finding.to_dict` is its JSON form (``procmine bottlenecks --json``).

A :class:`StepReference` is an SOP step's standard time for one business type x step, in force
over a period of dates, in one branch or in all: ``find_bottlenecks`` judges each step
occurrence against the row in force on its date (see :mod:`procmine.analysis.bottlenecks` for
the method).

Example:
    >>> ref = StepReference("P17", "Verify identity", 25.0, "SOP-P17", "verify_id", "1.2")
    >>> ref.in_force(date(2026, 4, 1), "B04")
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Final

from procmine.app.i18n import t
from procmine.core.amounts import AMOUNT_BANDS

__all__ = [
    "CONDITION_DIMENSIONS",
    "FINDING_KINDS",
    "FINDING_SCOPES",
    "HOUR_BANDS",
    "PEER_BASES",
    "WEEKDAYS",
    "Finding",
    "StepReference",
    "StepReferences",
    "hour_band",
    "peer_basis_fields",
]

#: How a peer reference is formed: the median over ``n`` branches' typical medians (of a step,
#: of the wait before it, in a slice), the bank's when no branch has enough, or step by step
#: over ``n`` business type x steps (overall pace); the words: ``finding.peer_basis.<code>``.
PEER_BASES: Final[tuple[str, ...]] = (
    "branches", "bank", "wait_branches", "wait_bank", "slice_branches", "slice_bank", "overall",
)


def peer_basis_fields(code: str, count: int = 0) -> dict[str, Any]:
    """A finding's peer basis fields: the code, its count and the English words (``peer_basis``,
    what the CLI and the JSON say)."""
    return {"peer_basis_code": code, "peer_basis_count": count,
            "peer_basis": t(f"finding.peer_basis.{code}", "en", n=count)}


#: What a finding is about: a slow step, time lost waiting before a step, a teller or branch
#: slower across most steps, or a business type whose standard time the bank does not meet.
FINDING_KINDS: Final[tuple[str, ...]] = ("step", "wait", "overall", "baseline")
#: Whose finding it is ("type": the whole bank on one business type, baseline review).
FINDING_SCOPES: Final[tuple[str, ...]] = ("teller", "branch", "type")
#: The slices a conditional finding can hold in (``Finding.condition["dimension"]``).
CONDITION_DIMENSIONS: Final[tuple[str, ...]] = ("hour_band", "amount_band", "window_type",
                                                "weekday")
#: Hour bands of the counter day: (name, first hour, first hour after). "closing" is 15:00 on.
HOUR_BANDS: Final[tuple[tuple[str, int, int], ...]] = (
    ("opening", 0, 10), ("midday", 10, 13), ("afternoon", 13, 15), ("closing", 15, 24))
#: ISO weekdays (1 = Monday) by name, the values of the ``weekday`` dimension.
WEEKDAYS: Final[tuple[str, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def hour_band(hour: int) -> str:
    """The :data:`HOUR_BANDS` name of an hour of the day.

    Example:
        >>> hour_band(9), hour_band(15)
        ('opening', 'closing')
    """
    for name, first, after in HOUR_BANDS:
        if first <= hour < after:
            return name
    raise ValueError(f"hour {hour} is not between 0 and 23")


@dataclass(frozen=True)
class StepReference:
    """An SOP step's standard time for one business type x step, in force from ``valid_from``
    (inclusive) to ``valid_to`` (exclusive; ``None``: open on that side), in one branch
    (``branch_id``) or in every branch (``None``). For the same date, a branch's row wins over an
    all-branch row (a branch that adopted a revision on a date of its own).

    Example:
        >>> StepReference("P17", "Verify identity", 25.0, "SOP-P17", "verify_id", "1.2",
        ...               valid_from=date(2026, 3, 1)).in_force(date(2026, 4, 1))
        True
    """

    business_type: str
    activity: str
    seconds: float
    sop_id: str
    sop_step: str
    sop_version: str
    valid_from: date | None = None
    valid_to: date | None = None
    branch_id: str | None = None

    def in_force(self, day: date, branch_id: str | None = None) -> bool:
        """Whether this row applies on ``day`` (in ``branch_id``, if the row names one)."""
        return ((self.valid_from is None or day >= self.valid_from)
                and (self.valid_to is None or day < self.valid_to)
                and (self.branch_id is None or self.branch_id == branch_id))


#: What ``step_references`` takes: dated rows, or (business type, step) -> seconds (undated).
StepReferences = Mapping[tuple[str, str], float] | Sequence[StepReference]


@dataclass(frozen=True)
class Finding:
    """One finding of the slow-step analysis (see the module documentation).

    ``kind`` (:data:`FINDING_KINDS`) says what it is about and ``scope``
    (:data:`FINDING_SCOPES`) whose it is:

    * ``step``: a teller's or branch's step slower than its reference and its peers; with a
      ``condition`` only in one slice (an hour band, amount band, window type or weekday);
    * ``wait``: time lost *before* the step (``median_seconds`` etc. are waits, the reference
      is the peers' wait);
    * ``overall``: a teller or branch slower across most of its steps (``activity`` and
      ``business_type`` are ``""``: every step; ``ratio`` is its pace against its peers);
    * ``baseline``: the whole bank (scope ``type``, no teller or branch, ``activity`` ``""``)
      runs far from the type's standard time: check the standard.

    ``ratio_ci`` is the 95% interval of ``ratio``; ``inferred`` says times were derived from
    completion timestamps (and may include waiting); ``period_days`` the days of data the
    monthly cost was computed over (``months`` = ``period_days`` / 30.4375).
    """

    scope: str  # "teller", "branch" or "type"
    teller_id: str | None
    branch_id: str | None
    business_type: str  # "" for an overall finding (every type)
    activity: str  # "" for overall and baseline findings (every step)
    cases: int  # transactions with the step
    steps: int  # step occurrences (a repeated step counts each time)
    median_seconds: float
    p90_seconds: float
    reference_seconds: float  # step-weighted mean of the references in force on its steps
    reference_source: str  # "sop", "baseline share", "mixed", "peers" or "standard"
    ratio: float  # median / reference
    pace: float  # the group's general pace: its typical median over its peers' (1.0 = peers)
    excess_seconds: float  # median - reference
    time_lost_seconds: float  # sum over cases of the time beyond the reference
    monthly_teller_hours: float  # time lost / 3600 / months
    months: float  # period_days / 30.4375
    p_value: float
    q_value: float
    bank_median_seconds: float
    branch_median_seconds: float | None  # the branch's median (teller findings)
    tellers_flagged: tuple[str, ...] = ()  # branch findings: its tellers flagged on the step
    tellers_eligible: int = 0  # branch findings: its tellers with enough cases on the step
    sop: str | None = None  # the SOP's id (e.g. "SOP-P17") whose step is the reference
    sop_step: str | None = None  # the SOP step's id
    sop_version: str | None = None  # the version in force on most of the group's steps
    summary: str = ""
    evidence: Mapping[str, Any] | None = field(default=None, compare=False)
    kind: str = "step"  # one of FINDING_KINDS
    condition: Mapping[str, str] | None = None  # {"dimension": ..., "value": ...} or None
    ratio_ci: tuple[float, float] | None = None  # 95% interval of the ratio
    inferred: bool = False  # times derived from completion timestamps (may include waits)
    period_days: float = 0.0  # days of data the monthly cost is computed over
    peer_seconds: float | None = None  # what peers take: the robust peer reference
    peer_basis: str = ""  # how the peer reference was formed (e.g. "other branches' median")
    #: the same as a catalogue code (``finding.peer_basis.<code>``) and its count (branches,
    #: or business type x steps), so that a page says it in the user's language
    peer_basis_code: str = ""
    peer_basis_count: int = 0

    @property
    def who(self) -> str:
        return self.who_in("en")

    def who_in(self, lang: str) -> str:
        """The teller or branch of the finding, in ``lang`` (``en`` or ``zh-CN``)."""
        if self.scope == "type":
            return t("bottlenecks.who_type", lang, type=self.business_type)
        if self.scope == "teller":
            return t("bottlenecks.who_teller", lang, teller=self.teller_id or "",
                     branch=self.branch_id or "")
        # only the tellers with enough cases count (a branch has others, with fewer)
        if self.tellers_eligible:
            return t("bottlenecks.who_branch_enough", lang, branch=self.branch_id or "",
                     flagged=len(self.tellers_flagged), eligible=self.tellers_eligible)
        return t("bottlenecks.who_branch_no_teller", lang, branch=self.branch_id or "")

    def condition_in(self, lang: str) -> str:
        """The slice a conditional finding holds in, in ``lang`` ("" without one), e.g.
        "after 15:00" or "amount 50,000-199,999"."""
        if not self.condition:
            return ""
        dimension, value = self.condition["dimension"], str(self.condition["value"])
        if dimension == "amount_band" and value in AMOUNT_BANDS:  # the band's text: its index
            value = str(AMOUNT_BANDS.index(value))
        return t(f"bottlenecks.condition.{dimension}.{value}", lang)

    @staticmethod
    def peer_basis_text(code: str, count: int, lang: str, fallback: str = "") -> str:
        """How a peer reference was formed (:data:`PEER_BASES` ``code`` over ``count``
        branches or groups), in ``lang``; ``fallback`` (the English words) without a code.

        Example:
            >>> Finding.peer_basis_text("branches", 5, "zh-CN")
            '5 个网点典型中位数的中位数（不含本组）'
        """
        return t(f"finding.peer_basis.{code}", lang, n=count) if code else fallback

    def peer_basis_in(self, lang: str) -> str:
        """How the finding's peer reference was formed, in ``lang`` (the English
        ``peer_basis`` for a finding made without a code)."""
        return self.peer_basis_text(self.peer_basis_code, self.peer_basis_count, lang,
                                    self.peer_basis)

    def summary_in(self, lang: str, *, step: str | None = None) -> str:
        """The finding in one line, in ``lang``: who, the step (and its slice), its median
        against the reference over how many cases, and the teller hours it costs a month
        (``summary`` is the English line); each kind in words of its own. ``step``: the step's
        display name in ``lang`` (:func:`procmine.activity_names`; default the activity)."""
        hours = self.monthly_teller_hours
        condition = self.condition_in(lang)
        name = step or self.activity
        step = f"{name}, {condition}" if condition else name
        figures = {
            "who": self.who_in(lang), "type": self.business_type, "step": step,
            "median": f"{self.median_seconds:,.0f}", "reference": f"{self.reference_seconds:,.0f}",
            "ratio": f"{self.ratio:.1f}", "cases": f"{self.cases:,}",
            "hours": f"{hours:,.0f}" if hours >= 10 else f"{hours:,.1f}",
        }
        key = "bottlenecks.summary" if self.kind == "step" else f"bottlenecks.summary_{self.kind}"
        text = t(key, lang, **figures)
        if self.inferred:
            text += t("bottlenecks.summary_inferred", lang)
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (tuples as lists; evidence as computed, or null)."""
        data = asdict(self)
        data["tellers_flagged"] = list(self.tellers_flagged)
        data["condition"] = dict(self.condition) if self.condition is not None else None
        data["ratio_ci"] = list(self.ratio_ci) if self.ratio_ci is not None else None
        data["evidence"] = dict(self.evidence) if self.evidence is not None else None
        return data
