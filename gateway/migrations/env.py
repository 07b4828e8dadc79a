"""Alembic environment: runs on the connection the gateway hands it."""

from __future__ import annotations

from alembic import context

from gateway.db import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the gateway always passes one
    raise RuntimeError("run migrations through `gateway db upgrade`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
