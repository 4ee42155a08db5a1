"""The readers: event-log files as they come, before anything is checked or stored.

- ``eventlog``: formats, text encodings (UTF-8, GB18030), column mapping files and the guessing
  of which source column feeds which canonical column (``SourceSpec``);
- ``tickets``: ticket mapping files (``kind: tickets``) for queue-system exports;
- ``xes``: XES and XES.gz into one Arrow table of strings (``read_xes_table``), with its fast
  vectorised parser (``xes_fast``) and the table built from attribute values (``xes_table``);
- ``excel``: .xlsx sheets into an Arrow table of text columns, read in a memory-capped process
  after ``xlsx_extent`` has checked the sheet's extent against the limits.

Readers hand over text; typing and checking happen in ``procmine.ingest``. They import only
``procmine.core``.
"""
