"""What an improvement item acts on, frozen: a finding's figures (any kind) or a queue
shortfall's, with the day the data ran to and the store's version when the item was opened.

A :class:`Subject` is the item's evidence. It never changes after the item is opened: new data
changes the findings, not the items. Its ``key`` is the identity of the thing it is about, the
same for the same finding found again on other data (kind, scope, who, type, step and slice for
a finding; branch, weekday and hours for a shortfall), so a finding can show its items and a
verified item can notice that its finding came back (:mod:`procmine.improve.regressions`).

Example:
    >>> from procmine import find_bottlenecks
    >>> finding = find_bottlenecks(store, baseline, kinds=("step",))[0]
    >>> subject = finding_subject(finding, as_of=date(2026, 11, 30), store_version="v1")
    >>> subject.key
    'finding|step|teller|0102|B01|P18|Enter transaction|'
    >>> Subject.from_json(subject.to_json()) == subject
    True
    >>> finding_of(subject).summary_in("en") == finding.summary_in("en")
    True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Final

from procmine.analysis.findings import Finding
from procmine.app.i18n import t
from procmine.core.baseline import REVIEW_GROUPS, Baseline
from procmine.core.plain import plain_value
from procmine.maps.deviations import DeviationFinding
from procmine.sop.activity_names import activity_names
from procmine.sop.library import SopLibrary

__all__ = [
    "SOURCES",
    "Subject",
    "default_group",
    "deviation_subject",
    "finding_key",
    "finding_of",
    "finding_subject",
    "shortfall_key",
    "shortfall_subject",
]

#: What an item can act on: a finding of the slow-step analysis (any kind), a staffing
#: shortfall of the queue (procmine.queue.staffing.ShiftSuggestion with reason "shortfall"), or
#: a deviation from the SOP (procmine.maps.deviations.DeviationFinding).
SOURCES: Final[tuple[str, ...]] = ("finding", "queue", "conformance")


def finding_key(finding: Finding | Mapping[str, Any]) -> str:
    """The identity of a finding across data: the same slow step found again has the same key.

    Example:
        >>> finding_key({"kind": "step", "scope": "teller", "teller_id": "0102",
        ...              "branch_id": "B01", "business_type": "P18",
        ...              "activity": "Enter transaction", "condition": None})
        'finding|step|teller|0102|B01|P18|Enter transaction|'
    """
    data = finding.to_dict() if isinstance(finding, Finding) else finding
    condition = data.get("condition") or {}
    slice_ = f"{condition['dimension']}={condition['value']}" if condition else ""
    parts = ("finding", data.get("kind", "step"), data["scope"], data.get("teller_id") or "",
             data.get("branch_id") or "", data.get("business_type") or "",
             data.get("activity") or "", slice_)
    return "|".join(str(p) for p in parts)


def shortfall_key(shift: Mapping[str, Any]) -> str:
    """The identity of a staffing shortfall: branch, ISO weekday and hours.

    Example:
        >>> shortfall_key({"branch_id": "B01", "weekday": 1, "start": "09:00", "end": "10:30"})
        'queue|shortfall|B01|1|09:00|10:30'
    """
    return "|".join(("queue", "shortfall", str(shift["branch_id"]), str(shift["weekday"]),
                     str(shift["start"]), str(shift["end"])))


@dataclass(frozen=True)
class Subject:
    """An item's frozen evidence: what it is about, its figures when opened, and its summary in
    both languages. ``figures`` is a finding's :meth:`~Finding.to_dict` (without the heavy
    ``evidence`` part) or a shortfall's :meth:`ShiftSuggestion.to_dict` with the branch's queue
    figures."""

    source: str                      # one of SOURCES
    key: str
    figures: Mapping[str, Any]
    as_of: date | None               # the last day of the data the figures came from
    store_version: str
    summary: Mapping[str, str] = field(default_factory=dict)   # language -> one line

    @property
    def branch_id(self) -> str | None:
        return self.figures.get("branch_id") or None

    @property
    def business_type(self) -> str | None:
        if self.source not in ("finding", "conformance"):
            return None
        return self.figures.get("business_type") or None

    @property
    def hours_per_month(self) -> float:
        """Teller hours a month the finding costs (0 for a baseline review and a shortfall)."""
        if self.source != "finding" or self.figures.get("kind") == "baseline":
            return 0.0
        return float(self.figures.get("monthly_teller_hours") or 0.0)

    def summary_in(self, lang: str) -> str:
        return self.summary.get(lang) or self.summary.get("en") or self.key

    def to_json(self) -> str:
        return json.dumps({"source": self.source, "key": self.key, "figures": self.figures,
                           "as_of": self.as_of.isoformat() if self.as_of else None,
                           "store_version": self.store_version, "summary": self.summary},
                          ensure_ascii=False, sort_keys=True, default=plain_value)

    @classmethod
    def from_json(cls, text: str) -> Subject:
        data = json.loads(text)
        return cls(source=data["source"], key=data["key"], figures=data["figures"],
                   as_of=date.fromisoformat(data["as_of"]) if data.get("as_of") else None,
                   store_version=data.get("store_version", ""),
                   summary=data.get("summary") or {})


def _plain(value: Any) -> Any:
    """A JSON-ready copy: NaN becomes None, tuples lists, numpy scalars Python ones."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    value = plain_value(value)
    if isinstance(value, float) and value != value:
        return None
    return value


