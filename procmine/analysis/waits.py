"""Wait findings: time lost *before* a step, waiting for a supervisor's authorisation, for a
system reply or for the customer.

A step's **wait** is the time from the previous step's end in its case (from the call, for the
first step) to the step's start, as the detailed view of
:class:`~procmine.analysis.steps.StepData` has it (computed here with that one window over the
case, not the view's others): only a log with start times has waits. **Who
waits** is the teller of the case's previous step (the step's own teller for a first step).
The canonical schema has no column for an authorising user: where the step's row names another
teller than the previous step's (e.g. the supervisor who authorised), that teller is **who was
waited for** (``evidence["waited_for"]``, the most frequent); otherwise the evidence says that
the log does not name who was waited for.

A **wait finding** (kind ``"wait"``) is a teller x type x step, or a branch x type x step, with at
least ``min_cases`` waits before the step whose waits are

* materially longer than what **peers** wait before the same step (the finding's reference,
  ``reference_source`` "peers": the median over the other branches of each branch's typical
  median wait, :func:`~procmine.analysis.judging.peer_medians`, at least
  :data:`MIN_REFERENCE_SECONDS`): the 95% interval of the group's median wait is material
  against it by the ratio rule every kind follows
  (:func:`~procmine.analysis.judging.is_material`), **and** its lower end lies at least
  :data:`WAIT_FLOOR_SECONDS` (30 s) above it, so that a 2 s gap against a 1 s one never
  counts. The bank's normal waits (e.g. ~40 s for the supervisor before an authorisation, a
  few seconds between other steps) are what the peers wait: no finding;
* statistically longer than the others': a one-sided Mann-Whitney test of the group's waits
  against every other wait before the same type x step, with Benjamini-Hochberg control over
  every eligible group of both levels (``q``; the groups that are not material are not tested
  and count with p = 1).

The branch rule is the step kind's: when most of a branch's tellers (at least two, more than
half of those eligible) wait materially before the step, or the branch as a whole does (unless
a single flagged teller carries half or more of its waits), one branch finding replaces its
tellers' findings on the step. **Time lost** is the sum over the group's cases of the case's
wait before the step beyond the peers' wait; the cost a month spreads it over the days its
branch's data covers (:meth:`~procmine.analysis.context.FindingContext.months_for`). ``pace``
is 1.0: a wait is not the teller's working pace.

In a completion-only log (``context.inferred``) a wait cannot be told from the work after it:
there are no wait findings, and a slow-step finding (``inferred``) says that its time may
include waiting. The statistics are one GROUPING SETS pass over the waits (teller and branch
levels), and one query for the waits of the type x steps with a candidate (over the cases of
their business types only). :func:`~procmine.analysis.evidence.explain_findings` gives a wait
finding the waits by hour, amount band, window type and month, and its branch's tellers' waits.

Example (the bundled demo log has no injected waits, and its normal waits are no finding):
    >>> from procmine.analysis.context import FindingContext
    >>> wait_findings(store, baseline, Filters(), FindingContext.empty())
    []
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from procmine.analysis.context import FindingContext
from procmine.analysis.filters import Filters
from procmine.analysis.findings import Finding, peer_basis_fields
from procmine.analysis.judging import is_material, median_interval, peer_medians
from procmine.analysis.stats import benjamini_hochberg, mann_whitney_greater
from procmine.analysis.steps import StepData
from procmine.core.baseline import Baseline
from procmine.core.sql import lit
from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    from procmine.store.engine import Engine

__all__ = ["MIN_REFERENCE_SECONDS", "WAIT_FLOOR_SECONDS", "wait_findings"]

#: The least excess, in seconds, of the low end of a group's median-wait interval over the
#: peers' wait for the wait to be material (besides the ratio rule): short gaps between steps
#: (2 s against 1 s) are no finding however large their ratio.
WAIT_FLOOR_SECONDS: Final[float] = 30.0
#: The least peers' wait a ratio is taken against (a median wait of 0 s would make any ratio
#: infinite).
MIN_REFERENCE_SECONDS: Final[float] = 1.0

_PAIR: Final[list[str]] = ["business_type", "activity"]
_LEVELS: Final[dict[str, list[str]]] = {"teller": ["teller_id", "branch_id"],
                                        "branch": ["branch_id"]}

# Each wait as the detailed step view has it (StepData(detail=True): the step's start minus
# the previous step's end in its case, or the call for the first step; none without a start),
# with who waited (the previous step's teller) and whom for (another teller who did the step,
# or NULL): one window over the case, the view's other columns and windows left out. ``pre``
# restricts the rows before the window (period, business types), ``post`` after (people).
_WAITS_SQL: Final[str] = """
    SELECT coalesce(previous_teller, teller_id) AS waiter, branch_id, business_type, activity,
           case_id, wait_seconds,
           CASE WHEN previous_teller IS NOT NULL AND teller_id <> previous_teller
                THEN teller_id END AS waited_for
    FROM (
        SELECT case_id, activity, teller_id, branch_id, business_type,
               lag(teller_id) OVER c AS previous_teller,
               CASE WHEN start_time IS NOT NULL
                    THEN greatest(epoch(start_time - coalesce(lag(end_time) OVER c, call_time)),
                                  0)
               END AS wait_seconds
        FROM events
        WHERE {pre}
        WINDOW c AS (PARTITION BY case_id
                     ORDER BY coalesce(start_time, end_time), end_time, activity)
    ) s
    WHERE wait_seconds IS NOT NULL AND {post}
