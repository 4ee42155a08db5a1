"""Uploads: a file uploaded on the Upload page is removed once its ingest has finished (loaded
or refused), unless PROCMINE_KEEP_UPLOADS_DAYS keeps it; kept ones are purged at the next upload
once older than that."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import procmine
from procmine import ProcmineError, add_user, t
from procmine.store.event_store import EventStore

GOOD = b"case_id,activity,end_time\nC1,Open,2026-10-01 09:00:00\nC2,Open,2026-10-01 09:05:00\n"
PAGE = Path(__file__).resolve().parents[1] / "procmine/dashboard/pages/upload.py"


def age(path: Path, days: float) -> None:
    """Make ``path`` look ``days`` days old."""
    stamp = (datetime.now(UTC) - timedelta(days=days)).timestamp()
    os.utime(path, (stamp, stamp))


def test_an_ingested_upload_is_removed_by_default(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROCMINE_KEEP_UPLOADS_DAYS", raising=False)
    path = procmine.save_upload("log.csv", GOOD, tmp_path)
    assert path.parent == tmp_path / "uploads" and path.read_bytes() == GOOD
    assert procmine.release_upload(path) is True
    assert list((tmp_path / "uploads").iterdir()) == []


def test_kept_uploads_stay_until_older_than_the_retention(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCMINE_KEEP_UPLOADS_DAYS", "7")
    old = procmine.save_upload("old.csv", GOOD, tmp_path)
    recent = procmine.save_upload("recent.csv", GOOD, tmp_path)
    assert procmine.release_upload(old) is False and procmine.release_upload(recent) is False
    age(old, 8)
    age(recent, 6)
    new = procmine.save_upload("new.csv", GOOD, tmp_path)  # the next upload purges
    assert sorted((tmp_path / "uploads").iterdir()) == sorted([recent, new])
    assert procmine.purge_uploads(tmp_path, keep_days=5) == [recent]
    assert list((tmp_path / "uploads").iterdir()) == [new]


def test_with_no_retention_a_leftover_goes_after_a_day_not_sooner(tmp_path: Path) -> None:
    """Days 0: an ingest of another session may still be reading a fresh upload; what a crashed
    ingest left behind is purged once a day old."""
    fresh = procmine.save_upload("fresh.csv", GOOD, tmp_path)
    stale = procmine.save_upload("stale.csv", GOOD, tmp_path)
    age(stale, 1.5)
    assert procmine.purge_uploads(tmp_path, keep_days=0) == [stale]
    assert list((tmp_path / "uploads").iterdir()) == [fresh]
    assert procmine.purge_uploads(tmp_path / "nothing-here", keep_days=0) == []


@pytest.mark.parametrize("raw", ["-1", "a week", "1.5"])
def test_a_bad_retention_is_a_clear_error(raw: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCMINE_KEEP_UPLOADS_DAYS", raw)
    with pytest.raises(ProcmineError, match=r"PROCMINE_KEEP_UPLOADS_DAYS=.* whole number of days"):
        procmine.save_upload("log.csv", GOOD, tmp_path)
    assert not (tmp_path / "uploads").exists()


class Upload:
    """What st.file_uploader returns for one file."""

    def __init__(self, name: str, content: bytes) -> None:
        self.name, self.size, self._content = name, len(content), content

    def getvalue(self) -> bytes:
        return self._content


def run_page(home: Path, monkeypatch: pytest.MonkeyPatch, files: list[Upload]) -> Any:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def uploader(label: str, *args: Any, key: str | None = None, **kwargs: Any) -> Any:
        return files if key == "upload_files" else None

    monkeypatch.setattr(st, "file_uploader", uploader)
    user = add_user("wang.ops", "a long and unusual passphrase 7", "operations", home=home)
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["procmine_user"] = user
    at.run()
    assert not at.exception, at.exception
    at.button(key="upload_go").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("keep", ["", "3"])
def test_the_upload_page_removes_its_files_once_ingested(keep: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "workspace"
    monkeypatch.setenv("PROCMINE_HOME", str(home))
    monkeypatch.setenv("PROCMINE_KEEP_UPLOADS_DAYS", keep)
    at = run_page(home, monkeypatch, [Upload("good.csv", GOOD),
                                      Upload("bad.csv", b"no,such,columns\n1,2,3\n")])
    assert [s.value for s in at.success] == [
        t("upload.done", "zh-CN", file="good.csv", read="2", loaded="2", quarantined="0")]
    assert len(at.error) == 1  # the second file is refused: no case id column
    assert EventStore(home).info().events == 2
    kept = sorted(p.name.split("-", 1)[1] for p in (home / "uploads").iterdir())
    assert kept == ([] if not keep else ["bad.csv", "good.csv"])


def test_the_upload_page_re_measures_the_register_after_an_ingest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a file is loaded the page refreshes the improvement register on the new data and
    says what changed; a refresh that fails is a warning, the data stays loaded."""
    from procmine.improve.refresh import RefreshReport

    home = tmp_path / "workspace"
    monkeypatch.setenv("PROCMINE_HOME", str(home))
    calls: list[int] = []

    def changed(*args: Any, **kwargs: Any) -> RefreshReport:
        calls.append(kwargs["store"].info().events)
        return RefreshReport(measured=[4, 5], verified=[4], not_effective=[5], regressions=[2])

    monkeypatch.setattr(procmine, "refresh_register", changed)
    at = run_page(home, monkeypatch, [Upload("good.csv", GOOD)])
    assert calls == [2]  # once, after the rows were in
    assert [i.value for i in at.info] == [t("upload.register_refreshed", "zh-CN", verified=1,
                                            not_effective=1, regressions=1)]

    def broken(*args: Any, **kwargs: Any) -> RefreshReport:
        raise RuntimeError("app database unreachable")

    monkeypatch.setattr(procmine, "refresh_register", broken)
    other = tmp_path / "other"
    monkeypatch.setenv("PROCMINE_HOME", str(other))
    at = run_page(other, monkeypatch, [Upload("good.csv", GOOD)])
    assert [w.value for w in at.warning] == [t("upload.register_failed", "zh-CN",
                                               message="app database unreachable")]
    assert EventStore(other).info().events == 2
