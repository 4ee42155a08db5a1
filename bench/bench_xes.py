"""Benchmark: procmine.io.xes.read_xes_table against pm4py.read_xes on the same files.

Run as ``python bench/bench_xes.py [PATH...]``. Without paths it uses the real logs in
``../shared/real_logs`` (relative to the repository root) that exist, plus a synthetic
log of start/complete pairs (500,000 events; 50,000 with ``--quick``) so the ratio is also
known beyond the small real files. The synthetic log is generated into ``bench/out/``
(ignored by git, kept between runs like the ingest benchmark's data).

Each file is read with both readers in the same process, best of ``--repeat`` (3) runs
each; pm4py's progress bar is off. The table shows pm4py seconds / procmine seconds as
"x faster". The master runner (bench/run.py) imports this file and calls
``run(default_paths(quick=...))``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REAL_LOGS = ROOT.parent / "shared" / "real_logs"
DEFAULT_FILES = ("BPI_Challenge_2012_W_Two_TS.xes.gz", "receipt.xes")
OUT = ROOT / "bench" / "out"
SYNTHETIC_EVENTS = 500_000
QUICK_SYNTHETIC_EVENTS = 50_000

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from procmine.io.xes import read_xes_table  # noqa: E402


def real_paths() -> list[Path]:
    """The real XES logs that exist in ../shared/real_logs."""
    return [REAL_LOGS / name for name in DEFAULT_FILES if (REAL_LOGS / name).exists()]


def synthetic_path(events: int = SYNTHETIC_EVENTS) -> Path:
    """A generated log of ``events`` events in bench/out/, written if not there yet."""
    path = OUT / f"synthetic_{events}.xes"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        write_synthetic_xes(part, events)
        part.replace(path)
    return path


def default_paths(quick: bool = False, synthetic_events: int | None = None) -> list[Path]:
    """The real logs that exist plus a synthetic log (500,000 events, 50,000 if ``quick``;
    ``synthetic_events=0`` for none)."""
    if synthetic_events is None:
        synthetic_events = QUICK_SYNTHETIC_EVENTS if quick else SYNTHETIC_EVENTS
    paths = real_paths()
    if synthetic_events > 0:
        paths.append(synthetic_path(synthetic_events))
    return paths


def write_synthetic_xes(path: Path, events: int, seed: int = 7) -> int:
    """Write an XES log of about ``events`` events: traces of 2 to 8 activities, each a
    start/complete pair with resource and timestamp. Returns the number of events."""
    rng = random.Random(seed)
    activities = [f"Activity {chr(65 + i)}" for i in range(12)]
    resources = [f"teller-{i:03d}" for i in range(60)]
    tz = timezone(timedelta(hours=2))
    clock = datetime(2024, 1, 2, 8, 0, tzinfo=tz)
    written = 0
    case = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        f.write('<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n')
        f.write(
            '\t<extension name="Concept" prefix="concept" '
            'uri="http://www.xes-standard.org/concept.xesext"/>\n'
        )
        f.write(
            '\t<global scope="event">\n\t\t<string key="concept:name" value="UNKNOWN"/>\n'
            "\t</global>\n"
        )
        f.write('\t<classifier name="Activity" keys="concept:name"/>\n')
        f.write('\t<string key="concept:name" value="synthetic"/>\n')
        while written < events:
            case += 1
            clock += timedelta(seconds=rng.randint(10, 300))
            t = clock
            parts = [
                "\t<trace>\n",
                f'\t\t<string key="concept:name" value="case-{case}"/>\n',
                f'\t\t<string key="branch" value="branch-{rng.randint(1, 40)}"/>\n',
            ]
            for _ in range(rng.randint(1, 4)):
                activity = rng.choice(activities)
                resource = rng.choice(resources)
                for transition in ("start", "complete"):
                    t += timedelta(seconds=rng.randint(5, 900), milliseconds=rng.randint(0, 999))
                    stamp = t.isoformat(timespec="milliseconds")
                    parts.append(
                        "\t\t<event>\n"
                        f'\t\t\t<string key="concept:name" value="{activity}"/>\n'
                        f'\t\t\t<string key="lifecycle:transition" value="{transition}"/>\n'
                        f'\t\t\t<string key="org:resource" value="{resource}"/>\n'
                        f'\t\t\t<date key="time:timestamp" value="{stamp}"/>\n'
                        "\t\t</event>\n"
                    )
                    written += 1
            parts.append("\t</trace>\n")
            f.write("".join(parts))
        f.write("</log>\n")
    return written


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence pm4py's banner, warnings and progress bars."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        yield


def _pm4py_read(path: Path) -> Any:
    with _quiet():
        import pm4py

        return pm4py.read_xes(str(path), show_progress_bar=False)


def measure(path: Path, repeat: int = 3, label: str | None = None) -> dict[str, Any]:
    """Time both readers on one file (best of ``repeat`` each, runs interleaved so that a
    burst of load on the machine hits both alike) and return one result row."""
    ours = theirs = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = read_xes_table(path)
        ours = min(ours, time.perf_counter() - start)
        start = time.perf_counter()
        frame = _pm4py_read(path)
        theirs = min(theirs, time.perf_counter() - start)
    if len(frame) != result.events:
        print(
            f"warning: {path.name}: pm4py has {len(frame)} rows, procmine {result.events}",
            file=sys.stderr,
        )
    return {
        "file": label or path.name,
        "bytes": path.stat().st_size,
        "traces": result.traces,
        "events": result.events,
        "procmine_s": round(ours, 3),
        "pm4py_s": round(theirs, 3),
        "ratio": round(theirs / ours, 1) if ours else float("inf"),
    }


def run(paths: Sequence[str | Path] | None = None, *, repeat: int = 3) -> list[dict[str, Any]]:
    """Benchmark each of ``paths`` (default: :func:`default_paths`). One dict per file:
    file, bytes, traces, events, procmine_s, pm4py_s, ratio (pm4py_s / procmine_s)."""
    files = [Path(p) for p in paths] if paths is not None else default_paths()
    return [measure(p, repeat) for p in files]


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    header = f"{'file':<40} {'events':>9} {'procmine s':>11} {'pm4py s':>9} {'ratio':>13}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['file']:<40} {r['events']:>9,} {r['procmine_s']:>11.3f} "
            f"{r['pm4py_s']:>9.3f} {r['ratio']:>6.1f}x faster"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="XES / XES.gz files")
    parser.add_argument("--repeat", type=int, default=3, help="runs per reader (best of)")
    parser.add_argument("--quick", action="store_true", help="smaller synthetic log")
    parser.add_argument(
        "--synthetic-events",
        type=int,
        default=None,
        help="events in the generated log (default 500,000 without PATHs, none with; 0: none)",
    )
    args = parser.parse_args(argv)
    if args.paths:
        paths = list(args.paths)
        if args.synthetic_events:
            paths.append(synthetic_path(args.synthetic_events))
    else:
        if not real_paths():
            print(f"note: no real logs in {REAL_LOGS}", file=sys.stderr)
        paths = default_paths(args.quick, args.synthetic_events)
    print(format_table(run(paths, repeat=args.repeat)))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"(best of {args.repeat} each, interleaved; load average {load}; {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
