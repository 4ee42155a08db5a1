"""Slow steps: where tellers and branches lose time against the reference, and why.

A business type's standard time comes from the baseline. A step's **reference time** is its SOP
standard where one exists (``step_references``), otherwise the type's standard time times the
step's bank-wide median share of the transaction's dwell time.

**Dated references.** SOP standards change with SOP versions, and branches may adopt a version
on dates of their own: each :class:`StepReference` holds for one business type x step from
``valid_from`` to ``valid_to`` (exclusive), for one branch or for all. Each step occurrence is
judged against the row in force on its date (a branch's row before an all-branch row), or the
baseline share where none is; a group's ``reference_seconds`` is the step-weighted mean of its
occurrences' references, and its time lost sums each case's excess over the reference in force
on that case's date.

A **finding** is a teller x type x step or a branch x type x step with at least ``min_cases``
steps whose times are

* materially slow: the median is at least ``ratio`` (1.5) times the reference, and at least
  ``ratio`` times what the group's own pace predicts for the step (``max(1, pace)`` times the
  bank's median for it; see below);
* statistically above the rest of the bank: a one-sided Mann-Whitney U test of the group's
  times against every other time of the same type x step (suited to skewed durations), with
  Benjamini-Hochberg false-discovery control over every eligible group of both levels
  (``q`` 0.05). Groups that are not materially slow cannot be findings and are not tested:
  they enter the correction with p = 1, which can only make the other q-values larger.

**Pace.** A teller who is slower than the bank at everything is a matter for the monthly league
table, not thirty slow steps; and a step the whole bank is slow at is no one teller's or branch's
bottleneck (the bank-wide step statistics show it). A teller's pace is the step-weighted median,
over all its type x step groups, of its median over the bank's median (1.0 = the bank's pace);
a branch's pace on a type x step is that of the tellers who did it there, weighted by their
steps. The raw ratio (median / reference) and the pace are both reported.

**Branches.** When most of a branch's tellers (more than half of those with ``min_cases`` on the
type x step, and at least two) are flagged for the same type x step, or the branch as a whole is
flagged against the other branches (unless a single flagged teller carries half or more of the
branch's steps), the branch gets one finding and its tellers' findings for that step are
dropped.

Findings are ranked by **time lost**: the sum over the group's cases of the step's time in the
case beyond the reference. ``monthly_teller_hours`` spreads it over the months analysed.
:func:`explain_findings` adds the evidence a reviewer needs: rework, waits before the step, and
the step's times by amount band, hour and window type, next to the branch's and the bank's.

Example:
    >>> from procmine.analysis.bottlenecks import find_bottlenecks
    >>> findings = find_bottlenecks(store, baseline)             # doctest: +SKIP
    >>> print(findings[0].summary)                               # doctest: +SKIP
    Teller 0401 (B04), P17 Enter transaction: median 95 s vs 34 s reference (2.8x) over 5,263
    cases; costs 61 teller hours a month
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from scipy import special, stats

from procmine.analysis.performance import (
    AMOUNT_BANDS,
    BREAKDOWNS,
    REFERENCE_SCHEMA,
    Filters,
    StepData,
)
from procmine.app.i18n import t
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.core.progress import Progress
from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    from procmine.store.engine import Engine

__all__ = [
    "Finding",
    "StepReference",
    "explain_finding",
    "explain_findings",
    "find_bottlenecks",
    "finding_distribution",
    "mann_whitney_greater",
]

_Arr = npt.NDArray[Any]

_PAIR: Final[list[str]] = ["business_type", "activity"]
#: The columns of the steps the statistics and tests of the tested pairs read.
_KEPT_COLUMNS: Final[list[str]] = ["case_id", "business_type", "activity", "teller_id",
                                   "branch_id", "started", "service_seconds",
                                   "service_is_inferred"]
#: Groups with fewer steps than this do not weigh in a pace estimate.
_PACE_MIN_STEPS: Final[int] = 5


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


# -- the statistical test ------------------------------------------------------------------------


def mann_whitney_greater(sorted_values: _Arr, groups: _Arr, n_groups: int) -> tuple[_Arr, _Arr]:
    """One-sided Mann-Whitney U tests of every group against all the other values at once.

    ``sorted_values`` holds all values of one type x step in ascending order and ``groups`` the
    group code (0 to ``n_groups - 1``, or -1 for none) of each. Returns (U statistic of each
    group, p-value of "the group's times are stochastically greater"), by the normal
    approximation with tie and continuity correction: the same numbers as
    ``scipy.stats.mannwhitneyu(group, rest, alternative="greater")`` when both samples have more
    than 8 values (below that, scipy computes the p-value). One sort serves every group.
    """
    n = sorted_values.size
    u = np.zeros(n_groups)
    p = np.ones(n_groups)
    if n < 2 or n_groups == 0:
        return u, p
    cut = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [n]))
    ties = (ends - starts).astype(np.float64)
    ranks = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    tie_term = float(np.sum(ties**3 - ties))
    valid = groups >= 0
    n1 = np.bincount(groups[valid], minlength=n_groups).astype(np.float64)
    r1 = np.bincount(groups[valid], weights=ranks[valid], minlength=n_groups)
    n2 = n - n1
    u = r1 - n1 * (n1 + 1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        z = (u - n1 * n2 / 2 - 0.5) / s
    p = np.where((n1 > 0) & (n2 > 0) & (s > 0), special.ndtr(-z), 1.0)
    for g in np.flatnonzero((n1 > 0) & (n2 > 0) & ((n1 <= 8) | (n2 <= 8))):
        mine = groups == g
        p[g] = stats.mannwhitneyu(sorted_values[mine], sorted_values[~mine],
                                  alternative="greater").pvalue
    return u, p


def _bh(p_values: _Arr) -> _Arr:
    """Benjamini-Hochberg adjusted p-values (q-values)."""
    if p_values.size == 0:
        return p_values
    return np.asarray(stats.false_discovery_control(p_values, method="bh"))


# -- finding the slow steps ----------------------------------------------------------------------


def _filters(month: str | None) -> Filters:
    return Filters.for_month(month) if month else Filters()


@dataclass(frozen=True)
class _References:
    """Reference rows as the engine joins them (:data:`REFERENCE_SCHEMA`) and the SOP (id,
    step, version) of each ``sop_key``."""

    table: pa.Table | None
    sops: tuple[tuple[str, str, str], ...]


def _reference_rows(step_references: StepReferences | None) -> _References:
    """Check the references and put them in the engine's shape: positive seconds, a start
    before the end, and no two rows of the same type x step and branch (or of every branch) in
    force on the same day."""
    if not step_references:
        return _References(None, ())
    rows: list[tuple[str, str, str | None, date | None, date | None, float, int | None]] = []
    sops: dict[tuple[str, str, str], int] = {}
    names: list[str] = []
    if isinstance(step_references, Mapping):
        for (business_type, activity), seconds in step_references.items():
            rows.append((str(business_type), str(activity), None, None, None, float(seconds),
                         None))
            names.append(f"step reference {business_type} / {activity}")
    else:
        for ref in step_references:
            if not isinstance(ref, StepReference):
                raise ProcmineError(f"step references: expected StepReference rows or a mapping "
                                    f"(business type, step) -> seconds, got {ref!r}")
            key = sops.setdefault((ref.sop_id, ref.sop_step, ref.sop_version), len(sops))
            rows.append((ref.business_type, ref.activity, ref.branch_id, ref.valid_from,
                         ref.valid_to, float(ref.seconds), key))
            names.append(f"step reference {ref.business_type} / {ref.activity} "
                         f"({ref.sop_id} step {ref.sop_step} version {ref.sop_version}"
                         + (f", branch {ref.branch_id}" if ref.branch_id is not None else "")
                         + ")")
    scopes: dict[tuple[str, str, str | None], list[int]] = {}
    for i, (business_type, activity, branch, start, end, seconds, _) in enumerate(rows):
        if not (math.isfinite(seconds) and seconds > 0):
            raise ProcmineError(f"{names[i]}: seconds is {seconds}; expected a positive number")
        if start is not None and end is not None and not start < end:
            raise ProcmineError(f"{names[i]}: valid_from {start} is not before valid_to {end} "
                                "(valid_to is the first day it no longer applies)")
        scopes.setdefault((business_type, activity, branch), []).append(i)
    for members in scopes.values():
        members.sort(key=lambda i: rows[i][3] or date.min)
        for a, b in itertools.pairwise(members):
            end_a, start_b = rows[a][4], rows[b][3] or date.min
            if end_a is None or end_a > start_b:
                raise ProcmineError(f"{names[a]} and {names[b]} are in force on the same days; "
                                    "give each period one row (valid_to is exclusive)")
    columns = list(zip(*rows, strict=True))
    table = pa.Table.from_arrays(
        [pa.array(list(column), type=field.type)
         for column, field in zip(columns, REFERENCE_SCHEMA, strict=True)],
        schema=REFERENCE_SCHEMA)
    return _References(table, tuple(sorted(sops, key=lambda k: sops[k])))


def _share_references(bank: pd.DataFrame, baseline: Baseline) -> pd.DataFrame:
    """The bank-wide row of every type x step with its baseline-share reference: the type's
    standard time x the step's median share of the transaction (NaN where the type has no
    standard time)."""
    refs = bank.copy()
    standard = refs["business_type"].map(
        lambda c: baseline.standard_seconds(c) if c in baseline else np.nan)
    share = standard * refs["share"]
    refs["share_reference"] = share.where(share > 0)
    return refs.rename(columns={"median_seconds": "bank_median_seconds", "count": "bank_count"})[
        [*_PAIR, "share_reference", "bank_median_seconds", "bank_count"]]


def _group_references(frame: pd.DataFrame, references: _References) -> pd.DataFrame:
    """Each group's reference: the step-weighted mean of the references in force on its steps
    (an SOP row's where one is in force, the baseline share's otherwise), with its source and
    the SOP version in force on most of its steps. Exactly the one reference where all its
    steps have the same (no floating-point mean of equal numbers)."""
    share = frame["share_reference"].astype(float)
    if references.table is None or "ref_steps" not in frame:
        return frame.assign(reference_seconds=share, reference_source="baseline share",
                            sop=None, sop_step=None, sop_version=None)
    n = frame["count"].to_numpy(dtype=float)
    k = frame["ref_steps"].fillna(0).to_numpy(dtype=float)
    total = frame["ref_total"].fillna(0.0).to_numpy(dtype=float)
    low = frame["ref_min"].astype(float).to_numpy()
    high = frame["ref_max"].astype(float).to_numpy()
    known = share.notna().to_numpy()
    share_values = share.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        mixed = (total + np.nan_to_num(share_values) * (n - k)) / n
        sop_only = total / k
    reference = np.where(k == 0, share_values, np.where(known, mixed, sop_only))
    reference = np.where((k > 0) & (k == n) & (low == high), low, reference)
    source = np.where(k == 0, "baseline share",
                      np.where((k == n) | ~known, "sop", "mixed"))
    keys = pd.to_numeric(frame["sop_key"], errors="coerce")
    identity = [references.sops[int(v)] if pd.notna(v) else (None, None, None) for v in keys]
    ids = pd.DataFrame(identity, index=frame.index, columns=["sop", "sop_step", "sop_version"],
                       dtype=object)
    return pd.concat([frame.assign(reference_seconds=reference, reference_source=source), ids],
                     axis=1)


def _pace(groups: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Each group's general pace: the step-weighted median over its type x steps of its median
    over the bank's median (1.0 = the bank's pace)."""
    usable = groups[(groups["count"] >= _PACE_MIN_STEPS) & (groups["bank_median_seconds"] > 0)
                    & groups["median_seconds"].notna()]
    usable = usable.assign(rel=usable["median_seconds"] / usable["bank_median_seconds"])
    usable = usable.sort_values([*keys, "rel"])
    cum = usable.groupby(keys, dropna=False)["count"].cumsum()
    total = usable.groupby(keys, dropna=False)["count"].transform("sum")
    at_median = usable[cum >= total / 2].groupby(keys, dropna=False)["rel"].first()
    return at_median.rename("pace")


