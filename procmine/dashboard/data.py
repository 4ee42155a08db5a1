"""Cached access to procmine for the pages.

Results are cached with ``st.cache_data`` keyed on the store's version (which changes with every
ingest), so a new ingest shows on the next rerun without a restart.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from procmine.baseline import Baseline, load_baseline
from procmine.bottlenecks import Finding, find_bottlenecks, finding_distribution
from procmine.performance import (
    Filters,
    business_type_summary,
    filter_options,
    latest_month,
    teller_profile,
    teller_summary,
    transaction_summary,
    type_steps,
)
from procmine.reports import (
    export_league_excel,
    export_league_html,
    monthly_league,
    months_with_data,
)
from procmine.store import EventStore, default_home

__all__ = [
    "baseline",
    "business_types",
    "distribution",
    "findings",
    "ingest_history",
    "league",
    "league_export",
    "months",
    "options",
    "profile",
    "quarantine_summary",
    "steps_of_type",
    "store",
    "store_info",
    "summary",
    "tellers",
    "this_month",
]


def store() -> EventStore:
    return EventStore(default_home())


@st.cache_resource(show_spinner=False)
def baseline() -> Baseline:
    return load_baseline()


def _key() -> tuple[str, str]:
    s = store()
    return str(s.home), s.version()


@st.cache_data(show_spinner=False)
def _store_info(home: str, version: str) -> dict[str, Any]:
    return EventStore(home).info().to_dict()


def store_info() -> dict[str, Any]:
    return _store_info(*_key())


@st.cache_data(show_spinner=False)
def _quarantine(home: str, version: str) -> dict[str, int]:
    return EventStore(home).quarantine_summary()


def quarantine_summary() -> dict[str, int]:
    return _quarantine(*_key())


@st.cache_data(show_spinner=False)
def _history(home: str, version: str) -> pd.DataFrame:
    batches = EventStore(home).batches()
    columns = ["ingested_at", "source", "format", "read", "loaded", "quarantined",
               "quarantine_file"]
    return pd.DataFrame([{c: b.get(c) for c in columns} for b in reversed(batches)],
                        columns=columns)


def ingest_history() -> pd.DataFrame:
    return _history(*_key())


@st.cache_data(show_spinner=False)
def _options(home: str, version: str) -> dict[str, list[str]]:
    return filter_options(EventStore(home))


def options() -> dict[str, list[str]]:
    return _options(*_key())


@st.cache_data(show_spinner=False)
def _this_month(home: str, version: str) -> Any:
    return latest_month(EventStore(home))


def this_month() -> Any:
    return _this_month(*_key())


@st.cache_data(show_spinner=False)
def _summary(home: str, version: str, filters: Filters) -> dict[str, Any]:
    return transaction_summary(EventStore(home), baseline(), filters)


def summary(filters: Filters) -> dict[str, Any]:
    return _summary(*_key(), filters)


@st.cache_data(show_spinner=False)
def _business_types(home: str, version: str, filters: Filters) -> pd.DataFrame:
    return business_type_summary(EventStore(home), baseline(), filters)


def business_types(filters: Filters) -> pd.DataFrame:
    return _business_types(*_key(), filters)


@st.cache_data(show_spinner=False)
def _tellers(home: str, version: str, filters: Filters, min_transactions: int) -> pd.DataFrame:
    return teller_summary(EventStore(home), baseline(), filters, min_transactions)


def tellers(filters: Filters, min_transactions: int = 20) -> pd.DataFrame:
    return _tellers(*_key(), filters, min_transactions)


@st.cache_data(show_spinner=False)
def _months(home: str, version: str) -> list[str]:
    return months_with_data(EventStore(home))


def months() -> list[str]:
    """Months with transactions, newest first."""
    return list(reversed(_months(*_key())))


@st.cache_data(show_spinner=False)
def _league(home: str, version: str, month: str) -> pd.DataFrame:
    return monthly_league(EventStore(home), baseline(), month)


def league(month: str) -> pd.DataFrame:
    return _league(*_key(), month)


def league_export(month: str, lang: str, kind: str) -> bytes:
    """The month's league as an Excel workbook or a printable HTML page, as bytes."""
    folder = store().home / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    table = league(month)
    if kind == "xlsx":
        path = export_league_excel(table, folder / f"league-{month}-{lang}.xlsx", lang=lang)
    else:
        path = export_league_html(table, folder / f"league-{month}-{lang}.html", month, lang=lang)
    return path.read_bytes()


@st.cache_data(show_spinner=False)
def _findings(home: str, version: str, month: str | None, ratio: float, min_cases: int,
              q: float) -> list[Finding]:
    return find_bottlenecks(EventStore(home), baseline(), ratio=ratio, min_cases=min_cases,
                            q=q, month=month, evidence=True)


def findings(month: str | None, ratio: float, min_cases: int, q: float) -> list[Finding]:
    """Slow steps, most time lost first, with their evidence."""
    return _findings(*_key(), month, ratio, min_cases, q)


@st.cache_data(show_spinner=False)
def _distribution(home: str, version: str, finding: Finding, month: str | None) -> pd.DataFrame:
    return finding_distribution(EventStore(home), finding, month)


def distribution(finding: Finding, month: str | None) -> pd.DataFrame:
    return _distribution(*_key(), finding, month)


@st.cache_data(show_spinner=False)
def _type_steps(home: str, version: str, code: str, filters: Filters) -> pd.DataFrame:
    return type_steps(EventStore(home), baseline(), code, filters)


def steps_of_type(code: str, filters: Filters) -> pd.DataFrame:
    return _type_steps(*_key(), code, filters)


@st.cache_data(show_spinner=False)
def _profile(home: str, version: str, teller_id: str, filters: Filters) -> dict[str, pd.DataFrame]:
    return teller_profile(EventStore(home), baseline(), teller_id, filters)


def profile(teller_id: str, filters: Filters) -> dict[str, pd.DataFrame]:
    return _profile(*_key(), teller_id, filters)
