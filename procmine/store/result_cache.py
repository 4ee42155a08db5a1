"""Results of analyses kept in the workspace, keyed on the store's version.

An analysis of an unchanged store gives the same result, so the dashboard computes it once per
store version and keeps it here, not only in its own process: a restarted server, a second
server process or the command line read it back instead of paying again. Layout::

    cache/<store version>/<name>-<digest of the arguments>.pickle

A new ingest or drop changes the store's version: the next result goes to a new folder and the
folders of older versions are removed. One process computes a result at a time: a second caller
asking for the same one waits for it (a lock file beside it) and reads it back. A result given a
:class:`~procmine.store.warm_up.Recipe` is also remembered in ``cache/recipes/``, so that the
warm-up after the next ingest computes it again before anyone asks
(:mod:`procmine.store.warm_up`). A file that cannot be read back (cut short, written by
another procmine) is computed again and replaced. The files are pickles: the cache is the
workspace's own, written only by procmine, as trusted as the store beside it.

Example:
    >>> cache = ResultCache(store)
    >>> calls = []
    >>> def count() -> int:
    ...     calls.append(1)
    ...     return 41 + len(calls)
    >>> cache.get("answer", ("x", 1), count), cache.get("answer", ("x", 1), count), len(calls)
    (42, 42, 1)
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from procmine.store.event_store import EventStore

if TYPE_CHECKING:
    from procmine.store.warm_up import Recipe

__all__ = ["ResultCache", "code_stamp", "computing", "keep_pickle"]

T = TypeVar("T")


class ResultCache:
    """The workspace's cache of analysis results for the store's current version."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.root = store.home / "cache"

    def path(self, name: str, key: Any, version: str | None = None) -> Path:
        """Where the result of ``name`` for arguments ``key`` (their ``repr`` identifies them)
        is kept for store version ``version`` (the current one by default)."""
        digest = hashlib.sha1(repr(key).encode()).hexdigest()[:20]
        safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)
        return self.root / (version or self.store.version()) / f"{safe}-{digest}.pickle"

    def get(self, name: str, key: Any, compute: Callable[[], T],
            recipe: Recipe | None = None) -> T:
        """The kept result of ``name`` for ``key`` in the store's current version, or
        ``compute()``'s, kept for the next caller (and ``recipe`` remembered for the warm-up
        after the next ingest). Another process computing it now is waited for."""
        version = self.store.version()
        path = self.path(name, key, version)
        found, result = self._read(path)
        if found:
            return result
        with computing(path):
            found, result = self._read(path)  # computed by the one we waited for
            if found:
                return result
            started = time.perf_counter()
            result = compute()
            if self.store.version() == version:  # the store did not change while computing
                self._write(path, result)
                self._prune(version)
        if recipe is not None:
            from procmine.store.warm_up import remember

            remember(self.root, recipe, time.perf_counter() - started)
        return result

    @staticmethod
    def _read(path: Path) -> tuple[bool, Any]:
        if not path.exists():
            return False, None
        try:
            with path.open("rb") as fh:
                return True, pickle.load(fh)
        except Exception:  # a file cut short, or from another version: compute again
            path.unlink(missing_ok=True)
            return False, None

    def clear(self) -> None:
        """Remove every kept result."""
        shutil.rmtree(self.root, ignore_errors=True)

    def _write(self, path: Path, result: Any) -> None:
        keep_pickle(path, result)

    def _prune(self, current: str) -> None:
        """Remove the folders of other store versions."""
        if not self.root.exists():
            return
        for folder in self.root.iterdir():
            if folder.is_dir() and folder.name not in (current, "recipes"):
                shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def computing(path: Path) -> Iterator[None]:
    """Hold the lock of ``path`` (``<path>.lock``) while computing it (a second process, or a
    second thread, asking for the same result waits here); released when a holder dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@lru_cache(maxsize=1)
def code_stamp() -> str:
    """A stamp of procmine's own code (its modules' names, sizes and modification times): part
    of a cached result's key outside the dashboard (which keys on each function's source), so
    that a result an older procmine computed is not read back by a newer one."""
    package = Path(__file__).resolve().parent.parent
    parts = sorted((str(p.relative_to(package)), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in package.rglob("*.py"))
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def keep_pickle(path: Path, value: Any) -> None:
    """Write ``value`` to ``path`` as a pickle, whole or not at all (a partial file renamed);
    a value that cannot be kept (an unpicklable object, a full disk) is only not kept: the
    caller has it."""
    partial: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, suffix=".partial",
                                         delete=False) as fh:
            partial = Path(fh.name)
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        if partial is not None:
            partial.unlink(missing_ok=True)
