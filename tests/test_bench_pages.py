"""The browser benchmark's bookkeeping (bench/bench_pages.py), without a browser: the pages it
walks are every page of every role the app offers, and its rows and table say what the timings
say. No time is measured here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from procmine import ROLES
from procmine.dashboard.registry import PAGES, pages_for_role

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import bench_pages
from bench_pages import Timing, Visit, markdown_table, parse_roles, pauses, plan, rows_for, waits_on

PAGE_DIR = Path(__file__).resolve().parents[1] / "procmine" / "dashboard" / "pages"


def test_the_walk_is_every_page_of_every_role() -> None:
    walked = plan()
    pairs = [(v.role, v.spec.script) for v in walked]
    assert len(pairs) == len(set(pairs))   # each once
    assert set(pairs) == {(role, p.script) for role in ROLES for p in PAGES if role in p.roles}
    # every page file is a page of the registry, so none escapes the walk
    scripts = {f.name for f in PAGE_DIR.glob("*.py") if f.name != "__init__.py"}
    assert scripts == {v.spec.script for v in walked}
    assert {v.role for v in walked} == set(ROLES)


def test_each_role_lands_first_and_opens_the_hidden_pages_by_address() -> None:
    for role in ROLES:
        visits = [v for v in plan() if v.role == role]
        menu = [p for p in pages_for_role(role) if not p.hidden]
        assert visits[0].landing and visits[0].spec == menu[0]
        assert [v.landing for v in visits].count(True) == 1
        assert [v.spec for v in visits if v.by_link] == menu   # the menu's order
        hidden = [v for v in visits if not v.by_link]
        assert all(v.spec.hidden for v in hidden)
        assert visits[len(menu):] == hidden                     # after the menu's pages
    item = [v.role for v in plan() if v.spec.url_path == "improvement"]
    assert item == ["operations", "branch_manager", "reviewer", "trainer"]


def test_a_page_filter_keeps_the_landing_page() -> None:
    visits = plan(("operations", "teller"), pages=("bottlenecks", "my_review.py"))
    assert [v.contender for v in visits] == [
        "overview/operations", "bottlenecks/operations", "my-figures/teller", "my-review/teller"]


def test_roles_by_name_or_demo_user() -> None:
    assert parse_roles("ops, teller,manager") == ("operations", "teller", "branch_manager")
    assert parse_roles("reviewer,reviewer") == ("reviewer",)
    assert parse_roles("") == tuple(ROLES)
    with pytest.raises(SystemExit, match="unknown role 'boss'"):
        parse_roles("ops,boss")


def _timing(seconds: float, pause: float = 0.1,
            where: str = "after heading 'x', before plotly_chart", errors: int = 0) -> Timing:
    return Timing(seconds, seconds - 0.05, pause, where, errors)


def test_the_rows_and_the_table() -> None:
    visits = plan(("branch_manager",), pages=("bottlenecks", "improvement"))
    assert [v.contender for v in visits] == [
        "queue/branch_manager", "bottlenecks/branch_manager", "improvement/branch_manager"]
    timings = {
        "sign-in/branch_manager": (_timing(2.5, 1.2, "after the start, before heading '柜台排队'"),
                                   _timing(0.8)),
        "queue/branch_manager": (_timing(2.5), _timing(0.4)),
        "bottlenecks/branch_manager": (_timing(3.25, 2.0, "after markdown 'a', before dataframe"),
                                       _timing(0.6)),
        "improvement/branch_manager": (_timing(1.0, 0.5, "", errors=1), _timing(1.01)),
    }
    rows = rows_for("10,000,000 events", (3.0, 1.0), visits, timings)
    assert [(r["contender"], r["cold_s"], r["warm_s"], r["ok"]) for r in rows] == [
        ("sign-in/branch_manager", 2.5, 0.8, True),
        ("queue/branch_manager", 2.5, 0.4, True),
        ("bottlenecks/branch_manager", 3.25, 0.6, False),     # cold over 3 s
        ("improvement/branch_manager", 1.0, 1.01, False),     # warm over 1 s
    ]
    assert {r["target"] for r in rows} == {"3 s cold, 1 s warm"}
    piped = markdown_table([{**rows[0], "waits_on": "after markdown 'a | b'"}])
    assert piped.splitlines()[2].endswith("| after markdown 'a &#124; b' |")
    assert {r["bench"] for r in rows} == {"pages"}
    assert rows[0]["waits_on"] == "1.20 s after the start, before heading '柜台排队'"
    assert rows[1]["waits_on"] == "cold: the sign-in's"
    assert rows[2]["server_s"] == 3.2
    assert rows[3]["waits_on"] == "by its address (a new session); 1 exception(s) shown"
    assert markdown_table(rows).splitlines() == [
        "| page | role | cold s | warm s | target | within | cold run waited on |",
        "|---|---|---|---|---|---|---|",
        "| sign-in | branch_manager | 2.50 | 0.80 | 3 s cold, 1 s warm | yes | "
        "1.20 s after the start, before heading '柜台排队' |",
        "| queue | branch_manager | 2.50 | 0.40 | 3 s cold, 1 s warm | yes | "
        "cold: the sign-in's |",
        "| bottlenecks | branch_manager | 3.25 | 0.60 | 3 s cold, 1 s warm | **no** | "
        "2.00 s after markdown 'a', before dataframe |",
        "| improvement | branch_manager | 1.00 | 1.01 | 3 s cold, 1 s warm | **no** | "
        "by its address (a new session); 1 exception(s) shown |",
    ]


def test_a_page_not_rendered_is_over_target_and_says_why() -> None:
    visits = plan(("teller",), pages=("my-review",))
    stuck = Timing(0.2, 0.1, 0.0, "", 0, "not rendered in 300 s (waiting for running)")
    rows = rows_for("x", (3.0, 1.0), visits, {
        "sign-in/teller": (_timing(2.0), _timing(0.5)),
        "my-figures/teller": (_timing(2.0), _timing(0.5)),
        "my-review/teller": (_timing(0.3), stuck)})
    assert [(r["contender"], r["ok"]) for r in rows] == [
        ("sign-in/teller", True), ("my-figures/teller", True), ("my-review/teller", False)]
    assert rows[2]["waits_on"] == ("0.10 s after heading 'x', before plotly_chart; "
                                   "warm: not rendered in 300 s (waiting for running)")


def test_one_target_on_the_demo_workspace() -> None:
    visit = Visit("teller", pages_for_role("teller")[0], landing=True)
    rows = rows_for("199,730 events (demo workspace)", bench_pages.TARGETS["demo"], [visit],
                    {"sign-in/teller": (_timing(0.9), _timing(0.3)),
                     "my-figures/teller": (_timing(0.9), _timing(1.2))})
    assert [(r["contender"], r["target"], r["ok"]) for r in rows] == [
        ("sign-in/teller", "1 s", True), ("my-figures/teller", "1 s", False)]


def test_what_a_run_waited_on() -> None:
    events = [(10.2, "delta", "radio '语言'"), (10.3, "other", "end"),
              (11.9, "delta", "add_block"), (11.95, "delta", "plotly_chart"),
              (12.1, "finished", "end"), (15.0, "delta", "fragment")]
    pause, where = waits_on(events, start=10.0)
    assert pause == pytest.approx(1.7)
    assert where == "after radio '语言', before plotly_chart"   # the container named no more
    # the longest pause at the run's end, and at its start
    assert waits_on([(10.1, "delta", "heading 'a'"), (11.0, "finished", "end")], 10.0) == (
        pytest.approx(0.9), "after heading 'a', before the run's end")
    assert waits_on([(11.0, "delta", "add_block"), (11.1, "finished", "end")], 10.0) == (
        pytest.approx(1.0), "after the start, before the run's end")
    assert waits_on([], start=10.0) == (0.0, "")
    longest = pauses(events, start=10.0)
    assert [round(gap, 2) for gap, _ in longest] == [1.7, 0.2, 0.15]
    assert [where for _, where in longest] == [
        "after radio '语言', before plotly_chart", "after the start, before radio '语言'",
        "after plotly_chart, before the run's end"]
    assert len(pauses(events, start=10.0, count=1)) == 1


def test_the_recorder_reads_streamlit_messages() -> None:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    recorder = bench_pages.Recorder()
    heading = ForwardMsg()
    heading.delta.new_element.heading.body = "柜台排队\n副标题"
    chart = ForwardMsg()
    chart.delta.new_element.plotly_chart.spec = "{}"
    rerun, done = ForwardMsg(), ForwardMsg()
    rerun.script_finished = ForwardMsg.FINISHED_EARLY_FOR_RERUN
    done.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    style, sop = ForwardMsg(), ForwardMsg()
    style.delta.new_element.html.body = "<style>[data-testid=x] {display: none}</style>"
    sop.delta.new_element.html.body = '<h1 id="c41">单位基本存款账户开户</h1>\n<p>…</p>'
    for msg in (heading, rerun, chart, style, sop, done):
        recorder.frame(msg.SerializeToString())
    recorder.frame("a text frame")
    assert [(kind, what) for _, kind, what in recorder.events] == [
        ("delta", "heading '柜台排队'"), ("other", "end"), ("delta", "plotly_chart"),
        ("delta", "html"), ("delta", "html '单位基本存款账户开户 …'"), ("finished", "end")]
    assert recorder.finished_after(0) == recorder.events[5][0]
    assert recorder.finished_after(6) is None
