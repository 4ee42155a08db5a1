"""The SOP room: the bank's standard operating procedures as versioned documents, their review
workflow, and their link to the event log.

Modules, from the bottom up (each imports only those above it in this list):

* :mod:`procmine.sop.document`: one SOP file: parse (front matter, steps, body anchors, with
  file, line and field for every problem), render the body, set front-matter fields.
* :mod:`procmine.sop.lint`: every SOP of a folder checked against the others, the baseline and
  the logs (:func:`~procmine.sop.lint.lint_sops`).
* :mod:`procmine.sop.repository`: the library's git working copy (dulwich): seeding, commits
  and their trailers, the history of each SOP, kept conflict refs, the writer lock.
* :mod:`procmine.sop.timeline`: the one definition of which version is in force on a date, at
  a branch.
* :mod:`procmine.sop.workflow`: save, submit, approve, reject, retire and their rules (status,
  reviewer and editor checks, adoption and review dates, version bumps, merges and conflicts).
* :mod:`procmine.sop.library`: :class:`~procmine.sop.library.SopLibrary`, the one object the
  CLI, the dashboard and the demo hold, composed of the three above.
* :mod:`procmine.sop.links`: SOPs and the event log: dated step references for the bottleneck
  mining, coverage of the logs, the effect of a revision.
* :mod:`procmine.sop.activity_names`: the names a step is shown by (the SOP step's, the
  activity glossary's ``activities.csv``, the log's), in Chinese and English.

Nothing is re-exported here: import each name from its module.
"""
