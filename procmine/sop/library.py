"""The SOP library: a git repository of SOP files, their versions and their review workflow.

The library lives in the workspace (``workspace/sops``), a git working copy seeded from the
bundled ``sops/`` on first use. Every change is a commit (dulwich, no git binary needed) with
the author, the review group and a required change note in its message; the history of an SOP is
the history of its file. A review group may also edit the files in its own editor and commit
them with plain git: reading goes through the commits, so those versions show up the same way.

Workflow (the ``status`` field of each version): ``draft`` -> ``in_review`` -> ``approved``
(-> ``retired``). Saving a change makes a draft and bumps the version against the version in
force (major when the steps change, minor otherwise). Approval needs a reviewer of the owning
group who did not author any change since the last approval. The approved versions, with their
effective dates (and per-branch adoption dates), are what the mining and the quizzes use; a past
date's text is the approved version in force on it.

Two people editing one SOP at once lose nothing: a save names the version it started from
(``base``); when the SOP moved on meanwhile, the two changes are merged line by line when they
touch different lines, and otherwise the save is refused with both texts (:class:`SaveConflict`)
and the refused text kept on a ref of its own (``refs/procmine/conflicts/...``).

Example:
    >>> library = SopLibrary.open("workspace")                     # doctest: +SKIP
    >>> head = library.current("SOP-P17")                          # doctest: +SKIP
    >>> library.save("SOP-P17", new_text, user=me, note="Clarify the recount",
    ...              base=head.commit)                             # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import fcntl
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from dulwich import porcelain
from dulwich.merge import merge_blobs
from dulwich.objects import Blob, Commit, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo

from procmine.core.errors import ProcmineError
from procmine.core.paths import bundled_path, default_home
from procmine.sop.document import (
    Sop,
    SopError,
    bump_version,
    parse_sop,
    set_front_matter,
    sop_files,
    split_front_matter,
)

__all__ = [
    "Editor",
    "SaveConflict",
    "SaveResult",
    "SopLibrary",
    "SopVersion",
    "WorkflowError",
    "bundled_sops_dir",
    "side_by_side",
]

_SEED_AUTHOR: Final[bytes] = b"procmine <procmine@localhost>"
_TRAILERS: Final[tuple[str, ...]] = (
    "Procmine-Action", "Procmine-User", "Review-Group", "Version", "Status",
)
_TRAILER = re.compile(r"^([A-Za-z-]+): (.*)$")
_EMAIL_USER = re.compile(r"<([^@>]+)@[^>]*>")
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class WorkflowError(ProcmineError):
    """A review-workflow rule refused an action (wrong state, wrong group, own change)."""


def bundled_sops_dir() -> Path:
    """The SOP files shipped with procmine (``sops/`` in the repository; a package resource, see
    :mod:`procmine.core.paths`)."""
    return bundled_path("sops")


@dataclass(frozen=True)
class Editor:
    """Who acts on the library: a user's name, role and review group.

    :class:`procmine.app.auth.User` has these attributes and can be passed wherever an Editor is
    asked for.
    """

    username: str
    role: str
    review_group: str | None = None
    display_name: str = ""


@dataclass(frozen=True)
class SopVersion:
    """One commit of an SOP file: the version it holds, who made it, why."""

    commit: str
    sop: Sop
    author: str  # username (or e-mail's local part for commits made outside the app)
    author_name: str
    when: datetime  # UTC
    action: str  # seed | save | submit | approve | reject | retire | external
    note: str
    review_group: str | None

    @property
    def short(self) -> str:
        return self.commit[:8]


@dataclass(frozen=True)
class SaveResult:
    """A save that landed: the new version, and whether it was merged with another change."""

    version: SopVersion
    merged_with: str | None = None  # the commit the change was merged with, if any


@dataclass(eq=False)
class SaveConflict(ProcmineError):
    """Somebody else changed the same lines of the SOP since the editor opened it.

    Nothing is lost: ``theirs`` is the text now in the library, ``yours`` the text refused,
    also kept at ``kept_ref``; ``merged`` has both, with conflict markers, for resolving.
    """

    sop_id: str
    base: str
    theirs_commit: str
    theirs: str
    yours: str
    merged: str
    kept_ref: str

    def __str__(self) -> str:
        return (f"{self.sop_id} was changed by someone else since you opened it "
                f"(now {self.theirs_commit[:8]}); your text is kept at {self.kept_ref}: "
                "merge the two and save again")


def _user_of(editor: Any) -> Editor:
    return Editor(username=str(editor.username), role=str(editor.role),
                  review_group=getattr(editor, "review_group", None),
                  display_name=str(getattr(editor, "display_name", "") or ""))


def _signature(editor: Editor) -> bytes:
    name = (editor.display_name or editor.username).replace("<", "").replace(">", "")
    return f"{name} <{editor.username}@procmine>".encode()


def _message(summary: str, note: str, trailers: dict[str, str]) -> bytes:
    body = note.strip()
    lines = [summary, "", body] if body and body != summary else [summary]
    lines += ["", *(f"{k}: {v}" for k, v in trailers.items() if v)]
    return ("\n".join(lines) + "\n").encode()


def _parse_message(message: str) -> tuple[str, dict[str, str]]:
    """The note (message without trailers) and the trailers of a commit message."""
    trailers: dict[str, str] = {}
    kept = []
    for line in message.strip().splitlines():
        match = _TRAILER.match(line)
        if match and match.group(1) in _TRAILERS:
            trailers[match.group(1)] = match.group(2).strip()
        else:
            kept.append(line)
    lines = kept[2:] if len(kept) > 2 and not kept[1].strip() else kept
    note = "\n".join(lines).strip() if trailers.get("Procmine-Action") else "\n".join(kept).strip()
    return note, trailers


class SopLibrary:
    """The SOP library's git working copy (see the module documentation)."""

    def __init__(self, root: str | Path, *, audit_home: str | Path | None = None) -> None:
        self.root = Path(root)
        if not (self.root / ".git").exists():
            raise ProcmineError(f"{self.root} is not an SOP library (no git repository)")
        self._parsed: dict[bytes, Sop] = {}
        #: The workspace whose app database gets an audit row for each action (``sop.save``,
        #: ``sop.submit``, ``sop.approve``, ``sop.reject``, ``sop.retire``, ``sop.conflict``);
        #: None: the git history is the only record.
        self.audit_home = Path(audit_home) if audit_home is not None else None

    # -- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, home: str | Path | None = None, *, seed: str | Path | None = None
             ) -> SopLibrary:
        """The library of a workspace (``home/sops``), created and seeded from the bundled SOP
        files (or ``seed``) in one commit when it does not exist yet."""
        root = Path(home if home is not None else default_home()) / "sops"
        if not (root / ".git").exists():
            source = Path(seed) if seed is not None else bundled_sops_dir()
            files = sop_files(source)
            root.mkdir(parents=True, exist_ok=True)
            with _locked(root, create=True):
                if not (root / ".git").exists():
                    repo = Repo.init(str(root))
                    for file in files:
                        shutil.copyfile(file, root / file.name)
                    porcelain.add(repo, paths=[str(root / f.name) for f in files])
                    porcelain.commit(repo, message=_message(
                        f"Seed the SOP library ({len(files)} procedures)", "",
                        {"Procmine-Action": "seed"}), author=_SEED_AUTHOR,
                        committer=_SEED_AUTHOR)
                    repo.close()
        return cls(root, audit_home=root.parent)

    @contextmanager
    def _repo(self) -> Iterator[Repo]:
        repo = Repo(str(self.root))
        try:
            yield repo
        finally:
            repo.close()

    # -- reading ---------------------------------------------------------------------------------

    def _parse_blob(self, repo: Repo, blob_id: bytes, name: str) -> Sop:
        sop = self._parsed.get(blob_id)
        if sop is None:
            blob = repo[blob_id]
            assert isinstance(blob, Blob)
            sop = parse_sop(blob.data.decode("utf-8"), name)
            self._parsed[blob_id] = sop
        return sop

    def _head_tree(self, repo: Repo) -> Tree | None:
        try:
            head = repo[repo.head()]
        except KeyError:
            return None
        assert isinstance(head, Commit)
        tree = repo[head.tree]
        assert isinstance(tree, Tree)
        return tree

    def head(self) -> str:
        """The library's latest commit id ("" for an empty repository): it changes with every
        change, in the app or outside it (a cache key)."""
        with self._repo() as repo:
            try:
                return repo.head().decode()
            except KeyError:
                return ""

    def ids(self) -> list[str]:
        """The ids of the SOPs in the library's latest commit."""
        with self._repo() as repo:
            tree = self._head_tree(repo)
            if tree is None:
                return []
            return sorted(e.path.decode()[:-3] for e in tree.iteritems()
                          if e.path.startswith(b"SOP-") and e.path.endswith(b".md"))

    def history(self, sop_id: str) -> list[SopVersion]:
        """Every version of an SOP, newest first (one per commit that changed its file)."""
        name = f"{sop_id}.md"
        versions = []
        with self._repo() as repo:
            try:
                walker = repo.get_walker(paths=[name.encode()])
            except KeyError:
                return []
            for entry in walker:
                commit = entry.commit
                tree = repo[commit.tree]
                assert isinstance(tree, Tree)
                try:
                    _, blob_id = tree.lookup_path(repo.object_store.__getitem__,
                                                  name.encode())
                except KeyError:
                    continue  # the commit deleted the file
                try:
                    sop = self._parse_blob(repo, blob_id, name)
                except SopError:
                    continue  # a broken version committed outside the app is not a version
                versions.append(_version(commit, sop))
        if not versions:
            raise ProcmineError(f"{sop_id}: no such SOP in the library")
        return versions

    def current(self, sop_id: str) -> SopVersion:
        """The latest version of an SOP (of any status)."""
        return self.history(sop_id)[0]

    def version(self, sop_id: str, commit: str) -> SopVersion:
        """The version of an SOP at a commit (a full or abbreviated commit id)."""
        for v in self.history(sop_id):
            if v.commit.startswith(commit):
                return v
        raise ProcmineError(f"{sop_id}: no version at commit {commit}")

    def latest(self) -> dict[str, SopVersion]:
        """The latest version of every SOP, by id."""
        return {sop_id: self.current(sop_id) for sop_id in self.ids()}

    def approved_versions(self, sop_id: str) -> list[SopVersion]:
        """The versions that came in force (approved or retired), oldest first."""
        return [v for v in reversed(self.history(sop_id)) if _came_in_force(v)]

    def approved(self, sop_id: str) -> SopVersion | None:
        """The latest approved version (None when it was never approved or is retired)."""
        versions = self.approved_versions(sop_id)
        if not versions or versions[-1].sop.status == "retired":
            return None
        return versions[-1]

    def in_force(self, sop_id: str, on: date, branch: str | None = None) -> SopVersion | None:
        """The version in force on a date (at a branch, when versions name adoption dates):
        the approved version with the latest effective date not after ``on``; a later commit
        wins between versions of the same date; None before the first or after retirement."""
        best: SopVersion | None = None
        best_key: tuple[date, int] | None = None
        for order, v in enumerate(self.approved_versions(sop_id)):
            start = _start(v.sop, branch)
            if start <= on and (best_key is None or (start, order) >= best_key):
                best, best_key = v, (start, order)
        if best is None or best.sop.status == "retired":
            return None
        return best

    def text_on(self, sop_id: str, on: date, branch: str | None = None) -> str | None:
        """The text of the SOP in force on a date, or None."""
        version = self.in_force(sop_id, on, branch)
        return version.sop.text if version else None

    def due_for_review(self, on: date, within_days: int = 30) -> list[SopVersion]:
        """Approved SOPs whose review is due within ``within_days`` of ``on`` (or overdue),
        soonest first."""
        limit = on + timedelta(days=within_days)
        due = [v for v in (self.approved(i) for i in self.ids())
               if v is not None and v.sop.review_due is not None and v.sop.review_due <= limit]
        return sorted(due, key=lambda v: (v.sop.review_due or on, v.sop.id))

    def review_queue(self, review_group: str | None = None) -> list[SopVersion]:
        """SOPs waiting for approval (status in_review), of one review group if given."""
        return [v for v in self.latest().values() if v.sop.status == "in_review"
                and (review_group is None or v.sop.owner_group == review_group)]

    def authors_since_approval(self, sop_id: str) -> set[str]:
        """Who changed the SOP since its last approval (they may not approve it)."""
        authors = set()
        for v in self.history(sop_id):
            if _came_in_force(v):
                break
            if v.action in ("save", "external"):
                authors.add(v.author)
        return authors

    def diff(self, sop_id: str, old: str, new: str) -> str:
        """A unified diff between two versions (commit ids) of an SOP."""
        a, b = self.version(sop_id, old), self.version(sop_id, new)
        return "".join(difflib.unified_diff(
            a.sop.text.splitlines(keepends=True), b.sop.text.splitlines(keepends=True),
            fromfile=f"{sop_id} {a.sop.version} ({a.short})",
            tofile=f"{sop_id} {b.sop.version} ({b.short})"))

    def pending_edits(self) -> list[str]:
        """SOP files changed in the working copy but not committed (edited outside the app)."""
        with self._repo() as repo:
            status = porcelain.status(repo)
        names = [n.decode() if isinstance(n, bytes) else str(n)
                 for n in [*status.unstaged, *status.untracked,
                           *(p for paths in status.staged.values() for p in paths)]]
        return sorted({Path(n).name for n in names if n.endswith(".md")})

    # -- writing ---------------------------------------------------------------------------------

    def save(self, sop_id: str, text: str, *, user: Any, note: str,
             base: str | None = None, today: date | None = None) -> SaveResult:
        """Save a changed SOP as a draft: a commit by ``user`` with the change note.

        ``base`` is the commit the editor started from (None for a new SOP). The version is
        bumped against the version in force (major when the steps changed, minor otherwise);
        ``author`` is set to the user. Raises :class:`SopError` for text that does not parse,
        :class:`WorkflowError` for a user who may not edit it, :class:`SaveConflict` when
        another change to the same lines landed since ``base``.
        """
        editor = _user_of(user)
        if not note.strip():
            raise WorkflowError("a change note is required: say what changed and why")
        new = parse_sop(text, f"{sop_id}.md")
        if new.id != sop_id:
            raise SopError(f"{sop_id}.md: id: the text is the SOP {new.id}, not {sop_id}")
        with _locked(self.root):
            exists = sop_id in self.ids()
            if exists:
                head = self.current(sop_id)
                _check_editor(editor, head.sop)
                merged_with = None
                if base is not None and not head.commit.startswith(base):
                    text, merged_with = self._merge(sop_id, base, head, text, editor)
                    new = parse_sop(text, f"{sop_id}.md")
            else:
                head, merged_with = None, None
            _check_editor(editor, new)
            self._check_worktree(sop_id)
            approved = self.approved(sop_id) if exists else None
            previous = approved.sop if approved else None
            version = bump_version(previous, new) if previous else new.version
            fields: dict[str, Any] = {"status": "draft", "version": version,
                                      "author": editor.username, "approved_by": None}
            final = set_front_matter(text, **fields)
            if head is not None and final == head.sop.text:
                raise WorkflowError(f"{sop_id}: nothing changed")
            summary = f"{sop_id} {version} draft: {note.strip().splitlines()[0]}"
            commit = self._commit(sop_id, final, editor, summary, note, "save", new.owner_group,
                                  version, "draft", today)
            return SaveResult(self.version(sop_id, commit), merged_with)

    def submit(self, sop_id: str, *, user: Any, note: str = "Submitted for review",
               today: date | None = None) -> SopVersion:
        """Send a draft for review (draft -> in_review)."""
        editor = _user_of(user)
        with _locked(self.root):
            head = self.current(sop_id)
            _check_editor(editor, head.sop)
            _check_status(head.sop, "draft", "goes to review")
            return self._transition(head, editor, "submit", "in_review", note, {}, today)

    def approve(self, sop_id: str, *, user: Any, comment: str = "",
                today: date | None = None) -> SopVersion:
        """Approve an SOP in review (in_review -> approved): only a reviewer of the owning group
        who authored none of the changes since the last approval. The version comes in force
        on its effective date, or on the day of approval when that date has passed."""
        editor = _user_of(user)
        day = today or datetime.now(UTC).date()
        with _locked(self.root):
            head = self.current(sop_id)
            sop = head.sop
            _check_status(sop, "in_review", "is approved")
            _check_reviewer(editor, sop, "approve")
            authors = self.authors_since_approval(sop_id)
            if editor.username in authors:
                raise WorkflowError(f"{editor.username} changed {sop_id} and may not approve it: "
                                    "another reviewer of the group approves")
            effective = max(sop.effective, day)
            fields: dict[str, Any] = {"approved_by": editor.username, "effective": effective}
            if sop.review_due is None or sop.review_due <= effective:
                fields["review_due"] = _add_year(effective)
            # branch adoption dates that have passed move to the approval day: approving never
            # changes what was in force in the past
            text = _set_adoption(sop.text, {b: max(d, day) for b, d in sop.adoption.items()})
            return self._transition(head, editor, "approve", "approved", comment or "Approved",
                                    fields, today, text=text)

    def reject(self, sop_id: str, *, user: Any, comment: str,
               today: date | None = None) -> SopVersion:
        """Send an SOP in review back to draft with the reviewer's comment."""
        editor = _user_of(user)
        if not comment.strip():
            raise WorkflowError("a rejection says why (comment)")
        with _locked(self.root):
            head = self.current(sop_id)
            _check_status(head.sop, "in_review", "is rejected")
            _check_reviewer(editor, head.sop, "reject")
            return self._transition(head, editor, "reject", "draft", comment, {}, today)

    def retire(self, sop_id: str, *, user: Any, note: str,
               today: date | None = None) -> SopVersion:
        """Retire an approved SOP from ``today``: it is no longer in force."""
        editor = _user_of(user)
        if not note.strip():
            raise WorkflowError("retiring an SOP needs a note saying why")
        day = today or datetime.now(UTC).date()
        with _locked(self.root):
            head = self.current(sop_id)
            _check_status(head.sop, "approved", "is retired")
            _check_reviewer(editor, head.sop, "retire")
            fields: dict[str, Any] = {"effective": max(day, head.sop.effective)}
            return self._transition(head, editor, "retire", "retired", note, fields, today)

    # -- internals -------------------------------------------------------------------------------

    def _transition(self, head: SopVersion, editor: Editor, action: str, status: str, note: str,
                    fields: dict[str, Any], today: date | None,
                    text: str | None = None) -> SopVersion:
        self._check_worktree(head.sop.id)
        text = set_front_matter(text or head.sop.text, status=status, **fields)
        parse_sop(text, f"{head.sop.id}.md")  # the workflow never writes a broken file
        summary = f"{head.sop.id} {head.sop.version} {action}: {note.strip().splitlines()[0]}"
        commit = self._commit(head.sop.id, text, editor, summary, note, action,
                              head.sop.owner_group, head.sop.version, status, today)
        return self.version(head.sop.id, commit)

    def _commit(self, sop_id: str, text: str, editor: Editor, summary: str, note: str,
                action: str, group: str, version: str, status: str, today: date | None) -> str:
        path = self.root / f"{sop_id}.md"
        path.write_text(text, encoding="utf-8")
        stamp = _timestamp(today)
        message = _message(summary, note, {
            "Procmine-Action": action, "Procmine-User": editor.username,
            "Review-Group": group, "Version": version, "Status": status})
        with self._repo() as repo:
            porcelain.add(repo, paths=[str(path)])
            commit = porcelain.commit(repo, message=message, author=_signature(editor),
                                      committer=_signature(editor), author_timestamp=stamp,
                                      commit_timestamp=stamp, author_timezone=0,
                                      commit_timezone=0)
        self._audit(editor, action, f"{sop_id} {version} {status}: "
                    f"{note.strip().splitlines()[0] if note.strip() else ''} "
                    f"(commit {commit.decode()[:10]})")
        return commit.decode()

    def _audit(self, editor: Editor, action: str, detail: str) -> None:
        """One audit row in the workspace's app database, beside the git history (the audit
        trail the operations department reads with the sign-ins and user changes)."""
        if self.audit_home is None:
            return
        from procmine.app.appdb import record_audit, session_for

        with session_for(self.audit_home) as session:
            record_audit(session, editor.username, f"sop.{action}", detail)

    def _check_worktree(self, sop_id: str) -> None:
        if f"{sop_id}.md" in self.pending_edits():
            raise WorkflowError(
                f"{sop_id}.md has changes in {self.root} that are not committed (edited outside "
                "the app): commit them with git, or discard them, before saving here")

    def _merge(self, sop_id: str, base: str, head: SopVersion, text: str,
               editor: Editor) -> tuple[str, str]:
        """Merge a change made on ``base`` with the head; raise SaveConflict (keeping the text
        on a ref of its own) when both changed the same lines."""
        origin = self.version(sop_id, base)
        merged, conflicted = merge_blobs(
            Blob.from_string(origin.sop.text.encode()),
            Blob.from_string(head.sop.text.encode()),
            Blob.from_string(text.encode()))
        merged_text = merged.decode("utf-8")
        if not conflicted:
            try:
                parse_sop(merged_text, f"{sop_id}.md")
                return merged_text, head.commit
            except SopError:
                pass  # a clean line merge can still break the front matter: ask the user
        ref = self._keep(sop_id, origin.commit, text, editor)
        raise SaveConflict(sop_id=sop_id, base=origin.commit, theirs_commit=head.commit,
                           theirs=head.sop.text, yours=text, merged=merged_text, kept_ref=ref)

    def _keep(self, sop_id: str, parent: str, text: str, editor: Editor) -> str:
        """Keep a refused text as a commit on ``refs/procmine/conflicts/<sop>/<user>-<time>``."""
        with self._repo() as repo:
            base_commit = repo[parent.encode()]
            assert isinstance(base_commit, Commit)
            tree = repo[base_commit.tree]
            assert isinstance(tree, Tree)
            blob = Blob.from_string(text.encode())
            new_tree = Tree()
            for entry in tree.iteritems():
                new_tree.add(entry.path, entry.mode, entry.sha)
            new_tree.add(f"{sop_id}.md".encode(), 0o100644, blob.id)
            commit = Commit()
            commit.tree = new_tree.id
            commit.parents = [base_commit.id]
            commit.author = commit.committer = _signature(editor)
            commit.author_time = commit.commit_time = int(datetime.now(UTC).timestamp())
            commit.author_timezone = commit.commit_timezone = 0
            commit.message = _message(f"{sop_id}: change refused by a conflict, kept", "", {
                "Procmine-Action": "conflict", "Procmine-User": editor.username})
            for obj in (blob, new_tree, commit):
                repo.object_store.add_object(obj)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            ref = f"refs/procmine/conflicts/{sop_id}/{editor.username}-{stamp}"
            repo.refs[Ref(ref.encode())] = commit.id
        self._audit(editor, "conflict", f"{sop_id}: save refused, the same lines changed "
                    f"since {parent[:10]}; the text is kept on {ref}")
        return ref

    def kept_text(self, ref: str, sop_id: str) -> str:
        """The text kept on a conflict ref."""
        with self._repo() as repo:
            commit = repo[repo.refs[Ref(ref.encode())]]
            assert isinstance(commit, Commit)
            tree = repo[commit.tree]
            assert isinstance(tree, Tree)
            _, blob_id = tree.lookup_path(repo.object_store.__getitem__, f"{sop_id}.md".encode())
            blob = repo[blob_id]
            assert isinstance(blob, Blob)
            return blob.data.decode("utf-8")


