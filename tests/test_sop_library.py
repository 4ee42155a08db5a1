"""The git-versioned SOP library: commits, history, diffs, dates in force, review workflow,
concurrent edits."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dulwich.repo import Repo

from procmine.app.appdb import list_audit
from procmine.sop.document import SopError, parse_sop, set_front_matter
from procmine.sop.library import SopLibrary, side_by_side
from procmine.sop.workflow import Editor, SaveConflict, WorkflowError

SOP_TEXT = """\
---
id: SOP-P17
title: {zh: 活期现金存款, en: Current-account cash deposit}
business_types: [P17]
owner_group: accounting-and-cash
version: "1.2"
status: approved
effective: 2026-03-01
review_due: 2027-03-01
approved_by: zhao
steps:
  - id: call_number
    activity: Call number
    standard_seconds: 30
  - id: count_cash
    activity: Count cash
    standard_seconds: 60
    controls: [当面点清]
  - id: enter_transaction
    activity: Enter transaction
    standard_seconds: 30
---
# 活期现金存款 Current-account cash deposit

## 操作步骤 Steps

### 1. 叫号 Call number {#call_number}

叫号，请客户到窗口。

### 2. 点钞 Count cash {#count_cash}

当面点清，唱收唱付。

### 3. 录入交易 Enter transaction {#enter_transaction}

在核心系统录入，核对金额。

## 常见差错 Common errors

