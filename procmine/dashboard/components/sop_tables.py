"""The tables of the SOP pages, labelled in the user's language: the library's SOPs with the
version in force, the ones due for review, the review queue, the change notes and versions of
an SOP, the effect of each revision on the step times, and the checks of a text being edited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from procmine import LintReport, SopVersion, issue_text, note_text, review_standing
from procmine.dashboard.components import tables
from procmine.dashboard.components.names import step_labels
from procmine.dashboard.session import lang, tr

__all__ = [
    "show_due",
    "show_effects",
    "show_issues",
    "show_library",
    "show_notes",
    "show_queue",
    "show_versions",
]


def _draw(rows: list[dict[str, object]] | pd.DataFrame, **options: Any) -> None:
    tables.show(pd.DataFrame(rows), **options)


def show_library(shown: Sequence[SopVersion],
                 in_force: Mapping[str, SopVersion | None]) -> None:
    """The SOPs (their latest version), each with the version in force, its effective date and
    its review date; a note when none matches."""
    if not shown:
        st.info(tr("sops.none_match"))
        return
    rows: list[dict[str, object]] = []
    for v in shown:
        force = in_force[v.sop.id]
        rows.append({
            tr("sops.id"): v.sop.id,
            tr("sops.title_col"): v.sop.title_in(lang()),
            tr("sops.business_types"): ", ".join(v.sop.business_types),
            tr("sops.owner_group"): tr(f"review_groups.{v.sop.owner_group}"),
            tr("sops.version"): v.sop.version,
            tr("sops.status"): tr(f"sop_status.{v.sop.status}"),
            tr("sops.in_force"): force.sop.version if force else "",
            tr("sops.effective"): str(force.sop.effective) if force else "",
            tr("sops.review_due"): str(force.sop.review_due or "") if force else "",
        })
    _draw(rows)


def show_due(due: Sequence[SopVersion], today: date) -> None:
    """The SOPs due for review, overdue first: "overdue by 50 days", "due today", "in 12
    days" (:func:`procmine.review_standing`)."""
    rows: list[dict[str, object]] = []
    for v in sorted(due, key=lambda v: (v.sop.review_due or today, v.sop.id)):
        standing, days = review_standing(v.sop.review_due or today, today)
        rows.append({
            tr("sops.id"): v.sop.id,
            tr("sops.title_col"): v.sop.title_in(lang()),
            tr("sops.owner_group"): tr(f"review_groups.{v.sop.owner_group}"),
            tr("sops.review_due"): str(v.sop.review_due),
            tr("sops.review_when"): tr({"overdue": "sops.overdue", "today": "sops.due_today",
                                        "due_in": "sops.due_in"}[standing], days=days),
        })
    _draw(rows)


def show_queue(queue: Sequence[SopVersion]) -> None:
    """The SOPs waiting for approval: who wrote them and who submitted them when."""
    _draw([{
        tr("sops.id"): v.sop.id,
        tr("sops.title_col"): v.sop.title_in(lang()),
        tr("sops.version"): v.sop.version,
        tr("review.author"): v.sop.author or "",
        tr("review.submitted_by"): v.author,
        tr("review.submitted_at"): f"{v.when:%Y-%m-%d %H:%M}",
    } for v in queue])


def show_notes(versions: Sequence[SopVersion]) -> None:
    """The change notes of some versions: when, what, who, which version, why."""
    _draw([{
        tr("sop_history.date"): f"{v.when:%Y-%m-%d %H:%M}",
        tr("sop_history.action"): tr(f"sop_action.{v.action}"),
        tr("sop_history.author"): v.author_name or v.author,
        tr("sops.version"): v.sop.version,
        tr("sop_history.note"): note_text(v.note, lang()),
    } for v in versions])


def show_versions(history: Sequence[SopVersion]) -> None:
    """An SOP's versions, newest first, with their status, action, author, date, note and
    commit."""
    _draw([{
        tr("sops.version"): v.sop.version,
        tr("sops.status"): tr(f"sop_status.{v.sop.status}"),
        tr("sop_history.action"): tr(f"sop_action.{v.action}"),
        tr("sop_history.author"): v.author_name or v.author,
        tr("sop_history.date"): f"{v.when:%Y-%m-%d %H:%M}",
        tr("sops.effective"): str(v.sop.effective),
        tr("sop_history.note"): note_text(v.note, lang()),
        tr("sop_history.commit"): v.short,
    } for v in history])


def show_effects(effects: pd.DataFrame) -> None:
    """The step times before and after each revision (:func:`procmine.revision_effects`):
    medians, the change in percent and its p-value, and the difference-in-differences. The
    version, step, medians, change, p-value and evidence fit the page; the rest on demand."""
    more = ("sop_history.previous", "sops.effective", "table.business_type",
            "sop_history.standard_before", "sop_history.standard_after", "sop_history.n_before",
            "sop_history.n_after", "sop_history.did_effect", "sop_history.did_p_value")
    _draw(pd.DataFrame({
        tr("sops.version"): effects["version"],
        tr("sop_history.previous"): effects["previous_version"],
        tr("sops.effective"): effects["effective"].astype(str),
        tr("table.business_type"): effects["business_type"],
        tr("bottlenecks.step"): step_labels(effects["activity"]),
        tr("sop_history.standard_before"): effects["standard_before"],
        tr("sop_history.standard_after"): effects["standard_after"],
        tr("sop_history.n_before"): effects["n_before"],
        tr("sop_history.n_after"): effects["n_after"],
        tr("sop_history.median_before"): effects["median_before"].round(1),
        tr("sop_history.median_after"): effects["median_after"].round(1),
        tr("sop_history.change"): (effects["change"] * 100).round(1),
        tr("sop_history.p_value"): effects["p_value"],
        tr("sop_history.did_effect"): (effects["did_effect"] * 100).round(1),
        tr("sop_history.did_p_value"): effects["did_p_value"],
        # what the row rests on: "no data yet" for a version with no times after it yet
        tr("sop_history.evidence"): [tr(f"sop_history.evidence.{e}") for e in effects["evidence"]],
    }), extra=[tr(k) for k in more], extra_key="sop_effects_all_columns")


def show_issues(report: LintReport) -> None:
    """The checks of an SOP text: errors first, then warnings, each with its line."""
    if not report.issues:
        st.success(tr("editor.no_issues"))
        return
    st.caption(tr("editor.issues", errors=len(report.errors), warnings=len(report.warnings)))
    _draw([{
        tr("editor.severity"): tr(f"editor.{i.severity}"),
        tr("editor.line"): i.line,
        tr("editor.field"): i.field,
        tr("editor.message"): issue_text(i, lang()),
    } for i in sorted(report.issues, key=lambda i: (i.severity != "error", i.line))])
