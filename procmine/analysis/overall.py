"""Slow branches and slow tellers overall: one finding for a pace that is slow at most steps.

A branch whose every teller is 20% slower at every step, or a teller slower than peers at
everything, shows as no step finding at all (the step kind holds each group against what its
own pace predicts) or as dozens of them. :func:`overall_findings` says it once, with the pace
and the hours it costs. It reads only the step statistics the analysis already has
(:class:`~procmine.analysis.context.FindingContext`: ``teller_stats`` and ``peers``), no query.

**Pace.** Over each of its business type x step groups (a teller's with at least 5 steps, a
branch's with at least 10), the group's ratio is its median over the peers' (``peer_seconds``
of :func:`~procmine.analysis.judging.peer_medians`: the median of the *other* branches' typical
medians, so neither the branch nor a few slow tellers move it); a branch's median on a step is
its typical median (``branch_seconds``). The pace is the step-weighted median of those ratios
(weights: the group's steps), on the log scale.

**Its interval.** The 95% interval of a weighted median, from the order statistics of the
log-ratios: the weighted quantiles at ``1/2 -+ 0.98 / sqrt(n_eff)``, ``n_eff = (sum w)^2 /
sum w^2`` the effective number of groups (the Binomial(n, 1/2) interval of a median, in its
normal form, with the weights' effective count in place of ``n``).

**Material.** A pace is material when its interval's lower end reaches the cut:
``teller_cut`` 1.25 (above tellers' natural speed spread and their own step habits, so that a
teller 1.4x slower at every step is found) and ``branch_cut`` 1.1 (a branch's typical medians
vary far less: a branch of tellers 20% slower at every step is found); and **most steps** are
slower: at least ``most`` (75%) of its steps (weighted by steps) are in groups above the peers.

**The test.** A one-sided sign test over its groups (how many of its ``n`` groups are above the
peers, against Binomial(n, 1/2)), with Benjamini-Hochberg over every eligible teller and
branch (at least 10 groups and ``min_cases`` steps; those not material enter with p = 1), at
the context's ``q``.

**A slow branch's tellers.** A teller of a branch found slow overall is found too only when it
is slow against its branch mates: the lower end of its interval over the median pace of the
branch's other tellers reaches ``teller_cut`` (so a slow teller in a branch it makes look slow
is still named, and the tellers of a slow branch are not).

**The figures** (:class:`~procmine.analysis.findings.Finding`, ``kind`` "overall",
``business_type`` and ``activity`` ""): ``ratio`` and ``pace`` the pace, ``ratio_ci`` its
interval; ``median_seconds`` the group's time per step (the step-weighted mean of its groups'
medians), ``reference_seconds`` and ``peer_seconds`` the same steps at the peers' medians,
``bank_median_seconds`` at the bank's, ``p90_seconds`` the step-weighted mean of its groups'
90th percentiles, ``branch_median_seconds`` (a teller's) at its branch's typical medians;
``steps`` its steps, ``cases`` its transactions (per business type the count of its most
frequent step, which every transaction has once, summed over the types). **Time lost** is the
sum over its groups of ``steps x (median - peers' median)``, where positive; costs a month as
every kind (``period_days`` of its branch). ``evidence`` (always) holds the groups, the share
of its steps slower than peers and its five costliest steps; a branch's also its tellers' paces.

Example:
    >>> from procmine.analysis.bottlenecks import find_bottlenecks
    >>> [f for f in find_bottlenecks(store, baseline) if f.kind == "overall"]
    []
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import binom

from procmine.analysis.context import FindingContext
from procmine.analysis.findings import Finding, peer_basis_fields
from procmine.analysis.stats import benjamini_hochberg

__all__ = ["overall_findings", "paces"]

_PAIR: Final[list[str]] = ["business_type", "activity"]
_TELLER: Final[list[str]] = ["teller_id", "branch_id"]
_BRANCH: Final[list[str]] = ["branch_id"]
#: The fewest steps a teller's (a branch's) group needs to weigh in its pace.
TELLER_GROUP_STEPS: Final[int] = 5
BRANCH_GROUP_STEPS: Final[int] = 10
#: The fewest groups a teller or branch needs for a pace.
MIN_GROUPS: Final[int] = 10
#: The z of a two-sided 95% interval, halved: the quantile offset is this / sqrt(n_eff).
_HALF_Z: Final[float] = 1.959964 / 2


def _groups(context: FindingContext) -> dict[str, pd.DataFrame]:
    """Each level's groups with ``n`` (steps), ``median``, ``peer``, ``p90``, ``bank`` and
    ``branch`` (a teller group's branch typical median), and ``log_ratio``."""
    stats, peers = context.teller_stats, context.peers
    if stats.empty or peers.empty:
        return {}
    stats = stats[stats["branch_id"].notna()]
    bank = context.refs[[*_PAIR, "bank_median_seconds"]] if not context.refs.empty else None
    peer_cols = peers[[*_PAIR, "branch_id", "branch_seconds", "peer_seconds"]]
    tellers = stats[stats["teller_id"].notna() & (stats["count"] >= TELLER_GROUP_STEPS)]
    tellers = tellers.rename(columns={"count": "n", "median_seconds": "median",
                                      "p90_seconds": "p90"})
    tellers = tellers[[*_TELLER, *_PAIR, "n", "median", "p90"]].merge(
        peer_cols, on=[*_PAIR, "branch_id"], how="inner").rename(
        columns={"peer_seconds": "peer", "branch_seconds": "branch"})
    weighted = stats.assign(p90_steps=stats["p90_seconds"] * stats["count"])
    branches = weighted.groupby([*_BRANCH, *_PAIR], dropna=False, sort=False).agg(
        n=("count", "sum"), p90_steps=("p90_steps", "sum")).reset_index()
    branches = branches.assign(p90=branches.pop("p90_steps") / branches["n"])
    branches = branches[branches["n"] >= BRANCH_GROUP_STEPS].merge(
        peer_cols, on=[*_PAIR, "branch_id"], how="inner").rename(
        columns={"peer_seconds": "peer", "branch_seconds": "median"})
    out = {}
    for name, frame in (("teller", tellers), ("branch", branches)):
        frame = frame[(frame["peer"] > 0) & (frame["median"] > 0)]
        if bank is not None:
            frame = frame.merge(bank, on=_PAIR, how="left").rename(
                columns={"bank_median_seconds": "bank"})
        else:
            frame = frame.assign(bank=np.nan)
        out[name] = frame.assign(log_ratio=np.log(frame["median"] / frame["peer"]))
    return out


def _weighted_quantiles(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of ``keys``: the step-weighted median of ``log_ratio`` and its interval's
    ends (the weighted quantiles at 1/2 -+ 0.98 / sqrt(n_eff))."""
    ordered = frame.sort_values([*keys, "log_ratio"])
    by = ordered.groupby(keys, dropna=False, sort=False)["n"]
    total = by.transform("sum")
    fraction = by.cumsum() / total
    n_eff = total ** 2 / ordered["n"].pow(2).groupby(
        [ordered[k] for k in keys], dropna=False, sort=False).transform("sum")
    half = _HALF_Z / np.sqrt(n_eff.to_numpy(dtype=float))
    ordered = ordered.assign(fraction=fraction)
    out = {}
    for name, level in (("low", np.maximum(0.5 - half, 0.0)), ("mid", np.full(half.size, 0.5)),
                        ("high", np.minimum(0.5 + half, 1.0))):
        reached = ordered[ordered["fraction"] >= level - 1e-12]
        out[name] = reached.groupby(keys, dropna=False, sort=False)["log_ratio"].first()
    return pd.DataFrame(out)


def paces(context: FindingContext,
          groups: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Every teller's and branch's pace against its peers: per level ("teller", "branch") a
    frame with the level's keys, ``pace``, ``pace_low``, ``pace_high`` (its 95% interval),
    ``groups``, ``steps``, ``slower_share`` (of its steps in groups above the peers),
    ``p_value`` (the one-sided sign test), ``median_seconds``, ``peer_seconds``,
    ``bank_median_seconds``, ``p90_seconds``, ``branch_seconds`` (tellers) and
    ``time_lost`` (see the module documentation). ``groups``: the groups of each level, if
    already at hand."""
    out: dict[str, pd.DataFrame] = {}
    for name, frame in (groups if groups is not None else _groups(context)).items():
        keys = _TELLER if name == "teller" else _BRANCH
        frame = frame.assign(
            above=(frame["log_ratio"] > 0).astype(int),
            tied=(frame["log_ratio"] == 0).astype(int),
            above_steps=frame["n"] * (frame["log_ratio"] > 0),
            median_steps=frame["n"] * frame["median"], peer_steps=frame["n"] * frame["peer"],
            bank_steps=frame["n"] * frame["bank"], p90_steps=frame["n"] * frame["p90"],
            branch_steps=frame["n"] * frame.get("branch", np.nan),
            lost=frame["n"] * (frame["median"] - frame["peer"]).clip(lower=0.0))
        sums = frame.groupby(keys, dropna=False, sort=False).agg(
            groups=("n", "size"), steps=("n", "sum"), above=("above", "sum"),
            tied=("tied", "sum"), above_steps=("above_steps", "sum"),
            median_steps=("median_steps", "sum"), peer_steps=("peer_steps", "sum"),
            bank_steps=("bank_steps", "sum"), p90_steps=("p90_steps", "sum"),
            branch_steps=("branch_steps", "sum"), time_lost=("lost", "sum"))
        quantiles = np.exp(_weighted_quantiles(frame, keys))
        steps = sums["steps"]
        result = pd.DataFrame({
            "pace": quantiles["mid"], "pace_low": quantiles["low"],
            "pace_high": quantiles["high"], "groups": sums["groups"], "steps": steps,
            "slower_share": sums["above_steps"] / steps,
            "p_value": binom.sf(sums["above"] - 1, sums["groups"] - sums["tied"], 0.5),
            "median_seconds": sums["median_steps"] / steps,
            "peer_seconds": sums["peer_steps"] / steps,
            "bank_median_seconds": sums["bank_steps"] / steps,
            "p90_seconds": sums["p90_steps"] / steps,
            "branch_seconds": sums["branch_steps"] / steps, "time_lost": sums["time_lost"],
        }, index=sums.index)
        out[name] = result.reset_index().astype({k: object for k in keys})
    return out


def overall_findings(context: FindingContext, *, teller_cut: float = 1.25,
                     branch_cut: float = 1.1, most: float = 0.75) -> list[Finding]:
    """The tellers and branches slower than their peers across most of their steps (kind
    "overall"), most time lost first; see the module documentation for the method.

    Example:
        >>> from procmine.analysis.context import FindingContext
        >>> overall_findings(FindingContext.empty())
        []
    """
    groups = _groups(context)
    levels = paces(context, groups)
    if not levels:
        return []
    cuts = {"teller": teller_cut, "branch": branch_cut}
    for name, frame in levels.items():
        frame["eligible"] = ((frame["groups"] >= MIN_GROUPS)
                             & (frame["steps"] >= context.min_cases))
        frame["material"] = (frame["eligible"] & (frame["pace_low"] >= cuts[name])
                             & (frame["slower_share"] >= most))
    tellers, branches = levels["teller"], levels["branch"]
    eligible_p = np.concatenate([
        np.where(frame["material"], frame["p_value"], 1.0)[frame["eligible"].to_numpy()]
        for frame in (tellers, branches)])
    q_values = benjamini_hochberg(eligible_p)
    n_tellers = int(tellers["eligible"].sum())
    for frame, part in ((tellers, q_values[:n_tellers]), (branches, q_values[n_tellers:])):
        frame["q_value"] = np.nan
        frame.loc[frame["eligible"], "q_value"] = part
        frame["flagged"] = frame["material"] & (frame["q_value"] <= context.q)
    # a slow branch's teller is found only when it is slow against its branch mates too
    slow = set(branches.loc[branches["flagged"], "branch_id"])
    tellers["flagged"] &= tellers["pace_low"] / _mates_pace(tellers, slow) >= teller_cut
    findings = [_finding("branch", row, context, groups["branch"], (tellers, branch_cut))
                for _, row in branches[branches["flagged"]].iterrows()]
    findings += [_finding("teller", row, context, groups["teller"], None)
                 for _, row in tellers[tellers["flagged"]].iterrows()]
    findings.sort(key=lambda f: (-f.time_lost_seconds, f.scope, f.branch_id or "",
                                 f.teller_id or ""))
    return findings


def _mates_pace(tellers: pd.DataFrame, branches: set[str]) -> npt.NDArray[np.float64]:
    """Each teller's yardstick: in one of ``branches``, the median pace of its branch's other
    eligible tellers (its own pace where it has none); 1.0 elsewhere."""
    out = np.ones(len(tellers))
    for i, (teller, branch) in enumerate(zip(tellers["teller_id"], tellers["branch_id"],
                                             strict=True)):
        if branch in branches:
            mates = tellers[(tellers["branch_id"] == branch) & (tellers["teller_id"] != teller)
                            & tellers["eligible"]]
            out[i] = (float(mates["pace"].median()) if len(mates)
                      else float(tellers["pace"].iloc[i]))
    return out


def _finding(scope: str, row: pd.Series, context: FindingContext, groups: pd.DataFrame,
             tellers: tuple[pd.DataFrame, float] | None) -> Finding:
    """One overall finding from a row of :func:`paces` (``tellers``: for a branch, every
    teller's pace and the branch cut: its tellers at or above the cut are named)."""
    branch_id = str(row["branch_id"])
    teller_id = str(row["teller_id"]) if scope == "teller" else None
    mine = groups[groups["branch_id"] == branch_id]
    if teller_id is not None:
        mine = mine[mine["teller_id"] == teller_id]
    lost = float(row["time_lost"])
    months = context.months_for(branch_id)
    median, peer = float(row["median_seconds"]), float(row["peer_seconds"])
    evidence: dict[str, Any] = {
        "groups": int(row["groups"]), "slower_share": round(float(row["slower_share"]), 3),
        "costliest_steps": _costliest(mine),
    }
    flagged: tuple[str, ...] = ()
    eligible = 0
    if tellers is not None:
        every, cut = tellers
        own = every[(every["branch_id"] == branch_id) & every["eligible"]]
        evidence["teller_paces"] = {str(t): round(float(p), 3)
                                    for t, p in zip(own["teller_id"], own["pace"], strict=True)}
        flagged = tuple(sorted(str(t) for t in own.loc[own["pace"] >= cut, "teller_id"]))
        eligible = len(own)
    finding = Finding(
        scope=scope, teller_id=teller_id, branch_id=branch_id, business_type="", activity="",
        cases=_cases(context, branch_id, teller_id), steps=int(row["steps"]),
        median_seconds=round(median, 3), p90_seconds=round(float(row["p90_seconds"]), 3),
        reference_seconds=round(peer, 3), reference_source="peers",
        ratio=round(float(row["pace"]), 3), pace=round(float(row["pace"]), 3),
        excess_seconds=round(median - peer, 3), time_lost_seconds=round(lost, 1),
        monthly_teller_hours=round(lost / 3600 / months, 2), months=round(months, 3),
        p_value=float(row["p_value"]), q_value=float(row["q_value"]),
        bank_median_seconds=round(float(row["bank_median_seconds"]), 3),
        branch_median_seconds=(round(float(row["branch_seconds"]), 3)
                               if scope == "teller" else None),
        tellers_flagged=flagged, tellers_eligible=eligible, evidence=evidence,
        kind="overall", ratio_ci=(round(float(row["pace_low"]), 3),
                                  round(float(row["pace_high"]), 3)),
        inferred=context.inferred, period_days=context.days_for(branch_id),
        peer_seconds=round(peer, 3),
        **peer_basis_fields("overall", int(row["groups"])),
    )
    return replace(finding, summary=finding.summary_in("en"))


def _costliest(groups: pd.DataFrame, top: int = 5) -> list[dict[str, Any]]:
    """The ``top`` groups that lose the most time against the peers."""
    lost = groups["n"] * (groups["median"] - groups["peer"]).clip(lower=0.0)
    chosen = groups.assign(lost=lost).sort_values(["lost", *_PAIR], ascending=[False, True,
                                                                               True]).head(top)
    return [{"business_type": str(b), "activity": str(a), "steps": int(n),
             "median_seconds": round(float(m), 3), "peer_seconds": round(float(p), 3),
             "ratio": round(float(m) / float(p), 3), "time_lost_seconds": round(float(x), 1)}
            for b, a, n, m, p, x in zip(chosen["business_type"], chosen["activity"],
                                        chosen["n"], chosen["median"], chosen["peer"],
                                        chosen["lost"], strict=True)]


def _cases(context: FindingContext, branch_id: str, teller_id: str | None) -> int:
    """A teller's (a branch's) transactions: per teller x business type the count of its most
    frequent step (every transaction has its call step once), summed."""
    stats = context.teller_stats
    mine = stats[stats["branch_id"] == branch_id]
    if teller_id is not None:
        mine = mine[mine["teller_id"] == teller_id]
    per_type = mine.groupby(["teller_id", "business_type"], dropna=False)["count"].max()
    return int(per_type.sum())