- 点钞后未复核金额。
"""

ALICE = Editor("alice", "reviewer", "accounting-and-cash", "Alice Li")
BOB = Editor("bob", "reviewer", "accounting-and-cash", "Bob Wang")
CAROL = Editor("carol", "reviewer", "domestic-settlement", "Carol Chen")
TELLER = Editor("tina", "teller")


@pytest.fixture
def library(tmp_path: Path) -> SopLibrary:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "SOP-P17.md").write_text(SOP_TEXT, encoding="utf-8")
    return SopLibrary.open(tmp_path / "home", seed=seed)


def _edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_seeded_library_is_a_git_repository_with_one_commit(library: SopLibrary) -> None:
    repo = Repo(str(library.root))
    entries = list(repo.get_walker())
    repo.close()
    assert len(entries) == 1
    assert library.ids() == ["SOP-P17"]
    (only,) = library.history("SOP-P17")
    assert only.action == "seed"
    assert only.sop.version == "1.2"
    assert library.approved("SOP-P17") == only
    # reopening does not seed again
    assert len(SopLibrary.open(library.root.parent, seed=library.root).history("SOP-P17")) == 1


def test_a_library_under_a_relative_home_is_seeded_and_takes_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``procmine`` run with the default home ``./workspace`` (no PROCMINE_HOME) opens the
    library by a relative path; the seed and later commits still hold the files."""
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "SOP-P17.md").write_text(SOP_TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROCMINE_HOME", raising=False)
    library = SopLibrary.open(seed=seed)
    assert library.root == tmp_path / "workspace" / "sops"
    assert library.ids() == ["SOP-P17"]
    head = library.current("SOP-P17")
    text = (library.root / "SOP-P17.md").read_text(encoding="utf-8")
    changed = _edit(text, "唱收唱付", "唱收唱付，复点一遍")
    library.save("SOP-P17", changed, user=ALICE, note="Recount once", base=head.commit)
    assert [v.action for v in SopLibrary.open("workspace").history("SOP-P17")] == ["save",
                                                                                    "seed"]


def test_a_change_is_a_commit_with_author_and_note(library: SopLibrary) -> None:
    head = library.current("SOP-P17")
    text = _edit(head.sop.text, "当面点清，唱收唱付。", "当面点清，唱收唱付，大额券别分开清点。")
    result = library.save("SOP-P17", text, user=ALICE, note="Clarify counting of mixed notes",
                          base=head.commit)
    saved = result.version
    assert saved.author == "alice"
    assert saved.author_name == "Alice Li"
    assert saved.note == "Clarify counting of mixed notes"
    assert saved.review_group == "accounting-and-cash"
    assert saved.action == "save"
    # body-only change: minor bump against the version in force; it is a draft now
    assert (saved.sop.version, saved.sop.status, saved.sop.author) == ("1.3", "draft", "alice")
    assert saved.sop.approved_by is None
    # git itself sees the commit, with the author in the commit's author field
    log = subprocess.run(["git", "-C", str(library.root), "log", "--format=%an <%ae>|%s"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert log[0] == "Alice Li <alice@procmine>|SOP-P17 1.3 draft: Clarify counting of mixed notes"
    assert len(log) == 2
    # the approved version stays in force until the draft is approved
    assert library.approved("SOP-P17").sop.version == "1.2"  # type: ignore[union-attr]
    # the working copy holds the committed text: nothing pending
    assert library.pending_edits() == []


def test_changed_steps_bump_the_major_version(library: SopLibrary) -> None:
    head = library.current("SOP-P17")
    text = _edit(head.sop.text, "standard_seconds: 60", "standard_seconds: 45")
    text = _edit(text, "standard_seconds: 30\n---", "standard_seconds: 45\n---")
    saved = library.save("SOP-P17", text, user=ALICE, note="Note counter", base=head.commit)
    assert saved.version.sop.version == "2.0"
    # a second save of the same draft keeps bumping against the approved 1.2, not against 2.0
    again = library.save("SOP-P17", _edit(saved.version.sop.text, "叫号，", "叫号后，"),
                         user=ALICE, note="Wording", base=saved.version.commit)
    assert again.version.sop.version == "2.0"


def test_a_change_note_is_required_and_bad_text_is_refused(library: SopLibrary) -> None:
    head = library.current("SOP-P17")
    with pytest.raises(WorkflowError, match="change note"):
        library.save("SOP-P17", head.sop.text + "\n", user=ALICE, note="  ", base=head.commit)
    broken = _edit(head.sop.text, "standard_seconds: 60", "standard_seconds: sixty")
    with pytest.raises(SopError, match=r"SOP-P17.md:17: error: steps\[2\].standard_seconds"):
        library.save("SOP-P17", broken, user=ALICE, note="x", base=head.commit)
    with pytest.raises(WorkflowError, match="may not edit"):
        library.save("SOP-P17", head.sop.text + "\n", user=CAROL, note="x", base=head.commit)
    with pytest.raises(WorkflowError, match="may not edit"):
        library.save("SOP-P17", head.sop.text + "\n", user=TELLER, note="x", base=head.commit)
    assert len(library.history("SOP-P17")) == 1


def test_approval_rules(library: SopLibrary) -> None:
    head = library.current("SOP-P17")
    saved = library.save("SOP-P17", _edit(head.sop.text, "叫号，", "叫号后，"), user=ALICE,
                         note="Wording", base=head.commit).version
    with pytest.raises(WorkflowError, match="only an SOP in review"):
        library.approve("SOP-P17", user=BOB)
    library.submit("SOP-P17", user=ALICE)
    assert library.review_queue("accounting-and-cash")[0].sop.status == "in_review"
    assert library.review_queue("domestic-settlement") == []
    with pytest.raises(WorkflowError, match="alice changed SOP-P17 and may not approve"):
        library.approve("SOP-P17", user=ALICE)
    with pytest.raises(WorkflowError, match="only a reviewer of accounting-and-cash"):
        library.approve("SOP-P17", user=CAROL)
    with pytest.raises(WorkflowError, match="only a reviewer of accounting-and-cash"):
        library.approve("SOP-P17", user=Editor("ops", "operations"))
    # the draft's effective date has passed: refused, never moved to the day of approval
    with pytest.raises(WorkflowError, match="2026-03-01 has passed") as passed:
        library.approve("SOP-P17", user=BOB, comment="OK", today=date(2026, 11, 2))
    assert passed.value.code == "sop.effective_passed"
    approved = library.approve("SOP-P17", user=BOB, comment="OK", today=date(2026, 11, 2),
                               effective=date(2026, 11, 2))
    assert approved.sop.status == "approved"
    assert approved.sop.approved_by == "bob"
    assert approved.sop.version == saved.sop.version == "1.3"
    # the reviewer chose the day of approval
    assert approved.sop.effective == date(2026, 11, 2)
    assert approved.sop.review_due == date(2027, 3, 1)
    assert library.approved("SOP-P17") == approved
    assert [v.action for v in library.history("SOP-P17")] == ["approve", "submit", "save", "seed"]


def test_rejection_returns_to_draft_with_the_comment(library: SopLibrary) -> None:
    head = library.current("SOP-P17")
    library.save("SOP-P17", _edit(head.sop.text, "叫号，", "叫号后，"), user=ALICE,
                 note="Wording", base=head.commit)
    library.submit("SOP-P17", user=ALICE)
    with pytest.raises(WorkflowError, match="says why"):
        library.reject("SOP-P17", user=BOB, comment="")
    rejected = library.reject("SOP-P17", user=BOB, comment="Keep the old wording")
    assert (rejected.sop.status, rejected.note, rejected.author) == (
        "draft", "Keep the old wording", "bob")


def test_text_in_force_on_a_date_and_diff(library: SopLibrary) -> None:
    head = library.current("SOP-P17")
    new_text = set_front_matter(_edit(head.sop.text, "standard_seconds: 60",
                                      "standard_seconds: 40"), effective=date(2026, 10, 12))
    new_text = _edit(new_text, "standard_seconds: 30\n---", "standard_seconds: 50\n---")
    library.save("SOP-P17", new_text, user=ALICE, note="Counting machine", base=head.commit)
    library.submit("SOP-P17", user=ALICE)
    library.approve("SOP-P17", user=BOB, today=date(2026, 10, 1))
    v1, v2 = (v for v in library.approved_versions("SOP-P17"))
    assert (v1.sop.version, v2.sop.version) == ("1.2", "2.0")
    assert library.in_force("SOP-P17", date(2026, 2, 28)) is None
    assert library.in_force("SOP-P17", date(2026, 3, 1)) == v1
    assert library.in_force("SOP-P17", date(2026, 10, 11)) == v1
    assert library.in_force("SOP-P17", date(2026, 10, 12)) == v2
    assert library.text_on("SOP-P17", date(2026, 5, 1)) == SOP_TEXT
    assert "standard_seconds: 40" in (library.text_on("SOP-P17", date(2026, 12, 1)) or "")
    diff = library.diff("SOP-P17", v1.commit, v2.commit)
    assert "-    standard_seconds: 60\n+    standard_seconds: 40\n" in diff
    assert '-version: "1.2"\n+version: "2.0"\n' in diff
    rows = side_by_side(v1.sop.text, v2.sop.text)
    assert ("changed", "    standard_seconds: 60", "    standard_seconds: 40") in rows


def test_branch_adoption_dates(library: SopLibrary) -> None:
    head = library.current("SOP-P17")
    text = set_front_matter(_edit(head.sop.text, "standard_seconds: 60", "standard_seconds: 40"),
                            effective=date(2026, 10, 12))
    text = _edit(text, "standard_seconds: 30\n---", "standard_seconds: 50\n---")
    text = _edit(text, "steps:\n", "adoption: {B01: 2026-10-05, B04: 2026-10-19}\nsteps:\n")
    library.save("SOP-P17", text, user=ALICE, note="Pilot in B01", base=head.commit)
    library.submit("SOP-P17", user=ALICE)
    v2 = library.approve("SOP-P17", user=BOB, today=date(2026, 10, 1))
    assert v2.sop.adoption == {"B01": date(2026, 10, 5), "B04": date(2026, 10, 19)}
    assert library.in_force("SOP-P17", date(2026, 10, 6), branch="B01") == v2
    assert library.in_force("SOP-P17", date(2026, 10, 6), branch="B02").sop.version == "1.2"  # type: ignore[union-attr]
    assert library.in_force("SOP-P17", date(2026, 10, 12), branch="B02") == v2
    assert library.in_force("SOP-P17", date(2026, 10, 12), branch="B04").sop.version == "1.2"  # type: ignore[union-attr]
    assert library.in_force("SOP-P17", date(2026, 10, 19), branch="B04") == v2


def test_concurrent_edits_on_different_lines_are_merged(library: SopLibrary) -> None:
    base = library.current("SOP-P17")
    first = _edit(base.sop.text, "叫号，请客户到窗口。", "叫号，请客户到窗口，微笑示意。")
    second = _edit(base.sop.text, "在核心系统录入，核对金额。", "在核心系统录入，核对金额与户名。")
    library.save("SOP-P17", first, user=ALICE, note="Greeting", base=base.commit)
    result = library.save("SOP-P17", second, user=ALICE, note="Check the name", base=base.commit)
    assert result.merged_with is not None
    text = result.version.sop.text
    assert "微笑示意" in text
    assert "核对金额与户名" in text


def test_concurrent_edits_of_the_same_lines_lose_nothing(library: SopLibrary) -> None:
    base = library.current("SOP-P17")
    mine = _edit(base.sop.text, "当面点清，唱收唱付。", "当面点清两遍。")
    theirs = _edit(base.sop.text, "当面点清，唱收唱付。", "使用点钞机，屏幕朝向客户。")
    landed = library.save("SOP-P17", theirs, user=BOB, note="Machine", base=base.commit).version
    with pytest.raises(SaveConflict) as caught:
        library.save("SOP-P17", mine, user=ALICE, note="Twice", base=base.commit)
    conflict = caught.value
    assert conflict.theirs_commit == landed.commit
    assert "使用点钞机" in conflict.theirs
    assert conflict.yours == mine
    assert "当面点清两遍" in conflict.merged and "使用点钞机" in conflict.merged
    assert "<<<<<<<" in conflict.merged
    # the refused text is kept in the repository, the library's head is the first save
    assert library.kept_text(conflict.kept_ref, "SOP-P17") == mine
    assert library.current("SOP-P17").commit == landed.commit
    # resolving: save again on top of theirs
    resolved = _edit(landed.sop.text, "使用点钞机，屏幕朝向客户。",
                     "使用点钞机，屏幕朝向客户；再手工点清一遍。")
    final = library.save("SOP-P17", resolved, user=ALICE, note="Both", base=landed.commit)
    assert "再手工点清一遍" in final.version.sop.text


def test_edits_committed_outside_the_app_are_picked_up(library: SopLibrary) -> None:
    path = library.root / "SOP-P17.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(_edit(text, "叫号，", "叫号并"), encoding="utf-8")
    assert library.pending_edits() == ["SOP-P17.md"]
    with pytest.raises(WorkflowError, match="not committed"):
        library.save("SOP-P17", _edit(text, "当面", "当着客户的面"), user=ALICE, note="x",
                     base=library.current("SOP-P17").commit)
    git = ["git", "-C", str(library.root), "-c", "user.name=Dan Zhou",
           "-c", "user.email=dan@bank.example"]
    subprocess.run([*git, "commit", "-qam", "Wording from the review meeting"], check=True)
    assert library.pending_edits() == []
    head = library.current("SOP-P17")
    assert (head.action, head.author, head.note) == (
        "external", "dan", "Wording from the review meeting")
    assert "叫号并" in head.sop.text
    # an external commit still marked approved by zhao but authored by dan counts as approved
    assert library.approved("SOP-P17") == head
    assert library.authors_since_approval("SOP-P17") == set()


def test_due_for_review(library: SopLibrary) -> None:
    assert library.due_for_review(date(2026, 12, 1)) == []
    (due,) = library.due_for_review(date(2027, 2, 15), within_days=30)
    assert due.sop.id == "SOP-P17"


def test_retire(library: SopLibrary) -> None:
    with pytest.raises(WorkflowError, match="needs a note"):
        library.retire("SOP-P17", user=BOB, note="")
    library.retire("SOP-P17", user=BOB, note="Replaced by the cash SOP", today=date(2026, 12, 1))
    assert library.approved("SOP-P17") is None
    assert library.in_force("SOP-P17", date(2026, 11, 30)) is not None
    assert library.in_force("SOP-P17", date(2026, 12, 1)) is None


def test_new_sop_is_saved_as_a_first_draft(library: SopLibrary) -> None:
    text = SOP_TEXT.replace("SOP-P17", "SOP-P18").replace("[P17]", "[P18]")
    text = text.replace("standard_seconds: 60", "standard_seconds: 90")
    saved = library.save("SOP-P18", text, user=ALICE, note="New SOP").version
    assert (saved.sop.version, saved.sop.status) == ("1.2", "draft")
    assert library.ids() == ["SOP-P17", "SOP-P18"]
    assert library.approved("SOP-P18") is None
    assert parse_sop(text).id == "SOP-P18"
    assert saved.when.date() == datetime.now(UTC).date()


def test_every_action_is_in_the_app_audit_trail(library: SopLibrary) -> None:
    home = library.root.parent
    head = library.current("SOP-P17")
    saved = library.save("SOP-P17", _edit(head.sop.text, "叫号，", "叫号后，"), user=ALICE,
                         note="Wording\n\nlonger reason", base=head.commit).version
    library.submit("SOP-P17", user=ALICE)
    library.reject("SOP-P17", user=BOB, comment="Keep the old wording")
    library.submit("SOP-P17", user=ALICE, note="Again")
    approved = library.approve("SOP-P17", user=BOB, comment="OK", today=date(2026, 11, 2),
                               effective=date(2026, 11, 2))
    # a refused save is audited too, with the ref that keeps its text
    with pytest.raises(SaveConflict) as caught:
        library.save("SOP-P17", _edit(head.sop.text, "叫号，", "请叫号，"), user=ALICE,
                     note="Clash", base=head.commit)
    rows = list(reversed(list_audit(home)))  # oldest first
    assert [(r.username, r.action) for r in rows] == [
        ("alice", "sop.save"), ("alice", "sop.submit"), ("bob", "sop.reject"),
        ("alice", "sop.submit"), ("bob", "sop.approve"), ("alice", "sop.conflict")]
    assert rows[0].detail == f"SOP-P17 1.3 draft: Wording (commit {saved.commit[:10]})"
    assert rows[2].detail.startswith("SOP-P17 1.3 draft: Keep the old wording (commit ")
    assert rows[4].detail == f"SOP-P17 1.3 approved: OK (commit {approved.commit[:10]})"
    assert caught.value.kept_ref in rows[5].detail
    # every audited commit is in the history, with the same author and action
    history = {v.commit[:10]: v for v in library.history("SOP-P17")}
    for row in rows[:5]:
        commit = row.detail.rsplit("(commit ", 1)[1].rstrip(")")
        assert (history[commit].author, "sop." + history[commit].action) == (
            row.username, row.action)


# -- saves without a base (issue 12, row 16) -------------------------------------------------------

NOTES = "".join(f"\n备注 {i}。\n" for i in range(1, 8))


def _notes_library(tmp_path: Path) -> SopLibrary:
    """A library whose SOP has seven note paragraphs, one per concurrent editor."""
    seed = tmp_path / "seed"
    seed.mkdir()
    text = SOP_TEXT + "\n## 备注 Notes\n" + NOTES
    (seed / "SOP-P17.md").write_text(text, encoding="utf-8")
    return SopLibrary.open(tmp_path / "home", seed=seed)


def _edits(start: str, n: int) -> list[str]:
    """n edits of the same text: the first n - 1 of a note each, the last of note n - 1 again."""
    edits = [_edit(start, f"备注 {i + 1}。", f"备注 {i + 1}：编辑者 {i}。") for i in range(n - 1)]
    return [*edits, _edit(start, f"备注 {n - 1}。", f"备注 {n - 1}：另一位编辑者。")]


def _is_in(text: str, i: int, n: int) -> bool:
    return (f"编辑者 {i}。" if i < n - 1 else "另一位编辑者。") in text


def test_eight_saves_without_a_base_at_once_lose_nothing_silently(tmp_path: Path) -> None:
    """Eight editors open the same text and save at once, none naming a base: seven edit lines
    of their own and are all in the final text; the eighth edits the seventh's line and gets a
    SaveConflict with its text kept (the other saves were silently overwritten before)."""
    from concurrent.futures import ThreadPoolExecutor

    library = _notes_library(tmp_path)
    edits = _edits(library.current("SOP-P17").sop.text, 8)

    def save(i: int) -> object:
        try:
            return library.save("SOP-P17", edits[i], user=ALICE, note=f"Edit {i}")
        except SaveConflict as conflict:
            return conflict

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(save, range(8)))
    conflicts = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, SaveConflict)]
    landed = [i for i, o in enumerate(outcomes) if not isinstance(o, SaveConflict)]
    final = library.current("SOP-P17").sop.text
    assert len(landed) + len(conflicts) == 8
    assert len(conflicts) == 1 and conflicts[0][0] in (6, 7)  # the two edits of note 7
    for i in landed:
        assert _is_in(final, i, 8), i
    for i, conflict in conflicts:
        assert library.kept_text(conflict.kept_ref, "SOP-P17") == edits[i]
    # one commit per landed save on top of the seed, each merged with the one before
    history = library.history("SOP-P17")
    assert [v.action for v in history] == ["save"] * 7 + ["seed"]
    assert [v.sop.status for v in history[:7]] == ["draft"] * 7


