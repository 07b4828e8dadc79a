"""Intake's writers: one per aggregate, over the one buffer of intake's transaction.

``buffer.Buffer`` holds what the transaction has yet to write (one list of
rows per table), the newcomers' data keys it read with the lock, and the
audit counter; it writes every table in one statement (PostgreSQL: one for
a single message, COPY for batches) before any read that could depend on
the rows, and when the transaction ends. Each writer here (``messages``
with their deliveries, ``placements``, ``consent``, ``assignments``,
``plans``, ``progress``: hours and reports, ``notices``) reads and adds the
rows of its aggregate through that shared buffer: composition, one buffer
per transaction, no writer knows another. ``storage.intake_tx.Intake``
makes them and exposes them as the attributes the service's writer ports
name (``gateway.service.ports.IntakeTx``).

Must not import the service, the web or Flask: storage takes rows and plain
values, it decides nothing.
"""
