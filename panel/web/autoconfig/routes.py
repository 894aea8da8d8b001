"""Public set-up endpoints mail clients query on their own (no login, no session, no CSRF).

They answer only for active hosted domains (anything else is a plain 404) and reveal nothing but
server settings: the user name is the address the client sent, and whether it is a mailbox here
is never said.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from flask.typing import ResponseReturnValue

from panel.extensions import csrf
from panel.models import Domain
from panel.services.clientsetup import domain_settings, hosted_domain
from panel.web.autoconfig import documents

bp = Blueprint("autoconfig", __name__)
XML = "application/xml; charset=utf-8"


def _domain_or_404(name: str) -> Domain:
    domain = hosted_domain(name)
    if domain is None:
        abort(404)
    return domain


def _xml_response(body: bytes) -> Response:
    response = Response(body, content_type=XML)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/mail/config-v1.1.xml")
@bp.get("/.well-known/autoconfig/mail/config-v1.1.xml")
def thunderbird() -> ResponseReturnValue:
    """Thunderbird asks `autoconfig.<domain>` with `?emailaddress=`, or the domain's own web host."""
    host = (request.host or "").partition(":")[0].lower()
    name = request.args.get("emailaddress", "") or host.removeprefix("autoconfig.")
    domain = _domain_or_404(name)
    return _xml_response(documents.thunderbird(domain_settings(domain, current_app.config)))


@bp.post("/autodiscover/autodiscover.xml")
@bp.post("/Autodiscover/Autodiscover.xml")
@csrf.exempt
def autodiscover() -> ResponseReturnValue:
    """Outlook's POX autodiscover: a POST from the client itself, so CSRF does not apply."""
    address = documents.requested_address(request.stream.read(documents.MAX_REQUEST_BYTES + 1))
    if address is None:
        abort(400)
    domain = _domain_or_404(address)
    return _xml_response(documents.autodiscover(domain_settings(domain, current_app.config), address))
