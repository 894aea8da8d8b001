"""Mailboxes: a searchable list with usage bars, create, edit quota, reset password, delete."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from panel.extensions import db
from panel.models import Domain, Mailbox
from panel.services import mailboxes
from panel.services.access import get_visible
from panel.services.limits import format_bytes
from panel.web.domains.pages import (
    address_page, no_domain_yet, staff_only, with_domain_choices,
)
from panel.web.mailboxes.forms import MailboxEditForm, MailboxForm, PasswordResetForm
from panel.web.forms_common import confirm_delete, submit
from panel.web.principal import current_actor

bp = Blueprint("mailboxes", __name__, url_prefix="/mailboxes")
bp.before_request(staff_only)


def _list_url(mailbox: Mailbox) -> str:
    return url_for("mailboxes.index", domain=mailbox.domain_id)


@bp.get("/")
def index() -> ResponseReturnValue:
    page, domain = address_page(Mailbox)
    return render_template("mailboxes/index.html", page=page, domain=domain)


@bp.route("/new", methods=["GET", "POST"])
def create() -> ResponseReturnValue:
    form = with_domain_choices(MailboxForm)
    if not form.domain_id.choices:
        return no_domain_yet()
    if request.method == "GET":
        prefill = db.session.get(Domain, form.domain_id.data or form.domain_id.choices[0].value)
        form.quota.data = prefill.customer.plan.default_quota_bytes  # type: ignore[union-attr]
    if (mailbox := submit(form, lambda: mailboxes.create_mailbox(
            current_actor(), form.domain_id.data, form.local_part.data or "", form.quota.data,
            form.password.data or ""))):
        flash(_("Mailbox %(address)s created.", address=mailbox.display_email), "success")
        return redirect(_list_url(mailbox))
    return render_template("domains/form.html", form=form, heading=_("New mailbox"),
                           back_url=url_for("mailboxes.index"))


@bp.route("/<int:mailbox_id>", methods=["GET", "POST"])
def edit(mailbox_id: int) -> ResponseReturnValue:
    actor = current_actor()
    mailbox = get_visible(actor, Mailbox, mailbox_id)
    form = MailboxEditForm(quota=mailbox.quota_bytes, enabled=mailbox.enabled)
    if submit(form, lambda: mailboxes.update_mailbox(
            actor, mailbox.id, form.quota.data, form.enabled.data)):  # type: ignore[arg-type]
        flash(_("Mailbox %(address)s saved.", address=mailbox.display_email), "success")
        return redirect(_list_url(mailbox))
    return render_template("mailboxes/edit.html", form=form, mailbox=mailbox)


@bp.route("/<int:mailbox_id>/password", methods=["GET", "POST"])
def password(mailbox_id: int) -> ResponseReturnValue:
    actor = current_actor()
    mailbox = get_visible(actor, Mailbox, mailbox_id)
    form = PasswordResetForm()
    if submit(
            form, lambda: mailboxes.set_password(actor, mailbox.id, form.password.data or "")):
        flash(_("The password of %(address)s was changed.", address=mailbox.display_email), "success")
        return redirect(url_for("mailboxes.edit", mailbox_id=mailbox.id))
    return render_template("domains/form.html", form=form,
                           heading=_("New password for %(address)s", address=mailbox.display_email),
                           back_url=url_for("mailboxes.edit", mailbox_id=mailbox.id))


@bp.route("/<int:mailbox_id>/delete", methods=["GET", "POST"])
def delete(mailbox_id: int) -> ResponseReturnValue:
    actor = current_actor()
    mailbox = get_visible(actor, Mailbox, mailbox_id)
    consequences = [_("%(count)d stored messages (%(size)s).", count=mailbox.message_count,
                      size=format_bytes(mailbox.used_bytes))] if mailbox.message_count else []
    return confirm_delete(mailbox.display_email, lambda: mailboxes.delete_mailbox(actor, mailbox.id),
                          done_url=_list_url(mailbox), cancel_url=url_for("mailboxes.edit", mailbox_id=mailbox.id),
                          consequences=consequences)
