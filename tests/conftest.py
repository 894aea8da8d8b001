"""Shared fixtures: an app per test on SQLite and on PostgreSQL, factories, logins."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from panel import create_app
from panel.extensions import db
from tests.factories import Factory
from tests.panel_maild import PanelMaild

PG_URL = os.environ.get("TEGAMI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def pg_schema_url(schema: str) -> tuple[str, dict[str, object]]:
    """The test database URL with its own schema, so parallel workers never share tables."""
    engine = create_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    return PG_URL, {"connect_args": {"options": f"-csearch_path={schema}"}}


@pytest.fixture(scope="session")
def pg_worker_schema(worker_id: str) -> Iterator[str]:
    """A schema of this test process's own (parallel runs never share tables), dropped at the end."""
    schema = f"tegami_{os.getpid()}_{worker_id}"
    yield schema
    engine = create_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _config(tmp_path: Path) -> dict[str, object]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_ROUNDS": 1,
        # Assertions read the English source strings; the Japanese UI has tests of its own.
        "BABEL_DEFAULT_LOCALE": "en",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "BUNDLE_DIR": str(tmp_path / "bundle"),
        "SERVER_NAME": "panel.test",
    }


@pytest.fixture(params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """A fresh app and empty database, on each backend in turn."""
    config = _config(tmp_path)
    if request.param == "postgres":
        schema = request.getfixturevalue("pg_worker_schema")
        url, options = pg_schema_url(schema)
        config.update(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=options)
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'panel.db'}"
    app = create_app(config)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        if request.param == "postgres":
            tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
            with db.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An application context for calling services directly."""
    with app.test_request_context():
        yield


@pytest.fixture
def make(app: Flask, ctx: None) -> Factory:
    return Factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def login(client: FlaskClient, login_name: str, password: str = Factory.PASSWORD) -> None:
    response = client.post("/login", data={"login": login_name, "password": password})
    assert response.status_code == 302, response.text


@pytest.fixture
def login_as(client: FlaskClient):  # type: ignore[no-untyped-def]
    """`login_as(account)`: log the test client in as a staff user or a mailbox."""

    def _login(account: object) -> FlaskClient:
        login(client, account.email)  # type: ignore[attr-defined]
        return client

    return _login


@pytest.fixture
def english(client: FlaskClient) -> FlaskClient:
    """The test client asking for English pages, so assertions read the source strings."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def panel_maild(app: Flask, tmp_path: Path) -> Iterator[PanelMaild]:
    """maild on the bundle this app writes (start it with `.start(node_name)`), stopped at the end."""
    daemon = PanelMaild(app, tmp_path)
    yield daemon
    daemon.stop()
