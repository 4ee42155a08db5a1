"""The SOP editor's front-matter form, its live checks and each step's findings, and the review
page's approval dates.

The form reads the text being edited (:func:`procmine.form_fields`) and writes back only what
the user changed (:func:`procmine.set_fields`, :func:`procmine.set_steps`,
:func:`procmine.set_adoption`): the text stays the one source, the form a view of it. Its
widgets are keyed by a revision number that the page bumps whenever the text changes from
elsewhere (the source text area, a reload, a save), so they always start from the text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from procmine import (
    FORM_STEP_KEYS,
    REVIEW_GROUPS,
    Filters,
    LintReport,
    Sop,
    condition_text,
    form_fields,
    issue_text,
    set_adoption,
    set_fields,
    set_steps,
)
from procmine.dashboard import data, data_maps
from procmine.dashboard.components import tables
from procmine.dashboard.components.names import step_label
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

__all__ = ["approval_dates", "finding_summaries", "front_matter_form", "live_issues",
           "step_detail"]

_COLUMNS = {"id": "editor.step_id", "activity": "editor.activity",
            "standard_seconds": "editor.standard_seconds", "control": "editor.control",
            "optional": "editor.optional", "alternatives": "editor.alternatives",
            "required_when": "editor.required_when"}


def _text_fields(fields: Mapping[str, Any], key: str, text: str) -> str:
    """Title, types, group and dates: each widget that differs from the text sets its field."""
    cols = st.columns(2)
    zh = cols[0].text_input(tr("editor.title_zh"), fields["title"]["zh"], key=f"{key}_zh")
    en = cols[1].text_input(tr("editor.title_en"), fields["title"]["en"], key=f"{key}_en")
    if (zh, en) != (fields["title"]["zh"], fields["title"]["en"]):
        text = set_fields(text, title={"zh": zh, "en": en})
    cols = st.columns(2)
    types = cols[0].text_input(tr("editor.business_types"), ", ".join(fields["business_types"]),
                               key=f"{key}_types")
    wanted = [t.strip() for t in types.replace("，", ",").split(",") if t.strip()]
    if wanted != fields["business_types"]:
        text = set_fields(text, business_types=wanted)
    groups = list(REVIEW_GROUPS)
    if fields["owner_group"] and fields["owner_group"] not in groups:
        groups.append(fields["owner_group"])
    group = cols[1].selectbox(
        tr("editor.owner_group"), groups, key=f"{key}_group",
        index=groups.index(fields["owner_group"]) if fields["owner_group"] in groups else 0,
        format_func=lambda g: tr(f"review_groups.{g}") if g in REVIEW_GROUPS else g,
        placeholder=tr("widgets.no_options"))
    if group != fields["owner_group"]:
        text = set_fields(text, owner_group=group)
    cols = st.columns(2)
    effective = cols[0].date_input(tr("editor.effective"), fields["effective"],
                                   key=f"{key}_effective")
    if isinstance(effective, date) and effective != fields["effective"]:
        text = set_fields(text, effective=effective)
    due = cols[1].date_input(tr("editor.review_due"), fields["review_due"], key=f"{key}_due")
    if isinstance(due, date) and due != fields["review_due"]:
        text = set_fields(text, review_due=due)
    return text


def _adoption(fields: Mapping[str, Any], key: str, text: str) -> str:
    """The branches' adoption dates as rows of branch and date."""
    rows = pd.DataFrame({"branch": list(fields["adoption"]),
                         "day": list(fields["adoption"].values())},
                        columns=["branch", "day"]).astype({"branch": "string"})
    rows["day"] = pd.to_datetime(rows["day"])
    edited = tables.edit(
        rows, {"branch": st.column_config.TextColumn(tr("editor.branch")),
               "day": st.column_config.DateColumn(tr("editor.adoption_day"),
                                                  format="YYYY-MM-DD")},
        num_rows="dynamic", key=f"{key}_adoption")
    wanted: dict[str, date] = {}
    for branch, day in zip(edited["branch"], edited["day"], strict=True):
        if isinstance(branch, str) and branch.strip() and not pd.isna(day):
            wanted[branch.strip()] = pd.Timestamp(day).date()
    return set_adoption(text, wanted) if wanted != fields["adoption"] else text


def _step_rows(steps: Sequence[Mapping[str, Any]],
               counts: Mapping[str, int]) -> pd.DataFrame:
    rows = []
    for s in steps:
        row = {k: s.get(k) for k in FORM_STEP_KEYS}
        row["control"], row["optional"] = s.get("control") is True, s.get("optional") is True
        row["alternatives"] = ", ".join(str(a) for a in s.get("alternatives") or [])
        row["required_when"] = str(s.get("required_when") or "")
        row["condition_words"] = (condition_text(row["required_when"], lang())
                                  if row["required_when"] else "")
        row["findings"] = counts.get(str(s.get("id")), 0)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*FORM_STEP_KEYS, *_SHOWN])


