"""The figures of groups of steps within slices, for the conditional slow steps
(:mod:`procmine.analysis.conditional`): what peers do in each slice, and a group's median,
p90, the interval of its median, its reference, its one-sided test against the rest of its
slice, its cases and the time it loses there.

``values`` everywhere is a frame of the steps of some slices, sorted by ``slice`` and then by
time: ``slice`` (an integer), ``gid`` (the teller x branch x type x step group, -1 for none),
``case_key``, ``service_seconds`` and ``ref_seconds`` (the reference in force on the step, NaN
where none is: the group's ``share_reference`` applies). A group in a slice is a row of a
``frame``; ``coded`` gives each step's row (-1: none of them).

Example:
    >>> import numpy as np
    >>> [float(x) for x in quantiles(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0]),
    ...                              np.array([4]), 0.5)]
    [2.5]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binom

from procmine.analysis.judging import LEVEL, peer_medians
from procmine.analysis.stats import mann_whitney_greater

__all__ = ["add_tests_and_costs", "figures", "interval_rank", "peers_in_slices", "quantiles"]


def interval_rank(n: np.ndarray) -> np.ndarray:
    """The rank ``j`` of the interval of a median of ``n`` values (from either end, as
    :func:`~procmine.analysis.judging.median_interval`), computed once per distinct ``n``.

    Example:
        >>> [int(j) for j in interval_rank(np.array([100, 30, 100]))]
        [40, 10, 40]
    """
    sizes, inverse = np.unique(n, return_inverse=True)
    return np.maximum(1, binom.ppf((1 - LEVEL) / 2, sizes, 0.5)).astype(np.int64)[inverse]


def peers_in_slices(values: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Per slice x branch: what peers do in the slice (:func:`peer_medians` over the slice's
    teller statistics: ``peer_seconds``, ``peer_branches``), the slice's median over the bank
    (``bank_median_seconds``) and over the branch (``branch_median_seconds``)."""
    known = values[values["gid"] >= 0]
    by_teller = (known.groupby(["slice", "gid"])["service_seconds"].agg(["count", "median"])
                 .reset_index().rename(columns={"median": "median_seconds"}))
    by_teller = by_teller.merge(groups[["gid", "teller_id", "branch_id"]], on="gid")
    peers = peer_medians(by_teller.assign(business_type=by_teller["slice"].astype(str),
                                          activity=""))
    peers["slice"] = peers["business_type"].astype(np.int64)
    branch_of = groups["branch_id"].to_numpy()[known["gid"].to_numpy()]
    branch = (known.assign(branch_id=branch_of).groupby(["slice", "branch_id"])
              ["service_seconds"].median().rename("branch_median_seconds").reset_index())
    bank = values.groupby("slice")["service_seconds"].median().rename("bank_median_seconds")
    frame = peers[["slice", "branch_id", "peer_seconds", "peer_branches"]].merge(
        branch, on=["slice", "branch_id"], how="outer")
    return frame.merge(bank.reset_index(), on="slice", how="left")


def quantiles(times: np.ndarray, start: np.ndarray, n: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile (linear, as ``quantile_cont``) of runs of sorted ``times``."""
    h = (n - 1) * q
    below = np.floor(h).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    lo, hi = times[start + below], times[start + above]
    return lo + (h - below) * (hi - lo)


def figures(values: pd.DataFrame, coded: np.ndarray, frame: pd.DataFrame) -> pd.DataFrame:
    """Per candidate (``coded``: each value's row in ``frame``, -1 for none) in its slice: its
    steps, median, p90, the interval of its median (as
    :func:`~procmine.analysis.judging.median_interval`), its reference (the step-weighted mean of
    the references in force on its steps, the share where none is) and its steps with an SOP
    reference in force."""
    mine = np.flatnonzero(coded >= 0)
    code = coded[mine]
    times = values["service_seconds"].to_numpy()[mine]
    order = np.lexsort((times, code))  # each candidate's steps together, by time
    code, times = code[order], times[order]
    step_refs = values["ref_seconds"].to_numpy()[mine][order]
    m = len(frame)
    n = np.bincount(code, minlength=m)
    start = np.concatenate(([0], np.cumsum(n)[:-1]))
    j = interval_rank(n)
    in_force = np.where(np.isnan(step_refs), frame["share_reference"].to_numpy(float)[code],
                        step_refs)
    known = ~np.isnan(in_force)
    with np.errstate(invalid="ignore", divide="ignore"):
        reference = (np.bincount(code, weights=np.where(known, in_force, 0.0), minlength=m)
                     / np.bincount(code, weights=known.astype(float), minlength=m))
    return pd.DataFrame({
        "steps": n,
        "median_seconds": quantiles(times, start, n, 0.5),
        "p90_seconds": quantiles(times, start, n, 0.9),
        "ci_low_seconds": times[start + j - 1],
        "ci_high_seconds": times[start + n - j],
        "reference_seconds": reference,
        "sop_steps": np.bincount(code, weights=(~np.isnan(step_refs)).astype(float),
                                 minlength=m),
    }, index=frame.index)


def add_tests_and_costs(values: pd.DataFrame, coded: np.ndarray, frame: pd.DataFrame) -> None:
    """Add ``p_value`` (one-sided Mann-Whitney against the other steps of the slice),
    ``cases`` and ``time_lost`` (the sum over its cases of the time in the slice beyond the
    reference in force) to the material candidates of ``frame`` (p = 1, 0, 0 for the others)."""
    material = frame["material"].to_numpy()
    frame["p_value"] = 1.0
    frame["cases"] = 0
    frame["time_lost"] = 0.0
    if not material.any():
        return
    coded = np.where((coded >= 0) & material[np.maximum(coded, 0)], coded, -1)
    slice_col = values["slice"].to_numpy()
    times = values["service_seconds"].to_numpy()
    bounds = np.searchsorted(slice_col, np.arange(int(slice_col.max()) + 2))
    p_values = np.ones(len(frame))
    for slice_id in np.unique(frame.loc[material, "slice"]):
        lo, hi = int(bounds[slice_id]), int(bounds[slice_id + 1])
        members = np.unique(coded[lo:hi][coded[lo:hi] >= 0])
        local = np.full(len(frame) + 1, -1, dtype=np.int64)
        local[members] = np.arange(members.size)
        _, p = mann_whitney_greater(times[lo:hi], local[coded[lo:hi]], members.size)
        p_values[members] = p
    frame["p_value"] = p_values
    mine = coded >= 0
    share = frame["share_reference"].to_numpy(float)
    refs = values["ref_seconds"].to_numpy()[mine]
    steps = pd.DataFrame({"code": coded[mine], "case_key": values["case_key"].to_numpy()[mine],
                          "seconds": times[mine],
                          "ref": np.where(np.isnan(refs), share[coded[mine]], refs)})
    # a case's reference: the one in force on its step (the largest, if it differs)
    per_case = steps.groupby(["code", "case_key"]).agg(seconds=("seconds", "sum"),
                                                       ref=("ref", "max"))
    excess = (per_case["seconds"] - per_case["ref"]).clip(lower=0.0)  # NaN: no reference
    by_code = excess.groupby(level="code")
    frame.loc[by_code.sum().index, "time_lost"] = by_code.sum().to_numpy()
    frame.loc[by_code.size().index, "cases"] = by_code.size().to_numpy()