"""


# The same from the prepared step relation, whose rows carry the previous step's teller and
# their wait: no window.
_PREPARED_WAITS_SQL: Final[str] = """
    SELECT coalesce(previous_teller_id, teller_id) AS waiter, branch_id, business_type,
           activity, case_id, wait_seconds,
           CASE WHEN previous_teller_id IS NOT NULL AND teller_id <> previous_teller_id
                THEN teller_id END AS waited_for
    FROM prepared_steps
    WHERE wait_seconds IS NOT NULL AND {pre} AND {post}
"""


def _waits_sql(filters: Filters, business_types: Sequence[str] | None = None, *,
               prepared: bool = False) -> str:
    """:data:`_WAITS_SQL` restricted by ``filters`` (and to ``business_types``: a case's steps
    share its type, so its waits are whole); ``prepared``: from the prepared steps."""
    pre = filters.sql("started" if prepared else "coalesce(start_time, end_time)", people=False)
    if business_types is not None:
        pre += f" AND business_type IN ({', '.join(lit(t) for t in business_types)})"
    template = _PREPARED_WAITS_SQL if prepared else _WAITS_SQL
    return template.format(pre=pre, post=filters.sql(period=False, types=False))


def wait_findings(store: EventStore, baseline: Baseline | None, filters: Filters,
                  context: FindingContext, engine: Engine | None = None) -> list[Finding]:
    """The wait findings of tellers and branches (see the module docs), in no particular order
    (:func:`~procmine.analysis.bottlenecks.find_bottlenecks` ranks every kind by time lost).

    ``filters`` restricts the steps as the analysis does (e.g. one month); ``context`` gives
    the settings and the period; ``engine`` as in ``find_bottlenecks``. None in a
    completion-only log (``context.inferred``).
    """
    if context.inferred:
        return []
    with StepData(store, baseline, filters, engine=engine) as data:
        if data.inferred:
            return []
        levels = _statistics(data)
        peers = peer_medians(levels["teller"])
        frames = {name: _level_frame(frame, name, peers, context)
                  for name, frame in levels.items()}
        pairs = sorted({(str(a), str(b)) for frame in frames.values()
                        for a, b in frame.loc[frame["material"], _PAIR].itertuples(index=False)})
        _untested(frames)
        if pairs:  # the waits of the candidates' pairs: windows over their business types only
            _test_pairs(data, pairs, frames)
    tellers, branches = frames["teller"], frames["branch"]
    for frame in (tellers, branches):
        _judge(frame, context.ratio)
    _flag(tellers, branches, context.q)
    return _assemble(tellers, branches, context)


def _statistics(data: StepData) -> dict[str, pd.DataFrame]:
    """Per teller (who waited) x branch and per branch, x type x step: ``count`` of waits,
    ``median_seconds`` and ``p90_seconds`` of the waits, in one pass."""
    frame = data.query(f"""
        WITH grouped AS (
            SELECT waiter, branch_id, business_type, activity,
                   grouping(waiter) AS whole_branch, count(*) AS count,
                   quantile_cont(wait_seconds, [0.5, 0.9]) AS quantiles
            FROM ({_waits_sql(data.filters, prepared=data.prepared)}) w
            GROUP BY GROUPING SETS ((waiter, branch_id, business_type, activity),
                                    (branch_id, business_type, activity))
        )
        SELECT g.waiter AS teller_id, g.branch_id, g.business_type, g.activity,
               g.whole_branch, g.count, g.quantiles[1] AS median_seconds,
               g.quantiles[2] AS p90_seconds
        FROM grouped g
    """)
    keys = ["teller_id", "branch_id", *_PAIR]
    frame = frame.astype({k: object for k in keys})
    tellers = frame[frame["whole_branch"] == 0].drop(columns=["whole_branch"])
    branches = frame[frame["whole_branch"] == 1].drop(columns=["whole_branch", "teller_id"])
    return {"teller": tellers.sort_values(keys).reset_index(drop=True),
            "branch": branches.sort_values(keys[1:]).reset_index(drop=True)}


def _level_frame(frame: pd.DataFrame, name: str, peers: pd.DataFrame,
                 context: FindingContext) -> pd.DataFrame:
    """One level's groups with the peers' wait (the reference) and whether each is eligible
    (named, ``min_cases`` waits) and a candidate (:func:`_candidates`)."""
    frame = frame.merge(peers[[*_PAIR, "branch_id", "peer_seconds", "peer_branches"]],
                        on=[*_PAIR, "branch_id"], how="left")
    # a branch no peer row knows (too few waits there): every branch's median
    every = peers.groupby(_PAIR)["bank_peer_seconds"].first().rename("every_branch")
    frame = frame.merge(every.reset_index(), on=_PAIR, how="left")
    frame["peer_seconds"] = frame["peer_seconds"].fillna(frame.pop("every_branch"))
    frame["reference_seconds"] = np.maximum(frame["peer_seconds"].astype(float),
                                            MIN_REFERENCE_SECONDS)
    frame["bank_median_seconds"] = np.nan  # the tested pairs' (:func:`_test_pairs`)
    frame = frame.astype({k: object for k in _LEVELS[name]})
    frame["eligible"] = (frame[_LEVELS[name][0]].notna() & frame["branch_id"].notna()
                         & (frame["count"] >= context.min_cases)
                         & frame["reference_seconds"].notna())
    frame["material"] = _candidates(frame, context)
    return frame


def _candidates(frame: pd.DataFrame, context: FindingContext) -> pd.Series:
    """The eligible groups whose median wait is at least half-way to the cut over the peers'
    and the floor above them (the interval decides in :func:`_judge`)."""
    median = frame["median_seconds"]
    return (frame["eligible"] & (median >= context.cut * frame["reference_seconds"])
            & (median >= frame["peer_seconds"] + WAIT_FLOOR_SECONDS))


def _untested(frames: dict[str, pd.DataFrame]) -> None:
    """Every group untested: p = 1, no cases, no time lost, no interval."""
    for frame in frames.values():
        frame["p_value"] = 1.0
        frame["cases"] = 0
        frame["time_lost"] = 0.0
        frame["ci_low_seconds"] = np.nan
        frame["ci_high_seconds"] = np.nan
        frame["waited_steps"] = 0
        frame["waited_for"] = None


def _test_pairs(data: StepData, pairs: list[tuple[str, str]],
                frames: dict[str, pd.DataFrame]) -> None:
    """Add ``p_value`` (one-sided Mann-Whitney against the other waits before the type x step)
    for every eligible group of the given pairs, and ``cases``, ``time_lost``, the median's
    interval (``ci_low_seconds``, ``ci_high_seconds``) and who was waited for
    (``waited_steps``: steps another teller did, ``waited_for``: the most frequent of them)
    for the candidates and every eligible branch of those pairs (a branch finding can come from
    its tellers), and for every group of them the bank's median wait before the step
    (``bank_median_seconds``)."""
    pair_of = {p: k for k, p in enumerate(pairs)}
    chosen = {}
    for name, frame in frames.items():
        pair = pd.Series([pair_of.get(p, -1) for p in zip(
            frame["business_type"], frame["activity"], strict=True)], index=frame.index)
        rows = frame[frame["eligible"] & (pair >= 0)].copy()
        rows["pair"] = pair[rows.index]
        rows["code"] = np.arange(len(rows))
        chosen[name] = rows
    waits = _wait_values(data, pairs, chosen)
    pair_col = waits["pair"].to_numpy()
    values = waits["wait_seconds"].to_numpy(dtype=float)
    case_key = waits["case_key"].to_numpy()
    waited_for = waits["waited_for"].to_numpy(dtype=object)
    bounds = np.searchsorted(pair_col, np.arange(len(pairs) + 1))
    for name, rows in chosen.items():
        frame, codes_all = frames[name], waits[f"{name}_code"].to_numpy()
        out = np.zeros((len(rows), 6))  # p, cases, lost, low, high, bank
        out[:, 0], out[:, 3:] = 1.0, np.nan
        who: list[tuple[int, int, str | None]] = []  # (row, steps, teller) of the costed
        for k, part in rows.groupby("pair"):
            lo, hi = int(bounds[int(str(k))]), int(bounds[int(str(k)) + 1])
            global_codes = part["code"].to_numpy()
            local = np.full(len(rows) + 1, -1, dtype=np.int64)
            local[global_codes] = np.arange(len(part))
            codes = local[codes_all[lo:hi]]  # -1 (no group) maps to local[-1] == -1
            _, p = mann_whitney_greater(values[lo:hi], codes, len(part))
            out[global_codes, 0] = p
            out[global_codes, 5] = np.quantile(values[lo:hi], 0.5)  # as quantile_cont
            costed = part["material"].to_numpy() | (name == "branch")
            for g in np.flatnonzero(costed):
                mine = codes == g
                out[global_codes[g], 3:5] = median_interval(values[lo:hi][mine])
                keys, inverse = np.unique(case_key[lo:hi][mine], return_inverse=True)
                per_case = np.bincount(inverse, weights=values[lo:hi][mine])
                peer = float(part["peer_seconds"].iloc[g])
                out[global_codes[g], 1] = keys.size
                out[global_codes[g], 2] = float(np.maximum(per_case - peer, 0.0).sum())
                who.append((int(global_codes[g]), *_most_frequent(waited_for[lo:hi][mine])))
        for i, column in enumerate(["p_value", "cases", "time_lost", "ci_low_seconds",
                                    "ci_high_seconds", "bank_median_seconds"]):
            frame.loc[rows.index, column] = out[:, i]
        for row, steps, teller in who:
            frame.loc[rows.index[row], ["waited_steps", "waited_for"]] = [steps, teller]


def _most_frequent(values: npt.NDArray[np.object_]) -> tuple[int, str | None]:
    """How many of ``values`` are set, and the most frequent of them (the smallest among
    ties; None for none)."""
    named = pd.Series(values, dtype=object).dropna()
    if named.empty:
        return 0, None
    counts = named.value_counts()
    return len(named), str(min(counts[counts == counts.max()].index))


def _wait_values(data: StepData, pairs: list[tuple[str, str]],
                 chosen: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every wait before the given pairs, sorted by pair and wait: ``pair``, ``case_key`` (a
    hash of the case id), ``wait_seconds``, ``waited_for`` and per level ``<level>_code`` (the
    group's code in ``chosen``, -1 for none)."""
    tables: dict[str, Any] = {"wait_pairs": pa.table({
        "pair": pa.array(range(len(pairs)), pa.int32()),
        "business_type": pa.array([p[0] for p in pairs], pa.string()),
        "activity": pa.array([p[1] for p in pairs], pa.string()),
    })}
    joins, columns = [], []
    for name, rows in chosen.items():
        keys = [*_LEVELS[name], *_PAIR]
        tables[f"{name}_groups"] = pa.Table.from_pandas(
            rows[[*keys, "code"]].astype({"code": "int32", **{k: object for k in keys}}),
            preserve_index=False,
            schema=pa.schema([*((k, pa.string()) for k in keys), ("code", pa.int32())]))
        source = {"teller_id": "waiter"}
        on = " AND ".join(f"w.{source.get(k, k)} = {name}_g.{k}" for k in keys)
        joins.append(f"LEFT JOIN {name}_groups {name}_g ON {on}")
        columns.append(f"coalesce({name}_g.code, -1) AS {name}_code")
    waits = _waits_sql(data.filters, sorted({t for t, _ in pairs}), prepared=data.prepared)
    return data.query(f"""
        SELECT p.pair, hash(w.case_id) AS case_key, w.wait_seconds, w.waited_for,
               {", ".join(columns)}
        FROM ({waits}) w
        JOIN wait_pairs p ON p.business_type = w.business_type AND p.activity = w.activity
        {" ".join(joins)}
        ORDER BY p.pair, w.wait_seconds
    """, tables)


