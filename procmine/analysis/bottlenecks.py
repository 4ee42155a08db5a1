"""Slow steps: where tellers and branches lose time against the reference, and why.

A business type's standard time comes from the baseline. A step's **reference time** is its SOP
standard where one exists (``step_references``), otherwise its share of the type's standard
time: the standard split over the type's steps by their bank-wide median shares of the
transaction's dwell time, normalised so that a transaction's steps at their references add up
to the standard (the shares weighted by each step's occurrences per case sum to 1): a bank at
normal pace sits at 1.0x.

**Dated references.** SOP standards change with SOP versions, and branches may adopt a version
on dates of their own: each :class:`StepReference` holds for one business type x step from
``valid_from`` to ``valid_to`` (exclusive), for one branch or for all. Each step occurrence is
judged against the row in force on its date (a branch's row before an all-branch row), or the
baseline share where none is; a group's ``reference_seconds`` is the step-weighted mean of its
occurrences' references, and its time lost sums each case's excess over the reference in force
on that case's date.

A **finding** is a teller x type x step or a branch x type x step with at least ``min_cases``
steps whose times are

* materially slow: the 95% interval of its median (order statistics, no assumption about the
  shape of the times; :mod:`procmine.analysis.judging`) reaches ``ratio`` (1.5) times the
  reference and its lower end is above half-way to it (1.25 times), and the same against what
  the group's own pace predicts from its **peers** (``max(1, pace)`` times the median of the
  other branches' typical medians: a single slow branch or a few slow tellers cannot move it);
* statistically above the rest of the bank: a one-sided Mann-Whitney U test of the group's
  times against every other time of the same type x step (suited to skewed durations), with
  Benjamini-Hochberg false-discovery control over every eligible group of both levels
  (``q`` 0.05; both in :mod:`procmine.analysis.stats`). Groups that are not materially slow
  cannot be findings and are not tested: they enter the correction with p = 1, which can only
  make the other q-values larger.

**Pace.** A teller who is slower than the bank at everything is a matter for the monthly league
table, not thirty slow steps; and a step the whole bank is slow at is no one teller's or branch's
bottleneck (the bank-wide step statistics show it). A teller's pace is the step-weighted median,
over all its type x step groups, of its median over its peers' (1.0 = the peers' pace);
a branch's pace on a type x step is that of the tellers who did it there, weighted by their
steps. The raw ratio (median / reference) and the pace are both reported.

**Branches.** When most of a branch's tellers (more than half of those with ``min_cases`` on the
type x step, and at least two) are flagged for the same type x step, or the branch as a whole is
flagged against the other branches (unless a single flagged teller carries half or more of the
branch's steps), the branch gets one finding and its tellers' findings for that step are
dropped.

Findings are ranked by **time lost**: the sum over the group's cases of the step's time in the
case beyond the reference. ``monthly_teller_hours`` spreads it over the days the data covers
(``period_days``: first to last day, of the group's branch) / 30.4375.
:func:`~procmine.analysis.evidence.explain_findings` adds the evidence a reviewer needs: rework,
waits before the step, and the step's times by amount band, hour and window type, next to the
branch's and the bank's. The result types (:class:`~procmine.analysis.findings.Finding`,
:class:`~procmine.analysis.findings.StepReference`) are in :mod:`procmine.analysis.findings`.

Example:
    >>> from procmine.analysis.bottlenecks import find_bottlenecks
    >>> findings = find_bottlenecks(store, baseline)
    >>> print(findings[0].summary)  # doctest: +NORMALIZE_WHITESPACE
    Teller 0102 (B01), P18 Enter transaction: median 107 s vs 40 s reference (2.7x) over 121
    cases; costs 1.3 teller hours a month
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from procmine.analysis.baseline_review import (
    BASELINE_BAND,
    BASELINE_MIN_CASES,
    check_band,
    peer_references,
    review_baseline,
)
from procmine.analysis.conditional import conditional_findings, without_all_day
from procmine.analysis.context import FindingContext
from procmine.analysis.evidence import explain_findings, month_filters
from procmine.analysis.findings import Finding, StepReferences, peer_basis_fields
from procmine.analysis.judging import (
    is_material,
    median_interval,
    peer_medians,
    weighted_median,
)
from procmine.analysis.overall import overall_findings
from procmine.analysis.references import (
    References,
    group_references,
    reference_rows,
    share_references,
)
from procmine.analysis.stats import benjamini_hochberg, mann_whitney_greater
from procmine.analysis.steps import StepData
from procmine.analysis.waits import wait_findings
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.core.progress import Progress
from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    import pyarrow as pa

    from procmine.store.engine import Engine

__all__ = ["ANALYSES", "find_bottlenecks"]

#: The analyses ``find_bottlenecks(kinds=...)`` can run: the finding kinds, and "conditional"
#: (slow steps in one slice: kind "step" with a condition).
ANALYSES: Final[tuple[str, ...]] = ("step", "conditional", "wait", "overall", "baseline")

_PAIR: Final[list[str]] = ["business_type", "activity"]
#: The columns of the steps the statistics and tests of the tested pairs read.
_KEPT_COLUMNS: Final[list[str]] = ["case_id", "business_type", "activity", "teller_id",
                                   "branch_id", "started", "service_seconds",
                                   "service_is_inferred"]
#: Groups with fewer steps than this do not weigh in a pace estimate.
_PACE_MIN_STEPS: Final[int] = 5


# -- finding the slow steps ----------------------------------------------------------------------


def _pace(groups: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Each group's general pace: the step-weighted median over its type x steps of its median
    over its peers' (1.0 = the peers' pace; :func:`~procmine.analysis.judging.peer_medians`)."""
    usable = groups[(groups["count"] >= _PACE_MIN_STEPS) & (groups["peer_seconds"] > 0)
                    & groups["median_seconds"].notna()]
    usable = usable.assign(rel=usable["median_seconds"] / usable["peer_seconds"])
    return weighted_median(usable, keys, "rel", "count").rename("pace")


