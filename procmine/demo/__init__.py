"""The demo room: realistic counter event logs with the truth they hide, and the demo workspace.

The generator writes a teller event log over the 58 business types of the bundled baseline (or a
bank's own), with injected slow steps and SOP revisions listed in ``truth.json``, so that every
finding of the analyses can be checked against what was put in. Its parts, bottom up:

- ``activities.csv`` / :mod:`~procmine.demo.activities`: the step names (SOP steps link to them),
  who performs them and how the standard time is shared among them;
- ``profiles.csv`` / :mod:`~procmine.demo.profiles`: one row per business type: its share, steps,
  customers, cash and amounts;
- :mod:`~procmine.demo.steps`: a type's template and its standard path (:func:`steps_for_type`);
- :mod:`~procmine.demo.config`: the settings (:class:`DemoConfig`, :class:`Revision`);
- :mod:`~procmine.demo.model`, :mod:`~procmine.demo.plan`, :mod:`~procmine.demo.simulate`: the
  simulation's numbers, what is decided before simulating, and one chunk simulated;
- :mod:`~procmine.demo.inject`: the injected anomalies (slow steps, conditional slow steps,
  waits, slow branches and tellers, wrong standards, habits), the truth they make;
- :mod:`~procmine.demo.deviations`: deviations from the SOP (the background skips and reworks,
  and injected skipped control steps, extra steps and rework), with the cases of each;
- :mod:`~procmine.demo.generator`: the entry points that write the events and the truth;
- :mod:`~procmine.demo.tickets`: the demo lobby's queue-system export, made from a demo log
  (served, transferred, abandoned and no-show tickets, with Chinese columns).

:mod:`procmine.demo.workspace` builds the demo workspace from the bundled log (imported on its
own: it reaches the store and the SOP library).

Example:
    >>> from procmine.demo import DemoConfig, generate_demo_log
    >>> table, truth = generate_demo_log(DemoConfig(events=2_000, seed=1))
    >>> truth["generator"]
    'procmine.demo'
"""

from procmine.demo.activities import ACTIVITIES, ACTIVITY_NAMES, Activity
from procmine.demo.config import (
    BUNDLED_DEMO_COMMAND,
    DemoConfig,
    DemoError,
    DemoResult,
    Revision,
    bundled_demo_config,
    parse_branch_start,
    parse_revision,
    parse_wrong_standard,
)
from procmine.demo.generator import generate_demo_log, write_bundled_demo, write_demo_data
from procmine.demo.steps import Step, steps_for_type

__all__ = [
    "ACTIVITIES",
    "ACTIVITY_NAMES",
    "BUNDLED_DEMO_COMMAND",
    "Activity",
    "DemoConfig",
    "DemoError",
    "DemoResult",
    "Revision",
    "Step",
    "bundled_demo_config",
    "generate_demo_log",
    "parse_branch_start",
    "parse_revision",
    "parse_wrong_standard",
    "steps_for_type",
    "write_bundled_demo",
    "write_demo_data",
]
