"""Ingest is atomic and serialised: parallel ingests never double-count, a killed ingest leaves
the store whole, and what it left behind is cleaned up by the next one."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from procmine.core.errors import ProcmineError
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

REPO = Path(__file__).resolve().parents[1]
HEADER = ["case_id", "activity", "start_time", "end_time", "teller_id", "branch_id"]


def rows(first: int, last: int) -> list[list[str]]:
    """Rows ``first`` to ``last - 1`` of one log: the same index gives the same row."""
    out = []
    for i in range(first, last):
        day, second = 1 + (i // 3000) % 28, i % 3000
        start = f"2026-09-{day:02d} 09:{second // 60:02d}:{second % 60:02d}"
        end = f"2026-09-{day:02d} 10:{second // 60:02d}:{second % 60:02d}"
        out.append([f"J{i // 4:06d}", f"Step {i % 4}", start, end, f"{i % 17:04d}",
                    f"B{i % 3:02d}"])
    return out


def write(path: Path, first: int, last: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows(first, last))
    return path


def cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "procmine.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stored_rows(store: EventStore) -> tuple[int, int]:
    """Rows in the store, and distinct rows among them."""
    events = store.read_events(["case_id", "activity", "end_time"]).to_pandas()
    return len(events), len(events.drop_duplicates())


def leftovers(store: EventStore) -> list[str]:
    return sorted(p.name for p in store.events_dir.glob("*.parquet.*"))


def test_four_parallel_ingests_of_overlapping_files_count_each_row_once(tmp_path: Path) -> None:
    home = tmp_path / "workspace"
    spans = [(0, 15_000), (10_000, 25_000), (0, 25_000), (20_000, 30_000)]
    files = [write(tmp_path / f"part{i}.csv", a, b) for i, (a, b) in enumerate(spans)]
    runs = [cli("ingest", str(f), "--home", str(home), "--json") for f in files]
    results = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], [e for _, e in results]
    reports = [json.loads(stdout) for stdout, _ in results]
    for report, (first, last) in zip(reports, spans, strict=True):
        assert report["read"] == last - first
        assert report["read"] == report["loaded"] + report["quarantined"]
        assert set(report["reasons"]) <= {"already_in_store"}
    assert sum(r["loaded"] for r in reports) == 30_000
    info = cli("info", "--home", str(home), "--json")
    stdout, stderr = info.communicate(timeout=120)
    assert info.returncode == 0, stderr
    data = json.loads(stdout)
    assert (data["events"], data["batches"]) == (30_000, 4)
    assert data["quarantined"] == sum(r["quarantined"] for r in reports) == 35_000
    store = EventStore(home)
    assert stored_rows(store) == (30_000, 30_000)
    assert leftovers(store) == []


def test_a_second_ingest_waits_for_the_lock_then_gives_up_clearly(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "workspace")
    source = write(tmp_path / "log.csv", 0, 100)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with store.lock():
            held.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(30)
    messages: list[str] = []
    try:
        with pytest.raises(ProcmineError, match=r"still holds the store after 0\.3 s"):
            ingest_log(store, source, wait=0.3, on_wait=messages.append)
    finally:
        release.set()
        thread.join()
    assert len(messages) == 1 and "waiting up to 0.3 s" in messages[0]
    assert store.batches() == [] and store.is_empty()
    report = ingest_log(store, source, wait=5)  # the lock is free again
    assert (report.read, report.loaded) == (100, 100)


def test_a_stale_partial_file_is_never_read_and_the_next_ingest_removes_it(
    tmp_path: Path,
) -> None:
    store = EventStore(tmp_path / "workspace")
    ingest_log(store, write(tmp_path / "a.csv", 0, 200))
    # what an ingest killed before its commit leaves: a whole batch file, not yet committed
    stale = store.partial_file("20260101T000000-deadbeef")
    store.batch_file(ingest_log(store, write(tmp_path / "b.csv", 200, 300)).batch_id) \
        .replace(stale)
    store.batches_file.write_text(
        "".join(line + "\n" for line in store.batches_file.read_text().splitlines()[:1]))
    store.quarantine_file("20260101T000000-deadbeef").write_text("source_row,reason\n")
    assert store.info().events == 200  # never read
    report = ingest_log(store, write(tmp_path / "c.csv", 250, 400))
    assert (report.read, report.loaded, report.quarantined) == (150, 150, 0)
    assert leftovers(store) == []
    assert not store.quarantine_file("20260101T000000-deadbeef").exists()
    assert store.info().events == 350


def test_a_partial_file_of_a_recorded_batch_is_committed_by_the_next_writer(
    tmp_path: Path,
) -> None:
    """Killed between its history line and its rename, a batch is finished, not lost."""
    store = EventStore(tmp_path / "workspace")
    report = ingest_log(store, write(tmp_path / "a.csv", 0, 200))
    store.batch_file(report.batch_id).replace(store.partial_file(report.batch_id))
    with store.batches_file.open("a") as fh:
        fh.write('{"batch_id": "cut short", "loaded"')  # a history line cut short
    assert store.info().events == 0
    assert store.batches() == []  # readers see the history agree with the rows
    again = ingest_log(store, write(tmp_path / "a2.csv", 0, 200))
    assert (again.loaded, again.reasons) == (0, {"already_in_store": 200})
    assert store.info().events == 200
    assert [b["batch_id"] for b in store.batches()] == [report.batch_id, again.batch_id]
    assert leftovers(store) == []


# Imports procmine once, then forks one child per ingest asked for on stdin ("PATH HOME"): it
# answers with the child's pid, then with how it ended (the test kills the child with SIGKILL).
_FORKER = """
import os, sys, time
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore
for line in sys.stdin:
    path, home = line.split()
    pid = os.fork()
    if pid == 0:
        ingest_log(EventStore(home), path)
        os._exit(0)
    print(pid, flush=True)
    started = time.monotonic()
    _, status = os.waitpid(pid, 0)
    print(status, time.monotonic() - started, flush=True)
