"""``procmine baseline``: the timing baseline of business types."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from procmine import load_baseline
from procmine.cli.common import BaselineOption, CliApp, JsonOption, out, print_json

__all__ = ["baseline_app"]

baseline_app = CliApp(help="The timing baseline of business types.", no_args_is_help=True)


@baseline_app.command("show")
def baseline_show(
    baseline_file: BaselineOption = None,
    lang: Annotated[str, typer.Option("--lang", help="Names in zh or en.")] = "zh",
    as_json: JsonOption = False,
) -> None:
    """List the business types with their standard counter time and review group."""
    baseline = load_baseline(baseline_file)
    if as_json:
        print_json(baseline.to_records())
        return
    table = Table(title=f"{len(baseline)} business types ({baseline.source})")
    for col in ("code", "name", "group", "standard s", "review group"):
        table.add_column(col, justify="right" if col == "standard s" else "left")
    for t in baseline:
        table.add_row(t.code, t.name(lang), t.group, f"{t.standard_seconds:g}", t.review_group)
    out.print(table)


@baseline_app.command("check")
def baseline_check(
    path: Annotated[Path, typer.Argument(help="A baseline CSV to validate.")],
    as_json: JsonOption = False,
) -> None:
    """Validate a bank's own baseline file (unique codes, positive standard times) and say how
    it differs from the bundled 58 types."""
    own = load_baseline(path)
    bundled = load_baseline()
    added = [c for c in own.codes if c not in bundled]
    missing = [c for c in bundled.codes if c not in own]
    changed = [c for c in own.codes if c in bundled
               and own.standard_seconds(c) != bundled.standard_seconds(c)]
    if as_json:
        print_json({"file": str(path), "types": len(own), "valid": True, "added": added,
                    "left_out": missing, "standard_changed": changed})
        return
    out.print(f"{path}: {len(own)} business types, valid")
    out.print(f"  not in the bundled baseline: {', '.join(added) or 'none'}")
    out.print(f"  bundled types it leaves out: {', '.join(missing) or 'none'}")
    out.print(f"  standard time differs from the bundled one: {', '.join(changed) or 'none'}")
