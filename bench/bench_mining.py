"""Slow-step mining speed: procmine's find_bottlenecks against plain per-group statistics.

Run as ``python bench/bench_mining.py [--events N] [--repeat R]``. The log is the one
``bench_ingest`` generates (``procmine demo-data``, seed 11) under bench/out/, ingested once into
the workspace bench/out/mining-<events>-11 (kept between runs, never committed). Contenders, each
in its own process so its peak memory (max RSS) is its own:

- ``find_bottlenecks(step kind)``: the slow steps alone (``kinds=("step",)``: teller, branch
  and bank statistics, reference shares, peers, Mann-Whitney tests, intervals, false-discovery
  control, branch rule, time lost): what ``find_bottlenecks`` did before the other kinds;
- ``find_bottlenecks``: every kind of finding (slow steps with their slices, waits, overall
  pace, baseline review); its time over the step kind's is the new kinds' cost;
- ``find_bottlenecks+evidence``: the same with the evidence of every finding (``--json``);
- ``duckdb_groupby``: one DuckDB GROUP BY computing count, median and p90 of the service time
  per teller x type x step over the same store (the floor for any exact per-group median);
- ``exact_statistics``: the floor of the analysis: only the exact statistics it cannot do
  without, in plain DuckDB SQL: count, median and p90 per teller x branch x type x step, and
  per type x step bank-wide with the median share of the transaction's dwell time (the
  baseline-share reference; a window over each case). No tests, no branch level, no pace;
- ``duckdb_scan``: one pass over the columns the analysis reads, with no median (the floor
  of any analysis of this store, for the pm4py comparison);
- ``pandas_groupby``: the same statistics with pandas (reading the store's Parquet included);
- ``pm4py_service_time``: ``pm4py.get_service_time`` (median) with a teller|type|step activity
  key, on the store's events read into pandas (the read is timed too; the note splits it).
  This is pm4py's default path (``pm4py.read_xes`` returns a DataFrame since pm4py 2.x), and
  on a DataFrame it is itself a pandas groupby: procmine cannot be 25x faster than it while
  it computes three levels of exact medians, the tests and the evidence. The ~50 s of
  DESIGN.md is the EventLog-object path (``pm4py.convert_to_event_log`` first), not timed.

The ratio column is each contender's time over ``duckdb_groupby``'s; ``cpu_seconds`` and
``cpu_ratio`` the same in CPU time of the contender's process (``time.process_time``), which
other processes on a loaded machine disturb less than wall time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import OUT, ensure_log
from ratios import best_runs, ratio_rows

_PRELUDE = """
import resource, sys, time, warnings
warnings.simplefilter("ignore")
home = sys.argv[1]
"""

_CONTENDERS = {
    "find_bottlenecks(step kind)": """
from procmine.core.baseline import load_baseline
from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.store.event_store import EventStore
store, baseline = EventStore(home), load_baseline()
t, c = time.perf_counter(), time.process_time()
findings = find_bottlenecks(store, baseline, kinds=("step",))
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = f"{len(findings)} findings (the slow steps alone, as before issue 19)"
""",
    "find_bottlenecks": """
from procmine.core.baseline import load_baseline
from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.store.event_store import EventStore
store, baseline = EventStore(home), load_baseline()
t, c = time.perf_counter(), time.process_time()
findings = find_bottlenecks(store, baseline)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
kinds = sorted({f.kind for f in findings})
note = f"{len(findings)} findings of every kind ({', '.join(kinds)})"
""",
    "find_bottlenecks+evidence": """
from procmine.core.baseline import load_baseline
from procmine.analysis.bottlenecks import find_bottlenecks
from procmine.store.event_store import EventStore
store, baseline = EventStore(home), load_baseline()
t, c = time.perf_counter(), time.process_time()
findings = find_bottlenecks(store, baseline, evidence=True)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = f"{len(findings)} findings with evidence"
""",
    "monthly_league": """
from procmine.core.baseline import load_baseline
from procmine.analysis.league import monthly_league, months_with_data
from procmine.store.event_store import EventStore
store, baseline = EventStore(home), load_baseline()
month = months_with_data(store)[-1]
t, c = time.perf_counter(), time.process_time()
league = monthly_league(store, baseline, month)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = f"{len(league)} tellers ranked in {month}"
""",
    "overview": """
from procmine.core.baseline import load_baseline
from procmine.analysis.filters import Filters
from procmine.analysis.performance import (business_type_summary, latest_month, teller_summary,
                                           transaction_summary)
