"""Conformance speed: procmine's conformance against pm4py's token replay (and alignments).

Run as ``python bench/bench_conformance.py [--events N ...] [--repeat R]``. The log is the one
``bench_ingest`` generates (``procmine demo-data``, seed 11) under bench/out/, ingested once into
the workspace bench/out/mining-<events>-11 that ``bench_mining`` and ``bench_maps`` use too (kept
between runs, never committed). That workspace has no SOP library of its own: one is opened
seeded from the bundled SOPs (``SopLibrary.open(home)``, once, before any timing), so each
business type an SOP governs has one version in force over the whole log. Contenders, each in
its own process so its peak memory is its own:

- ``conformance``: :func:`procmine.conformance` over every transaction (every business type):
  each transaction's steps, teller, branch, type, day and condition flags built by DuckDB, the
  model in force joined by type, branch and day, an optimal alignment per distinct sequence x
  model x flags in Python, and the verdicts joined back and aggregated (fitness and conformance
  per teller, branch and type, one row per deviation with its seconds);
- ``conformance(P18)``: the same for one business type;
- ``pm4py token replay``: ``pm4py.conformance_diagnostics_token_based_replay`` of the same
  events, as a pandas frame in pm4py's format (``case:concept:name``, ``concept:name``,
  ``time:timestamp`` = end, ``start_timestamp``) sorted as procmine orders a transaction's
  steps (start, end, activity), each type's cases against that type's reference model as a
  Petri net (:meth:`procmine.maps.reference.ReferenceModel.petri_net`: a silent skip beside each
  step that is not always required; a condition cannot be put in a Petri net, so conditional
  steps are optional there). Types no SOP governs are left out, as procmine leaves them
  unchecked. It gives each case's token-based fitness and whether it fits: no deviation kinds,
  no teller or branch figures. The read of the store's Parquet into the frame (and its sort) is
  timed too (procmine reads the same files); the note splits it. The peer: the ratio column is
  each contender's time over its time;
- ``pm4py token replay(P18)``: the same for one type (the peer of ``conformance(P18)``);
- ``pm4py alignments(P18)``: ``pm4py.conformance_diagnostics_alignments`` (A* on the state
  equation, one process) of P18's cases against its model: the same optimal alignment procmine
  computes by dynamic programming (pm4py too aligns each distinct sequence once). On every P18
  case, or with ``--alignment-cases N`` on the first N by case id (said so in its note).

``cpu_seconds`` and ``cpu_ratio`` give the same in CPU time of the contender's process
(``time.process_time``): DuckDB uses both cores, pm4py one.
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

PEER = "pm4py token replay"

_PRELUDE = """
import resource, sys, time, warnings
warnings.simplefilter("ignore")
home, sample = sys.argv[1], int(sys.argv[2])
"""

_PROCMINE = """
import procmine
from procmine.sop.library import SopLibrary
from procmine.store.event_store import EventStore
store, library = EventStore(home), SopLibrary.open(home)
t, c = time.perf_counter(), time.process_time()
report = procmine.conformance(store, library{args})
seconds, cpu = time.perf_counter() - t, time.process_time() - c
note = (f"{{report.cases:,}} cases checked ({{report.unchecked:,}} unchecked), "
        f"{{report.conforming / report.cases:.1%}} conforming, fitness {{report.fitness:.4f}}, "
        f"{{len(report.deviations):,}} deviations, {{report.variants:,}} sequences aligned")
"""

# the frame pm4py reads, sorted as procmine orders a transaction's steps; and the models
_PM4PY_FRAME = """
import pandas as pd
import pm4py
from procmine.maps.reference import reference_models
from procmine.sop.library import SopLibrary
library = SopLibrary.open(home)
t0, c = time.perf_counter(), time.process_time()
frame = pd.read_parquet(f"{home}/store/events", columns=[
    "case_id", "activity", "start_time", "end_time", "business_type", "reason"])
frame = frame[frame["reason"].isna()].drop(columns="reason")
frame["started"] = frame["start_time"].fillna(frame["end_time"])
frame = frame.sort_values(["case_id", "started", "end_time", "activity"], kind="stable")
frame = frame.drop(columns="started").rename(columns={
    "case_id": "case:concept:name", "activity": "concept:name",
    "start_time": "start_timestamp", "end_time": "time:timestamp"})
