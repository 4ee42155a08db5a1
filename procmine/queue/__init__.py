"""Queues and counter capacity: waits, service level, abandonment, staffing, diversion, windows.

The room reads one relation, the queue tickets (:mod:`procmine.queue.tickets`): the tickets of
the queue-system exports when the store has any, else the transactions of the event log that
carry ticket and call times. On it:

* :mod:`~procmine.queue.measures`: arrivals, served, abandoned, waits, service level,
  abandonment rate, service time, occupancy and transactions per teller-hour, by any of the
  dimensions (branch, window type, business type, segment, teller, day, 15-minute interval);
* :mod:`~procmine.queue.erlang`: Erlang C and Erlang A (M/M/n and M/M/n+M);
* :mod:`~procmine.queue.staffing`: the counters each 15-minute interval needs against those open,
  the suggested shifts, the what-if;
* :mod:`~procmine.queue.diversion`: small cash business a self-service machine could take, and
  the wait it would save;
* :mod:`~procmine.queue.windows`: VIP and other windows, who they served and who waited;
* :mod:`~procmine.queue.scoped`: the tickets a diversion or window report looks at (the
  relation narrowed by a :class:`~procmine.queue.measures.QueueFilter`).
"""
