"""duo_events, duo_facts: DUO's notifications taken in, and what DUO answered, for regie

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duo_events",
        sa.Column("audit_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("municipality", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=6), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.message_id"]),
        sa.PrimaryKeyConstraint("audit_index"),
    )
    op.create_index("ix_duo_events_subject", "duo_events", ["subject", "audit_index"])
    op.create_table(
        "duo_facts",
        sa.Column("audit_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("municipality", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("regie", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["messages.message_id"]),
        sa.PrimaryKeyConstraint("audit_index"),
    )
    op.create_index("ix_duo_facts_subject", "duo_facts", ["subject", "audit_index"])


def downgrade() -> None:
    op.drop_index("ix_duo_facts_subject", table_name="duo_facts")
    op.drop_table("duo_facts")
    op.drop_index("ix_duo_events_subject", table_name="duo_events")
    op.drop_table("duo_events")