def _level_frame(stats_frame: pd.DataFrame, refs: pd.DataFrame, references: References,
                 keys: list[str], cut: float, min_cases: int, peers: pd.DataFrame,
                 tellers: pd.DataFrame | None = None) -> pd.DataFrame:
    """One level's groups with reference, peers, pace, ratio and whether each is eligible
    (enough steps, a named teller or branch) and a candidate (``material``: its median at least
    ``cut`` times the reference and what its pace predicts from its peers; the interval decides
    later, in :func:`_test_pairs`). A teller's pace is its own; a branch's pace
    on a type x step is that of the tellers who did the step there, weighted by their steps
    (``tellers``), so a branch whose step is slow only because its tellers are slow at
    everything is no branch bottleneck."""
    frame = group_references(stats_frame.merge(refs, on=_PAIR, how="inner"), references)
    frame = frame.astype({k: object for k in keys})  # an all-empty column reads as float
    frame = frame.merge(peers[[*_PAIR, "branch_id", "peer_seconds", "peer_branches"]],
                        on=[*_PAIR, "branch_id"], how="left")
    # a group of a branch no peer row knows (too few steps there): every branch's median
    frame["peer_seconds"] = frame["peer_seconds"].fillna(frame["bank_median_seconds"])
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
    frame["expected_seconds"] = np.maximum(frame["pace"], 1.0) * frame["peer_seconds"]
    frame["material"] = (
        frame["eligible"]
        & (frame["median_seconds"] >= cut * frame["reference_seconds"])
        & (frame["median_seconds"] >= cut * frame["expected_seconds"])
    )
    return frame.reset_index(drop=True)


def _branch_frame(data: StepData, teller_stats: pd.DataFrame, tellers: pd.DataFrame,
                  refs: pd.DataFrame, references: References, cut: float,
                  min_cases: int, peers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
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
                         ["branch_id"], cut * (1 - 1e-9), min_cases, peers, tellers=tellers)
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
    branches = _level_frame(stats, refs, references, ["branch_id"], cut, min_cases, peers,
                            tellers=tellers)
    return branches, candidates


