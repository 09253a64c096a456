"""Alembic environment of the store: runs on the engine handed over by app.store.migrate (online only)."""
from __future__ import annotations

from alembic import context

from app.store import metadata
from app.store.engine import build_engine

config = context.config
engine = config.attributes.get("engine") or build_engine(config.get_main_option("sqlalchemy.url") or "")

with engine.connect() as connection:
    # Batch mode: SQLite can only alter a table by copying it, which batch operations do for us.
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
