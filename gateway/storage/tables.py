"""The tables: SQLAlchemy Core metadata, the same for SQLite and PostgreSQL.

What Alembic's migrations build (``gateway/storage/migrations``); a test
compares the two. Every datetime column is aware UTC on both backends.
SQLAlchemy only: no module of the service or web layer imports this.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from gateway.storage.columns import UTCDateTime, metadata
from gateway.storage.logtables import (  # re-exported: one spelling, tables.<name>
    audit_counter,
    audit_entries,
    audit_nodes,
    audit_tree,
    checkpoints,
    ldv_cursor,
    leases,
    witness_cosignatures,
    witness_views,
)

__all__ = [
    "UTCDateTime",
    "audit_counter",
    "audit_entries",
    "audit_nodes",
    "audit_tree",
    "checkpoints",
    "ldv_cursor",
    "leases",
    "metadata",
    "witness_cosignatures",
    "witness_views",
]  # fmt: skip


def _surrogate_key() -> Column[int]:
    """An autoincrementing id: BIGINT, but INTEGER on SQLite, the only type it autoincrements."""
    return Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )


def _consent_fact_columns() -> list[Column[Any]]:
    """Which declaration, recorded by which message and party, for whom, about whom."""
    return [
        Column("declaration_id", String(36), nullable=False),
        Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
        Column("recorded_by", String(20), nullable=False),
        Column("granted_to", String(20), nullable=False),
        Column("subject", String(64), nullable=False),
    ]


parties = Table(
    "parties",
    metadata,
    Column("oin", String(20), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("municipality_code", String(6), nullable=True, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # the OIN its TLS client certificate carries where that is not its own (0014)
    Column("cert_oin", String(20), nullable=True),
)

keys = Table(
    "keys",
    metadata,
    Column("kid", String(43), primary_key=True),
    Column("oin", String(20), ForeignKey("parties.oin"), nullable=False, index=True),
    Column("jwk", Text, nullable=False),
    Column("not_before", UTCDateTime(), nullable=False),
    Column("not_after", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

subject_keys = Table(
    "subject_keys",
    metadata,
    Column("subject", String(64), primary_key=True),  # pseudonym
    Column("wrapped_key", LargeBinary, nullable=True),  # NULL once crypto-shredded
    Column("created_at", UTCDateTime(), nullable=False),
    Column("erased_at", UTCDateTime(), nullable=True),
)

messages = Table(
    "messages",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("type", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sender", String(20), ForeignKey("parties.oin"), nullable=False),
    Column("recipient", String(20), ForeignKey("parties.oin"), nullable=False),
    Column("subject", String(64), ForeignKey("subject_keys.subject"), nullable=False),
    Column("kid", String(43), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("audit_index", BigInteger, nullable=False, unique=True),
    Column("receipt", Text, nullable=False),
    Column("sealed", LargeBinary, nullable=False),  # AES-GCM(raw JWS), data key per subject
    Index("ix_messages_recipient_subject", "recipient", "subject"),
)

assignments = Table(
    "assignments",
    metadata,
    _surrogate_key(),
    Column("assignment_id", String(36), nullable=False),
    Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
    Column("municipality", String(20), nullable=False),
    Column("provider", String(20), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("route", String(20), nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime(), nullable=True),
    Column("status", String(10), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Index("ix_assignments_municipality_subject", "municipality", "subject"),
)

placements = Table(
    "placements",
    metadata,
    # Each accepted handover profile places its newcomer with its recipient; the
    # newest (highest audit index) is where the newcomer is placed now.
    Column("audit_index", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(64), nullable=False),
    Column("municipality", String(20), nullable=False),
    Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
    Column("placed_at", UTCDateTime(), nullable=False),
    # ISO date: the day COA linked the newcomer (placement.linked_on), when it said
    Column("linked_on", String(10), nullable=True),
    # sealed: what regie reads of the message (progress.regie_view), under the
    # newcomer's data key; NULL for rows from before it was kept (open the message)
    Column("regie", LargeBinary, nullable=True),
    Index("ix_placements_subject", "subject", "audit_index"),
    Index("ix_placements_municipality", "municipality", "audit_index"),
)

plans = Table(
    "plans",
    metadata,
    # Each accepted integration-plan version; the body itself is the sealed message.
    Column("audit_index", BigInteger, primary_key=True, autoincrement=False),
    Column("plan_id", String(36), nullable=False),
    Column("plan_version", Integer, nullable=False),
    Column("subject", String(64), nullable=False),
    Column("municipality", String(20), nullable=False),
    Column("dated", String(10), nullable=False),  # ISO date, the dagtekening
    Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
    Column("regie", LargeBinary, nullable=True),  # as placements.regie
    UniqueConstraint("plan_id", "plan_version", name="uq_plan_version"),
    Index("ix_plans_subject", "subject", "audit_index"),
)

hours = Table(
    "hours",
    metadata,
    # The cumulative hours of each progress report that carried them (v1.1):
    # the newest per newcomer, provider and kind is the total now.
    Column("audit_index", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(64), nullable=False),
    Column("municipality", String(20), nullable=False),
    Column("provider", String(20), nullable=False),
    Column("language_and_knm", Integer, nullable=True),
    Column("participation", Integer, nullable=True),
    Column("broad_intake", Integer, nullable=True),
    Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
    Index("ix_hours_subject", "subject", "audit_index"),
)

reports = Table(
    "reports",
    metadata,
    # Each accepted progress report; the newest per newcomer at a municipality
    # is the one signals judge. The body itself is the sealed message.
    Column("audit_index", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(64), nullable=False),
    Column("municipality", String(20), nullable=False),
    Column("provider", String(20), nullable=False),
    Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("regie", LargeBinary, nullable=True),  # as placements.regie
    Index("ix_reports_municipality_subject", "municipality", "subject", "audit_index"),
)

duo_events = Table(
    "duo_events",
    metadata,
    # Each DUO notification taken in (POST /v1/duo/notificaties): DUO's event code and
    # when DUO registered it, for the municipality it was addressed to (doel). No
    # personal data: the newcomer as the pseudonym, the notification itself sealed
    # in messages. Regie reads the clocks and the end of the obligation from these.
    Column("audit_index", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(64), nullable=False),
    Column("municipality", String(20), nullable=False),
    Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
    Column("event", String(6), nullable=False),
    Column("registered_at", UTCDateTime(), nullable=False),
    Index("ix_duo_events_subject", "subject", "audit_index"),
)

duo_facts = Table(
    "duo_facts",
    metadata,
    # Each accepted duo-facts message: what DUO answered the municipality. What regie
    # reads of it is sealed beside it (as placements.regie); the newest member wins.
    Column("audit_index", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(64), nullable=False),
    Column("municipality", String(20), nullable=False),
    Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
    Column("regie", LargeBinary, nullable=True),
    Index("ix_duo_facts_subject", "subject", "audit_index"),
)

consent_declarations = Table(
    "consent_declarations",
    metadata,
    _surrogate_key(),
    *_consent_fact_columns(),
    Column("sources", Text, nullable=False),  # JSON array of OINs
    Column("categories", Text, nullable=False),  # JSON array
    Column("purposes", Text, nullable=False),  # JSON array
    Column("explicit_health_consent", Boolean, nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("explained_in_language", String(3), nullable=True),  # NULL: before 0.7.0
    Column("interpreter_used", Boolean, nullable=True),
    UniqueConstraint("granted_to", "declaration_id", name="uq_declaration_per_municipality"),
    Index("ix_consent_declarations_granted_to_subject", "granted_to", "subject"),
)

consent_withdrawals = Table(
    "consent_withdrawals",
    metadata,
    _surrogate_key(),
    *_consent_fact_columns(),
    Column("withdrawn_at", UTCDateTime(), nullable=False),
    Column(
        "by", String(20), nullable=False
    ),  # data-subject (withdrawn) | recording-party (revoked)
    Column("recorded_at", UTCDateTime(), nullable=False),
    UniqueConstraint("granted_to", "declaration_id", name="uq_withdrawal_per_declaration"),
    Index("ix_consent_withdrawals_granted_to_subject", "granted_to", "subject"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    # The audit index of the message's acceptance: assigned under the counter lock,
    # so cursors follow commit order and a pull never skips a late commit.
    # Unique per recipient: a plan's briefs to several providers share its index.
    Column("cursor", BigInteger, nullable=False),
    Column("message_id", String(36), ForeignKey("messages.message_id"), nullable=False),
    Column("recipient", String(20), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("acknowledged_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # Handed to a puller that asked for a lease: no other pull gets it until then.
    Column("leased_until", UTCDateTime(), nullable=True),
    # JSON list of the delivery ids this one hands out again (consent given later)
    Column("supersedes", Text, nullable=True),
    UniqueConstraint("recipient", "cursor", name="uq_deliveries_recipient_cursor"),
    Index("ix_deliveries_message", "message_id"),
)

notices = Table(
    "notices",
    metadata,
    # A withdrawal notice in an inbox: its delivery row, and what it tells.
    Column("delivery_id", String(36), ForeignKey("deliveries.delivery_id"), primary_key=True),
    Column("declaration_id", String(36), nullable=False),
    Column("withdrawn_at", UTCDateTime(), nullable=False),
    Column("categories", Text, nullable=False),  # JSON array
    Column("affected_deliveries", Text, nullable=False),  # JSON array of delivery ids
)

carried = Table(
    "carried",
    metadata,
    # What a pull handed out on the basis of a consent: a withdrawal names these.
    _surrogate_key(),
    Column("delivery_id", String(36), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("recipient", String(20), nullable=False),
    Column("declaration_id", String(36), nullable=False),
    Column("category", String(40), nullable=False),
    Column("pulled_at", UTCDateTime(), nullable=False),
    Index("ix_carried_recipient_declaration", "recipient", "declaration_id"),
    Index("ix_carried_subject", "subject"),
)

assertion_jtis = Table(
    "assertion_jtis",
    metadata,
    Column("iss", String(20), primary_key=True),
    Column("jti", String(128), primary_key=True),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("oin", String(20), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

