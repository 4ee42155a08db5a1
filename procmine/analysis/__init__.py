"""The analysis room: counter times against the baseline, slow steps, and the monthly league.

Bottom up, each module reads the store only through an engine session:

- :mod:`~procmine.analysis.filters`: ``Filters`` (period, branches, types, tellers);
- :mod:`~procmine.analysis.transactions`: the one transactions relation (a case's teller, branch
  and type are its steps' mode, smallest among ties; its dwell, error, amount and queue wait);
- :mod:`~procmine.analysis.steps`: ``StepData``, the step view (service time, wait, rework, hour,
  month, amount band) and its statistics per teller, branch and bank;
- :mod:`~procmine.analysis.performance`: summaries per transaction, business type and teller;
- :mod:`~procmine.analysis.stats`: Mann-Whitney, Benjamini-Hochberg and the shrinkage fits;
- :mod:`~procmine.analysis.findings`, :mod:`~procmine.analysis.bottlenecks` and
  :mod:`~procmine.analysis.evidence`: slow-step findings, how they are found, and why they are slow;
- :mod:`~procmine.analysis.league`: the monthly teller announcement (volume, errors, fair ranks);
- :mod:`~procmine.analysis.matrix`: each teller's counter time on each business type against
  its standard (too-few cells marked).
"""
