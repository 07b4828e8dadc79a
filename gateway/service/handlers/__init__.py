"""One handler per message type: what intake does with a message that only its type decides.

Each module holds one type's handler (``base.Handler``): what it parses and
checks before the write lock (beyond the schema and the sender rule, which
the catalogue and ``domain.rights`` own), what it checks under the lock
against what is committed, and what it writes. ``registry`` maps every type
of ``domain.vocabulary.TYPES`` to its handler; ``service.checks`` and
``service.intake`` dispatch through it and never branch on a type.

The steps every type shares stay in ``service.intake``: the placement check
of steered types, the erased newcomer, the acceptance entry, the receipt,
the message row and, for delivered types, the recipient's delivery.

Handlers reach storage only through the writer ports of
``service.ports.IntakeTx`` (``tx.plans``, ``tx.consent`` …). Must not
import storage, Flask or SQLAlchemy, nor ``service.intake`` or
``service.checks`` (they import the handlers).
"""
