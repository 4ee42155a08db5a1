"""The review workflow of the SOP library: save, submit, approve, reject, retire, and their rules.

Workflow (the ``status`` field of each version): ``draft`` -> ``in_review`` -> ``approved``
(-> ``retired``). Saving a change makes a draft and bumps the version against the version in
force (major when the steps change, minor otherwise: :func:`bump_version`). The operations
department and the reviewers of the owning group edit an SOP; approving, rejecting and retiring
are for the reviewers of the owning group, and approval needs one who did not author any change
since the last approval. The reviewer chooses the effective date and the branches' adoption dates
(the draft's by default); a date that has passed is refused, never moved: approving never changes
what was in force in the past. An approved version is due for review a year after it comes in
force unless it names a later review date. Each action is a commit of
the :class:`~procmine.sop.repository.SopRepository` and, when the library belongs to a
workspace, an audit row in its app database.

Two people editing one SOP at once lose nothing: a save names the version it started from
(``base``); when the SOP moved on meanwhile, the two changes are merged line by line when they
touch different lines, and otherwise the save is refused with both texts (:class:`SaveConflict`)
and the refused text kept on a ref of its own (``refs/procmine/conflicts/...``). A save that
names no base (a file saved from the command line) starts from the version of the SOP's history
its text is closest to (:func:`closest_version`), so it too is merged or refused, never written
over a change it did not see.

Example:
    >>> root = SopRepository.create(Path.cwd() / "ws")  # a library of its own, seeded
    >>> workflow = SopWorkflow(SopRepository(root), audit_home=None)
    >>> me = Editor("li.na", "reviewer", "accounting-and-cash")
    >>> text = workflow.repository.current("SOP-P17").sop.text + "\\nRead the amount back.\\n"
    >>> workflow.save("SOP-P17", text, user=me, note="Read the amount back").version.sop.version
    '2.2'
    >>> workflow.submit("SOP-P17", user=me).sop.status
    'in_review'
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from dulwich.merge import merge_blobs
from dulwich.objects import Blob

from procmine.core.errors import ProcmineError
from procmine.sop.document import Sop, SopError, parse_sop, set_front_matter, split_front_matter
from procmine.sop.front_matter import set_adoption
from procmine.sop.repository import SopRepository, SopVersion, commit_message, signature
from procmine.sop.timeline import approved_versions, came_in_force, latest_approved

__all__ = [
    "Editor",
    "SaveConflict",
    "SaveResult",
    "SopWorkflow",
    "WorkflowError",
    "authors_since_approval",
    "bump_version",
    "check_approval_dates",
    "closest_version",
    "steps_changed",
]


class WorkflowError(ProcmineError):
    """A review-workflow rule refused an action (wrong state, wrong group, own change)."""


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


class SopWorkflow:
    """The review workflow over a library's repository (see the module documentation)."""

    def __init__(self, repository: SopRepository, *,
                 audit_home: str | Path | None = None) -> None:
        self.repository = repository
        #: The workspace whose app database gets an audit row for each action (``sop.save``,
        #: ``sop.submit``, ``sop.approve``, ``sop.reject``, ``sop.retire``, ``sop.conflict``);
        #: None: the git history is the only record.
        self.audit_home = Path(audit_home) if audit_home is not None else None

    def save(self, sop_id: str, text: str, *, user: Any, note: str,
             base: str | None = None, today: date | None = None) -> SaveResult:
        """Save a changed SOP as a draft: a commit by ``user`` with the change note.

        ``base`` is the commit the editor started from; None: the version of the history the
        text is closest to (:func:`closest_version`; nothing for a new SOP). The version is
        bumped against the version in force (major when the steps changed, minor otherwise);
        ``author`` is set to the user. Raises :class:`SopError` for text that does not parse,
        :class:`WorkflowError` for a user who may not edit it, :class:`SaveConflict` when
        another change to the same lines landed since ``base``.
        """
        editor = _user_of(user)
        if not note.strip():
            raise WorkflowError("a change note is required: say what changed and why",
                                code="sop.note_required")
        new = parse_sop(text, f"{sop_id}.md")
        if new.id != sop_id:
            raise SopError(f"{sop_id}.md: id: the text is the SOP {new.id}, not {sop_id}",
                           code="sop.wrong_id", sop_id=sop_id, other=new.id)
        repository = self.repository
        with repository.lock():
            exists = sop_id in repository.ids()
            head, merged_with = None, None
            history = repository.history(sop_id) if exists else []
            if exists:
                head = history[0]
                _check_editor(editor, head.sop)
                if base is None:
                    base = _inferred_base(history, text)
                if not head.commit.startswith(base):
                    text, merged_with = self._merge(sop_id, base, head, text, editor)
                    new = parse_sop(text, f"{sop_id}.md")
            _check_editor(editor, new)
            self._check_worktree(sop_id)
            approved = latest_approved(approved_versions(history))
            version = bump_version(approved.sop, new) if approved else new.version
            final = set_front_matter(text, status="draft", version=version,
                                     author=editor.username, approved_by=None)
            if head is not None and final == head.sop.text:
                raise WorkflowError(f"{sop_id}: nothing changed", code="sop.nothing_changed",
                                    sop_id=sop_id)
            summary = f"{sop_id} {version} draft: {note.strip().splitlines()[0]}"
            commit = self._commit(sop_id, final, editor, summary, note, "save", new.owner_group,
                                  version, "draft", today)
            return SaveResult(repository.version(sop_id, commit), merged_with)

    def submit(self, sop_id: str, *, user: Any, note: str = "Submitted for review",
               today: date | None = None) -> SopVersion:
        """Send a draft for review (draft -> in_review)."""
        editor = _user_of(user)
        with self.repository.lock():
            head = self.repository.current(sop_id)
            _check_editor(editor, head.sop)
            _check_status(head.sop, "draft", "goes to review")
            return self._transition(head, editor, "submit", "in_review", note, {}, today)

    def approve(self, sop_id: str, *, user: Any, comment: str = "",
                today: date | None = None, effective: date | None = None,
                adoption: Mapping[str, date] | None = None) -> SopVersion:
        """Approve an SOP in review (in_review -> approved): only a reviewer of the owning group
        who authored none of the changes since the last approval.

        The reviewer chooses the dates: ``effective`` (default: the draft's) and ``adoption``
        (branch -> date, each replacing the draft's date for its branch; the others keep the
        draft's). A date before ``today`` is refused (:class:`WorkflowError`, code
        ``sop.effective_passed`` or ``sop.adoption_passed``), never moved: approving never
        changes what was in force in the past, and the reviewer chooses today or later."""
        editor = _user_of(user)
        day = today or datetime.now(UTC).date()
        with self.repository.lock():
            head = self.repository.current(sop_id)
            sop = head.sop
            _check_status(sop, "in_review", "is approved")
            _check_reviewer(editor, sop, "approve")
            authors = authors_since_approval(self.repository.history(sop_id))
            if editor.username in authors:
                raise WorkflowError(f"{editor.username} changed {sop_id} and may not approve it: "
                                    "another reviewer of the group approves",
                                    code="sop.own_change", username=editor.username,
                                    sop_id=sop_id)
            chosen = effective or sop.effective
            branches = {**sop.adoption, **(adoption or {})}
            check_approval_dates(sop_id, chosen, branches, day)
            fields: dict[str, Any] = {"approved_by": editor.username, "effective": chosen}
            if sop.review_due is None or sop.review_due <= chosen:
                fields["review_due"] = _add_year(chosen)
            text = set_adoption(sop.text, branches) if branches != dict(sop.adoption) \
                else sop.text
            return self._transition(head, editor, "approve", "approved", comment or "Approved",
                                    fields, today, text=text)

    def reject(self, sop_id: str, *, user: Any, comment: str,
               today: date | None = None) -> SopVersion:
        """Send an SOP in review back to draft with the reviewer's comment."""
        editor = _user_of(user)
        if not comment.strip():
            raise WorkflowError("a rejection says why (comment)", code="sop.reject_needs_comment")
        with self.repository.lock():
            head = self.repository.current(sop_id)
            _check_status(head.sop, "in_review", "is rejected")
            _check_reviewer(editor, head.sop, "reject")
            return self._transition(head, editor, "reject", "draft", comment, {}, today)

    def retire(self, sop_id: str, *, user: Any, note: str,
               today: date | None = None) -> SopVersion:
        """Retire an approved SOP from ``today``: it is no longer in force."""
        editor = _user_of(user)
        if not note.strip():
            raise WorkflowError("retiring an SOP needs a note saying why",
                                code="sop.retire_needs_note")
        day = today or datetime.now(UTC).date()
        with self.repository.lock():
            head = self.repository.current(sop_id)
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
        return self.repository.version(head.sop.id, commit)

    def _commit(self, sop_id: str, text: str, editor: Editor, summary: str, note: str,
                action: str, group: str, version: str, status: str, today: date | None) -> str:
        message = commit_message(summary, note, {
            "Procmine-Action": action, "Procmine-User": editor.username,
            "Review-Group": group, "Version": version, "Status": status})
        commit = self.repository.commit(
            sop_id, text, author=signature(editor.username, editor.display_name),
            message=message, today=today)
        self._audit(editor, action, f"{sop_id} {version} {status}: "
                    f"{note.strip().splitlines()[0] if note.strip() else ''} "
                    f"(commit {commit[:10]})")
        return commit

    def _audit(self, editor: Editor, action: str, detail: str) -> None:
        """One audit row in the workspace's app database, beside the git history (the audit
        trail the operations department reads with the sign-ins and user changes)."""
        if self.audit_home is None:
            return
        from procmine.app.appdb import record_audit, session_for

        with session_for(self.audit_home) as session:
            record_audit(session, editor.username, f"sop.{action}", detail)

    def _check_worktree(self, sop_id: str) -> None:
        if f"{sop_id}.md" in self.repository.pending_edits():
            raise WorkflowError(
                f"{sop_id}.md has changes in {self.repository.root} that are not committed "
                "(edited outside the app): commit them with git, or discard them, before saving "
                "here", code="sop.uncommitted_changes", sop_id=sop_id)

    def _merge(self, sop_id: str, base: str, head: SopVersion, text: str,
               editor: Editor) -> tuple[str, str]:
        """Merge a change made on ``base`` with the head; raise SaveConflict (keeping the text
        on a ref of its own) when both changed the same lines."""
        origin = self.repository.version(sop_id, base)
        # the fields every save sets anew are taken from the head on all sides: they never
        # conflict (a draft saved after a submit differs from its base in its status only)
        ours, theirs = (_managed_like(head.sop.text, t) for t in (origin.sop.text, text))
        merged, conflicted = merge_blobs(
            Blob.from_string(ours.encode()),
            Blob.from_string(head.sop.text.encode()),
            Blob.from_string(theirs.encode()))
        merged_text = merged.decode("utf-8")
        if not conflicted:
            try:
                parse_sop(merged_text, f"{sop_id}.md")
                return merged_text, head.commit
            except SopError:
                pass  # a clean line merge can still break the front matter: ask the user
        ref = self.repository.keep(sop_id, origin.commit, text,
                                   author=signature(editor.username, editor.display_name),
                                   username=editor.username)
        self._audit(editor, "conflict", f"{sop_id}: save refused, the same lines changed "
                    f"since {origin.commit[:10]}; the text is kept on {ref}")
        raise SaveConflict(sop_id=sop_id, base=origin.commit, theirs_commit=head.commit,
                           theirs=head.sop.text, yours=text, merged=merged_text, kept_ref=ref)


