"""``make bench``: every benchmark in one run, each figure beside its peers, as ratios.

- ingest: procmine's CSV ingest vs DuckDB's plain read_csv -> Parquet copy (10M rows);
- XES: procmine's XES reader vs pm4py.read_xes (real logs and a generated one);
- queue: queue measures (and the staffing plan) vs a plain DuckDB GROUP BY (10M tickets);
- maps: process_map vs pm4py.discover_dfg and discover_performance_dfg (1M and 10M events);
- conformance: conformance vs pm4py's token replay and alignments (1M and 10M events);
- spark: find_bottlenecks and the monthly league on Spark (local mode) beside DuckDB on the
  same prepared store (10M and 50M events; the 50M log is a 9 GB CSV);
- pages: sign-in and every page of every role in a browser, cold and warm, against the issue's
  targets (the demo workspace, and a workspace of 10M events; ``--quick``: the demo alone).

Large inputs are generated under bench/out/ (ignored by git). ``--quick`` uses small sizes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_conformance
import bench_floor
import bench_ingest
import bench_maps
import bench_mining
import bench_pages
import bench_queue
import bench_spark
import bench_xes

from procmine.app.auth import ROLES


def _table(rows: list[dict[str, object]]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines.append("  ".join("-" * widths[c] for c in columns))
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs, for a smoke run")
    args = parser.parse_args()
    started = time.perf_counter()
    events = 200_000 if args.quick else 10_000_000
    print(f"== ingest: CSV of {events:,} generated events ==", flush=True)
    print(_table(bench_ingest.run(events=events, repeat=1 if args.quick else 3)), flush=True)
    print("\n== XES import: procmine vs pm4py.read_xes ==", flush=True)
    print(_table(bench_xes.run(bench_xes.default_paths(quick=args.quick))), flush=True)
    print("\n== slow-step mining: find_bottlenecks (the step kind alone, every kind) vs DuckDB "
          "GROUP BY, pandas, pm4py ==",
          flush=True)
    print(_table(bench_mining.run(events=events, repeat=1 if args.quick else 3)), flush=True)
    print("\n== queue measures: queue_measures, queue_summary, interval_load (staffing_plan) vs "
          "DuckDB GROUP BY ==", flush=True)
    print(_table(bench_queue.run(tickets=events, repeat=1 if args.quick else 3)), flush=True)
    print("\n== process maps: process_map vs pm4py.discover_dfg and "
          "pm4py.discover_performance_dfg ==", flush=True)
    sizes = [events] if args.quick else [1_000_000, events]
    print(_table([row for size in sizes
                  for row in bench_maps.run(events=size, repeat=1 if args.quick else 3)]),
          flush=True)
    print("\n== conformance: conformance vs pm4py token replay and alignments ==", flush=True)
    print(_table([row for size in sizes
                  for row in bench_conformance.run(events=size, repeat=1 if args.quick else 3)]),
          flush=True)
    print("\n== Spark beside DuckDB: find_bottlenecks and the monthly league on the same "
          "prepared store ==", flush=True)
    print(_table([row for size in ([events] if args.quick else [events, 50_000_000])
                  # 4 GB of driver memory: at 50M events the default 1 GB loses task results
                  for row in bench_spark.run(events=size, repeat=1, driver_memory="4g")]),
          flush=True)
    print("\n== page times: sign-in and every page of every role in Chromium, cold (fresh "
          "server after an ingest and its warm-up; 'nothing kept' where a workspace had no "
          "recipes yet) and warm (second visit) ==", flush=True)
    workspaces = [None] if args.quick else [None, events]
    for size in workspaces:
        result = bench_pages.run(size)
        if "warm_up" in result:
            warm_up = result["warm_up"]
            print(f"(warm-up after ingesting {warm_up['events']:,} new events: ready "
                  f"{warm_up['ready_s']:.1f} s after the ingest, "
                  f"the first views' {warm_up['report'].get('first_views', 0)} results and "
                  f"{warm_up['report'].get('computed')} kept)", flush=True)
        print(_table([row for kind in ("empty", "ingest") for row in result.get(kind, [])]),
              flush=True)
    print("\n== the floor under a sign-in: the same landing page drawn by a bare Streamlit app "
          "(nothing computed), beside procmine's warm sign-in (the median of several) ==",
          flush=True)
    print(_table(bench_floor.run(repeat=3 if args.quick else 5)), flush=True)
    if not args.quick:   # every role's warm sign-in at 10M events, after the walk above
        print(_table(bench_floor.run(ROLES, repeat=5, events=events)), flush=True)
    print(f"\n(total {time.perf_counter() - started:.0f} s on {sys.platform}, "
          "ratios: contender time / peer time; 'x faster' = peer time / procmine time)")


if __name__ == "__main__":
    main()
