"""signals list: placements by municipality, and each newcomer's newest report from an index

The signals list walks a municipality's placements in order, and finds each
newcomer's newest progress report in the messages index alone (recipient,
subject, type, audit index), which replaces the (recipient, subject) index
it extends.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_placements_municipality", "placements", ["municipality", "audit_index"])
    op.create_index(
        "ix_messages_recipient_subject_type",
        "messages",
        ["recipient", "subject", "type", "audit_index"],
    )
    op.drop_index("ix_messages_recipient_subject", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_recipient_subject", "messages", ["recipient", "subject"])
    op.drop_index("ix_messages_recipient_subject_type", table_name="messages")
    op.drop_index("ix_placements_municipality", table_name="placements")
