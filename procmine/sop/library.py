"""The SOP library: a git repository of SOP files, their versions and their review workflow.

:class:`SopLibrary` is the one object the CLI, the dashboard and the demo workspace hold. It
composes the three parts of the library, each in a module of its own:

* :mod:`procmine.sop.repository`: the git working copy (``workspace/sops``, seeded from the
  bundled ``sops/``), its commits, the history of each SOP file, kept conflict refs, the lock.
* :mod:`procmine.sop.workflow`: save, submit, approve, reject, retire and their rules.
* :mod:`procmine.sop.timeline`: which version is in force on a date, at a branch. The approved
  versions, with their effective dates (and per-branch adoption dates), are what the mining and
  the quizzes use; a past date's text is the approved version in force on it.

Example:
    >>> library = SopLibrary.open(home)
    >>> head = library.current("SOP-P18")
    >>> head.sop.version, head.sop.status, head.action
    ('3.0', 'approved', 'approve')
    >>> [v.sop.version for v in library.approved_versions("SOP-P18")]
    ['2.0', '3.0']
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from procmine.sop import timeline
from procmine.sop.repository import SopRepository, SopVersion
from procmine.sop.workflow import SaveResult, SopWorkflow, authors_since_approval

__all__ = ["SopLibrary", "side_by_side"]


class SopLibrary:
    """The SOP library of a workspace: its repository, workflow and timeline in one place."""

    def __init__(self, root: str | Path, *, audit_home: str | Path | None = None) -> None:
        self.repository = SopRepository(root)
        self.workflow = SopWorkflow(self.repository, audit_home=audit_home)

    @classmethod
    def open(cls, home: str | Path | None = None, *, seed: str | Path | None = None,
             seed_day: date | None = None) -> SopLibrary:
        """The library of a workspace (``home/sops``), created and seeded from the bundled SOP
        files (or ``seed``) in one commit (dated ``seed_day`` when given, else now) when it does
        not exist yet; each action gets an audit row in the workspace's app database."""
        root = SopRepository.create(home, seed=seed, seed_day=seed_day)
        return cls(root, audit_home=root.parent)

    @property
    def root(self) -> Path:
        """The library's git working copy."""
        return self.repository.root

    @property
    def audit_home(self) -> Path | None:
        """The workspace whose app database gets an audit row for each action (None: the git
        history is the only record)."""
        return self.workflow.audit_home

    # -- reading ---------------------------------------------------------------------------------

    def head(self) -> str:
        """The library's latest commit id ("" for an empty repository): it changes with every
        change, in the app or outside it (a cache key)."""
        return self.repository.head()

    def ids(self) -> list[str]:
        """The ids of the SOPs in the library's latest commit."""
        return self.repository.ids()

    def history(self, sop_id: str) -> list[SopVersion]:
        """Every version of an SOP, newest first (one per commit that changed its file)."""
        return self.repository.history(sop_id)

    def current(self, sop_id: str) -> SopVersion:
        """The latest version of an SOP (of any status)."""
        return self.repository.current(sop_id)

    def version(self, sop_id: str, commit: str) -> SopVersion:
        """The version of an SOP at a commit (a full or abbreviated commit id)."""
        return self.repository.version(sop_id, commit)

    def latest(self) -> dict[str, SopVersion]:
        """The latest version of every SOP, by id."""
        return {sop_id: self.current(sop_id) for sop_id in self.ids()}

    def approved_versions(self, sop_id: str) -> list[SopVersion]:
        """The versions that came in force (approved or retired), oldest first."""
        return timeline.approved_versions(self.history(sop_id))

    def approved(self, sop_id: str) -> SopVersion | None:
        """The latest approved version (None when it was never approved or is retired)."""
        return timeline.latest_approved(self.approved_versions(sop_id))

    def in_force(self, sop_id: str, on: date, branch: str | None = None) -> SopVersion | None:
        """The version in force on a date (at a branch, when versions name adoption dates):
        the approved version with the latest effective date not after ``on``; a later commit
        wins between versions of the same date; None before the first or after retirement
        (:func:`procmine.sop.timeline.in_force`)."""
        return timeline.in_force(self.approved_versions(sop_id), on, branch)

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
        return authors_since_approval(self.history(sop_id))

    def diff(self, sop_id: str, old: str, new: str) -> str:
        """A unified diff between two versions (commit ids) of an SOP."""
        a, b = self.version(sop_id, old), self.version(sop_id, new)
        return "".join(difflib.unified_diff(
            a.sop.text.splitlines(keepends=True), b.sop.text.splitlines(keepends=True),
            fromfile=f"{sop_id} {a.sop.version} ({a.short})",
            tofile=f"{sop_id} {b.sop.version} ({b.short})"))

    def pending_edits(self) -> list[str]:
        """SOP files changed in the working copy but not committed (edited outside the app)."""
        return self.repository.pending_edits()

    def kept_text(self, ref: str, sop_id: str) -> str:
        """The text kept on a conflict ref."""
        return self.repository.kept_text(ref, sop_id)

    # -- writing (see :mod:`procmine.sop.workflow` for the rules) ---------------------------------

    def save(self, sop_id: str, text: str, *, user: Any, note: str,
             base: str | None = None, today: date | None = None) -> SaveResult:
        """Save a changed SOP as a draft (:meth:`procmine.sop.workflow.SopWorkflow.save`)."""
        return self.workflow.save(sop_id, text, user=user, note=note, base=base, today=today)

    def submit(self, sop_id: str, *, user: Any, note: str = "Submitted for review",
               today: date | None = None) -> SopVersion:
        """Send a draft for review (draft -> in_review)."""
        return self.workflow.submit(sop_id, user=user, note=note, today=today)

    def approve(self, sop_id: str, *, user: Any, comment: str = "",
                today: date | None = None, effective: date | None = None,
                adoption: Mapping[str, date] | None = None) -> SopVersion:
        """Approve an SOP in review (in_review -> approved): only a reviewer of the owning group
        who authored none of the changes since the last approval, on the dates the reviewer
        chooses (default: the draft's; a date that has passed is refused,
        :meth:`procmine.sop.workflow.SopWorkflow.approve`)."""
        return self.workflow.approve(sop_id, user=user, comment=comment, today=today,
                                     effective=effective, adoption=adoption)

    def reject(self, sop_id: str, *, user: Any, comment: str,
               today: date | None = None) -> SopVersion:
        """Send an SOP in review back to draft with the reviewer's comment."""
        return self.workflow.reject(sop_id, user=user, comment=comment, today=today)

    def retire(self, sop_id: str, *, user: Any, note: str,
               today: date | None = None) -> SopVersion:
        """Retire an approved SOP from ``today``: it is no longer in force."""
        return self.workflow.retire(sop_id, user=user, note=note, today=today)


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
