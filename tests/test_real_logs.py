"""The real event logs in ../shared/real_logs ingest with the right counts.

receipt (CoSeLoG, J.C.A.M. Buijs, 4TU), BPI Challenge 2012 W (B.F. van Dongen, 4TU) and
Production (Simod distribution). Counts are checked against independent readers (DuckDB's own
CSV reader, pm4py's XES reader), not against numbers copied from a previous run.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

pytestmark = pytest.mark.real_logs

CANONICAL = ["case_id", "activity", "start_time", "end_time", "teller_id"]


def _sorted(store: EventStore) -> pd.DataFrame:
    frame = store.read_events(CANONICAL).to_pandas()
    return frame.sort_values(CANONICAL, na_position="first").reset_index(drop=True)


@pytest.fixture(scope="module")
def pm4py_receipt(real_logs: Path) -> pd.DataFrame:
    pm4py = pytest.importorskip("pm4py")
    return pm4py.read_xes(str(real_logs / "receipt.xes"), show_progress_bar=False)


def test_receipt_xes_and_csv_give_identical_stores(real_logs: Path, tmp_path: Path,
                                                   pm4py_receipt: pd.DataFrame) -> None:
    from_csv = EventStore(tmp_path / "csv")
    from_xes = EventStore(tmp_path / "xes")
    csv_report = ingest_log(from_csv, real_logs / "receipt.csv")
    xes_report = ingest_log(from_xes, real_logs / "receipt.xes")
    assert csv_report.read == xes_report.read == len(pm4py_receipt) == 8577
    assert csv_report.loaded == xes_report.loaded == 8577
    assert csv_report.quarantined == xes_report.quarantined == 0
    pd.testing.assert_frame_equal(_sorted(from_csv), _sorted(from_xes))
    info = from_xes.info()
    assert info.cases == pm4py_receipt["case:concept:name"].nunique() == 1434
    assert info.tellers == pm4py_receipt["org:resource"].nunique()
    # offsets change with daylight saving: instants equal pm4py's UTC timestamps
    ours = _sorted(from_xes)["end_time"].sort_values().reset_index(drop=True)
    theirs = (pm4py_receipt["time:timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)
              .sort_values().reset_index(drop=True))
    assert (ours.values == theirs.astype("datetime64[us]").values).all()


def test_bpi_2012_pairs_every_start_with_its_complete(real_logs: Path, tmp_path: Path) -> None:
    pm4py = pytest.importorskip("pm4py")
    log = pm4py.read_xes(str(real_logs / "BPI_Challenge_2012_W_Two_TS.xes.gz"),
                         show_progress_bar=False)
    starts = int((log["lifecycle:transition"] == "start").sum())
    completes = int((log["lifecycle:transition"] == "complete").sum())
    store = EventStore(tmp_path / "ws")
    # not a counter log: its work items last days, past the default 8-hour plausible step
    report = ingest_log(store, real_logs / "BPI_Challenge_2012_W_Two_TS.xes.gz",
                        max_step_hours=24 * 365)
    assert report.read == len(log) == 118_604
    assert report.pairing == {
        "start_events": starts, "complete_events": completes, "paired": starts,
        "unmatched_start": 0, "unmatched_complete": 0,
    }
    assert starts == completes
    assert report.loaded == starts and report.quarantined == 0 and report.reconciles
    events = store.read_events().to_pandas()
    durations = (events["end_time"] - events["start_time"]).dt.total_seconds()
    assert (durations >= 0).all()
    assert events["case_id"].nunique() == log["case:concept:name"].nunique() == 8616
    # each row's activity is the activity of both its events
    assert set(events["activity"]) == set(log["concept:name"])


def test_production_maps_separate_start_and_end_columns(real_logs: Path, tmp_path: Path) -> None:
    path = real_logs / "Production.csv"
    con = duckdb.connect()
    total, distinct = con.sql(
        f"SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT * FROM read_csv('{path}', "
        f"all_varchar = true))) FROM read_csv('{path}', all_varchar = true)"
    ).fetchall()[0]
    store = EventStore(tmp_path / "ws")
    report = ingest_log(store, path, max_step_hours=24 * 365)  # steps of days: not a counter
    assert report.mapping["start_time"] == "Start Timestamp"
    assert report.mapping["end_time"] == "Complete Timestamp"
    assert report.read == total == 4953
    assert report.reasons == {"duplicate": total - distinct}
    assert report.loaded == distinct
    events = store.read_events().to_pandas()
    first = events[(events["case_id"] == "Case1") & (events["activity"] == "Turning & Milling")]
    first = first.sort_values("start_time").iloc[0]
    assert str(first["start_time"]) == "2012-01-30 06:24:00"
    assert (first["end_time"] - first["start_time"]).total_seconds() == 379 * 60
    assert first["teller_id"] == "ID4932"
