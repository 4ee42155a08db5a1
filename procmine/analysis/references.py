"""The reference times of the slow-step analysis: SOP rows checked and shaped for the engine,
the normalised baseline shares, and each group's reference from both.

A step's reference is its SOP step's standard in force on its date (a :class:`StepReference`
row: a branch's row before an all-branch row), otherwise its share of the type's standard time,
normalised so that a transaction's steps at their references add up to the standard. A group's
reference is the step-weighted mean of its steps' (see :mod:`procmine.analysis.bottlenecks`).

Example:
    >>> reference_rows(None).table is None
    True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa

from procmine.analysis.findings import StepReference, StepReferences
from procmine.analysis.steps import REFERENCE_SCHEMA
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError

__all__ = ["References", "group_references", "reference_rows", "share_references"]

_PAIR: Final[list[str]] = ["business_type", "activity"]


@dataclass(frozen=True)
class References:
    """Reference rows as the engine joins them (:data:`REFERENCE_SCHEMA`) and the SOP (id,
    step, version) of each ``sop_key``."""

    table: pa.Table | None
    sops: tuple[tuple[str, str, str], ...]


def reference_rows(step_references: StepReferences | None) -> References:
    """Check the references and put them in the engine's shape: positive seconds, a start
    before the end, and no two rows of the same type x step and branch (or of every branch) in
    force on the same day."""
    if not step_references:
        return References(None, ())
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
    return References(table, tuple(sorted(sops, key=lambda k: sops[k])))


def share_references(bank: pd.DataFrame, baseline: Baseline) -> pd.DataFrame:
    """The bank-wide row of every type x step with its baseline-share reference: the type's
    standard time split over its steps by their median shares of the transaction, normalised
    so that a transaction's steps at those references add up to the standard (the shares
    weighted by the steps per case sum to 1; NaN where the type has no standard time)."""
    refs = bank.copy()
    standard = refs["business_type"].map(
        lambda c: baseline.standard_seconds(c) if c in baseline else np.nan)
    cases = refs.groupby("business_type")["case_weight"].transform("sum")
    weighted = (refs["share"] * refs["count"] / cases).groupby(refs["business_type"]
                                                              ).transform("sum")
    share = standard * refs["share"] / weighted.where(weighted > 0)
    refs["share_reference"] = share.where(share > 0)
    return refs.rename(columns={"median_seconds": "bank_median_seconds", "count": "bank_count"})[
        [*_PAIR, "share_reference", "bank_median_seconds", "bank_count"]]


def group_references(frame: pd.DataFrame, references: References) -> pd.DataFrame:
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
