"""placements: where each newcomer is placed, from the handover profiles accepted

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "placements",
        sa.Column("audit_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("municipality", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.message_id"]),
        sa.PrimaryKeyConstraint("audit_index"),
    )
    op.create_index("ix_placements_subject", "placements", ["subject", "audit_index"])
    # The profiles accepted before this revision place their newcomers too.
    op.execute(
        "INSERT INTO placements (audit_index, subject, municipality, message_id, placed_at) "
        "SELECT audit_index, subject, recipient, message_id, received_at FROM messages "
        "WHERE type = 'handover-profile'"
    )


def downgrade() -> None:
    op.drop_index("ix_placements_subject", table_name="placements")
    op.drop_table("placements")
