"""Process-map speed: procmine's process_map against pm4py's own DFG discovery on the same events.

Run as ``python bench/bench_maps.py [--events N ...] [--repeat R]``. The log is the one
``bench_ingest`` generates (``procmine demo-data``, seed 11) under bench/out/, ingested once into
the workspace bench/out/mining-<events>-11 that ``bench_mining`` uses too (kept between runs,
never committed). Contenders, each in its own process so its peak memory (max RSS) is its own:

- ``process_map``: :func:`procmine.process_map` over every case of the store (every business
  type): the directly-follows graph with counts, median, p90 and mean transition times, each
  step's occurrences, cases and median and p90 service time, start and end steps. DuckDB reads
  the store's Parquet, orders each case's steps by a window and groups nodes and edges;
- ``process_map(P18)``: the same for one business type (the map a page shows);
- ``pm4py.discover_dfg``: ``pm4py.discover_dfg`` on the same events as a pandas frame in
  pm4py's format (``case:concept:name``, ``concept:name``, ``time:timestamp``,
  ``start_timestamp``): counts and start and end activities only. The read of the store's
  Parquet into that frame is timed too (procmine reads the same files); the note splits it;
- ``pm4py.discover_performance_dfg``: ``pm4py.discover_performance_dfg`` on that frame (mean,
  median, max, min, sum and stdev of the transition times; no p90, no service times). The peer
  of ``process_map``: the ratio column is each contender's time over its time.

``cpu_seconds`` and ``cpu_ratio`` give the same in CPU time of the contender's process
(``time.process_time``), which other processes on a loaded machine disturb less than wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mining import ensure_store
from ratios import best_runs, ratio_rows

PEER = "pm4py.discover_performance_dfg"

_PRELUDE = """
import resource, sys, time, warnings
warnings.simplefilter("ignore")
home = sys.argv[1]
"""

_PM4PY_FRAME = """
import pandas as pd
import pm4py
t0, c = time.perf_counter(), time.process_time()
frame = pd.read_parquet(f"{home}/store/events", columns=[
    "case_id", "activity", "start_time", "end_time", "reason"])
frame = frame[frame["reason"].isna()].drop(columns="reason")
frame = frame.rename(columns={"case_id": "case:concept:name", "activity": "concept:name",
                              "start_time": "start_timestamp", "end_time": "time:timestamp"})
t = time.perf_counter()
"""

_CONTENDERS = {
    "process_map": """
from procmine.maps.dfg import process_map
from procmine.store.event_store import EventStore
store = EventStore(home)
t, c = time.perf_counter(), time.process_time()
pmap = process_map(store)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = (f"every type: {pmap.cases:,} cases, {len(pmap.nodes)} steps, {len(pmap.edges)} paths, "
        "median/p90/mean transitions and step service times")
""",
    "process_map(P18)": """
from procmine.maps.dfg import process_map
from procmine.store.event_store import EventStore
store = EventStore(home)
t, c = time.perf_counter(), time.process_time()
pmap = process_map(store, business_type="P18")
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = f"one type: {pmap.cases:,} cases, {len(pmap.edges)} paths"
""",
    "pm4py.discover_dfg": _PM4PY_FRAME + """
dfg, starts, ends = pm4py.discover_dfg(frame)
call = time.perf_counter() - t
seconds, cpu = time.perf_counter() - t0, time.process_time() - c
note = (f"{len(dfg)} paths, counts only; pm4py call {call:.2f} s + Parquet read "
        f"{t - t0:.2f} s")
""",
    "pm4py.discover_performance_dfg": _PM4PY_FRAME + """
dfg, starts, ends = pm4py.discover_performance_dfg(frame)
call = time.perf_counter() - t
seconds, cpu = time.perf_counter() - t0, time.process_time() - c
note = (f"{len(dfg)} paths, transition times (no p90, no service); pm4py call {call:.2f} s "
        f"+ Parquet read {t - t0:.2f} s")
""",
}

_EPILOGUE = """
print(seconds)
print(cpu)
# VmHWM is this process's own peak; ru_maxrss would carry the parent's over fork + exec.
print(int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024)
print(note)
"""


def _run(name: str, home: Path) -> tuple[float, float, float, str]:
    code = _PRELUDE + _CONTENDERS[name] + _EPILOGUE
    result = subprocess.run([sys.executable, "-c", code, str(home)], check=True,
                            capture_output=True, text=True)
    lines = result.stdout.strip().splitlines()
    return float(lines[-4]), float(lines[-3]), float(lines[-2]), lines[-1]


def run(events: int = 10_000_000, repeat: int = 3) -> list[dict[str, object]]:
    """Time every contender on the same store; the best of ``repeat`` runs (pm4py: one run)."""
    home = ensure_store(events)
    results = best_runs(list(_CONTENDERS), lambda name: _run(name, home), repeat)
    return ratio_rows("process map", f"{events:,} events", results, base=PEER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = [row for events in args.events for row in run(events, args.repeat)]
    print(json.dumps(rows, indent=2))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
