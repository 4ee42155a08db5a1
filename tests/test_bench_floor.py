"""The sign-in floor benchmark (bench/bench_floor.py) without a browser: what it records of a
landing page from Streamlit's messages, and the bare app (bench/floor_app.py) drawing it again
in the same places."""

from __future__ import annotations

import io
import pickle
import sys
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.testing.v1 import AppTest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from bench_floor import Recording  # noqa: E402


def _message(path: list[int], fill: str, **fields: object) -> bytes:
    msg = ForwardMsg()
    msg.metadata.delta_path.extend(path)
    if fill.startswith("block:"):
        getattr(msg.delta.add_block, fill.split(":", 1)[1]).SetInParent()
    else:
        inner = getattr(msg.delta.new_element, fill)
        for name, value in fields.items():
            if name == "data":
                inner.arrow_data.data = value
            else:
                setattr(inner, name, value)
        inner.SetInParent()
    return msg.SerializeToString()


def _arrow(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


@pytest.fixture
def recorded() -> Recording:
    """A landing page's messages as the websocket brings them, recorded from the click."""
    spec = go.Figure(go.Bar(x=["B01", "B02"], y=[3, 5])).to_json()
    table = pd.DataFrame({"teller_id": ["0101", "0102"], "served": [12, 30]})
    recording = Recording()
    recording.frame(_message([0, 0], "heading", body="before the click", tag="h1"))
    recording.on = True
    for payload in (
        _message([1, 0], "markdown", body="signed in: B01"),
        _message([0, 0], "heading", body="Queue", tag="h1"),
        _message([0, 1], "block:flex_container"),
        _message([0, 1, 0], "block:column"),
        _message([0, 1, 1], "block:column"),
        _message([0, 1, 0, 0], "metric", label="Tickets", body="1,883"),
        _message([0, 1, 1, 0], "metric", label="Served", body="1,714"),
        _message([0, 2], "plotly_chart", spec=spec),
        _message([0, 3], "dataframe", data=_arrow(table)),
        _message([0, 4], "code", code_text="not drawn again"),
        "a text frame",
    ):
        recording.frame(payload)
    return recording


def test_the_recording_keeps_the_landing_pages_elements_and_blocks_in_order(
        recorded: Recording) -> None:
    kinds = [(path, kind) for path, kind, _ in recorded.elements]
    assert kinds == [((1, 0), "markdown"), ((0, 0), "heading"),
                     ((0, 1), "block:flex_container"), ((0, 1, 0), "block:column"),
                     ((0, 1, 1), "block:column"), ((0, 1, 0, 0), "metric"),
                     ((0, 1, 1, 0), "metric"), ((0, 2), "plotly_chart"), ((0, 3), "dataframe")]
    fields = {kind: f for _, kind, f in recorded.elements}
    assert fields["heading"]["body"] == "Queue" and fields["heading"]["tag"] == "h1"
    assert '"B02"' in fields["plotly_chart"]["spec"]


def test_the_bare_app_draws_the_recording_again_in_place(
        recorded: Recording, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "floor.pickle"
    path.write_bytes(pickle.dumps({"elements": recorded.elements, "pages": 4}))
    monkeypatch.setenv("FLOOR_RECORDING", str(path))
    at = AppTest.from_file(str(BENCH / "floor_app.py"), default_timeout=60)
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]   # signed out: the form
    at.session_state["user"] = "manager"
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Queue"]
    assert [m.value for m in at.sidebar.markdown] == ["signed in: B01"]
    assert [[m.label for m in column.metric] for column in at.columns] == [["Tickets"],
                                                                         ["Served"]]
    assert len(at.get("plotly_chart")) == 1
    assert at.dataframe[0].value["served"].tolist() == [12, 30]
    monkeypatch.setenv("FLOOR_CHARTS", "0")
    at = AppTest.from_file(str(BENCH / "floor_app.py"), default_timeout=60)
    at.session_state["user"] = "manager"
    at.run()
    assert len(at.get("plotly_chart")) == 0 and len(at.dataframe) == 1