def _tested_pairs(tellers: pd.DataFrame, candidates: pd.DataFrame) -> list[tuple[str, str]]:
    """The (business type, step) pairs to test: those of material tellers and of candidate
    branches."""
    tested = pd.concat([tellers.loc[tellers["material"], _PAIR], candidates[_PAIR]])
    return sorted({(str(a), str(b)) for a, b in tested.itertuples(index=False)})


class _TestedValues:
    """The service times of the tested pairs, sorted by pair and time, with each row's group
    code per level (:func:`_test_pairs`): what costs a group (its cases, time lost and the
    interval of its median) reads, then or later."""

    def __init__(self, table: pa.Table, n_pairs: int, chosen: dict[str, pd.DataFrame]) -> None:
        self.chosen = chosen
        self.values = table.column("service_seconds").to_numpy()
        self.case_key = table.column("case_key").to_numpy()
        self.codes = {name: table.column(name).to_numpy() for name in chosen}
        # each step's reference in force (NaN where none: the pair's baseline share applies)
        self.step_ref = (table.column("ref_seconds").to_numpy(zero_copy_only=False)
                         .astype(float) if "ref_seconds" in table.column_names else None)
        self.bounds = np.searchsorted(table.column("pair").to_numpy(), np.arange(n_pairs + 1))

    def cost(self, name: str, frame: pd.DataFrame, index: pd.Index) -> None:
        """Set ``cases``, ``time_lost`` and the interval of the median of the level's rows
        ``index`` (chosen rows: eligible, of a tested pair)."""
        rows = self.chosen[name].loc[index]
        cases = np.zeros(len(rows), dtype=np.int64)
        lost = np.zeros(len(rows))
        interval = np.full((len(rows), 2), np.nan)
        for i, (k, code, share) in enumerate(zip(rows["pair"], rows["code"],
                                                 rows["share_reference"], strict=True)):
            lo, hi = int(self.bounds[int(k)]), int(self.bounds[int(k) + 1])
            mine = np.flatnonzero(self.codes[name][lo:hi] == code) + lo
            if not mine.size:
                continue
            values = self.values[mine]
            # the pair's values are sorted: so are the group's
            interval[i] = median_interval(values)
            case_keys, inverse = np.unique(self.case_key[mine], return_inverse=True)
            per_case = np.bincount(inverse, weights=values)
            if self.step_ref is None:
                case_ref = np.full(case_keys.size, float(share))
            else:  # the reference in force on the case's date (on its step's, if it differs)
                mine_ref = self.step_ref[mine]
                mine_ref = np.where(np.isnan(mine_ref), float(share), mine_ref)
                case_ref = np.full(case_keys.size, np.nan)
                np.fmax.at(case_ref, inverse, mine_ref)
            cases[i] = case_keys.size
            # a case with no reference in force (no SOP row, no standard time) loses none
            lost[i] = float(np.nansum(np.maximum(per_case - case_ref, 0.0)))
        frame.loc[rows.index, "cases"] = cases
        frame.loc[rows.index, "time_lost"] = lost
        frame.loc[rows.index, "ci_low_seconds"] = interval[:, 0]
        frame.loc[rows.index, "ci_high_seconds"] = interval[:, 1]


