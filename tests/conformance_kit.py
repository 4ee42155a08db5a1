"""A demo workspace with known control risks on top (the Conformance page's tests): large P18
withdrawals whose second-person recount (a control step the SOP requires from 50,000 yuan) was
left out, by teller 0103 of branch B01 and by teller 0205 of branch B02."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from demo_kit import copy_demo_workspace

from procmine import EventStore, ingest_log

# the steps of a large P18 withdrawal under SOP-P18, without the second-person recount
LARGE_P18 = ("Call number", "Greet and check ticket", "Ask need", "Read card or passbook",
             "Verify identity", "Anti-fraud check", "Register large cash", "Enter transaction",
             "PIN entry", "Supervisor authorization", "Print voucher", "Customer signs",
             "Check signature and stamp", "Count cash", "See off")
RECOUNT = "Second-person recount"
#: The transactions added: case id -> (teller, branch, day).
SKIPPED: dict[str, tuple[str, str, str]] = {
    "SKIP-0103-1": ("0103", "B01", "2026-10-12"),
    "SKIP-0103-2": ("0103", "B01", "2026-10-13"),
    "SKIP-0205-1": ("0205", "B02", "2026-10-14"),
}


def skipped_log() -> str:
    """The added transactions as a CSV event log (20 seconds a step, from 10:00)."""
    lines = ["case_id,activity,start_time,end_time,teller_id,branch_id,business_type,amount"]
    for case, (teller, branch, day) in SKIPPED.items():
        clock = datetime.fromisoformat(f"{day} 10:00:00")
        for activity in LARGE_P18:
            end = clock + timedelta(seconds=20)
            lines.append(f"{case},{activity},{clock:%Y-%m-%d %H:%M:%S},{end:%Y-%m-%d %H:%M:%S},"
                         f"{teller},{branch},P18,60000")
            clock = end + timedelta(seconds=2)
    return "\n".join(lines) + "\n"


def build_skipped_workspace(factory: pytest.TempPathFactory, home: Path) -> Path:
    """The demo workspace at ``home`` (:func:`demo_kit.copy_demo_workspace`) plus
    :data:`SKIPPED`; ``home``."""
    copy_demo_workspace(factory, home)
    log = home.parent / f"{home.name}-skipped.csv"
    log.write_text(skipped_log(), encoding="utf-8")
    report = ingest_log(EventStore(home), log)
    assert report.loaded == len(SKIPPED) * len(LARGE_P18) and report.quarantined == 0
    return home
