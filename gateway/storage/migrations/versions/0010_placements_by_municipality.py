"""placements by municipality: the signals list walks a municipality's placements in order

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


def downgrade() -> None:
    op.drop_index("ix_placements_municipality", table_name="placements")