def _judge(frame: pd.DataFrame, ratio: float) -> None:
    """Keep as material only the candidates whose interval is material against the peers'
    wait (the ratio rule) and whose low end is :data:`WAIT_FLOOR_SECONDS` above it."""
    low, high = frame["ci_low_seconds"], frame["ci_high_seconds"]
    reference = frame["reference_seconds"]
    by_ratio = is_material((low / reference).to_numpy(), (high / reference).to_numpy(), ratio)
    by_seconds = (low - frame["peer_seconds"] >= WAIT_FLOOR_SECONDS).to_numpy()
    frame["material"] = frame["material"] & by_ratio & by_seconds


def _flag(tellers: pd.DataFrame, branches: pd.DataFrame, q: float) -> None:
    """``q_value`` (Benjamini-Hochberg over every eligible group of both levels; a group that
    is not material was not tested and counts with p = 1) and ``flagged``."""
    for frame in (tellers, branches):
        frame.loc[~frame["material"].astype(bool), "p_value"] = 1.0
    eligible_p = np.concatenate([tellers.loc[tellers["eligible"], "p_value"].to_numpy(),
                                 branches.loc[branches["eligible"], "p_value"].to_numpy()])
    q_values = benjamini_hochberg(eligible_p.astype(float))
    n_tellers = int(tellers["eligible"].sum())
    for frame, part in ((tellers, q_values[:n_tellers]), (branches, q_values[n_tellers:])):
        frame["q_value"] = np.nan
        frame.loc[frame["eligible"], "q_value"] = part
        frame["flagged"] = frame["material"] & (frame["q_value"] <= q)


