"""consent_declarations: the language the consent was explained in, and the interpreter

Rows recorded before keep NULL: not known to the record (the sealed message has it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_declarations") as table:
        table.add_column(sa.Column("explained_in_language", sa.String(length=3), nullable=True))
        table.add_column(sa.Column("interpreter_used", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_declarations") as table:
        table.drop_column("interpreter_used")
        table.drop_column("explained_in_language")
