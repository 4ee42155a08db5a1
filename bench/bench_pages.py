"""Page times a user feels: signing in and every page of every role, in a real browser.

Run as ``python bench/bench_pages.py --workspace demo|10m [--roles ops,teller] [--pages
overview,bottlenecks] [--events N] [--cold ingest|first|empty]``. The dashboard is served by
``streamlit run app.py`` and driven by Debian's Chromium through Playwright, with the helpers
of the browser tests (tests/browser_kit.py). Workspaces, made once under bench/out/ and reused
between runs:

- ``demo``: ``procmine demo-workspace`` (the bundled 199,730-event log, its users, SOP library,
  queue tickets, training room and improvement register);
- ``10m`` (or ``--events N``): the same workspace with the demo's event batch dropped and the
  generated log of N events (``bench_ingest.ensure_log``, seed 11) ingested instead, with
  ``--latest-days 3650`` as the other benches. The demo batch is dropped, not kept beside it,
  because both logs number their cases alike (``T202609-0000001`` ...): ingested together,
  some 19,000 cases of one would be merged with cases of the other. Users, SOPs, tickets,
  training and improvements stay, so every role has its pages' data.

Each role (the five demo users) walks its pages in menu order, then the pages opened only by
their address (one improvement item), then all of them again:

- **cold**: the first view after an ingest (``--cold ingest``, the default). A small new batch
  (5,000 generated events of new transactions) is ingested with ``procmine ingest``, which
  starts the warm-up (``procmine warm``) in the background; the bench waits for it and reports
  its seconds, then each role's walk starts on a fresh server with the workspace's result cache
  as the warm-up left it (restored before each role). The warm-up runs the recipes the pages'
  earlier views left; a workspace without them is walked once with ``--cold empty`` first
  (reported too), as its first users would. With ``--cold first``: the same after a first
  ingest (the workspace's recipes set aside and its kept results removed first, put back after):
  the warm-up has no recipes and computes the first views
  (``procmine.dashboard.warm.first_views``). With ``--cold empty``: the cache emptied before
  each role's walk, nothing kept, no warm-up (a new workspace's first views before that
  warm-up). The role's first page is where
  signing in lands, so its cold time is the sign-in's. A later page that reads a result an
  earlier page of the same walk computed gets it from the caches, as a user clicking through
  would. The new batch is dropped at the end (``--no-warm``);
- **warm**: the same page viewed again in the same server and session (a second visit);
- **sign-in**: from pressing the button to the role's first page rendered, the form having
  been shown ``TYPING_S`` (3 s) before, as a user types a name and a password; warm: a second
  sign-in on the same server in the same browser, its session cookie cleared (a new session;
  the browser's cache of the app's scripts kept, as in a user's own browser).

The time runs from the click on the menu link (or the button, or the address being opened) to
the page **rendered**: Streamlit's script run has finished (its ``script_finished`` message,
read from the websocket), its running indicator (``stStatusWidget``) is gone, the main block
shows the page's title (an ``h1``) and the address is the page's, no element is stale or a
skeleton, every table has drawn its grid and every chart its SVG (tests/browser_kit.DRAWN).
``waits_on`` gives the longest pause between the messages of the cold run and where it fell
(after which element, before which: what the page waited on), ``server_s`` when the script's
run ended. A page not rendered in ``TIMEOUT_S`` (or not opened) is a row over target that says
why; the walk goes on. The rows are written to bench/out/pages-<demo|events>.json.

Targets (issue 18): on the demo workspace 1 s for every page, cold and warm; on 10M events 3 s
cold and 1 s warm. Wall times: other work on the machine slows them; read them beside the
machine's load.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from bench_ingest import OUT, ensure_log  # noqa: E402
from browser_kit import DEMO_USERS, DRAWN, chromium, serve  # noqa: E402

from procmine.app.auth import DEMO_PASSWORD, ROLES  # noqa: E402
from procmine.app.i18n import t  # noqa: E402
from procmine.dashboard.registry import PageSpec, pages_for_role  # noqa: E402

LANG = "zh-CN"
#: Seconds between the sign-in form shown and the button pressed: a user typing a name and a
#: password (the server imports what the pages import meanwhile: procmine.dashboard.preload)
TYPING_S = 3.0

#: (cold, warm) seconds a page may take, per workspace (issue 18)
TARGETS = {"demo": (1.0, 1.0), "large": (3.0, 1.0)}
READY = "bench-ready.txt"   # written last: the workspace is complete
TIMEOUT_S = 300.0

#: what keeps the page from being rendered ("" once it is): its run's end is checked in Python
RENDERED = """(path) => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main || !main.querySelector('h1')) return 'no title';
  if (document.querySelector('[data-testid="stStatusWidget"]')) return 'running';
  if (main.querySelector('[data-testid="stSkeleton"]')) return 'skeleton';
  if (main.querySelector('[data-stale="true"]')) return 'stale elements';
  if (path && !location.pathname.replace(/\\/+$/, '').endsWith('/' + path))
    return 'at ' + location.pathname;
  return (DRAWN)() ? '' : 'tables or charts not drawn';
}""".replace("DRAWN", DRAWN)


# --- what is walked ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Visit:
    """A page as a role opens it: by the menu (``by_link``) or by its address."""

    role: str
    spec: PageSpec
    landing: bool    # where signing in lands: its cold time is the sign-in's

    @property
    def by_link(self) -> bool:
        return not self.spec.hidden

    @property
    def contender(self) -> str:
        return f"{self.spec.url_path}/{self.role}"


def parse_roles(text: str | None) -> tuple[str, ...]:
    """Roles from ``--roles``: role names or the demo users' names, comma-separated; all of
    them when empty."""
    if not text:
        return tuple(ROLES)
    by_user = {user: role for role, user in DEMO_USERS.items()}
    roles = []
    for word in (w.strip() for w in text.split(",")):
        role = by_user.get(word, word)
        if role not in ROLES:
            raise SystemExit(f"unknown role {word!r}: one of {', '.join(ROLES)} "
                             f"or {', '.join(by_user)}")
        roles.append(role)
    return tuple(dict.fromkeys(roles))


def plan(roles: Sequence[str] = ROLES, pages: Sequence[str] = ()) -> list[Visit]:
    """Every page each role may open (the registry's, as the app's navigation offers them):
    the menu's pages in order (the first is where signing in lands), then the pages opened
    only by their address. ``pages`` (url paths or script names) keeps those alone, besides
    the landing page, which signing in always draws."""
    out = []
    for role in roles:
        specs = pages_for_role(role)
        menu = [p for p in specs if not p.hidden]
        for n, spec in enumerate([*menu, *(p for p in specs if p.hidden)]):
            if n and pages and spec.url_path not in pages and spec.script not in pages:
                continue
            out.append(Visit(role, spec, landing=n == 0))
    return out


# --- the workspaces ---------------------------------------------------------------------------

def _cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "procmine.cli", *args], check=True,
                          capture_output=True, text=True)
    return done.stdout


def ensure_workspace(events: int | None = None) -> Path:
    """The demo workspace (``events`` None), or the demo workspace with the generated log of
    ``events`` events in place of the demo's own (made once, reused)."""
    home = OUT / ("pages-demo" if events is None else f"pages-{events}-11")
    if (home / READY).exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    started = time.perf_counter()
    _cli("demo-workspace", "--home", str(home))
    if events is not None:
        batches = json.loads(_cli("batch", "list", "--home", str(home), "--json"))
        for batch in batches:
            if batch["kind"] == "events":
                _cli("batch", "drop", batch["batch_id"], "--home", str(home), "--json")
        _cli("ingest", str(ensure_log(events)), "--home", str(home), "--latest-days", "3650",
             "--json")
    (home / READY).write_text("made by bench/bench_pages.py\n", encoding="utf-8")
    print(f"(made the workspace {home.name} in {time.perf_counter() - started:.0f} s)",
          flush=True)
    return home


