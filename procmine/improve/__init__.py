"""The improvement register: what was decided about each finding, by whom, by when, and whether
it worked (:mod:`~procmine.improve.register`), on frozen evidence
(:mod:`~procmine.improve.subjects`), re-measured when done and watched for regressions
(:mod:`~procmine.improve.refresh`)."""