def finding_subject(finding: Finding, *, as_of: date | None, store_version: str,
                    library: SopLibrary | None = None) -> Subject:
    """The frozen evidence of a finding (its figures without the per-finding evidence tables);
    given the SOP ``library``, its one-line summaries name the step as the SOP (else the
    activity glossary) does in each language (:func:`procmine.activity_names`)."""
    figures = _plain({k: v for k, v in finding.to_dict().items() if k != "evidence"})
    names = activity_names(library, strict=False) if library is not None else None

    def summary(lang: str) -> str:
        step = names.name(finding.activity, lang) if names and finding.activity else None
        return finding.summary_in(lang, step=step)

    return Subject(source="finding", key=finding_key(finding), figures=figures, as_of=as_of,
                   store_version=store_version,
                   summary={"zh-CN": summary("zh-CN"), "en": summary("en")})


def finding_of(subject: Subject) -> Finding:
    """The finding a subject froze, rebuilt (NaN where the JSON holds null for a float)."""
    if subject.source != "finding":
        raise ValueError(f"the subject {subject.key!r} is not a finding")
    known = {f.name: f for f in fields(Finding)}
    values: dict[str, Any] = {}
    for name, value in subject.figures.items():
        if name not in known:
            continue
        if value is None and known[name].type in ("float",):
            value = float("nan")
        elif name == "tellers_flagged":
            value = tuple(value or ())
        elif name == "ratio_ci" and value is not None:
            value = (float(value[0]), float(value[1]))
        values[name] = value
    return Finding(**values)


def shortfall_subject(shift: Mapping[str, Any], *, as_of: date | None, store_version: str,
                      figures: Mapping[str, Any] | None = None) -> Subject:
    """The frozen evidence of a staffing shortfall: the suggestion (``ShiftSuggestion.to_dict``)
    and, in ``figures``, the branch's queue figures at the time (service level, waits)."""
    data = _plain({**dict(figures or {}), **dict(shift), "kind": "shortfall"})
    summary = {lang: t("improve.summary_shortfall", lang, branch=shift["branch_id"],
                       weekday=t(f"improve.weekday.{shift['weekday']}", lang),
                       start=shift["start"], end=shift["end"], counters=shift["counters"])
               for lang in ("zh-CN", "en")}
    return Subject(source="queue", key=shortfall_key(shift), figures=data, as_of=as_of,
                   store_version=store_version, summary=summary)


def deviation_subject(finding: DeviationFinding, *, as_of: date | None,
                      store_version: str) -> Subject:
    """The frozen evidence of a deviation from the SOP (its figures and case ids); its figures'
    ``kind`` is ``"deviation"`` and ``deviation`` the kind of deviation."""
    data = finding.to_dict()
    summary = data.pop("summary")
    figures = _plain({**data, "deviation": data["kind"], "kind": "deviation"})
    return Subject(source="conformance", key=finding.key(), figures=figures, as_of=as_of,
                   store_version=store_version, summary=summary)


def default_group(finding: Finding | DeviationFinding, library: SopLibrary,
                  baseline: Baseline) -> str | None:
    """The review group an item on ``finding`` goes to by default: its SOP's owner group (the
    SOP's current version), else its business type's review group in the baseline, else the
    review group a standard to check names in its evidence, else None (operations chooses).
    A deviation from the SOP goes to its own ``review_group`` (the compliance group for a
    skipped control step, else its SOP's owner group).

    Example:
        >>> from procmine import find_bottlenecks
        >>> default_group(find_bottlenecks(store, baseline)[0], library, baseline)
        'accounting-and-cash'
    """
    if isinstance(finding, DeviationFinding):
        return finding.review_group if finding.review_group in REVIEW_GROUPS else None
    if finding.sop and finding.sop in library.ids():
        owner = library.current(finding.sop).sop.owner_group
        if owner in REVIEW_GROUPS:
            return owner
    code = finding.business_type
    if code and code in baseline and baseline[code].review_group in REVIEW_GROUPS:
        return baseline[code].review_group
    named = (finding.evidence or {}).get("review_group")
    return named if named in REVIEW_GROUPS else None
