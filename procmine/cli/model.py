"""``procmine model``: the model discovered for a business type, as text, JSON, BPMN or PNML.

Thin, like the rest of the command line: it parses its options, calls
:func:`procmine.process_map` and :func:`procmine.model_from_map` (what
:func:`procmine.discover_model` does, with the map at hand to say what has data when it has no
cases) and prints the result. ``text`` is the process tree in pm4py's notation (``->``
sequence, ``X`` choice, ``+`` parallel, ``*`` loop, ``tau`` a silent step), indented where a
part does not fit on an 80-column line, then the model's counts; ``json`` is
:meth:`procmine.DiscoveredModel.to_dict`; ``bpmn`` and ``pnml`` the XML a BPMN or Petri net
tool opens. ``--out FILE`` writes it to a file instead.

Example:
    $ procmine model --type P18
    $ procmine model --type P17 --month 2026-10 --branch B01 --noise 0.1
    $ procmine model --type P18 --format bpmn --out p18.bpmn
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from procmine import (
    DiscoveredModel,
    EventStore,
    Filters,
    get_engine,
    model_from_map,
    process_map,
)
from procmine.cli.common import EngineOption, HomeOption, MasterOption
from procmine.cli.maps import no_transactions, what_of

__all__ = ["FORMATS", "model_command", "tree_lines"]

#: What ``--format`` offers.
FORMATS: Final[tuple[str, ...]] = ("text", "json", "bpmn", "pnml")
#: The width the text is laid out for.
WIDTH: Final = 80


def tree_lines(tree: Any, width: int = WIDTH, indent: str = "") -> list[str]:
    """A process tree in pm4py's notation, a part on one line where it fits in ``width``, else
    its operator, its children indented under it and its closing parenthesis (a step quoted
    inside an operator, as pm4py writes it)."""
    text = str(tree)
    if not tree.children and tree.label is not None and tree.parent is not None:
        text = f"'{text}'"
    if len(indent) + len(text) <= width or not tree.children:
        return [indent + text]
    lines = [f"{indent}{tree.operator}("]
    for i, child in enumerate(tree.children):
        part = tree_lines(child, width - 1, indent + "  ")
        if i < len(tree.children) - 1:
            part[-1] += ","
        lines += part
    return [*lines, f"{indent})"]


def _counts(model: DiscoveredModel, what: str, width: int = WIDTH) -> list[str]:
    data = model.to_dict()
    transitions = data["petri_net"]["transitions"]
    silent = sum(1 for t in transitions if t["label"] is None)
    types = [n["type"] for n in data["bpmn"]["nodes"]]
    gateways = sum(1 for t in types if t.endswith("Gateway"))
    lines = [f"Model of {what}: {model.cases:,} cases, {len(model.activities())} steps, "
             f"noise threshold {model.noise_threshold:g}"]
    if model.dropped_edges:
        lines.append(f"noise left out {len(model.dropped_edges)} paths, the most frequent:")
        lines += [f"  {s} -> {t}: {n:,}"[:width] for s, t, n in model.dropped_edges[:5]]
    lines.append(f"Petri net: {len(data['petri_net']['places'])} places, {len(transitions)} "
                 f"transitions ({silent} silent), {len(data['petri_net']['arcs'])} arcs")
    lines.append(f"BPMN: {types.count('task')} tasks, {gateways} gateways, "
                 f"{len(data['bpmn']['flows'])} flows")
    return lines


def _render(model: DiscoveredModel, fmt: str, what: str) -> str:
    if fmt == "bpmn":
        return model.bpmn_xml()
    if fmt == "pnml":
        return model.pnml()
    if fmt == "json":   # as print_json writes it: UTF-8, Chinese as is
        return json.dumps(model.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n"
    return "\n".join([*tree_lines(model.tree), "", *_counts(model, what)]) + "\n"


def model_command(
    business_type: Annotated[
        str, typer.Option("--type", help="The business type whose model to discover, e.g. P18.")
    ],
    month: Annotated[
        str | None, typer.Option("--month", help="Only this month, YYYY-MM (default: all data).")
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Only this branch's steps.")
    ] = None,
    noise: Annotated[
        float, typer.Option("--noise", min=0.0, max=0.99,
                            help="Leave out rare paths: an edge taken at most this share of "
                            "its source step's most frequent way on, e.g. 0.1 (default 0: "
                            "every path).")
    ] = 0.0,
    fmt: Annotated[
        str, typer.Option("--format", help="text (the process tree and its counts), json, "
                          "bpmn (BPMN 2.0 XML) or pnml (the Petri net).")
    ] = "text",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of the terminal.")
    ] = None,
    home: HomeOption = None,
    engine_name: EngineOption = "duckdb",
    master: MasterOption = None,
) -> None:
    """The process model pm4py's inductive miner discovers for a business type, from its
    process map: a process tree, converted to a Petri net and to BPMN.

    The engine builds the directly-follows graph; the miner (IMd) works on that graph, so a
    large log costs one query. --noise leaves out rare paths first. --format bpmn or pnml
    writes the model for a BPMN or Petri net tool; --format json the tree, the net and the
    diagram as lists.
    """
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r}: expected one of {', '.join(FORMATS)}",
                                 param_hint="--format")
    store = EventStore(home)
    branches = (branch,) if branch else ()
    filters = (Filters.for_month(month, branches=branches) if month
               else Filters(branches=branches))
    engine = get_engine(engine_name, store, master)
    try:
        pmap = process_map(store, business_type=business_type, filters=filters, engine=engine)
    finally:
        engine.close()
    what = what_of(business_type, month, branch, None)
    if pmap.cases == 0:
        raise no_transactions(store, what, engine_name, master)
    model = model_from_map(pmap, noise_threshold=noise)
    text = _render(model, fmt, what)
    if out_file is None:
        typer.echo(text, nl=False)
        return
    out_file.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out_file} ({fmt}, {model.cases:,} cases, "
               f"{len(model.activities())} steps)")
