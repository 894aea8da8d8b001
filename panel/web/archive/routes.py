"""Archive search, message view, streamed export, legal holds and the auditor permission.

The page shows the number of matching messages before an export starts; the export streams
(mbox or a zip of .eml files, Content-Length unknown) so the browser's download shows its
progress, and the server never builds the file in memory or on disk: no copy of archived mail
is left behind, and the file is exactly the result set at the moment of the click.
"""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from wtforms import SelectChoice

from panel.models import Role
from panel.services import archive
from panel.services.access import require_role
from panel.services.archive_formats import FORMATS, WRITERS
from panel.services.errors import Invalid
from panel.web.archive.forms import HoldForm, SearchForm, ToggleForm
from panel.web.archive.message import render_message
from panel.web.errors import form_error
from panel.web.principal import current_actor

bp = Blueprint("archive", __name__, url_prefix="/archive")

# Archived mail is hostile content: nothing it contains may load, run or submit anything.
MESSAGE_CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; font-src 'self'; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


@bp.before_request
@login_required
def signed_in() -> None:
    """Each view checks the auditor permission through the service."""


def _search_form() -> SearchForm:
    form = SearchForm(request.args)
    domains = archive.visible_domains(current_actor())
    form.domain.choices = [SelectChoice("", _("All domains"))] + [
        SelectChoice(str(domain.id), domain.display_name) for domain in domains]
    return form


def _query_string() -> str:
    """The current search as a query string (for export and paging links)."""
    return urlencode([(key, value) for key, value in request.args.items(multi=True) if key != "page"])


@bp.get("/")
def index() -> ResponseReturnValue:
    actor = current_actor()
    form = _search_form()
    results = None
    if form.validate():
        try:
            results = archive.search(actor, form.query(), domain_id=form.domain_id(),
                                     page=request.args.get("page", 1, type=int) or 1)
        except Invalid as error:
            form_error(form, error)
    domains = archive.visible_domains(actor)
    return render_template("archive/index.html", form=form, results=results, domains=domains,
                           usage=archive.usage(actor), query_string=_query_string(), toggle=ToggleForm(),
                           limit=archive.COUNT_LIMIT, hold_form=HoldForm(), holds=archive.holds(actor))


@bp.get("/domains/<int:domain_id>/messages/<int:entry>")
def message(domain_id: int, entry: int) -> ResponseReturnValue:
    hit, data = archive.read(current_actor(), domain_id, entry)
    response = Response(render_template("archive/message.html", hit=hit, domain_id=domain_id,
                                        shown=render_message(data)))
    response.headers["Content-Security-Policy"] = MESSAGE_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/domains/<int:domain_id>/messages/<int:entry>.eml")
def raw(domain_id: int, entry: int) -> ResponseReturnValue:
    hit, data = archive.read(current_actor(), domain_id, entry)
    return Response(data, mimetype="message/rfc822", headers={
        "Content-Disposition": f'attachment; filename="{hit.domain}-{hit.seq:08d}.eml"', "Cache-Control": "no-store"})


@bp.get("/export/<fmt>")
def export(fmt: str) -> ResponseReturnValue:
    if fmt not in FORMATS:
        abort(404)
    form = _search_form()
    if not form.validate():
        flash(_("Correct the search before exporting."), "danger")
        return redirect(url_for("archive.index", **request.args))
    result = archive.export(current_actor(), form.query(), domain_id=form.domain_id(), fmt=fmt)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    filename = f"archive-{stamp}.{fmt}"
    return Response(stream_with_context(WRITERS[fmt](result.messages)), mimetype=FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "X-Archive-Messages": str(result.total),
        "Cache-Control": "no-store"})


def _switched_on() -> bool:
    """The toggle's new state; a missing CSRF token or value is a 400."""
    form = ToggleForm()
    if not form.validate_on_submit():
        abort(400)
    return form.value.data == "on"


@bp.post("/domains/<int:domain_id>/hold")
def hold(domain_id: int) -> ResponseReturnValue:
    actor = current_actor()
    archive.holdable(actor, domain_id)  # a 403 or 404 comes before anything about the request body
    domain = archive.set_legal_hold(actor, domain_id, _switched_on())
    flash(_("Legal hold on %(domain)s.", domain=domain.display_name) if domain.legal_hold
          else _("Legal hold lifted on %(domain)s.", domain=domain.display_name), "success")
    return redirect(url_for("archive.index"))


@bp.post("/holds")
def hold_results() -> ResponseReturnValue:
    """Hold what the search in the query string finds; the search page shows the outcome."""
    actor = current_actor()
    require_role(actor, Role.ADMIN)  # before reading the form: others get a 403 whatever they send
    search, form = _search_form(), HoldForm()
    if not (search.validate() and form.validate_on_submit()):
        flash(_("Give a reason and a valid search to hold results."), "danger")
    else:
        try:
            held = archive.hold_results(actor, search.query(), form.reason.data or "", domain_id=search.domain_id())
            flash(_("%(n)d messages are held and will not be purged.", n=sum(h.entries for h in held)), "success")
        except Invalid as error:
            flash(str(error.message), "danger")
    return redirect(url_for("archive.index", **request.args))


@bp.post("/holds/<int:hold_id>/release")
def release_hold(hold_id: int) -> ResponseReturnValue:
    actor = current_actor()
    require_role(actor, Role.ADMIN)
    if not ToggleForm().validate_on_submit():
        abort(400)
    archive.release_hold(actor, hold_id)
    flash(_("The hold is released; retention applies again."), "success")
    return redirect(url_for("archive.index"))


@bp.get("/auditors")
def auditors() -> ResponseReturnValue:
    return render_template("archive/auditors.html", users=archive.colleagues(current_actor()), toggle=ToggleForm())


@bp.post("/auditors/<int:user_id>")
def auditor(user_id: int) -> ResponseReturnValue:
    actor = current_actor()
    archive.auditor_candidate(actor, user_id)
    user = archive.set_auditor(actor, user_id, _switched_on())
    flash(_("%(email)s may now use the mail archive.", email=user.email) if user.auditor
          else _("%(email)s may no longer use the mail archive.", email=user.email), "success")
    return redirect(url_for("archive.auditors"))
