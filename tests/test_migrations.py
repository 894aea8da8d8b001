"""The Alembic history builds exactly the schema the models describe, on an empty database."""
from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from panel import create_app
from panel.extensions import db
from tests.conftest import PG_URL, pg_schema_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_app(request, tmp_path, worker_id):
    config = {"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)}
    schema = f"tegami_migrations_{os.getpid()}_{worker_id}"
    if request.param == "postgres":
        engine = create_engine(PG_URL)
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
        url, options = pg_schema_url(schema)
        config.update(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=options)
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'empty.db'}"
    app = create_app(config)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_migrations_apply_to_an_empty_database_and_match_the_models(empty_app):
    with empty_app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
            assert "mailbox" in inspect(connection).get_table_names()
        assert differences == []


def test_migrations_downgrade_to_empty(empty_app):
    with empty_app.app_context():
        upgrade()
        downgrade(revision="base")
        with db.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
