"""The workspace: everything a running instance writes, under one folder.

``PROCMINE_HOME`` (default ``./workspace``) holds the event store, the quarantine files, the app
database and the SOP library's git working copy (and, in the demo workspace, ``demo-data/``: the
demo lobby's queue-system export the demo's tickets were ingested from). The bundled files
(``event_logs/``, ``sops/``) are read, never written.

A *demo workspace* is one that :func:`build_demo_workspace` created itself, from nothing: it
writes the marker file :data:`DEMO_MARKER` there. Only a demo workspace gets the demo users
(with their public password) and the demo's SOP revision, and only there does the sign-in page
show them. A workspace that holds anything else (events, an SOP library, users in its app
database) is never touched, and neither is a shared app database named by ``PROCMINE_DB_URL``:
with it set, no workspace is a demo workspace.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from procmine.app.appdb import DB_URL_ENV
from procmine.app.auth import list_users, seed_demo_users
from procmine.core.baseline import load_baseline
from procmine.core.errors import ProcmineError
from procmine.core.paths import bundled_path, default_home
from procmine.demo.config import Revision, bundled_demo_config
from procmine.demo.tickets import DEMO_DATA, DEMO_TICKETS_MAP, write_demo_tickets
from procmine.ingest.run import IngestReport, ingest_log
from procmine.ingest.tickets import ingest_tickets
from procmine.io.tickets import load_ticket_map
from procmine.sop.document import load_sops, set_front_matter
from procmine.sop.library import SopLibrary
from procmine.sop.repository import SopVersion, bundled_sops_dir, has_library
from procmine.sop.workflow import Editor
from procmine.store.event_store import EventStore, remove_store

__all__ = [
    "DEMO_MARKER",
    "KEEP_UPLOADS_ENV",
    "NotADemoWorkspace",
    "build_demo_workspace",
    "bundled_demo_log",
    "demo_seed_day",
    "ingest_demo_tickets",
    "is_demo_workspace",
    "keep_uploads_days",
    "purge_uploads",
    "record_demo_revision",
    "release_upload",
    "save_upload",
]

#: How many days an uploaded file is kept after its ingest (default 0: removed once ingested).
KEEP_UPLOADS_ENV = "PROCMINE_KEEP_UPLOADS_DAYS"

#: The file that marks a workspace as built by ``procmine demo-workspace``.
DEMO_MARKER = "demo-workspace.txt"

_MARKER_TEXT = (
    "This workspace was built by 'procmine demo-workspace' from the bundled demo log.\n"
    "Its users have the public demo password. Do not keep real data here.\n"
)


class NotADemoWorkspace(ProcmineError):
    """``build_demo_workspace`` was pointed at a workspace that holds real data."""


def is_demo_workspace(home: str | Path | None = None) -> bool:
    """True when ``procmine demo-workspace`` built this workspace (its marker file is there)
    and its app database is its own (``PROCMINE_DB_URL`` is not set).

    Example:
        >>> is_demo_workspace(home), is_demo_workspace(Path("somewhere-else"))
        (True, False)
    """
    if os.environ.get(DB_URL_ENV):
        return False
    return (Path(home if home is not None else default_home()) / DEMO_MARKER).is_file()


def _contents(store: EventStore) -> list[str]:
    """What a workspace holds that a demo must not touch (empty: nothing)."""
    held = []
    if not store.is_empty():
        held.append("events in its store")
    if has_library(store.home):
        held.append("an SOP library")
    if list_users(store.home):
        held.append("users in its app database")
    return held


def bundled_demo_log() -> Path:
    """The small generated log shipped in ``event_logs/`` for the dashboard's first run (a package
    resource, see :mod:`procmine.core.paths`; ``demo_truth.json`` sits beside it)."""
    path = bundled_path("event_logs", "demo_events.parquet")
    if not path.exists():
        from procmine.demo.config import BUNDLED_DEMO_COMMAND

        raise ProcmineError(
            f"{path} is missing; regenerate it from the repository's root with "
            f"'{BUNDLED_DEMO_COMMAND}'"
        )
    return path


def build_demo_workspace(
    home: str | Path | None = None, *, force: bool = False
) -> IngestReport | None:
    """Build or complete the demo workspace: ingest the bundled demo log, unless the store
    already has data, and the demo's queue-system export, unless the store has tickets
    (:func:`ingest_demo_tickets`); create the demo users (one per role, and two more
    reviewers) where they are missing; seed the SOP library from the bundled SOPs and record
    in it the SOP revision the demo log carries (:func:`record_demo_revision`); and, once, the
    training room's demo data (:func:`procmine.demo.training.seed_demo_training`: the question
    bank, a past paper with attempts, spot checks, acknowledgements), and the improvement
    register's demo items (:func:`procmine.demo.improvements.seed_demo_improvements`).

    Only in a demo workspace (:func:`is_demo_workspace`), or in an empty one, which then gets
    the marker. A workspace holding anything else raises NotADemoWorkspace, unchanged.

    Returns the ingest report, or None when the store already had data.
    """
    store = EventStore(home)
    if os.environ.get(DB_URL_ENV):
        raise NotADemoWorkspace(
            f"{DB_URL_ENV} is set: the demo's users, with their public password, never go into "
            f"a shared app database; nothing was changed. Unset {DB_URL_ENV} for the demo."
        )
    if not is_demo_workspace(store.home):
        held = _contents(store)
        if held:
            raise NotADemoWorkspace(
                f"{store.home} is not a demo workspace: it holds {', '.join(held)}, and "
                f"'procmine demo-workspace' did not create it (no {DEMO_MARKER}); nothing was "
                "changed. Use an empty folder (--home or PROCMINE_HOME) for the demo."
            )
        store.home.mkdir(parents=True, exist_ok=True)
        (store.home / DEMO_MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    seed_demo_users(store.home)
    revisions = bundled_demo_config().revisions
    library = SopLibrary.open(store.home, seed_day=demo_seed_day(revisions))
    for revision in revisions:
        record_demo_revision(library, revision)
    report = None
    if store.is_empty() or force:
        if not store.is_empty():
            remove_store(store.home)
        report = ingest_log(store, bundled_demo_log(), baseline=load_baseline())
    if not store.has_tickets():
        ingest_demo_tickets(store)
    # loaded only here: the dashboard's sign-in asks this module whether a workspace is a
    # demo, and the improvement register's demo items import SciPy
    from procmine.demo.improvements import seed_demo_improvements
    from procmine.demo.training import seed_demo_training

    seed_demo_training(store, library, home=store.home)
    seed_demo_improvements(store.home, store=store, library=library)
    return report


def ingest_demo_tickets(store: EventStore) -> IngestReport:
    """Write the demo lobby's queue-system export (:mod:`procmine.demo.tickets`, from the
    bundled demo log) into ``demo-data/`` of the workspace, with ``tickets_truth.json`` beside
    it, and ingest it through the ticket ingest with the bundled mapping
    (``event_logs/mappings/demo_tickets.yaml``). The file stays there, to be looked at or
    ingested again by hand.
    """
    folder = store.home / DEMO_DATA
    export, _ = write_demo_tickets(pq.read_table(bundled_demo_log()), folder)
    mapping = load_ticket_map(bundled_path("event_logs", "mappings", DEMO_TICKETS_MAP))
    return ingest_tickets(store, export, mapping)


def save_upload(name: str, content: bytes, home: str | Path | None = None) -> Path:
    """Keep an uploaded file under ``workspace/uploads/`` (time-stamped, name made safe) for
    its ingest; first purge the uploads older than the retention (:func:`purge_uploads`).
    Once the ingest has finished, loaded or refused, hand the path to :func:`release_upload`.
    """
    folder = Path(home if home is not None else default_home()) / "uploads"
    purge_uploads(home)
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^\w.\-]+", "_", Path(name).name).strip("._") or "upload"
    path = folder / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{safe}"
    path.write_bytes(content)
    return path


def keep_uploads_days(environ: Mapping[str, str] | None = None) -> int:
    """How many days uploaded files are kept after their ingest: ``PROCMINE_KEEP_UPLOADS_DAYS``,
    a whole number >= 0 (default 0: an upload is removed as soon as its ingest has finished).

    >>> keep_uploads_days({}), keep_uploads_days({"PROCMINE_KEEP_UPLOADS_DAYS": " 30 "})
    (0, 30)
    >>> try:
    ...     keep_uploads_days({"PROCMINE_KEEP_UPLOADS_DAYS": "a week"})
    ... except ProcmineError as exc:
    ...     print(exc)
    PROCMINE_KEEP_UPLOADS_DAYS='a week' is not a whole number of days >= 0
    """
    raw = (os.environ if environ is None else environ).get(KEEP_UPLOADS_ENV, "").strip()
    if not raw:
        return 0
    try:
        days = int(raw)
    except ValueError:
        days = -1
    if days < 0:
        raise ProcmineError(f"{KEEP_UPLOADS_ENV}={raw!r} is not a whole number of days >= 0")
    return days


def release_upload(path: str | Path, *, keep_days: int | None = None) -> bool:
    """An upload's ingest has finished (loaded or refused): remove the file, unless uploads
    are kept (``keep_days``, default :func:`keep_uploads_days`, above 0; then
    :func:`purge_uploads` removes it once it is that old). True when the file was removed.
    """
    if (keep_uploads_days() if keep_days is None else keep_days) > 0:
        return False
    Path(path).unlink(missing_ok=True)
    return True


def purge_uploads(home: str | Path | None = None, *, keep_days: int | None = None,
                  now: datetime | None = None) -> list[Path]:
    """Remove the files under ``workspace/uploads/`` older than ``keep_days`` days (default
    :func:`keep_uploads_days`) and return them. With 0, uploads are removed by
    :func:`release_upload` when ingested; what a crashed ingest left behind goes after a day
    (an upload younger than that may still be being ingested by another session).
    """
    folder = Path(home if home is not None else default_home()) / "uploads"
    days = keep_uploads_days() if keep_days is None else keep_days
    cutoff = (now or datetime.now(UTC)) - timedelta(days=max(days, 1))
    removed = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if not path.is_file():
            continue
        if datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


# -- the demo's SOP story ------------------------------------------------------------------------

_DEMO_AUTHOR = Editor("reviewer", "reviewer", "accounting-and-cash", "Reviewer (demo)")
_DEMO_APPROVER = Editor("reviewer2", "reviewer", "accounting-and-cash", "Reviewer 2 (demo)")


def demo_seed_day(revisions: Sequence[Revision]) -> date:
    """The day the demo's SOP library is seeded: the earliest effective date of the bundled
    SOPs, and before the first revision is written (two weeks before its first adoption), so
    the history lists the versions in the order they came in force.

    Example:
        >>> demo_seed_day(bundled_demo_config().revisions)
        datetime.date(2025, 6, 1)
    """
    days = [sop.effective for sop in load_sops(bundled_sops_dir()).values()]
    for revision in revisions:
        first = min([revision.effective, *(revision.branches or {}).values()])
        days.append(first - timedelta(days=21))
    return min(days)


def record_demo_revision(library: SopLibrary, revision: Revision) -> SopVersion | None:
    """Record in the SOP library the revision the bundled demo log carries: the review group
    shortens the standard of the SOP step governing ``revision``'s type x step, with the
    branches' adoption dates; ``reviewer`` writes and submits it two weeks before the first
    adoption, ``reviewer2`` approves it a week before. Returns the approved version, or None
    when no SOP governs the step or the library already has a change after its seed.
    """
    governing = [(sop_id, step) for sop_id in library.ids()
                 for step in library.current(sop_id).sop.steps_for(revision.business_type)
                 if step.activity == revision.activity and not step.conditional]
    if not governing:
        return None
    sop_id, step = governing[0]
    head = library.current(sop_id)
    if len(library.history(sop_id)) > 1:
        return None
    first = min([revision.effective, *(revision.branches or {}).values()])
    # the step's new standard: the revision's factor, within the lint's tolerance of the
    # type's baseline time (the baseline itself is the bank's to revise)
    standard = load_baseline().standard_seconds(revision.business_type)
    seconds = max(round(step.standard_seconds * revision.factor),
                  math.ceil(step.standard_seconds - 0.04 * standard))
    text = _replace_step_seconds(head.sop.text, step.id, seconds)
    adoption = "".join(f"  {b}: {d.isoformat()}\n"
                       for b, d in sorted((revision.branches or {}).items()))
    if adoption:
        text = text.replace("\nsteps:\n", f"\nadoption:\n{adoption}steps:\n", 1)
    text = set_front_matter(text, effective=revision.effective)
    heading = re.search(rf"^#+ .*\{{#{re.escape(step.id)}\}}\s*$", text, re.MULTILINE)
    if heading:
        note = ("\n- **修订说明（Revision）**：改用点钞机计数、显示屏朝向客户，机点一遍后当面唱付，"
                "不再手工复点全部券别。")
        text = text[:heading.end()] + note + text[heading.end():]
    library.save(sop_id, text, user=_DEMO_AUTHOR, base=head.commit,
                 note=f"{step.activity}: note-counting machine with the display facing the "
                 f"customer; standard {step.standard_seconds:g} s -> {seconds} s. Pilot branches "
                 "first, the others three weeks later.", today=first - timedelta(days=14))
    library.submit(sop_id, user=_DEMO_AUTHOR, today=first - timedelta(days=14))
    return library.approve(sop_id, user=_DEMO_APPROVER, today=first - timedelta(days=7),
                           comment="Trial counts in B01 confirm the time saved; approved.")


def _replace_step_seconds(text: str, step_id: str, seconds: float) -> str:
    pattern = re.compile(rf"(- id: {re.escape(step_id)}\n(?:    .*\n)*?    standard_seconds: )"
                         r"[0-9.]+")
    new, count = pattern.subn(rf"\g<1>{seconds:g}", text, count=1)
    if count != 1:
        raise ProcmineError(f"step {step_id}: no standard_seconds line to change")
    return new
