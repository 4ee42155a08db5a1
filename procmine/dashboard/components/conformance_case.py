"""One deviating transaction beside its SOP (the Conformance page's drill-down).

Left, the transaction's events in the order the check reads them, each with its verdict: matched
to an SOP step, or an extra step, a repetition (rework) or out of order (the deviation at its
position in :attr:`ConformanceReport.deviations`). Right, the steps of the SOP version in force
on its day, in the SOP's order, each: done, skipped (required and not done; a control step's
skip is a control risk), out of order, or not required (a conditional or optional step not done).
Step names are the SOP's, in Chinese its headings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from procmine import ConformanceReport, condition_text
from procmine.dashboard import data_maps
from procmine.dashboard.components import tables
from procmine.dashboard.components.names import model_step
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

__all__ = ["case_sides", "show_case"]


def _clock(value: Any) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%H:%M:%S")


def case_sides(report: ConformanceReport, case_id: str, events: pd.DataFrame
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The transaction's events and the SOP's steps, each with its verdict (a catalogue key's
    last part: ``matched``, ``extra``, ``rework``, ``order``; ``done``, ``skipped``, ``order``,
    ``not_required``)."""
    devs = report.deviations[report.deviations["case_id"].astype(str) == case_id]
    first = devs.iloc[0]
    model = report.models[(str(first["sop"]), str(first["business_type"]))]
    language = lang()
    at = {int(p): str(k) for p, k in zip(devs["position"], devs["kind"], strict=True)
          if not pd.isna(p)}
    verdicts = [at.get(i, "matched") for i in range(len(events))]
    left = pd.DataFrame({
        "position": range(1, len(events) + 1),
        "step": [model_step(model, str(a)) for a in events["activity"]],
        "start": [_clock(v) for v in events["start_time"]],
        "end": [_clock(v) for v in events["end_time"]],
        "verdict": verdicts})
    skipped = set(devs.loc[devs["kind"] == "skipped", "step_id"].dropna().astype(str))
    rows = []
    for number, step in enumerate(model.steps, start=1):
        mine = [v for a, v in zip(events["activity"], verdicts, strict=True)
                if str(a) in step.activities]
        if step.step_id in skipped:
            verdict = "skipped"
        elif any(v in ("matched", "rework") for v in mine):
            verdict = "done"
        elif mine:
            verdict = "order"
        else:
            verdict = "not_required"
        rule = ("always" if step.always else "optional" if step.condition is None
                else "condition")
        rows.append({"position": number, "step": step.name_in(language),
                     "control": "✓" if step.control else "",
                     "required": (tr("conformance.required.condition",
                                     condition=condition_text(step.condition, language))
                                  if rule == "condition" and step.condition is not None
                                  else tr(f"conformance.required.{rule}")),
                     "verdict": verdict})
    return left, pd.DataFrame(rows)


#: A verdict's colour in the tables (matched and done: none).
_COLOURS = {"skipped": "#b22222", "extra": "#b45309", "rework": "#1f5f99", "order": "#7b3294"}


def _table(frame: pd.DataFrame, key: str, room: int, extra: Sequence[str] = ()) -> None:
    """A side's table, every row shown, the deviating verdicts coloured."""
    colour = {tr(f"conformance.verdict.{v}"): c for v, c in _COLOURS.items()}
    shown = frame.assign(verdict=[tr(f"conformance.verdict.{v}") for v in frame["verdict"]])
    styled = shown.style.map(
        lambda v: f"color: {colour[v]}; font-weight: 600" if v in colour else "",
        subset=["verdict"])
    tables.show(styled, {name: tr(f"conformance.col.{name}") for name in shown.columns},
                room=room, keys=["step"], key=key, height=36 * (len(shown) + 1) + 3,
                extra=extra, extra_key=f"{key}_all_columns")


def show_case(report: ConformanceReport, case_ids: Sequence[str]) -> None:
    """Pick one of ``case_ids`` (deviating transactions of the report) and show it beside its
    SOP."""
    st.subheader(tr("conformance.case"))
    if not case_ids:
        st.caption(tr("conformance.case_none"))
        return
    case_id = st.selectbox(tr("conformance.case_pick"), list(case_ids), key="conf_case",
                           placeholder=tr("widgets.no_options"))
    if case_id is None:
        return
    events = data_maps.case_events(str(case_id))
    devs = report.deviations[report.deviations["case_id"].astype(str) == str(case_id)]
    row = devs.iloc[0]
    st.caption(tr("conformance.case_caption", case=plain(str(case_id)),
                  teller=plain(str(row["teller_id"])), branch=plain(str(row["branch_id"])),
                  day=str(row["day"])[:10], sop=plain(str(row["sop"]))))
    left, right = case_sides(report, str(case_id), events)
    left_cell, right_cell = st.columns([2, 3])
    with left_cell:
        st.markdown(f"**{tr('conformance.case_events')}**")
        _table(left, "conf_case_events", room=tables.ROOM * 2 // 5 - 10, extra=["end"])
    with right_cell:
        st.markdown(f"**{tr('conformance.case_steps', sop=plain(str(row['sop'])))}**")
        _table(right, "conf_case_steps", room=tables.ROOM * 3 // 5 - 10)