"""


def test_ingests_killed_at_random_moments_leave_exact_totals(tmp_path: Path) -> None:
    """20 ingests killed (SIGKILL) at random moments; after each, the store holds every batch
    whole or not at all, and a re-run brings it to exactly the rows of the files so far."""
    store = EventStore(tmp_path / "workspace")
    spans = [(0, 20_000), (10_000, 30_000), (25_000, 45_000), (5_000, 25_000)]
    files = [write(tmp_path / f"part{i}.csv", a, b) for i, (a, b) in enumerate(spans)]
    forker = subprocess.Popen([sys.executable, "-c", _FORKER], text=True, bufsize=1,
                              env={**os.environ, "PYTHONPATH": str(REPO)},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert forker.stdin is not None and forker.stdout is not None

    def ingest(path: Path, home: Path, kill_after: float | None) -> tuple[int, float]:
        assert forker.stdin is not None and forker.stdout is not None
        forker.stdin.write(f"{path} {home}\n")
        pid = int(forker.stdout.readline())
        if kill_after is not None:
            time.sleep(kill_after)
            # it may have finished (and been reaped) first: then it is not killed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        status, seconds = forker.stdout.readline().split()
        return int(status), float(seconds)

    try:
        status, took = ingest(files[0], tmp_path / "probe", None)  # how long one takes
        assert status == 0
        rng = random.Random(12)
        covered: set[int] = set()
        killed = 0
        for run in range(20):
            first, last = spans[run % 4]
            status, _ = ingest(files[run % 4], store.home, rng.uniform(0.0, 1.2) * took)
            killed += status == signal.SIGKILL
            # whatever was committed is whole: every loaded row once, the history agrees
            events, distinct = stored_rows(store)
            assert events == distinct == sum(b["loaded"] for b in store.batches())
            assert events in (len(covered), len(covered | set(range(first, last))))
            report = ingest_log(store, files[run % 4])
            covered |= set(range(first, last))
            assert report.read == last - first == report.loaded + report.quarantined
            assert leftovers(store) == []
            assert stored_rows(store) == (len(covered), len(covered))
            assert store.info().events == len(covered)
        assert len(covered) == 45_000
        assert killed >= 10  # most runs were killed on the way, not after they finished
    finally:
        forker.stdin.close()
        forker.wait(timeout=60)
