"""consent records

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_declarations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("declaration_id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("recorded_by", sa.String(length=20), nullable=False),
        sa.Column("granted_to", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("explicit_health_consent", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_until", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.message_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("granted_to", "declaration_id", name="uq_declaration_per_municipality"),
    )
    with op.batch_alter_table("consent_declarations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_declarations_granted_to_subject", ["granted_to", "subject"], unique=False
        )

    op.create_table(
        "consent_withdrawals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("declaration_id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("recorded_by", sa.String(length=20), nullable=False),
        sa.Column("granted_to", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.message_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("granted_to", "declaration_id", name="uq_withdrawal_per_declaration"),
    )
    with op.batch_alter_table("consent_withdrawals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_withdrawals_granted_to_subject", ["granted_to", "subject"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_withdrawals", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_withdrawals_granted_to_subject")

    op.drop_table("consent_withdrawals")
    with op.batch_alter_table("consent_declarations", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_declarations_granted_to_subject")

    op.drop_table("consent_declarations")
