"""Service errors turned into what a browser user sees, in one place."""
from __future__ import annotations

from flask import Flask, flash, render_template
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from panel.services.errors import Forbidden, Invalid, NotFound, ServiceError


def form_error(form: FlaskForm, exc: ServiceError) -> None:
    """Show `exc` next to its field when the form has one, else as a message above the form."""
    field = getattr(form, exc.field, None) if isinstance(exc, Invalid) and exc.field else None
    if field is not None:
        field.errors = [*field.errors, str(exc.message)]  # type: ignore[union-attr]
    else:
        flash(str(exc.message), "danger")


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(NotFound)
    @app.errorhandler(404)
    def not_found(exc: Exception) -> tuple[str, int]:
        return render_template("errors/error.html", code=404, message=_("This page does not exist.")), 404

    @app.errorhandler(Forbidden)
    @app.errorhandler(403)
    def forbidden(exc: Exception) -> tuple[str, int]:
        return render_template("errors/error.html", code=403, message=_("You are not allowed to do this.")), 403

    @app.errorhandler(Invalid)
    def invalid(exc: Invalid) -> tuple[str, int]:
        return render_template("errors/error.html", code=400, message=str(exc.message)), 400
