"""ldv_cursor: how far the Logboek Dataverwerkingen holds the audit log (#34)

The records were written in each transaction until this revision, so a log
that exists is wholly exported: the cursor starts at its size.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ldv_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exported", sa.BigInteger(), nullable=False),
        sa.Column("failing", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO ldv_cursor (id, exported) "
        "SELECT 1, COALESCE((SELECT next_index FROM audit_counter WHERE id = 1), 0)"
    )


def downgrade() -> None:
    op.drop_table("ldv_cursor")
