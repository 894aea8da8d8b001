"""`POST /api/nodes/<name>/usage`: a remote node's `maild usage push` delivers a report here.

Authenticated by the node's own bearer token (only its hash is stored, compared in constant
time), not by a login session: so no CSRF token either. Answers are JSON problems on error.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from panel.extensions import csrf
from panel.services.errors import Invalid, NotFound
from panel.services.usage_reports import receive

bp = Blueprint("usage_api", __name__, url_prefix="/api/nodes")
MAX_REPORT_BYTES = 64 * 1024 * 1024  # a full report of 100k mailboxes is about 3 MB


@bp.post("/<name>/usage")
@csrf.exempt
def push(name: str) -> ResponseReturnValue:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return jsonify(error="a bearer token is required"), 401
    raw = request.stream.read(MAX_REPORT_BYTES + 1)
    if len(raw) > MAX_REPORT_BYTES:
        return jsonify(error="report too large"), 413
    try:
        applied = receive(name, token.strip(), raw)
    except NotFound as error:
        return jsonify(error=str(error.message)), 401
    except Invalid as error:
        return jsonify(error=str(error.message)), 400
    return jsonify(mailboxes=applied.mailboxes, samples=applied.samples, ignored=applied.ignored), 200