_SAVER = """\
import json, sys, time
from pathlib import Path
from procmine.sop.library import SopLibrary
from procmine.sop.workflow import Editor, SaveConflict
home, text, i = Path(sys.argv[1]), Path(sys.argv[2]).read_text(encoding="utf-8"), sys.argv[3]
library = SopLibrary(home / "sops", audit_home=home)
while not (home / "go").exists():
    time.sleep(0.01)
try:
    saved = library.save("SOP-P17", text, user=Editor("alice", "reviewer", "accounting-and-cash"),
                         note=f"Edit {i}")
    print(json.dumps({"landed": saved.version.commit}))
except SaveConflict as conflict:
    print(json.dumps({"kept_ref": conflict.kept_ref}))
"""


def test_four_processes_saving_without_a_base_lose_nothing_silently(tmp_path: Path) -> None:
    """Four saves from four processes, as four ``procmine sop save`` without ``--base`` (the
    library's file lock serialises them): three land merged, the fourth, on the third's line,
    is a conflict with its text kept; the audit trail counts the same."""
    library = _notes_library(tmp_path)
    home = tmp_path / "home"
    edits = _edits(library.current("SOP-P17").sop.text, 4)
    running = []
    for i, text in enumerate(edits):
        (tmp_path / f"edit{i}.md").write_text(text, encoding="utf-8")
        running.append(subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(home), str(tmp_path / f"edit{i}.md"), str(i)],
            stdout=subprocess.PIPE, text=True))
    (home / "go").touch()
    outcomes = [json.loads(p.communicate(timeout=120)[0]) for p in running]
    kept = {i: o["kept_ref"] for i, o in enumerate(outcomes) if "kept_ref" in o}
    final = library.current("SOP-P17").sop.text
    assert len(kept) == 1 and set(kept) <= {2, 3}
    assert sum("landed" in o for o in outcomes) == 3
    for i in set(range(4)) - set(kept):
        assert _is_in(final, i, 4), i
    for i, ref in kept.items():
        assert library.kept_text(ref, "SOP-P17") == edits[i]
    assert [v.action for v in library.history("SOP-P17")] == ["save"] * 3 + ["seed"]
    audit = [r.action for r in list_audit(home)]
    assert sorted(audit) == ["sop.conflict"] + ["sop.save"] * 3


