"""Alembic environment: migrations run on the connection `store.database.migrate` passes in."""

from alembic import context

from queue_server.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations through `queue-server init`, which opens the database")
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
