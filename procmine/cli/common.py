"""What every ``procmine`` command shares: consoles, common options, JSON output, progress."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from procmine import ProcmineError
from procmine.cli.root import BareFlagsCommand as _Command
from procmine.cli.root import BareFlagsGroup as _Group

__all__ = [
    "BaselineOption",
    "CliApp",
    "Column",
    "EngineOption",
    "HomeOption",
    "JsonOption",
    "LangOption",
    "MasterOption",
    "NoWarmOption",
    "WaitOption",
    "WideOption",
    "err",
    "fit_table",
    "out",
    "print_json",
    "print_table",
    "progress_bar",
    "start_warm_up_for",
    "step_namer",
]

out = Console()
err = Console(stderr=True)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Workspace folder (default: $PROCMINE_HOME or ./workspace)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
NoWarmOption = Annotated[bool, typer.Option(
    "--no-warm", help="Do not start the warm-up (procmine warm) in the background.")]
BaselineOption = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        help="A bank's own baseline CSV (business_type, standard_seconds, ...) instead of the "
        "bundled 58 types.",
    ),
]

EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        help="Query engine: duckdb (in-process, the default) or spark (the spark extra; local "
        "mode unless --master is given).",
    ),
]
MasterOption = Annotated[
    str | None,
    typer.Option(
        "--master",
        help="Spark master URL for --engine spark (default local[2]; e.g. spark://host:7077).",
    ),
]

def _language(value: str) -> str:
    """``--lang``: zh or en (zh-CN is taken for zh)."""
    chosen = value.strip().lower()
    chosen = "zh" if chosen in ("zh", "zh-cn") else chosen
    if chosen not in ("zh", "en"):
        raise typer.BadParameter(f"{value!r}: choose zh or en")
    return chosen


LangOption = Annotated[
    str,
    typer.Option(
        "--lang", envvar="PROCMINE_LANG", callback=_language, metavar="zh|en",
        help="Step names in Chinese (zh) or English (en): the SOP step's name, else the "
        "activity glossary's (sops/activities.csv), else the log's (default en; "
        "$PROCMINE_LANG).",
    ),
]


#: ``--wait``: how long a writer (an ingest, a batch drop) waits for another one.
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        help="Seconds to wait while another ingest or batch drop holds the store, before "
        "giving up (default 600).",
    ),
]


def step_namer(home: Path | None, lang: str) -> Callable[[str], str]:
    """An activity's display name in ``lang`` (``--lang``) for a command's tables: the
    workspace library's SOP step names (the bundled SOPs' when it has none yet), then its
    activity glossary, then the log name. A glossary with a bad row is reported on stderr
    (with its line) and left out."""
    # the SOP library's modules load only for a command that names steps
    from procmine import SopLibrary, activity_names, bundled_sops_dir, sops_folder

    library = SopLibrary.open(home) if sops_folder(home) != bundled_sops_dir() else None
    try:
        names = activity_names(library)
    except ProcmineError as exc:
        err.print(f"warning: {exc}", highlight=False, markup=False)
        names = activity_names(library, strict=False)
    return lambda activity: names.name(str(activity), lang)


class CliApp(typer.Typer):
    """A ``typer.Typer`` for every command group of ``procmine``: help text in markdown (a
    docstring's paragraphs reflow to the terminal's width; a blank line starts a new one) and
    flags without a stray ``<bool>``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("rich_markup_mode", "markdown")
        super().__init__(cls=_Group, **kwargs)

    def command(self, name: str | None = None, *, cls: Any = None,  # type: ignore[override]
                **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return super().command(name, cls=cls or _Command, **kwargs)


def command_actor() -> str:
    """Who ran a command that names no user, for the audit trail (``cli:<login name>``)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in some containers
        return "cli"


def parse_day(text: str | None, option: str) -> date | None:
    """The date an option gives as YYYY-MM-DD (None when not given); a clear error otherwise."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ProcmineError(f"{option} {text!r}: expected a date YYYY-MM-DD") from exc


def print_json(data: Any) -> None:
    """JSON on stdout (UTF-8, Chinese as is)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, float], None] | None]:
    """A progress bar on stderr that library code drives with (phase, fraction)."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description:<8}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, fraction: float) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=1.0)
            bar.update(tasks[phase], completed=fraction)

        yield update


# -- tables that fit the terminal ------------------------------------------------------------------

WideOption = Annotated[bool, typer.Option(
    "--wide", help="Every column, each at its full width (wider than the terminal when need be; "
    "e.g. for less -S); by default the table fits the terminal: every column when all fit, "
    "else the essential ones.")]


@dataclass(frozen=True)
class Column:
    """A column of a terminal table: ``key`` (an id, never cut), ``num`` (right-aligned, never
    cut), ``text`` (wraps, folds a long word); ``essential`` ones are shown without ``--wide``."""

    header: str
    kind: Literal["key", "num", "text"] = "text"
    essential: bool = True


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


def fit_table(title: str | None, columns: Sequence[Column], rows: Iterable[Sequence[object]], *,
              wide: bool = False, caption: str | None = None,
              width: int | None = None) -> Table:
    """A rich table of ``rows`` (one value per column; None prints empty) that keeps its place:
    compact (every column when all fit ``width``, by default the terminal's or ``COLUMNS``;
    else the ``essential`` ones, fitted to it: headers wrap between words and are never cut to
    an ellipsis, ids and numbers are never cut, text wraps) or, with ``wide``, every column
    at its full width. Print it with :func:`print_table`."""
    cells = [["" if value is None else str(value) for value in row] for row in rows]
    width = width or Console().width
    data = [max((cell_len(line) for r in cells for line in r[j].splitlines() or [""]),
                default=0) for j in range(len(columns))]
    natural = [max(cell_len(c.header), d) for c, d in zip(columns, data, strict=True)]
    if not wide and sum(natural) + 3 * len(columns) + 1 > width:  # not all fit: the essentials
        index = [i for i, c in enumerate(columns) if c.essential]
        columns, cells = [columns[i] for i in index], [[r[i] for i in index] for r in cells]
        data, natural = [data[i] for i in index], [natural[i] for i in index]
    shown = columns
    widths = natural if wide else _fit(shown, data, natural, width)
    table = Table(title=title, caption=caption)
    for column, w in zip(shown, widths, strict=True):
        table.add_column(column.header, justify="right" if column.kind == "num" else "left",
                         width=w, no_wrap=wide, overflow="fold")
    for row_cells in cells:
        table.add_row(*row_cells)
    return table


def _fit(columns: Sequence[Column], data: list[int], natural: list[int], width: int) -> list[int]:
    """Column widths within ``width``: each at least its longest header word (and its longest
    value, for ids and numbers, while they fit); what is left goes to the columns that want
    more, ids and numbers first."""
    room = width - 3 * len(columns) - 1  # borders and padding
    if sum(natural) <= room:
        return natural
    least = [max(_longest_word(c.header), d if c.kind != "text" else min(d, 12))
             for c, d in zip(columns, data, strict=True)]
    floor = [max(_longest_word(c.header), 1) for c in columns]
    order: tuple[tuple[str, ...], ...] = (("text",), ("key", "num", "text"))
    for kinds in order:
        # still too wide: values fold, text first, the widest first; headers stay whole
        while sum(least) > room:
            i = max((j for j, c in enumerate(columns) if c.kind in kinds),
                    key=lambda j: least[j] - floor[j], default=None)
            if i is None or least[i] <= floor[i]:
                break
            least[i] -= 1
    widths = list(least)
    order = (("key", "num"), ("text",))
    for kinds in order:
        wanting = [i for i, c in enumerate(columns) if c.kind in kinds]
        while (spare := room - sum(widths)) > 0:
            short = [i for i in wanting if widths[i] < natural[i]]
            if not short:
                break
            for i in short[:spare]:
                widths[i] += 1
    return widths


def print_table(table: Table, console: Console | None = None) -> None:
    """Print a :func:`fit_table` table on ``console`` (a new one by default: the terminal or
    ``COLUMNS`` of this run); a ``--wide`` table (no column wraps) wider than the console at
    its own width."""
    console = console or Console()
    natural = Measurement.get(console, console.options.update_width(100_000), table).maximum
    if natural > console.width and all(c.no_wrap for c in table.columns):
        # a --wide table: at its width, not folded into the terminal's
        console = Console(width=natural, file=console.file)
    console.print(table)


def start_warm_up_for(store: Any, *, quiet: bool) -> None:
    """Start the warm-up (``procmine warm``) in the background after the store changed, when
    there are kept results to compute again; say so unless ``quiet``."""
    from procmine import start_warm_up

    pid = start_warm_up(store)
    if pid is not None and not quiet:
        err.print(f"warming the dashboard's kept results in the background (procmine warm, "
                  f"pid {pid}; its log: {store.home / 'cache' / 'warm.log'})", highlight=False)
