"""A bare Streamlit app for bench_floor.py: a sign-in form, then one page that draws again the
elements a procmine landing page drew (recorded from its websocket) in the same places, with
nothing computed.

It imports nothing of procmine. The recording (``FLOOR_RECORDING``: a pickle written by
bench_floor.py) holds the elements and blocks (columns, containers, expanders) in order, each as
``(path, kind, fields)``: ``path`` is Streamlit's delta path (0 first for the page, 1 for the
sidebar). Its Plotly figures are built once per server; ``FLOOR_CHARTS=0``
leaves them out. The menu has as many pages as the role's (``pages`` in the recording).
Streamlit's collection after every run is kept short as procmine keeps it (the objects alive
after the imports frozen: procmine.dashboard.preload).
"""

from __future__ import annotations

import gc
import io
import os
import pickle
from typing import Any

import pyarrow as pa
import streamlit as st

st.set_page_config(page_title="floor", layout="wide")
if not gc.get_freeze_count():
    gc.collect()
    gc.freeze()

CHARTS = os.environ.get("FLOOR_CHARTS", "1") != "0"


@st.cache_resource
def recording() -> dict[str, Any]:
    """The recording, its figures built once (as a server keeps nothing else to compute)."""
    import plotly.io as pio

    with open(os.environ["FLOOR_RECORDING"], "rb") as fh:
        kept: dict[str, Any] = pickle.load(fh)
    kept["figures"] = {i: pio.from_json(fields["spec"])
                       for i, (_, kind, fields) in enumerate(kept["elements"])
                       if kind == "plotly_chart"}
    kept["tables"] = {i: pa.ipc.open_stream(io.BytesIO(fields["data"])).read_pandas()
                      for i, (_, kind, fields) in enumerate(kept["elements"])
                      if kind == "dataframe" and fields.get("data")}
    return kept


def _submit() -> None:
    st.session_state["user"] = st.session_state.get("name") or "user"


def sign_in() -> None:
    st.title("Sign in")
    with st.form("sign_in"):
        st.text_input("Username", key="name")
        st.text_input("Password", type="password", key="password")
        st.form_submit_button("Sign in", type="primary", on_click=_submit)
    # as procmine's form: the chart library loaded while the user types. An empty figure with
    # plotly.py's template (not a bare dict): a first figure with a template costs the renderer
    # about 0.45 s more on the page after (measured: Plotly's main-thread time 0.98 s against
    # 0.53 s for this page's three charts)
    with st.container(key="chart_library"):
        st.html("<style>.st-key-chart_library {display: none;}</style>")
        import plotly.graph_objects as go

        st.plotly_chart(go.Figure(), config={"staticPlot": True, "displayModeBar": False})


def _draw(where: Any, i: int, kind: str, fields: dict[str, Any], kept: dict[str, Any]) -> None:
    text, label = fields.get("body", ""), fields.get("label") or f"{kind} {i}"
    key = f"w{i}"
    if kind == "heading":
        if fields.get("tag") == "h1":
            where.title(text)
        else:
            where.subheader(text)
    elif kind in ("markdown", "page_link"):
        where.markdown(text or label)
    elif kind == "alert":
        where.info(text)
    elif kind == "metric":
        where.metric(label, text)
    elif kind == "plotly_chart" and CHARTS:
        where.plotly_chart(kept["figures"][i], width="stretch", key=key)
    elif kind == "dataframe" and i in kept["tables"]:
        where.dataframe(kept["tables"][i], key=key)
    elif kind in ("selectbox", "radio"):
        getattr(where, kind)(label, ["a", "b"], key=key)
    elif kind == "multiselect":
        where.multiselect(label, ["a", "b"], key=key)
    elif kind == "number_input":
        where.number_input(label, value=1.0, key=key)
    elif kind == "date_input":
        where.date_input(label, key=key)
    elif kind == "checkbox":
        where.checkbox(label, key=key)
    elif kind == "text_input":
        where.text_input(label, key=key)
    elif kind == "slider":
        where.slider(label, 0, 10, 1, key=key)
    elif kind == "button":
        where.button(label, key=key)


def landing() -> None:
    """The recorded elements in their places: the page or the sidebar, and within them the
    columns, containers and expanders they were drawn in."""
    kept = recording()
    elements = kept["elements"]
    places: dict[tuple[int, ...], Any] = {(0,): st.container(), (1,): st.sidebar}
    for i, (path, kind, fields) in enumerate(elements):
        parent = places.get(tuple(path[:-1]))
        if parent is None:   # inside a block not drawn again
            continue
        if kind == "block:flex_container":
            columns = [p for p, k, _ in elements if k == "block:column" and p[:-1] == path]
            if columns:
                for column_path, column in zip(columns, parent.columns(len(columns)),
                                               strict=True):
                    places[tuple(column_path)] = column
            else:
                places[tuple(path)] = parent.container()
        elif kind == "block:column":
            continue   # placed with its row
        elif kind == "block:expandable":
            places[tuple(path)] = parent.expander(fields.get("label") or "more")
        elif kind.startswith("block:"):
            places[tuple(path)] = parent.container()
        else:
            _draw(parent, i, kind, fields, kept)


def other() -> None:
    st.title("Other")


if st.session_state.get("user"):
    count = int(recording()["pages"])
    pages = [st.Page(landing, title="Landing", url_path="landing", default=True),
             *(st.Page(other, title=f"Page {n}", url_path=f"p{n}") for n in range(count - 1))]
else:
    pages = [st.Page(sign_in, title="Sign in", url_path="sign-in", default=True)]
st.navigation(pages, expanded=True).run()
