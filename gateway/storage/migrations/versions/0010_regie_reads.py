"""regie reads: what the signals list reads of each newcomer, kept small and sealed

The signals list walks a municipality's placements in order (an index by
municipality), and reads per newcomer the newest report (a table of reports,
filled from the messages already stored) and, sealed beside the placement,
plan and report rows, what regie reads of those messages. Rows from before
this revision have no sealed view: the gateway opens the message instead.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_placements_municipality", "placements", ["municipality", "audit_index"])
    op.add_column("placements", sa.Column("regie", sa.LargeBinary(), nullable=True))
    op.add_column("plans", sa.Column("regie", sa.LargeBinary(), nullable=True))
    op.create_table(
        "reports",
        sa.Column("audit_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("municipality", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("regie", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["messages.message_id"]),
        sa.PrimaryKeyConstraint("audit_index"),
    )
    op.create_index(
        "ix_reports_municipality_subject", "reports", ["municipality", "subject", "audit_index"]
    )
    op.execute(
        "INSERT INTO reports (audit_index, subject, municipality, provider, message_id, "
        "received_at) SELECT audit_index, subject, recipient, sender, message_id, received_at "
        "FROM messages WHERE type = 'progress-report'"
    )


def downgrade() -> None:
    op.drop_index("ix_reports_municipality_subject", table_name="reports")
    op.drop_table("reports")
    op.drop_column("plans", "regie")
    op.drop_column("placements", "regie")
    op.drop_index("ix_placements_municipality", table_name="placements")