def _months(bank: pd.DataFrame) -> int:
    """Calendar months from the first step analysed to the last (at least 1)."""
    if bank.empty or bank["first_started"].isna().all():
        return 1
    first, last = bank["first_started"].min(), bank["last_started"].max()
    return max(1, (last.year - first.year) * 12 + last.month - first.month + 1)


def _level_frame(stats_frame: pd.DataFrame, refs: pd.DataFrame, references: _References,
                 keys: list[str], ratio: float, min_cases: int,
                 tellers: pd.DataFrame | None = None) -> pd.DataFrame:
    """One level's groups with reference, pace, ratio and whether each is eligible (enough
    steps, a named teller or branch) and material. A teller's pace is its own; a branch's pace
    on a type x step is that of the tellers who did the step there, weighted by their steps
    (``tellers``), so a branch whose step is slow only because its tellers are slow at
    everything is no branch bottleneck."""
    frame = _group_references(stats_frame.merge(refs, on=_PAIR, how="inner"), references)
    frame = frame.astype({k: object for k in keys})  # an all-empty column reads as float
    if tellers is None:
        pace = _pace(frame, keys).reset_index().astype({k: object for k in keys})
        frame = frame.merge(pace, on=keys, how="left")
    else:
        weighted = tellers.assign(
            weight=tellers["count"] * np.maximum(tellers["pace"], 1.0)
        ).groupby([*keys, *_PAIR], dropna=False)[["weight", "count"]].sum()
        pace = (weighted["weight"] / weighted["count"]).rename("pace").reset_index()
        pace = pace.astype({k: object for k in [*keys, *_PAIR]})
        frame = frame.merge(pace, on=[*keys, *_PAIR], how="left")
    frame["pace"] = frame["pace"].fillna(1.0)
    frame["ratio"] = frame["median_seconds"] / frame["reference_seconds"]
    named = frame[keys[0]].notna()
    frame["eligible"] = (named & (frame["count"] >= min_cases)
                         & frame["reference_seconds"].notna())
    expected = np.maximum(frame["pace"], 1.0) * frame["bank_median_seconds"]
    frame["material"] = (
        frame["eligible"]
        & (frame["median_seconds"] >= ratio * frame["reference_seconds"])
        & (frame["median_seconds"] >= ratio * expected)
    )
    return frame.reset_index(drop=True)