# -- helpers -------------------------------------------------------------------------------------


def _version(commit: Commit, sop: Sop) -> SopVersion:
    message = commit.message.decode("utf-8", errors="replace")
    note, trailers = _parse_message(message)
    author_line = commit.author.decode("utf-8", errors="replace")
    match = _EMAIL_USER.search(author_line)
    author = trailers.get("Procmine-User") or (match.group(1) if match else author_line)
    return SopVersion(
        commit=commit.id.decode(), sop=sop, author=author,
        author_name=author_line.split("<")[0].strip(),
        when=datetime.fromtimestamp(commit.author_time, UTC),
        action=trailers.get("Procmine-Action", "external"), note=note,
        review_group=trailers.get("Review-Group"),
    )


def _came_in_force(v: SopVersion) -> bool:
    """An approval or retirement made in the app, the seeded library, or a commit made outside
    the app that says it is approved by someone other than its author."""
    if v.sop.status not in ("approved", "retired"):
        return False
    if v.action in ("approve", "retire", "seed"):
        return True
    return v.action == "external" and bool(v.sop.approved_by) and v.sop.approved_by != v.author


def _start(sop: Sop, branch: str | None) -> date:
    if branch is not None and branch in sop.adoption:
        return sop.adoption[branch]
    return sop.effective


