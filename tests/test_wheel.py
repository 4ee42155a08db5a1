"""The wheel works outside the repository, with only the base dependencies.

One module fixture builds the wheel (``pip wheel --no-deps``) from a clean copy of the sources
(the package, the bundled ``sops/`` and ``event_logs/`` its links point to, ``pyproject.toml``,
``README.md``, ``LICENSE``), so no ``build/`` folder is written into the repository and no stale
file in one can slip into the wheel. It installs the wheel into a fresh virtual environment (no
system site-packages) with its dependencies pinned by ``constraints.txt``: no dashboard, Spark or
maps extra. pip's cache makes the install quick after ``make setup``.

Each test then runs the installed ``procmine`` with the working directory and ``PROCMINE_HOME``
in fresh folders outside the repository, and without ``PYTHONPATH``, so only the wheel's copy of
the package and of the bundled files can answer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE")
FOLDERS = ("procmine", "sops", "event_logs")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    def procmine(self, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the installed ``procmine`` from a fresh folder with a fresh workspace."""
        return self._run(tmp_path, [str(self.venv / "bin" / "procmine"), *args])

    def python(self, tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
        """Run code with the venv's Python, the same way."""
        return self._run(tmp_path, [str(self.venv / "bin" / "python"), "-c", code])

    def _run(self, tmp_path: Path, command: list[str]) -> subprocess.CompletedProcess[str]:
        cwd = tmp_path / "elsewhere"
        cwd.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        env["PROCMINE_HOME"] = str(tmp_path / "home")
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=300)


def _pip(python: Path | str, *args: str, cwd: Path) -> None:
    result = subprocess.run([str(python), "-m", "pip", *args, "--quiet",
                             "--disable-pip-version-check"], cwd=cwd, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        shutil.copy2(REPO / name, source / name)
    for name in FOLDERS:
        shutil.copytree(REPO / name, source / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    _pip(sys.executable, "wheel", str(source), "--no-deps", "-w", str(root / "dist"), cwd=root)
    [wheel] = (root / "dist").glob("procmine-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    _pip(venv / "bin" / "python", "install", "-c", str(REPO / "constraints.txt"), str(wheel),
         cwd=root)
    return Installed(wheel, venv)


def test_the_wheel_carries_the_bundled_files(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    bundled = {f"procmine/_bundled/sops/{p.name}" for p in (REPO / "sops").glob("SOP-*.md")}
    assert len(bundled) >= 22
    assert bundled | {"procmine/_bundled/sops/baseline.csv",
                      "procmine/_bundled/sops/activities.csv",
                      "procmine/_bundled/event_logs/demo_events.parquet",
                      "procmine/_bundled/event_logs/demo_truth.json",
                      "procmine/_bundled/event_logs/mappings/anonymous_bank.yaml",
                      "procmine/_bundled/event_logs/mappings/demo_tickets.yaml",
                      "procmine/app/locales/en.yaml"} <= names
    assert not any(n.startswith(("tests/", "sops/", "event_logs/", "bench/")) for n in names)


def test_procmine_imports_from_the_venv_without_the_dashboard(installed: Installed,
                                                               tmp_path: Path) -> None:
    code = ("import importlib.util, json, sys, procmine, procmine.cli; "
            "print(json.dumps([procmine.__file__, 'streamlit' in sys.modules, "
            "[importlib.util.find_spec(m) is None for m in ('streamlit', 'pm4py', 'pyspark')]]))")
    result = installed.python(tmp_path, code)
    assert result.returncode == 0, result.stderr
    where, streamlit_loaded, missing = json.loads(result.stdout)
    assert Path(where).resolve().is_relative_to(installed.venv.resolve())
    assert not Path(where).resolve().is_relative_to(REPO)
    assert streamlit_loaded is False
    assert missing == [True, True, True]


def test_baseline_show(installed: Installed, tmp_path: Path) -> None:
    result = installed.procmine(tmp_path, "baseline", "show", "--json")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert len(records) == 58
    p18 = next(r for r in records if r["business_type"] == "P18")
    assert p18["name_en"] == "Current-account cash withdrawal"
    assert p18["review_group"] == "accounting-and-cash"
    table = installed.procmine(tmp_path, "baseline", "show")
    assert table.returncode == 0 and "58 business types" in table.stdout


def test_sop_lint_on_the_bundled_sops(installed: Installed, tmp_path: Path) -> None:
    result = installed.procmine(tmp_path, "sop", "lint", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["files"] == report["sops"] == len(list((REPO / "sops").glob("SOP-*.md")))
    assert (report["ok"], report["errors"], report["warnings"]) == (True, 0, 0)


def test_demo_workspace(installed: Installed, tmp_path: Path) -> None:
    result = installed.procmine(tmp_path, "demo-workspace")
    assert result.returncode == 0, result.stderr
    truth = json.loads((REPO / "event_logs" / "demo_truth.json").read_text(encoding="utf-8"))
    info = installed.procmine(tmp_path, "info", "--json")
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    assert Path(summary["home"]) == tmp_path / "home"
    assert (summary["events"], summary["business_types"], summary["quarantined"]) == (
        truth["events"], 58, 0)
    # the demo lobby's queue-system export, ingested through the bundled mapping
    batches = installed.procmine(tmp_path, "batch", "list", "--json")
    assert batches.returncode == 0, batches.stderr
    tickets = [b for b in json.loads(batches.stdout) if b.get("kind") == "tickets"]
    assert len(tickets) == 1 and tickets[0]["quarantined"] == 0 and tickets[0]["loaded"] > 20_000
    # the SOP library is seeded from the bundled SOPs, with the demo's P18 revision approved
    listing = installed.procmine(tmp_path, "sop", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    latest = {v["sop"]: v for v in json.loads(listing.stdout)}
    assert len(latest) == len(list((REPO / "sops").glob("SOP-*.md")))
    assert (latest["SOP-P18"]["status"], latest["SOP-P18"]["effective"]) == ("approved",
                                                                           "2026-09-21")
    assert not (tmp_path / "elsewhere" / "workspace").exists()
