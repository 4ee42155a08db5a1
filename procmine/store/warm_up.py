"""The warm-up: after an ingest or a drop, the results people looked at are computed again for
the new store version, in the background, before anyone asks.

Each result the dashboard keeps (:class:`~procmine.store.result_cache.ResultCache`) leaves a
*recipe*: the procmine function that computes it, its arguments and how long it took
(``cache/recipes/<digest>.pickle``; the newest :data:`RECIPES_KEPT` are kept). A new ingest
changes the store's version, so every kept result is stale; :func:`start_warm_up` starts
``procmine warm`` in a process of its own, which runs the recipes, the slowest first, into the
new version's cache (:func:`warm`). A page opened during the warm-up waits for a result being
computed rather than computing it a second time (the cache's lock), and a page opened after it
reads what it kept: the first view after an ingest costs what a repeated view costs.

Every warm-up first computes what the roles' first pages read with their first choices
(:data:`FIRST_VIEWS`, :func:`procmine.dashboard.warm.first_views`): someone signs in after every
ingest, whatever pages were opened before, and a workspace with no recipes yet (its first
ingest: no one has opened a page) has nothing else to go by. The results it computes leave
their recipes; a recipe whose result the first views have just kept is read, not computed.

One warm-up runs at a time per workspace (``cache/warm.lock``); one that finds the store changed
under it stops, and the next one (started by that change) takes over. When it is done it writes
``cache/<version>/warmed.json``: what it computed, what failed and how long it took.

Example:
    >>> from pathlib import Path
    >>> from procmine.store.warm_up import Recipe, recipes, remember
    >>> recipe = Recipe("procmine.dashboard.warm:keep",
    ...                 {"function": "procmine.dashboard.data:months", "arguments": {}})
    >>> remember(Path("cache"), recipe, 0.5)
    >>> [(r.target, r.seconds) for r in recipes(Path("cache"))]
    [('procmine.dashboard.warm:keep', 0.5)]
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from procmine.store.event_store import EventStore
from procmine.store.result_cache import ResultCache, computing, keep_pickle

__all__ = ["FIRST_VIEWS", "RECIPES_KEPT", "WARM_ENV", "Recipe", "WarmReport", "recipes", "remember",
           "start_warm_up", "warm", "warm_report"]

#: How many recipes are kept (the newest): the results a warm-up computes at most.
RECIPES_KEPT = 400
#: ``off`` (or 0, no, false): no warm-up is started after an ingest or a drop.
WARM_ENV = "PROCMINE_WARM"
#: What every warm-up runs first: the results the roles' first pages read.
FIRST_VIEWS = "procmine.dashboard.warm:first_views"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    """How to compute one kept result again: ``target`` is ``"module:function"`` (a procmine
    module), called with ``arguments`` by name; it computes the result and keeps it (one that
    computes several returns how many, an ``int``)."""

    target: str
    arguments: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def digest(self) -> str:
        return hashlib.sha1(repr((self.target, sorted(self.arguments.items())))
                            .encode()).hexdigest()[:20]

    def resolve(self) -> Callable[..., Any]:
        """The function the recipe names (only procmine's own modules are imported)."""
        module, _, name = self.target.partition(":")
        if not (module == "procmine" or module.startswith("procmine.")) or not name:
            raise ValueError(f"not a procmine function: {self.target!r}")
        found: Any = importlib.import_module(module)
        for part in name.split("."):
            found = getattr(found, part)
        if not callable(found):
            raise ValueError(f"not a function: {self.target!r}")
        return found


@dataclass
class WarmReport:
    """What one warm-up did: the store version it warmed, the results the first views asked
    for (:data:`FIRST_VIEWS`), the recipes run (``computed``), the ones that failed (target:
    error), whether it stopped because the store changed, and its seconds."""

    version: str
    computed: int = 0
    first_views: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    stopped: bool = False
    seconds: float = 0.0
    finished_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def remember(cache_root: Path, recipe: Recipe, seconds: float) -> None:
    """Keep ``recipe`` (with the ``seconds`` its result took) for the next warm-up; the oldest
    recipes beyond :data:`RECIPES_KEPT` go."""
    folder = cache_root / "recipes"
    keep_pickle(folder / f"{recipe.digest}.pickle",
                Recipe(recipe.target, dict(recipe.arguments), round(seconds, 3)))
    kept = sorted(folder.glob("*.pickle"), key=_mtime, reverse=True)
    for stale in kept[RECIPES_KEPT:]:
        stale.unlink(missing_ok=True)


def recipes(cache_root: Path) -> list[Recipe]:
    """The kept recipes, the slowest result first (a file that cannot be read is skipped)."""
    found = []
    for path in (cache_root / "recipes").glob("*.pickle"):
        try:
            with path.open("rb") as fh:
                recipe = pickle.load(fh)
        except Exception:  # cut short, or from another procmine: not a recipe any more
            path.unlink(missing_ok=True)
            continue
        if isinstance(recipe, Recipe):
            found.append(recipe)
    return sorted(found, key=lambda r: (-r.seconds, r.target, r.digest))


def warm(store: EventStore, progress: Callable[[str, float], None] | None = None) -> WarmReport:
    """Compute the first views (:data:`FIRST_VIEWS`), then run the kept recipes, for the store's
    current version (see the module's docstring); a version already warmed is not warmed
    again. Returns what it did."""
    cache = ResultCache(store)
    cache.root.mkdir(parents=True, exist_ok=True)
    with computing(cache.root / "warm"), _home(store.home):  # cache/warm.lock
        version = store.version()
        done = warm_report(store)
        if done is not None:
            return WarmReport(**done)
        report = WarmReport(version=version)
        started = time.perf_counter()
        todo = [Recipe(FIRST_VIEWS), *recipes(cache.root)]
        for i, recipe in enumerate(todo):
            if store.version() != version:  # a newer ingest: its own warm-up takes over
                report.stopped = True
                break
            try:
                done = recipe.resolve()(**recipe.arguments)
                if recipe.target == FIRST_VIEWS:   # it says how many results it asked for
                    report.first_views = int(done)
                else:
                    report.computed += 1
            except Exception as exc:  # a recipe of older code, or of data gone: skipped
                report.failed[recipe.target] = f"{type(exc).__name__}: {exc}"[:300]
                _log.warning("warm-up: %s failed: %s", recipe.target, exc)
            if progress is not None:
                progress("warm", (i + 1) / len(todo))
        report.seconds = round(time.perf_counter() - started, 3)
        report.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
        if not report.stopped and store.version() == version:
            marker = cache.root / version / "warmed.json"
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps(report.to_dict(), ensure_ascii=False), encoding="utf-8")
        return report


def warm_report(store: EventStore) -> dict[str, Any] | None:
    """The report of the warm-up of the store's current version, once it has finished."""
    marker = ResultCache(store).root / store.version() / "warmed.json"
    try:
        data: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def start_warm_up(store: EventStore) -> int | None:
    """Start ``procmine warm`` for ``store`` in a process of its own (it outlives the caller;
    its messages go to ``cache/warm.log``); returns its pid, or None when ``PROCMINE_WARM`` is
    ``off``. With no recipe kept it warms the first views."""
    if os.environ.get(WARM_ENV, "").strip().lower() in ("0", "off", "no", "false"):
        return None
    root = ResultCache(store).root
    root.mkdir(parents=True, exist_ok=True)
    with (root / "warm.log").open("a", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "procmine.cli", "warm", "--home", str(store.home), "--quiet"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    return process.pid


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@contextlib.contextmanager
def _home(home: Path) -> Iterator[None]:
    """``PROCMINE_HOME`` set to ``home`` while the recipes run (the dashboard's functions read
    the workspace from it)."""
    before = os.environ.get("PROCMINE_HOME")
    os.environ["PROCMINE_HOME"] = str(home)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PROCMINE_HOME", None)
        else:
            os.environ["PROCMINE_HOME"] = before
