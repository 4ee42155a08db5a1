"""The Conformance page's sections over a :class:`procmine.ConformanceReport`: the deviations
ranked by occurrences (chart and table), the fitness per teller, branch or business type
against the bank's, and the compliance group's list of skipped control steps (downloadable as
CSV through :func:`procmine.safe_csv`).

Step names are the SOP's: in Chinese the step's heading in the SOP version that governed the
transaction (:meth:`ReferenceModel.step_name`), an extra step's from the activity glossary
(:func:`procmine.dashboard.components.names.model_step`).
The report a page passes is already the user's scope (a branch manager's: their branch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from procmine import DEVIATION_KINDS, ConformanceReport, safe_csv
from procmine.dashboard.components import conformance_charts, tables
from procmine.dashboard.components.conformance_findings import kind_label
from procmine.dashboard.components.names import model_step
from procmine.dashboard.session import tr

__all__ = ["control_frame", "show_controls", "show_fitness", "show_ranked", "step_name"]

#: The deviations the ranked chart draws.
CHART_TOP: int = 15
_LEVELS = ("teller", "branch", "type")


def step_name(report: ConformanceReport, sop: str, code: str, activity: str) -> str:
    """The name of ``activity``'s step in the user's language, in the SOP version ``sop``."""
    return model_step(report.models.get((sop, code)), activity)


def _ranked(report: ConformanceReport) -> pd.DataFrame:
    ranked = report.ranked()
    names = [step_name(report, str(s), str(c), str(a)) for s, c, a in
             zip(ranked["sop"], ranked["business_type"], ranked["activity"], strict=True)]
    labels = pd.Series([f"{n} · {kind_label(str(k))} · {c}" for n, k, c in
                        zip(names, ranked["kind"], ranked["business_type"], strict=True)],
                       dtype=object)
    twice = labels.duplicated(keep=False).to_numpy()   # the same under two SOP versions
    labels[twice] = labels[twice] + " (" + ranked["sop"][twice].astype(str) + ")"
    return ranked.assign(
        step=names, kind_name=[kind_label(str(k)) for k in ranked["kind"]],
        minutes=ranked["seconds"].astype(float) / 60, label=labels.to_numpy())


def show_ranked(report: ConformanceReport) -> None:
    """The most frequent deviations: a bar each (coloured by kind, the time in the hover) and
    the whole list as a table."""
    st.subheader(tr("conformance.ranked"))
    if report.deviations.empty:
        st.success(tr("conformance.no_deviations"))
        return
    frame = _ranked(report)
    labels = {k: kind_label(k) for k in DEVIATION_KINDS}
    labels.update({"occurrences": tr("conformance.col.occurrences"),
                   "cases": tr("conformance.col.cases"), "minutes": tr("conformance.col.minutes"),
                   "sop": tr("conformance.col.sop")})
    st.plotly_chart(conformance_charts.ranked_chart(frame.head(CHART_TOP), DEVIATION_KINDS,
                                                    labels),
                    width="stretch", key="conf_ranked_chart")
    st.caption(tr("conformance.ranked_caption", n=min(CHART_TOP, len(frame)),
                  total=len(report.ranked())))
    table = _ranked(report)
    names = ["kind_name", "business_type", "step", "sop", "occurrences", "cases", "share",
             "minutes", "tellers"]
    formats = {"occurrences": "%d", "cases": "%d", "share": "percent", "minutes": "%.1f",
               "tellers": "%d"}
    tables.show(table[names], _columns(names, formats), key="conf_ranked_table",
                extra=["sop", "tellers"], extra_key="conf_ranked_all_columns")


def _columns(names: list[str], formats: Mapping[str, str]) -> dict[str, Any]:
    return {name: st.column_config.NumberColumn(tr(f"conformance.col.{name}"),
                                                format=formats[name])
            if name in formats else tr(f"conformance.col.{name}") for name in names}


def _level_frame(report: ConformanceReport, level: str) -> pd.DataFrame:
    rows = report.level(level)
    if level == "teller":
        label = [f"{t} ({b})" for t, b in zip(rows["teller_id"], rows["branch_id"], strict=True)]
    elif level == "branch":
        label = [str(b) for b in rows["branch_id"]]
    else:
        label = [str(c) for c in rows["business_type"]]
    return rows.assign(label=label)


def show_fitness(report: ConformanceReport, bank: Mapping[str, float]) -> None:
    """The fitness or conformance rate per teller, branch or type, lowest first, against the
    bank's (``bank``: ``fitness``, ``conformance_rate`` of the whole bank in the period)."""
    st.subheader(tr("conformance.fitness"))
    left, right = st.columns(2)
    level = left.radio(tr("conformance.level"), _LEVELS, key="conf_level", horizontal=True,
                       format_func=lambda v: tr(f"conformance.level.{v}"))
    measure = right.radio(tr("conformance.measure"), ("fitness", "conformance_rate"),
                          key="conf_measure", horizontal=True,
                          format_func=lambda v: tr(f"conformance.col.{v}"))
    frame = _level_frame(report, str(level))
    labels = {"measure": tr(f"conformance.col.{measure}"), "bank": tr("conformance.bank_line"),
              "cases": tr("conformance.col.cases"), "group": tr(f"conformance.level.{level}")}
    st.plotly_chart(conformance_charts.fitness_chart(frame, str(measure),
                                                     float(bank[str(measure)]), labels),
                    width="stretch", key="conf_fitness_chart")
    keys = {"teller": ["teller_id", "branch_id"], "branch": ["branch_id"],
            "type": ["business_type"]}[str(level)]
    names = [*keys, "cases", "conforming", "conformance_rate", "fitness", "deviations",
             "control_risk_cases"]
    formats = {"cases": "%d", "conforming": "%d", "conformance_rate": "percent",
               "fitness": "%.4f", "deviations": "%d", "control_risk_cases": "%d"}
    tables.show(frame[names], _columns(names, formats), key="conf_fitness_table")


def control_frame(report: ConformanceReport) -> pd.DataFrame:
    """The skipped control steps, one row per transaction and step, with the step's name."""
    risks = report.control_risks()
    return pd.DataFrame({
        "case_id": risks["case_id"].astype(str), "teller_id": risks["teller_id"],
        "branch_id": risks["branch_id"], "day": [str(d)[:10] for d in risks["day"]],
        "business_type": risks["business_type"], "sop": risks["sop"],
        "step": [step_name(report, str(s), str(c), str(a)) for s, c, a in
                 zip(risks["sop"], risks["business_type"], risks["activity"], strict=True)],
        "activity": risks["activity"].astype(str)})


def show_controls(report: ConformanceReport) -> None:
    """The compliance group's list: every skipped control step with its transaction, and the
    list as a CSV file."""
    st.subheader(tr("conformance.controls"))
    frame = control_frame(report)
    if frame.empty:
        st.success(tr("conformance.no_control_risks"))
        return
    st.caption(tr("conformance.controls_caption", steps=f"{len(frame):,}",
                  cases=f"{frame['case_id'].nunique():,}"))
    names = [c for c in frame.columns if c != "activity"]
    tables.show(frame[names], _columns(names, {}), key="conf_controls_table")
    # the download keeps the step as logged in a last column
    header = {name: tr(f"conformance.col.{name}") for name in names}
    header["activity"] = tr("names.log_name")
    text = frame[[*names, "activity"]].rename(columns=header).to_csv(index=False)
    st.download_button(tr("conformance.controls_csv"), safe_csv(text).encode("utf-8-sig"),
                       file_name="control-steps-skipped.csv", mime="text/csv",
                       key="conf_controls_csv", icon=":material/download:")
