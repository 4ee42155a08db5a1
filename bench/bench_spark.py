"""Spark beside DuckDB: the same analyses on the same prepared store, on each engine.

Run as ``python bench/bench_spark.py [--events N [N ...]] [--repeat R]``. The store of each size
is the one ``bench_mining`` uses (``procmine demo-data``, seed 11, ingested into
bench/out/mining-<events>-11 with its prepared step relation; made once, kept between runs).
Both engines read the same Parquet: the prepared steps and transactions written at ingest
(``store/steps``, ``store/cases``), the events for the GROUP BY. Contenders, each in its own
process so its peak memory is its own:

- ``duckdb_groupby``: one DuckDB GROUP BY computing count, median and p90 of the service time
  per teller x type x step over the store's events (the base of the ``ratio`` column, as in
  ``bench_mining``);
- ``spark_groupby``: the same query on the Spark engine (translated as every query is): Spark's
  own floor for an exact per-group median;
- ``find_bottlenecks [duckdb]`` and ``[spark]``: every kind of finding, without the evidence;
- ``monthly_league [duckdb]`` and ``[spark]``: the league of the latest month.

Spark runs in local mode on ``local[2]`` (the engine's default master: both cores of this
machine) with the engine's settings otherwise (``--driver-memory`` sets Spark's driver memory,
1g by default). Its start-up (the JVM and the session) happens before the clock starts; the
note gives it. A Spark contender's CPU
time and peak memory are its Python process's and the JVM's (a child of it) together: the peak
is the sum of the two processes' own peaks (VmHWM), an upper bound. ``vs_duckdb`` is a Spark
row's time over the same work's time on DuckDB. A contender that runs past ``--timeout``
seconds is stopped (with its JVM) and reported with the phase it had reached; one that fails
(e.g. Spark out of memory) is reported with its last error line, and the others run on. With
``--repeat`` above 1 the best time is the least, so a run cut short can hide a whole one.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mining import ensure_prepared, ensure_store
from ratios import Timing, best_runs, ratio_rows

#: The longest a contender may run (seconds) before it is stopped.
TIMEOUT = 25 * 60
#: How the note of a contender stopped at the timeout begins.
STOPPED = "stopped after"
#: How the note of a contender that failed begins.
FAILED = "failed after"

_GROUPBY = """
    SELECT teller_id, business_type, activity, count(*) AS n,
           quantile_cont(epoch(end_time - start_time), [0.5, 0.9]) AS q
    FROM events GROUP BY ALL
"""

_PRELUDE = """
import os, sys, time, warnings
warnings.simplefilter("ignore")
home = sys.argv[1]
TICK = os.sysconf("SC_CLK_TCK")

def descendants(pid):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids = [int(k) for k in fh.read().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *descendants(kid)]
    return found

def children_cpu():
    total = 0.0
    for pid in descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except OSError:
            pass
    return total

def peak_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            lines = [l for l in fh if l.startswith("VmHWM")]
    except OSError:
        return 0.0
    return int(lines[0].split()[1]) / 1024 if lines else 0.0  # none for a zombie

def progress(phase, fraction):
    print(f"progress: {phase} {fraction:.0%} at {time.perf_counter() - t:.0f} s",
          file=sys.stderr, flush=True)

from procmine.core.baseline import load_baseline
from procmine.store.event_store import EventStore
store, baseline = EventStore(home), load_baseline()
assert store.is_prepared(), "the bench store's step relation is not prepared"
"""

_ENGINES = {
    "duckdb": """
engine = None
startup = 0.0
""",
    "spark": """
from procmine.store.spark import SparkEngine
memory = sys.argv[2]
started = time.perf_counter()
engine = SparkEngine(store, "local[2]", {"spark.driver.memory": memory} if memory else None)
startup = time.perf_counter() - started
""",
}

_WORK = {
    "groupby": f"""
sql = '''{_GROUPBY}'''
t, c, cc = time.perf_counter(), time.process_time(), children_cpu()
if engine is None:
    rows = len(store.connect().execute(sql).fetchall())
else:
    rows = len(engine.query(sql))
seconds = time.perf_counter() - t
note = f"{{rows}} groups"
""",
    "find_bottlenecks": """
from procmine.analysis.bottlenecks import find_bottlenecks
t, c, cc = time.perf_counter(), time.process_time(), children_cpu()
findings = find_bottlenecks(store, baseline, engine=engine, progress=progress)
seconds = time.perf_counter() - t
note = f"{len(findings)} findings of every kind"
""",
    "monthly_league": """