from procmine.core.months import last_day
from procmine.store.event_store import EventStore
store, baseline = EventStore(home), load_baseline()
t, c = time.perf_counter(), time.process_time()
info = store.info()
whole = Filters()
summary = transaction_summary(store, baseline, whole)
types = business_type_summary(store, baseline, whole)
first = latest_month(store)
month = Filters(start=first, end=last_day(first))
slow = business_type_summary(store, baseline, month)
tellers = teller_summary(store, baseline, month, 20)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = (f"what the overview page reads: store counts, {summary['transactions']:,} transactions, "
        f"{len(types)} types, {len(tellers)} tellers this month")
""",
    "duckdb_groupby": """
from procmine.store.event_store import EventStore
con = EventStore(home).connect()
t, c = time.perf_counter(), time.process_time()
rows = con.execute('''
    SELECT teller_id, business_type, activity, count(*) AS n,
           quantile_cont(epoch(end_time - start_time), [0.5, 0.9]) AS q
    FROM events GROUP BY ALL
''').fetchall()
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = f"{len(rows)} groups"
""",
    "exact_statistics": """
from procmine.store.event_store import EventStore
con = EventStore(home).connect()
t, c = time.perf_counter(), time.process_time()
tellers = con.execute('''
    SELECT teller_id, branch_id, business_type, activity, count(*) AS n,
           quantile_cont(epoch(end_time - start_time), [0.5, 0.9]) AS q
    FROM events GROUP BY ALL
''').fetchall()
bank = con.execute('''
    SELECT business_type, activity, count(*) AS n, quantile_cont(service, [0.5, 0.9]) AS q,
           quantile_cont(service / nullif(dwell, 0), 0.5) AS share
    FROM (SELECT business_type, activity, epoch(end_time - start_time) AS service,
                 epoch(max(end_time) OVER c - min(start_time) OVER c) AS dwell
          FROM events WINDOW c AS (PARTITION BY case_id))
    GROUP BY ALL
''').fetchall()
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = (f"the exact statistics alone: {len(tellers):,} teller groups; "
        f"{len(bank)} bank pairs with median share")
""",
    "duckdb_scan": """
from procmine.store.event_store import EventStore
con = EventStore(home).connect()
t, c = time.perf_counter(), time.process_time()
rows = con.execute('''
    SELECT count(teller_id), count(branch_id), count(business_type), count(activity),
           count(case_id), sum(epoch(end_time - start_time))
    FROM events
''').fetchall()
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = "one pass over the columns the analysis reads, no median"
""",
    "pandas_groupby": """
import pandas as pd
t, c = time.perf_counter(), time.process_time()
frame = pd.read_parquet(f"{home}/store/events", columns=[
    "teller_id", "business_type", "activity", "start_time", "end_time", "reason"])
frame = frame[frame["reason"].isna()]
frame["service"] = (frame["end_time"] - frame["start_time"]).dt.total_seconds()
grouped = frame.groupby(["teller_id", "business_type", "activity"])["service"]
result = pd.concat([grouped.count(), grouped.median(), grouped.quantile(0.9)], axis=1)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = f"{len(result)} groups (Parquet read included)"
""",
    "pm4py_service_time": """
import pandas as pd
import pm4py
t0, c = time.perf_counter(), time.process_time()
frame = pd.read_parquet(f"{home}/store/events", columns=[
    "case_id", "teller_id", "business_type", "activity", "start_time", "end_time", "reason"])
frame = frame[frame["reason"].isna()]
t = time.perf_counter()
frame["key"] = (frame["teller_id"].astype(str) + "|" + frame["business_type"].astype(str)
                + "|" + frame["activity"].astype(str))
log = frame.rename(columns={"case_id": "case:concept:name", "key": "concept:name",
                            "start_time": "start_timestamp", "end_time": "time:timestamp"})
result = pm4py.get_service_time(log, aggregation_measure="median",
                                start_timestamp_key="start_timestamp",
                                timestamp_key="time:timestamp")
