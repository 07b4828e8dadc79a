"""withdrawal notices, and what each pull carried on the basis of a consent

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("declaration_id", sa.String(length=36), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("affected_deliveries", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.delivery_id"]),
        sa.PrimaryKeyConstraint("delivery_id"),
    )
    op.create_table(
        "carried",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=False),
        sa.Column("declaration_id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("pulled_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_carried_recipient_declaration", "carried", ["recipient", "declaration_id"])
    op.create_index("ix_carried_subject", "carried", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_carried_subject", table_name="carried")
    op.drop_index("ix_carried_recipient_declaration", table_name="carried")
    op.drop_table("carried")
    op.drop_table("notices")
