"""Conditional slow steps: a teller slow at a step only in one slice of the day or the work.

A teller can be at standard over the whole day and 2.5 times slower after 15:00, or only on
large amounts: over the day the step sits at 1.1-1.2x and no all-day finding is made. This
module runs the slow-step test (:mod:`procmine.analysis.bottlenecks`) over **slices** a manager
can act on, one dimension at a time (:data:`~procmine.analysis.findings.CONDITION_DIMENSIONS`):

* ``hour_band``: the step's start hour in :data:`~procmine.analysis.findings.HOUR_BANDS`
  (opening before 10:00, midday 10-13, afternoon 13-15, closing from 15:00);
* ``amount_band``: the step's :data:`~procmine.core.amounts.AMOUNT_BANDS` (the view's
  ``amount_band`` cuts);
* ``window_type``: the window the step was served at ("unknown" where the log has none);
* ``weekday``: :data:`~procmine.analysis.findings.WEEKDAYS` of its start (ISO).

A teller x type x step x slice with at least ``min_cases`` steps in the slice (and not every
step of the group: that slice is the whole day, the step kind's) is a finding (kind "step",
scope "teller", ``condition`` ``{"dimension", "value"}``) when, as for the step kind,

* it is **materially slow** by the 95% interval of its median in the slice (the order
  statistics of :func:`~procmine.analysis.judging.median_interval`;
  :func:`~procmine.analysis.judging.is_material`) against both the **reference** (the
  step-weighted mean, over its steps in the slice, of the SOP reference in force on each step's
  date, or the type's normalised baseline share where none is: ``reference_source`` says
  "sop", "baseline share" or "mixed"; "peers" on a type under baseline review) and what
  **peers do in the same slice** times ``max(1, pace)``: the median of the other branches'
  typical medians in that slice (:func:`~procmine.analysis.judging.peer_medians` over the
  slice's teller statistics: large amounts or the closing hour may be slower for everyone),
  ``pace`` the teller's general pace over all its steps (as the step kind's);
* **statistically above** the other steps of the same type x step in the same slice (one-sided
  Mann-Whitney, :func:`~procmine.analysis.stats.mann_whitney_greater`), with Benjamini-Hochberg
  control at ``q`` over every eligible slice hypothesis of every dimension together (those not
  materially slow are not tested and count with p = 1);
* and, since a finding that holds **all day** is not repeated per slice, it is materially
  slower than the **rest of its own day** predicts (the same interval rule against the group's
  median outside the slice times the peers' slice over their whole day: large amounts take the
  peers longer too) and the interval's lower end is at or above the group's whole-day median.
  A teller or branch slow at the step all day whose all-day finding the pace, a wrong standard
  or the tests held back is thus no finding in a slice that chance, or the slice's own weight
  for everyone, put a little higher. After the step kind has run,
  :func:`without_all_day` also drops the slices of a group with an all-day finding (the
  teller's own, or its branch's, on the same type x step).

**Branches.** Where most of a branch's tellers are flagged in the same slice of the same type
x step (at least two, more than half of its tellers eligible there), one finding of scope
"branch" replaces theirs, as the step kind's branch rule: its figures over all the branch's
steps in the slice, its own one-sided test against the other steps of the slice, the largest
q-value of its flagged tellers (each under the false-discovery control), ``tellers_flagged``
and ``tellers_eligible``. A branch slow after 15:00 is one finding, not one per teller.

**Adjacent slices.** Where several slices of one ordered dimension (hour bands, the amount
bands in their order, weekdays) fire for a group next to each other, only the one with the most
time lost stays (a run of afternoon and closing is reported once); window types, "no amount"
and slices that are not neighbours stand alone.

**Time lost** is the group's excess within the slice: the sum over its cases of the step's time
in the slice beyond the reference in force; costed per month over its branch's period.

**Cost.** One pass over the steps counts, per teller x type x step and slice of every dimension
(integer codes), the steps and how many reach each cut: a slice whose interval can be material
needs ``n - j + 1`` steps at or above 1.25 times the group's smallest reference and at or above
its whole-day median, and ``j`` at or above 1.5 times that reference (``j`` the interval's
rank). Only the type x steps of those *candidates* are read again, once, sorted by time, for the
exact medians, peers, tests and costs.

Example:
    >>> from procmine.analysis.bottlenecks import find_bottlenecks
    >>> [f for f in find_bottlenecks(store, baseline) if f.condition is not None]
    []
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa

from procmine.analysis.context import FindingContext
from procmine.analysis.findings import (
    CONDITION_DIMENSIONS,
    HOUR_BANDS,
    WEEKDAYS,
    Finding,
    peer_basis_fields,
)
from procmine.analysis.judging import is_material, weighted_median
from procmine.analysis.slice_figures import (
    add_tests_and_costs,
    figures,
    interval_rank,
    peers_in_slices,
)
from procmine.analysis.stats import benjamini_hochberg
from procmine.analysis.steps import StepData
from procmine.core.amounts import AMOUNT_BANDS, BOOKING_AMOUNT, LARGE_AMOUNT, SELF_SERVICE_LIMIT
from procmine.core.sql import lit

__all__ = ["conditional_findings", "without_all_day"]

_PAIR: Final[list[str]] = ["business_type", "activity"]
_GROUP: Final[list[str]] = ["teller_id", "branch_id", *_PAIR]
#: Groups with fewer steps than this do not weigh in a pace or a branch's typical median.
_PACE_MIN_STEPS: Final[int] = 5

# Each dimension as an integer code of the step view (cheap to group by): hour bands by their
# index in HOUR_BANDS, amount bands by theirs in AMOUNT_BANDS (the view's amount_band cuts), ISO
# weekdays, window types by a hash of their text ("unknown" for none); -1: no hour.
_CODES: Final[dict[str, str]] = {
    "hour_band": "CASE WHEN hour IS NULL THEN -1 "
                 + " ".join(f"WHEN hour < {after} THEN {i}"
                            for i, (_, _, after) in enumerate(HOUR_BANDS[:-1]))
                 + f" ELSE {len(HOUR_BANDS) - 1} END",
    "amount_band": f"""CASE WHEN amount IS NULL THEN 4
                            WHEN amount < {SELF_SERVICE_LIMIT:g} THEN 0
                            WHEN amount < {LARGE_AMOUNT:g} THEN 1
                            WHEN amount < {BOOKING_AMOUNT:g} THEN 2 ELSE 3 END""",
    "window_type": f"hash(coalesce(CAST(window_type AS VARCHAR), {lit('unknown')}))",
    "weekday": "coalesce(CAST(weekday AS INTEGER), -1)",
}
#: The slices of an ordered dimension that are neighbours (their codes differ by one).
_ORDERED: Final[dict[str, tuple[str, ...]]] = {
    "hour_band": tuple(name for name, _, _ in HOUR_BANDS),
    "amount_band": AMOUNT_BANDS[:4],
    "weekday": WEEKDAYS,
}

# Per teller x type x step (``gid``, a row of ``cond_groups``) and a slice of every dimension at
# once: the steps, and how many reach the group's two cuts (of its smallest reference).
_COUNT_SQL = """
    WITH s AS (
        SELECT g.gid, g.low_seconds, g.high_seconds, g.day_seconds, s.service_seconds, {codes}
        FROM steps s JOIN cond_groups g
          ON s.teller_id = g.teller_id AND s.branch_id = g.branch_id
         AND s.business_type = g.business_type AND s.activity = g.activity
        WHERE s.service_seconds IS NOT NULL
    )
    SELECT gid, {names}, count(*) AS n,
           count(*) FILTER (WHERE service_seconds >= low_seconds) AS n_low,
           count(*) FILTER (WHERE service_seconds >= high_seconds) AS n_high,
           count(*) FILTER (WHERE service_seconds >= day_seconds) AS n_day
    FROM s
    GROUP BY gid, {names}
