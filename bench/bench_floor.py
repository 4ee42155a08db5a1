"""The floor under a sign-in: what a bare Streamlit app takes to draw the same landing page.

Run as ``python bench/bench_floor.py [--roles operations,branch_manager] [--repeat 5]
[--workspace demo|10m] [--procmine-only]`` (the last: procmine's sign-ins alone, step 1, for
an A/B of a change). For each role, on the demo workspace or the one with 10M events
(``bench_pages.ensure_workspace``; its results kept by an earlier walk or warm-up, so that each
sign-in is a warm one):

1. **procmine**: the role signs in ``--repeat`` times in one browser (each a new session, the
   browser's cache kept: ``bench_pages``' warm sign-in), timed by ``bench_pages.timed`` from the
   button to the page rendered (every chart and table drawn). The first sign-in's messages are
   recorded: every element the landing page drew, in order (headings, text, metrics, inputs,
   its Plotly figures' specs, its tables' data), and the menu's length.
2. **bare**: ``bench/floor_app.py``, a Streamlit app that imports nothing of procmine, serves a
   sign-in form and then draws the recorded elements again: the same charts and tables, with no
   password hash, no data read, no figure built (built once per server). Timed the same way.
3. **bare, no charts**: the same without its Plotly charts (``FLOOR_CHARTS=0``).

Each contender runs on a server of its own, one after the other, on the same machine: the
bare rows are what Streamlit and the browser take for that page here whatever the server
does, the floor of a warm sign-in for this design. Rows: median and range of the sign-ins after
the first (the first of each server warms its imports), and each median over procmine's.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import bench_pages  # noqa: E402
from bench_ingest import OUT  # noqa: E402
from browser_kit import DEMO_USERS, chromium, serve, serve_script  # noqa: E402

from procmine.app.auth import DEMO_PASSWORD  # noqa: E402
from procmine.app.i18n import t  # noqa: E402
from procmine.dashboard.registry import pages_for_role  # noqa: E402

#: the elements the bare app can draw again, with the fields it needs
_KINDS = ("heading", "markdown", "page_link", "alert", "metric", "plotly_chart", "dataframe",
          "selectbox", "radio", "multiselect", "number_input", "date_input", "checkbox",
          "text_input", "slider", "button")


class Recording:
    """The landing page's elements as they arrive on the websocket (after ``start``)."""

    def __init__(self) -> None:
        self.elements: list[tuple[tuple[int, ...], str, dict[str, Any]]] = []
        self.on = False

    def frame(self, payload: bytes | str) -> None:
        if not self.on or isinstance(payload, str):
            return
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            msg = ForwardMsg.FromString(payload)
        except Exception:  # not a message of Streamlit's
            return
        if msg.WhichOneof("type") != "delta":
            return
        path = tuple(int(i) for i in msg.metadata.delta_path)
        if not path or path[0] not in (0, 1):
            return
        if msg.delta.WhichOneof("type") == "add_block":
            block = msg.delta.add_block
            kind = block.WhichOneof("type") or "vertical"
            label = block.expandable.label if kind == "expandable" else ""
            self.elements.append((path, "block:" + kind, {"label": label}))
            return
        if msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        kind = element.WhichOneof("type") or ""
        if kind not in _KINDS:
            return
        inner = getattr(element, kind)
        fields: dict[str, Any] = {}
        for name in ("body", "label", "tag"):
            value = getattr(inner, name, None)
            if isinstance(value, str):
                fields[name] = value
        if kind == "plotly_chart":
            fields["spec"] = inner.spec
        if kind == "dataframe":
            fields["data"] = bytes(inner.arrow_data.data)
        self.elements.append((path, kind, fields))


def _sign_in(page: Any, url: str, username: str, password: str, labels: tuple[str, str, str],
             recorder: bench_pages.Recorder,
             recording: Recording | None = None) -> bench_pages.Timing:
    name, secret, button = labels
    page.goto(url)
    page.get_by_label(name).wait_for()
    page.wait_for_timeout(bench_pages.TYPING_S * 1000)
    page.get_by_label(name).fill(username)
    page.get_by_label(secret, exact=True).fill(password)
    if recording is not None:   # from the click: the landing page's elements only
        recording.on = True
    try:
        return bench_pages.timed(page, recorder, page.get_by_role("button", name=button).click,
                                 None)
    finally:
        if recording is not None:
            recording.on = False