def _assemble(tellers: pd.DataFrame, branches: pd.DataFrame,
              context: FindingContext) -> list[Finding]:
    """Findings from the flagged groups, with the branch rule applied."""
    keys = ["branch_id", *_PAIR]
    flagged = tellers[tellers["flagged"]]
    relevant = sorted({(str(a), str(b), str(c)) for a, b, c in pd.concat(
        [flagged[keys], branches.loc[branches["flagged"], keys]]).itertuples(index=False)})
    wanted = pd.DataFrame(relevant, columns=keys, dtype=object)
    by_key = {(str(row["branch_id"]), str(row["business_type"]), str(row["activity"])): row
              for _, row in branches.merge(wanted, on=keys).iterrows()}
    eligible = tellers[tellers["eligible"]]
    findings: list[Finding] = []
    merged = set()
    for key in relevant:
        brow = by_key.get(key)
        if brow is None or not brow["eligible"]:
            continue
        group = eligible[(eligible["branch_id"] == key[0])
                         & (eligible["business_type"] == key[1]) & (eligible["activity"] == key[2])]
        mine = group[group["flagged"]]
        dominated = len(mine) == 1 and mine["count"].iloc[0] >= 0.5 * brow["count"]
        most_tellers = len(mine) >= 2 and 2 * len(mine) > len(group)
        if most_tellers or (bool(brow["flagged"]) and not dominated):
            merged.add(key)
            findings.append(_finding("branch", None, brow, context, None,
                                     tuple(sorted(str(t) for t in mine["teller_id"])),
                                     len(group)))
    for _, row in flagged.iterrows():
        key = (str(row["branch_id"]), str(row["business_type"]), str(row["activity"]))
        if key not in merged:
            branch = by_key.get(key)
            findings.append(_finding("teller", str(row["teller_id"]), row, context,
                                     None if branch is None else float(branch["median_seconds"]),
                                     (), 0))
    return findings