def events_in(home: Path) -> int:
    from procmine.store.event_store import EventStore

    return sum(int(b.get("loaded") or 0) for b in EventStore(home).batches()
               if b.get("kind", "events") == "events")


def empty_cache(home: Path) -> None:
    """Nothing computed is kept: the workspace's kept results removed (its recipes stay)."""
    root = home / "cache"
    if root.exists():
        for folder in root.iterdir():
            if folder.is_dir() and folder.name != "recipes":
                shutil.rmtree(folder)


def has_recipes(home: Path) -> bool:
    return any((home / "cache" / "recipes").glob("*.pickle"))


@dataclass
class WarmUp:
    """One new batch ingested and the warm-up it started: the batch, its events, the ingest's
    seconds, the warm-up's seconds after the ingest returned (waiting included) and its own
    report (procmine warm)."""

    batch_id: str
    events: int
    ingest_s: float
    ready_s: float
    report: dict[str, Any]


def ingest_new_batch(home: Path, events: int = 5_000) -> WarmUp:
    """Ingest ``events`` generated events of new transactions (case ids of their own) with
    ``procmine ingest``, which starts the warm-up; wait for it to finish."""
    from procmine.store.event_store import EventStore
    from procmine.store.warm_up import warm_report

    folder = OUT / f"new-batch-{events}"
    source = folder / "events.csv"
    if not source.exists():
        _cli("demo-data", str(folder / "raw"), "--events", str(events), "--seed", "29")
        lines = (folder / "raw" / "events.csv").read_text(encoding="utf-8").splitlines()
        # new transactions, not the workspace's own continued: their case ids are their own
        body = [re.sub(r'^"?T', '"N', line, count=1) for line in lines[1:]]
        source.write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")
    started = time.perf_counter()
    report = json.loads(_cli("ingest", str(source), "--home", str(home), "--latest-days",
                             "3650", "--json"))
    ingested = time.perf_counter()
    store = EventStore(home)
    deadline = ingested + 1800
    while (done := warm_report(store)) is None:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no warm-up finished in 1800 s: see {home / 'cache/warm.log'}")
        time.sleep(0.2)
    return WarmUp(batch_id=str(report["batch_id"]), events=int(report["loaded"]),
                  ingest_s=round(ingested - started, 2),
                  ready_s=round(time.perf_counter() - ingested, 2), report=done)