def _add_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day + timedelta(days=365)


def _timestamp(today: date | None) -> float | None:
    """Commit time: now, or noon UTC of ``today`` when the caller dates the action."""
    if today is None:
        return None
    return datetime(today.year, today.month, today.day, 12, tzinfo=UTC).timestamp()


def _set_adoption(text: str, adoption: dict[str, date]) -> str:
    """Rewrite the ``adoption:`` block of the front matter."""
    front, body, _ = split_front_matter(text)
    lines = front.splitlines(keepends=True)
    out, skipping = [], False
    for line in lines:
        if line.startswith("adoption:"):
            skipping = True
            out.append("adoption:\n")
            out += [f"  {b}: {d.isoformat()}\n" for b, d in sorted(adoption.items())]
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return "---\n" + "".join(out) + "---\n" + body


def _check_status(sop: Sop, wanted: str, what: str) -> None:
    names = {"draft": "a draft", "in_review": "an SOP in review", "approved": "an approved SOP"}
    if sop.status != wanted:
        raise WorkflowError(f"{sop.id} is {sop.status}; only {names[wanted]} {what}")


def _check_reviewer(editor: Editor, sop: Sop, action: str) -> None:
    """Approving, rejecting and retiring are for the reviewers of the owning group."""
    if editor.role != "reviewer" or editor.review_group != sop.owner_group:
        raise WorkflowError(f"{editor.username} may not {action} {sop.id}: only a reviewer of "
                            f"{sop.owner_group} may")


