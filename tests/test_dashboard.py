"""The dashboard placeholder renders on the bundled data, in AppTest and served for real."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from procmine.workspace import build_demo_workspace

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-workspace")
    report = build_demo_workspace(home)
    assert report is not None and report.loaded > 100_000
    return home


def test_overview_shows_the_store_of_the_demo_workspace(demo_home: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PROCMINE_HOME", str(demo_home))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    from procmine.store import EventStore

    info = EventStore(demo_home).info()
    assert metrics["事件 / Events"] == f"{info.events:,}"
    assert metrics["柜员 / Tellers"] == "48"
    assert metrics["网点 / Branches"] == "6"


def test_overview_on_an_empty_workspace_says_so(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PROCMINE_HOME", str(tmp_path / "empty"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "The store is empty" in at.info[0].value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_streamlit_serves_the_dashboard(demo_home: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PROCMINE_HOME": str(demo_home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
         "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        health = ""
        while time.monotonic() < deadline and health != "ok":
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=2) as r:
                    health = r.read().decode()
            except OSError:
                time.sleep(0.5)
        assert health == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200
            assert "streamlit" in r.read().decode().lower()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