def _sign_ins(browser: Any, url: str, username: str, password: str,
              labels: tuple[str, str, str], repeat: int,
              recording: Recording | None = None) -> list[bench_pages.Timing]:
    """``repeat`` sign-ins in one browser context, each on a new page with no cookie."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    timings = []
    try:
        for n in range(repeat):
            context.clear_cookies()
            page = context.new_page()
            recorder = bench_pages.Recorder()
            recorder.attach(page)
            first = recording if n == 0 else None
            if first is not None:
                page.on("websocket",
                        lambda ws, heard=first.frame: ws.on("framereceived", heard))
            timings.append(_sign_in(page, url, username, password, labels, recorder, first))
            page.close()
    finally:
        context.close()
    return timings


def serve_bare(recording: Path, charts: bool) -> AbstractContextManager[str]:
    """The bare app (bench/floor_app.py) serving ``recording``, with or without its charts."""
    return serve_script(HERE / "floor_app.py", {"FLOOR_RECORDING": str(recording),
                                                "FLOOR_CHARTS": "1" if charts else "0"}, HERE)


def _counted(timings: Sequence[bench_pages.Timing]) -> list[bench_pages.Timing]:
    """The sign-ins a row counts: all but the first (it warms the server's imports)."""
    return list(timings[1:]) or list(timings)


def _median(timings: Sequence[bench_pages.Timing]) -> float:
    return statistics.median(tm.seconds for tm in _counted(timings))


def _row(role: str, contender: str, timings: Sequence[bench_pages.Timing],
         reference: float | None) -> dict[str, Any]:
    seconds = [tm.seconds for tm in _counted(timings)]
    median = _median(timings)
    failed = next((tm.failed for tm in timings if tm.failed), "")
    return {"bench": "sign-in floor", "role": role, "contender": contender,
            "median_s": round(median, 2), "min_s": round(min(seconds), 2),
            "max_s": round(max(seconds), 2),
            "server_s": round(statistics.median(tm.server_s for tm in _counted(timings)), 2),
            "ratio": round(median / reference, 2) if reference else 1.0, "failed": failed}


def run(roles: Sequence[str] = ("operations", "branch_manager"),
        repeat: int = 5, events: int | None = None,
        bare: bool = True) -> list[dict[str, Any]]:
    home = bench_pages.ensure_workspace(events)
    lang = bench_pages.LANG
    ours = (t("auth.username", lang), t("auth.password", lang), t("auth.sign_in", lang))
    floor_labels = ("Username", "Password", "Sign in")
    rows = []
    with chromium() as browser:
        for role in roles:
            recording = Recording()
            with serve(home) as url:
                mine = _sign_ins(browser, url, DEMO_USERS[role], DEMO_PASSWORD, ours,
                                 repeat, recording)
            path = OUT / f"floor-{role}.pickle"
            pages = sum(1 for p in pages_for_role(role) if not p.hidden)
            path.write_bytes(pickle.dumps({"elements": recording.elements, "pages": pages}))
            reference = _median(mine)
            rows.append(_row(role, "procmine", mine, None))
            for charts in (True, False) if bare else ():
                with serve_bare(path, charts) as url:
                    theirs = _sign_ins(browser, url, "user", "x", floor_labels, repeat)
                name = "bare Streamlit, the same elements" + ("" if charts else ", no charts")
                rows.append(_row(role, name, theirs, reference))
            kinds = [kind for _, kind, _ in recording.elements]
            print(f"({role}: {len(kinds)} elements, {kinds.count('plotly_chart')} charts, "
                  f"{kinds.count('dataframe')} tables, {pages} menu pages)",
                  file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--roles", default="operations,branch_manager",
                        help="comma-separated roles or demo users")
    parser.add_argument("--repeat", type=int, default=5, help="sign-ins per contender")
    parser.add_argument("--workspace", choices=("demo", "10m"), default="demo",
                        help="the demo workspace (200,000 events) or the one with 10M events")
    parser.add_argument("--procmine-only", action="store_true",
                        help="time procmine's sign-ins alone, without the bare app's (an A/B)")
    args = parser.parse_args()
    started, load = time.perf_counter(), os.getloadavg()[0]
    rows = run(bench_pages.parse_roles(args.roles), args.repeat,
               None if args.workspace == "demo" else 10_000_000, bare=not args.procmine_only)
    print("| role | contender | median s | range s | run's end s | × procmine |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['role']} | {r['contender']} | {r['median_s']:.2f} | "
              f"{r['min_s']:.2f}–{r['max_s']:.2f} | {r['server_s']:.2f} | {r['ratio']:.2f} |"
              + (f" {r['failed']}" if r["failed"] else ""))
    print(f"({time.perf_counter() - started:.0f} s; load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