def _test_pairs(data: StepData, pairs: list[tuple[str, str]],
                levels: Sequence[tuple[str, pd.DataFrame, list[str]]]) -> _TestedValues | None:
    """Add ``p_value`` (Mann-Whitney, one-sided), ``cases``, ``time_lost`` and the interval of
    the median to each level's frame: p-values for every eligible group of the given pairs
    (1.0 for the others), the rest for the material ones (0 and NaN for the others). The
    values it read are returned (None without pairs): :meth:`_TestedValues.cost` costs the
    groups a later step needs. ``levels``: (name, frame, level keys)."""
    for _, frame, _ in levels:
        frame["p_value"] = 1.0
        frame["cases"] = 0
        frame["time_lost"] = 0.0
        frame["ci_low_seconds"] = np.nan
        frame["ci_high_seconds"] = np.nan
    if not pairs:
        return None
    pair_of = {p: k for k, p in enumerate(pairs)}
    chosen: dict[str, pd.DataFrame] = {}
    for name, frame, _keys in levels:
        pair = pd.Series([pair_of.get(p, -1) for p in zip(frame["business_type"],
                                                          frame["activity"], strict=True)],
                         index=frame.index)
        rows = frame[frame["eligible"] & (pair >= 0)].copy()
        rows["pair"] = pair[rows.index]
        rows["code"] = np.arange(len(rows))
        chosen[name] = rows
    table = data.service_values(
        pairs, ordered=True,
        groups={name: chosen[name][[*_PAIR, *keys, "code"]] for name, _, keys in levels},
    )
    tested = _TestedValues(table, len(pairs), chosen)
    for name, frame, _ in levels:
        rows = chosen[name]
        codes_all = tested.codes[name]
        p_values = np.ones(len(rows))
        for k, part in rows.groupby("pair"):
            lo, hi = int(tested.bounds[int(str(k))]), int(tested.bounds[int(str(k)) + 1])
            if hi <= lo:
                continue
            local = np.full(len(rows) + 1, -1, dtype=np.int64)  # global code -> 0..m-1
            global_codes = part["code"].to_numpy()
            local[global_codes] = np.arange(len(part))
            codes = local[codes_all[lo:hi]]  # -1 (no group) maps to local[-1] == -1
            _, p = mann_whitney_greater(tested.values[lo:hi], codes, len(part))
            p_values[global_codes] = p
        frame.loc[rows.index, "p_value"] = p_values
        tested.cost(name, frame, rows.index[rows["material"].to_numpy(dtype=bool)])
    return tested