t = time.perf_counter()
models, _ = reference_models(library, TYPES)
nets = {m.business_type: m.petri_net() for m in models}   # the last version of each type
versions = len(models) - len(nets)
"""

_REPLAY = """
cases = fit = 0
fitness = 0.0
for code, part in frame.groupby("business_type", sort=True):
    if code not in nets:
        continue
    net, im, fm = nets[code]
    for row in pm4py.conformance_diagnostics_token_based_replay(part, net, im, fm):
        cases += 1
        fit += bool(row["trace_is_fit"])
        fitness += row["trace_fitness"]
call = time.perf_counter() - t
seconds, cpu = time.perf_counter() - t0, time.process_time() - c
types = f"{len(nets)} type" + ("s" if len(nets) > 1 else "")
note = (f"{cases:,} cases of {types}, {fit / cases:.1%} fit, token fitness "
        f"{fitness / cases:.4f}; pm4py call {call:.2f} s + Parquet read and sort {t - t0:.2f} s"
        + (f" ({versions} older SOP versions not used)" if versions else ""))
"""

_ALIGN = """
part = frame[frame["business_type"] == "P18"]
ids = sorted(part["case:concept:name"].unique())
if sample and len(ids) > sample:
    part = part[part["case:concept:name"].isin(set(ids[:sample]))]
net, im, fm = nets["P18"]
rows = pm4py.conformance_diagnostics_alignments(part, net, im, fm, multi_processing=False)
call = time.perf_counter() - t
seconds, cpu = time.perf_counter() - t0, time.process_time() - c
fitting = sum(1 for r in rows if r["fitness"] == 1.0)
taken = (f"a sample: the first {len(rows):,} of {len(ids):,} P18 cases by id"
         if len(rows) < len(ids) else f"{len(rows):,} cases")
note = (f"{taken}, {fitting / len(rows):.1%} fit, alignment fitness "
        f"{sum(r['fitness'] for r in rows) / len(rows):.4f}; pm4py call {call:.2f} s + "
        f"Parquet read and sort {t - t0:.2f} s")
"""

_CONTENDERS = {
    "conformance": _PROCMINE.format(args=""),
    "conformance(P18)": _PROCMINE.format(args=', business_type="P18"'),
    "pm4py token replay": "TYPES = None\n" + _PM4PY_FRAME + _REPLAY,
    "pm4py token replay(P18)": ('TYPES = ["P18"]\n' + _PM4PY_FRAME
                                + 'frame = frame[frame["business_type"] == "P18"]\n' + _REPLAY),
    "pm4py alignments(P18)": 'TYPES = ["P18"]\n' + _PM4PY_FRAME + _ALIGN,
}

_EPILOGUE = """
print(seconds)
print(cpu)
# VmHWM is this process's own peak; ru_maxrss would carry the parent's over fork + exec.
print(int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024)
print(note)
"""


def _run(name: str, home: Path, sample: int) -> tuple[float, float, float, str]:
    code = _PRELUDE + _CONTENDERS[name] + _EPILOGUE
    result = subprocess.run([sys.executable, "-c", code, str(home), str(sample)], check=True,
                            capture_output=True, text=True)
    lines = result.stdout.strip().splitlines()
    return float(lines[-4]), float(lines[-3]), float(lines[-2]), lines[-1]


def ensure_library(home: Path) -> None:
    """The bench workspace's SOP library, seeded from the bundled SOPs the first time (outside
    any timing)."""
    from procmine.sop.library import SopLibrary

    SopLibrary.open(home)


def run(events: int = 10_000_000, repeat: int = 3,
        alignment_cases: int = 0) -> list[dict[str, object]]:
    """Time every contender on the same store; the best of ``repeat`` runs (pm4py: one run).
    pm4py's alignments check every P18 case, or the first ``alignment_cases`` (0: all)."""
    home = ensure_store(events)
    ensure_library(home)
    results = best_runs(list(_CONTENDERS), lambda name: _run(name, home, alignment_cases),
                        repeat)
    return ratio_rows("conformance", f"{events:,} events", results, base=PEER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--alignment-cases", type=int, default=0,
                        help="P18 cases pm4py's alignments check (0: every one)")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = [row for events in args.events
            for row in run(events, args.repeat, args.alignment_cases)]
    print(json.dumps(rows, indent=2))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
