"""Queue measures speed: procmine's queue figures against a plain DuckDB GROUP BY.

Run as ``python bench/bench_queue.py [--tickets N] [--repeat R]`` (or ``BENCH_QUEUE_TICKETS=N``).
The tickets are generated with DuckDB SQL (200 branches of 8 counters, arrivals peaking at
opening, lunch and late afternoon, exponential waits that grow at the peaks, abandonment that
grows with the wait, a few no-shows and transfers, log-normal service times) and written as one
committed ticket batch (the store's own format: every record with ``reason`` NULL and
``src_row``) into a temporary workspace under bench/out/, removed afterwards (never
committed). Contenders, each in its own process so its peak memory is its own:

- ``duckdb_groupby``: the floor: one DuckDB GROUP BY over the same Parquet file, per branch x
  15-minute interval: count, mean wait and p90 wait of the served;
- ``queue_measures``: ``queue_measures(store, by=["branch_id", "interval_start"])``: every
  measure of the module per branch x interval (arrivals, served, abandoned, no-shows, the
  abandonment rate, mean/median/p90/max wait, service level, service time);
- ``queue_summary``: the bank's figures with occupancy and the per-teller list (teller-day
  open spans);
- ``interval_load``: the load per branch x day x interval with the counters open (what staffing
  reads);
- ``staffing_plan``: the staffing recommendation per branch x weekday x interval (when
  ``procmine.queue.staffing`` is present).

The ratio column is each contender's time over ``duckdb_groupby``'s; ``cpu_ratio`` the same in
CPU time of the contender's process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import OUT
from ratios import ratio_rows

BRANCHES = 200
COUNTERS = 8
TICKETS_PER_BRANCH_DAY = 250

# One row per ticket; u1..u6 are independent uniforms of the row.
_GENERATE = """
COPY (
WITH base AS (
    SELECT i, random() AS u1, random() AS u2, random() AS u3, random() AS u4, random() AS u5,
           random() AS u6
    FROM range({n}) AS r(i)
), times AS (
    SELECT *,
           i % {branches} AS b,
           (i // {branches}) % {days} AS d,
           -- arrivals: peaks at opening, lunch and late afternoon, over a flat day
           CASE WHEN u1 < 0.25 THEN 9.6 + 0.45 * sqrt(-2 * ln(u2)) * cos(2 * pi() * u3)
                WHEN u1 < 0.50 THEN 12.4 + 0.5 * sqrt(-2 * ln(u2)) * cos(2 * pi() * u3)
                WHEN u1 < 0.72 THEN 16.2 + 0.35 * sqrt(-2 * ln(u2)) * cos(2 * pi() * u3)
                ELSE 9 + 8 * u2 END AS hour
    FROM base
), waits AS (
    SELECT *,
           least(greatest(hour, 9.0), 16.99) AS h,
           -ln(u4) * CASE WHEN u1 < 0.72 THEN 720 ELSE 240 END AS wait
    FROM times
), tickets AS (
    SELECT *,
           TIMESTAMP '2026-01-05 00:00:00' + to_days(CAST(d AS INTEGER))
               + to_microseconds(CAST(h * 3600e6 AS BIGINT)) AS queue_start,
           CASE WHEN u5 < wait / (wait + 3600) * 0.6 THEN 'abandoned'
                WHEN u5 > 0.985 THEN 'no_show'
                WHEN u5 > 0.965 THEN 'transferred'
                ELSE 'served' END AS outcome,
           exp(5.2 + 0.55 * sqrt(-2 * ln(u6)) * cos(2 * pi() * u2)) AS service
    FROM waits
)
SELECT 'K' || i AS ticket_id,
       'B' || lpad(CAST(b + 1 AS VARCHAR), 3, '0') AS branch_id,
       queue_start AS arrival_time,
       queue_start,
       queue_start + to_microseconds(CAST(wait * 1e6 AS BIGINT)) AS call_time,
       CASE WHEN outcome IN ('served', 'transferred')
            THEN queue_start + to_microseconds(CAST((wait + 8) * 1e6 AS BIGINT)) END
           AS service_start,
       CASE WHEN outcome IN ('served', 'transferred')
            THEN queue_start + to_microseconds(CAST((wait + 8 + service) * 1e6 AS BIGINT)) END
           AS service_end,
       CASE WHEN outcome IN ('served', 'transferred')
            THEN lpad(CAST(b + 1 AS VARCHAR), 3, '0')
                 || lpad(CAST((i // {branches}) % {counters} + 1 AS VARCHAR), 2, '0') END
           AS teller_id,
       'P' || lpad(CAST(CAST(u3 * 58 AS INTEGER) + 1 AS VARCHAR), 2, '0') AS business_type,
       CASE WHEN u6 < 0.15 THEN 'vip' ELSE 'regular' END AS window_type,
       CASE WHEN u6 < 0.12 THEN 'affluent' ELSE 'mass' END AS segment,
       round(u4 * 50000, 2) AS amount,
       outcome,
       CAST(NULL AS VARCHAR) AS reason,
       i + 2 AS src_row
FROM tickets
) TO '{path}' (FORMAT parquet)
"""

_PRELUDE = """
import sys, time, warnings
warnings.simplefilter("ignore")
home = sys.argv[1]
"""

_CONTENDERS = {
    "duckdb_groupby": """
import duckdb
con = duckdb.connect()
t, c = time.perf_counter(), time.process_time()
rows = con.execute(f'''
    SELECT branch_id, time_bucket(INTERVAL 15 MINUTE, queue_start) AS interval_start,
           count(*) AS n, avg(wait) AS mean_wait, quantile_cont(wait, 0.9) AS p90_wait
    FROM (SELECT branch_id, queue_start,
                 CASE WHEN outcome IN ('served', 'transferred')
                      THEN greatest(epoch(call_time - queue_start), 0) END AS wait
          FROM read_parquet('{home}/store/tickets/*.parquet') WHERE reason IS NULL)
    GROUP BY ALL
''').fetchall()
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = f"{len(rows):,} groups: count, mean and p90 wait"
""",
    "queue_measures": """
from procmine.queue.measures import queue_measures
from procmine.store.event_store import EventStore
store = EventStore(home)
t, c = time.perf_counter(), time.process_time()
frame = queue_measures(store, ["branch_id", "interval_start"])
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = f"{len(frame):,} groups: every measure"
""",
    "queue_summary": """
from procmine.queue.measures import queue_summary
from procmine.store.event_store import EventStore
store = EventStore(home)
t, c = time.perf_counter(), time.process_time()
summary = queue_summary(store)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = f"bank figures, occupancy, {len(summary.per_teller):,} tellers"
""",
    "interval_load": """
from procmine.queue.measures import interval_load
from procmine.store.event_store import EventStore
store = EventStore(home)
t, c = time.perf_counter(), time.process_time()
frame = interval_load(store)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = f"{len(frame):,} branch x day x interval rows with counters open"
""",
    "staffing_plan": """
from procmine.queue.staffing import staffing_plan
from procmine.store.event_store import EventStore
store = EventStore(home)
t, c = time.perf_counter(), time.process_time()
plan = staffing_plan(store)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = f"{len(plan.intervals):,} branch x weekday x interval recommendations"
""",
}

_EPILOGUE = """
print(seconds)
print(cpu)
# VmHWM is this process's own peak; ru_maxrss would carry the parent's over fork + exec.
print(int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024)
print(note)
"""


def make_store(tickets: int, folder: Path) -> Path:
    """A workspace in ``folder`` whose store holds ``tickets`` generated tickets as one
    committed ticket batch."""
    import duckdb

    from procmine.store.event_store import EventStore

    store = EventStore(folder / "workspace")
    store.tickets_dir.mkdir(parents=True, exist_ok=True)
    days = max(1, -(-tickets // (BRANCHES * TICKETS_PER_BRANCH_DAY)))
    partial = store.partial_file("bench", "tickets")
    with store.lock():  # as an ingest: the partial file written under the lock, then committed
        con = duckdb.connect()
        con.execute("SELECT setseed(0.42)")
        con.execute(_GENERATE.format(n=tickets, branches=BRANCHES, days=days,
                                     counters=COUNTERS, path=partial))
        con.close()
        store.commit_batch({"batch_id": "bench", "kind": "tickets", "source": "generated",
                            "read": tickets, "loaded": tickets, "quarantined": 0})
    return store.home


def _staffing_available() -> bool:
    try:
        import procmine.queue.staffing  # noqa: F401
    except ImportError:
        return False
    return True


def _run(name: str, home: Path) -> tuple[float, float, float, str]:
    code = _PRELUDE + _CONTENDERS[name] + _EPILOGUE
    result = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True,
                            text=True)
    if result.returncode:
        raise SystemExit(f"{name} failed:\n{result.stderr}")
    lines = result.stdout.strip().splitlines()
    return float(lines[-4]), float(lines[-3]), float(lines[-2]), lines[-1]


def run(tickets: int = 10_000_000, repeat: int = 3) -> list[dict[str, object]]:
    """Time every contender on the same generated store; the best of ``repeat`` runs."""
    names = [n for n in _CONTENDERS if n != "staffing_plan" or _staffing_available()]
    OUT.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="queue-", dir=OUT))
    try:
        home = make_store(tickets, folder)
        results: dict[str, tuple[float, float, float, str]] = {}
        for _ in range(repeat):
            for name in names:  # interleaved, so background load hits all alike
                seconds, cpu, peak, note = _run(name, home)
                best = results.get(name)
                if best is None or seconds < best[0]:
                    results[name] = (seconds, cpu, peak, note)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return ratio_rows("queue", f"{tickets:,} tickets", results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int,
                        default=int(os.environ.get("BENCH_QUEUE_TICKETS", 10_000_000)))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = run(args.tickets, args.repeat)
    print(json.dumps(rows, indent=2))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
