"""The SOP library's git repository: SOP files, their commits and what each commit says.

The library lives in the workspace (``workspace/sops``), a git working copy seeded from the
bundled ``sops/`` on first use. Every change is a commit (dulwich, no git binary needed) with
the author, the review group and a required change note in its message, and the action, user,
review group, version and status as trailers (``Procmine-Action: approve``); the history of an
SOP is the history of its file. A review group may also edit the files in its own editor and
commit them with plain git: reading goes through the commits, so those versions show up the
same way (as action ``external``, the author taken from the e-mail's local part).

A text refused by a conflict is kept as a commit of its own on
``refs/procmine/conflicts/<sop>/<user>-<time>``, outside the branch. One writer at a time: a
thread lock and a file lock beside the working copy (:func:`locked`).

A write that is killed half-way (between writing the file and committing it, or with a dulwich
lock file left in ``.git``) must not block the next one: each write first notes the file it
changes in ``.git/procmine-write``, and the next writer, under the lock, puts that file and its
index entry back to the last commit and clears the lock files the dead writer left. A save that
had not been committed is then simply not there (run it again); one that had is kept.

Example:
    >>> repository = SopRepository(SopRepository.create(home))
    >>> repository.history("SOP-P17")[0].action
    'seed'
    >>> [v.action for v in repository.history("SOP-P18")]
    ['approve', 'submit', 'save', 'seed']
"""

from __future__ import annotations

import fcntl
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

from dulwich.objects import Blob, Commit, Tree
from dulwich.refs import DiskRefsContainer, Ref
from dulwich.repo import Repo

from procmine.core.errors import ProcmineError
from procmine.core.paths import bundled_path, default_home
from procmine.sop import parsed
from procmine.sop.document import Sop, SopError, parse_sop, sop_files

__all__ = [
    "SopRepository",
    "SopVersion",
    "bundled_sops_dir",
    "commit_message",
    "has_library",
    "library_root",
    "locked",
    "signature",
    "sops_folder",
]

_SEED_AUTHOR: Final[bytes] = b"procmine <procmine@localhost>"
_TRAILERS: Final[tuple[str, ...]] = (
    "Procmine-Action", "Procmine-User", "Review-Group", "Version", "Status",
)
_TRAILER = re.compile(r"^([A-Za-z-]+): (.*)$")
_EMAIL_USER = re.compile(r"<([^@>]+)@[^>]*>")
_JOURNAL: Final[str] = "procmine-write"  # in .git: the file a write in progress changes
GLOSSARY_FILE: Final[str] = "activities.csv"  # the activity glossary, beside the SOP files
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def bundled_sops_dir() -> Path:
    """The SOP files shipped with procmine (``sops/`` in the repository; a package resource, see
    :mod:`procmine.core.paths`)."""
    return bundled_path("sops")


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

    def to_dict(self) -> dict[str, Any]:
        """The version as plain fields (the ``--json`` output of ``procmine sop``)."""
        return {"commit": self.commit, "sop": self.sop.id, "version": self.sop.version,
                "status": self.sop.status, "effective": self.sop.effective.isoformat(),
                "action": self.action, "author": self.author, "when": self.when.isoformat(),
                "note": self.note, "review_group": self.review_group}


