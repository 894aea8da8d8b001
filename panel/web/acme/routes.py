"""HTTP-01 challenge answers for the ACME CA: public, plain text, no login, no CSRF (GET only)."""
from __future__ import annotations

from flask import Blueprint, Response, abort
from flask.typing import ResponseReturnValue

from panel.services.acme import challenge_answer

bp = Blueprint("acme", __name__)


@bp.get("/.well-known/acme-challenge/<token>")
def challenge(token: str) -> ResponseReturnValue:
    answer = challenge_answer(token)
    if answer is None:
        abort(404)
    return Response(answer, mimetype="text/plain")