"""

# The steps of the pairs with a candidate slice that are in a candidate slice or of a candidate
# group, once: group (-1: none with statistics), case key, time, reference in force and slice
# codes; by pair and time.
_ROWS_SQL = """
    WITH s AS (
        SELECT p.pair, coalesce(g.gid, -1) AS gid, coalesce(g.keep, false) AS keep_group,
               s.case_id, s.service_seconds, {ref} AS ref_seconds, {codes}
        FROM {source} s
        JOIN cond_pairs p ON p.business_type = s.business_type AND p.activity = s.activity
        LEFT JOIN cond_all_groups g
               ON s.teller_id IS NOT DISTINCT FROM g.teller_id
              AND s.branch_id IS NOT DISTINCT FROM g.branch_id
              AND s.business_type = g.business_type AND s.activity = g.activity
        WHERE s.service_seconds IS NOT NULL
    )
    SELECT s.pair, s.gid, hash(s.case_id) AS case_key, s.service_seconds, s.ref_seconds,
           {names}
    FROM s {joins}
    WHERE s.keep_group OR {kept}
    ORDER BY s.pair, s.service_seconds
"""

_KEEP_JOIN = """
    LEFT JOIN cond_keep_{d} k_{d}
           ON k_{d}.pair = s.pair AND k_{d}.code = CAST(s.code_{d} AS VARCHAR)"""


def conditional_findings(data: StepData, context: FindingContext) -> list[Finding]:
    """The conditional slow steps of tellers and branches (see the module docs), the strongest
    slice per run of adjacent slices; :func:`without_all_day` then drops those that hold all
    day.

    ``data``: the whole steps (call it before the step kind narrows them); ``context``: the
    analysis' shared inputs.

    Example:
        >>> from procmine.analysis.context import FindingContext
        >>> from procmine.analysis.steps import StepData
        >>> with StepData(store, baseline) as data:
        ...     conditional_findings(data, FindingContext.empty())
        []
    """
    if context.teller_stats.empty or context.refs.empty:
        return []
    groups = _group_frame(context)
    if not groups["eligible"].any():
        return []
    eligible, candidates = _slice_counts(data, groups, context)
    if candidates.empty:
        return []
    slices = candidates[[*_PAIR, "dimension", "code"]].drop_duplicates().reset_index(drop=True)
    slices["slice"] = np.arange(len(slices))
    slices["value"] = _values_of(data, slices)
    candidates = candidates.merge(slices, on=[*_PAIR, "dimension", "code"])
    values, rows = _slice_values(data, slices, groups, candidates["gid"].tolist())
    candidates["outside_seconds"] = _outside_medians(rows, candidates)
    judged = _judge(values, candidates, groups, context)
    tested = judged["material"].to_numpy()
    # Benjamini-Hochberg over every eligible slice hypothesis of every dimension; those not
    # materially slow were not tested and count with p = 1
    untested = max(eligible - int(tested.sum()), 0)
    q_values = benjamini_hochberg(np.concatenate([judged.loc[tested, "p_value"].to_numpy(),
                                                  np.ones(untested)]))
    judged["q_value"] = np.nan
    judged.loc[tested, "q_value"] = q_values[:int(tested.sum())]
    flagged = judged[judged["material"] & (judged["q_value"] <= context.q)]
    flagged = _merge_branches(values, flagged.reset_index(drop=True), groups, context)
    return _strongest([_finding(row, context) for _, row in flagged.iterrows()])


def without_all_day(conditional: Sequence[Finding], findings: Sequence[Finding]) -> list[Finding]:
    """``conditional`` without the findings whose group already has an all-day step finding
    in ``findings``: the teller's own on the same type x step, or its branch's (a finding that
    holds all day is not repeated per slice).

    Example:
        >>> without_all_day([], [])
        []
    """
    all_day = {(f.scope, f.teller_id if f.scope == "teller" else f.branch_id, f.business_type,
                f.activity) for f in findings if f.kind == "step" and f.condition is None}
    return [f for f in conditional
            if ("teller", f.teller_id, f.business_type, f.activity) not in all_day
            and ("branch", f.branch_id, f.business_type, f.activity) not in all_day]


# -- the groups, their references and paces ------------------------------------------------------


def _group_frame(context: FindingContext) -> pd.DataFrame:
    """Every teller x branch x type x step of the statistics (``gid``: its row): its pace, share
    reference, the smallest reference its steps can have (an SOP row in force or the share) and
    whether it can be ``eligible`` (a named teller and branch, a reference)."""
    stats = context.teller_stats.merge(context.refs, on=_PAIR, how="inner")
    stats = stats.merge(context.peers[[*_PAIR, "branch_id", "peer_seconds"]],
                        on=[*_PAIR, "branch_id"], how="left")
    stats["peer_seconds"] = stats["peer_seconds"].fillna(stats["bank_median_seconds"])
    usable = stats[(stats["count"] >= _PACE_MIN_STEPS) & (stats["peer_seconds"] > 0)
                   & stats["median_seconds"].notna()]
    usable = usable.assign(rel=usable["median_seconds"] / usable["peer_seconds"])
    keys = ["teller_id", "branch_id"]
    pace = weighted_median(usable, keys, "rel", "count").rename("pace").reset_index()
    stats = stats.merge(pace.astype({k: object for k in keys}), on=keys, how="left")
    stats["pace"] = stats["pace"].fillna(1.0)
    share = stats["share_reference"].astype(float)
    smallest = share.to_numpy()
    has_ref = share.notna()
    if "ref_min" in stats:
        smallest = np.fmin(smallest, stats["ref_min"].astype(float).to_numpy())
        has_ref = has_ref | (stats["ref_steps"].fillna(0) > 0)
    stats["smallest_reference"] = smallest
    stats["eligible"] = stats["teller_id"].notna() & stats["branch_id"].notna() & has_ref
    stats = stats.astype({k: object for k in _GROUP})
    return stats.assign(gid=np.arange(len(stats)))


def _group_table(groups: pd.DataFrame, extra: Sequence[str] = ()) -> pa.Table:
    """Groups as the engine joins them: ``gid``, the text keys and ``extra`` number columns."""
    return pa.table({
        "gid": pa.array(groups["gid"], pa.int64()),
        **{k: pa.array(groups[k].where(groups[k].notna(), None), pa.string()) for k in _GROUP},
        **{c: pa.array(groups[c], pa.float64()) for c in extra},
    })


def _slice_counts(data: StepData, groups: pd.DataFrame,
                  context: FindingContext) -> tuple[int, pd.DataFrame]:
    """How many group x slices of every dimension are eligible (``min_cases`` steps, and not
    every step of the group), and the candidates among them: those whose interval can be
    material against the smallest reference and above the group's whole-day median (enough
    steps at or above each cut, see the module docs), with ``gid``, ``dimension``, ``code``
    and ``n``."""
    floor = 1 + (context.ratio - 1) / 2
    slack = 1 - 1e-9  # the cuts are compared as ratios later: no step lost to rounding
    # a slice of min_cases steps that is not the whole day needs a group of more steps
    eligible = groups[groups["eligible"] & (groups["count"] > context.min_cases)].assign(
        low_seconds=lambda g: g["smallest_reference"] * floor * slack,
        high_seconds=lambda g: g["smallest_reference"] * context.ratio * slack,
        day_seconds=lambda g: g["median_seconds"] * slack)
    names = ", ".join(f"code_{d}" for d in CONDITION_DIMENSIONS)
    codes = ", ".join(f"{_CODES[d]} AS code_{d}" for d in CONDITION_DIMENSIONS)
    fine = data.query(_COUNT_SQL.format(codes=codes, names=names), {
        "cond_groups": _group_table(eligible, ("low_seconds", "high_seconds", "day_seconds"))})
    day_count = groups["count"].to_numpy()
    total, parts = 0, []
    for dimension in CONDITION_DIMENSIONS:
        rolled = (fine.groupby(["gid", f"code_{dimension}"], sort=False)
                  [["n", "n_low", "n_high", "n_day"]].sum().reset_index()
                  .rename(columns={f"code_{dimension}": "code"}))
        if dimension != "window_type":
            rolled = rolled[rolled["code"] != -1]  # no hour or weekday: no slice
        n = rolled["n"].to_numpy()
        # a slice that holds every step of its group is the whole day: the step kind's to judge
        ok = (n >= context.min_cases) & (n < day_count[rolled["gid"].to_numpy()])
        total += int(ok.sum())
        j = interval_rank(n)
        ok &= ((rolled["n_low"] >= n - j + 1) & (rolled["n_high"] >= j)
               & (rolled["n_day"] >= n - j + 1)).to_numpy()
        # codes as objects: one dimension's integers are not another's floats after concat
        parts.append(rolled.loc[ok, ["gid", "code", "n"]].astype({"code": object})
                     .assign(dimension=dimension))
    candidates = pd.concat(parts, ignore_index=True)
    candidates = candidates.merge(groups[["gid", *_PAIR]], on="gid")
    return total, candidates


def _slice_values(data: StepData, slices: pd.DataFrame, groups: pd.DataFrame,
                  candidate_gids: Sequence[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every step of the given type x step x slices: ``slice`` (its row in ``slices``),
    ``gid``, ``case_key``, ``service_seconds`` and ``ref_seconds`` (the reference in force,
    NaN where none is), sorted by slice and time; and the steps as read, once (those of the
    slices and every step of the candidate groups, by pair and time, with ``gid`` and each
    dimension's ``code_<dimension>``)."""
    pairs = slices[_PAIR].drop_duplicates().reset_index(drop=True)
    pairs["pair"] = np.arange(len(pairs))
    used = [d for d in CONDITION_DIMENSIONS if (slices["dimension"] == d).any()]
    wanted = groups.merge(pairs[_PAIR], on=_PAIR)
    keyed = slices.merge(pairs, on=_PAIR)
    tables = {f"cond_keep_{d}": pa.table({
        "pair": pa.array(keyed.loc[keyed["dimension"] == d, "pair"], pa.int64()),
        "code": pa.array(keyed.loc[keyed["dimension"] == d, "code"].astype(str), pa.string()),
    }) for d in used}
    table = _group_table(wanted)
    table = table.append_column("keep", pa.array(wanted["gid"].isin(set(candidate_gids)),
                                                 pa.bool_()))
    rows = data.query(_ROWS_SQL.format(
        codes=", ".join(f"{_CODES[d]} AS code_{d}" for d in used),
        names=", ".join(f"s.code_{d}" for d in used),
        joins="".join(_KEEP_JOIN.format(d=d) for d in used),
        kept=" OR ".join(f"k_{d}.pair IS NOT NULL" for d in used),
        source="referenced_steps" if data.referenced else "steps",
        ref="s.ref_seconds" if data.referenced else "CAST(NULL AS DOUBLE)"), {
        **tables, "cond_all_groups": table,
        "cond_pairs": pa.table({"pair": pa.array(pairs["pair"], pa.int64()),
                                **{c: pa.array(pairs[c].astype(str), pa.string())
                                   for c in _PAIR}})})
    positions, slice_ids = [], []
    for dimension in used:
        mine = keyed[keyed["dimension"] == dimension]
        column = f"code_{dimension}"
        lookup = mine[["pair", "code", "slice"]].astype({"code": rows[column].dtype})
        hits = rows[["pair", column]].assign(pos=np.arange(len(rows))).merge(
            lookup, left_on=["pair", column], right_on=["pair", "code"])
        positions.append(hits["pos"].to_numpy())
        slice_ids.append(hits["slice"].to_numpy())
    pos = np.concatenate(positions)
    slice_of = np.concatenate(slice_ids)
    order = np.lexsort((pos, slice_of))  # the rows are by pair and time: so is each slice
    pos, slice_of = pos[order], slice_of[order]
    return pd.DataFrame({
        "slice": slice_of,
        "gid": rows["gid"].to_numpy(dtype=np.int64)[pos],
        "case_key": rows["case_key"].to_numpy()[pos],
        "service_seconds": rows["service_seconds"].to_numpy(dtype=float)[pos],
        "ref_seconds": rows["ref_seconds"].to_numpy(dtype=float)[pos],
    }), rows


