"""Batches: listed from the ingest history, and dropped whole with an audit row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from procmine import ProcmineError, drop_batch, list_audit, list_batches
from procmine.cli.main import app
from procmine.ingest.run import ingest_log
from procmine.store.event_store import EventStore

runner = CliRunner()


def write(path: Path, cases: range, bad: int = 0) -> Path:
    lines = ["case_id,activity,end_time"]
    lines += [f"C{i},Open,2026-10-01 09:{i % 60:02d}:00" for i in cases]
    lines += [f",Open,2026-10-01 10:{i:02d}:00" for i in range(bad)]  # missing_case_id
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_dropped_batch_leaves_the_store_the_history_and_its_quarantine(
    store: EventStore, tmp_path: Path
) -> None:
    first = ingest_log(store, write(tmp_path / "a.csv", range(0, 50), bad=3))
    second = ingest_log(store, write(tmp_path / "b.csv", range(50, 80)))
    assert [(b.batch_id, b.loaded, b.quarantined) for b in list_batches(store)] == [
        (first.batch_id, 50, 3), (second.batch_id, 30, 0)]
    assert first.quarantine_file is not None and Path(first.quarantine_file).exists()

    dropped = drop_batch(store, first.batch_id, user="ops")

    assert (dropped.batch_id, dropped.loaded, dropped.quarantined) == (first.batch_id, 50, 3)
    assert [b.batch_id for b in list_batches(store)] == [second.batch_id]
    info = store.info()
    assert (info.events, info.batches, info.quarantined) == (30, 1, 0)
    assert not store.batch_file(first.batch_id).exists()
    assert not Path(first.quarantine_file).exists()
    audit = list_audit(store.home, action="batch.drop")
    assert [(e.username, e.detail) for e in audit] == [
        ("ops", f"{first.batch_id} ({tmp_path / 'a.csv'}): 50 rows loaded, 3 quarantined")]
    # its rows load again from the file
    again = ingest_log(store, tmp_path / "a.csv")
    assert (again.loaded, again.quarantined) == (50, 3)
    assert store.info().events == 80


def test_dropping_an_unknown_batch_is_refused_and_not_audited(store: EventStore,
                                                               tmp_path: Path) -> None:
    ingest_log(store, write(tmp_path / "a.csv", range(10)))
    with pytest.raises(ProcmineError, match="no batch 'nope'"):
        drop_batch(store, "nope", user="ops")
    assert store.info().events == 10
    assert list_audit(store.home, action="batch.drop") == []


def test_a_drop_killed_after_hiding_its_file_is_undone_by_the_next_writer(
    store: EventStore, tmp_path: Path
) -> None:
    """remove_batch first renames the batch file partial: killed right there, the batch is
    still in the history, and the next writer puts the file back."""
    report = ingest_log(store, write(tmp_path / "a.csv", range(10)))
    store.batch_file(report.batch_id).replace(store.partial_file(report.batch_id))
    with store.lock():
        pass
    assert store.info().events == 10
    assert [b.batch_id for b in list_batches(store)] == [report.batch_id]


def test_batch_list_and_drop_on_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "workspace"
    source = write(tmp_path / "a.csv", range(20))
    result = runner.invoke(app, ["ingest", str(source), "--home", str(home), "--json"])
    assert result.exit_code == 0, result.output
    batch_id = json.loads(result.stdout)["batch_id"]

    listed = runner.invoke(app, ["batch", "list", "--home", str(home), "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(b["batch_id"], b["read"], b["loaded"]) for b in json.loads(listed.stdout)] == [
        (batch_id, 20, 20)]
    table = runner.invoke(app, ["batch", "list", "--home", str(home)])
    assert "1 ingest batches" in table.stdout

    dropped = runner.invoke(app, ["batch", "drop", batch_id, "--user", "li.na", "--home",
                                  str(home)])
    assert dropped.exit_code == 0, dropped.output
    assert f"dropped batch {batch_id}" in dropped.stdout
    assert EventStore(home).info().events == 0
    assert [e.username for e in list_audit(home, action="batch.drop")] == ["li.na"]
    listed = runner.invoke(app, ["batch", "list", "--home", str(home), "--json"])
    assert json.loads(listed.stdout) == []


def test_operations_drop_a_batch_on_the_upload_page(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from procmine import add_user, t

    home = tmp_path / "workspace"
    monkeypatch.setenv("PROCMINE_HOME", str(home))
    store = EventStore(home)
    keep = ingest_log(store, write(tmp_path / "a.csv", range(0, 10)))
    drop = ingest_log(store, write(tmp_path / "b.csv", range(10, 25)))
    user = add_user("wang.ops", "a long and unusual passphrase 7", "operations", home=home)
    page = Path(__file__).resolve().parents[1] / "procmine/dashboard/pages/upload.py"
    at = AppTest.from_file(str(page), default_timeout=60)
    at.session_state["procmine_user"] = user
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="drop_batch").value == drop.batch_id  # the newest first
    assert at.button(key="drop_go").disabled
    at.checkbox(key="drop_confirm").check().run()
    at.button(key="drop_go").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == [
        t("upload.dropped", "zh-CN", batch=drop.batch_id, loaded="15")]
    assert [b.batch_id for b in list_batches(store)] == [keep.batch_id]
    assert store.info().events == 10
    assert [e.username for e in list_audit(home, action="batch.drop")] == ["wang.ops"]
