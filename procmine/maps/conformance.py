"""Conformance against the SOP in force: were the SOP's steps followed, by whom, at what cost.

Each transaction is checked against the reference model of the SOP version in force on its
first day at its branch (:mod:`procmine.maps.reference`): its steps in order, the steps required
for it (a conditional step whose ``required_when`` holds on the transaction's amount, window or
segment is required; one without a condition is optional), and an optimal alignment
(:mod:`procmine.maps.alignment`) names its deviations: **skipped** steps (a skipped control step
is a control risk, for the compliance group), **extra** steps, **rework** and **order**
deviations, and its fitness.

How it scales: the engine (DuckDB over the store, or Spark) builds each transaction's step
sequence, teller, branch, type, day and condition flags once (a table of the session), and the
model in force on its day (a join with the models' periods); the alignment runs in Python once
per distinct sequence x model x condition flags (a few thousand, whatever the number of
events); the engine then joins the verdicts back to the transactions and aggregates: fitness and
conformance per teller, branch and type (GROUPING SETS), and one row per deviation with its
transaction and the seconds its event took. Transactions of a type no SOP governs, or dated
before its first version, are counted as ``unchecked``.

Example:
    >>> report = conformance(store, library, business_type="P18")
    >>> report.cases > 0 and 0.0 <= report.fitness <= 1.0
    True
    >>> sorted(report.deviations["kind"].unique())[:2]
    ['rework', 'skipped']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procmine.analysis.filters import Filters
from procmine.analysis.steps import StepData
from procmine.core.plain import plain_value
from procmine.maps.alignment import DEVIATION_KINDS, align
from procmine.maps.reference import ReferenceModel, reference_models
from procmine.sop.activity_names import ActivityNames, activity_names
from procmine.sop.conditions import Condition
from procmine.sop.library import SopLibrary
from procmine.store.engine import Engine
from procmine.store.event_store import EventStore

__all__ = [
    "DEVIATION_COLUMNS",
    "LEVEL_COLUMNS",
    "ConformanceReport",
    "conformance",
]

#: The columns of :attr:`ConformanceReport.deviations` (one row per deviation).
DEVIATION_COLUMNS: Final[tuple[str, ...]] = (
    "case_id", "teller_id", "branch_id", "business_type", "day", "sop", "kind", "activity",
    "step_id", "control", "position", "seconds",
)
#: The columns of :attr:`ConformanceReport.levels` (one row per group of a level).
LEVEL_COLUMNS: Final[tuple[str, ...]] = (
    "level", "teller_id", "branch_id", "business_type", "cases", "conforming",
    "conformance_rate", "fitness", "deviations", "control_risk_cases",
)
#: The levels of :attr:`ConformanceReport.levels` and their key columns.
LEVELS: Final[dict[str, tuple[str, ...]]] = {
    "teller": ("teller_id", "branch_id"),
    "teller_type": ("teller_id", "branch_id", "business_type"),
    "branch": ("branch_id",),
    "branch_type": ("branch_id", "business_type"),
    "type": ("business_type",),
    "bank": (),
}

# One row per transaction: its steps in order (as variants.py orders them), the attributed
# teller, branch, type (most of its steps'), its first day, its condition flags, and the index
# of the reference model in force on that day at its branch (a branch's own timeline first).
_CASES_SQL = """
    WITH ordered AS (
        SELECT case_id,
               list_sort(list({{'started': started, 'end_time': end_time,
                                'activity': activity, 'seconds': service_seconds}})) AS events,
               mode(teller_id ORDER BY teller_id) AS teller_id,
               mode(branch_id ORDER BY branch_id) AS branch_id,
               mode(business_type ORDER BY business_type) AS business_type,
               mode(window_type ORDER BY window_type) AS window_type,
               mode(segment ORDER BY segment) AS segment,
               max(amount) AS amount,
               CAST(min(started) AS DATE) AS day
        FROM steps
        GROUP BY case_id
    )
    SELECT o.case_id, o.teller_id, o.branch_id, o.business_type, o.day,
           coalesce(rb.model, ra.model) AS model,
           list_transform(o.events, lambda e: e.activity) AS activities,
           list_transform(o.events, lambda e: e.seconds) AS seconds,
           {mask} AS mask
    FROM ordered o
    LEFT JOIN periods_branch rb
           ON rb.business_type = o.business_type AND rb.branch_id = o.branch_id
          AND rb.valid_from <= o.day AND (rb.valid_to IS NULL OR o.day < rb.valid_to)
    LEFT JOIN periods_all ra
           ON ra.business_type = o.business_type
          AND ra.valid_from <= o.day AND (ra.valid_to IS NULL OR o.day < ra.valid_to)