# -- rules ---------------------------------------------------------------------------------------


def authors_since_approval(history: Sequence[SopVersion]) -> set[str]:
    """Who changed the SOP since its last approval (they may not approve it), from its
    history (newest first)."""
    authors = set()
    for v in history:
        if came_in_force(v):
            break
        if v.action in ("save", "external"):
            authors.add(v.author)
    return authors


#: Front-matter fields that each save sets anew (status, version, author, approver).
_MANAGED: Final[tuple[str, ...]] = ("status:", "version:", "author:", "approved_by:")
#: ... and with those the fields approving and retiring set: none of them says where an edit
#: started from.
_WORKFLOW: Final[tuple[str, ...]] = (*_MANAGED, "effective:", "review_due:")


def _content(text: str) -> list[str]:
    """The lines of an SOP text without the fields the workflow sets."""
    front, body, _ = split_front_matter(text)
    return [line for line in front.splitlines() if not line.startswith(_WORKFLOW)] + \
        body.splitlines()


def _distance(a: list[str], b: list[str]) -> int:
    """How many lines differ between two texts (a changed line counts once)."""
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes()
               if tag != "equal")


def closest_version(history: Sequence[SopVersion], text: str) -> SopVersion:
    """The version of an SOP (``history`` newest first) an edited ``text`` most likely started
    from: the one with the fewest lines different, the workflow's fields aside.

    Between equally close versions of different content the oldest is taken, so that a change
    made since is merged, or refused as a conflict when the edit touched the same lines, rather
    than undone; between versions of the same content (a save, its submit, its approval) the
    newest.

    Example:
        >>> history = library.history("SOP-P18")
        >>> [v.action for v in history]
        ['approve', 'submit', 'save', 'seed']
        >>> closest_version(history, history[0].sop.text + "One more line.\\n").action
        'approve'
        >>> closest_version(history, history[-1].sop.text + "One more line.\\n").action
        'seed'
    """
    wanted = _content(text)
    scored = [(_distance(_content(v.sop.text), wanted), v) for v in history]
    best = min(score for score, _ in scored)
    ties = [v for score, v in scored if score == best]
    if len({tuple(_content(v.sop.text)) for v in ties}) == 1:
        return ties[0]
    return ties[-1]


