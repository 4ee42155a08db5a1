"""Tellers acknowledge that they read each new version of the SOPs that govern their work.

Which SOPs a teller must read: the approved versions in force today at their branch (the one
SOP timeline, :meth:`procmine.sop.library.SopLibrary.in_force`, adoption dates per branch
included) of the SOPs that govern a business type the teller did in the latest three months of
the event log (:func:`teller_types`). A teller without event data (or a workspace without a
log) must read them all.

:func:`acknowledge_sop` records, for the teller signed in, the version in force at their branch
today (idempotent: acknowledging it again changes nothing; audited as ``sop.acknowledge``). A
new version is a new acknowledgement: the old one no longer counts. :func:`acknowledgement_status`
lists, per SOP version x branch, each teller of the roster it concerns and when they
acknowledged it; :func:`acknowledgement_summary` counts them.

Example:
    >>> [v.sop.version for v in sops_in_force(library, branch_id="B01",
    ...                                       today=date(2026, 10, 1)) if v.sop.id == "SOP-P18"]
    ['3.0']
    >>> sorted(teller_types(store, "0101"))[:3]
    ['P01', 'P02', 'P03']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from procmine.analysis.performance import latest_month
from procmine.analysis.transactions import SCAN_WINDOW, scan_window, transactions_sql
from procmine.app.appdb import record_audit, session_for, utc_now
from procmine.app.auth import User
from procmine.core.errors import ProcmineError
from procmine.core.months import add_months
from procmine.sop.library import SopLibrary
from procmine.sop.repository import SopVersion
from procmine.store.engine import DuckDBEngine
from procmine.store.event_store import EventStore
from procmine.training.attempts import ensure_not_in_attempt
from procmine.training.roster import Trainee
from procmine.training.settings import own_teller_id
from procmine.training.tables import AcknowledgementRow

__all__ = [
    "RECENT_MONTHS",
    "Acknowledgement",
    "acknowledge_sop",
    "acknowledgement_status",
    "acknowledgement_summary",
    "pending_acknowledgements",
    "sops_in_force",
    "teller_types",
    "types_by_teller",
]

#: a teller's business types are those they did in this many latest months of the log
RECENT_MONTHS = 3

STATUS_COLUMNS = ["sop_id", "version", "branch_id", "teller_id", "acknowledged_at"]
SUMMARY_COLUMNS = ["sop_id", "version", "branch_id", "tellers", "acknowledged", "share"]


@dataclass(frozen=True)
class Acknowledgement:
    """A teller's acknowledgement of one SOP version."""

    sop_id: str
    sop_version: str
    commit: str
    teller_id: str
    branch_id: str | None
    username: str
    at: datetime


def sops_in_force(library: SopLibrary, *, branch_id: str | None = None,
                  today: date | None = None) -> list[SopVersion]:
    """The approved SOP versions in force today at a branch (all branches: their common
    timeline), by SOP id; no drafts, nothing retired."""
    day = today or datetime.now(UTC).date()
    found = (library.in_force(sop_id, day, branch_id) for sop_id in library.ids())
    return [v for v in found if v is not None]


def types_by_teller(store: EventStore | None) -> dict[str, set[str]]:
    """Each teller's business types in the latest :data:`RECENT_MONTHS` months of the log
    (by the day their transactions started); empty without a log."""
    if store is None or store.is_empty():
        return {}
    first = latest_month(store)
    if first is None:
        return {}
    since = add_months(first, 1 - RECENT_MONTHS)
    recent = transactions_sql(SCAN_WINDOW, ("teller_id", "business_type", "started"),
                              prepared=store.is_prepared())
    frame = DuckDBEngine(store).query(  # a subquery, not a view: views take no parameters
        f"SELECT DISTINCT teller_id, business_type FROM ({recent}) AS recent "
        "WHERE started >= $since AND teller_id IS NOT NULL AND business_type IS NOT NULL",
        {"since": since, **scan_window(since, add_months(first, 1))})
    out: dict[str, set[str]] = {}
    for teller, code in zip(frame["teller_id"], frame["business_type"], strict=True):
        out.setdefault(str(teller), set()).add(str(code))
    return out


def teller_types(store: EventStore | None, teller_id: str) -> set[str]:
    """The business types a teller did in the latest :data:`RECENT_MONTHS` months of the log."""
    return types_by_teller(store).get(teller_id, set())


def _governs(version: SopVersion, types: Iterable[str] | None) -> bool:
    wanted = set(types or ())
    return not wanted or bool(wanted & set(version.sop.business_types))