def _judge(frame: pd.DataFrame, ratio: float) -> None:
    """Keep as material only the candidates whose interval is material (:func:`is_material`)
    against both the reference and what their pace predicts from their peers."""
    low, high = frame["ci_low_seconds"], frame["ci_high_seconds"]
    against_reference = is_material((low / frame["reference_seconds"]).to_numpy(),
                                    (high / frame["reference_seconds"]).to_numpy(), ratio)
    against_peers = is_material((low / frame["expected_seconds"]).to_numpy(),
                                (high / frame["expected_seconds"]).to_numpy(), ratio)
    frame["material"] = frame["material"] & against_reference & against_peers


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
    baseline_band: tuple[float, float] = BASELINE_BAND,
    baseline_min_cases: int = BASELINE_MIN_CASES,
    kinds: Collection[str] | None = None,
) -> list[Finding]:
    """The slow steps of tellers and branches, most time lost first (see the module docs).

    ``month`` (``YYYY-MM``) restricts the analysis to one calendar month. ``step_references``
    gives the SOPs' step standards: a sequence of :class:`StepReference` (each step occurrence
    is judged against the row in force on its date, in its branch; the baseline share where
    none is), or a mapping (business type, step) -> seconds that holds on every date and
    names no SOP. With ``evidence`` each finding carries :func:`explain_findings`'s evidence.
    ``engine`` runs the queries on a query engine (e.g. Spark; DuckDB by default).
    ``progress`` is called with (phase, fraction done): "analyse", then with ``evidence``
    "evidence", each from 0.0 to 1.0. A business type with ``baseline_min_cases``
    transactions or more whose bank median runs outside ``baseline_band`` (low, high) times
    its standard gets a baseline finding, and its steps are judged against the peers instead
    (:mod:`~procmine.analysis.baseline_review`). ``kinds`` chooses the analyses to run
    (:data:`ANALYSES`; all by default), e.g. ``("step",)`` for the slow steps alone.

    Example:
        >>> found = find_bottlenecks(store, baseline, month="2026-10")
        >>> [(f.scope, f.teller_id, f.activity) for f in found[:2]]
        [('teller', '0102', 'Enter transaction'), ('teller', '0406', 'Enter transaction')]
    """
    _check_arguments(ratio, min_cases, q)
    check_band(baseline_band, baseline_min_cases)
    run = _chosen(kinds)
    filters = month_filters(month)
    references = reference_rows(step_references)
    report = progress or (lambda phase, fraction: None)
    report("analyse", 0.0)
    # the fractions are each phase's share of the time on a large log (bench/bench_mining.py)
    with StepData(store, baseline, filters, engine=engine) as data:
        bank = data.statistics("bank", with_share=True)
        report("analyse", 0.4)
        refs = share_references(bank, baseline)
        if refs["share_reference"].isna().all() and references.table is None:
            report("analyse", 1.0)
            return []  # no business types the baseline knows, no SOP references
        days = data.covered_days()
        data.set_references(references.table)
        teller_stats = data.statistics("teller", with_share=False, brief=True)
        context = FindingContext(ratio, min_cases, q, refs, teller_stats,
                                 peer_medians(teller_stats), days, data.inferred)
        extra: list[Finding] = []
        if "baseline" in run:  # a type the whole bank runs far from is judged against peers
            reviews, reviewed = review_baseline(data, context, baseline, band=baseline_band,
                                                min_cases=baseline_min_cases)
            extra += reviews
            context = peer_references(context, reviewed)
        report("analyse", 0.7)
        conditional = (conditional_findings(data, context)  # before keep_pairs narrows steps
                       if "conditional" in run else [])
        findings = _step_findings(data, context, references) if "step" in run else []
        extra += without_all_day(conditional, findings)
        report("analyse", 0.9)
    if "overall" in run:  # overall pace of tellers and branches
        extra += overall_findings(context)
    if "wait" in run:  # waits before steps
        extra += wait_findings(store, baseline, filters, context, engine)

    findings += extra
    findings.sort(key=lambda f: (-f.time_lost_seconds, f.kind, f.scope, f.branch_id or "",
                                 f.teller_id or "", f.business_type, f.activity))
    report("analyse", 1.0)
    if evidence:
        findings = _explained(store, findings, month, engine, progress)
    return findings


def _explained(store: EventStore, findings: list[Finding], month: str | None,
               engine: Engine | None, progress: Progress | None) -> list[Finding]:
    """The findings with the evidence of their step (:func:`explain_findings`); overall and
    baseline findings (no one step) keep the evidence of their own."""
    stepped = [f for f in findings if f.activity]
    if not stepped:
        return findings
    explained = iter(explain_findings(store, stepped, month=month, engine=engine,
                                      progress=progress))
    return [replace(f, evidence=next(explained)) if f.activity else f for f in findings]


def _chosen(kinds: Collection[str] | None) -> frozenset[str]:
    """The analyses to run (:data:`ANALYSES`, all by default); a clear error for another."""
    if kinds is None:
        return frozenset(ANALYSES)
    unknown = sorted(set(kinds) - set(ANALYSES))
    if unknown or not kinds:
        raise ProcmineError(f"kinds {', '.join(unknown) or '(none)'}: expected one or more of "
                            f"{', '.join(ANALYSES)}")
    return frozenset(kinds)


def _step_findings(data: StepData, context: FindingContext,
                   references: References) -> list[Finding]:
    """The slow steps of tellers and branches (kind "step", no condition): candidates by
    their point medians, then the tests, the intervals and the false-discovery control."""
    cut, min_cases, peers = context.cut, context.min_cases, context.peers
    tellers = _level_frame(context.teller_stats, context.refs, references,
                           ["teller_id", "branch_id"], cut, min_cases, peers)
    branches, candidates = _branch_frame(data, context.teller_stats, tellers, context.refs,
                                         references, cut, min_cases, peers)
    pairs = _tested_pairs(tellers, candidates)
    tested = _test_pairs(data, pairs, (("teller", tellers, ["teller_id", "branch_id"]),
                                       ("branch", branches, ["branch_id"])))
    for frame in (tellers, branches):
        _judge(frame, context.ratio)
    _flag(tellers, branches, context.q)
    if tested is not None:  # a branch most of whose tellers are flagged: its costs too
        _cost_branches(tested, tellers, branches)
    return _assemble(tellers, branches, context)


