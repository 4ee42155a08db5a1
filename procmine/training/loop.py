"""Closing the loop: each teller's slow steps next to what they miss in quizzes and spot checks,
and the tellers to re-test when an SOP changes.

**A teller's loop** (:func:`teller_loop`): the teller's slow steps from the mining
(:func:`procmine.sop.links.linked_findings`: each finding judged against the SOP version in
force and linked to the SOP step that governs it; a finding judged against the baseline share
is linked to the step of the latest approved SOP that governs its business type with that
activity), the quiz items on each SOP step (asked, missed: :func:`procmine.training.results.
weak_steps`) and the spot checks that watched the step (observed, done wrongly or skipped). One
row per SOP step that shows up in any of the three, the steps that show up in more of them
first: a step that is slow *and* missed in the quiz is where training pays.

**Re-tests** (:func:`retest_list`): when a new version changes steps
(:func:`procmine.sop.steps.changed_steps`), the tellers who answered a question on a changed
step of that SOP, in any graded attempt, learnt the old step: exactly those are listed, with
the questions they answered. :func:`on_new_version` also re-opens the bank's questions on the
changed steps (status ``stale``, :func:`procmine.training.bank.reopen_changed`).

Example:
    >>> sop = library.current("SOP-P17").sop
    >>> retest_list(sop, sop, home=Path("ws")).empty  # no step changed: no one to re-test
    True
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from procmine.analysis.findings import Finding
from procmine.app.appdb import session_for
from procmine.core.baseline import Baseline
from procmine.core.errors import ProcmineError
from procmine.sop.document import Sop
from procmine.sop.library import SopLibrary
from procmine.sop.links import library_activities, linked_findings
from procmine.sop.repository import SopVersion
from procmine.sop.steps import changed_steps
from procmine.store.event_store import EventStore
from procmine.training.bank import reopen_changed
from procmine.training.results import answer_rows, weak_steps
from procmine.training.tables import SpotCheckRow

__all__ = ["LOOP_COLUMNS", "NewVersionReport", "on_new_version", "retest_list", "teller_loop"]

LOOP_COLUMNS = ["sop_id", "step_id", "activity", "slow_ratio", "monthly_hours", "quiz_asked",
                "quiz_missed", "spot_observed", "spot_wrong"]
RETEST_COLUMNS = ["teller_id", "branch_id", "question_keys"]


@dataclass(frozen=True)
class NewVersionReport:
    """What a new SOP version set off: the questions re-opened, the tellers to re-test."""

    sop_id: str
    old_version: str | None
    new_version: str | None
    reopened: list[str]
    tellers: pd.DataFrame  # RETEST_COLUMNS


def _slow_steps(teller_id: str, store: EventStore, baseline: Baseline, library: SopLibrary,
                month: str | None, found: Sequence[Finding] | None = None
                ) -> dict[tuple[str, str], tuple[str, float, float]]:
    """(sop id, step id) -> the teller's slow step there: (activity, largest ratio, teller
    hours lost a month). Only the teller's own slow steps (with or without a slice) suggest
    training: a wait before a step is someone else's delay, a slow pace overall is not about
    one step, and a standard to review is the baseline's."""
    if found is None:
        found = linked_findings(store, baseline, library, month=month)
    mine = [f for f in found
            if f.kind == "step" and f.scope == "teller" and f.teller_id == teller_id
            and f.activity]
    latest = [v.sop for v in (library.approved(i) for i in library.ids()) if v is not None]
    governing = library_activities(latest)
    out: dict[tuple[str, str], tuple[str, float, float]] = {}
    for finding in mine:
        if finding.sop is not None and finding.sop_step is not None:
            key = (finding.sop, finding.sop_step)
        else:
            steps = governing.get((finding.business_type, finding.activity))
            if not steps:
                continue
            key = (steps[0][0].id, steps[0][1].id)
        _, ratio, hours = out.get(key, ("", 0.0, 0.0))
        out[key] = (finding.activity, max(ratio, finding.ratio),
                    hours + finding.monthly_teller_hours)
    return out


def _spot_steps(teller_id: str, home: Path | None) -> dict[tuple[str, str], list[int]]:
    """(sop id, step id) -> [times observed, times done wrongly or skipped]."""
    out: dict[tuple[str, str], list[int]] = {}
    with session_for(home) as session:
        checks = list(session.scalars(select(SpotCheckRow)
                                      .where(SpotCheckRow.teller_id == teller_id)))
    for check in checks:
        bad = set(json.loads(check.steps_wrong)) | set(json.loads(check.steps_skipped))
        for step in json.loads(check.steps_observed):
            counts = out.setdefault((check.sop_id, step), [0, 0])
            counts[0] += 1
            counts[1] += step in bad
    return out


