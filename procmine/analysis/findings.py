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
from typing import Any

from procmine.app.i18n import t

__all__ = ["Finding", "StepReference", "StepReferences"]


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
    """One slow step of a teller or a branch (see the module documentation)."""

    scope: str  # "teller" or "branch"
    teller_id: str | None
    branch_id: str | None
    business_type: str
    activity: str
    cases: int  # transactions with the step
    steps: int  # step occurrences (a repeated step counts each time)
    median_seconds: float
    p90_seconds: float
    reference_seconds: float  # step-weighted mean of the references in force on its steps
    reference_source: str  # "sop", "baseline share" or "mixed" (some steps each)
    ratio: float  # median / reference
    pace: float  # the group's general pace: its typical median over the bank's (1.0 = bank)
    excess_seconds: float  # median - reference
    time_lost_seconds: float  # sum over cases of the step's time beyond the reference
    monthly_teller_hours: float
    months: int
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

    @property
    def who(self) -> str:
        return self.who_in("en")

    def who_in(self, lang: str) -> str:
        """The teller or branch of the finding, in ``lang`` (``en`` or ``zh-CN``)."""
        if self.scope == "teller":
            return t("bottlenecks.who_teller", lang, teller=self.teller_id or "",
                     branch=self.branch_id or "")
        if self.tellers_eligible:
            return t("bottlenecks.who_branch", lang, branch=self.branch_id or "",
                     flagged=len(self.tellers_flagged), eligible=self.tellers_eligible)
        return t("bottlenecks.who_branch_plain", lang, branch=self.branch_id or "")

    def summary_in(self, lang: str) -> str:
        """The finding in one line, in ``lang``: who, the step, its median against the
        reference over how many cases, and the teller hours it costs a month (``summary`` is
        the English line)."""
        hours = self.monthly_teller_hours
        return t("bottlenecks.summary", lang, who=self.who_in(lang), type=self.business_type,
                 step=self.activity, median=f"{self.median_seconds:,.0f}",
                 reference=f"{self.reference_seconds:,.0f}", ratio=f"{self.ratio:.1f}",
                 cases=f"{self.cases:,}",
                 hours=f"{hours:,.0f}" if hours >= 10 else f"{hours:,.1f}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (tuples as lists; evidence as computed, or null)."""
        data = asdict(self)
        data["tellers_flagged"] = list(self.tellers_flagged)
        data["evidence"] = dict(self.evidence) if self.evidence is not None else None
        return data
