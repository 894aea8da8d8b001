"""Per-mailbox client set-up: the table of servers and ports, and the Apple profile download.

Staff reach it from the mailbox page, the mailbox user from their account; `get_visible` lets
each see only the mailboxes they may (a foreign id is a 404).
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

from panel.services.clientsetup import mailbox_settings
from panel.web.autoconfig import documents
from panel.web.principal import current_actor

bp = Blueprint("clientsetup", __name__, url_prefix="/mailboxes")


@bp.get("/<int:mailbox_id>/setup")
@login_required
def page(mailbox_id: int) -> ResponseReturnValue:
    mailbox, settings = mailbox_settings(current_actor(), mailbox_id, current_app.config)
    return render_template("clientsetup/page.html", mailbox=mailbox, settings=settings)


@bp.get("/<int:mailbox_id>/setup.mobileconfig")
@login_required
def mobileconfig(mailbox_id: int) -> ResponseReturnValue:
    mailbox, settings = mailbox_settings(current_actor(), mailbox_id, current_app.config)
    try:
        profile = documents.mobileconfig(settings, mailbox.email)
    except LookupError:  # the node has no IMAP or submission listener to describe
        abort(404)
    response = Response(profile, content_type="application/x-apple-aspen-config")
    response.headers.set("Content-Disposition", "attachment", filename=f"{mailbox.local_part}.mobileconfig")
    return response