def acknowledge_sop(sop_id: str, *, user: User, library: SopLibrary, home: Path | None = None,
                    now: datetime | None = None) -> Acknowledgement:
    """Record that the teller signed in read the version of ``sop_id`` in force at their branch
    today; acknowledging it again returns the first acknowledgement. Refused (ClosedBook)
    while the teller has an attempt open."""
    teller_id = own_teller_id(user)
    moment = now or utc_now()
    ensure_not_in_attempt(user, home=home, now=moment)  # closed book: no SOP during a paper
    version = library.in_force(sop_id, moment.date(), user.branch_id)
    if version is None:
        raise ProcmineError(f"{sop_id} has no version in force at branch "
                            f"{user.branch_id or '(none)'} on {moment.date()}",
                            code="training.nothing_in_force", sop_id=sop_id)
    with session_for(home) as session:
        row = session.scalar(select(AcknowledgementRow).where(
            AcknowledgementRow.sop_id == sop_id,
            AcknowledgementRow.sop_version == version.sop.version,
            AcknowledgementRow.teller_id == teller_id))
        if row is None:
            row = AcknowledgementRow(sop_id=sop_id, sop_version=version.sop.version,
                                     commit=version.commit, teller_id=teller_id,
                                     branch_id=user.branch_id, username=user.username,
                                     at=moment)
            session.add(row)
            record_audit(session, user.username, "sop.acknowledge",
                         f"{sop_id} {version.sop.version} ({version.short}); "
                         f"teller {teller_id}")
        return _from_row(row)


def _from_row(row: AcknowledgementRow) -> Acknowledgement:
    return Acknowledgement(sop_id=row.sop_id, sop_version=row.sop_version, commit=row.commit,
                           teller_id=row.teller_id, branch_id=row.branch_id,
                           username=row.username, at=row.at)


def _acknowledged(home: Path | None, teller_ids: Sequence[str] | None = None
                  ) -> dict[tuple[str, str, str], datetime]:
    """(sop id, version, teller id) -> when it was acknowledged."""
    query = select(AcknowledgementRow)
    if teller_ids is not None:
        query = query.where(AcknowledgementRow.teller_id.in_(list(teller_ids)))
    with session_for(home) as session:
        return {(r.sop_id, r.sop_version, r.teller_id): r.at for r in session.scalars(query)}


def pending_acknowledgements(teller_id: str, branch_id: str | None,
                             types: Iterable[str] | None, *, library: SopLibrary,
                             home: Path | None = None, today: date | None = None
                             ) -> list[SopVersion]:
    """The SOP versions in force at the teller's branch today that govern one of ``types``
    (every SOP when ``types`` is None or empty) and that the teller has not acknowledged at
    that version."""
    done = _acknowledged(home, [teller_id])
    return [v for v in sops_in_force(library, branch_id=branch_id, today=today)
            if _governs(v, types) and (v.sop.id, v.sop.version, teller_id) not in done]


def acknowledgement_status(roster: Sequence[Trainee], *, library: SopLibrary,
                           store: EventStore | None, home: Path | None = None,
                           today: date | None = None,
                           types: Mapping[str, set[str]] | None = None) -> pd.DataFrame:
    """One row per SOP version in force x roster teller it concerns (the version in force at
    the teller's branch, governing one of their types; every SOP without event data):
    ``sop_id, version, branch_id, teller_id, acknowledged_at`` (None: not yet). ``types``:
    :func:`types_by_teller` of ``store`` when the caller keeps it (the dashboard does, per
    store version); read from the store when None."""
    if types is None:
        types = types_by_teller(store)
    done = _acknowledged(home)
    in_force: dict[str | None, list[SopVersion]] = {}
    rows = []
    for trainee in roster:
        if trainee.branch_id not in in_force:
            in_force[trainee.branch_id] = sops_in_force(library, branch_id=trainee.branch_id,
                                                        today=today)
        mine = types.get(trainee.teller_id, set())
        for version in in_force[trainee.branch_id]:
            if not _governs(version, mine):
                continue
            key = (version.sop.id, version.sop.version, trainee.teller_id)
            rows.append({"sop_id": version.sop.id, "version": version.sop.version,
                         "branch_id": trainee.branch_id, "teller_id": trainee.teller_id,
                         "acknowledged_at": done.get(key)})
    frame = pd.DataFrame(rows, columns=STATUS_COLUMNS)
    return frame.sort_values(["sop_id", "version", "branch_id", "teller_id"],
                             na_position="last").reset_index(drop=True)


def acknowledgement_summary(roster: Sequence[Trainee], *, library: SopLibrary,
                            store: EventStore | None, home: Path | None = None,
                            today: date | None = None,
                            types: Mapping[str, set[str]] | None = None) -> pd.DataFrame:
    """Per SOP version x branch: the tellers it concerns, how many acknowledged it, and their
    share (``sop_id, version, branch_id, tellers, acknowledged, share``); ``types`` as for
    :func:`acknowledgement_status`."""
    status = acknowledgement_status(roster, library=library, store=store, home=home,
                                    today=today, types=types)
    if status.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    status = status.assign(done=status["acknowledged_at"].notna(),
                           branch_id=status["branch_id"].fillna(""))
    summary = (status.groupby(["sop_id", "version", "branch_id"], sort=True)
               .agg(tellers=("teller_id", "size"), acknowledged=("done", "sum"))
               .reset_index())
    summary["acknowledged"] = summary["acknowledged"].astype(int)
    summary["share"] = summary["acknowledged"] / summary["tellers"]
    summary["branch_id"] = summary["branch_id"].replace("", None)
    return summary[SUMMARY_COLUMNS]
