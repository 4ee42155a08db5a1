"""SOPs and the event log: which SOP step governs each slow step, what the SOPs cover, and
whether a revision helped.

* **References.** Every approved SOP version gives each of its steps a standard time for its
  business types, in force from its effective date (per branch from its adoption date) until
  the next version (the periods of :mod:`procmine.sop.timeline`). :func:`sop_references`
  turns the library's history into dated :class:`~procmine.analysis.findings.StepReference`
  rows, so :func:`linked_findings` judges each transaction against the SOP version in force on
  its date and names the SOP step of each finding (a wait before a step: the step of the
  latest approved SOP, :func:`link_waits`). Only findings about one step link to an SOP step
  (:func:`step_linked`): slow steps and waits, not a teller or branch slow overall nor a
  standard to review.
* **Coverage.** :func:`coverage_report`: business types with transactions that no SOP covers,
  frequent steps of covered types that no SOP step governs, SOP steps never seen in the logs.
* **Effect of a revision.** :func:`revision_effects`: for each version that followed another,
  each step's times before and after it came in force (medians, change, two-sided Mann-Whitney
  test) and, where branches adopted it on different dates, a difference-in-differences of the
  mean log time against the branches not yet on it (a Welch-type z test). Each row says what
  its evidence is worth (``evidence``): ``no_data_yet`` for a version with no step times after
  it yet (a version in force after the log ends: no medians, no test, not a change of 0),
  ``no_data_before``, ``few_cases`` with fewer than :data:`FEW_EFFECT_CASES` times on a side
  (a change of 10-20% there is often chance), else ``enough``.

Example:
    >>> found = linked_findings(store, baseline, library)
    >>> found[0].teller_id, found[0].business_type, found[0].sop, found[0].sop_step
    ('0102', 'P18', 'SOP-P18', 'enter_transaction')
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.analysis.filters import Filters
from procmine.analysis.findings import Finding, StepReference
from procmine.analysis.performance import (
    business_type_summary,
    step_samples,
    step_statistics,
)
from procmine.analysis.stats import mann_whitney_two_sided, normal_two_sided_p
from procmine.core.baseline import Baseline
from procmine.sop import timeline
from procmine.sop.document import Sop, SopStep
from procmine.sop.library import SopLibrary
from procmine.sop.repository import has_library
from procmine.store.event_store import EventStore

__all__ = [
    "EFFECT_EVIDENCE",
    "FEW_EFFECT_CASES",
    "STEP_KINDS",
    "Coverage",
    "coverage_report",
    "findings_by_step",
    "library_activities",
    "link_waits",
    "linked_findings",
    "logged_activities",
    "revision_effects",
    "sop_references",
    "step_linked",
    "workspace_references",
]

#: A step of a covered type that makes up at least this share of the type's steps counts as
#: frequent in the coverage report.
FREQUENT_SHARE: Final[float] = 0.01

#: Fewer step times than this on either side of a revision make its change a small sample.
FEW_EFFECT_CASES: Final[int] = 100

#: What a revision effect's row rests on (the ``evidence`` column of :func:`revision_effects`).
EFFECT_EVIDENCE: Final[tuple[str, ...]] = ("enough", "few_cases", "no_data_before",
                                           "no_data_yet")


# -- references ----------------------------------------------------------------------------------


def _governing_steps(sop: Sop, business_type: str) -> dict[str, SopStep]:
    """activity -> the SOP step that sets its standard (the standard path's step first)."""
    out: dict[str, SopStep] = {}
    for step in sorted(sop.steps_for(business_type), key=lambda s: s.conditional):
        out.setdefault(step.activity, step)
    return out


def library_activities(sops: Iterable[Sop]) -> dict[tuple[str, str], list[tuple[Sop, SopStep]]]:
    """(business type, activity) -> the SOP steps that govern it."""
    out: dict[tuple[str, str], list[tuple[Sop, SopStep]]] = {}
    for sop in sops:
        for code in sop.business_types:
            for step in sop.steps_for(code):
                out.setdefault((code, step.activity), []).append((sop, step))
    return out


def sop_references(library: SopLibrary) -> list[StepReference]:
    """The standard time of every SOP step on every date it was in force, for the mining.

    One row per approved version x business type x governed activity, valid from the version's
    effective date to the next version's. Branches named in some version's adoption dates get
    rows of their own (a branch row wins over the all-branch rows).

    Example:
        >>> refs = sop_references(library)
        >>> refs[0].sop_id, refs[0].activity, refs[0].seconds, refs[0].valid_from
        ('SOP-C41', 'Call number', 10.0, datetime.date(2026, 2, 1))
    """
    rows: list[StepReference] = []
    owner: dict[tuple[str, str], str] = {}  # one SOP governs a type x step: the first by id
    for sop_id in library.ids():
        versions = library.approved_versions(sop_id)
        for branch in [None, *timeline.adoption_branches(versions)]:
            for version, start, end in timeline.periods(versions, branch):
                sop = version.sop
                for code in sop.business_types:
                    for activity, step in _governing_steps(sop, code).items():
                        if owner.setdefault((code, activity), sop_id) != sop_id:
                            continue
                        rows.append(StepReference(
                            business_type=code, activity=activity,
                            seconds=step.standard_seconds, sop_id=sop.id, sop_step=step.id,
                            sop_version=sop.version, valid_from=start, valid_to=end,
                            branch_id=branch))
    return rows


def workspace_references(home: str | Path) -> list[StepReference] | None:
    """The SOP references of a workspace's SOP library, or None when it has no library yet
    (the mining then uses the baseline shares)."""
    if not has_library(home):
        return None
    return sop_references(SopLibrary.open(home))


def linked_findings(store: EventStore, baseline: Baseline, library: SopLibrary, *,
                    month: str | None = None, ratio: float = 1.5, min_cases: int = 30,
                    q: float = 0.05, evidence: bool = False) -> list[Finding]:
    """The slow steps, each judged against the SOP version in force on its transactions'
    dates and linked to the SOP step that governs it (``sop``, ``sop_step``,
    ``sop_version``); steps no SOP governs keep the baseline-share reference. A wait before a
    step (judged against what peers wait, not against an SOP) is linked to the step of the
    latest approved SOP that governs it (:func:`link_waits`)."""
    found = find_bottlenecks(store, baseline, month=month, ratio=ratio, min_cases=min_cases,
                             q=q, evidence=evidence, step_references=sop_references(library))
    return link_waits(found, library)


def link_waits(findings: Sequence[Finding], library: SopLibrary) -> list[Finding]:
    """The findings, each wait before a step that names no SOP step linked to the step of the
    latest approved SOP governing its business type x step (the first SOP by id, its
    standard path's step first, as :func:`sop_references` chooses); the others as they are.

    Example:
        >>> from dataclasses import replace
        >>> wait = replace(linked_findings(store, baseline, library)[0], kind="wait",
        ...                business_type="P17", activity="Supervisor authorization", sop=None,
        ...                sop_step=None, sop_version=None)
        >>> linked = link_waits([wait], library)[0]
        >>> linked.sop, linked.sop_step
        ('SOP-P17', 'supervisor_authorization')
    """
    if not any(f.kind == "wait" and f.sop is None for f in findings):
        return list(findings)
    governing: dict[tuple[str, str], tuple[Sop, SopStep]] = {}
    for sop_id in library.ids():
        version = library.approved(sop_id)
        if version is None:
            continue
        for code in version.sop.business_types:
            for activity, step in _governing_steps(version.sop, code).items():
                governing.setdefault((code, activity), (version.sop, step))
    out = []
    for f in findings:
        link = governing.get((f.business_type, f.activity))
        if f.kind == "wait" and f.sop is None and link is not None:
            f = replace(f, sop=link[0].id, sop_step=link[1].id, sop_version=link[0].version)
        out.append(f)
    return out


#: The kinds of finding that are about one step (and so link to an SOP step).
STEP_KINDS: Final[tuple[str, ...]] = ("step", "wait")


def step_linked(finding: Finding) -> bool:
    """Whether a finding is about one step, so an SOP step can govern it: a slow step or a
    wait before a step, with its activity (not an overall or baseline-review finding).

    Example:
        >>> from dataclasses import replace
        >>> found = linked_findings(store, baseline, library)
        >>> step_linked(found[0]), step_linked(replace(found[0], kind="overall", activity=""))
        (True, False)
    """
    return finding.kind in STEP_KINDS and bool(finding.activity)


def findings_by_step(findings: Sequence[Finding], sop: Sop) -> pd.DataFrame:
    """One SOP's steps with the findings linked to them: number, teller hours lost a month,
    tellers and branches affected (steps without findings included, with zeros).

    Only findings about one step are linked to it: slow steps and waits before a step (with
    an activity); a teller or branch slow overall and a standard to review are about no one
    step (:func:`step_linked`)."""
    rows = []
    linked = [f for f in findings if step_linked(f)]
    for step in sop.steps:
        mine = [f for f in linked if f.sop == sop.id and f.sop_step == step.id]
        tellers = sorted({f.teller_id for f in mine if f.teller_id})
        branches = sorted({f.branch_id for f in mine if f.branch_id})
        rows.append({
            "step_id": step.id, "activity": step.activity,
            "standard_seconds": step.standard_seconds,
            "findings": len(mine),
            "monthly_teller_hours": round(sum(f.monthly_teller_hours for f in mine), 2),
            "time_lost_hours": round(sum(f.time_lost_seconds for f in mine) / 3600, 2),
            "tellers": ", ".join(tellers), "branches": ", ".join(branches),
        })
    return pd.DataFrame(rows)


def logged_activities(store: EventStore, baseline: Baseline) -> dict[str, set[str]]:
    """Business type -> the activity names its transactions show in the store's logs (empty
    for an empty store): what the lint checks the SOP steps' activities against."""
    seen: dict[str, set[str]] = {}
    if store.is_empty():
        return seen
    bank = step_statistics(store, baseline, by="bank", with_share=False)
    for code, activity in zip(bank["business_type"], bank["activity"], strict=True):
        seen.setdefault(code, set()).add(activity)
    return seen


# -- coverage ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """What the SOP library covers of the logs (see :func:`coverage_report`)."""

    uncovered_types: pd.DataFrame  # business_type, transactions
    uncovered_steps: pd.DataFrame  # business_type, activity, count, share
    unseen_steps: pd.DataFrame  # sop_id, step_id, business_type, activity
    covered_transactions: int
    transactions: int

    @property
    def transaction_share(self) -> float:
        """The share of transactions whose business type an SOP covers."""
        return self.covered_transactions / self.transactions if self.transactions else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The report as plain fields (the ``--json`` output of ``procmine sop coverage``)."""
        return {"transaction_share": self.transaction_share,
                "uncovered_types": self.uncovered_types.to_dict(orient="records"),
                "uncovered_steps": self.uncovered_steps.to_dict(orient="records"),
                "unseen_steps": self.unseen_steps.to_dict(orient="records")}


def coverage_report(store: EventStore, baseline: Baseline, library: SopLibrary,
                    filters: Filters | None = None) -> Coverage:
    """Business types and frequent steps that no approved SOP covers, and SOP steps never seen.

    Example:
        >>> report = coverage_report(store, baseline, library)
        >>> f"{report.transaction_share:.0%}"
        '78%'
    """
    sops = [v.sop for v in (library.approved(i) for i in library.ids()) if v is not None]
    types = business_type_summary(store, baseline, filters)
    transactions = dict(zip(types["business_type"], types["transactions"].astype(int),
                            strict=True))
    bank = step_statistics(store, baseline, by="bank", filters=filters, with_share=False)
    covered_types = {t for sop in sops for t in sop.business_types}
    governed = set(library_activities(sops))
    uncovered_types = pd.DataFrame(
        [{"business_type": t, "transactions": n} for t, n in transactions.items()
         if t not in covered_types], columns=["business_type", "transactions"],
    ).sort_values(["transactions", "business_type"], ascending=[False, True], ignore_index=True)
    steps = bank[bank["business_type"].isin(covered_types)].copy()
    per_type = steps.groupby("business_type")["count"].transform("sum")
    steps["share"] = steps["count"] / per_type
    keys = list(zip(steps["business_type"], steps["activity"], strict=True))
    steps = steps[np.array([k not in governed for k in keys], dtype=bool)
                  & (steps["share"] >= FREQUENT_SHARE).to_numpy()]
    uncovered_steps = steps[["business_type", "activity", "count", "share"]].sort_values(
        ["share", "business_type", "activity"], ascending=[False, True, True], ignore_index=True)
    seen = set(zip(bank["business_type"], bank["activity"], strict=True))
    unseen = [{"sop_id": sop.id, "step_id": s.id, "business_type": t, "activity": s.activity}
              for sop in sops for t in sop.business_types for s in sop.steps_for(t)
              if (t, s.activity) not in seen and t in transactions]
    return Coverage(
        uncovered_types, uncovered_steps,
        pd.DataFrame(unseen, columns=["sop_id", "step_id", "business_type", "activity"]),
        sum(n for t, n in transactions.items() if t in covered_types),
        sum(transactions.values()),
    )


# -- effect of a revision ------------------------------------------------------------------------


_EFFECT_COLUMNS: Final[list[str]] = [
    "version", "previous_version", "effective", "business_type", "step_id", "activity",
    "standard_before", "standard_after", "n_before", "n_after", "median_before",
    "median_after", "change", "p_value", "did_effect", "did_p_value", "did_groups",
    "evidence",
]


def _evidence(n_before: int, n_after: int) -> str:
    """What a row of :func:`revision_effects` rests on (:data:`EFFECT_EVIDENCE`)."""
    if n_after == 0:
        return "no_data_yet"
    if n_before == 0:
        return "no_data_before"
    return "few_cases" if min(n_before, n_after) < FEW_EFFECT_CASES else "enough"


def _did(samples: pd.DataFrame, version: Sop, window: timedelta) -> tuple[float, float, str]:
    """Difference-in-differences of mean log time: branches that adopted first against those
    not yet on the version, over the days before the first adoption and the days between the
    first and the next adoption (at most ``window`` each). Returns the effect as a ratio - 1,
    its two-sided p-value and the groups compared (NaN, NaN, "" when there is no such pair)."""
    branches = sorted(b for b in samples["branch_id"].dropna().unique())
    starts = {b: timeline.start(version, b) for b in branches}
    first = min(starts.values(), default=None)
    later = sorted({d for d in starts.values() if first is not None and d > first})
    if first is None or not later:
        return math.nan, math.nan, ""
    early = [b for b, d in starts.items() if d == first]
    control = [b for b, d in starts.items() if d > first]
    pre_from, post_to = first - window, min(later[0], first + window)
    s = samples[(samples["day"] >= pre_from) & (samples["day"] < post_to)
                & (samples["service_seconds"] > 0)]
    logs = np.log(s["service_seconds"].to_numpy(dtype=float))
    post = (s["day"] >= first).to_numpy()
    treated = s["branch_id"].isin(early).to_numpy()
    cells = [logs[treated & post], logs[treated & ~post], logs[~treated & post],
             logs[~treated & ~post]]
    if any(len(c) < 2 for c in cells):
        return math.nan, math.nan, ""
    effect = (cells[0].mean() - cells[1].mean()) - (cells[2].mean() - cells[3].mean())
    se = math.sqrt(sum(c.var(ddof=1) / len(c) for c in cells))
    p = normal_two_sided_p(effect / se) if se > 0 else math.nan
    groups = f"{','.join(early)} vs {','.join(control)} ({pre_from} to {post_to - timedelta(1)})"
    return float(math.exp(effect) - 1), p, groups


def revision_effects(store: EventStore, library: SopLibrary, sop_id: str, *,
                     window_days: int = 60) -> pd.DataFrame:
    """For each version of an SOP that followed another, each step's times before and after
    it came in force (each branch from its own adoption date), at most ``window_days`` each
    side and never across the next version: counts, medians, relative change of the median,
    the two-sided Mann-Whitney p-value, and, where branches adopted on different dates, the
    difference-in-differences effect (ratio - 1 of the geometric means) with its p-value.
    ``evidence`` says what each row rests on: ``no_data_yet`` (no times after the version
    yet: medians, change and tests are empty), ``no_data_before``, ``few_cases`` (fewer than
    :data:`FEW_EFFECT_CASES` on a side) or ``enough``.

    Example:
        >>> effects = revision_effects(store, library, "SOP-P18")
        >>> round(float(effects.loc[effects.step_id == "count_cash", "change"].iloc[0]), 2)
        -0.31
    """
    versions = [v for v in library.approved_versions(sop_id) if v.sop.status == "approved"]
    window = timedelta(days=window_days)
    rows: list[dict[str, Any]] = []
    for previous, current in itertools.pairwise(versions):
        old, new = previous.sop, current.sop
        following = timeline.next_effective(versions, new.effective)
        pairs = [(t, s.activity) for t in new.business_types
                 for s in _governing_steps(new, t).values()]
        if not pairs:
            continue
        samples = step_samples(store, pairs)
        if samples.empty:
            continue
        samples["day"] = pd.to_datetime(samples["day"]).dt.date
        for code in new.business_types:
            before_steps = _governing_steps(old, code) if code in old.business_types else {}
            for activity, step in _governing_steps(new, code).items():
                s = samples[(samples["business_type"] == code)
                            & (samples["activity"] == activity)]
                adopted = {b: timeline.start(new, b) for b in s["branch_id"].dropna().unique()}
                start = s["branch_id"].map(adopted).fillna(new.effective)
                days = s["day"]
                before = s[(days < start) & (days >= start - window)
                           & (days >= old.effective)]["service_seconds"].to_numpy(dtype=float)
                after_mask = (days >= start) & (days < start + window)
                if following is not None:
                    after_mask &= days < following
                after = s[after_mask]["service_seconds"].to_numpy(dtype=float)
                row: dict[str, Any] = {
                    "version": new.version, "previous_version": old.version,
                    "effective": new.effective, "business_type": code, "step_id": step.id,
                    "activity": activity,
                    "standard_before": (before_steps[activity].standard_seconds
                                        if activity in before_steps else math.nan),
                    "standard_after": step.standard_seconds,
                    "n_before": len(before), "n_after": len(after),
                    "median_before": float(np.median(before)) if len(before) else math.nan,
                    "median_after": float(np.median(after)) if len(after) else math.nan,
                }
                row["change"] = (row["median_after"] / row["median_before"] - 1
                                 if len(before) and len(after) and row["median_before"] > 0
                                 else math.nan)
                row["p_value"] = (mann_whitney_two_sided(after, before)
                                  if len(before) and len(after) else math.nan)
                row["did_effect"], row["did_p_value"], row["did_groups"] = _did(s, new, window)
                row["evidence"] = _evidence(len(before), len(after))
                rows.append(row)
    return pd.DataFrame(rows, columns=_EFFECT_COLUMNS)
