"""Variants: the step sequences the cases of a business type follow, how often, how long.

A case's **variant** is the sequence of its steps' activities, ordered by each step's start
(its end where it has none; ties by end, then activity), the same order as the step view of
:mod:`procmine.analysis.steps`. Repeated steps stay in the sequence (rework is a variant of its
own). The engine builds each case's sequence (its steps sorted within a list, grouped by case)
and counts the cases of each sequence, with the quantiles of their **dwell time** (the case's
first step start to its last step end); Python only sorts the reduced table.

For each variant: ``cases``, ``share`` of all the chosen cases, ``cumulative_share`` down the
ranking (the Pareto curve of variant coverage: how many variants cover 80 % of the cases),
``median_dwell_seconds`` and ``p90_dwell_seconds`` (exact, ``quantile_cont``). Variants are
ranked by cases, most first, ties by their activities (lexicographic), so the ranking is the
same on every run. ``top`` keeps the N most frequent; shares still refer to all cases.

**The SOP's variant.** The approved SOP that governs the business type (the first SOP by id
whose latest approved version names the type, as :func:`procmine.sop.links.sop_references`
chooses) prescribes the sequence of its standard path: its non-conditional steps in the SOP's
order (a conditional step, such as the identity check of a large withdrawal, belongs to the
cases that meet its condition, not to the standard path). Variants equal to it are marked
``prescribed``; the table names the SOP version (``"SOP-P18@3.0"``). The library is read
through the few methods of :class:`StepLibrary` (a :class:`procmine.sop.library.SopLibrary`
has them): the SOP room builds on this one, so this module does not import it.

Example:
    >>> table = variants(store, business_type="P18", library=library, top=3)
    >>> table.sop, bool(table.frame.loc[0, "prescribed"]), len(table.frame)
    ('SOP-P18@3.0', True, 3)
    >>> table.frame.loc[0, "activities"][:3]
    ('Call number', 'Greet and check ticket', 'Ask need')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import pandas as pd

from procmine.analysis.filters import Filters
from procmine.analysis.steps import StepData
from procmine.core.errors import ProcmineError
from procmine.store.engine import Engine
from procmine.store.event_store import EventStore

__all__ = [
    "VARIANT_COLUMNS",
    "StepLibrary",
    "VariantTable",
    "prescribed_sequence",
    "variants",
]

#: The columns of :attr:`VariantTable.frame`, in order.
VARIANT_COLUMNS: Final[tuple[str, ...]] = (
    "rank", "activities", "length", "cases", "share", "cumulative_share",
    "median_dwell_seconds", "p90_dwell_seconds", "prescribed",
)

# One row per variant: its cases and the quantiles of their dwell times. A case's sequence is
# ordered as the step view orders a case (procmine.analysis.steps): its steps as (start, end,
# activity) structs, sorted, then their activities. Not ``list(activity ORDER BY ...)``: Spark's
# collect_list has no order, and SQLGlot drops the ORDER BY; sorting the structs (DuckDB's
# list_sort, Spark's array_sort) gives the same order on both engines.
_VARIANTS_SQL = """
    WITH cases AS (
        SELECT case_id,
               list_transform(list_sort(list({'started': started, 'end_time': end_time,
                                              'activity': activity})),
                              lambda s: s.activity) AS activities,
               epoch(max(end_time) - min(started)) AS dwell_seconds
        FROM steps
        GROUP BY case_id
    )
    SELECT activities, count(*) AS cases,
           quantile_cont(dwell_seconds, [0.5, 0.9]) AS quantiles
    FROM cases
    GROUP BY activities