def _outside_medians(rows: pd.DataFrame, candidates: pd.DataFrame) -> np.ndarray:
    """Each candidate's median over the rest of its day: its group's steps outside its slice
    (NaN where it has none)."""
    gids = rows["gid"].to_numpy(dtype=np.int64)
    order = np.argsort(gids, kind="stable")  # each group's steps together, still by time
    starts = np.searchsorted(gids[order], candidates["gid"].to_numpy(), side="left")
    ends = np.searchsorted(gids[order], candidates["gid"].to_numpy(), side="right")
    times = rows["service_seconds"].to_numpy(dtype=float)
    out = np.full(len(candidates), np.nan)
    for i, (dimension, code) in enumerate(zip(candidates["dimension"], candidates["code"],
                                              strict=True)):
        mine = order[starts[i]:ends[i]]
        rest = times[mine][rows[f"code_{dimension}"].to_numpy()[mine] != code]
        if rest.size:
            out[i] = float(np.median(rest))
    return out


# -- the candidates' exact figures ---------------------------------------------------------------


def _judge(values: pd.DataFrame, candidates: pd.DataFrame, groups: pd.DataFrame,
           context: FindingContext) -> pd.DataFrame:
    """The candidates with their exact figures in their slice (:func:`_figures`), what peers do
    there, whether they are ``material`` against both the reference and ``max(1, pace)`` times
    the peers, and for the material ones the test's ``p_value``, ``cases`` and ``time_lost``."""
    frame = candidates.merge(groups[["gid", "teller_id", "branch_id", "pace", "share_reference",
                                     "median_seconds", "peer_seconds"]].rename(
        columns={"median_seconds": "day_median_seconds", "peer_seconds": "day_peer_seconds"}),
        on="gid")
    frame = frame.merge(peers_in_slices(values, groups), on=["slice", "branch_id"], how="left")
    frame["peer_seconds"] = frame["peer_seconds"].fillna(frame["bank_median_seconds"])
    frame["peer_branches"] = frame["peer_branches"].fillna(0)
    coded = values[["slice", "gid"]].merge(
        frame[["slice", "gid"]].assign(code=np.arange(len(frame))), on=["slice", "gid"],
        how="left")["code"].fillna(-1).to_numpy(dtype=np.int64)
    frame = pd.concat([frame, figures(values, coded, frame)], axis=1)
    frame["expected_seconds"] = np.maximum(frame["pace"], 1.0) * frame["peer_seconds"]
    frame["own_seconds"] = (frame["outside_seconds"] * frame["peer_seconds"]
                            / frame["day_peer_seconds"])
    low, high = frame["ci_low_seconds"], frame["ci_high_seconds"]
    frame["material"] = (
        is_material((low / frame["reference_seconds"]).to_numpy(),
                    (high / frame["reference_seconds"]).to_numpy(), context.ratio)
        & is_material((low / frame["expected_seconds"]).to_numpy(),
                      (high / frame["expected_seconds"]).to_numpy(), context.ratio)
        # what holds all day is not repeated per slice: slower than the rest of its own day
        # predicts, as the peers go from their day to the slice
        & is_material((low / frame["own_seconds"]).to_numpy(),
                      (high / frame["own_seconds"]).to_numpy(), context.ratio)
        & (low >= frame["day_median_seconds"]).to_numpy())
    add_tests_and_costs(values, coded, frame)
    return frame