"""

_VARIANTS_SQL = """
    SELECT activities, model, mask, count(*) AS cases
    FROM conformance_cases
    GROUP BY activities, model, mask
"""

_JUDGED = """
    SELECT c.*, r.fitness, r.deviations, r.control_risk
    FROM conformance_cases c
    JOIN variant_results r
      ON r.activities = c.activities AND r.model = c.model AND r.mask = c.mask
"""

_LEVELS_SQL = f"""
    WITH judged AS ({_JUDGED})
    SELECT teller_id, branch_id, business_type,
           grouping(teller_id, branch_id, business_type) AS level_id,
           count(*) AS cases,
           count(*) FILTER (WHERE deviations = 0) AS conforming,
           avg(fitness) AS fitness,
           coalesce(sum(deviations), 0) AS deviations,
           count(*) FILTER (WHERE control_risk) AS control_risk_cases
    FROM judged
    GROUP BY GROUPING SETS ((teller_id, branch_id), (teller_id, branch_id, business_type),
                            (branch_id), (branch_id, business_type), (business_type), ())
"""

# The seconds of the deviating event: ``seconds[position + 1]`` (1-based), with the position
# cast to an integer so that the Spark translation knows it indexes a list by a number and makes
# the index 0-based (a column of unknown type keeps its index as written; list_extract has no
# Spark translation).
_DEVIATIONS_SQL = """
    SELECT c.case_id, c.teller_id, c.branch_id, c.business_type, c.day, c.model,
           d.kind, d.activity, d.step_id, d.control, d.position,
           CASE WHEN d.position IS NULL THEN NULL
                ELSE c.seconds[CAST(d.position AS INTEGER) + 1] END AS seconds
    FROM conformance_cases c
    JOIN variant_deviations d
      ON d.activities = c.activities AND d.model = c.model AND d.mask = c.mask
