"""hours: the cumulative hours progress reports carry

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hours",
        sa.Column("audit_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("municipality", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("language_and_knm", sa.Integer(), nullable=True),
        sa.Column("participation", sa.Integer(), nullable=True),
        sa.Column("broad_intake", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.message_id"]),
        sa.PrimaryKeyConstraint("audit_index"),
    )
    op.create_index("ix_hours_subject", "hours", ["subject", "audit_index"])


def downgrade() -> None:
    op.drop_index("ix_hours_subject", table_name="hours")
    op.drop_table("hours")
