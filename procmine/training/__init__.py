"""Training: the question bank, papers and attempts, results, spot checks, SOP acknowledgements
and spaced review.

* :mod:`procmine.training.question`: a question as every part sees it (kinds, choices, keys).
* :mod:`procmine.training.tables`: the app-database tables of this room.
* :mod:`procmine.training.generate`: questions generated from the approved SOPs.
* :mod:`procmine.training.gift`, :mod:`procmine.training.moodle_xml`,
  :mod:`procmine.training.aiken`: the exchange formats.
* :mod:`procmine.training.bank`: the bank in the app database (sync, review, edit, retire).
* :mod:`procmine.training.grading`: the score of one answer.
* :mod:`procmine.training.papers`, :mod:`procmine.training.attempts`: papers, assignments,
  timed closed-book attempts; :mod:`procmine.training.marking` grades a finished attempt and
  :mod:`procmine.training.access` says who may do what.
* :mod:`procmine.training.results`: participation and expert rates, item analysis, weak steps.
* :mod:`procmine.training.spotchecks`, :mod:`procmine.training.acknowledgements`,
  :mod:`procmine.training.review`, :mod:`procmine.training.loop`: spot checks, reading
  acknowledgements, FSRS review, and the loop to the slow steps and to new SOP versions.
"""
