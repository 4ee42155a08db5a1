"""Cached access to the process maps and variants for the pages (the ``# maps`` readers).

The same :func:`procmine.dashboard.data.cached` decorator as every other reader: a result is
kept until the store changes (a new ingest), and the variants, which mark the SOP's sequence,
until the SOP library changes too. The pages filter a map (hide its rare paths) on the cached
result, so moving the threshold slider runs no query.
"""

from __future__ import annotations

from procmine import Filters, ProcessMap, VariantTable, process_map, variants
from procmine.dashboard.data import cached, library, store

__all__ = ["map_of", "variants_of"]


# maps --------------------------------------------------------------------------------------------


@cached()
def map_of(code: str, filters: Filters) -> ProcessMap:
    """The process map of business type ``code`` within ``filters`` (period, branches,
    tellers: the page passes what the user's scope allows)."""
    return process_map(store(), business_type=code, filters=filters)


@cached(library=True)
def variants_of(code: str, filters: Filters, top: int) -> VariantTable:
    """The ``top`` most frequent variants of business type ``code`` within ``filters``, the
    SOP's sequence marked (the approved SOP that governs the type)."""
    return variants(store(), business_type=code, filters=filters, library=library(), top=top)
