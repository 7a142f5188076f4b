"""Alembic environment: the engine comes from bot.store.schema, never from an ini file."""

from __future__ import annotations

from alembic import context

from bot.store.schema import include_object, target_metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        include_object=include_object,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
