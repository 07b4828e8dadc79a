"""plans, and cursors unique per recipient (a plan's briefs to several providers)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("audit_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("municipality", sa.String(length=20), nullable=False),
        sa.Column("dated", sa.String(length=10), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.message_id"]),
        sa.PrimaryKeyConstraint("audit_index"),
        sa.UniqueConstraint("plan_id", "plan_version", name="uq_plan_version"),
    )
    op.create_index("ix_plans_subject", "plans", ["subject", "audit_index"])
    # 0004 left the unique constraint on cursor unnamed: PostgreSQL named it,
    # SQLite did not (its batch mode names it by this convention to drop it).
    found = sa.inspect(op.get_bind()).get_unique_constraints("deliveries")
    named = [c["name"] for c in found if c["column_names"] == ["cursor"] and c["name"]]
    convention = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
    with op.batch_alter_table("deliveries", naming_convention=convention) as batch_op:
        batch_op.drop_index("ix_deliveries_recipient_cursor")
        batch_op.drop_constraint(named[0] if named else "uq_deliveries_cursor", type_="unique")
        batch_op.create_unique_constraint("uq_deliveries_recipient_cursor", ["recipient", "cursor"])
        batch_op.create_index("ix_deliveries_message", ["message_id"])


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_message")
        batch_op.drop_constraint("uq_deliveries_recipient_cursor", type_="unique")
        batch_op.create_unique_constraint("uq_deliveries_cursor", ["cursor"])
        batch_op.create_index("ix_deliveries_recipient_cursor", ["recipient", "cursor"])
    op.drop_index("ix_plans_subject", table_name="plans")
    op.drop_table("plans")