"""


# -- the SOP's sequence ------------------------------------------------------------------------


class _Step(Protocol):
    @property
    def activity(self) -> str: ...


class _Sop(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def version(self) -> str: ...

    def steps_for(self, business_type: str, *, conditional: bool = True) -> Sequence[_Step]: ...


class _Version(Protocol):
    @property
    def sop(self) -> _Sop: ...


class StepLibrary(Protocol):
    """What :func:`variants` reads of an SOP library (:class:`procmine.sop.library.SopLibrary`):
    the SOP ids and the latest approved version of each (None when never approved or
    retired)."""

    def ids(self) -> list[str]: ...

    def approved(self, sop_id: str) -> _Version | None: ...


def prescribed_sequence(library: StepLibrary,
                        business_type: str) -> tuple[tuple[str, ...], str] | None:
    """The step sequence the SOP in force prescribes for a business type, and the SOP version
    as ``"SOP-P18@3.0"``: the standard path (non-conditional steps, in order) of the latest
    approved version of the first SOP (by id) that governs the type; None when none does.

    Example:
        >>> steps, sop = prescribed_sequence(library, "P18")
        >>> sop, steps[0], steps[-1], len(steps)
        ('SOP-P18@3.0', 'Call number', 'See off', 11)
    """
    for sop_id in sorted(library.ids()):
        version = library.approved(sop_id)
        if version is None:
            continue
        steps = version.sop.steps_for(business_type, conditional=False)
        if steps:
            return (tuple(s.activity for s in steps),
                    f"{version.sop.id}@{version.sop.version}")
    return None


# -- the table ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-ready value: NaN -> None, numpy scalars -> Python."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


@dataclass(frozen=True, eq=False)
class VariantTable:
    """The variants of the chosen cases, most frequent first (:func:`variants`).

    ``frame`` has the columns of :data:`VARIANT_COLUMNS`: ``rank`` (1 = most frequent),
    ``activities`` (a tuple of str), ``length`` (steps), ``cases``, ``share`` and
    ``cumulative_share`` (of all ``cases``, also when ``top`` cut the table),
    ``median_dwell_seconds``, ``p90_dwell_seconds`` and ``prescribed`` (the SOP's sequence).
    ``prescribed`` is that sequence and ``sop`` its SOP version, when an SOP governs the type;
    ``prescribed_rank`` and ``prescribed_cases`` tell where the prescribed variant stands among
    all variants (None and 0 when no case follows it), also when ``top`` cut it off;
    ``variant_count`` is the number of distinct variants before the cut.
    """

    business_type: str | None
    cases: int
    frame: pd.DataFrame
    prescribed: tuple[str, ...] | None
    sop: str | None
    prescribed_rank: int | None = None
    prescribed_cases: int = 0
    variant_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain fields (the JSON of ``procmine variants --json``): ``business_type``,
        ``cases``, ``variant_count``, ``sop``, ``prescribed`` (a list or null),
        ``prescribed_rank``, ``prescribed_cases`` and ``variants``: one object per row of
        :attr:`frame` with ``activities`` as a list (NaN -> null).

        Example:
            >>> data = variants(store, business_type="P18", library=library, top=1).to_dict()
            >>> data["sop"], data["variants"][0]["rank"], data["variants"][0]["prescribed"]
            ('SOP-P18@3.0', 1, True)
        """
        rows = []
        for record in self.frame.to_dict("records"):
            row = {k: _plain(v) for k, v in record.items()}
            row["activities"] = list(record["activities"])
            rows.append(row)
        return {
            "business_type": self.business_type, "cases": self.cases,
            "variant_count": self.variant_count, "sop": self.sop,
            "prescribed": list(self.prescribed) if self.prescribed is not None else None,
            "prescribed_rank": self.prescribed_rank,
            "prescribed_cases": self.prescribed_cases, "variants": rows,
        }

    def pareto(self) -> pd.DataFrame:
        """The coverage curve: ``rank``, ``share``, ``cumulative_share`` per variant (of the
        rows kept)."""
        return self.frame[["rank", "share", "cumulative_share"]].reset_index(drop=True)


def _counted(data: StepData) -> list[tuple[tuple[str, ...], int, float, float]]:
    """(activities, cases, median dwell, p90 dwell) per variant, ranked."""
    raw = data.query(_VARIANTS_SQL)
    rows = []
    for activities, cases, quantiles in zip(raw["activities"], raw["cases"], raw["quantiles"],
                                            strict=True):
        q = list(quantiles) if quantiles is not None else [None, None]
        rows.append((tuple(str(a) for a in activities), int(cases),
                     float("nan") if q[0] is None else float(q[0]),
                     float("nan") if q[1] is None else float(q[1])))
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows


def _frame(rows: Sequence[tuple[tuple[str, ...], int, float, float]], total: int,
           prescribed: tuple[str, ...] | None) -> pd.DataFrame:
    cases = pd.Series([r[1] for r in rows], dtype="int64")
    share = cases / total if total else cases.astype(float)
    frame = pd.DataFrame({
        "rank": pd.Series(range(1, len(rows) + 1), dtype="int64"),
        "activities": pd.Series([r[0] for r in rows], dtype=object),
        "length": pd.Series([len(r[0]) for r in rows], dtype="int64"),
        "cases": cases,
        "share": share.astype(float),
        "cumulative_share": share.cumsum().astype(float),
        "median_dwell_seconds": pd.Series([r[2] for r in rows], dtype=float),
        "p90_dwell_seconds": pd.Series([r[3] for r in rows], dtype=float),
        "prescribed": pd.Series([r[0] == prescribed for r in rows], dtype=bool),
    })
    return frame[list(VARIANT_COLUMNS)]


def variants(store: EventStore, *, business_type: str | None = None,
             filters: Filters | None = None, library: StepLibrary | None = None,
             engine: Engine | None = None, top: int | None = None) -> VariantTable:
    """The variants of the cases of a business type (every type: ``None``), within
    ``filters`` (period, branches, tellers), most frequent first; the engine (DuckDB by
    default) builds and counts the sequences. With ``library`` the SOP's sequence for the
    type is marked (:func:`prescribed_sequence`). ``top`` keeps the N most frequent.

    Example:
        >>> table = variants(store, business_type="P18")
        >>> table.sop is None, int(table.frame["cases"].sum()) == table.cases
        (True, True)
    """
    if top is not None and top < 1:
        raise ProcmineError(f"top {top}: give at least 1 variant")
    types = [business_type] if business_type is not None else None
    with StepData(store, filters=filters, business_types=types, engine=engine) as data:
        rows = _counted(data)
    found = (prescribed_sequence(library, business_type)
             if library is not None and business_type is not None else None)
    sequence, sop = found if found is not None else (None, None)
    total = sum(r[1] for r in rows)
    frame = _frame(rows, total, sequence)
    rank, followed = None, 0
    hits = frame.index[frame["prescribed"]]
    if len(hits):
        rank, followed = int(frame.loc[hits[0], "rank"]), int(frame.loc[hits[0], "cases"])
    if top is not None:
        frame = frame.head(top).reset_index(drop=True)
    return VariantTable(business_type=business_type, cases=total, frame=frame,
                        prescribed=sequence, sop=sop, prescribed_rank=rank,
                        prescribed_cases=followed, variant_count=len(rows))
