"""The warm-up after an ingest (issue 18): the results the dashboard kept are remembered as
recipes and computed again for the new store version before anyone asks; a second caller of a
result being computed waits for it instead of computing it twice."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore
from procmine.store.result_cache import ResultCache
from procmine.store.warm_up import Recipe, recipes, remember, warm, warm_report

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, months: list[str], n: int = 6) -> Path:
    """``n`` one-step cases in each of ``months`` (``YYYY-MM``)."""
    rows = [f"{month}-C{i},Open,{month}-03 09:{i % 60:02d}:00,T{i % 2}"
            for month in months for i in range(n)]
    path.write_text("case_id,activity,end_time,teller_id\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    return path


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EventStore:
    import streamlit as st

    store = EventStore(tmp_path / "ws")
    ingest_log(store, write(tmp_path / "a.csv", ["2026-09"]), latest_days=3650)
    monkeypatch.setenv("PROCMINE_HOME", str(store.home))
    st.cache_data.clear()
    return store


def test_recipes_are_kept_slowest_first_and_the_oldest_go(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from procmine.store import warm_up

    monkeypatch.setattr(warm_up, "RECIPES_KEPT", 3)
    root = tmp_path / "cache"
    for i, seconds in enumerate([0.5, 2.0, 0.1, 1.0]):
        remember(root, Recipe("procmine.dashboard.warm:keep", {"i": i}), seconds)
        time.sleep(0.01)  # distinct modification times: the first one is the oldest
    kept = recipes(root)
    assert [(r.arguments["i"], r.seconds) for r in kept] == [(1, 2.0), (3, 1.0), (2, 0.1)]
    remember(root, Recipe("procmine.dashboard.warm:keep", {"i": 2}), 3.0)  # the same, again
    assert [r.arguments["i"] for r in recipes(root)] == [2, 1, 3]


def test_a_recipe_names_only_procmine_functions() -> None:
    with pytest.raises(ValueError, match="not a procmine function"):
        Recipe("os:system", {"command": "true"}).resolve()
    with pytest.raises(ValueError, match="not a procmine function"):
        Recipe("procmine_evil.x:y").resolve()
    assert Recipe("procmine.store.warm_up:recipes").resolve() is recipes


def test_a_second_caller_waits_for_the_result_being_computed(workspace: EventStore) -> None:
    cache, calls, results = ResultCache(workspace), [], []

    def slow() -> str:
        calls.append(1)
        time.sleep(0.5)
        return "computed"

    threads = [threading.Thread(target=lambda: results.append(cache.get("slow", (), slow)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == ["computed"] * 3 and len(calls) == 1


def test_the_warm_up_computes_the_pages_results_for_the_new_version(
        workspace: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's result (months with data) is kept with its recipe; after an ingest adds a
    month, the warm-up computes it for the new version, and the page then reads it without
    computing (a fresh server: Streamlit's cache empty)."""
    import streamlit as st

    from procmine.dashboard import data

    assert data.months() == ["2026-09"]
    [recipe] = recipes(ResultCache(workspace).root)
    assert recipe.arguments == {"function": "procmine.dashboard.data:months", "arguments": {}}
    ingest_log(workspace, write(tmp_path / "b.csv", ["2026-10"]), latest_days=3650)
    assert warm_report(workspace) is None  # the new version is not warmed yet
    report = warm(workspace)
    assert (report.computed, report.failed, report.stopped) == (1, {}, False)
    assert warm_report(workspace) == report.to_dict()
    assert warm(workspace).to_dict() == report.to_dict()  # warmed once per version

    def computed_again() -> None:
        raise AssertionError("computed again")

    monkeypatch.setattr(data, "months_with_data", computed_again)
    st.cache_data.clear()
    assert data.months() == ["2026-10", "2026-09"]  # the warm-up's result, read back


def test_a_workspace_with_recipes_still_warms_the_first_views(workspace: EventStore,
                                                                tmp_path: Path) -> None:
    """One page viewed before (one recipe, the months): the warm-up after the next ingest
    computes the first pages' results too, not only that one, and reports them apart."""
    from procmine.dashboard import data

    data.months()
    root = ResultCache(workspace).root
    assert [r.arguments["function"] for r in recipes(root)] == ["procmine.dashboard.data:months"]
    ingest_log(workspace, write(tmp_path / "b.csv", ["2026-10"]), latest_days=3650)
    report = warm(workspace)
    assert report.computed == 1 and report.first_views > 1 and not report.failed
    kept = {r.arguments["function"].rsplit(":", 1)[1] for r in recipes(root)}
    assert {"months", "findings", "summary", "business_types", "league"} <= kept
    assert (root / workspace.version() / "warmed.json").exists()


