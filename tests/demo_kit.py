"""The demo workspace of a test run, built once and copied for every test module that needs one.

``procmine demo-workspace`` takes about ten CPU-seconds (the bundled log's ingest, the queue
export, the SOP library's git history, the training room and the register); some thirty test
modules each want a workspace of their own to change as they please. :func:`copy_demo_workspace`
builds the demo once per run, in the folder every pytest-xdist worker of the run shares (under a
file lock, so the first worker builds it and the others wait), and gives each caller a copy: the
same files, the same app database, the same SOP history. Tests of the build itself
(``tests/test_demo.py``, ``tests/test_queue_demo.py``, ``tests/test_chinese_walk.py``,
``tests/test_dashboard.py``, ``tests/test_dashboard_conditions_zh.py``) still call
:func:`build_demo_workspace` on their own folder.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest

from procmine.app.appdb import DB_URL_ENV
from procmine.demo.workspace import build_demo_workspace

__all__ = ["copy_demo_workspace"]


def _run_folder(factory: pytest.TempPathFactory) -> Path:
    """The folder of this test run that every xdist worker shares (a worker's base temporary
    folder is ``<run>/popen-gw<n>``)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def copy_demo_workspace(factory: pytest.TempPathFactory, home: Path) -> Path:
    """A demo workspace at ``home`` (made, or filled if it is an empty folder): a copy of the
    run's, built on the first call. Returns ``home``."""
    run = _run_folder(factory)
    template, built = run / "demo-workspace-template", run / "demo-workspace-template.built"
    with open(run / "demo-workspace-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            shutil.rmtree(template, ignore_errors=True)
            with pytest.MonkeyPatch.context() as patch:  # the demo's users go to its own file
                patch.delenv(DB_URL_ENV, raising=False)
                build_demo_workspace(template)
            built.touch()
    shutil.copytree(template, home, symlinks=True, dirs_exist_ok=True)
    return home
