"""``procmine sop``: lint, versions and the review workflow from the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from procmine.app.auth import add_user
from procmine.cli.main import app
from procmine.sop.repository import bundled_sops_dir
from procmine.sop.workflow import WorkflowError

runner = CliRunner()
PASSWORD = "a-long-password"
SIGNED = ["--password-stdin"]  # and the password as the input


def test_lint_passes_on_the_bundled_library(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sop", "lint", str(bundled_sops_dir()), "--home",
                                 str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["sops"] == report["files"] == len(list(bundled_sops_dir().glob("SOP-*.md")))
    assert report["errors"] == 0


def test_lint_names_file_line_and_field_of_a_broken_sop(tmp_path: Path) -> None:
    folder = tmp_path / "sops"
    shutil.copytree(bundled_sops_dir(), folder, ignore=shutil.ignore_patterns("*.csv"))
    path = folder / "SOP-P17.md"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, start=1)
                  if line.strip().startswith("standard_seconds:"))
    lines[number - 1] = lines[number - 1].split(":")[0] + ": ten\n"
    path.write_text("".join(lines), encoding="utf-8")
    result = runner.invoke(app, ["sop", "lint", str(folder), "--home", str(tmp_path)])
    assert result.exit_code == 1
    assert (f"SOP-P17.md:{number}: error: steps[1].standard_seconds: 'ten' is not a positive "
            "number of seconds") in " ".join(result.output.split())
    assert "21 SOPs: 1 errors" in " ".join(result.output.split())


def test_save_submit_approve_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    add_user("li", "a-long-password", "reviewer", home=home, review_group="accounting-and-cash")
    add_user("wang", "a-long-password", "reviewer", home=home,
             review_group="accounting-and-cash")
    shown = runner.invoke(app, ["sop", "show", "SOP-P17", "--home", str(home)])
    assert shown.exit_code == 0
    edited = tmp_path / "SOP-P17.md"
    edited.write_text(shown.stdout.replace("唱收", "唱收（大声）", 1), encoding="utf-8")
    saved = runner.invoke(app, ["sop", "save", "SOP-P17", str(edited), "--user", "li", *SIGNED,
                                "--note", "Say the amount aloud", "--home", str(home), "--json"],
                          input=PASSWORD + "\n")
    assert saved.exit_code == 0, saved.output
    assert json.loads(saved.stdout)["status"] == "draft"
    refused = runner.invoke(app, ["sop", "save", "SOP-P17", str(edited), "--user", "li",
                                  *SIGNED, "--note", "", "--home", str(home)],
                            input=PASSWORD + "\n")
    assert isinstance(refused.exception, WorkflowError)
    assert "change note is required" in str(refused.exception)
    # the password is asked for when --password-stdin is not given
    assert runner.invoke(app, ["sop", "submit", "SOP-P17", "--user", "li",
                               "--home", str(home)], input=PASSWORD + "\n").exit_code == 0
    own = runner.invoke(app, ["sop", "approve", "SOP-P17", "--user", "li", *SIGNED,
                              "--home", str(home)], input=PASSWORD + "\n")
    assert isinstance(own.exception, WorkflowError)
    assert "li changed SOP-P17 and may not approve it" in str(own.exception)
    # the draft's effective date has passed: the reviewer chooses the day (issue 17)
    approved = runner.invoke(app, ["sop", "approve", "SOP-P17", "--user", "wang", *SIGNED,
                                   "--today", "2026-11-02", "--effective", "2026-11-02",
                                   "--home", str(home), "--json"], input=PASSWORD + "\n")
    assert approved.exit_code == 0, approved.output
    assert json.loads(approved.stdout)["status"] == "approved"
    history = json.loads(runner.invoke(app, ["sop", "history", "SOP-P17", "--home", str(home),
                                             "--json"]).stdout)
    assert [(v["action"], v["author"]) for v in history] == [
        ("approve", "wang"), ("submit", "li"), ("save", "li"), ("seed", "procmine")]
    assert history[2]["note"] == "Say the amount aloud"
    diff = runner.invoke(app, ["sop", "diff", "SOP-P17", history[3]["commit"][:8],
                               history[0]["commit"][:8], "--home", str(home)])
    assert "+" in diff.stdout and "唱收（大声）" in diff.stdout
    # the same actions in the app's audit trail, beside the user changes
    audit = json.loads(runner.invoke(app, ["user", "audit", "--home", str(home), "--json"])
                       .stdout)
    assert [(r["username"], r["action"]) for r in audit] == [
        ("wang", "sop.approve"), ("wang", "auth.sign_in"), ("li", "auth.sign_in"),
        ("li", "sop.submit"), ("li", "auth.sign_in"), ("li", "auth.sign_in"), ("li", "sop.save"),
        ("li", "auth.sign_in"), ("wang", "user.add"), ("li", "user.add")]
    assert audit[6]["detail"].startswith(f"SOP-P17 {history[2]['version']} draft: "
                                         "Say the amount aloud (commit ")
    only = runner.invoke(app, ["user", "audit", "--action", "sop.approve", "--home", str(home)])
    assert only.exit_code == 0
    assert "sop.approve" in only.stdout and "sop.save" not in only.stdout
    # through the entry point: a user's mistake is a message and exit code 2, no traceback
    unknown = subprocess.run([sys.executable, "-m", "procmine.cli", "sop", "approve", "SOP-P17",
                              "--user", "nobody", "--password-stdin", "--home", str(home)],
                             capture_output=True, text=True, input="whatever-pass\n")
    assert unknown.returncode == 2
    assert ("error: --user nobody: wrong user name or password"
            in " ".join(unknown.stderr.split()))
    assert "Traceback" not in unknown.stderr


def test_sop_actions_need_the_users_password(tmp_path: Path) -> None:
    """--user alone no longer acts as anyone: the password is checked, with the lockout."""
    home = tmp_path / "ws"
    add_user("li", PASSWORD, "reviewer", home=home, review_group="accounting-and-cash")
    shown = runner.invoke(app, ["sop", "show", "SOP-P17", "--home", str(home)])
    edited = tmp_path / "SOP-P17.md"
    edited.write_text(shown.stdout.replace("唱收", "唱收（大声）", 1), encoding="utf-8")
    args = ["sop", "save", "SOP-P17", str(edited), "--user", "li", "--note", "x",
            "--home", str(home), *SIGNED]
    wrong = runner.invoke(app, args, input="not-her-password\n")
    assert "--user li: wrong user name or password" in str(wrong.exception)
    empty = runner.invoke(app, args, input="")
    assert "nothing was given on standard input" in str(empty.exception)
    for _ in range(4):
        runner.invoke(app, args, input="not-her-password\n")
    locked = runner.invoke(app, args, input=PASSWORD + "\n")
    assert "too many failed sign-ins for 'li'" in str(locked.exception)
    history = json.loads(runner.invoke(app, ["sop", "history", "SOP-P17", "--home", str(home),
                                             "--json"]).stdout)
    assert [v["action"] for v in history] == ["seed"]
