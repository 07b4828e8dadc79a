"""parties.cert_oin: the OIN a party's TLS client certificate carries, where not its own

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch: on SQLite a batch copies the table, and other tables'
# foreign keys to parties (keys, ...) forbid dropping the old one.


def upgrade() -> None:
    # NULL: the certificate carries the party's own OIN (every party registered so far)
    op.add_column("parties", sa.Column("cert_oin", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("parties", "cert_oin")  # SQLite 3.35+ drops a column in place