def _inferred_base(history: Sequence[SopVersion], text: str) -> str:
    """The base of a save that names none (:func:`closest_version`). A text that is an earlier
    version as it was is refused: restoring it and saving a stale copy look the same."""
    origin = closest_version(history, text)
    if origin.commit != history[0].commit and _content(origin.sop.text) == _content(text):
        sop = origin.sop
        raise WorkflowError(
            f"{sop.id}: the text is the earlier version {sop.version} ({origin.short}) as it was; "
            f"to restore it, save it on the latest version (base {history[0].short})",
            code="sop.restore_on_latest", sop_id=sop.id, version=sop.version,
            base=history[0].short)
    return origin.commit


def _managed_like(head: str, text: str) -> str:
    """``text`` with the fields each save sets (:data:`_MANAGED`) as they are in ``head``, each
    in its place (a field ``head`` lacks is dropped, one ``text`` lacks added before ``steps:``).
    """
    wanted = {line.split(":", 1)[0]: line
              for line in split_front_matter(head)[0].splitlines(keepends=True)
              if line.startswith(_MANAGED)}
    front, body, _ = split_front_matter(text)
    lines = []
    for line in front.splitlines(keepends=True):
        if line.startswith(_MANAGED):
            line = wanted.pop(line.split(":", 1)[0], "")
        lines.append(line)
    at = next((i for i, line in enumerate(lines) if line.startswith("steps:")), len(lines))
    return "---\n" + "".join(lines[:at] + list(wanted.values()) + lines[at:]) + "---\n" + body


