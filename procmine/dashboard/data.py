"""Cached access to the store for the dashboard, keyed on the store's version so that a new
ingest shows up without a restart."""

from __future__ import annotations

from typing import Any

import streamlit as st

from procmine.store import EventStore, default_home


def store() -> EventStore:
    return EventStore(default_home())


@st.cache_data(show_spinner=False)
def _info(home: str, version: str) -> dict[str, Any]:
    return EventStore(home).info().to_dict()


def store_info() -> dict[str, Any]:
    """Counts and period of the store."""
    s = store()
    return _info(str(s.home), s.version())


@st.cache_data(show_spinner=False)
def _quarantine(home: str, version: str) -> dict[str, int]:
    return EventStore(home).quarantine_summary()


def quarantine_summary() -> dict[str, int]:
    """Quarantined rows by reason over all ingests."""
    s = store()
    return _quarantine(str(s.home), s.version())
