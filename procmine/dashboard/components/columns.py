"""Column settings the pages share: how a column of the library's tables is labelled and
formatted, written once.

The library's frames use the same column names everywhere (``teller_id``, ``median_seconds``,
``ratio``, ...); :data:`COLUMNS` gives each its message key and number format, so a page names
the columns it shows and :func:`table` draws them labelled in the user's language. The monthly
league has its own labels (the ones its Excel and HTML exports use, :func:`procmine.column_labels`)
and formats (:func:`league_config`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from procmine import column_labels
from procmine.dashboard.components import tables
from procmine.dashboard.components.names import step_frame
from procmine.dashboard.session import lang, tr

__all__ = ["COLUMNS", "LEAGUE_FORMATS", "Column", "config", "labels", "league_config", "table"]


@dataclass(frozen=True)
class Column:
    """A shared column: its label (a message key, or ``text`` as it is) and number format
    (``st.column_config.NumberColumn``'s ``format``; None for a plain label)."""

    key: str = ""
    format: str | None = None
    text: str = ""

    def label(self) -> str:
        return self.text or tr(self.key)


COLUMNS: dict[str, Column] = {
    # who and what
    "business_type": Column("table.business_type"),
    "name": Column("table.name"),
    "teller_id": Column("table.teller_id"),
    "branch_id": Column("table.branch_id"),
    "activity": Column("bottlenecks.step"),
    # counts
    "transactions": Column("table.transactions"),
    "errors": Column("table.errors"),
    "count": Column("types.steps"),
    # durations (seconds, minutes, hours)
    "median_seconds": Column("table.median_seconds", "%.1f"),
    "p90_seconds": Column(format="%.1f", text="p90"),
    "standard_seconds": Column("table.standard_seconds", "%.0f"),
    "reference_seconds": Column("bottlenecks.reference", "%.1f"),
    "bank_median_seconds": Column("bottlenecks.bank_median", "%.1f"),
    "minutes_above_bank": Column("tellers.minutes_above_bank", "%.1f"),
    "hours_lost": Column("table.hours_lost", "%.1f"),
    # ratios and shares
    "ratio": Column("table.ratio", "%.2f"),
    "speed_index": Column("table.speed_index", "%.2f"),
    "vs_bank": Column("tellers.vs_bank", "%.2f"),
    "share": Column("types.share", "percent"),
    # queues (issue 14): tickets, waits, service level, staffing
    "window_type": Column("columns.window_type"),
    "segment": Column("columns.segment"),
    "arrivals": Column("qcol.arrivals", "%d"),
    "served": Column("qcol.served", "%d"),
    "transferred": Column("qcol.transferred", "%d"),
    "abandoned": Column("qcol.abandoned", "%d"),
    "abandonment_rate": Column("qcol.abandonment_rate", "percent"),
    "mean_wait_seconds": Column("qcol.mean_wait_seconds", "%.0f"),
    "median_wait_seconds": Column("qcol.median_wait_seconds", "%.0f"),
    "p90_wait_seconds": Column("qcol.p90_wait_seconds", "%.0f"),
    "service_level": Column("qcol.service_level", "percent"),
    "mean_service_seconds": Column("qcol.mean_service_seconds", "%.0f"),
    "occupancy": Column("qcol.occupancy", "percent"),
    "transactions_per_teller_hour": Column("qcol.per_teller_hour", "%.1f"),
    "vip_window_served": Column("wcol.vip_window_served", "%d"),
    "vip_window_nonvip": Column("wcol.vip_window_nonvip", "%d"),
    "nonvip_while_vip_waited": Column("wcol.nonvip_while_vip_waited", "%d"),
    "vip_while_regular_waited": Column("wcol.vip_while_regular_waited", "%d"),
    "peak_intervals": Column("wcol.peak_intervals", "%d"),
    "nonvip_time_share": Column("wcol.nonvip_time_share", "percent"),
    "qualifying": Column("diversion.qualifying", "%d"),
    "counter_hours": Column("diversion.counter_hours", "%.1f"),
}

#: Number formats of the league's columns (the others are shown as they are).
LEAGUE_FORMATS: dict[str, str] = {
    "standard_hours": "%.1f", "actual_hours": "%.1f", "error_rate": "percent",
    "error_rate_shrunk": "percent", "speed_index": "%.2f", "speed_index_adjusted": "%.2f",
    "speed_index_shrunk": "%.2f", "prev_speed_index_shrunk": "%.2f",
    "speed_index_change": "%+.2f", "rank_change": "%+d",
}


def _setting(label: str, fmt: str | None) -> Any:
    return label if fmt is None else st.column_config.NumberColumn(label, format=fmt)


def config(names: Iterable[str], formats: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``column_config`` for the shared columns among ``names``, in the user's language;
    ``formats`` overrides a column's number format on one table."""
    formats = formats or {}
    return {name: _setting(COLUMNS[name].label(), formats.get(name, COLUMNS[name].format))
            for name in names if name in COLUMNS}


def table(frame: pd.DataFrame, names: Sequence[str],
          formats: Mapping[str, str] | None = None, *, room: int = tables.ROOM,
          **options: Any) -> None:
    """Draw ``frame``'s columns ``names``, in that order, labelled, formatted and fitted
    (:func:`procmine.dashboard.components.tables.show`, which takes ``options``: ``extra``
    columns on demand, ...; ``room``: its place's width); its steps named in the user's
    language (:func:`procmine.dashboard.components.names.step_frame`)."""
    tables.show(step_frame(frame[list(names)]), config(names, formats), room=room, **options)


def labels(names: Iterable[str], prefix: str) -> dict[str, Any]:
    """``column_config`` labelling each column by the message ``prefix.name``."""
    return {name: tr(f"{prefix}.{name}") for name in names}


def league_config(names: Iterable[str]) -> dict[str, Any]:
    """``column_config`` for the monthly league: the exports' labels in the user's language
    and :data:`LEAGUE_FORMATS`."""
    by_name = column_labels(lang())
    return {c: _setting(by_name.get(c, c), LEAGUE_FORMATS.get(c)) for c in names}
