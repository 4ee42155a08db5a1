"""The ingest room: one event-log file into the event store, checked row by row, losing nothing.

``procmine.ingest.run.ingest_log(store, path, ...)`` is the entry point: it registers the file as
a DuckDB view, types and checks every record, pairs lifecycle events, marks copies, writes the
batch file and the quarantine, and commits the batch to the store's history, all under the
store's writer lock. Its ``IngestReport`` always reconciles: ``read == loaded + quarantined +
merged_by_pairing``, with ``read`` counted from the source itself.

Modules, one job each (imports explicit by module):

- ``run``: the run and its phases in order, ``IngestReport``, ``ingest_log``;
- ``source``: the file as the view ``src`` (CSV, transcoding, Parquet, XES, Excel);
- ``state``: what the phases share (the source's columns, the run's state, progress);
- ``typing``: text to canonical values (timestamp formats, amounts, error flags);
- ``rules``: the quarantine reasons and load warnings, defined once, and the check's SQL;
- ``lifecycle``: start and complete events paired into one row;
- ``copies``: row hashes, rows already stored, exact copies within a file;
- ``quarantine``: the quarantine file and the CSV lines of its rows;
- ``counting``: the source's records counted apart from the reader (CSV lines, blank lines);
- ``batches``: the store's batches listed, and one dropped with an audit row;
- ``tickets``: a queue-system export (one row per ticket) into the store's tickets,
  ``ingest_tickets``, with its rules in ``ticket_rules``.

The ingest writes into ``procmine.store``, reads files through ``procmine.io`` and audits a
dropped batch in ``procmine.app``; nothing below imports it.
"""
