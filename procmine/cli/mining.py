"""``procmine bottlenecks``: the slow steps of tellers and branches, most time lost first.

Thin, like the rest of the command line: it calls
:func:`procmine.analysis.bottlenecks.find_bottlenecks`.
Mistakes raise ProcmineError, which ``procmine.cli.main.main`` prints without a traceback.

Example:
    $ procmine bottlenecks
    $ procmine bottlenecks --month 2026-10 --ratio 2 --min-cases 50
    $ procmine bottlenecks --json > findings.json
    $ procmine bottlenecks --engine spark --master local[4]
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from procmine.analysis.bottlenecks import Finding, find_bottlenecks
from procmine.cli.common import (
    BaselineOption,
    EngineOption,
    HomeOption,
    JsonOption,
    MasterOption,
    err,
    print_json,
    progress_bar,
)
from procmine.core.baseline import load_baseline
from procmine.sop.links import workspace_references
from procmine.store.engine import get_engine
from procmine.store.event_store import EventStore

__all__ = ["bottlenecks"]


def _who(f: Finding) -> str:
    if f.scope == "teller":
        return f"{f.teller_id} ({f.branch_id})"
    return f"{f.branch_id} ({len(f.tellers_flagged)}/{f.tellers_eligible} tellers)"


def bottlenecks(
    baseline_file: BaselineOption = None,
    min_cases: Annotated[
        int, typer.Option("--min-cases", help="Fewest steps a teller or branch needs on a type "
                          "x step to be judged.", min=1)
    ] = 30,
    ratio: Annotated[
        float, typer.Option("--ratio", help="How far above the reference a median must be to "
                            "count as slow (1.5 = 50% above).", min=1.0)
    ] = 1.5,
    q: Annotated[
        float, typer.Option("--q", help="False-discovery rate of the Mann-Whitney tests "
                            "(Benjamini-Hochberg).", min=0.0, max=1.0)
    ] = 0.05,
    month: Annotated[
        str | None, typer.Option("--month", help="Only this month, YYYY-MM (default: all data).")
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
    use_sops: Annotated[
        bool, typer.Option("--sop/--no-sop", help="Judge steps against the SOP step standards "
                           "in force on each transaction's date, from the workspace's SOP "
                           "library (the default when it has one), or only against the baseline "
                           "shares.")
    ] = True,
) -> None:
    """Find the slow steps: a teller x business type x step (or a branch's, when most of its
    tellers share it) whose median is materially above the step's reference time and
    significantly above the rest of the bank, ranked by the teller hours it costs a month.

    A step's reference is the business type's standard time (from the baseline) times the step's
    bank-wide median share of the transaction, or, where an approved SOP governs the step, the
    SOP step's standard in force on the transaction's date (the finding names the SOP step).
    With --json each finding carries its evidence:
    rework, waits before the step, and its times by amount band, hour and window type next to
    its branch's and the bank's. --engine spark runs the queries on Apache Spark (local mode,
    or the cluster of --master) with the same results.
    """
    out = Console()
    store = EventStore(home)
    baseline = load_baseline(baseline_file)
    engine = get_engine(engine_name, store, master)
    try:
        with progress_bar(err.is_terminal) as progress:
            findings = find_bottlenecks(
                store, baseline, ratio=ratio, min_cases=min_cases, q=q, month=month,
                evidence=as_json, engine=engine,
                step_references=workspace_references(store.home) if use_sops else None,
                progress=progress,
            )
    finally:
        engine.close()
    if as_json:
        print_json([f.to_dict() for f in findings])
        return
    period = month or "all months"
    if not findings:
        out.print(f"No slow steps in {period} (ratio {ratio:g}, at least {min_cases} steps, "
                  f"q {q:g}).", highlight=False)
        return
    view = Table(title=f"Slow steps, {period}: {len(findings)} findings, most time lost first")
    for column, justify in (("#", "right"), ("scope", "left"), ("who", "left"),
                            ("type", "left"), ("step", "left"), ("cases", "right"),
                            ("median s", "right"), ("reference s", "right"),
                            ("ratio", "right"), ("q", "right"), ("hours/month", "right"),
                            ("SOP step", "left")):
        view.add_column(column, justify=justify)  # type: ignore[arg-type]
    for rank, f in enumerate(findings, start=1):
        view.add_row(
            str(rank), f.scope, _who(f), f.business_type, f.activity, f"{f.cases:,}",
            f"{f.median_seconds:,.0f}", f"{f.reference_seconds:,.0f}", f"{f.ratio:.1f}x",
            f"{f.q_value:.1g}" if f.q_value > 0 else "<1e-300", f"{f.monthly_teller_hours:,.1f}",
            f"{f.sop} {f.sop_version} #{f.sop_step}" if f.sop else "",
        )
    out.print(view)
    for rank, f in enumerate(findings[:5], start=1):
        out.print(f"{rank}. {f.summary}", highlight=False)
