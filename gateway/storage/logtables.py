"""The audit log's tables, its witnesses' and its logbook cursor's.

Apart from ``tables`` (which re-exports them, so every caller keeps spelling
``tables.audit_entries``) because they are one concept: the append-only log
and what is made of it after the fact (checkpoints, cosignatures, the
Logboek Dataverwerkingen's export).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, LargeBinary, String, Table, Text

from gateway.storage.columns import UTCDateTime, metadata

audit_counter = Table(
    "audit_counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("next_index", BigInteger, nullable=False),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("entry", LargeBinary, nullable=False),  # RFC 8785 canonical JSON bytes
    Column("leaf_hash", String(64), nullable=False),
    Column("event", String(40), nullable=False),
    Column("subject", String(64), nullable=True, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
)


audit_nodes = Table(
    "audit_nodes",
    metadata,
    # Complete aligned subtrees above the leaves: level L, index i covers
    # leaves [i * 2^L, (i + 1) * 2^L). Level 0 is audit_entries.leaf_hash.
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)

audit_tree = Table(
    "audit_tree",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("size", BigInteger, nullable=False),  # leaves folded into audit_nodes
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
    Column("jws", Text, nullable=False),
    Column("note", Text, nullable=False),
)

# Witnesses: their cosignature lines; what each last said it holds of the log (a rollback
# holds intake); the lease that lets one process at a time ask them (service.cosigning).
witness_cosignatures = Table(
    "witness_cosignatures",
    metadata,
    Column("checkpoint_seq", BigInteger, ForeignKey("checkpoints.seq"), primary_key=True),
    Column("witness", String(255), primary_key=True),
    Column("line", Text, nullable=False),
    Column("cosigned_at", UTCDateTime(), nullable=False),
)
witness_views = Table(
    "witness_views",
    metadata,
    Column("witness", String(255), primary_key=True),
    Column("origin", String(200), primary_key=True),
    Column("size", BigInteger, nullable=True),
    Column("verdict", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("checked_at", UTCDateTime(), nullable=False),
)
leases = Table("leases", metadata, Column("name", String(32), primary_key=True),
               Column("holder", String(64), nullable=False),
               Column("until", UTCDateTime(), nullable=False))  # fmt: skip

# How far the Logboek Dataverwerkingen holds the log: every entry below ``exported`` that
# names a newcomer has its record written (service.ldvexport); ``failing`` why the exporter
# last failed (disk full, read-only), None while it writes.
ldv_cursor = Table(
    "ldv_cursor",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("exported", BigInteger, nullable=False),
    Column("failing", String(32), nullable=True),
)
