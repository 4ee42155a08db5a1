"""CPU seconds of one dashboard page's script run, cold and warm, without a browser.

Run as ``python bench/bench_page_cpu.py --home WORKSPACE --role operations --page overview
[--profile out.prof]``: in this process (a fresh one: nothing imported yet), the workspace's
result cache (``cache/``) emptied, the app is run by Streamlit's AppTest signed in as the demo
user of the role, on its landing page, then switched to ``--page`` (its url path or script
name; the landing page when omitted). It prints the CPU seconds (``time.process_time``, which
other work on a loaded machine does not inflate as much as wall time) of:

- **landing**: the first run, signed in (the role's first page; imports included, as a fresh
  server pays them; with ``--form-first`` the sign-in form is drawn first, untimed, as in a
  browser, so that what is timed is the sign-in's own);
- **cold**: for another page, its first run after the landing page's (what it computes that
  the landing page did not); the landing page's own when ``--page`` is omitted;
- **warm**: the same page run again (the caches of this process and of the workspace filled).

The same run with ``--profile`` writes the cold run's cProfile (the page's, after the landing
page's) to a file (``python -m pstats``).
Numbers are relative: compare a page before and after a change on the same machine; the page
bench (``bench/bench_pages.py``) measures what a user sees in a browser.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))


def _profile_script_threads(profiler: cProfile.Profile | None) -> None:
    """Profile the script runs (AppTest runs each in a thread of its own) with ``profiler``;
    None: stop."""
    from streamlit.testing.v1.local_script_runner import (
        LocalScriptRunner,
    )

    original = getattr(LocalScriptRunner, "_unprofiled", LocalScriptRunner._run_script_thread)
    LocalScriptRunner._unprofiled = original  # type: ignore[attr-defined]
    if profiler is None:
        LocalScriptRunner._run_script_thread = original  # type: ignore[method-assign]
        return

    def run(self: LocalScriptRunner) -> None:
        profiler.enable()
        try:
            original(self)
        finally:
            profiler.disable()

    LocalScriptRunner._run_script_thread = run  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, type=Path, help="a workspace (demo-workspace)")
    parser.add_argument("--role", default="operations")
    parser.add_argument("--page", default="", help="url path or script; the landing page if ''")
    parser.add_argument("--profile", type=Path, help="write the cold run's profile here")
    parser.add_argument("--form-first", action="store_true",
                        help="draw the sign-in form first, untimed (what a browser opening the "
                             "app pays before signing in: the imports of the sign-in page)")
    parser.add_argument("--profile-warm", action="store_true",
                        help="with --profile: profile the warm run instead of the cold one")
    parser.add_argument("--query", action="append", default=[],
                        help="KEY=VALUE in the page's address (e.g. item=1), repeatable")
    parser.add_argument("--keep-cache", action="store_true",
                        help="keep the workspace's result cache (a restarted server)")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    os.environ["PROCMINE_HOME"] = str(home)
    if not args.keep_cache:
        shutil.rmtree(home / "cache", ignore_errors=True)

    from apptest import APP, app_as, signed_in
    from streamlit.testing.v1 import AppTest

    from procmine.dashboard.registry import PAGES

    spec = next((p for p in PAGES if args.page in (p.url_path, p.script)), None)
    if args.page and spec is None:
        raise SystemExit(f"no page {args.page!r}")

    profiler = cProfile.Profile() if args.profile else None
    if args.form_first:   # the sign-in form drawn first, as a browser opening the app does
        at = AppTest.from_file(APP, default_timeout=600).run()
        at.session_state["procmine_user"] = signed_in(args.role, home)
    else:
        at = app_as(args.role, home, timeout=600)
    if profiler and spec is None and not args.profile_warm:
        _profile_script_threads(profiler)
    start = time.process_time()
    wall = time.perf_counter()
    at.run()
    landing = time.process_time() - start
    if spec is not None:
        if profiler and not args.profile_warm:
            _profile_script_threads(profiler)
        start, wall = time.process_time(), time.perf_counter()
        at.switch_page(str(spec.path.relative_to(REPO)))
        for pair in args.query:
            key, _, value = pair.partition("=")
            at.query_params[key] = value
        at.run()
    if profiler and not args.profile_warm:
        profiler.dump_stats(str(args.profile))
        _profile_script_threads(None)
    cold, cold_wall = time.process_time() - start, time.perf_counter() - wall
    assert not at.exception, at.exception
    if profiler and args.profile_warm:
        _profile_script_threads(profiler)
    start, wall = time.process_time(), time.perf_counter()
    at.run()
    warm, warm_wall = time.process_time() - start, time.perf_counter() - wall
    if profiler and args.profile_warm:
        profiler.dump_stats(str(args.profile))
        _profile_script_threads(None)
    assert not at.exception, at.exception
    name = spec.url_path if spec else "landing"
    print(f"{name:20} {args.role:15} landing cpu {landing:6.2f} s  "
          f"cold cpu {cold:6.2f} s (wall {cold_wall:6.2f})  "
          f"warm cpu {warm:6.2f} s (wall {warm_wall:6.2f})  titles {[t.value for t in at.title]}")


if __name__ == "__main__":
    main()
