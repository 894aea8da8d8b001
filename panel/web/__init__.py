"""Server-rendered web UI: one blueprint per concern, templates mirrored under templates/."""
from __future__ import annotations

import importlib

from flask import Flask, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, get_locale
from flask_login import current_user

from panel.extensions import login_manager
from panel.models.base import to_unicode
from panel.services.limits import format_bytes
from panel.web.errors import register_error_pages
from panel.web.i18n import LOCALE_KEY
from panel.web.principal import current_actor


# One package per concern under panel/web/, each with routes.py defining `bp`.
BLUEPRINTS = (
    "auth",
    "dashboard",
    "domains",
    "mailboxes",
    "aliases",
    "plans",
    "allowances",
    "resellers",
    "customers",
    "nodes",
    "users",
    "audit",
    "archive",
    "acme",
    "certificates",
    "account",
    "clientsetup",
    "autoconfig",
    "dns",
    "usage",
    "usage_api",
)


def register_web(app: Flask) -> None:
    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(f"panel.web.{name}.routes").bp)

    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    register_error_pages(app)

    @app.get("/language/<code>")
    def set_language(code: str) -> ResponseReturnValue:
        if code in app.config["LANGUAGES"]:
            session[LOCALE_KEY] = code
        target = request.referrer or url_for("dashboard.index")
        return redirect(target if target.startswith(request.host_url) else url_for("dashboard.index"))

    @app.context_processor
    def template_globals() -> dict[str, object]:
        actor = current_actor() if current_user.is_authenticated else None
        return {"actor": actor, "locale": str(get_locale()), "languages": app.config["LANGUAGES"],
                "has_endpoint": lambda endpoint: endpoint in app.view_functions}

    app.add_template_filter(format_bytes, "bytes")
    app.add_template_filter(to_unicode, "unicode_domain")
    app.add_template_filter(lambda value: format_decimal(value), "number")

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
        return response
