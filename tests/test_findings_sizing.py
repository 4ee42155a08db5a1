"""Two cases the issue found missed, on an independently simulated bank (not the demo
generator): a weak but clear effect (1.6x on 60 cases) and a teller slow at a step where a
whole other branch is slower still. Six branches of five tellers, 60 P17 transactions each,
four steps whose times are lognormal (sigma 0.35) around shares of the 120 s standard."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.core.baseline import Baseline
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

#: the steps of a P17 transaction and their share of its 120 s standard
STEPS = (("Call number", 0.1), ("Enter transaction", 0.4), ("Count cash", 0.3),
         ("Print receipt", 0.2))


def _bank(tmp_path: Path, seed: int,
          slow: dict[tuple[str, str], float]) -> EventStore:
    """The simulated bank; ``slow`` maps (teller or branch id, step) to a factor."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 9, 1, 9)
    rows = []
    for b in range(1, 7):
        branch = f"B{b:02d}"
        for t in range(1, 6):
            teller = f"{b:02d}{t:02d}"
            for i in range(60):
                clock = start + timedelta(days=i, minutes=7 * t)
                for activity, share in STEPS:
                    factor = slow.get((teller, activity), slow.get((branch, activity), 1.0))
                    seconds = 120 * share * factor * rng.lognormal(0.0, 0.35)
                    end = clock + timedelta(milliseconds=round(seconds * 1000))
                    rows.append({"case_id": f"{teller}-{i:03d}", "activity": activity,
                                 "start_time": clock, "end_time": end, "teller_id": teller,
                                 "branch_id": branch, "business_type": "P17"})
                    clock = end + timedelta(seconds=2)
    path = tmp_path / f"bank-{seed}.parquet"
    pq.write_table(pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False), path)
    store = EventStore(tmp_path / f"ws-{seed}")
    ingest_log(store, path)
    return store


def test_a_weak_clear_effect_is_found_with_its_interval(tmp_path: Path,
                                                        baseline: Baseline) -> None:
    """1.6x on 60 cases, six draws: every draw whose median lands at 1.4x its peers or more is
    found (the fixed 1.5x point cut lost those at 1.43-1.44x), with an interval about the
    injected factor, and nothing else is; at least five of the six are found (a draw at 1.34x
    has an interval reaching down to 1.22x: not clearly material)."""
    found = 0
    for seed in range(6):
        store = _bank(tmp_path, seed, {("0203", "Enter transaction"): 1.6})
        frame = pq.read_table(tmp_path / f"bank-{seed}.parquet").to_pandas()
        step = frame[frame["activity"] == "Enter transaction"]
        seconds = (step["end_time"] - step["start_time"]).dt.total_seconds()
        mine = step["teller_id"] == "0203"
        observed = seconds[mine].median() / seconds[~mine].median()
        findings = find_bottlenecks(store, baseline)
        assert [(f.kind, f.teller_id, f.activity) for f in findings] in (
            [], [("step", "0203", "Enter transaction")])
        if observed >= 1.4:
            assert findings, f"seed {seed}: observed {observed:.2f}x, not found"
        if findings:
            found += 1
            low, high = findings[0].ratio_ci or (0.0, 0.0)
            assert 1.25 <= low <= findings[0].ratio <= high and high >= 1.5
            assert low < 1.6 < high * 1.1  # the interval is about the injected factor
    assert found >= 5


@pytest.mark.parametrize("seed", range(3))
def test_a_slow_branch_does_not_hide_a_slow_teller_elsewhere(tmp_path: Path,
                                                             baseline: Baseline,
                                                             seed: int) -> None:
    """Teller 0102 is 1.9x at counting while every teller of B03 is 3x: the peers (the other
    branches' median) stay at the bank's normal, so both are found, each once."""
    store = _bank(tmp_path, 100 + seed, {("0102", "Count cash"): 1.9, ("B03", "Count cash"): 3.0})
    findings = find_bottlenecks(store, baseline)
    keys = {(f.kind, f.scope, f.teller_id or f.branch_id, f.activity) for f in findings}
    assert keys == {("step", "teller", "0102", "Count cash"),
                    ("step", "branch", "B03", "Count cash")}
    teller = next(f for f in findings if f.scope == "teller")
    # against its peers the teller is at its own factor; against the share reference (which
    # the slow branch's counting raises) a little under it, still past the cut
    assert teller.peer_seconds == pytest.approx(120 * 0.3, rel=0.15)
    assert teller.median_seconds / teller.peer_seconds == pytest.approx(1.9, rel=0.2)
    assert teller.ratio_ci is not None and teller.ratio_ci[1] >= 1.5
