"""Deviations from the SOP as findings: who deviates, how, how often against peers, at what cost.

A :class:`~procmine.maps.conformance.ConformanceReport` lists every deviation. The findings
pick out what a review group should act on, one per kind x business type x activity and:

* **teller** scope: a teller whose share of transactions with the deviation is at least
  ``ratio`` times that of the type's other tellers, with a one-sided binomial test against the
  others' share (corrected for the number of tests: Benjamini-Hochberg at false discovery
  rate ``q``) and at least ``min_deviating`` transactions. A **skipped
  control step** is reported for every teller who skipped it at all: it is a control risk, not a
  matter of pace, and the compliance group wants each case.
* **bank** scope: a deviation in at least ``bank_share`` of the type's transactions across the
  bank (of at least ``bank_min_cases``): the procedure, not a teller, is in question (its SOP's
  owner group reviews it).

Each finding names its review group (the compliance group for a skipped control step, else the
SOP's owner group), the transactions (``case_ids``, up to :data:`MAX_CASE_IDS`) and the seconds
its deviating events took. Findings are ranked: control risks first, then by deviating
transactions.

Example:
    >>> from procmine.maps.conformance import conformance
    >>> found = deviation_findings(conformance(store, library))
    >>> all(f.rate > f.peer_rate for f in found if f.scope == "teller")
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

import pandas as pd
from scipy.stats import binomtest

from procmine.analysis.stats import benjamini_hochberg
from procmine.app.i18n import t
from procmine.maps.conformance import ConformanceReport

__all__ = ["COMPLIANCE_GROUP", "MAX_CASE_IDS", "DeviationFinding", "deviation_findings"]

#: The review group that gets every skipped control step.
COMPLIANCE_GROUP: Final[str] = "compliance-and-control"
#: The most case ids a finding carries.
MAX_CASE_IDS: Final[int] = 50


@dataclass(frozen=True)
class DeviationFinding:
    """A deviation worth acting on (:func:`deviation_findings`)."""

    kind: str                   # skipped | extra | rework | order
    scope: str                  # teller | bank
    teller_id: str | None
    branch_id: str | None
    business_type: str
    activity: str
    step_id: str | None
    step_name_zh: str
    control: bool
    sop: str                    # "SOP-P18@3.0"
    cases: int                  # the group's checked transactions of the type
    deviating: int              # of them with this deviation
    rate: float
    peer_rate: float            # the other tellers' (teller scope) or nan (bank scope)
    p_value: float
    seconds: float              # the deviating events' time (0 for a skipped step)
    review_group: str
    case_ids: tuple[str, ...]

    @property
    def control_risk(self) -> bool:
        return self.kind == "skipped" and self.control

    def key(self) -> str:
        """The finding's identity across data: ``conformance|kind|scope|teller|branch|type|
        activity``."""
        return "|".join(("conformance", self.kind, self.scope, self.teller_id or "",
                         self.branch_id or "", self.business_type, self.activity))

    def step_in(self, lang: str) -> str:
        return self.step_name_zh or self.activity if lang.startswith("zh") else self.activity

    def summary_in(self, lang: str) -> str:
        """The finding in one line, in ``lang``."""
        who = (t("conformance.who_teller", lang, teller=self.teller_id, branch=self.branch_id)
               if self.scope == "teller" else t("conformance.who_bank", lang))
        peer = ("" if self.scope != "teller" else
                t("conformance.summary_peer", lang, peer=f"{self.peer_rate:.1%}"))
        return t(f"conformance.summary_{self.kind}", lang, who=who, type=self.business_type,
                 step=self.step_in(lang), deviating=f"{self.deviating:,}",
                 cases=f"{self.cases:,}", rate=f"{self.rate:.1%}") + peer

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["case_ids"] = list(self.case_ids)
        data["key"] = self.key()
        data["control_risk"] = self.control_risk
        data["summary"] = {"zh-CN": self.summary_in("zh-CN"), "en": self.summary_in("en")}
        return {k: (None if isinstance(v, float) and v != v else v) for k, v in data.items()}


def _groups(report: ConformanceReport) -> pd.DataFrame:
    """Deviating transactions per teller x type x kind x activity (one count per case), over
    every SOP version in force in the period: the step, its control flag and the SOP version
    are those of the latest deviation."""
    dev = report.deviations.sort_values(["day", "case_id"], na_position="first")
    keys = ["teller_id", "branch_id", "business_type", "kind", "activity"]
    grouped = dev.groupby(keys, dropna=False)
    frame = grouped.agg(deviating=("case_id", "nunique"), seconds=("seconds", "sum"),
                        case_ids=("case_id", lambda s: tuple(sorted(map(str, s.unique())))),
                        step_id=("step_id", "last"), control=("control", "last"),
                        sop=("sop", "last"))
    return frame.reset_index()


def _names(report: ConformanceReport) -> dict[tuple[str, str], str]:
    """(sop key, activity) -> the step's Chinese name: the SOP version's, else (an extra step,
    an alternative activity) the activity glossary's (:func:`procmine.activity_names`)."""
    names = {(m.key, a): m.step_name(a, "zh-CN") for m in report.models.values()
             for a in m.activities}
    if report.names is not None:
        for key, activity in set(zip(report.deviations["sop"].astype(str),
                                     report.deviations["activity"].astype(str), strict=True)):
            if names.get((key, activity), activity) == activity:
                names[(key, activity)] = report.names.name(activity, "zh-CN")
    return {k: v for k, v in names.items() if v != k[1]}


