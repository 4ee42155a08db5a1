"""``procmine conformance``: each transaction against the SOP in force, as text or JSON.

Thin, like the rest of the command line: it parses its options, calls
:func:`procmine.conformance` with the workspace's SOP library (seeded from the bundled SOPs on
first use, as the dashboard does) and :func:`procmine.deviation_findings`, and prints on an
80-column terminal: the totals (transactions checked and unchecked, the share that conforms,
the mean fitness, the transactions with a skipped control step), the findings numbered 1..N,
the most frequent deviations (``--top``) and the fitness per branch. ``--controls`` prints
only the skipped control steps, one line per transaction and step (the compliance group's
list). ``--json`` prints :meth:`procmine.ConformanceReport.to_dict` plus ``findings``.

The findings' numbers are those of :func:`run_deviation_findings`, which ``procmine improve
add --deviation N`` uses too: the same options give the same numbering. With ``--teller`` the
totals and tables are that teller's, and the findings listed are the teller's among those of
the whole selection, with their numbers there (a teller is judged against peers).

Example:
    $ procmine conformance --type P18
    $ procmine conformance --type P18 --month 2026-10 --branch B01 --top 5
    $ procmine conformance --controls
    $ procmine conformance --type P18 --json > conformance.json
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Final

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from procmine import (
    ConformanceReport,
    DeviationFinding,
    EventStore,
    Filters,
    ProcmineError,
    SopLibrary,
    conformance,
    deviation_findings,
    get_engine,
)
from procmine.cli.common import (
    EngineOption,
    HomeOption,
    JsonOption,
    LangOption,
    MasterOption,
    print_json,
    step_namer,
)
from procmine.cli.maps import no_transactions

__all__ = ["conformance_command", "run_deviation_findings"]

#: The width the text is laid out for.
WIDTH: Final = 80
#: The case ids a finding lists in the text (--json has them all).
_CASES_SHOWN: Final = 5


def _filters(month: str | None, branch: str | None, teller: str | None) -> Filters:
    branches, tellers = (branch,) if branch else (), (teller,) if teller else ()
    return (Filters.for_month(month, branches=branches, tellers=tellers) if month
            else Filters(branches=branches, tellers=tellers))


def _what(business_type: str | None, month: str | None, branch: str | None,
          teller: str | None = None) -> str:
    parts = [f"type {business_type}" if business_type else "every type",
             month or "all months"]
    parts += [f"branch {branch}"] if branch else []
    parts += [f"teller {teller}"] if teller else []
    return ", ".join(parts)


def _nothing(store: EventStore, report: ConformanceReport, library: SopLibrary, what: str,
             engine_name: str, master: str | None) -> ProcmineError:
    """The error for a report that checked nothing: the types an SOP governs when there were
    transactions but no SOP in force, else what has data (:func:`no_transactions`)."""
    if report.unchecked:
        governed = sorted({code for sop_id in library.ids()
                           if (version := library.approved(sop_id)) is not None
                           for code in version.sop.business_types})
        return ProcmineError(f"no SOP was in force for the {report.unchecked:,} transactions "
                             f"of {what}; business types an approved SOP governs: "
                             f"{', '.join(governed) or 'none'}")
    return no_transactions(store, what, engine_name, master)


def _run(home: Path | None, business_type: str | None, filters: Filters, what: str,
         engine_name: str, master: str | None) -> ConformanceReport:
    store = EventStore(home)
    library = SopLibrary.open(store.home)
    engine = get_engine(engine_name, store, master)
    try:
        report = conformance(store, library, business_type=business_type, filters=filters,
                             engine=engine)
    finally:
        engine.close()
    if report.cases == 0:
        raise _nothing(store, report, library, what, engine_name, master)
    return report


def run_deviation_findings(home: Path | None, *, business_type: str | None = None,
                           month: str | None = None, branch: str | None = None,
                           engine_name: str = "duckdb", master: str | None = None
                           ) -> tuple[ConformanceReport, list[DeviationFinding]]:
    """The conformance report of a workspace's transactions (one type, month, branch when
    given) and its findings, numbered 1..N in this order by ``procmine conformance`` and
    ``procmine improve add --deviation N``. A :class:`procmine.ProcmineError` says what has
    data when nothing was checked."""
    report = _run(home, business_type, _filters(month, branch, None),
                  _what(business_type, month, branch), engine_name, master)
    return report, deviation_findings(report)


# -- text ----------------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return "–" if value != value else f"{value:.1%}"


def _totals(report: ConformanceReport, what: str) -> list[str]:
    risky = int(report.control_risks()["case_id"].nunique())
    sops = ", ".join(sorted({m.key for m in report.models.values()})) or "–"
    return [f"Conformance of {what} to the SOP in force:",
            f"  checked {report.cases:,} transactions; unchecked {report.unchecked:,} "
            "(no SOP in force)",
            f"  conforming {_pct(report.conformance_rate)}; mean fitness {report.fitness:.3f}; "
            f"with a skipped control step {risky:,}",
            *textwrap.wrap(f"SOP versions: {sops}", WIDTH, initial_indent="  ",
                           subsequent_indent="    ")]


def _findings_table(numbered: list[tuple[int, DeviationFinding]], total: int,
                    step_name: Callable[[str], str] = str) -> Table:
    title = (f"Findings ({len(numbered)} of {total}; act on one with procmine improve add "
             "--deviation N)" if len(numbered) < total else
             f"Findings ({total}; act on one with procmine improve add --deviation N)")
    view = Table.grid(padding=(0, 1))
    view.title, view.title_justify = title, "left"
    view.add_column(justify="right", no_wrap=True)
    view.add_column(overflow="fold")
    for number, finding in numbered:
        shown = ", ".join(finding.case_ids[:_CASES_SHOWN])
        more = len(finding.case_ids) - _CASES_SHOWN
        shown += f" (+{more} more)" if more > 0 else ""
        view.add_row(f"{number}.", replace(finding, activity=step_name(finding.activity))
                     .summary_in("en"))
        view.add_row("", f"review group {finding.review_group}; transactions: {shown}")
    return view


def _ranked_table(report: ConformanceReport, top: int,
                  step_name: Callable[[str], str] = str) -> Table:
    ranked = report.ranked()
    title = f"Deviations, most frequent first ({min(top, len(ranked))} of {len(ranked)})"
    view = Table(title=title, title_justify="left")
    view.add_column("kind", no_wrap=True)
    view.add_column("type", no_wrap=True)
    view.add_column("step", overflow="fold")
    view.add_column("SOP", no_wrap=True)
    for name in ("times", "share", "time s"):
        view.add_column(name, justify="right", no_wrap=True)
    for row in ranked.head(top).to_dict("records"):
        kind = f"{row['kind']}!" if row["kind"] == "skipped" and row["control"] else row["kind"]
        view.add_row(kind, str(row["business_type"]), step_name(row["activity"]), str(row["sop"]),
                     f"{int(row['occurrences']):,}", _pct(float(row["share"])),
                     f"{float(row['seconds']):,.0f}")
    return view


def _branches_table(report: ConformanceReport) -> Table:
    view = Table(title="Fitness per branch, lowest first", title_justify="left")
    view.add_column("branch", no_wrap=True)
    for name in ("checked", "conforming", "fitness", "deviations", "control risks"):
        view.add_column(name, justify="right", no_wrap=True)
    for row in report.level("branch").to_dict("records"):
        view.add_row(str(row["branch_id"]), f"{int(row['cases']):,}",
                     _pct(float(row["conformance_rate"])), f"{float(row['fitness']):.3f}",
                     f"{int(row['deviations']):,}", f"{int(row['control_risk_cases']):,}")
    return view


def _controls_table(report: ConformanceReport, step_name: Callable[[str], str] = str) -> Table:
    """One line per skipped control step (no vertical rules: a case id and a step name fit
    on 80 columns)."""
    risks = report.control_risks()
    view = Table(title=f"Skipped control steps: {len(risks):,} in "
                 f"{risks['case_id'].nunique():,} transactions", title_justify="left",
                 box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for name in ("case", "teller", "branch", "day", "SOP"):
        view.add_column(name, no_wrap=name != "case", overflow="fold")
    view.add_column("step", overflow="fold")
    for row in risks.to_dict("records"):
        day = "" if pd.isna(row["day"]) else str(row["day"])[:10]
        view.add_row(str(row["case_id"]), str(row["teller_id"]), str(row["branch_id"]), day,
                     str(row["sop"]), step_name(row["activity"]))
    return view


def _print_text(report: ConformanceReport, numbered: list[tuple[int, DeviationFinding]],
                total: int, what: str, top: int, controls: bool,
                step_name: Callable[[str], str] = str) -> None:
    out = Console(width=WIDTH)
    for line in _totals(report, what):
        out.print(line, highlight=False, markup=False)
    out.print()
    if controls:
        if report.control_risks().empty:
            out.print("No control step was skipped.", highlight=False)
        else:
            out.print(_controls_table(report, step_name), highlight=False)
        return
    if numbered:
        out.print(_findings_table(numbered, total, step_name), highlight=False)
    else:
        out.print("No findings: no teller stands out and no control step was skipped.",
                  highlight=False)
    out.print()
    if report.deviations.empty:
        out.print("No deviations: every transaction followed its SOP.", highlight=False)
    else:
        out.print(_ranked_table(report, top, step_name), highlight=False)
        out.print("skipped! = a skipped control step (a control risk)", highlight=False)
    out.print()
    out.print(_branches_table(report), highlight=False)


def _json(report: ConformanceReport, numbered: list[tuple[int, DeviationFinding]]
          ) -> dict[str, Any]:
    data = report.to_dict()
    data["findings"] = [{"number": n, **f.to_dict()} for n, f in numbered]
    return data


def conformance_command(
    business_type: Annotated[
        str | None, typer.Option("--type", metavar="CODE",
                                 help="Only this business type, e.g. P18 (default: every "
                                 "type an SOP governs).")
    ] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="Only this month, YYYY-MM (default: all data).")
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Only this branch's transactions.")
    ] = None,
    teller: Annotated[
        str | None, typer.Option("--teller", help="Only this teller's transactions and "
                                 "findings (the findings still judge the teller against peers).")
    ] = None,
    controls: Annotated[
        bool, typer.Option("--controls", help="Only the skipped control steps, each with its "
                           "transaction (the compliance group's list).")
    ] = False,
    top: Annotated[
        int, typer.Option("--top", min=1, help="Show the N most frequent deviations.")
    ] = 10,
    home: HomeOption = None,
    as_json: JsonOption = False,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
    lang: LangOption = "en",
) -> None:
    """Each transaction against the SOP version in force on its day at its branch: skipped
    steps (a skipped control step is a control risk), extra steps, rework and order deviations.

    Prints the totals (checked, unchecked, conforming share, mean fitness), the findings
    numbered 1..N (what procmine improve add --deviation N acts on), the deviations ranked by
    occurrences with their time, and the fitness per branch; --controls only the skipped
    control steps with their transactions. --json prints every figure and the findings.
    --lang zh names the steps in Chinese.
    """
    whole, found = run_deviation_findings(home, business_type=business_type, month=month,
                                          branch=branch, engine_name=engine_name,
                                          master=master)
    numbered = list(enumerate(found, start=1))
    report = whole
    if teller:
        report = _run(home, business_type, _filters(month, branch, teller),
                      _what(business_type, month, branch, teller), engine_name, master)
        numbered = [(n, f) for n, f in numbered if f.teller_id == teller]
    if as_json:
        print_json(_json(report, numbered))
        return
    _print_text(report, numbered, len(found), _what(business_type, month, branch, teller),
                top, controls, step_namer(home, lang))
