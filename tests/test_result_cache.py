"""The workspace's cache of analysis results (issue 18): kept per store version, read back by
another process, computed again after an ingest, never trusted when cut short."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore
from procmine.store.result_cache import ResultCache


def write(path: Path, n: int) -> Path:
    rows = [f"C{i},Open,2026-10-01 09:{i % 60:02d}:00" for i in range(n)]
    path.write_text("case_id,activity,end_time\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def events(store: EventStore) -> int:
    return store.info().events


def test_a_result_is_computed_once_per_store_version(store: EventStore, tmp_path: Path) -> None:
    ingest_log(store, write(tmp_path / "a.csv", 10))
    cache, calls = ResultCache(store), []

    def compute() -> int:
        calls.append(1)
        return events(store)

    assert [cache.get("events", (), compute) for _ in range(3)] == [10, 10, 10]
    assert len(calls) == 1
    first_version = store.version()
    ingest_log(store, write(tmp_path / "b.csv", 25))  # C10..C24 are new
    assert cache.get("events", (), compute) == 25 and len(calls) == 2
    # the older version's folder is gone
    assert [p.name for p in cache.root.iterdir()] == [store.version()] != [first_version]


def test_another_process_reads_the_kept_result(store: EventStore, tmp_path: Path) -> None:
    ingest_log(store, write(tmp_path / "a.csv", 5))
    ResultCache(store).get("greeting", ("zh",), lambda: {"text": "你好", "n": 5})
    code = ("import sys\nfrom procmine.store.event_store import EventStore\n"
            "from procmine.store.result_cache import ResultCache\n"
            "cache = ResultCache(EventStore(sys.argv[1]))\n"
            "print(cache.get('greeting', ('zh',), lambda: 'computed again'))")
    out = subprocess.run([sys.executable, "-c", code, str(store.home)], check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out == "{'text': '你好', 'n': 5}"


def test_a_file_cut_short_is_computed_again(store: EventStore, tmp_path: Path) -> None:
    ingest_log(store, write(tmp_path / "a.csv", 5))
    cache = ResultCache(store)
    cache.get("x", (1,), lambda: list(range(1000)))
    path = cache.path("x", (1,))
    path.write_bytes(path.read_bytes()[:20])
    assert cache.get("x", (1,), lambda: "again") == "again"
    assert cache.get("x", (1,), lambda: "not called") == "again"


def test_a_result_that_cannot_be_kept_is_still_returned(store: EventStore,
                                                        tmp_path: Path) -> None:
    ingest_log(store, write(tmp_path / "a.csv", 5))
    cache = ResultCache(store)
    lock = threading.Lock()  # cannot be pickled
    assert cache.get("lock", (), lambda: lock) is lock
    assert not cache.path("lock", ()).exists()
    assert not list(cache.path("lock", ()).parent.glob("*.partial"))


def test_the_dashboard_reads_a_result_another_server_kept(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached page call is kept in the workspace: with Streamlit's own cache emptied (a new
    server process) the next call reads it there, without computing."""
    import streamlit as st

    from procmine import Filters
    from procmine.dashboard import data

    home = tmp_path / "ws"
    store = EventStore(home)
    ingest_log(store, write(tmp_path / "a.csv", 12))
    monkeypatch.setenv("PROCMINE_HOME", str(home))
    st.cache_data.clear()
    first = data.summary(Filters())
    assert first["transactions"] == 12
    assert list((home / "cache" / store.version()).glob("*.pickle"))
    st.cache_data.clear()

    def computed_again(*_: object, **__: object) -> None:
        raise AssertionError("computed again")

    monkeypatch.setattr(data, "transaction_summary", computed_again)
    assert data.summary(Filters()) == first
    # a new ingest is a new store version: computed again (here: refused by the stub)
    ingest_log(store, write(tmp_path / "b.csv", 15))
    st.cache_data.clear()
    with pytest.raises(AssertionError, match="computed again"):
        data.summary(Filters())


def test_the_command_line_keeps_its_findings_per_store_version(
        league_demo: tuple[EventStore, list[str]], baseline: object,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``procmine bottlenecks`` (run_bottlenecks) computes once per store version, SOP standards,
    baseline and options; a second run reads the kept findings, equal to the first, and other
    options are computed apart."""
    import shutil

    from procmine.analysis import bottlenecks as analysis
    from procmine.cli import analysis as cli
    from procmine.core.baseline import Baseline

    assert isinstance(baseline, Baseline)
    store = EventStore(tmp_path / "workspace")
    shutil.copytree(league_demo[0].home, store.home)  # its own copy: its cache is its own
    calls: list[dict[str, object]] = []
    real = analysis.find_bottlenecks

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "find_bottlenecks", counted)
    first = cli.run_bottlenecks(store, baseline, kinds=["step"])
    again = cli.run_bottlenecks(store, baseline, kinds=["step"])
    assert len(calls) == 1 and first and again == first
    assert [f.ratio for f in again] == [f.ratio for f in first]
    assert list((store.home / "cache" / store.version()).glob("cli.bottlenecks-*.pickle"))
    stricter = cli.run_bottlenecks(store, baseline, kinds=["step"], ratio=3.0)
    assert len(calls) == 2 and len(stricter) < len(first)
    ingest_log(store, write(tmp_path / "more.csv", 5))  # a new store version: computed again
    cli.run_bottlenecks(store, baseline, kinds=["step"])
    assert len(calls) == 3
    # the warm-up after the next ingest computes both runs again, before they are asked for
    from procmine.store.warm_up import warm

    ingest_log(store, write(tmp_path / "yet more.csv", 8))
    assert warm(store).computed == 2 and len(calls) == 5
    assert cli.run_bottlenecks(store, baseline, kinds=["step"], ratio=3.0) and len(calls) == 5
