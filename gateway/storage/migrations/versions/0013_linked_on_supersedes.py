"""placements.linked_on (COA's koppelingsdatum) and deliveries.supersedes (consent given later)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("linked_on", sa.String(length=10), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("supersedes", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("supersedes")
    with op.batch_alter_table("placements") as batch:
        batch.drop_column("linked_on")