# read-only columns of the steps table: the condition in words, the step's open findings
_SHOWN = ("condition_words", "findings")


def front_matter_form(text: str, fields: Mapping[str, Any], *, key: str) -> str:
    """Draw the form of ``fields`` (read from ``text``) but their steps and return the text with
    what the user changed in it."""
    st.markdown(f"**{tr('editor.form')}**")
    text = _text_fields(fields, key, text)
    st.caption(tr("editor.adoption"))
    return _adoption(fields, key, text)


def steps_form(text: str, fields: Mapping[str, Any], *, key: str, activities: Sequence[str],
               counts: Mapping[str, int], room: int = tables.ROOM) -> str:
    """Draw the steps of ``fields`` as an editable table (across its place: ``room`` pixels)
    and return the text with what the user changed in them; ``counts``: each step's open
    findings (shown, not edited)."""
    st.caption(tr("editor.steps"))
    known = sorted({*activities, *(str(s.get("activity")) for s in fields["steps"])})
    column_config: dict[str, Any] = {k: tr(label) for k, label in _COLUMNS.items()}
    column_config.update({
        "activity": st.column_config.SelectboxColumn(tr("editor.activity"), options=known),
        "standard_seconds": st.column_config.NumberColumn(tr("editor.standard_seconds"),
                                                          min_value=0, step=1),
        "control": st.column_config.CheckboxColumn(tr("editor.control")),
        "optional": st.column_config.CheckboxColumn(tr("editor.optional")),
        "required_when": st.column_config.TextColumn(tr("editor.required_when"),
                                                     help=tr("editor.required_when_help")),
        "findings": st.column_config.NumberColumn(tr("editor.findings"), disabled=True),
        # in the step's own form below (its words too): nine columns do not fit the page
        "alternatives": None,
        "condition_words": None,
    })
    # a step time that is not a number (being typed in the source) makes the table read-only
    # until it is one: the table's number column cannot hold it
    numbers = all(isinstance(s.get("standard_seconds"), int | float)
                  and not isinstance(s.get("standard_seconds"), bool) for s in fields["steps"])
    edited = tables.edit(_step_rows(fields["steps"], counts), column_config, room=room,
                         num_rows="dynamic", key=f"{key}_steps", disabled=not numbers)
    if not numbers:
        return text
    rows = [{str(k): v for k, v in row.items() if k not in _SHOWN}
            for row in edited.to_dict("records")
            if isinstance(row.get("id"), str) and row["id"].strip()]
    return set_steps(text, rows)


def live_issues(report: LintReport, fields: Mapping[str, Any] | None) -> None:
    """The checks of the text being edited, errors first, each pointing at the step row and
    field it is about (or the field and line)."""
    if not report.issues:
        st.success(tr("editor.no_issues"))
        return
    st.caption(tr("editor.issues", errors=len(report.errors), warnings=len(report.warnings)))
    steps = [str(s.get("id")) for s in (fields or {}).get("steps", [])]
    tables.show(pd.DataFrame([{
        tr("editor.severity"): tr(f"editor.{i.severity}"),
        tr("editor.where"): _where(i.field, steps),
        tr("editor.line"): i.line,
        tr("editor.message"): issue_text(i, lang()),
    } for i in sorted(report.issues, key=lambda i: (i.severity != "error", i.line))]))


def _where(field: str, steps: Sequence[str]) -> str:
    """``step row 3 "count_cash" · standard_seconds`` for a step's field, else the field."""
    parts = field.split(".")
    row = None
    if parts[0].startswith("steps[") and parts[0].endswith("]") and parts[0][6:-1].isdigit():
        row = int(parts[0][6:-1])
    elif parts[0] == "steps" and len(parts) > 1 and parts[1] in steps:
        row = steps.index(parts[1]) + 1
        parts = parts[1:]
    if row is not None and 0 < row <= len(steps):
        return tr("editor.where_step", row=row, step=steps[row - 1],
                  field=".".join(parts[1:]) or "id")
    return field