call = time.perf_counter() - t
seconds, cpu = time.perf_counter() - t0, time.process_time() - c
note = f"{len(result)} groups, median only; pm4py call {call:.2f} s + Parquet read {t - t0:.2f} s"
""",
}

_EPILOGUE = """
print(seconds)
print(cpu)
# VmHWM is this process's own peak; ru_maxrss would carry the parent's over fork + exec.
print(int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024)
print(note)
"""


# Whole processes, the way a user runs them: the command line against a script that runs the
# raw GROUP BY (the process's own start-up, imports and the query; its wall time).
_PROCESSES: dict[str, tuple[list[str], str]] = {
    # cold: the workspace's kept results removed first (the first run after an ingest); warm:
    # the same command again, reading the findings the cold run kept (procmine.ResultCache)
    "process: procmine bottlenecks --json (cold)": (
        ["-m", "procmine.cli", "bottlenecks", "--json", "--home", "{home}"],
        "process: duckdb_groupby script"),
    "process: procmine bottlenecks --json (warm)": (
        ["-m", "procmine.cli", "bottlenecks", "--json", "--home", "{home}"],
        "process: duckdb_groupby script"),
    "process: duckdb_groupby script": (
        ["-c", "import duckdb, sys\n"
               "con = duckdb.connect()\n"
               "rows = con.execute(\"SELECT teller_id, business_type, activity, count(*) AS n, "
               "quantile_cont(epoch(end_time - start_time), [0.5, 0.9]) AS q "
               "FROM read_parquet('{home}/store/events/*.parquet') WHERE reason IS NULL "
               "GROUP BY ALL\").fetchall()\n"
               "print(len(rows))"],
        "process: duckdb_groupby script"),
    "process: procmine --help": (["-m", "procmine.cli", "--help"],
                                 "process: procmine --help"),
}


def _run_process(name: str, home: Path) -> tuple[float, float, float, str]:
    """A whole process's wall time, its CPU time and peak memory (its own rusage)."""
    import os

    args = [a.replace("{home}", str(home)) for a in _PROCESSES[name][0]]
    if name.endswith("(cold)"):
        import shutil

        shutil.rmtree(home / "cache", ignore_errors=True)
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"{name} exited with {child.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, "whole process: start-up, imports and work"


def ensure_prepared(home: Path) -> None:
    """Prepare the bench store's step relation when an older procmine ingested it (the
    analyses read it; a store without it falls back to computing the windows per call)."""
    from procmine.store.event_store import EventStore
    from procmine.store.prepared import prepare_all

    store = EventStore(home)
    if not store.is_prepared():
        started = time.perf_counter()
        with store.lock():
            prepare_all(store)
        print(f"(prepared the step relation of {home.name} in "
              f"{time.perf_counter() - started:.1f} s)", flush=True)


def ensure_store(events: int, seed: int = 11) -> Path:
    """The bench workspace with the generated log ingested (made once, reused). The generated
    log runs on past today at 10M events (from 2026-09-01, about 14 months), so the ingest
    accepts timestamps up to ten years ahead: with the default plausibility window (up to the
    day after the ingest) most of its rows would be quarantined as ``implausible_time``."""
    home = OUT / f"mining-{events}-{seed}"
    batches = home / "store" / "batches.jsonl"
    if not batches.exists() or not batches.read_text(encoding="utf-8").strip():
        log = ensure_log(events, seed)
        subprocess.run(
            [sys.executable, "-m", "procmine.cli", "ingest", str(log), "--home", str(home),
             "--latest-days", "3650", "--json"],
            check=True, stdout=subprocess.DEVNULL,
        )
    return home


def _run(name: str, home: Path) -> tuple[float, float, float, str]:
    code = _PRELUDE + _CONTENDERS[name] + _EPILOGUE
    result = subprocess.run([sys.executable, "-c", code, str(home)], check=True,
                            capture_output=True, text=True)
    lines = result.stdout.strip().splitlines()
    return float(lines[-4]), float(lines[-3]), float(lines[-2]), lines[-1]


def run(events: int = 10_000_000, repeat: int = 3,
        pm4py: bool = True) -> list[dict[str, object]]:
    """Time every contender on the same store; the best of ``repeat`` runs (pm4py: one run)."""
    home = ensure_store(events)
    ensure_prepared(home)
    names = [n for n in _CONTENDERS if pm4py or not n.startswith("pm4py")]
    results = best_runs(names, lambda name: _run(name, home), repeat)
    rows = ratio_rows("slow steps", f"{events:,} events", results)
    processes = best_runs(list(_PROCESSES), lambda name: _run_process(name, home), repeat)
    for name, (seconds, cpu, peak, note) in processes.items():
        base = processes[_PROCESSES[name][1]]
        rows.append({"bench": "slow steps", "input": f"{events:,} events", "contender": name,
                     "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                     "peak_mb": round(peak), "ratio": round(seconds / base[0], 2),
                     "cpu_ratio": round(cpu / base[1], 2),
                     "note": f"{note}; ratio to {_PROCESSES[name][1]}"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pm4py", action="store_true", help="skip the slow pm4py run")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = run(args.events, args.repeat, pm4py=not args.no_pm4py)
    print(json.dumps(rows, indent=2))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