def _step_signature(sop: Sop) -> list[tuple[Any, ...]]:
    return [(s.id, s.activity, s.standard_seconds, s.controls, s.conditional, s.when, s.types)
            for s in sop.steps]


def steps_changed(old: Sop, new: Sop) -> bool:
    """Whether the steps differ (ids, activities, times, controls, conditions, types)."""
    return _step_signature(old) != _step_signature(new)


def bump_version(previous: Sop | None, new: Sop) -> str:
    """The version ``new`` gets after ``previous`` (the version in force): a major bump when
    the steps changed, a minor one otherwise; "1.0" for a first version.

    Example:
        >>> sop = library.current("SOP-P17").sop
        >>> sop.version, bump_version(None, sop), bump_version(sop, sop)
        ('2.1', '1.0', '2.2')
    """
    if previous is None:
        return "1.0"
    major, minor = previous.major_minor
    return f"{major + 1}.0" if steps_changed(previous, new) else f"{major}.{minor + 1}"


def _user_of(editor: Any) -> Editor:
    return Editor(username=str(editor.username), role=str(editor.role),
                  review_group=getattr(editor, "review_group", None),
                  display_name=str(getattr(editor, "display_name", "") or ""))


def _add_year(day: date) -> date:
    """The review date a year after ``day``."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day + timedelta(days=365)


def check_approval_dates(sop_id: str, effective: date, adoption: Mapping[str, date],
                         today: date) -> None:
    """Refuse an approval's dates that have passed (:class:`WorkflowError` with the code
    ``sop.effective_passed`` or ``sop.adoption_passed``): an approval comes in force today or
    later, and nothing moves a date the reviewer did not choose.

    Example:
        >>> try:
        ...     check_approval_dates("SOP-P17", date(2026, 3, 1), {}, date(2026, 3, 2))
        ... except WorkflowError as exc:
        ...     print(exc.code, exc)
        sop.effective_passed SOP-P17: the effective date 2026-03-01 has passed; choose today \