def _group_of(report: ConformanceReport, sop: str, control_risk: bool) -> str:
    if control_risk:
        return COMPLIANCE_GROUP
    owners = {m.key: m.owner_group for m in report.models.values()}
    return owners.get(sop, COMPLIANCE_GROUP)


def _finding(report: ConformanceReport, row: Mapping[Any, Any], *, scope: str, cases: int,
             peer: float, p_value: float, names: dict[tuple[str, str], str]) -> DeviationFinding:
    control = bool(row["control"])
    kind = str(row["kind"])
    return DeviationFinding(
        kind=kind, scope=scope,
        teller_id=str(row["teller_id"]) if scope == "teller" else None,
        branch_id=str(row["branch_id"]) if scope == "teller" else None,
        business_type=str(row["business_type"]), activity=str(row["activity"]),
        step_id=None if pd.isna(row["step_id"]) else str(row["step_id"]),
        step_name_zh=names.get((str(row["sop"]), str(row["activity"])), ""),
        control=control, sop=str(row["sop"]), cases=int(cases), deviating=int(row["deviating"]),
        rate=int(row["deviating"]) / cases if cases else float("nan"), peer_rate=peer,
        p_value=p_value, seconds=float(row["seconds"] or 0.0),
        review_group=_group_of(report, str(row["sop"]), kind == "skipped" and control),
        case_ids=tuple(row["case_ids"][:MAX_CASE_IDS]))


def _teller_tests(groups: pd.DataFrame, per_teller: pd.Series, per_type: pd.Series
                  ) -> pd.DataFrame:
    """Each teller x deviation row with its cases, the other tellers' share (and that share
    with half a case added, so that a share of 0 is no certainty) and the one-sided binomial
    p-value of the teller's count against it."""
    rows = groups.copy()
    totals = rows.groupby(["business_type", "kind", "activity"], dropna=False)[
        "deviating"].transform("sum")
    rows["cases"] = [int(per_teller.get(k, 0)) for k in zip(
        rows["teller_id"], rows["branch_id"], rows["business_type"], strict=True)]
    others_cases = rows["business_type"].map(per_type).fillna(0).astype(int) - rows["cases"]
    others_dev = totals - rows["deviating"]
    rows["peer"] = (others_dev / others_cases.where(others_cases > 0)).astype(float)
    rows["floor"] = ((others_dev + 0.5) / (others_cases + 1)).clip(upper=1.0)
    rows["p_value"] = [
        float(binomtest(int(d), int(n), float(f), alternative="greater").pvalue) if n else 1.0
        for d, n, f in zip(rows["deviating"], rows["cases"], rows["floor"], strict=True)]
    return rows


def deviation_findings(report: ConformanceReport, *, ratio: float = 2.0, q: float = 0.05,
                       min_deviating: int = 3, bank_share: float = 0.05,
                       bank_min_cases: int = 50) -> list[DeviationFinding]:
    """The deviations of ``report`` worth acting on, control risks first, then by deviating
    transactions. Teller tests are corrected for their number (Benjamini-Hochberg, false
    discovery rate ``q``); ``p_value`` is the corrected one."""
    if report.deviations.empty:
        return []
    names = _names(report)
    per_teller = report.level("teller_type").set_index(
        ["teller_id", "branch_id", "business_type"])["cases"]
    per_type = report.level("type").set_index("business_type")["cases"]
    groups = _groups(report)
    tests = _teller_tests(groups, per_teller, per_type)
    tests["q_value"] = benjamini_hochberg(tests["p_value"].to_numpy(dtype=float))
    found: list[DeviationFinding] = []
    for row in tests.to_dict("records"):
        risk = row["kind"] == "skipped" and bool(row["control"])
        rate = row["deviating"] / row["cases"] if row["cases"] else 0.0
        if risk or (row["deviating"] >= min_deviating and row["q_value"] < q
                    and rate >= ratio * row["floor"]):
            found.append(_finding(report, row, scope="teller", cases=int(row["cases"]),
                                  peer=float(row["peer"]), p_value=float(row["q_value"]),
                                  names=names))
    by_type = groups.groupby(["business_type", "kind", "activity"], dropna=False)
    for (code, *_), rows in by_type:
        total_dev, total_cases = int(rows["deviating"].sum()), int(per_type.get(code, 0))
        if (total_cases >= bank_min_cases and total_dev >= min_deviating
                and total_dev / total_cases >= bank_share):
            merged = rows.iloc[0].copy()
            merged["deviating"] = total_dev
            merged["seconds"] = float(rows["seconds"].sum())
            merged["case_ids"] = tuple(sorted(c for ids in rows["case_ids"] for c in ids))
            found.append(_finding(report, merged.to_dict(), scope="bank", cases=total_cases,
                                  peer=float("nan"), p_value=float("nan"), names=names))
    found.sort(key=lambda f: (not f.control_risk, -f.deviating, f.business_type, f.activity,
                              f.teller_id or ""))
    return found