def test_a_save_without_a_base_on_the_same_line_is_a_conflict(library: SopLibrary) -> None:
    start = library.current("SOP-P17")
    first = _edit(start.sop.text, "当面点清，唱收唱付。", "当面点清两遍。")
    second = _edit(start.sop.text, "当面点清，唱收唱付。", "使用点钞机。")
    landed = library.save("SOP-P17", first, user=BOB, note="Twice").version
    with pytest.raises(SaveConflict) as caught:
        library.save("SOP-P17", second, user=ALICE, note="Machine")
    assert caught.value.base == start.commit
    assert caught.value.theirs_commit == landed.commit
    assert library.kept_text(caught.value.kept_ref, "SOP-P17") == second
    assert "当面点清两遍" in library.current("SOP-P17").sop.text


def test_a_save_without_a_base_continues_from_the_version_it_was_read_from(
        library: SopLibrary) -> None:
    """Saving again from the saved text, or from the text after a submit and a rejection, needs
    no base: the version the text came from is the one it is closest to."""
    start = library.current("SOP-P17")
    first = library.save("SOP-P17", _edit(start.sop.text, "叫号，", "叫号后，"), user=ALICE,
                         note="Wording").version
    again = library.save("SOP-P17", _edit(first.sop.text, "当面点清", "当面点清并复核"),
                         user=ALICE, note="Recount")
    assert again.merged_with is None
    library.submit("SOP-P17", user=ALICE)
    library.reject("SOP-P17", user=BOB, comment="One more")
    third = library.save("SOP-P17", _edit(again.version.sop.text, "核对金额", "核对金额与户名"),
                         user=ALICE, note="Name")
    text = third.version.sop.text
    assert "叫号后，" in text and "当面点清并复核" in text and "核对金额与户名" in text
    # an edit of the seed's text, made before the three saves, is merged on top of them
    late = library.save("SOP-P17", _edit(start.sop.text, "- 点钞后未复核金额。",
                                         "- 点钞后未复核金额或户名。"), user=BOB, note="Late")
    assert late.merged_with == library.history("SOP-P17")[1].commit
    assert "核对金额与户名" in late.version.sop.text and "或户名" in late.version.sop.text