(2026-03-02) or later
    """
    if effective < today:
        raise WorkflowError(
            f"{sop_id}: the effective date {effective} has passed; choose today ({today}) "
            "or later", code="sop.effective_passed", sop_id=sop_id, day=effective.isoformat(),
            today=today.isoformat())
    for branch, day in sorted(adoption.items()):
        if day < today:
            raise WorkflowError(
                f"{sop_id}: the adoption date {day} of {branch} has passed; choose today "
                f"({today}) or later", code="sop.adoption_passed", sop_id=sop_id, branch=branch,
                day=day.isoformat(), today=today.isoformat())


def _check_status(sop: Sop, wanted: str, what: str) -> None:
    names = {"draft": "a draft", "in_review": "an SOP in review", "approved": "an approved SOP"}
    if sop.status != wanted:
        raise WorkflowError(f"{sop.id} is {sop.status}; only {names[wanted]} {what}",
                            code=f"sop.wrong_status.{sop.status}", sop_id=sop.id)


def _check_reviewer(editor: Editor, sop: Sop, action: str) -> None:
    """Approving, rejecting and retiring are for the reviewers of the owning group."""
    if editor.role != "reviewer" or editor.review_group != sop.owner_group:
        raise WorkflowError(f"{editor.username} may not {action} {sop.id}: only a reviewer of "
                            f"{sop.owner_group} may", code="sop.not_group_reviewer",
                            username=editor.username, sop_id=sop.id, group=sop.owner_group)


def _check_editor(editor: Editor, sop: Sop) -> None:
    if editor.role == "operations":
        return
    if editor.role == "reviewer" and editor.review_group == sop.owner_group:
        return
    raise WorkflowError(f"{editor.username} ({editor.role}) may not edit {sop.id}: the "
                        f"{sop.owner_group} review group and the operations department edit it",
                        code="sop.may_not_edit", username=editor.username, sop_id=sop.id,
                        group=sop.owner_group)