"""

# grouping(teller_id, branch_id, business_type) of each level: a bit per column left out
_LEVEL_IDS: Final[dict[int, str]] = {0b001: "teller", 0b000: "teller_type", 0b101: "branch",
                                     0b100: "branch_type", 0b110: "type", 0b111: "bank"}

_RESULT_SCHEMA: Final = pa.schema([
    ("activities", pa.list_(pa.string())), ("model", pa.int32()), ("mask", pa.int64()),
    ("cost", pa.int32()), ("fitness", pa.float64()), ("deviations", pa.int32()),
    ("control_risk", pa.bool_()),
])
_DEVIATION_SCHEMA: Final = pa.schema([
    ("activities", pa.list_(pa.string())), ("model", pa.int32()), ("mask", pa.int64()),
    ("kind", pa.string()), ("activity", pa.string()), ("step_id", pa.string()),
    ("control", pa.bool_()), ("position", pa.int32()),
])


def _plain(value: Any) -> Any:
    value = plain_value(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


@dataclass(frozen=True, eq=False)
class ConformanceReport:
    """The conformance of the chosen transactions to the SOP in force (:func:`conformance`).

    ``cases``: transactions checked (an SOP was in force); ``unchecked``: the others;
    ``conforming``: checked transactions without a deviation; ``fitness``: their mean fitness.
    ``levels`` (:data:`LEVEL_COLUMNS`): per teller, teller x type, branch, branch x type, type
    and the bank. ``deviations`` (:data:`DEVIATION_COLUMNS`): one row per deviation, with its
    transaction, the SOP version (``"SOP-P18@3.0"``) and the seconds of the deviating event
    (None for a skipped step). ``models``: the reference models by SOP version and type.
    ``names``: the activities' display names (an extra step's from the activity glossary).
    ``variants``: the distinct sequences x models x condition flags aligned.
    """

    business_type: str | None
    cases: int
    unchecked: int
    conforming: int
    fitness: float
    levels: pd.DataFrame
    deviations: pd.DataFrame
    models: dict[tuple[str, str], ReferenceModel] = field(default_factory=dict)
    variants: int = 0
    names: ActivityNames | None = None  # the activities' display names (extra steps' too)

    @property
    def conformance_rate(self) -> float:
        return self.conforming / self.cases if self.cases else float("nan")

    def level(self, name: str) -> pd.DataFrame:
        """The rows of one level (``teller``, ``teller_type``, ``branch``, ``branch_type``,
        ``type``, ``bank``), lowest fitness first."""
        rows = self.levels[self.levels["level"] == name]
        return rows.sort_values(["fitness", "cases"], ascending=[True, False]).reset_index(
            drop=True)

    def ranked(self) -> pd.DataFrame:
        """The deviations grouped by kind x type x activity (x SOP step), most frequent first:
        ``occurrences``, ``cases``, ``share`` (of the type's checked transactions),
        ``seconds`` (their events' time; 0 for skipped steps), ``tellers``, ``control``."""
        columns = ["kind", "business_type", "activity", "step_id", "control", "sop",
                   "occurrences", "cases", "share", "seconds", "tellers"]
        if self.deviations.empty:
            return pd.DataFrame(columns=columns)
        grouped = self.deviations.groupby(
            ["kind", "business_type", "activity", "step_id", "control", "sop"], dropna=False)
        frame = grouped.agg(occurrences=("case_id", "size"), cases=("case_id", "nunique"),
                            seconds=("seconds", "sum"), tellers=("teller_id", "nunique"))
        frame = frame.reset_index()
        per_type = self.level("type").set_index("business_type")["cases"]
        frame["share"] = frame["cases"] / frame["business_type"].map(per_type).astype(float)
        frame["seconds"] = frame["seconds"].fillna(0.0).astype(float)
        frame = frame.sort_values(["occurrences", "seconds", "kind", "activity"],
                                  ascending=[False, False, True, True])
        return frame[columns].reset_index(drop=True)

    def control_risks(self) -> pd.DataFrame:
        """The skipped control steps, one row per transaction and step (the compliance
        group's list)."""
        rows = self.deviations[(self.deviations["kind"] == "skipped")
                               & self.deviations["control"].astype(bool)]
        return rows.sort_values(["day", "case_id"]).reset_index(drop=True)

    def to_dict(self, *, cases_per_row: int = 20) -> dict[str, Any]:
        """Plain JSON values (what ``procmine conformance --json`` prints): the totals,
        ``levels`` by level name, ``ranked`` deviations (each with up to ``cases_per_row``
        case ids) and ``control_risks`` (every skipped control step with its case)."""
        ranked = self.ranked()
        examples: dict[tuple[Any, ...], list[str]] = {}
        keys = ["kind", "business_type", "activity", "step_id", "sop"]
        for key, rows in self.deviations.groupby(keys, dropna=False):
            ids = sorted(rows["case_id"].astype(str).unique())[:cases_per_row]
            examples[tuple(_plain(k) for k in key)] = ids  # a NaN step id: None, as in ranked
        out_ranked = []
        for row in _records(ranked):
            row["case_ids"] = examples.get(tuple(row[k] for k in keys), [])
            out_ranked.append(row)
        return {
            "business_type": self.business_type, "cases": self.cases,
            "unchecked": self.unchecked, "conforming": self.conforming,
            "conformance_rate": _plain(self.conformance_rate), "fitness": _plain(self.fitness),
            "variants": self.variants,
            "levels": {name: _records(self.level(name).drop(columns=["level"]))
                       for name in LEVELS},
            "ranked": out_ranked,
            "control_risks": _records(self.control_risks()),
        }


def _mask_sql(conditions: Sequence[Condition]) -> str:
    if not conditions:
        return "CAST(0 AS BIGINT)"
    parts = [f"CASE WHEN {c.sql()} THEN {1 << k} ELSE 0 END" for k, c in enumerate(conditions)]
    return "CAST(" + " + ".join(parts) + " AS BIGINT)"


def _aligned(variants: pd.DataFrame, models: Sequence[ReferenceModel],
             conditions: Sequence[Condition]) -> tuple[pa.Table, pa.Table]:
    """The verdict of every distinct sequence x model x flags, and its deviations."""
    results: list[dict[str, Any]] = []
    deviations: list[dict[str, Any]] = []
    for activities, model_index, mask in zip(variants["activities"], variants["model"],
                                             variants["mask"], strict=True):
        model = models[int(model_index)]
        trace = [str(a) for a in activities]
        holding = {c.text for k, c in enumerate(conditions) if int(mask) >> k & 1}
        result = align(model, trace, model.required(holding))
        key = {"activities": trace, "model": int(model_index), "mask": int(mask)}
        results.append({**key, "cost": result.cost, "fitness": result.fitness,
                        "deviations": len(result.deviations),
                        "control_risk": any(d.kind == "skipped" and d.control
                                            for d in result.deviations)})
        deviations.extend({**key, "kind": d.kind, "activity": d.activity, "step_id": d.step_id,
                           "control": d.control, "position": d.position}
                          for d in result.deviations)
    return (pa.Table.from_pylist(results, schema=_RESULT_SCHEMA),
            pa.Table.from_pylist(deviations, schema=_DEVIATION_SCHEMA))


def _levels(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["level"] = frame.pop("level_id").map(lambda v: _LEVEL_IDS[int(v)])
    frame = frame.astype({"cases": "int64", "conforming": "int64", "deviations": "int64",
                          "control_risk_cases": "int64", "fitness": "float64"})
    frame["conformance_rate"] = frame["conforming"] / frame["cases"]
    order = {name: i for i, name in enumerate(LEVELS)}
    frame = frame.sort_values(["level", "teller_id", "branch_id", "business_type"],
                              key=lambda s: s.map(order) if s.name == "level" else s)
    return frame[list(LEVEL_COLUMNS)].reset_index(drop=True)


def _deviation_frame(raw: pd.DataFrame, models: Sequence[ReferenceModel]) -> pd.DataFrame:
    if raw.empty:
        return pd.DataFrame(columns=list(DEVIATION_COLUMNS))
    frame = raw.copy()
    frame["sop"] = frame.pop("model").map(lambda i: models[int(i)].key)
    frame["position"] = frame["position"].astype("Int64")
    frame["seconds"] = frame["seconds"].astype(float)
    frame["control"] = frame["control"].astype(bool)
    kind_order = {k: i for i, k in enumerate(DEVIATION_KINDS)}
    frame = frame.sort_values(["case_id", "position", "kind"],
                              key=lambda s: s.map(kind_order) if s.name == "kind" else s,
                              na_position="last")
    return frame[list(DEVIATION_COLUMNS)].reset_index(drop=True)


def conformance(store: EventStore, library: SopLibrary, *, business_type: str | None = None,
                filters: Filters | None = None, engine: Engine | None = None
                ) -> ConformanceReport:
    """Check the transactions of a business type (every type with an SOP: None) within
    ``filters`` (period, branches, tellers) against the SOP version in force on each one's day
    at its branch. The engine (DuckDB by default, Spark via ``engine``) does the per-event
    work; Python aligns each distinct sequence once.

    Example:
        >>> report = conformance(store, library, filters=Filters(branches=("B01",)))
        >>> set(report.level("branch")["branch_id"])
        {'B01'}
    """
    types = [business_type] if business_type is not None else None
    models, periods = reference_models(library, types)
    conditions: list[Condition] = []
    for model in models:
        for condition in model.conditions:
            if condition.text not in {c.text for c in conditions}:
                conditions.append(condition)
    is_all = pc.is_null(periods.column("branch_id"))
    with StepData(store, None, filters, business_types=types, engine=engine) as data:
        data.create_table("periods_branch", periods.filter(pc.invert(is_all)))
        data.create_table("periods_all", periods.filter(is_all))
        data.create_table("conformance_cases", _CASES_SQL.format(mask=_mask_sql(conditions)))
        variants = data.query(_VARIANTS_SQL)
        checked = variants[variants["model"].notna()]
        unchecked = int(variants.loc[variants["model"].isna(), "cases"].sum())
        results, deviations = _aligned(checked, models, conditions)
        tables = {"variant_results": results, "variant_deviations": deviations}
        levels = _levels(data.query(_LEVELS_SQL, tables))
        raw = data.query(_DEVIATIONS_SQL, tables)
    bank = levels[levels["level"] == "bank"]
    cases = int(bank["cases"].sum())
    return ConformanceReport(
        business_type=business_type, cases=cases, unchecked=unchecked,
        conforming=int(bank["conforming"].sum()),
        fitness=float(bank["fitness"].iloc[0]) if cases else float("nan"),
        levels=levels[levels["cases"] > 0].reset_index(drop=True),
        deviations=_deviation_frame(raw, models),
        models={(m.key, m.business_type): m for m in models}, variants=len(checked),
        names=activity_names(library, strict=False))