def _activity(library: SopLibrary, sop_id: str, step_id: str) -> str:
    try:
        version = library.approved(sop_id) or library.current(sop_id)
        return version.sop.step(step_id).activity
    except (KeyError, IndexError, ProcmineError):  # an SOP or step no longer in the library
        return ""


def teller_loop(teller_id: str, *, store: EventStore, baseline: Baseline, library: SopLibrary,
                home: Path | None = None, month: str | None = None,
                findings: Sequence[Finding] | None = None) -> pd.DataFrame:
    """One row per SOP step where the teller is slow (in ``month``, or over the whole log),
    misses quiz items or failed a spot check: LOOP_COLUMNS (``slow_ratio`` None where the step
    is not slow), the steps flagged by more of the three first. ``findings``: the slow steps
    of ``month`` at the default thresholds (:func:`procmine.linked_findings`) when the caller
    has them already (the dashboard keeps them); found here when None."""
    slow = _slow_steps(teller_id, store, baseline, library, month, findings)
    weak = weak_steps(teller_id, home=home)
    quiz = {(str(sop), str(step)): (int(asked), int(missed)) for sop, step, asked, missed in
            zip(weak["sop_id"], weak["step_id"], weak["asked"], weak["missed"], strict=True)}
    spot = _spot_steps(teller_id, home)
    keys = sorted(set(slow) | set(quiz) | set(spot))
    rows = []
    for key in keys:
        activity, ratio, hours = slow.get(key, ("", None, None))
        asked, missed = quiz.get(key, (0, 0))
        observed, wrong = spot.get(key, [0, 0])
        rows.append({"sop_id": key[0], "step_id": key[1],
                     "activity": activity or _activity(library, *key),
                     "slow_ratio": ratio, "monthly_hours": hours,
                     "quiz_asked": asked, "quiz_missed": missed,
                     "spot_observed": observed, "spot_wrong": wrong})
    frame = pd.DataFrame(rows, columns=LOOP_COLUMNS)
    if frame.empty:
        return frame
    flags = (frame["slow_ratio"].notna().astype(int) + (frame["quiz_missed"] > 0).astype(int)
             + (frame["spot_wrong"] > 0).astype(int))
    order = frame.assign(_flags=flags, _ratio=frame["slow_ratio"].fillna(0.0))
    order = order.sort_values(["_flags", "_ratio", "quiz_missed", "sop_id", "step_id"],
                              ascending=[False, False, False, True, True])
    return order[LOOP_COLUMNS].reset_index(drop=True)


def _sop(value: Sop | SopVersion) -> Sop:
    return value.sop if isinstance(value, SopVersion) else value


def retest_list(old_sop: Sop | SopVersion, new_sop: Sop | SopVersion, *,
                home: Path | None = None) -> pd.DataFrame:
    """The tellers who answered, in any graded attempt, a question tied to the SOP on a step
    the new version changed: ``teller_id, branch_id`` (of their latest such attempt) and the
    ``question_keys`` they answered there, by teller id."""
    old, new = _sop(old_sop), _sop(new_sop)
    changed = changed_steps(old, new)
    if not changed:
        return pd.DataFrame(columns=RETEST_COLUMNS)
    rows = answer_rows(sop_id=old.id, home=home)
    rows = rows[rows["answered"] & rows["step_id"].isin(sorted(changed))]
    out = []
    for teller_id, group in rows.sort_values("attempt_id").groupby("teller_id", sort=True):
        branches = group["branch_id"].dropna()
        out.append({"teller_id": teller_id,
                    "branch_id": branches.iloc[-1] if not branches.empty else None,
                    "question_keys": sorted(set(group["key"]))})
    return pd.DataFrame(out, columns=RETEST_COLUMNS)


def on_new_version(library: SopLibrary, sop_id: str, *, actor: str,
                   home: Path | None = None) -> NewVersionReport:
    """After a new version of ``sop_id`` is approved: re-open the bank's questions on the steps
    it changed against the previous approved version, and list the tellers to re-test. With
    fewer than two approved versions nothing changed."""
    versions = [v for v in library.approved_versions(sop_id) if v.sop.status == "approved"]
    if len(versions) < 2:
        return NewVersionReport(sop_id, None, versions[-1].sop.version if versions else None,
                                [], pd.DataFrame(columns=RETEST_COLUMNS))
    old, new = versions[-2].sop, versions[-1].sop
    reopened = list(reopen_changed(old, new, actor=actor, home=home))
    return NewVersionReport(sop_id, old.version, new.version, reopened,
                            retest_list(old, new, home=home))