def drop_batch(home: Path, batch_id: str) -> None:
    _cli("batch", "drop", batch_id, "--home", str(home), "--no-warm", "--json")


def restore_cache(home: Path, snapshot: Path) -> None:
    """The workspace's kept results as ``snapshot`` holds them (what the warm-up left)."""
    empty_cache(home)
    for folder in snapshot.iterdir():
        shutil.copytree(folder, home / "cache" / folder.name)


# --- timing one navigation --------------------------------------------------------------------

@dataclass
class Recorder:
    """The Streamlit messages the page receives, with the time each arrived:
    (seconds, kind, what) where kind is "delta", "finished" (a script run finished
    successfully) or "other"."""

    events: list[tuple[float, str, str]] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("websocket", lambda ws: ws.on("framereceived", self.frame))

    def frame(self, payload: bytes | str) -> None:
        now = time.perf_counter()
        if isinstance(payload, str):
            return
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            msg = ForwardMsg.FromString(payload)
        except Exception:   # not a message of Streamlit's: ignored
            return
        kind = msg.WhichOneof("type")
        if kind == "script_finished":
            ok = msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY
            self.events.append((now, "finished" if ok else "other", "end"))
        elif kind == "delta":
            self.events.append((now, "delta", describe(msg.delta)))

    def finished_after(self, mark: int) -> float | None:
        return next((s for s, kind, _ in self.events[mark:] if kind == "finished"), None)


def describe(delta: Any) -> str:
    """A short name for what a delta draws: its element and the start of its text."""
    which = delta.WhichOneof("type")
    if which != "new_element":
        return which or "delta"
    element = delta.new_element
    kind = element.WhichOneof("type") or "element"
    inner = getattr(element, kind, None)
    text = ""
    for name in ("body", "label", "title"):
        value = getattr(inner, name, "")
        if isinstance(value, str) and value.strip():
            text = value
            break
    if kind == "html":   # a style sheet or a script names nothing a reader sees
        text = "" if re.match(r"\s*<(style|script)\b", text) else re.sub(r"<[^>]*>", " ", text)
    elif text:
        text = text.strip().splitlines()[0]
    text = " ".join(text.split())[:40]
    return f"{kind} {text!r}" if text else kind


#: messages that draw nothing of their own (a container, a spinner) or end the run
_UNNAMED = ("add_block", "new_transient", "end", "delta")