def _finding(scope: str, teller_id: str | None, row: pd.Series, context: FindingContext,
             branch_median: float | None, tellers_flagged: tuple[str, ...],
             tellers_eligible: int) -> Finding:
    peers = int(row["peer_branches"]) if pd.notna(row["peer_branches"]) else 0
    return context.finding(
        row, kind="wait", scope=scope, teller_id=teller_id, reference_source="peers", pace=1.0,
        branch_id=str(row["branch_id"]),
        branch_median_seconds=None if branch_median is None else round(branch_median, 3),
        tellers_flagged=tellers_flagged, tellers_eligible=tellers_eligible,
        evidence={"waited_for": _waited_for(row)},
        **peer_basis_fields("wait_branches" if peers else "wait_bank", peers))


def _waited_for(row: pd.Series) -> dict[str, Any]:
    """Who was waited for: the teller who did the step where the log names another teller than
    the one who waited (the most frequent), or a note that the log does not name them."""
    steps = int(row["waited_steps"]) if pd.notna(row["waited_steps"]) else 0
    who = row["waited_for"]
    if steps == 0 or who is None or (isinstance(who, float) and pd.isna(who)):
        return {"teller_id": None, "steps": 0,
                "note": "the log does not name who was waited for (the step's rows carry the "
                        "waiting teller's id)"}
    return {"teller_id": str(who), "steps": steps,
            "note": f"the step was done by another teller than the one waiting in {steps} of "
                    f"{int(row['count'])} waits; most often {who}"}
