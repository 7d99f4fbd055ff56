"""Alembic's environment: migrations run on the connection `bot.migrations.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from bot.migrations.models import target_metadata


def run_migrations() -> None:
    """Migrate the connection in the configuration, inside its caller's transaction."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        message = (
            "deploybot's migrations run through `python -m bot migrate` (or at start-up), "
            "which hands Alembic a connection to DATABASE_URL"
        )
        raise RuntimeError(message)
    context.configure(connection=connection, target_metadata=target_metadata(), compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