def _check_editor(editor: Editor, sop: Sop) -> None:
    if editor.role == "operations":
        return
    if editor.role == "reviewer" and editor.review_group == sop.owner_group:
        return
    raise WorkflowError(f"{editor.username} ({editor.role}) may not edit {sop.id}: the "
                        f"{sop.owner_group} review group and the operations department edit it")


@contextmanager
def _locked(root: Path, create: bool = False) -> Iterator[None]:
    """One writer at a time on a library: a thread lock and a file lock (other processes)."""
    key = str(root.resolve())
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if create:
            root.mkdir(parents=True, exist_ok=True)
        with open(root.parent / f".{root.name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def side_by_side(old: str, new: str, *, context: int = 3) -> list[tuple[str, str, str]]:
    """Two texts side by side for a rendered diff: rows of (kind, old line, new line) with kind
    "same", "changed", "removed", "added" or "gap" (unchanged lines left out)."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[tuple[str, str, str]] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if rows:
            rows.append(("gap", "", ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [("same", a[i], b[j]) for i, j in zip(range(i1, i2), range(j1, j2),
                                                                strict=True)]
            elif tag == "replace":
                left, right = a[i1:i2], b[j1:j2]
                for k in range(max(len(left), len(right))):
                    rows.append(("changed", left[k] if k < len(left) else "",
                                 right[k] if k < len(right) else ""))
            elif tag == "delete":
                rows += [("removed", line, "") for line in a[i1:i2]]
            else:
                rows += [("added", "", line) for line in b[j1:j2]]
    return rows
