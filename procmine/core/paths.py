"""Where procmine finds its files: the workspace it writes and the bundled files it only reads.

The workspace (:func:`default_home`: ``PROCMINE_HOME``, default ``./workspace``) holds everything a
running instance writes: the event store, the quarantine files, the app database and the SOP
library's git working copy.

The bundled files ship inside the package and are read as package resources
(:mod:`importlib.resources`), so an installed wheel finds them outside the repository:

- ``sops/``: the 58-type timing baseline (``baseline.csv``), the SOP files (``SOP-*.md``), the
  activity glossary (``activities.csv``: the steps' Chinese and English names, seeded into the
  workspace's SOP library with the SOP files) and the question bank (``questions/*.gift``);
- ``event_logs/``: the demo event log (``demo_events.parquet``) and its truth
  (``demo_truth.json``), and mapping files for known exports (``mappings/*.yaml``, e.g. the
  call-centre log of ``anonymous_bank.yaml``).

The top-level ``sops/`` and ``event_logs/`` folders of the repository are the source of truth. The
package reaches them through two symbolic links, ``procmine/_bundled/sops`` and
``procmine/_bundled/event_logs``: a source checkout and an editable install read the repository's
files through them, and a wheel build follows them (the package-data globs in ``pyproject.toml``)
and carries a copy.

DuckDB (reading the parquet) and dulwich (seeding a git repository from the SOP folder) need a real
filesystem path. :func:`bundled_path` gives one: the resource itself when the package lives on disk
(a checkout, an editable install, a wheel installed by pip), otherwise a path in a copy of the
whole top-level folder in a temporary folder (so ``demo_truth.json`` still sits beside the
parquet), removed when the process ends. (``importlib.resources.as_file`` copies only single files
before Python 3.12, under a random name.)

Example:
    >>> bundled_path("sops", "baseline.csv").name
    'baseline.csv'
    >>> bundled_resource("sops").joinpath("SOP-P18.md").is_file()
    True
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from importlib.abc import Traversable
from importlib.resources import files
from pathlib import Path

__all__ = ["bundled_path", "bundled_resource", "default_home"]

#: The folder of the bundled files inside the package.
_BUNDLED: Traversable = files("procmine").joinpath("_bundled")

#: The copies made by :func:`bundled_path` when the package is not on disk (a zip archive).
_copies: dict[str, Path] = {}


def default_home() -> Path:
    """The workspace folder: ``PROCMINE_HOME`` or ``./workspace``."""
    return Path(os.environ.get("PROCMINE_HOME", "workspace"))


def bundled_resource(*parts: str) -> Traversable:
    """A bundled file or folder as a package resource, e.g. ``bundled_resource("sops")``.

    It may not exist (a name that is not bundled): check with ``is_file()`` / ``is_dir()``.
    """
    return _BUNDLED.joinpath(*parts)


def bundled_path(folder: str, *parts: str) -> Path:
    """A bundled file or folder on the filesystem, e.g. ``bundled_path("event_logs",
    "demo_events.parquet")``, for libraries that read paths.

    The resource itself (symbolic links resolved) when the package is on disk; otherwise a path
    in a copy of the whole top-level folder (``sops``, ``event_logs``), made on first use and
    removed when the process ends. A missing resource gives a path that does not exist (callers
    that check ``exists()`` report it in their own words).
    """
    resource = bundled_resource(folder, *parts)
    if isinstance(resource, Path):
        # resolved: in a checkout, the repository's own sops/ and event_logs/ (the files to edit)
        return resource.resolve()
    if folder not in _copies:
        copy = Path(tempfile.mkdtemp(prefix="procmine-bundled-")) / folder
        atexit.register(shutil.rmtree, copy.parent, ignore_errors=True)
        _copy_tree(bundled_resource(folder), copy)
        _copies[folder] = copy
    return _copies[folder].joinpath(*parts)


def _copy_tree(source: Traversable, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return
    for entry in source.iterdir():
        if entry.is_dir():
            _copy_tree(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())