from procmine.analysis.league import monthly_league, months_with_data
month = months_with_data(store)[-1]
t, c, cc = time.perf_counter(), time.process_time(), children_cpu()
league = monthly_league(store, baseline, month, engine=engine)
seconds = time.perf_counter() - t
note = f"{len(league)} tellers ranked in {month}"
""",
}

_EPILOGUE = """
cpu = time.process_time() - c + children_cpu() - cc
peak = peak_mb(os.getpid()) + sum(peak_mb(pid) for pid in descendants(os.getpid()))
if engine is not None:
    note += f"; Spark start-up {startup:.1f} s before the clock"
    if memory:
        note += f"; driver memory {memory}"
    engine.close()
print(seconds)
print(cpu)
print(peak)
print(note)
"""

# contender -> (engine, work); the DuckDB twin of a Spark row is the same work on DuckDB
_CONTENDERS: dict[str, tuple[str, str]] = {
    "duckdb_groupby": ("duckdb", "groupby"),
    "spark_groupby": ("spark", "groupby"),
    "find_bottlenecks [duckdb]": ("duckdb", "find_bottlenecks"),
    "find_bottlenecks [spark]": ("spark", "find_bottlenecks"),
    "monthly_league [duckdb]": ("duckdb", "monthly_league"),
    "monthly_league [spark]": ("spark", "monthly_league"),
}


def _run(name: str, home: Path, timeout: float, driver_memory: str | None) -> Timing:
    """One contender in a process of its own (a session of its own, so that a timeout stops
    its JVM too): wall seconds, CPU seconds, peak MB and a note."""
    engine, work = _CONTENDERS[name]
    code = _PRELUDE + _ENGINES[engine] + _WORK[work] + _EPILOGUE
    child = subprocess.Popen([sys.executable, "-c", code, str(home), driver_memory or ""],
                             stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    started = time.perf_counter()
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate()
        reached = [line for line in err.splitlines() if line.startswith("progress:")]
        where = reached[-1].removeprefix("progress: ") if reached else "before any progress"
        return timeout, 0.0, 0.0, f"{STOPPED} {timeout:.0f} s, not finished (last: {where})"
    if child.returncode:  # e.g. Spark out of memory: a row that says so, the others go on
        lines = [line for line in err.splitlines() if line.strip()]
        last = ([line for line in lines if not line[0].isspace() and (
            "Error" in line or "Exception" in line)] or lines)[-1:] or ["no message"]
        seconds = time.perf_counter() - started
        return seconds, 0.0, 0.0, f"{FAILED} {seconds:.0f} s: {last[0].strip()[:300]}"
    lines = out.strip().splitlines()
    return float(lines[-4]), float(lines[-3]), float(lines[-2]), lines[-1]


def run(events: int = 10_000_000, repeat: int = 1, timeout: float = TIMEOUT,
        driver_memory: str | None = None,
        skip: Sequence[str] = ()) -> list[dict[str, object]]:
    """Time every contender on the store of ``events`` events; the best of ``repeat`` runs.
    ``driver_memory`` sets Spark's ``spark.driver.memory`` (its default otherwise: 1g);
    ``skip`` leaves contenders out (not the base, ``duckdb_groupby``)."""
    home = ensure_store(events)
    ensure_prepared(home)
    results = best_runs([n for n in _CONTENDERS if n == "duckdb_groupby" or n not in skip],
                        lambda name: _run(name, home, timeout, driver_memory), repeat)
    rows = ratio_rows("spark", f"{events:,} events", results)
    for row in rows:
        engine, work = _CONTENDERS[str(row["contender"])]
        stopped = str(row["note"]).startswith(STOPPED)
        failed = str(row["note"]).startswith(FAILED)
        if engine == "spark":
            twin = next(n for n, (e, w) in _CONTENDERS.items() if e == "duckdb" and w == work)
            if twin in results:
                ratio = round(results[str(row["contender"])][0] / results[twin][0], 2)
                row["vs_duckdb"] = "" if failed else f">{ratio}" if stopped else ratio
        if stopped:  # its time is the timeout: the ratios are lower bounds
            row.update(ratio=f">{row['ratio']}", cpu_seconds="", cpu_ratio="", peak_mb="")
        if failed:  # no result to time
            row.update(ratio="", cpu_seconds="", cpu_ratio="", peak_mb="")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[10_000_000, 50_000_000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help="seconds a contender may run before it is stopped")
    parser.add_argument("--driver-memory", help="Spark's spark.driver.memory, e.g. 4g "
                        "(default: Spark's own, 1g)")
    parser.add_argument("--skip", nargs="+", default=[], choices=list(_CONTENDERS)[1:],
                        metavar="CONTENDER", help="leave these contenders out")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = [row for events in args.events
            for row in run(events, args.repeat, args.timeout, args.driver_memory, args.skip)]
    print(json.dumps(rows, indent=2))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
