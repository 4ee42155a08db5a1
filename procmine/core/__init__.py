"""The core: what every other room may use, and which imports no other room.

- :mod:`~procmine.core.errors`: ``ProcmineError``, the one error a user's mistake raises (printed
  without a traceback);
- :mod:`~procmine.core.schema`: the canonical record schemas, one module per record kind
  (``events``; queue tickets to come);
- :mod:`~procmine.core.baseline`: the 58-type timing baseline and the review groups;
- :mod:`~procmine.core.amounts`: the amount thresholds of counter business and the amount bands;
- :mod:`~procmine.core.months`: ``YYYY-MM`` months, parsed and stepped in one place;
- :mod:`~procmine.core.progress`: the (phase, fraction) progress callback of long work;
- :mod:`~procmine.core.paths`: the workspace home and the bundled files (package resources);
- :mod:`~procmine.core.sql`: quoting of identifiers and literals for the SQL the rooms build;
- :mod:`~procmine.core.limits`: the resource limits on what readers accept, each one raisable.
"""