def _merge_branches(values: pd.DataFrame, flagged: pd.DataFrame, groups: pd.DataFrame,
                    context: FindingContext) -> pd.DataFrame:
    """The flagged tellers, where most of a branch's are flagged in the same slice (at least
    two, more than half of its tellers eligible there) replaced by one branch row, as the step
    kind's branch rule: the branch's figures over all its steps in the slice, its own test
    against the other steps of the slice (``p_value``), the largest q-value of its flagged
    tellers (each under the false-discovery control), their pace weighted by their steps."""
    flagged = flagged.assign(scope="teller", tellers_eligible=0)
    flagged["tellers_flagged"] = pd.Series([()] * len(flagged), index=flagged.index, dtype=object)
    gid = values["gid"].to_numpy()
    branch_of = pd.Series(groups["branch_id"].to_numpy()[np.maximum(gid, 0)],
                          index=values.index, dtype=object).where(gid >= 0)
    per = (values.assign(branch_id=branch_of)[gid >= 0]
           .groupby(["slice", "gid", "branch_id"]).size().rename("n").reset_index())
    mine = per["gid"].to_numpy()
    per["eligible"] = ((per["n"] >= context.min_cases) & groups["eligible"].to_numpy()[mine]
                       & (per["n"] < groups["count"].to_numpy()[mine]))
    per["weight"] = per["n"] * np.maximum(groups["pace"].to_numpy()[mine], 1.0)
    keys = ["slice", "branch_id"]
    counts = flagged.groupby(keys).agg(
        flagged=("gid", "size"), q_value=("q_value", "max"),
        tellers_flagged=("teller_id", lambda t: tuple(sorted(str(x) for x in t))))
    counts = counts.join(per[per["eligible"]].groupby(keys).size().rename("tellers_eligible"))
    counts = counts[(counts["flagged"] >= 2)
                    & (2 * counts["flagged"] > counts["tellers_eligible"])].reset_index()
    if counts.empty:
        return flagged
    merged = flagged.set_index(keys).index.isin(counts.set_index(keys).index)
    shared = ["slice", "branch_id", *_PAIR, "dimension", "code", "value", "share_reference",
              "peer_seconds", "peer_branches", "bank_median_seconds"]
    branches = counts.merge(flagged[shared].drop_duplicates(keys), on=keys)
    weights = per.groupby(keys)[["weight", "n"]].sum()
    branches = branches.merge((weights["weight"] / weights["n"]).rename("pace").reset_index(),
                              on=keys, how="left")
    coded = values[["slice"]].assign(branch_id=branch_of).merge(
        branches[keys].assign(code=np.arange(len(branches))), on=keys,
        how="left")["code"].fillna(-1).to_numpy(dtype=np.int64)
    branches = pd.concat([branches, figures(values, coded, branches)], axis=1)
    branches["material"] = True
    add_tests_and_costs(values, coded, branches)
    branches = branches.assign(scope="branch", teller_id=None, branch_median_seconds=np.nan)
    return pd.concat([flagged[~merged], branches], ignore_index=True)