def pauses(events: Sequence[tuple[float, str, str]], start: float,
           count: int = 3) -> list[tuple[float, str]]:
    """The ``count`` longest pauses between ``start`` and the end of the run, longest first,
    and where each fell: after which element the page had drawn, before which it drew next."""
    run: list[tuple[float, str, str]] = []
    for event in events:
        if event[1] in ("delta", "finished"):
            run.append(event)
        if event[1] == "finished":
            break
    times = [start, *(seconds for seconds, _, _ in run)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    named = [name for _, _, name in run]
    out = []
    for at in sorted(range(len(run)), key=lambda i: -gaps[i])[:count]:
        after = next((n for n in reversed(named[:at]) if n.split()[0] not in _UNNAMED),
                     "the start")
        before = next((n for n in named[at:] if n.split()[0] not in _UNNAMED),
                      "the run's end")
        out.append((gaps[at], f"after {after}, before {before}"))
    return out


def waits_on(events: Sequence[tuple[float, str, str]], start: float) -> tuple[float, str]:
    """The longest of :func:`pauses` ((0, "") when the run sent nothing)."""
    longest = pauses(events, start, 1)
    return longest[0] if longest else (0.0, "")


@dataclass(frozen=True)
class Timing:
    seconds: float
    server_s: float      # to the end of the script's run
    pause_s: float       # the longest pause between two of its messages
    pause_at: str        # where it fell (:func:`waits_on`)
    errors: int          # exceptions shown on the page
    failed: str = ""     # why the page was not seen rendered (then ``seconds`` is the time spent)
    pauses: tuple[str, ...] = ()   # the three longest pauses (:func:`pauses`)


def timed(page: Any, recorder: Recorder, act: Callable[[], None],
          path: str | None) -> Timing:
    """Run ``act`` (a click, an address opened) and time it to the page rendered."""
    mark = len(recorder.events)
    start = time.perf_counter()
    act()
    while True:
        page.wait_for_timeout(20)
        finished = recorder.finished_after(mark)
        waiting = "the run's end" if finished is None else page.evaluate(RENDERED, path or "")
        if not waiting:
            seconds = time.perf_counter() - start
            break
        if time.perf_counter() - start > TIMEOUT_S:
            seconds = time.perf_counter() - start
            break
    pause, where = waits_on(recorder.events[mark:], start)
    longest = tuple(f"{gap:.2f} s {at}" for gap, at in pauses(recorder.events[mark:], start))
    errors = int(page.locator('[data-testid="stException"]').count())
    failed = f"not rendered in {TIMEOUT_S:.0f} s (waiting for {waiting})" if waiting else ""
    return Timing(seconds, (finished or time.perf_counter()) - start, pause, where, errors,
                  failed, longest)


# --- a role's walk ------------------------------------------------------------------------------

def _sign_in(page: Any, recorder: Recorder, url: str, username: str) -> Timing:
    page.goto(url)
    page.get_by_label(t("auth.username", LANG)).wait_for()
    page.wait_for_timeout(TYPING_S * 1000)  # a user typing a name and a password
    page.get_by_label(t("auth.username", LANG)).fill(username)
    page.get_by_label(t("auth.password", LANG)).fill(DEMO_PASSWORD)
    button = page.get_by_role("button", name=t("auth.sign_in", LANG))
    button.wait_for()
    return timed(page, recorder, button.click, None)


def _open(page: Any, recorder: Recorder, url: str, visit: Visit) -> Timing:
    """The page opened and timed; a page the browser could not open is a row that says so,
    the walk goes on."""
    from playwright.sync_api import Error as PlaywrightError

    started = time.perf_counter()
    try:
        return _open_page(page, recorder, url, visit)
    except PlaywrightError as exc:
        return Timing(time.perf_counter() - started, 0.0, 0.0, "", 0,
                      str(exc).splitlines()[0][:80])


def _open_page(page: Any, recorder: Recorder, url: str, visit: Visit) -> Timing:
    if visit.by_link:
        link = page.get_by_role("link", name=t(visit.spec.title_key, LANG), exact=True).first
        link.wait_for()
        # the landing page is the app's default: its address is the app's own
        return timed(page, recorder, link.click, None if visit.landing else visit.spec.url_path)
    return timed(page, recorder, lambda: page.goto(f"{url}/{visit.spec.url_path}"),
                 visit.spec.url_path)


def walk_role(browser: Any, home: Path, role: str, visits: Sequence[Visit],
              before: Callable[[], None] | None = None) -> dict[str, tuple[Timing, Timing]]:
    """A fresh server with the result cache as ``before`` leaves it (default: emptied);
    ``role`` signs in, opens each page (cold), then each again (warm), then signs in again in a
    new context (the sign-in's warm time). Contender -> (cold, warm)."""
    (before or (lambda: empty_cache(home)))()
    out: dict[str, tuple[Timing, Timing]] = {}
    with serve(home) as url:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        recorder = Recorder()
        recorder.attach(page)
        signed = _sign_in(page, recorder, url, DEMO_USERS[role])
        cold = {v.contender: signed if v.landing else _open(page, recorder, url, v)
                for v in visits}
        for v in visits:
            out[v.contender] = (cold[v.contender], _open(page, recorder, url, v))
        # a second sign-in in the same browser: its session cookie gone (a new session on
        # the server), the browser's cache of the app's scripts kept, as a user's own browser
        page.close()
        context.clear_cookies()
        page = context.new_page()
        recorder = Recorder()
        recorder.attach(page)
        out[f"sign-in/{role}"] = (signed, _sign_in(page, recorder, url, DEMO_USERS[role]))
        context.close()
    return out


# --- rows and tables ----------------------------------------------------------------------------

def rows_for(label: str, targets: tuple[float, float], visits: Sequence[Visit],
             timings: dict[str, tuple[Timing, Timing]]) -> list[dict[str, object]]:
    """One row per role's sign-in and per visit, in walking order: its cold and warm seconds,
    the target and whether both are within it, and what its cold run waited on."""
    cold_target, warm_target = targets
    target = (f"{cold_target:g} s" if cold_target == warm_target
              else f"{cold_target:g} s cold, {warm_target:g} s warm")
    names: list[str] = []
    for v in visits:
        if v.landing:
            names.append(f"sign-in/{v.role}")
        names.append(v.contender)
    rows: list[dict[str, object]] = []
    for name in names:
        if name not in timings:
            continue
        cold, warm = timings[name]
        landing = any(v.landing and v.contender == name for v in visits)
        notes = ["by its address (a new session)"] if any(
            not v.by_link and v.contender == name for v in visits) else []
        if landing:
            notes.append("cold: the sign-in's")
        elif cold.pause_at:
            notes.append(f"{cold.pause_s:.2f} s {cold.pause_at}")
        if cold.errors or warm.errors:
            notes.append(f"{max(cold.errors, warm.errors)} exception(s) shown")
        notes += [f"{when}: {t.failed}" for when, t in (("cold", cold), ("warm", warm))
                  if t.failed]
        note = "; ".join(notes)
        rows.append({"bench": "pages", "input": label, "contender": name,
                     "cold_s": round(cold.seconds, 2), "warm_s": round(warm.seconds, 2),
                     "server_s": round(cold.server_s, 2), "target": target,
                     "ok": cold.seconds <= cold_target and warm.seconds <= warm_target
                     and not (cold.failed or warm.failed),
                     "waits_on": note,
                     "warm_waits_on": f"{warm.pause_s:.2f} s {warm.pause_at}",
                     "cold_pauses": list(cold.pauses)})
    return rows


def markdown_table(rows: Sequence[dict[str, object]]) -> str:
    """The rows as the README's table: page, role, cold and warm seconds, within target."""
    lines = ["| page | role | cold s | warm s | target | within | cold run waited on |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        page, _, role = str(row["contender"]).rpartition("/")
        lines.append(f"| {page} | {role} | {float(str(row['cold_s'])):.2f} | "
                     f"{float(str(row['warm_s'])):.2f} | {row['target']} | "
                     f"{'yes' if row['ok'] else '**no**'} | "
                     f"{str(row['waits_on']).replace('|', '&#124;')} |")
    return "\n".join(lines)


def walk(browser: Any, home: Path, roles: Sequence[str], visits: Sequence[Visit],
         before: Callable[[], None] | None = None) -> dict[str, tuple[Timing, Timing]]:
    """Each role's walk (:func:`walk_role`), ``before`` run before each."""
    timings: dict[str, tuple[Timing, Timing]] = {}
    for role in roles:
        started = time.perf_counter()
        mine = [v for v in visits if v.role == role]
        timings |= walk_role(browser, home, role, mine, before)
        print(f"({role}: {len(mine)} pages walked twice in "
              f"{time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return timings


def run(events: int | None = None, roles: Sequence[str] = ROLES, pages: Sequence[str] = (),
        cold: str = "ingest") -> dict[str, Any]:
    """Every page of ``roles`` on the demo workspace (``events`` None) or on the workspace
    of ``events`` generated events: ``{"empty": rows, "ingest": rows, "warm_up": ...}`` (or
    ``"first"`` and ``"first_warm_up"``), the rows of :func:`rows_for` for each cold kind walked
    (``cold``: ``ingest``, ``first`` or ``empty``; see the module's docstring)."""
    home = ensure_workspace(events)
    label = f"{events_in(home):,} events" + (" (demo workspace)" if events is None else "")
    targets = TARGETS["demo" if events is None else "large"]
    visits = plan(roles, pages)
    result: dict[str, Any] = {}
    with chromium() as browser:
        if cold == "empty" or (cold == "ingest" and not has_recipes(home)):
            result["empty"] = rows_for(label, targets, visits, walk(browser, home, roles, visits))
        if cold == "ingest":
            result["warm_up"], timings = _after_ingest(browser, home, roles, visits)
            result["ingest"] = rows_for(f"{label}, after an ingest", targets, visits, timings)
        if cold == "first":
            recipes, aside = home / "cache" / "recipes", OUT / "pages-recipes-aside"
            shutil.rmtree(aside, ignore_errors=True)
            if recipes.exists():
                recipes.replace(aside)
            empty_cache(home)
            try:
                result["first_warm_up"], timings = _after_ingest(browser, home, roles, visits)
                result["first"] = rows_for(f"{label}, after a first ingest", targets, visits,
                                           timings)
            finally:  # the workspace's own recipes back (the first views' go)
                shutil.rmtree(recipes, ignore_errors=True)
                if aside.exists():
                    aside.replace(recipes)
    return result


def _after_ingest(browser: Any, home: Path, roles: Sequence[str], visits: Sequence[Visit],
                  ) -> tuple[dict[str, Any], dict[str, tuple[Timing, Timing]]]:
    """A new batch ingested and its warm-up waited for; then each role's walk, on the kept
    results as the warm-up left them; the batch dropped at the end."""
    new = ingest_new_batch(home)
    print(f"(ingested {new.events:,} new events in {new.ingest_s:.1f} s; the warm-up "
          f"was done {new.ready_s:.1f} s later: the first views' "
          f"{new.report.get('first_views', 0)} results and {new.report.get('computed')} kept, "
          f"{len(new.report.get('failed') or {})} failed)", file=sys.stderr, flush=True)
    snapshot = OUT / "pages-cache-snapshot"
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(home / "cache", snapshot,
                    ignore=shutil.ignore_patterns("recipes", "*.lock", "*.log"))
    try:
        timings = walk(browser, home, roles, visits, lambda: restore_cache(home, snapshot))
    finally:
        drop_batch(home, new.batch_id)
        shutil.rmtree(snapshot, ignore_errors=True)
    return {**new.__dict__}, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", choices=("demo", "10m"), default="demo",
                        help="the demo workspace, or the one with 10M generated events")
    parser.add_argument("--events", type=int, default=None,
                        help="the workspace with this many generated events (over --workspace)")
    parser.add_argument("--roles", default="",
                        help="comma-separated roles or demo users (default: all five)")
    parser.add_argument("--pages", default="",
                        help="comma-separated url paths or scripts (default: every page)")
    parser.add_argument("--cold", choices=("ingest", "first", "empty"), default="ingest",
                        help="cold: after an ingest and its warm-up (default), after a first "
                             "ingest (no recipes: the warm-up's first views), or with nothing "
                             "kept")
    args = parser.parse_args()
    events = args.events if args.events else (10_000_000 if args.workspace == "10m" else None)
    pages = tuple(p.strip() for p in args.pages.split(",") if p.strip())
    started, load = time.perf_counter(), os.getloadavg()[0]
    result = run(events, parse_roles(args.roles), pages, args.cold)
    name = f"pages-{'demo' if events is None else events}"
    titles = {"empty": "nothing kept", "first": "after a first ingest",
              "ingest": "after an ingest"}
    for kind, title in titles.items():
        if kind not in result:
            continue
        rows = result[kind]
        out = OUT / f"{name}{'' if kind == 'ingest' else '-' + kind}.json"
        out.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"\n## cold: {title}\n")
        print(markdown_table(rows))
        over = [r for r in rows if not r["ok"]]
        print(f"\n{len(rows) - len(over)} of {len(rows)} within target; rows in {out}")
    for kind in ("warm_up", "first_warm_up"):
        if kind in result:
            (OUT / f"{name}-{kind.replace('_', '-')}.json").write_text(
                json.dumps(result[kind], indent=2), encoding="utf-8")
    print(f"({time.perf_counter() - started:.0f} s; load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
