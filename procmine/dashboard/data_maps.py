"""Cached access to the process maps and variants for the pages (the ``# maps`` readers).

The same :func:`procmine.dashboard.data.cached` decorator as every other reader: a result is
kept until the store changes (a new ingest), and the variants, which mark the SOP's sequence,
and the conformance report, which checks against the SOPs in force, until the SOP library
changes too. The pages filter a map (hide its rare paths) on the cached
result, so moving the threshold slider runs no query.
"""

from __future__ import annotations

import pandas as pd

from procmine import (
    ConformanceReport,
    DeviationFinding,
    Filters,
    ProcessMap,
    VariantTable,
    case_steps,
    conformance,
    deviation_findings,
    model_from_map,
    process_map,
    variants,
)
from procmine.dashboard.components.model_chart import DrawnModel
from procmine.dashboard.data import cached, library, store

#: How many variants the variants page lists at first
VARIANTS_TOP = 10

__all__ = ["VARIANTS_TOP", "case_events", "conformance_of", "deviation_findings_of", "map_of",
           "model_of", "variants_of"]


# maps --------------------------------------------------------------------------------------------


@cached()
def map_of(code: str, filters: Filters) -> ProcessMap:
    """The process map of business type ``code`` within ``filters`` (period, branches,
    tellers: the page passes what the user's scope allows)."""
    return process_map(store(), business_type=code, filters=filters)


@cached()
def model_of(code: str, filters: Filters, noise: float) -> DrawnModel:
    """What the page shows of the model pm4py discovers on :func:`map_of`'s map at noise
    threshold ``noise`` (:func:`procmine.model_from_map`): discovered once per store version,
    not on every run of the page."""
    return DrawnModel.of(model_from_map(map_of(code, filters), noise_threshold=noise))


@cached(library=True)
def variants_of(code: str, filters: Filters, top: int) -> VariantTable:
    """The ``top`` most frequent variants of business type ``code`` within ``filters``, the
    SOP's sequence marked (the approved SOP that governs the type)."""
    return variants(store(), business_type=code, filters=filters, library=library(), top=top)


# conformance -------------------------------------------------------------------------------------


@cached(library=True)
def conformance_of(code: str | None, filters: Filters) -> ConformanceReport:
    """The transactions of business type ``code`` (None: every type an SOP governs) within
    ``filters`` against the SOP version in force on each one's day at its branch."""
    return conformance(store(), library(), business_type=code, filters=filters)


@cached(library=True)
def deviation_findings_of(code: str | None, filters: Filters) -> list[DeviationFinding]:
    """The findings of :func:`conformance_of` (tellers judged against their peers within
    ``filters``: the page passes the period only, and scopes the findings after)."""
    return deviation_findings(conformance_of(code, filters))


@cached()
def case_events(case_id: str) -> pd.DataFrame:
    """The events of transaction ``case_id`` in the order the conformance check reads them."""
    return case_steps(store(), case_id)