def _cost_branches(tested: _TestedValues, tellers: pd.DataFrame,
                   branches: pd.DataFrame) -> None:
    """Cost the branch groups the branch rule may turn into a finding (:func:`_assemble`):
    those of flagged tellers, where :func:`_test_pairs` did not (they were not material)."""
    keys = ["branch_id", *_PAIR]
    wanted = tellers.loc[tellers["flagged"], keys].dropna().drop_duplicates()
    chosen = tested.chosen["branch"]
    rows = chosen.rename_axis("row").reset_index().merge(wanted, on=keys).set_index("row")
    rows = rows[~rows["material"].to_numpy(dtype=bool)]
    if len(rows):
        tested.cost("branch", branches, rows.index)


def _check_arguments(ratio: float, min_cases: int, q: float) -> None:
    """A :class:`ProcmineError` for a ratio, minimum or false-discovery rate out of range."""
    if not ratio > 0:
        raise ProcmineError(f"ratio is {ratio}; expected a positive number such as 1.5")
    if min_cases < 1:
        raise ProcmineError(f"min cases is {min_cases}; expected at least 1")
    if not 0 < q <= 1:
        raise ProcmineError(f"q is {q}; expected a false-discovery rate between 0 and 1")


def _flag(tellers: pd.DataFrame, branches: pd.DataFrame, q: float) -> None:
    """Add ``q_value`` and ``flagged`` (material and ``q_value <= q``) to both levels' frames."""
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
    q_values = benjamini_hochberg(eligible_p)
    n_tel = int(tellers["eligible"].sum())
    tellers["q_value"] = np.nan
    branches["q_value"] = np.nan
    tellers.loc[tellers["eligible"], "q_value"] = q_values[:n_tel]
    branches.loc[branches["eligible"], "q_value"] = q_values[n_tel:]
    for frame in (tellers, branches):
        frame["flagged"] = frame["material"] & (frame["q_value"] <= q)


def _assemble(tellers: pd.DataFrame, branches: pd.DataFrame,
              context: FindingContext) -> list[Finding]:
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
                "branch", None, row, context, None,
                tuple(sorted(str(t) for t in flagged["teller_id"])), len(group)))
    branch_median = {
        tuple(str(k) for k in index): float(v)
        for index, v in branch_rows["median_seconds"].items() if isinstance(index, tuple)
    }
    for _, row in flagged_tellers.iterrows():
        key = (str(row["branch_id"]), str(row["business_type"]), str(row["activity"]))
        if key in merged:
            continue
        findings.append(_finding("teller", str(row["teller_id"]), row, context,
                                 branch_median.get(key), (), 0))
    return findings


def _finding(scope: str, teller_id: str | None, row: pd.Series, context: FindingContext,
             branch_median: float | None, tellers_flagged: tuple[str, ...],
             tellers_eligible: int) -> Finding:
    peers = int(row["peer_branches"]) if pd.notna(row["peer_branches"]) else 0
    return context.finding(
        row, scope=scope, teller_id=teller_id, reference_source=str(row["reference_source"]),
        pace=round(float(row["pace"]), 3),
        branch_median_seconds=(round(float(branch_median), 3)
                               if branch_median is not None else None),
        tellers_flagged=tellers_flagged, tellers_eligible=tellers_eligible,
        sop=_text(row["sop"]), sop_step=_text(row["sop_step"]),
        sop_version=_text(row["sop_version"]),
        **peer_basis_fields("branches" if peers else "bank", peers))


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)

