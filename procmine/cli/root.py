"""``procmine --help`` answered without loading the library: the root's help and its commands'
first paragraphs, drawn by Typer as the full command line draws them.

The full command line (:mod:`procmine.cli.main`) imports every command's module, and they import
pandas, SciPy, DuckDB and the analyses: seconds before a word is printed. The root's help needs
none of that, only the commands' names and first paragraphs, kept here;
``tests/test_cli_root.py`` checks that this help is the full command line's, word for word.
"""

from __future__ import annotations

from typing import Any, Final

from typer.core import TyperCommand, TyperGroup

__all__ = ["COMMANDS", "LOADERS", "ROOT_HELP", "BareFlagsCommand", "BareFlagsGroup",
           "print_root_help"]

#: The root's help (the full command line's too).
ROOT_HELP: Final = ("Process mining for bank counters: ingest core-banking event logs, check "
                    "them against the 58-type timing baseline, and see what is in the store.")

#: Each command and command group of the root, in the full command line's order, with the
#: first paragraph of its help.
COMMANDS: Final[tuple[tuple[str, str], ...]] = (
    ('league',
     'The monthly teller announcement: per teller, transactions, standard-time weighted '
     'volume, errors and speed index, ranked within the branch and across all branches, with '
     'the change against last month.'),
    ('bottlenecks',
     "Find the slow steps: a teller x business type x step (or a branch's, when most of its "
     "tellers share it) whose median is materially above the step's reference time and "
     'significantly above the rest of the bank, ranked by the teller hours it costs a month. '
     'Also: slow steps that hold only in one slice (after 15:00, large amounts, a window type, '
     'a weekday), time lost waiting before a step, tellers and branches slower across most '
     'steps, and business types whose standard time the whole bank misses (check the '
     'standard).'),
    ('demo-data',
     'Generate a realistic teller event log over all 58 business types, with injected slow '
     'steps, waits, slow branches and tellers, wrong standards, deviations from the SOP and '
     'SOP revisions listed in truth.json.'),
    ('queue',
     'The counter queue: tickets, served, abandoned, waits of the served customers, the '
     'service level (share served within the target wait), the abandonment rate (of those who '
     'queued), service time, teller occupancy and transactions per teller-hour, then per '
     'teller; with --by, the same measures per group (e.g. --by branch_id --by '
     'interval_of_day).'),
    ('staffing',
     'Counters needed per branch, weekday and 15-minute interval to serve --target-share of '
     'the customers within --target-wait (Erlang C, or Erlang A where abandonment is '
     'material), against the counters open; suggested windows to open or close, and the '
     "model's assumptions. With --branch, --weekday, --at and --counters: the waits that "
     'number of counters would give in that interval (what-if).'),
    ('diversion',
     'Self-service diversion: the small cash deposits and withdrawals (under --threshold) and '
     'other self-service-capable types served at the counters, the counter time they took, and '
     'the wait moving --share of them to machines would save (Erlang C, or Erlang A where '
     'abandonment is material, as in procmine staffing; per branch and 15-minute interval at '
     'the counters open), with the qualifying share per branch and month. Tickets without '
     'amounts are not guessed: the report says so.'),
    ('windows',
     'VIP and other windows: waits and service by window type and segment; how often a VIP '
     'window called a non-VIP customer while a VIP customer was waiting, and a regular window '
     'a VIP while a regular customer had waited longer than --target-wait, overall and at '
     'peaks (intervals whose mean wait is over the target); the share of VIP-window time spent '
     'on non-VIP customers.'),
    ('matrix',
     "Each teller's counter dwell time on each business type: transactions, median seconds, "
     "the type's standard time and the ratio of the median to it (above 1: slower)."),
    ('map',
     'The process map of a business type: each path from one step to the next with how often '
     'it is taken and the median and p90 time from the end of one step to the start of the '
     'next.'),
    ('variants',
     'The variants of a business type: the step sequences its cases follow (steps ordered by '
     'their start), with cases, share of all cases, cumulative share and median dwell time '
     "(first step's start to last step's end), most frequent first; ties by their steps."),
    ('conformance',
     'Each transaction against the SOP version in force on its day at its branch: skipped '
     'steps (a skipped control step is a control risk), extra steps, rework and order '
     'deviations.'),
    ('model',
     "The process model pm4py's inductive miner discovers for a business type, from its "
     'process map: a process tree, converted to a Petri net and to BPMN.'),
    ('ingest', 'Check event-log files row by row and add the good rows to the store.'),
    ('info', 'Show what is in the store: events, cases, tellers, branches, period, ingests.'),
    ('warm',
     'Compute again, for the store as it is now, the results the dashboard kept for its pages '
     '(the ones people opened), slowest first, so that the first view after an ingest is as '
     "fast as a repeated one. A workspace whose pages nobody has opened yet gets the results "
     "its roles' first pages read."),
    ('demo-workspace',
     'Build the demo workspace from the bundled log in event_logs/ (skipped when the store '
     'already has data), with its users, SOP library and, once, its training room (question '
     'bank, a past paper with attempts, spot checks). Only in an empty workspace or one it '
     'built itself: a workspace with real data is left as it is (a message, exit code 0), so '
     "that 'make run' can serve it."),
    ('baseline', 'The timing baseline of business types.'),
    ('user',
     'Users who may sign in to the dashboard, and their roles (operations, branch_manager, '
     'reviewer, trainer, teller). A new workspace has no users.'),
    ('sop', 'The SOP library: lint, versions, review workflow, links to the slow steps.'),
    ('batch', 'The ingest batches of the store (one per ingested file): list them, drop one.'),
    ('quiz',
     'The question bank, closed-book papers, results and the exchange with learning '
     'platforms.'),
    ('spotcheck', 'Spot checks: a trainer or supervisor watches a teller work through an SOP.'),
    ('improve',
     'The improvement register: decisions on findings, their lifecycle, links, re-measurement '
     'and escalation.'),
)


