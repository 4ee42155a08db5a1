"""The ingest room: one event-log file into the event store, checked row by row, losing nothing.

``procmine.ingest.run.ingest_log(store, path, ...)`` is the entry point: it registers the file as
a DuckDB view, types and checks every record, pairs lifecycle events, marks copies, writes the
batch file and the quarantine, and records the batch in the store's history. Its
``IngestReport`` always reconciles: ``read == loaded + quarantined + merged_by_pairing``.

Modules, one job each (imports explicit by module):

- ``run``: the run and its phases in order, ``IngestReport``, ``ingest_log``;
- ``source``: the file as the view ``src`` (CSV, transcoding, Parquet, XES, Excel);
- ``state``: what the phases share (the source's columns, the run's state, progress);
- ``typing``: text to canonical values (timestamp formats, amounts, error flags);
- ``rules``: the quarantine reasons and load warnings, defined once, and the check's SQL;
- ``lifecycle``: start and complete events paired into one row;
- ``copies``: row hashes, rows already stored, exact copies within a file;
- ``quarantine``: the quarantine file and the CSV lines of its rows.

The ingest writes into ``procmine.store`` and reads files through ``procmine.io``; nothing below
imports it.
"""