class SopRepository:
    """The git working copy of an SOP library: reading versions, writing commits."""

    def __init__(self, root: str | Path) -> None:
        # absolute, because dulwich takes the paths it adds and commits relative to the
        # process's folder (a relative root seeded an empty library)
        self.root = Path(root).resolve()
        if not (self.root / ".git").exists():
            raise ProcmineError(f"{self.root} is not an SOP library (no git repository)")
        self._parsed: dict[bytes, Sop] = {}
        # what was read at one head commit (the ids, each SOP's history), dropped when the head
        # moves: the pages read the same SOPs many times a run, and a commit is never changed
        self._seen: tuple[bytes | None, dict[Any, Any]] = (None, {})

    @staticmethod
    def create(home: str | Path | None = None, *, seed: str | Path | None = None,
               seed_day: date | None = None) -> Path:
        """The root of a workspace's library (``home/sops``), created and seeded from the
        bundled SOP files and activity glossary (or ``seed``'s) in one commit when it does not
        exist yet (dated noon UTC of ``seed_day`` when given, else now)."""
        from dulwich import porcelain  # imported on use: it is slow to import

        root = library_root(home).resolve()
        if not (root / ".git").exists():
            source = Path(seed) if seed is not None else bundled_sops_dir()
            # the activity glossary lives with the SOPs, committed beside them (bank-editable)
            files = sop_files(source) + [f for f in [source / GLOSSARY_FILE] if f.is_file()]
            root.mkdir(parents=True, exist_ok=True)
            with locked(root, create=True):
                if not (root / ".git").exists():
                    repo = Repo.init(str(root))
                    for file in files:
                        shutil.copyfile(file, root / file.name)
                    porcelain.add(repo, paths=[str(root / f.name) for f in files])
                    porcelain.commit(repo, message=commit_message(
                        f"Seed the SOP library ({len(sop_files(source))} procedures)", "",
                        {"Procmine-Action": "seed"}), author=_SEED_AUTHOR,
                        committer=_SEED_AUTHOR, author_timestamp=_timestamp(seed_day),
                        commit_timestamp=_timestamp(seed_day), author_timezone=0,
                        commit_timezone=0)
                    repo.close()
        return root

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the library's writer lock (see :func:`locked`), after undoing what a killed
        writer left behind (:meth:`recover`)."""
        with locked(self.root):
            self.recover()
            yield

    def recover(self) -> bool:
        """Undo an interrupted write (call it under the lock); True when there was one.

        The file the write changed is put back to the last commit, in the working copy and in
        the index, and the lock files under ``.git`` (index, refs, objects) are removed: no
        other writer can hold them while this one holds the library lock.
        """
        from dulwich import porcelain  # imported on use: it is slow to import

        journal = self.root / ".git" / _JOURNAL
        if not journal.exists():
            return False
        for stale in (self.root / ".git").rglob("*.lock"):
            stale.unlink(missing_ok=True)
        name = journal.read_text(encoding="utf-8").strip()
        if name.startswith("SOP-") and name.endswith(".md") and "/" not in name:
            path = self.root / name
            with self._repo() as repo:
                tree = self._head_tree(repo)
                try:
                    if tree is None:
                        raise KeyError(name)
                    _, blob_id = tree.lookup_path(repo.object_store.__getitem__, name.encode())
                except KeyError:  # a new SOP that was never committed
                    path.unlink(missing_ok=True)
                    index = repo.open_index()
                    if name.encode() in index:
                        del index[name.encode()]
                        index.write()
                else:
                    blob = repo[blob_id]
                    assert isinstance(blob, Blob)
                    path.write_bytes(blob.data)
                    porcelain.add(repo, paths=[str(path)])
        journal.unlink()
        return True

    @contextmanager
    def _repo(self) -> Iterator[Repo]:
        repo = Repo(str(self.root))
        try:
            yield repo
        finally:
            repo.close()

    # -- reading ---------------------------------------------------------------------------------

    def _parse_blob(self, repo: Repo, blob_id: bytes, name: str) -> Sop:
        """The parse of a committed text: kept in this object, and beside the repository for
        the next process (:mod:`procmine.sop.parsed`)."""
        sop = self._parsed.get(blob_id)
        if sop is None or sop.path != name:
            git_dir = self.root / ".git"
            sop = parsed.kept(git_dir, blob_id, name)
            if sop is None:
                blob = repo[blob_id]
                assert isinstance(blob, Blob)
                sop = parse_sop(blob.data.decode("utf-8"), name)
                parsed.keep(git_dir, blob_id, name, sop)
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

    def _head_id(self) -> bytes | None:
        """The latest commit id, read from the refs alone (cheaper than opening the
        repository); None for an empty repository."""
        try:
            return DiskRefsContainer(self.root / ".git")[Ref(b"HEAD")]
        except KeyError:
            return None

    def _at_head(self) -> dict[Any, Any]:
        """What was read at the current head commit (emptied when the head moved)."""
        head = self._head_id()
        if head is None:
            return {}   # nothing to keep for an empty repository
        if self._seen[0] != head:
            self._seen = (head, {})
        return self._seen[1]

    def head(self) -> str:
        """The latest commit id ("" for an empty repository)."""
        head = self._head_id()
        return "" if head is None else head.decode()

    def ids(self) -> list[str]:
        """The ids of the SOPs in the latest commit."""
        seen = self._at_head()
        if "ids" not in seen:
            seen["ids"] = self._read_ids()
        return list(seen["ids"])

    def _read_ids(self) -> list[str]:
        with self._repo() as repo:
            tree = self._head_tree(repo)
            if tree is None:
                return []
            return sorted(e.path.decode()[:-3] for e in tree.iteritems()
                          if e.path.startswith(b"SOP-") and e.path.endswith(b".md"))

    def history(self, sop_id: str) -> list[SopVersion]:
        """Every version of an SOP, newest first (one per commit that changed its file)."""
        seen = self._at_head()
        key = ("history", sop_id)
        if key not in seen:
            seen[key] = self._read_history(sop_id)
        return list(seen[key])

    def _read_history(self, sop_id: str) -> list[SopVersion]:
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

    def pending_edits(self) -> list[str]:
        """SOP files changed in the working copy but not committed (edited outside the app)."""
        from dulwich import porcelain  # imported on use: it is slow to import

        with self._repo() as repo:
            status = porcelain.status(repo)
        names = [n.decode() if isinstance(n, bytes) else str(n)
                 for n in [*status.unstaged, *status.untracked,
                           *(p for paths in status.staged.values() for p in paths)]]
        return sorted({Path(n).name for n in names if n.endswith(".md")})

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

    # -- writing ---------------------------------------------------------------------------------

    def commit(self, sop_id: str, text: str, *, author: bytes, message: bytes,
               today: date | None = None) -> str:
        """Write an SOP file and commit it (dated noon UTC of ``today`` when given, else now);
        returns the commit id."""
        from dulwich import porcelain  # imported on use: it is slow to import

        path = self.root / f"{sop_id}.md"
        journal = self.root / ".git" / _JOURNAL
        journal.write_text(path.name, encoding="utf-8")
        path.write_text(text, encoding="utf-8")
        stamp = _timestamp(today)
        with self._repo() as repo:
            porcelain.add(repo, paths=[str(path)])
            commit = porcelain.commit(repo, message=message, author=author, committer=author,
                                      author_timestamp=stamp, commit_timestamp=stamp,
                                      author_timezone=0, commit_timezone=0)
        journal.unlink()
        return commit.decode()

    def keep(self, sop_id: str, parent: str, text: str, *, author: bytes,
             username: str) -> str:
        """Keep a refused text as a commit on ``refs/procmine/conflicts/<sop>/<user>-<time>``
        (a child of ``parent``, off the branch); returns the ref."""
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
            commit.author = commit.committer = author
            commit.author_time = commit.commit_time = int(datetime.now(UTC).timestamp())
            commit.author_timezone = commit.commit_timezone = 0
            commit.message = commit_message(
                f"{sop_id}: change refused by a conflict, kept", "",
                {"Procmine-Action": "conflict", "Procmine-User": username})
            for obj in (blob, new_tree, commit):
                repo.object_store.add_object(obj)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            ref = f"refs/procmine/conflicts/{sop_id}/{username}-{stamp}"
            repo.refs[Ref(ref.encode())] = commit.id
        return ref


# -- helpers -------------------------------------------------------------------------------------


def library_root(home: str | Path | None = None) -> Path:
    """The folder of a workspace's SOP library (``home/sops``; the default workspace when
    ``home`` is None)."""
    return Path(home if home is not None else default_home()) / "sops"


def has_library(home: str | Path | None = None) -> bool:
    """Whether a workspace has an SOP library yet (it is created on first use)."""
    return (library_root(home) / ".git").exists()


def sops_folder(home: str | Path | None = None) -> Path:
    """The SOP files of a workspace: its library's working copy, or the bundled SOP files when
    it has no library yet."""
    return library_root(home) if has_library(home) else bundled_sops_dir()


def signature(username: str, display_name: str = "") -> bytes:
    """The git author line of an app user: ``Display Name <username@procmine>``."""
    name = (display_name or username).replace("<", "").replace(">", "")
    return f"{name} <{username}@procmine>".encode()


def commit_message(summary: str, note: str, trailers: dict[str, str]) -> bytes:
    """A commit message: the summary, the note (when it says more) and the trailers."""
    body = note.strip()
    lines = [summary, "", body] if body and body != summary else [summary]
    lines += ["", *(f"{k}: {v}" for k, v in trailers.items() if v)]
    return ("\n".join(lines) + "\n").encode()


def _parse_message(text: str) -> tuple[str, dict[str, str]]:
    """The note (message without trailers) and the trailers of a commit message."""
    trailers: dict[str, str] = {}
    kept = []
    for line in text.strip().splitlines():
        match = _TRAILER.match(line)
        if match and match.group(1) in _TRAILERS:
            trailers[match.group(1)] = match.group(2).strip()
        else:
            kept.append(line)
    lines = kept[2:] if len(kept) > 2 and not kept[1].strip() else kept
    note = "\n".join(lines).strip() if trailers.get("Procmine-Action") else "\n".join(kept).strip()
    return note, trailers


def _version(commit: Commit, sop: Sop) -> SopVersion:
    note, trailers = _parse_message(commit.message.decode("utf-8", errors="replace"))
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


def _timestamp(today: date | None) -> float | None:
    """Commit time: now, or noon UTC of ``today`` when the caller dates the action."""
    if today is None:
        return None
    return datetime(today.year, today.month, today.day, 12, tzinfo=UTC).timestamp()


@contextmanager
def locked(root: Path, create: bool = False) -> Iterator[None]:
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