def test_an_earlier_version_saved_without_a_base_is_refused_with_the_way_to_restore_it(
        library: SopLibrary) -> None:
    start = library.current("SOP-P17")
    saved = library.save("SOP-P17", _edit(start.sop.text, "叫号，", "叫号后，"), user=ALICE,
                         note="Wording").version
    with pytest.raises(WorkflowError, match=rf"earlier version 1.2 \({start.short}\) as it "
                       rf"was; to restore it, save it on the latest version \(base "
                       rf"{saved.short}\)"):
        library.save("SOP-P17", start.sop.text, user=ALICE, note="Back")
    restored = library.save("SOP-P17", start.sop.text, user=ALICE, note="Back",
                            base=saved.commit).version
    assert "叫号，" in restored.sop.text and "叫号后" not in restored.sop.text


def test_what_was_read_is_kept_until_the_head_moves(library: SopLibrary,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The ids and each SOP's history are read once per head commit: read again while the head
    stays, read anew after a save, a commit made with plain git (a new SOP among them) and
    after the refs are packed (the head then read from packed-refs)."""
    repository = library.repository
    reads: list[str] = []
    read_history = type(repository)._read_history
    monkeypatch.setattr(repository, "_read_history",
                        lambda sop_id: reads.append(sop_id) or read_history(repository, sop_id))
    first = library.history("SOP-P17")
    assert library.history("SOP-P17") == first and reads == ["SOP-P17"]
    first.clear()   # the caller's list: what is kept is not changed with it
    assert [v.action for v in library.history("SOP-P17")] == ["seed"]
    assert reads == ["SOP-P17"]

    head = library.current("SOP-P17")
    text = _edit(head.sop.text, "唱收唱付。", "唱收唱付，复点一遍。")
    library.save("SOP-P17", text, user=ALICE, note="Recount once", base=head.commit)
    assert [v.action for v in library.history("SOP-P17")] == ["save", "seed"]
    assert reads == ["SOP-P17", "SOP-P17"]

    path = library.root / "SOP-P17.md"
    path.write_text(_edit(text, "叫号，", "叫号并"), encoding="utf-8")
    (library.root / "SOP-P18.md").write_text(
        _edit(_edit(SOP_TEXT, "id: SOP-P17", "id: SOP-P18"), "[P17]", "[P18]"),
        encoding="utf-8")
    git = ["git", "-C", str(library.root), "-c", "user.name=Dan Zhou",
           "-c", "user.email=dan@bank.example"]
    assert library.ids() == ["SOP-P17"]
    subprocess.run([*git, "add", "SOP-P18.md"], check=True)
    subprocess.run([*git, "commit", "-qam", "Wording; a new SOP"], check=True)
    assert library.ids() == ["SOP-P17", "SOP-P18"]
    assert library.head() == subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True,
                                            text=True, check=True).stdout.strip()
    assert [v.action for v in library.history("SOP-P17")] == ["external", "save", "seed"]
    assert "叫号并" in library.current("SOP-P17").sop.text

    subprocess.run([*git, "pack-refs", "--all"], check=True)
    path.write_text(_edit(path.read_text(encoding="utf-8"), "叫号并", "叫号后"),
                    encoding="utf-8")
    subprocess.run([*git, "commit", "-qam", "Wording again"], check=True)
    subprocess.run([*git, "pack-refs", "--all"], check=True)
    branch = subprocess.run([*git, "symbolic-ref", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert not (library.root / ".git" / branch).exists()   # the head is in packed-refs alone
    assert [v.note for v in library.history("SOP-P17")][:2] == ["Wording again",
                                                                "Wording; a new SOP"]


def test_a_parse_is_kept_for_the_next_process(library: SopLibrary,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A library opened anew (as a new process opens it) reads the parses an earlier one kept
    beside the repository; a new commit's text is parsed once; a parse cut short or kept by
    another procmine is parsed again."""
    from procmine.sop import parsed, repository

    first = [(v.commit, v.sop) for v in library.history("SOP-P17")]
    parses: list[str] = []
    parse = repository.parse_sop
    monkeypatch.setattr(repository, "parse_sop",
                        lambda text, name: parses.append(name) or parse(text, name))

    def reopened() -> list[tuple[str, object]]:
        return [(v.commit, v.sop) for v in
                SopLibrary.open(library.root.parent).history("SOP-P17")]

    assert reopened() == first and parses == []
    kept = sorted((library.root / ".git" / parsed.FOLDER).rglob("*.pickle"))
    assert len(kept) == 1

    head = library.current("SOP-P17")
    text = _edit(head.sop.text, "唱收唱付。", "唱收唱付，复点一遍。")
    library.save("SOP-P17", text, user=ALICE, note="Recount once", base=head.commit)
    assert parses == ["SOP-P17.md"]
    again = reopened()
    assert [s.body for _, s in again] == [text.split("---\n", 2)[2], first[0][1].body]
    assert parses == ["SOP-P17.md"]

    kept = sorted((library.root / ".git" / parsed.FOLDER).rglob("*.pickle"))
    kept[0].write_bytes(kept[0].read_bytes()[:20])   # cut short
    assert reopened() == again and parses == ["SOP-P17.md"] * 2
    assert len(list((library.root / ".git" / parsed.FOLDER).rglob("*.pickle"))) == 2

    monkeypatch.setattr(parsed, "code_stamp", lambda: "a-newer-procmine")
    assert reopened() == again and parses == ["SOP-P17.md"] * 4
    assert [p.name for p in (library.root / ".git" / parsed.FOLDER).iterdir()] == [
        "a-newer-procmine"]
