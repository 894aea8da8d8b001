"""Tegami control panel: the Flask application factory."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from panel import config
from panel.extensions import babel, bootstrap, csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build an app; `overrides` (tests, tools) win over the environment."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    instance = Path(app.instance_path)
    if overrides and "INSTANCE_PATH" in overrides:
        instance = Path(overrides["INSTANCE_PATH"])
    app.config.update(config.from_environment(instance))
    app.config.update(overrides or {})
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)

    from panel.web import i18n, register_web  # noqa: PLC0415 (needs the extensions bound)
    babel.init_app(app, locale_selector=i18n.select_locale)
    login_manager.init_app(app)
    register_web(app)

    from panel.cli import register_cli  # noqa: PLC0415
    register_cli(app)

    from panel import bundle  # noqa: PLC0415
    bundle.init_app(app)  # rewrite mail nodes' config bundles after each commit
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: enforce foreign keys, wait for the write lock instead of failing at once."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