def _branch_frame(data: StepData, teller_stats: pd.DataFrame, tellers: pd.DataFrame,
                  refs: pd.DataFrame, references: _References, ratio: float,
                  min_cases: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The branch level without an exact median for every branch x type x step.

    A branch's steps are the union of its tellers' (teller groups are teller x branch, the
    steps without a teller one group of their own), so its step count and reference sums are
    theirs, and its median is at most the largest of theirs (a median of a union never
    exceeds the largest median of its parts). Only a branch group whose largest teller median
    passes the material rule (its candidates, returned too) can be material; those and the
    branch groups of material tellers (whose branch median a finding reports) get their exact
    statistics, in one query over their steps. The others keep NaN statistics: not material.

    The steps of the pairs to test (those of material tellers and of candidates, which hold
    every group that needs exact statistics) are kept from here on (:meth:`StepData.keep_pairs`):
    the exact statistics and the tests read them, not the whole store again.
    """
    keys = ["branch_id", *_PAIR]
    sums = {"count": ("count", "sum"), "upper": ("median_seconds", "max")}
    if "ref_steps" in teller_stats:
        sums.update(ref_steps=("ref_steps", "sum"), ref_total=("ref_total", "sum"),
                    ref_min=("ref_min", "min"), ref_max=("ref_max", "max"))
    outline = teller_stats.groupby(keys, dropna=False, sort=False).agg(**sums).reset_index()
    if "ref_steps" in outline:
        outline["sop_key"] = np.nan
    # the material rule on the upper bound (slack for the reference summed in another order)
    bound = _level_frame(outline.assign(median_seconds=outline["upper"]), refs, references,
                         ["branch_id"], ratio * (1 - 1e-9), min_cases, tellers=tellers)
    candidates = bound.loc[bound["material"], keys]
    data.keep_pairs(_tested_pairs(tellers, candidates), _KEPT_COLUMNS)
    needed = pd.concat([candidates, tellers.loc[tellers["material"], keys].dropna()])
    needed = needed.astype(object).drop_duplicates()
    exact = (data.level_statistics(("branch",), with_share=False, within=needed,
                                   brief=True)["branch"]
             if len(needed) else teller_stats.drop(columns=["teller_id"]).iloc[:0])
    stats = outline.drop(columns=["upper"]).merge(exact, on=keys, how="left",
                                                  suffixes=("_sum", ""))
    stats["count"] = stats.pop("count_sum")
    for column in ("ref_steps", "ref_total", "ref_min", "ref_max"):
        if column in exact:  # exact where computed, the tellers' sums elsewhere
            stats[column] = stats[column].fillna(stats.pop(column + "_sum"))
    stats = stats.astype({"branch_id": object}).sort_values(keys).reset_index(drop=True)
    branches = _level_frame(stats, refs, references, ["branch_id"], ratio, min_cases,
                            tellers=tellers)
    return branches, candidates


def _tested_pairs(tellers: pd.DataFrame, candidates: pd.DataFrame) -> list[tuple[str, str]]:
    """The (business type, step) pairs to test: those of material tellers and of candidate
    branches."""
    tested = pd.concat([tellers.loc[tellers["material"], _PAIR], candidates[_PAIR]])
    return sorted({(str(a), str(b)) for a, b in tested.itertuples(index=False)})


def _test_pairs(data: StepData, pairs: list[tuple[str, str]],
                levels: Sequence[tuple[str, pd.DataFrame, list[str], bool]]) -> None:
    """Add ``p_value`` (Mann-Whitney, one-sided), ``cases`` and ``time_lost`` to each level's
    frame: p-values for every eligible group of the given pairs (1.0 for the others), cases and
    time lost for the material ones (for every tested one with the level's ``all_costs``).
    ``levels``: (name, frame, level keys, all_costs)."""
    for _, frame, _, _ in levels:
        frame["p_value"] = 1.0
        frame["cases"] = 0
        frame["time_lost"] = 0.0
    if not pairs:
        return
    pair_of = {p: k for k, p in enumerate(pairs)}
    chosen: dict[str, pd.DataFrame] = {}
    for name, frame, _keys, _ in levels:
        pair = pd.Series([pair_of.get(p, -1) for p in zip(frame["business_type"],
                                                          frame["activity"], strict=True)],
                         index=frame.index)
        rows = frame[frame["eligible"] & (pair >= 0)].copy()
        rows["pair"] = pair[rows.index]
        rows["code"] = np.arange(len(rows))
        chosen[name] = rows
    table = data.service_values(
        pairs, ordered=True,
        groups={name: chosen[name][[*_PAIR, *keys, "code"]] for name, _, keys, _ in levels},
    )
    pair_col = table.column("pair").to_numpy()
    values = table.column("service_seconds").to_numpy()
    case_key = table.column("case_key").to_numpy()
    # each step's reference in force (NaN where none: the pair's baseline share applies)
    step_ref = (table.column("ref_seconds").to_numpy(zero_copy_only=False).astype(float)
                if "ref_seconds" in table.column_names else None)
    bounds = np.searchsorted(pair_col, np.arange(len(pairs) + 1))
    for name, frame, _, all_costs in levels:
        rows = chosen[name]
        codes_all = table.column(name).to_numpy()
        p_values = np.ones(len(rows))
        cases = np.zeros(len(rows), dtype=np.int64)
        lost = np.zeros(len(rows))
        for k, part in rows.groupby("pair"):
            lo, hi = int(bounds[int(str(k))]), int(bounds[int(str(k)) + 1])
            if hi <= lo:
                continue
            local = np.full(len(rows) + 1, -1, dtype=np.int64)  # global code -> 0..m-1
            global_codes = part["code"].to_numpy()
            local[global_codes] = np.arange(len(part))
            codes = local[codes_all[lo:hi]]  # -1 (no group) maps to local[-1] == -1
            _, p = mann_whitney_greater(values[lo:hi], codes, len(part))
            p_values[global_codes] = p
            costed = np.ones(len(part), dtype=bool) if all_costs else part["material"].to_numpy()
            for g in np.flatnonzero(costed):
                mine = codes == g
                case_keys, inverse = np.unique(case_key[lo:hi][mine], return_inverse=True)
                per_case = np.bincount(inverse, weights=values[lo:hi][mine])
                share = float(part["share_reference"].iloc[g])
                if step_ref is None:
                    case_ref = np.full(case_keys.size, share)
                else:  # the reference in force on the case's date (on its step's, if it differs)
                    mine_ref = step_ref[lo:hi][mine]
                    mine_ref = np.where(np.isnan(mine_ref), share, mine_ref)
                    case_ref = np.full(case_keys.size, np.nan)
                    np.fmax.at(case_ref, inverse, mine_ref)
                cases[global_codes[g]] = case_keys.size
                # a case with no reference in force (no SOP row, no standard time) loses none
                lost[global_codes[g]] = float(np.nansum(np.maximum(per_case - case_ref, 0.0)))
        frame.loc[rows.index, "p_value"] = p_values
        frame.loc[rows.index, "cases"] = cases
        frame.loc[rows.index, "time_lost"] = lost


def find_bottlenecks(
    store: EventStore,
    baseline: Baseline,
    *,
    ratio: float = 1.5,
    min_cases: int = 30,
    q: float = 0.05,
    month: str | None = None,
    step_references: StepReferences | None = None,
    evidence: bool = False,
    engine: Engine | None = None,
    progress: Progress | None = None,
) -> list[Finding]:
    """The slow steps of tellers and branches, most time lost first (see the module docs).

    ``month`` (``YYYY-MM``) restricts the analysis to one calendar month. ``step_references``
    gives the SOPs' step standards: a sequence of :class:`StepReference` (each step occurrence
    is judged against the row in force on its date, in its branch; the baseline share where
    none is), or a mapping (business type, step) -> seconds that holds on every date and
    names no SOP. With ``evidence`` each finding carries
    :func:`explain_findings`'s evidence. ``engine`` runs the queries on a query engine
    (:mod:`procmine.store.engine`, e.g. Spark); by default on a DuckDB connection of their own.
    ``progress`` is called with (phase, fraction done) as the work goes on: phase "analyse",
    then with ``evidence`` "evidence", each from 0.0 to 1.0.

    Example:
        >>> found = find_bottlenecks(store, baseline, month="2026-10")  # doctest: +SKIP
        >>> [f.scope for f in found][:2]                                 # doctest: +SKIP
        ['branch', 'teller']
    """
    if not ratio > 0:
        raise ProcmineError(f"ratio is {ratio}; expected a positive number such as 1.5")
    if min_cases < 1:
        raise ProcmineError(f"min cases is {min_cases}; expected at least 1")
    if not 0 < q <= 1:
        raise ProcmineError(f"q is {q}; expected a false-discovery rate between 0 and 1")
    filters = _filters(month)
    references = _reference_rows(step_references)
    report = progress or (lambda phase, fraction: None)
    report("analyse", 0.0)
    # the fractions are each phase's share of the time on a large log (bench/bench_mining.py)
    with StepData(store, baseline, filters, engine=engine) as data:
        bank = data.statistics("bank", with_share=True)
        report("analyse", 0.4)
        refs = _share_references(bank, baseline)
        if refs["share_reference"].isna().all() and references.table is None:
            report("analyse", 1.0)
            return []  # no business types the baseline knows, no SOP references
        data.set_references(references.table)
        teller_stats = data.statistics("teller", with_share=False, brief=True)
        report("analyse", 0.7)
        tellers = _level_frame(teller_stats, refs, references, ["teller_id", "branch_id"],
                               ratio, min_cases)
        branches, candidates = _branch_frame(data, teller_stats, tellers, refs, references,
                                             ratio, min_cases)
        report("analyse", 0.85)
        pairs = _tested_pairs(tellers, candidates)
        _test_pairs(data, pairs, (("teller", tellers, ["teller_id", "branch_id"], False),
                                  ("branch", branches, ["branch_id"], True)))
        months = _months(bank)
    # A candidate branch that is not material after all was tested with its pair; only the
    # pairs of material groups count as tested (the others enter the correction with p = 1).
    material = {(str(a), str(b)) for frame in (tellers, branches)
                for a, b in frame.loc[frame["material"], _PAIR].itertuples(index=False)}
    for frame in (tellers, branches):
        untested = ~pd.Series([(str(a), str(b)) in material for a, b in zip(
            frame["business_type"], frame["activity"], strict=True)], index=frame.index,
            dtype=bool)
        frame.loc[untested, "p_value"] = 1.0

    # Benjamini-Hochberg over every eligible group of both levels; a group that is not
    # material was not tested and counts with p = 1 (it cannot be a finding; this only makes
    # the q-values of the others larger, never smaller).
    eligible_p = np.concatenate([tellers.loc[tellers["eligible"], "p_value"].to_numpy(),
                                 branches.loc[branches["eligible"], "p_value"].to_numpy()])
    q_values = _bh(eligible_p)
    n_tel = int(tellers["eligible"].sum())
    tellers["q_value"] = np.nan
    branches["q_value"] = np.nan
    tellers.loc[tellers["eligible"], "q_value"] = q_values[:n_tel]
    branches.loc[branches["eligible"], "q_value"] = q_values[n_tel:]
    for frame in (tellers, branches):
        frame["flagged"] = frame["material"] & (frame["q_value"] <= q)

    findings = _assemble(tellers, branches, months)
    findings.sort(key=lambda f: (-f.time_lost_seconds, f.scope, f.branch_id or "",
                                 f.teller_id or "", f.business_type, f.activity))
    report("analyse", 1.0)
    if evidence and findings:
        explained = explain_findings(store, findings, month=month, engine=engine,
                                     progress=progress)
        findings = [replace(f, evidence=e) for f, e in zip(findings, explained, strict=True)]
    return findings


def _assemble(tellers: pd.DataFrame, branches: pd.DataFrame, months: int) -> list[Finding]:
    """Findings from the flagged groups, with the branch rule applied."""
    key_cols = ["branch_id", *_PAIR]
    flagged_tellers = tellers[tellers["flagged"]]
    flagged_branches = branches[branches["flagged"]]
    relevant = pd.concat([flagged_tellers[key_cols], flagged_branches[key_cols]])
    relevant = relevant.dropna().drop_duplicates()
    branch_rows = branches.merge(relevant, on=key_cols).set_index(key_cols)
    eligible = tellers[tellers["eligible"]].merge(relevant, on=key_cols)
    findings: list[Finding] = []
    merged: set[tuple[str, str, str]] = set()
    for index, brow in branch_rows.iterrows():
        key = tuple(str(k) for k in index) if isinstance(index, tuple) else (str(index),)
        group = eligible[(eligible["branch_id"] == key[0]) & (eligible["business_type"] == key[1])
                         & (eligible["activity"] == key[2])]
        flagged = group[group["flagged"]]
        dominated = len(flagged) == 1 and flagged["count"].iloc[0] >= 0.5 * brow["count"]
        most_tellers = len(flagged) >= 2 and 2 * len(flagged) > len(group)
        if most_tellers or (bool(brow["flagged"]) and not dominated):
            merged.add((key[0], key[1], key[2]))
            row = brow.copy()
            row["branch_id"] = key[0]
            row["business_type"] = key[1]
            row["activity"] = key[2]
            findings.append(_finding(
                "branch", None, row, months, None,
                tuple(sorted(str(t) for t in flagged["teller_id"])), len(group)))
    branch_median = {
        tuple(str(k) for k in index): float(v)
        for index, v in branch_rows["median_seconds"].items() if isinstance(index, tuple)
    }
    for _, row in flagged_tellers.iterrows():
        key = (str(row["branch_id"]), str(row["business_type"]), str(row["activity"]))
        if key in merged:
            continue
        findings.append(_finding("teller", str(row["teller_id"]), row, months,
                                 branch_median.get(key), (), 0))
    return findings


def _finding(scope: str, teller_id: str | None, row: pd.Series, months: int,
             branch_median: float | None, tellers_flagged: tuple[str, ...],
             tellers_eligible: int) -> Finding:
    reference = float(row["reference_seconds"])
    median = float(row["median_seconds"])
    time_lost = float(row["time_lost"])
    finding = Finding(
        scope=scope,
        teller_id=teller_id,
        branch_id=None if pd.isna(row["branch_id"]) else str(row["branch_id"]),
        business_type=str(row["business_type"]),
        activity=str(row["activity"]),
        cases=int(row["cases"]),
        steps=int(row["count"]),
        median_seconds=round(median, 3),
        p90_seconds=round(float(row["p90_seconds"]), 3),
        reference_seconds=round(reference, 3),
        reference_source=str(row["reference_source"]),
        ratio=round(median / reference, 3),
        pace=round(float(row["pace"]), 3),
        excess_seconds=round(median - reference, 3),
        time_lost_seconds=round(time_lost, 1),
        monthly_teller_hours=round(time_lost / 3600 / months, 2),
        months=months,
        p_value=float(row["p_value"]),
        q_value=float(row["q_value"]),
        bank_median_seconds=round(float(row["bank_median_seconds"]), 3),
        branch_median_seconds=(round(float(branch_median), 3)
                               if branch_median is not None else None),
        tellers_flagged=tellers_flagged,
        tellers_eligible=tellers_eligible,
        sop=_text(row["sop"]),
        sop_step=_text(row["sop_step"]),
        sop_version=_text(row["sop_version"]),
    )
    return replace(finding, summary=finding.summary_in("en"))


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


# -- why it is slow ------------------------------------------------------------------------------


def explain_findings(store: EventStore, findings: Sequence[Finding],
                     month: str | None = None,
                     engine: Engine | None = None,
                     progress: Progress | None = None) -> list[dict[str, Any]]:
    """The evidence for each finding, computed in one pass over the findings' business types.

    For each: ``rework`` (share of the group's cases that repeat the step, against the branch
    and the bank), ``wait_before`` (median wait before the step, e.g. for authorization),
    ``comparison`` (the group's median against its branch's and the bank's, and its pace), and
    ``by_amount_band``, ``by_hour``, ``by_window_type``, ``by_month`` (steps and median per
    value, for the group and the bank; ``by_month`` shows whether the step is getting better).
    ``engine`` and ``progress`` (phase "evidence") as in :func:`find_bottlenecks`.

    Example:
        >>> evidence = explain_findings(store, findings[:3])   # doctest: +SKIP
        >>> evidence[0]["rework"]                               # doctest: +SKIP
        {'group_rate': 0.004, 'branch_rate': 0.003, 'bank_rate': 0.003}
    """
    if not findings:
        return []
    report = progress or (lambda phase, fraction: None)
    report("evidence", 0.0)
    pairs = sorted({(f.business_type, f.activity) for f in findings})
    with StepData(store, filters=_filters(month), detail=True, pairs=pairs,
                  engine=engine) as data:
        # the case windows run once, not once per breakdown
        data.keep_pairs(pairs, ["business_type", "activity", "teller_id", "branch_id",
                                "case_id", "occurrence", "service_seconds", "wait_seconds",
                                *BREAKDOWNS])
        report("evidence", 0.6)
        overall = data.breakdown(pairs)
        parts = {}
        for i, by in enumerate(BREAKDOWNS, start=1):
            report("evidence", 0.6 + 0.4 * i / (len(BREAKDOWNS) + 1))
            parts[by] = data.breakdown(pairs, by, with_cases=False)
    explained = [_evidence(f, overall, parts) for f in findings]
    report("evidence", 1.0)
    return explained


def explain_finding(store: EventStore, finding: Finding,
                    month: str | None = None) -> dict[str, Any]:
    """The evidence for one finding (see :func:`explain_findings`)."""
    return explain_findings(store, [finding], month=month)[0]


def _pick(frame: pd.DataFrame, f: Finding, level: str) -> pd.DataFrame:
    rows = frame[(frame["business_type"] == f.business_type) & (frame["activity"] == f.activity)
                 & (frame["level"] == level)]
    if level in ("teller", "branch"):
        rows = rows[rows["branch_id"] == f.branch_id]
    if level == "teller":
        rows = rows[rows["teller_id"] == f.teller_id]
    return rows


def _num(value: Any, digits: int = 3) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    return round(float(value), digits)


def _evidence(f: Finding, overall: pd.DataFrame,
              parts: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    own_level = f.scope
    mine = _pick(overall, f, own_level)
    branch = _pick(overall, f, "branch")
    bank = _pick(overall, f, "bank")

    def first(rows: pd.DataFrame, column: str) -> Any:
        return rows[column].iloc[0] if not rows.empty else None

    def rate(rows: pd.DataFrame) -> float | None:
        if rows.empty or not rows["cases"].iloc[0]:
            return None
        return _num(rows["repeated_cases"].iloc[0] / rows["cases"].iloc[0], 4)

    evidence: dict[str, Any] = {
        "rework": {"group_rate": rate(mine), "branch_rate": rate(branch),
                   "bank_rate": rate(bank)},
        "wait_before": {
            "group_median_seconds": _num(first(mine, "median_wait_seconds")),
            "branch_median_seconds": _num(first(branch, "median_wait_seconds")),
            "bank_median_seconds": _num(first(bank, "median_wait_seconds")),
        },
        "comparison": {
            "group_median_seconds": _num(first(mine, "median_seconds")),
            "branch_median_seconds": _num(first(branch, "median_seconds")),
            "bank_median_seconds": _num(first(bank, "median_seconds")),
            "reference_seconds": f.reference_seconds,
            "pace": f.pace,
        },
    }
    if f.scope == "branch":
        tellers = overall[(overall["business_type"] == f.business_type)
                          & (overall["activity"] == f.activity) & (overall["level"] == "teller")
                          & (overall["branch_id"] == f.branch_id)]
        evidence["tellers"] = [
            {"teller_id": teller, "steps": int(steps), "median_seconds": _num(median),
             "flagged": teller in f.tellers_flagged}
            for teller, steps, median in tellers.sort_values(
                "median_seconds", ascending=False)[["teller_id", "count", "median_seconds"]]
            .itertuples(index=False)
        ]
    for by, frame in parts.items():
        mine_by = _pick(frame, f, own_level).set_index("value")
        bank_by = _pick(frame, f, "bank").set_index("value")
        rows = []
        for value in bank_by.index:
            rows.append({
                "value": int(value) if by == "hour" and str(value).isdigit() else value,
                "group_steps": int(mine_by.loc[value, "count"]) if value in mine_by.index else 0,
                "group_median_seconds": (_num(mine_by.loc[value, "median_seconds"])
                                         if value in mine_by.index else None),
                "bank_steps": int(bank_by.loc[value, "count"]),
                "bank_median_seconds": _num(bank_by.loc[value, "median_seconds"]),
            })
        key = {"amount_band": "by_amount_band", "hour": "by_hour",
               "window_type": "by_window_type", "month": "by_month"}[by]
        evidence[key] = sorted(rows, key=lambda r: _sort_key(by, r["value"]))
    return evidence


def _sort_key(by: str, value: Any) -> tuple[int, str]:
    if by == "hour":
        try:
            return (int(value), "")
        except (TypeError, ValueError):
            return (99, str(value))
    if by == "amount_band":
        return (AMOUNT_BANDS.index(value) if value in AMOUNT_BANDS else 99, str(value))
    return (0, str(value))


def finding_distribution(store: EventStore, finding: Finding, month: str | None = None,
                         sample: int = 5000) -> pd.DataFrame:
    """Service times of a finding's step for the finding's group, its branch and the bank
    (``level`` in "group", "branch", "bank"; at most ``sample`` random rows per level), for
    the drill-down's distribution chart."""
    filters = replace(_filters(month), business_types=(finding.business_type,))
    group = (f"teller_id = {_sql_text(finding.teller_id)}" if finding.scope == "teller"
             else f"branch_id = {_sql_text(finding.branch_id)}")
    with StepData(store, filters=filters, detail=True) as data:
        parts = []
        for level, where in (("group", group),
                             ("branch", f"branch_id = {_sql_text(finding.branch_id)}"),
                             ("bank", "true")):
            if level == "branch" and finding.scope == "branch":
                continue
            # The sample is drawn after filtering (a sample on ``steps`` would come first).
            parts.append(
                f"(SELECT * FROM (SELECT '{level}' AS level, service_seconds FROM steps "
                f"WHERE activity = {_sql_text(finding.activity)} AND {where} "
                f"AND service_seconds IS NOT NULL) USING SAMPLE {int(sample)} ROWS)"
            )
        return data._connection().execute(" UNION ALL ".join(parts)).df()


def _sql_text(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"
