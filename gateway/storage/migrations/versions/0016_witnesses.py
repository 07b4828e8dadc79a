"""witness_cosignatures, witness_views, leases: the witnesses' cosignatures and verdicts

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "witness_cosignatures",
        sa.Column("checkpoint_seq", sa.BigInteger(), nullable=False),
        sa.Column("witness", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["checkpoint_seq"], ["checkpoints.seq"]),
        sa.PrimaryKeyConstraint("checkpoint_seq", "witness"),
    )
    op.create_table(
        "witness_views",
        sa.Column("witness", sa.String(length=255), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("witness", "origin"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("witness_views")
    op.drop_table("witness_cosignatures")
