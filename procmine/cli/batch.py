"""``procmine batch ...``: the ingest batches of the store, and dropping one.

Thin, like the rest of the command line: each command calls one function of the facade.

Example:
    $ procmine batch list
    $ procmine batch drop 20261001T090000-1a2b3c4d --user ops
"""

from __future__ import annotations

from typing import Annotated

import typer

from procmine import EventStore, drop_batch, list_batches
from procmine.cli.common import (
    CliApp,
    Column,
    HomeOption,
    JsonOption,
    NoWarmOption,
    WaitOption,
    WideOption,
    command_actor,
    err,
    fit_table,
    out,
    print_json,
    print_table,
    start_warm_up_for,
)

__all__ = ["batch_app"]



batch_app = CliApp(
    help="The ingest batches of the store (one per ingested file): list them, drop one.",
    no_args_is_help=True,
)



@batch_app.command("list")
def batch_list(home: HomeOption = None, as_json: JsonOption = False,
               wide: WideOption = False) -> None:
    """List the ingest batches, oldest first: id, time, kind (events or tickets), source,
    rows read, loaded, quarantined and blank lines."""
    batches = list_batches(EventStore(home))
    if as_json:
        print_json([b.to_dict() for b in batches])
        return
    # the batch: an id to copy into batch drop, never cut
    columns = [Column("batch", "key"), Column("ingested at", "key", essential=False),
               Column("kind", "key"), Column("source"), Column("read", "num", essential=False),
               Column("loaded", "num"), Column("quarantined", "num"),
               Column("blank", "num", essential=False)]
    rows = [(b.batch_id, b.ingested_at, b.kind, b.source, f"{b.read:,}", f"{b.loaded:,}",
             f"{b.quarantined:,}", f"{b.blank_lines:,}") for b in batches]
    print_table(fit_table(f"{len(batches)} ingest batches", columns, rows, wide=wide))


@batch_app.command("drop")
def batch_drop(
    batch_id: Annotated[str, typer.Argument(help="The batch to drop (see procmine batch list).")],
    user: Annotated[str | None, typer.Option(
        "--user", help="Who drops it, for the audit trail (default: cli:<login name>).")] = None,
    wait: WaitOption = 600.0,
    home: HomeOption = None,
    as_json: JsonOption = False,
    no_warm: NoWarmOption = False,
) -> None:
    """Remove one ingest batch: its rows, its quarantine file and its history line, with an
    audit row (batch.drop). Ingesting the file again loads its rows again. Then the
    dashboard's kept results are computed again in the background (procmine warm)."""
    store = EventStore(home)
    batch = drop_batch(store, batch_id, user=user or command_actor(), wait=wait,
                       on_wait=lambda message: err.print(message, highlight=False))
    if not no_warm:
        start_warm_up_for(store, quiet=as_json)
    if as_json:
        print_json(batch.to_dict())
        return
    out.print(f"dropped batch {batch.batch_id} ({batch.source}): {batch.loaded:,} rows loaded, "
              f"{batch.quarantined:,} quarantined")
