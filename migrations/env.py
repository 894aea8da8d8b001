"""Alembic environment: runs migrations on the Flask app's engine and model metadata."""
from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

database = current_app.extensions["migrate"].db
target_metadata = database.metadata


def render_item(type_, obj, autogen_context):  # type: ignore[no-untyped-def]
    """Render our column TypeDecorators as their plain SQL type, so migrations never import panel."""
    if type_ == "type" and hasattr(obj, "impl_instance"):
        return repr(obj.impl_instance).replace("DateTime(", "sa.DateTime(").replace("String(", "sa.String(")
    return False


def run_migrations_offline() -> None:
    context.configure(url=str(database.engine.url), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty(ctx, revision, directives):  # type: ignore[no-untyped-def]
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    with database.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          process_revision_directives=skip_empty, render_as_batch=True,
                          render_item=render_item,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
