"""Alembic environment: async engine on DATABASE_URL, batch mode for SQLite."""

import asyncio
import os
from logging.config import fileConfig

from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import context
from service.config import default_database_url
from service.db import async_url
from service.models import Base
from service.search_index import is_search_object

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # The search index (an FTS5 table and its shadow tables on SQLite, a
    # pg_trgm index on PostgreSQL) is made by hand in migration 0005, not
    # described by the models: autogenerate would otherwise propose dropping it.
    return not (reflected and compare_to is None and is_search_object(name))


def database_url() -> str:
    # Read here rather than through config.set_main_option(): ini interpolation
    # would choke on a "%" in a password.
    return config.attributes.get("database_url") or os.environ.get(
        "DATABASE_URL", default_database_url()
    )


def run_migrations_offline() -> None:
    context.configure(
        url=async_url(database_url()).render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    url = async_url(database_url())
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch migrations rebuild tables by copy-and-drop; with foreign
            # keys on, dropping the old table cascades and deletes child rows.
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        url = async_url(database_url())
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