# -- findings ------------------------------------------------------------------------------------


def _source(row: pd.Series, context: FindingContext) -> str:
    """Where a slice's reference came from: SOP rows in force on every step, on none, or some."""
    if int(row["sop_steps"]) == 0:
        return "peers" if row["business_type"] in context.reviewed_types else "baseline share"
    if int(row["sop_steps"]) == int(row["steps"]) or pd.isna(row["share_reference"]):
        return "sop"
    return "mixed"


def _values_of(data: StepData, slices: pd.DataFrame) -> list[str]:
    """Each slice's value as a finding's condition holds it: a band's or weekday's name, a
    window type's text (looked up from its code for the slices' pairs)."""
    windows: dict[object, str] = {}
    if (slices["dimension"] == "window_type").any():
        pairs = slices[_PAIR].drop_duplicates()
        found = data.query(f"""
            SELECT DISTINCT {_CODES["window_type"]} AS code,
                   coalesce(CAST(window_type AS VARCHAR), {lit("unknown")}) AS name
            FROM steps JOIN cond_pairs USING (business_type, activity)""", {
            "cond_pairs": pa.table({c: pa.array(pairs[c].astype(str), pa.string())
                                    for c in _PAIR})})
        windows = dict(zip(found["code"].tolist(), found["name"].astype(str), strict=True))
    names = {"hour_band": lambda c: HOUR_BANDS[int(c)][0],
             "amount_band": lambda c: AMOUNT_BANDS[int(c)],
             "weekday": lambda c: WEEKDAYS[int(c) - 1],
             "window_type": lambda c: windows.get(c, "unknown")}
    return [names[d](c) for d, c in zip(slices["dimension"], slices["code"], strict=True)]