def finding_summaries(sop_id: str, business_types: Sequence[str]
                      ) -> dict[str, list[tuple[str, str]]]:
    """step id -> (kind, summary) of the findings linked to an SOP's steps: slow steps and
    waits before a step (judged against the version in force on each transaction's day) and
    the deviations from the SOP version in force, in the session's language; none without
    events."""
    if data.store_info()["events"] == 0:
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    for f in data.sop_findings():
        if f.sop == sop_id and f.sop_step and f.activity and f.kind in ("step", "wait"):
            out.setdefault(f.sop_step, []).append(("slow", f.summary_in(lang())))
    for code in business_types:
        for d in data_maps.deviation_findings_of(code, Filters()):
            if d.step_id and d.sop.split("@")[0] == sop_id:
                out.setdefault(d.step_id, []).append(("deviation", d.summary_in(lang())))
    return out


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def step_detail(text: str, fields: Mapping[str, Any], *, key: str, pick_key: str,
                activities: Sequence[str],
                found: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    """One step's fields (picked by id) and its findings beside them: the number and, in an
    expander, their summaries; returns the text with what the user changed."""
    steps = [dict(s) for s in fields["steps"]]
    ids = [str(s.get("id")) for s in steps]
    if not ids:
        return text
    labels = {i: f"{n}. {step_label(s.get('activity'))}"
              for n, (i, s) in enumerate(zip(ids, steps, strict=True), start=1)}
    pick = st.selectbox(tr("editor.step_pick"), ids, key=pick_key,
                        format_func=lambda i: labels.get(i, i),
                        placeholder=tr("widgets.no_options"))
    at = ids.index(pick) if pick in ids else 0
    step = steps[at]
    key = f"{key}_{at}"  # each step's widgets of their own: they start from its fields
    cols = st.columns([1, 2])
    seconds = cols[0].number_input(tr("editor.standard_seconds"), min_value=0.0, step=1.0,
                                   value=_number(step.get("standard_seconds")),
                                   key=f"{key}_seconds")
    known = sorted({*activities, str(step.get("activity"))})
    activity = cols[1].selectbox(tr("editor.activity"), known, key=f"{key}_activity",
                                 index=known.index(str(step.get("activity"))),
                                 placeholder=tr("widgets.no_options"))
    flags = st.columns(2)
    control = flags[0].checkbox(tr("editor.control"), step.get("control") is True,
                                key=f"{key}_control")
    optional = flags[1].checkbox(tr("editor.optional"), step.get("optional") is True,
                                 key=f"{key}_optional")
    alternatives = st.text_input(tr("editor.alternatives"),
                                 ", ".join(str(a) for a in step.get("alternatives") or []),
                                 key=f"{key}_alternatives")
    required_when = st.text_input(tr("editor.required_when"),
                                  str(step.get("required_when") or ""), key=f"{key}_when",
                                  help=tr("editor.required_when_help"))
    if required_when.strip():
        st.caption(tr("view.required_when", condition=plain(condition_text(required_when,
                                                                             lang()))))
    shown = {"activity": str(step.get("activity")), "control": step.get("control") is True,
             "optional": step.get("optional") is True,
             "alternatives": ", ".join(str(a) for a in step.get("alternatives") or []),
             "required_when": str(step.get("required_when") or "")}
    chosen = {"activity": activity, "control": control, "optional": optional,
              "alternatives": alternatives, "required_when": required_when}
    changes: dict[str, Any] = {k: v for k, v in chosen.items() if v != shown[k]}
    if seconds is not None and seconds != _number(step.get("standard_seconds")):
        changes["standard_seconds"] = seconds
    n = len(found.get(pick, []))
    st.markdown(f"**{tr('editor.step_findings', step=labels.get(pick, pick), n=n)}**")
    if n:
        with st.expander(tr("editor.findings")):
            for kind, summary in found[pick]:
                st.markdown(f"- **{tr(f'editor.finding_{kind}')}**: {plain(summary)}")
    if not changes:
        return text
    # the change goes onto the step as the text has it now (the table may have changed it in
    # this run): only what the user changed here, the rest as it is
    now = [dict(s) for s in form_fields(text)["steps"]]
    where = [i for i, s in enumerate(now) if str(s.get("id")) == pick]
    if not where:
        return text
    now[where[0]].update(changes)
    return set_steps(text, now)


def approval_dates(sop: Sop, today: date, branches: Sequence[str]) -> tuple[date, dict[str, date]]:
    """The review page's dates: the effective date and each branch's adoption date, pre-filled
    with the draft's (a date that has passed is said, not replaced), and branches added with a
    date of their own."""
    st.markdown(f"**{tr('review.dates')}**")
    st.caption(tr("review.dates_help"))
    if sop.effective < today:
        st.warning(tr("review.effective_passed", day=str(sop.effective), today=str(today)))
    passed = sorted(b for b, d in sop.adoption.items() if d < today)
    if passed:
        st.warning(tr("review.adoption_passed", branches=", ".join(passed), today=str(today)))
    effective = st.date_input(tr("review.effective"), value=sop.effective,
                              key=f"review_effective_{sop.id}")
    chosen = effective if isinstance(effective, date) else sop.effective
    others = [b for b in branches if b not in sop.adoption]
    added = st.multiselect(tr("review.add_branches"), others, key=f"review_branches_{sop.id}",
                           placeholder=tr("review.add_branches_none"))
    adoption: dict[str, date] = {}
    wanted = [*sorted(sop.adoption), *added]
    cols = st.columns(min(len(wanted), 4) or 1)
    for i, branch in enumerate(wanted):
        day = cols[i % len(cols)].date_input(
            tr("review.adoption_of", branch=branch), value=sop.adoption.get(branch, chosen),
            key=f"review_adopt_{sop.id}_{branch}")
        if isinstance(day, date):
            adoption[branch] = day
    return chosen, adoption
