"""The store room: where the events live and the one gate every query passes.

- :mod:`~procmine.store.event_store`: ``EventStore``, the workspace's Parquet batches of canonical
  events (and their quarantine files), its version, batches and reads; the only place that opens
  a DuckDB connection over them;
- :mod:`~procmine.store.engine`: the ``Engine`` and ``Session`` protocols and the DuckDB engine
  (the in-process default): every analysis runs its SQL through a session (views, tables,
  queries on one connection);
- :mod:`~procmine.store.spark` and :mod:`~procmine.store.spark_sql`: the same SQL on Apache
  Spark (the ``spark`` extra), translated with SQLGlot, with the same results (parity tests).
"""
