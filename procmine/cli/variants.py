"""``procmine variants``: the step sequences a business type's cases follow, most frequent first.

Thin, like the rest of the command line: it parses its options, calls
:func:`procmine.variants` (with the workspace's SOP library, when it has one, to mark the
variant the SOP prescribes) and prints the table. Each variant is a line of figures (rank,
cases, share, cumulative share, median dwell, ``*`` on the SOP's variant, number of steps)
with its steps wrapped under it, so the table fits an 80-column terminal however long the
sequences are. ``--json`` prints :meth:`procmine.VariantTable.to_dict`.

Example:
    $ procmine variants --type P18
    $ procmine variants --type P18 --month 2026-10 --branch B01 --top 5
    $ procmine variants --type P18 --json > variants.json
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Final

import typer
from rich.cells import cell_len
from rich.console import Console

from procmine import (
    EventStore,
    Filters,
    ProcmineError,
    SopLibrary,
    VariantTable,
    bundled_sops_dir,
    filter_options,
    get_engine,
    sops_folder,
    variants,
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

__all__ = ["variant_lines", "variants_command"]

#: The width the text is laid out for.
WIDTH: Final = 80
_INDENT: Final = "      "
_HEAD: Final = "rank      cases   share  cumul.  median dwell  steps"


def _steps(activities: Sequence[str], width: int) -> list[str]:
    """The steps joined by ``>``, in lines of at most ``width`` cells, broken between steps
    (a step longer than a line is cut)."""
    lines: list[str] = []
    line = ""
    for i, step in enumerate(activities):
        part = step + (" >" if i < len(activities) - 1 else "")
        if line and cell_len(line) + 1 + cell_len(part) > width:
            lines.append(line)
            line = ""
        line = f"{line} {part}" if line else part
        if cell_len(line) > width:
            line = line[:width - 3] + "..."
    return [*lines, line] if line else lines


def _duration(seconds: float) -> str:
    if seconds != seconds:  # NaN: no dwell time
        return "–"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


def variant_lines(table: VariantTable, period: str, width: int = WIDTH, *,
                  has_library: bool = True, step_name: Callable[[str], str] = str) -> list[str]:
    """The table as text of at most ``width`` cells a line: a heading, then each variant's
    figures with its steps under them (named by ``step_name``), then where the SOP's variant
    stands (or why none is marked: no SOP library in the workspace, without
    ``has_library``)."""
    what = table.business_type or "every type"
    lines = [f"Variants of {what}, {period}: {table.cases:,} cases, "
             f"{table.variant_count:,} variants"]
    if table.sop is not None:
        lines.append(f"* = the variant {table.sop} prescribes (its standard path)")
    lines.append(_HEAD)
    for row in table.frame.to_dict("records"):
        mark = "*" if row["prescribed"] else " "
        lines.append(f"{row['rank']:>4} {mark} {row['cases']:>8,} {row['share']:>7.1%} "
                     f"{row['cumulative_share']:>7.1%} "
                     f"{_duration(row['median_dwell_seconds']):>13}  {row['length']:>5}")
        lines += [_INDENT + s for s in _steps([step_name(a) for a in row["activities"]],
                                              width - len(_INDENT))]
    if table.prescribed is not None and not table.frame["prescribed"].any():
        if table.prescribed_rank is None:
            lines.append(f"No case follows the variant {table.sop} prescribes:")
        else:
            lines.append(f"The variant {table.sop} prescribes is rank {table.prescribed_rank} "
                         f"with {table.prescribed_cases:,} "
                         f"{'case' if table.prescribed_cases == 1 else 'cases'}:")
        lines += [_INDENT + s for s in _steps([step_name(a) for a in table.prescribed],
                                              width - len(_INDENT))]
    elif table.business_type is not None and not has_library:
        lines.append("The workspace has no SOP library yet: no variant is marked as the SOP's.")
    elif table.business_type is not None and table.sop is None:
        lines.append(f"No approved SOP in the workspace's library governs {what}.")
    return lines


def _nothing(store: EventStore, business_type: str | None, engine_name: str,
             master: str | None) -> ProcmineError:
    """The error for a request without cases, naming the types with data."""
    engine = get_engine(engine_name, store, master)
    try:
        types = filter_options(store, engine=engine)["business_type"]
    finally:
        engine.close()
    if not types:
        return ProcmineError("the store has no events; ingest an event log first "
                             "(procmine ingest FILE)")
    what = f"type {business_type}" if business_type else "any type"
    return ProcmineError(f"no cases of {what} with these options; business types with data: "
                         f"{', '.join(types)}")


def variants_command(
    business_type: Annotated[
        str | None, typer.Option("--type", metavar="CODE",
                                 help="Only this business type, e.g. P18 (default: every "
                                 "type, with no SOP's variant marked).")
    ] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="Only this month, YYYY-MM (default: all data).")
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Only this branch's cases (default: all).")
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, help="Show the N most frequent variants; shares "
                          "are still of all cases.")
    ] = 10,
    home: HomeOption = None,
    as_json: JsonOption = False,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
    lang: LangOption = "en",
) -> None:
    """The variants of a business type: the step sequences its cases follow (steps ordered by
    their start), with cases, share of all cases, cumulative share and median dwell time
    (first step's start to last step's end), most frequent first; ties by their steps.

    The variant the SOP prescribes (the standard path of the latest approved SOP version that
    governs the type, in the workspace's SOP library) is marked *, and where it stands is said
    when --top cut it off. --json prints every figure (with the p90 dwell and the SOP's
    sequence). --engine spark runs the query on Apache Spark. --lang zh names the steps in
    Chinese.
    """
    store = EventStore(home)
    filters = (Filters.for_month(month, branches=(branch,) if branch else ())
               if month else Filters(branches=(branch,) if branch else ()))
    library = SopLibrary.open(store.home) if sops_folder(store.home) != bundled_sops_dir() \
        else None
    engine = get_engine(engine_name, store, master)
    try:
        table = variants(store, business_type=business_type, filters=filters, library=library,
                         engine=engine, top=top)
    finally:
        engine.close()
    if table.cases == 0:
        raise _nothing(store, business_type, engine_name, master)
    if as_json:
        print_json(table.to_dict())
        return
    period = " ".join(p for p in (f"branch {branch}" if branch else "", month or "all months")
                      if p)
    out = Console(width=WIDTH)
    for line in variant_lines(table, period, has_library=library is not None,
                              step_name=step_namer(home, lang)):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