#: Where each command (a function) or command group (a Typer app) of the root lives, as
#: ``module:attribute``: the full command line imports them all; ``procmine COMMAND ...``
#: imports only its own (:func:`procmine.cli.main`).
LOADERS: Final[dict[str, str]] = {
    "league": "procmine.cli.analysis:league",
    "bottlenecks": "procmine.cli.analysis:bottlenecks",
    "demo-data": "procmine.cli.demo:demo_data",
    "queue": "procmine.cli.queue:queue",
    "staffing": "procmine.cli.queue:staffing",
    "diversion": "procmine.cli.queue:diversion",
    "windows": "procmine.cli.queue:windows",
    "matrix": "procmine.cli.matrix:matrix",
    "map": "procmine.cli.maps:map_command",
    "variants": "procmine.cli.variants:variants_command",
    "conformance": "procmine.cli.conformance:conformance_command",
    "model": "procmine.cli.model:model_command",
    "ingest": "procmine.cli.store_commands:ingest",
    "info": "procmine.cli.store_commands:info",
    "warm": "procmine.cli.store_commands:warm_command",
    "demo-workspace": "procmine.cli.demo:demo_workspace",
    "baseline": "procmine.cli.baseline:baseline_app",
    "user": "procmine.cli.user:user_app",
    "sop": "procmine.cli.sop:sop_app",
    "batch": "procmine.cli.batch:batch_app",
    "quiz": "procmine.cli.training:quiz_app",
    "spotcheck": "procmine.cli.training:spotcheck_app",
    "improve": "procmine.cli.improve:improve_app",
}

def _bare_flags(params: list[Any]) -> list[Any]:
    """Flags take no value: their help shows none. (Typer's rich help asks every option for
    its type and prints ``<bool>`` after a flag; an empty metavar is the answer it takes.)"""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class BareFlagsCommand(TyperCommand):
    """A command whose flags show no ``<bool>``."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _bare_flags(super().get_params(ctx))


class BareFlagsGroup(TyperGroup):
    """A command group whose flags show no ``<bool>``."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _bare_flags(super().get_params(ctx))


def print_root_help() -> None:
    """Print ``procmine --help``: Typer draws a root whose commands do nothing, with the help
    texts above."""
    import typer

    root = typer.Typer(name="procmine", help=ROOT_HELP, add_completion=False,
                       rich_markup_mode="markdown", cls=BareFlagsGroup)
    for name, text in COMMANDS:
        root.command(name, help=text)(_nothing)
    root(["--help"], prog_name="procmine")


def _nothing() -> None:
    """A command's stand-in: ``--help`` never runs it."""
