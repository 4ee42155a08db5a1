"""Cached access to procmine for the pages.

Results are cached with ``st.cache_data`` keyed on the store's version (which changes with every
ingest), so a new ingest shows on the next rerun without a restart. What also depends on the SOP
library is keyed on the library's head commit too, so an approval shows at once.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from procmine.analysis.bottlenecks import Finding, explain_finding, finding_distribution
from procmine.analysis.filters import Filters
from procmine.analysis.league import (
    export_league_excel,
    export_league_html,
    monthly_league,
    months_with_data,
)
from procmine.analysis.performance import (
    business_type_summary,
    filter_options,
    latest_month,
    teller_profile,
    teller_summary,
    transaction_summary,
    type_steps,
)
from procmine.core.baseline import Baseline, load_baseline
from procmine.sop.document import LintReport, Sop, lint_sops
from procmine.sop.library import SopLibrary
from procmine.sop.links import (
    Coverage,
    coverage_report,
    findings_by_step,
    linked_findings,
    revision_effects,
)
from procmine.store.event_store import EventStore, default_home

__all__ = [
    "baseline",
    "business_types",
    "coverage",
    "distribution",
    "findings",
    "ingest_history",
    "league",
    "league_export",
    "library",
    "lint_text",
    "months",
    "options",
    "profile",
    "quarantine_summary",
    "sop_findings",
    "sop_revision_effects",
    "step_findings",
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
def _findings(home: str, version: str, head: str, month: str | None, ratio: float,
              min_cases: int, q: float) -> list[Finding]:
    return linked_findings(EventStore(home), baseline(), _library(home), ratio=ratio,
                           min_cases=min_cases, q=q, month=month)


def findings(month: str | None, ratio: float, min_cases: int, q: float) -> list[Finding]:
    """Slow steps, most time lost first: each step judged against the SOP version in force on
    its transaction's date and linked to its SOP step. Without their evidence (see
    :func:`evidence`): the list comes first, the evidence of the one a user opens after."""
    return _findings(*_key(), _library_head(), month, ratio, min_cases, q)


@st.cache_data(show_spinner=False)
def _evidence(home: str, version: str, finding: Finding, month: str | None) -> dict[str, Any]:
    return explain_finding(EventStore(home), finding, month)


def evidence(finding: Finding, month: str | None) -> dict[str, Any]:
    """One finding's evidence (:func:`procmine.analysis.bottlenecks.explain_findings`)."""
    return _evidence(*_key(), finding, month)


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


# -- the SOP library -------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _library(home: str) -> SopLibrary:
    return SopLibrary.open(home)


def library() -> SopLibrary:
    """The workspace's SOP library (seeded from the bundled SOPs on first use); reads are
    cheap, writes (save, submit, approve) go through it."""
    return _library(str(default_home()))


def _library_head() -> str:
    return library().head()


def lint_text(sop_id: str, text: str) -> LintReport:
    """Lint an SOP text being edited, as if it were the library's file (line-precise issues)."""
    return lint_sops(library().root, baseline(), texts={f"{sop_id}.md": text})


@st.cache_data(show_spinner=False)
def _sop_findings(home: str, version: str, head: str, month: str | None) -> list[Finding]:
    return linked_findings(EventStore(home), baseline(), _library(home), month=month)


def sop_findings(month: str | None = None) -> list[Finding]:
    """The slow steps, judged against the SOP version in force on each transaction's date and
    linked to the SOP step that governs them (empty when the store has no events)."""
    if store_info()["events"] == 0:
        return []
    return _sop_findings(*_key(), _library_head(), month)


def step_findings(sop: Sop, month: str | None = None) -> pd.DataFrame:
    """One row per step of ``sop``: its findings, teller hours lost a month, tellers and
    branches."""
    return findings_by_step(sop_findings(month), sop)


@st.cache_data(show_spinner=False)
def _coverage(home: str, version: str, head: str) -> Coverage:
    return coverage_report(EventStore(home), baseline(), _library(home))


def coverage() -> Coverage | None:
    """What the SOPs cover of the logs (None when the store has no events)."""
    if store_info()["events"] == 0:
        return None
    return _coverage(*_key(), _library_head())


@st.cache_data(show_spinner=False)
def _revision_effects(home: str, version: str, head: str, sop_id: str) -> pd.DataFrame:
    return revision_effects(EventStore(home), _library(home), sop_id)


def sop_revision_effects(sop_id: str) -> pd.DataFrame | None:
    """Step times before and after each revision of an SOP (None when the store has no
    events)."""
    if store_info()["events"] == 0:
        return None
    return _revision_effects(*_key(), _library_head(), sop_id)
