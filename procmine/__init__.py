"""procmine: process mining for bank counters.

The public API, in one place::

    from procmine import EventStore, ingest_log, load_baseline, load_column_map
    store = EventStore("workspace")
    report = ingest_log(store, "event_logs/demo_events.parquet", baseline=load_baseline())

``import procmine`` never imports streamlit (only ``procmine.dashboard`` does).
"""

from procmine.analysis.performance import (
    Filters,
    business_type_summary,
    teller_summary,
    transaction_summary,
)
from procmine.app.auth import add_user, authenticate, list_users, seed_demo_users, set_role
from procmine.core.baseline import Baseline, load_baseline
from procmine.core.errors import ProcmineError
from procmine.ingest.run import IngestReport, ingest_log
from procmine.io.eventlog import ColumnMap, load_column_map
from procmine.io.xes import read_xes_table
from procmine.store.event_store import EventStore

__all__ = [
    "Baseline",
    "ColumnMap",
    "EventStore",
    "Filters",
    "IngestReport",
    "ProcmineError",
    "add_user",
    "authenticate",
    "business_type_summary",
    "ingest_log",
    "list_users",
    "load_baseline",
    "load_column_map",
    "read_xes_table",
    "seed_demo_users",
    "set_role",
    "teller_summary",
    "transaction_summary",
]

__version__ = "0.1.0"