def _finding(row: pd.Series, context: FindingContext) -> Finding:
    scope = str(row["scope"])
    peers = int(row["peer_branches"])
    return context.finding(
        row.rename({"count": "_count", "steps": "count"}), scope=scope,
        teller_id=str(row["teller_id"]) if scope == "teller" else None,
        branch_id=str(row["branch_id"]), reference_source=_source(row, context),
        pace=round(float(row["pace"]), 3),
        branch_median_seconds=(round(float(row["branch_median_seconds"]), 3)
                               if pd.notna(row["branch_median_seconds"]) else None),
        tellers_flagged=tuple(row["tellers_flagged"]),
        tellers_eligible=int(row["tellers_eligible"]),
        condition={"dimension": str(row["dimension"]), "value": str(row["value"])},
        **peer_basis_fields("slice_branches" if peers else "slice_bank", peers))


def _strongest(findings: list[Finding]) -> list[Finding]:
    """Per group and dimension, of each run of adjacent slices that fire only the one with the
    most time lost (see the module docs)."""
    def position(f: Finding) -> int | None:
        order = _ORDERED.get(str(f.condition["dimension"])) if f.condition else None
        value = str(f.condition["value"]) if f.condition else ""
        return order.index(value) if order is not None and value in order else None

    runs: dict[tuple[object, ...], list[list[Finding]]] = {}
    for f in sorted(findings, key=lambda f: (position(f) is None, position(f) or 0)):
        assert f.condition is not None
        key = (f.teller_id, f.branch_id, f.business_type, f.activity, f.condition["dimension"])
        mine = runs.setdefault(key, [])
        at = position(f)
        if at is not None and mine and position(mine[-1][-1]) == at - 1:
            mine[-1].append(f)
        else:
            mine.append([f])
    kept = [max(run, key=lambda f: (f.time_lost_seconds, -(position(f) or 0)))
            for group in runs.values() for run in group]
    return sorted(kept, key=lambda f: (-f.time_lost_seconds, f.teller_id or "", f.business_type,
                                       f.activity, str(f.condition)))
