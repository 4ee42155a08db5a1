"""The workspace home and the bundled files (procmine/core/paths.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from procmine.core import paths
from procmine.core.paths import bundled_path, bundled_resource, default_home

REPO = Path(__file__).resolve().parents[1]


def test_default_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PROCMINE_HOME", raising=False)
    assert default_home() == Path("workspace")
    monkeypatch.setenv("PROCMINE_HOME", str(tmp_path))
    assert default_home() == tmp_path


def test_in_a_checkout_the_bundled_files_are_the_repository_folders() -> None:
    assert bundled_path("sops") == REPO / "sops"
    assert bundled_path("sops", "baseline.csv") == REPO / "sops" / "baseline.csv"
    assert bundled_path("event_logs", "demo_events.parquet").read_bytes() == (
        REPO / "event_logs" / "demo_events.parquet").read_bytes()
    assert bundled_resource("sops", "SOP-P18.md").read_text(encoding="utf-8") == (
        REPO / "sops" / "SOP-P18.md").read_text(encoding="utf-8")
    assert not bundled_path("sops", "no-such-file.md").exists()


def test_a_package_in_a_zip_archive_gets_copies(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    archive = tmp_path / "procmine.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("_bundled/sops/SOP-X01.md", "# X01\n")
        out.writestr("_bundled/sops/questions/X01.gift", "::q:: ?{}\n")
        out.writestr("_bundled/event_logs/demo_events.parquet", b"PAR1")
        out.writestr("_bundled/event_logs/demo_truth.json", "{}")
    monkeypatch.setattr(paths, "_BUNDLED", zipfile.Path(archive, "_bundled/"))
    monkeypatch.setattr(paths, "_copies", {})

    sops = bundled_path("sops")
    assert sops.is_dir() and sops.name == "sops"
    assert sorted(p.relative_to(sops).as_posix() for p in sops.rglob("*") if p.is_file()) == [
        "SOP-X01.md", "questions/X01.gift"]
    log = bundled_path("event_logs", "demo_events.parquet")
    assert log.read_bytes() == b"PAR1"
    assert (log.parent / "demo_truth.json").read_text() == "{}"
    # one copy per top-level folder, made once
    assert bundled_path("event_logs", "demo_truth.json").parent == log.parent
    assert not bundled_path("event_logs", "missing.parquet").exists()
