"""Process map (operations, reviewers; a branch manager for their branch): the directly-follows
graph of one business type's transactions, with counts or times on it, rare paths hidden below a
threshold, drawn so that it pans, zooms and downloads as PNG or SVG; the paths as a table below.
Then, in a section drawn when it is opened, the model pm4py's inductive miner discovers on that
map (the same cases), as BPMN or a Petri net, with a noise slider and BPMN XML and PNML
downloads.

A branch manager's map is their branch's (the pickers offer it alone and check it on the
server). Steps are named in the user's language on the map, its table and the model (the SOP
step's name, else the glossary's: :mod:`procmine.dashboard.components.names`).
"""

from __future__ import annotations

import streamlit as st

from procmine import Filters
from procmine.dashboard import data, data_maps, session
from procmine.dashboard.components import (
    map_chart,
    map_filters,
    model_chart,
    names,
    sections,
    tables,
)
from procmine.dashboard.session import tr

user = session.guard(__file__)
st.title(tr("maps.title"))
if data.store_info()["events"] == 0:
    st.info(tr("overview.empty_store"))
    st.stop()
choice = map_filters.show("pmap", user)
if choice is None:
    st.info(tr("overview.no_data_for_filters"))
    st.stop()
pmap = data_maps.map_of(choice.business_type, choice.filters)
if pmap.cases == 0:
    st.info(tr("overview.no_data_for_filters"))
    st.stop()

overlay_cell, stat_cell, direction_cell, format_cell = st.columns(4)
overlay = overlay_cell.radio(tr("maps.overlay"), ("frequency", "performance"),
                             key="pmap_overlay", horizontal=True,
                             format_func=lambda o: tr(f"maps.overlay.{o}"))
stat = stat_cell.radio(tr("maps.stat"), ("median", "p90"), key="pmap_stat", horizontal=True,
                       format_func=lambda s: tr(f"maps.stat.{s}"))
direction = direction_cell.radio(tr("maps.direction"), ("auto", "LR", "TB"),
                                 key="pmap_direction", horizontal=True,
                                 format_func=lambda d: tr(f"maps.direction.{d}"))
fmt = format_cell.radio(tr("maps.download_format"), ("png", "svg"), key="pmap_format",
                        horizontal=True, format_func=str.upper)
percent = st.slider(tr("maps.threshold"), min_value=0.0, max_value=50.0, value=1.0, step=0.5,
                    format="%.1f%%", key="pmap_threshold", help=tr("maps.threshold_help"))
shown = pmap.filtered(min_share=percent / 100)
hidden = len(pmap.edges) - len(shown.edges)
st.caption(tr("maps.caption", cases=f"{pmap.cases:,}", steps=len(pmap.nodes),
              shown=len(shown.edges), edges=len(pmap.edges)))
if hidden:
    every = int(pmap.edges["count"].sum())
    passages = every - int(shown.edges["count"].sum())
    st.caption(tr("maps.hidden", hidden=hidden, share=f"{percent:g}", passages=f"{passages:,}",
                  pct=f"{passages / max(every, 1):.1%}"))


def _duration(seconds: float) -> str:
    """A time as the map writes it: seconds up to two minutes, minutes beyond."""
    if abs(seconds) >= 120:
        return tr("units.minutes", value=f"{seconds / 60:.1f}")
    return tr("units.seconds", value=f"{seconds:.1f}" if abs(seconds) < 10 else f"{seconds:.0f}")


labels = {key: tr(f"maps.{key}") for key in
          ("start", "end", "count", "cases", "median", "p90", "service", "transition")}
labels["colour"] = tr("maps.colour", stat=tr(f"maps.stat.{stat}"))
figure = map_chart.process_map_figure(
    shown.nodes, shown.edges, shown.start_activities, shown.end_activities, labels, _duration,
    overlay=overlay, stat=stat, direction=direction, name=names.namer())
st.plotly_chart(figure, width="stretch", key="pmap_chart",
                config=map_chart.download_config(f"process-map-{choice.business_type}", fmt))
st.caption(tr("maps.download_hint", format=fmt.upper()))

st.subheader(tr("maps.edges"))
table = shown.edges.assign(share=shown.edges["count"] / pmap.cases)
columns = ["source", "target", "count", "share", "median_seconds", "p90_seconds", "mean_seconds"]
formats = {"count": "%d", "share": "percent", "median_seconds": "%.1f", "p90_seconds": "%.1f",
           "mean_seconds": "%.1f"}
tables.show(names.step_frame(table[columns]), {
    name: st.column_config.NumberColumn(tr(f"maps.col.{name}"), format=formats[name])
    if name in formats else tr(f"maps.col.{name}") for name in columns},
    keys=["source", "target"], extra=["p90_seconds", "mean_seconds"],
    extra_key="pmap_all_columns")


def _model(code: str, within: Filters) -> None:
    model_chart.show("pmodel", pmap, dict(zip(pmap.nodes["activity"],
                                              names.step_labels(pmap.nodes["activity"]),
                                              strict=True)),
                     lambda noise: data_maps.model_of(code, within, noise))


# Drawn when opened (its chart is the page's second: 0.3-0.5 s of the browser's drawing)
code, within = choice.business_type, choice.filters
sections.lazy(tr("model.title"), "pmodel_open", lambda: _model(code, within))
