"""Doctests: every example in the library's docstrings runs in ``make test``.

Examples that need data get it from one demo workspace, built once per run from the bundled demo
log as ``procmine demo-workspace`` builds it (``PROCMINE_HOME`` names it): the names ``home``,
``store``, ``baseline`` and ``library`` are in every docstring example's namespace, and each
example runs in an empty folder of its own. Page scripts (they draw when imported) and
``python -m procmine.cli`` are not collected.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

# No warm-up in the background after the tests' ingests and drops (it would compete with the
# tests for the 2 cores, outliving them); tests/test_warm_up.py turns it on where it tests it.
os.environ.setdefault("PROCMINE_WARM", "off")
from _pytest.doctest import DoctestItem

collect_ignore_glob = ["procmine/dashboard/pages/*.py", "procmine/cli/__main__.py"]


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from procmine.core.baseline import load_baseline
    from procmine.demo.workspace import build_demo_workspace
    from procmine.sop.library import SopLibrary
    from procmine.store.event_store import EventStore

    home = tmp_path_factory.mktemp("doctest") / "workspace"
    build_demo_workspace(home)
    return {"home": home, "store": EventStore(home), "baseline": load_baseline(),
            "library": SopLibrary.open(home)}


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest) -> None:
    """Fill a docstring example's namespace, and run it in a folder of its own (an example
    that writes a file writes it there)."""
    if isinstance(request.node, DoctestItem):
        request.getfixturevalue("doctest_namespace").update(
            request.getfixturevalue("demo_workspace"))
        tmp_path: Path = request.getfixturevalue("tmp_path")
        monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("PROCMINE_HOME", str(request.getfixturevalue("demo_workspace")["home"]))