def test_a_failing_recipe_is_reported_and_the_others_still_run(workspace: EventStore) -> None:
    from procmine.dashboard import data

    data.months()
    remember(ResultCache(workspace).root,
             Recipe("procmine.dashboard.warm:keep",
                    {"function": "procmine.dashboard.data:no_such_page", "arguments": {}}), 9.0)
    ingest_log(workspace, write(Path(workspace.home).parent / "b.csv", ["2026-11"]),
               latest_days=3650)
    report = warm(workspace)
    assert report.computed == 1
    assert list(report.failed) == ["procmine.dashboard.warm:keep"]
    assert "KeyError" in report.failed["procmine.dashboard.warm:keep"]


def _wait_for_warm_up(store: EventStore, seconds: float = 120) -> dict[str, object] | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = warm_report(store)
        if done is not None:
            return done
        time.sleep(0.2)
    return None


def test_an_ingest_starts_the_warm_up_in_the_background(
        workspace: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``procmine ingest`` starts ``procmine warm`` (not with --no-warm, nor with
    PROCMINE_WARM=off); it runs the recipes kept, and its result is the new version's."""
    from procmine.dashboard import data
    from procmine.store.warm_up import start_warm_up

    assert start_warm_up(workspace) is None  # the tests' default: PROCMINE_WARM=off
    monkeypatch.setenv("PROCMINE_WARM", "on")

    data.months()

    def ingest(*extra: str, months: list[str]) -> subprocess.CompletedProcess[str]:
        path = write(tmp_path / f"{months[0]}.csv", months)
        return subprocess.run(
            [sys.executable, "-m", "procmine.cli", "ingest", str(path), "--home",
             str(workspace.home), "--latest-days", "3650", *extra],
            capture_output=True, text=True, check=True, cwd=REPO)

    quiet = ingest("--no-warm", months=["2026-10"])
    assert "warming" not in quiet.stderr
    time.sleep(1)
    assert warm_report(workspace) is None
    told = ingest(months=["2026-11"])
    assert "procmine warm" in told.stderr
    done = _wait_for_warm_up(workspace)
    assert done is not None and done["computed"] == 1 and not done["failed"]
    path = next((workspace.home / "cache" / workspace.version()).glob("*months*.pickle"))
    import pickle

    assert pickle.loads(path.read_bytes()) == ["2026-11", "2026-10", "2026-09"]


def test_the_warm_command_reports_what_it_did(workspace: EventStore, tmp_path: Path) -> None:
    from procmine.dashboard import data

    data.months()
    ingest_log(workspace, write(tmp_path / "b.csv", ["2026-10"]), latest_days=3650)
    run = subprocess.run([sys.executable, "-m", "procmine.cli", "warm", "--home",
                          str(workspace.home), "--json"],
                         capture_output=True, text=True, check=True, cwd=REPO)
    report = json.loads(run.stdout)
    assert (report["version"], report["computed"], report["stopped"]) == (
        workspace.version(), 1, False)
    assert "No runtime found" not in run.stderr


def test_the_server_imports_what_the_pages_import_in_the_background() -> None:
    """The pages' imports, read from their scripts, are imported by one thread per server;
    what they leave alive is then frozen out of the garbage collector (Streamlit collects
    after every script run)."""
    import gc

    from procmine.dashboard import preload

    imports = dict(preload.page_imports())
    assert {"data", "session"} <= set(imports["procmine.dashboard"])
    assert "charts" in imports["procmine.dashboard.components"]
    thread = preload.start()
    assert preload.start() is thread  # once per process
    thread.join(120)
    assert not thread.is_alive()
    assert {"procmine.dashboard.data", "procmine.dashboard.components.charts"} <= set(sys.modules)
    assert gc.get_freeze_count() > 50_000   # the libraries' objects (some 200,000 here)
    assert set(preload.ON_USE) <= set(sys.modules)


def test_what_the_library_imports_on_use_is_preloaded_or_left_out_by_name() -> None:
    """Every library the package imports inside a function (to start the command line quickly)
    is either imported by the dashboard's preload or named as left out, with why: a new one
    fails here until it is placed."""
    import ast

    from procmine.dashboard import preload

    package = Path(__file__).resolve().parents[1] / "procmine"
    on_use: dict[str, str] = {}
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if id(node) in top or not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if isinstance(node, ast.ImportFrom) and (node.level or node.module is None):
                continue
            names = [node.module] if isinstance(node, ast.ImportFrom) else [
                a.name for a in node.names]
            for name in names:
                root = str(name).split(".")[0]
                if root not in sys.stdlib_module_names and root not in (
                        "procmine", "plotly", "pyarrow", "scipy"):  # at the pages' import
                    on_use[root] = str(path.relative_to(package.parent))
    placed = {name.split(".")[0] for name in preload.ON_USE} | set(preload.NOT_PRELOADED)
    assert on_use.keys() <= placed, {k: v for k, v in on_use.items() if k not in placed}
    assert {"networkx", "pm4py", "pyspark"} <= on_use.keys()   # the scan finds them


def test_the_memory_of_duckdb_queries_can_be_capped(workspace: EventStore,
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """PROCMINE_DUCKDB_MEMORY caps DuckDB's memory (queries spill to tmp/ past it); an ingest
    and its preparation still run under a small cap; a size DuckDB cannot read is refused."""
    from procmine.core.errors import ProcmineError

    monkeypatch.setenv("PROCMINE_DUCKDB_MEMORY", "300MB")
    con = workspace.connect()
    try:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()
    finally:
        con.close()
    assert limit is not None and str(limit[0]).replace(" ", "") in ("286.1MiB", "300.0MB")
    report = ingest_log(workspace, write(tmp_path / "b.csv", ["2026-10", "2026-11"], n=50),
                        latest_days=3650)
    assert report.loaded == 100 and workspace.info().events == 106
    monkeypatch.setenv("PROCMINE_DUCKDB_MEMORY", "a lot")
    with pytest.raises(ProcmineError, match="not a memory size") as caught:
        workspace.connect()
    assert caught.value.code == "store.memory_limit"


def test_a_first_ingest_warms_what_the_first_pages_read(
        demo_workspace: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A workspace whose pages nobody has opened (no recipes: its first ingest) is warmed with
    what the roles' first pages read with their first choices, and the SOP pages: afterwards
    those pages compute nothing on a fresh server, but a branch's queue and a teller's own
    figures. The results computed leave their recipes for the next ingest's warm-up."""
    import streamlit as st
    from apptest import app_as

    from procmine.dashboard.registry import PAGES

    home = tmp_path / "ws"
    shutil.copytree(demo_workspace["home"], home, ignore=shutil.ignore_patterns("cache"))
    monkeypatch.setenv("PROCMINE_HOME", str(home))
    st.cache_data.clear()
    store = EventStore(home)
    assert recipes(ResultCache(store).root) == []
    report = warm(store)
    kept_recipes = recipes(ResultCache(store).root)
    # each result asked for was computed and left its recipe
    assert (report.first_views, report.computed, report.failed, report.stopped) == (
        len(kept_recipes), 0, {}, False)
    kept = {r.arguments["function"].rsplit(":", 1)[1] for r in kept_recipes}
    assert {"findings", "evidence", "sop_findings", "league", "sop_revision_effects",
            "summary", "bank_steps", "map_of", "model_of", "variants_of", "conformance_of"} <= kept

    computed: list[str] = []
    original = ResultCache.get

    def counted(self: ResultCache, name: str, key: Any, compute: Callable[[], Any],
                recipe: Any = None) -> Any:
        def compute_counted() -> Any:
            computed.append(name.rsplit(".", 1)[1])
            return compute()
        return original(self, name, key, compute_counted, recipe)

    monkeypatch.setattr(ResultCache, "get", counted)
    st.cache_data.clear()   # a fresh server: only the workspace's kept results
    by_path = {p.url_path: p for p in PAGES}
    own = {"branch_manager": {"queue", "queue_by", "queue_branches", "windows"},
           "teller": {"profile", "summary", "tellers", "business_types"}}
    walks = {"operations": ["overview", "sops", "sop-history", "process-map", "variants",
                            "conformance"], "reviewer": ["bottlenecks"],
             "trainer": ["sops"], "teller": ["my-figures"], "branch_manager": ["queue"]}
    for role, paths in walks.items():
        at = app_as(role, home, timeout=300)
        for path in paths:
            computed.clear()
            at.switch_page(str(by_path[path].path)).run()
            assert not at.exception, (role, path)
            assert set(computed) <= own.get(role, set()), (role, path, computed)
