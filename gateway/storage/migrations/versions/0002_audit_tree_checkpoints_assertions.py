"""audit tree checkpoints assertions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assertion_jtis",
        sa.Column("iss", sa.String(length=20), nullable=False),
        sa.Column("jti", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("iss", "jti"),
    )
    with op.batch_alter_table("assertion_jtis", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assertion_jtis_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    op.create_table(
        "audit_tree",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "checkpoints",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkpoints_created_at"), ["created_at"], unique=False)

    # How many leaves are folded into audit_nodes: none yet.
    tree = sa.table("audit_tree", sa.column("id", sa.Integer), sa.column("size", sa.BigInteger))
    op.bulk_insert(tree, [{"id": 1, "size": 0}])


def downgrade() -> None:
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkpoints_created_at"))

    op.drop_table("checkpoints")
    op.drop_table("audit_tree")
    op.drop_table("audit_nodes")
    with op.batch_alter_table("assertion_jtis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assertion_jtis_expires_at"))

    op.drop_table("assertion_jtis")
